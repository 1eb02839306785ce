//! Fast elementwise kernels and strided copies against `reference`, under
//! every ISA. Tolerances: exact for arithmetic that both sides do in one f32
//! operation; for the polynomial transcendentals the accuracy promised in
//! `math.rs` (exp/log 1e-6 relative; tanh/sigmoid 2e-6 absolute; gelu and
//! the other compositions 2e-6 absolute + relative).

mod common;

use common::*;
use kernels_cpu::{self as k, reference as r, BinaryOp, UnaryOp};
use proptest::prelude::*;

/// The input range an op of `UnaryOp::ALL` is tested on: the ops defined only
/// for positive x on positives, the rest across zero.
fn domain(op: UnaryOp) -> (f32, f32) {
    match op {
        UnaryOp::Log | UnaryOp::Sqrt => (0.0, 100.0),
        _ => (-8.0, 8.0),
    }
}

/// Every unary op on its domain (so a new op is tested without a new line
/// here), plus the edges some ops promise: exp's overflow and underflow, log
/// of subnormals and negatives, random parameters.
fn unary_case() -> impl Strategy<Value = (UnaryOp, f32, f32)> {
    prop_oneof![
        4 => prop::sample::select(UnaryOp::ALL).prop_map(|op| {
            let (lo, hi) = domain(op);
            (op, lo, hi)
        }),
        1 => prop_oneof![
            Just((UnaryOp::Neg, -50.0, 50.0)),
            Just((UnaryOp::Exp, -110.0, 95.0)),
            Just((UnaryOp::Log, 0.0, 1e4)),
            Just((UnaryOp::Log, 1e-40, 1e-30)),
            Just((UnaryOp::Log, -1.0, 2.0)),
            Just((UnaryOp::Tanh, -12.0, 12.0)),
            Just((UnaryOp::Tanh, -1.0, 1.0)),
            Just((UnaryOp::Sigmoid, -30.0, 30.0)),
            Just((UnaryOp::Recip, 0.1, 10.0)),
            Just((UnaryOp::Square, -100.0, 100.0)),
            (-3.0f32..3.0).prop_map(|p| (UnaryOp::Powf(p), 0.01, 10.0)),
            Just((UnaryOp::Powf(2.0), -10.0, 10.0)),
            (-2.0f32..0.0, 0.0f32..2.0).prop_map(|(lo, hi)| (UnaryOp::Clamp(lo, hi), -3.0, 3.0)),
            (-2.0f32..0.0, 0.0f32..2.0).prop_map(|(lo, hi)| (UnaryOp::InRange(lo, hi), -3.0, 3.0)),
            (-5.0f32..5.0).prop_map(|c| (UnaryOp::AddScalar(c), -5.0, 5.0)),
            (-5.0f32..5.0).prop_map(|c| (UnaryOp::MulScalar(c), -5.0, 5.0)),
        ],
    ]
}

/// (relative, absolute) tolerance for each op. The ops that are one IEEE
/// operation (or a selection) must match exactly: f64 has more than twice
/// f32's precision, so rounding the f64 result once gives the f32 result.
/// Any other op, a new one included, gets the accuracy of `math.rs`'s
/// compositions (about 2 ulp, as gelu).
fn unary_tol(op: UnaryOp) -> (f32, f32) {
    use UnaryOp::*;
    match op {
        Neg | Sqrt | Relu | Abs | Recip | Square | Step | Clamp(..) | InRange(..)
        | AddScalar(_) | MulScalar(_) => (0.0, 0.0),
        Exp => (1e-6, 1e-38),
        Log => (1e-6, 1e-6),
        Tanh | Sigmoid => (0.0, 2e-6),
        GeluGrad => (2e-6, 4e-6),
        Powf(_) => (2e-6, 0.0),
        _ => (2e-6, 2e-6),
    }
}

/// A broadcastable operand of `out_shape`: its own data plus strides aligned to
/// `out_shape` (0 on broadcast dims), stored either row-major or with the
/// dimension order reversed (a transposed view).
fn operand(out_shape: Vec<usize>) -> impl Strategy<Value = (Vec<f32>, Vec<usize>)> {
    let nd = out_shape.len();
    (
        prop::collection::vec(prop::bool::weighted(0.3), nd),
        any::<bool>(),
    )
        .prop_flat_map(move |(bcast, reversed)| {
            let shape: Vec<usize> = out_shape
                .iter()
                .zip(&bcast)
                .map(|(&s, &b)| if b { 1 } else { s })
                .collect();
            let order: Vec<usize> = if reversed {
                (0..nd).rev().collect()
            } else {
                (0..nd).collect()
            };
            let stored: Vec<usize> = order.iter().map(|&d| shape[d]).collect();
            let stored_strides = contiguous_strides(&stored);
            let mut strides = vec![0; nd];
            for (pos, &d) in order.iter().enumerate() {
                strides[d] = if shape[d] == 1 {
                    0
                } else {
                    stored_strides[pos]
                };
            }
            let n: usize = shape.iter().product();
            floats(n, -4.0, 4.0).prop_map(move |data| (data, strides.clone()))
        })
}

fn out_shape() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        prop::collection::vec(dim0(), 0..3),
        prop::collection::vec(prop::sample::select(vec![1usize, 2, 3, 5, 8, 17]), 1..5),
    ]
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    use BinaryOp::*;
    prop::sample::select(vec![Add, Sub, Mul, Div, Max, Min, Eq, Gt, Ge, Lt, Le])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn unary_matches_reference(
        ((op, _lo, _hi), x) in unary_case().prop_flat_map(|c| (Just(c), any_floats(c.1, c.2)))
    ) {
        let mut want = vec![0.0; x.len()];
        r::unary(op, &x, &mut want);
        let (rel, abs) = unary_tol(op);
        each_isa(|isa| {
            let mut got = vec![f32::NAN; x.len()];
            k::unary(op, &x, &mut got);
            assert_close(&format!("unary {op:?}"), isa, &got, &want, rel, abs);
        });
    }

    #[test]
    fn binary_matches_reference(
        op in binary_op(),
        (shape, (a, sa), (b, sb)) in out_shape().prop_flat_map(|s| {
            (Just(s.clone()), operand(s.clone()), operand(s))
        })
    ) {
        let n: usize = shape.iter().product();
        let mut want = vec![0.0; n];
        r::binary(op, &a, &sa, &b, &sb, &shape, &mut want);
        each_isa(|isa| {
            let mut got = vec![f32::NAN; n];
            k::binary(op, &a, &sa, &b, &sb, &shape, &mut got);
            assert_close(&format!("binary {op:?} {shape:?} {sa:?} {sb:?}"), isa, &got, &want, 0.0, 0.0);
        });
    }

    #[test]
    fn where_matches_reference(
        (c, a, b) in (0usize..200).prop_flat_map(|n| {
            (prop::collection::vec(prop::sample::select(vec![0.0f32, 1.0, -2.0, f32::NAN]), n),
             floats(n, -1.0, 1.0), floats(n, -1.0, 1.0))
        })
    ) {
        let mut want = vec![0.0; c.len()];
        r::where_select(&c, &a, &b, &mut want);
        each_isa(|isa| {
            let mut got = vec![f32::NAN; c.len()];
            k::where_select(&c, &a, &b, &mut got);
            assert_close("where_select", isa, &got, &want, 0.0, 0.0);
        });
    }

    #[test]
    fn strided_copy_matches_reference(
        (shape, (src, strides)) in out_shape().prop_flat_map(|s| (Just(s.clone()), operand(s))),
        step in 1usize..3,
    ) {
        // `step` spreads the source out, as a sliced view with a stride would.
        let strides: Vec<usize> = strides.iter().map(|s| s * step).collect();
        let src: Vec<f32> = (0..src.len() * step).map(|i| if i % step == 0 { src[i / step] } else { -99.0 }).collect();
        let n: usize = shape.iter().product();
        let mut want = vec![0.0; n];
        r::strided_copy(&src, &shape, &strides, &mut want);
        each_isa(|isa| {
            let mut got = vec![f32::NAN; n];
            k::strided_copy(&src, &shape, &strides, &mut got);
            assert_close("strided_copy", isa, &got, &want, 0.0, 0.0);
        });
    }
}

/// Every op of `UnaryOp::ALL` on fixed lengths, so none is left to the
/// proptest's draw: 1, primes, and each side of every vector width (4, 8, 16).
#[test]
fn every_unary_op_matches_reference_at_every_tail_length() {
    for &op in UnaryOp::ALL {
        let (lo, hi) = domain(op);
        let (rel, abs) = unary_tol(op);
        for n in [1, 2, 3, 5, 7, 8, 9, 13, 15, 16, 17, 31, 33, 97, 257] {
            let x = det_floats(n, n as u64, lo, hi);
            let mut want = vec![0.0; n];
            r::unary(op, &x, &mut want);
            each_isa(|isa| {
                let mut got = vec![f32::NAN; n];
                k::unary(op, &x, &mut got);
                assert_close(&format!("unary {op:?} n={n}"), isa, &got, &want, rel, abs);
            });
        }
    }
}

/// The multi-threaded paths (above the rayon threshold) on one large case each.
#[test]
fn large_elementwise_matches_reference() {
    let (rows, cols) = (301, 257); // 77 357 elements, rows and cols odd
    let x = det_floats(rows * cols, 1, -6.0, 6.0);
    let bias = det_floats(cols, 2, -1.0, 1.0);
    for op in [
        UnaryOp::Exp,
        UnaryOp::Tanh,
        UnaryOp::Gelu,
        UnaryOp::MulScalar(0.5),
    ] {
        let mut want = vec![0.0; x.len()];
        r::unary(op, &x, &mut want);
        let (rel, abs) = unary_tol(op);
        each_isa(|isa| {
            let mut got = vec![0.0; x.len()];
            k::unary(op, &x, &mut got);
            assert_close("large unary", isa, &got, &want, rel, abs);
        });
    }
    // Bias add (row broadcast) and a transposed operand.
    let shape = [rows, cols];
    for (sa, sb) in [([cols, 1], [0, 1]), ([1, rows], [0, 1])] {
        let mut want = vec![0.0; x.len()];
        r::binary(BinaryOp::Add, &x, &sa, &bias, &sb, &shape, &mut want);
        each_isa(|isa| {
            let mut got = vec![0.0; x.len()];
            k::binary(BinaryOp::Add, &x, &sa, &bias, &sb, &shape, &mut got);
            assert_close("large binary", isa, &got, &want, 0.0, 0.0);
            k::strided_copy(&x, &shape, &sa, &mut got);
            let mut want_copy = vec![0.0; x.len()];
            r::strided_copy(&x, &shape, &sa, &mut want_copy);
            assert_close("large strided_copy", isa, &got, &want_copy, 0.0, 0.0);
        });
    }
}
