//! Reductions against `reference` (which sums in f64), under every ISA.
//!
//! Tolerance for sums of `n` terms: the classic bound for any summation order,
//! `|error| <= n * eps * sum |x_i|` (times a safety factor of 2); max, min and
//! argmax must match exactly.

mod common;

use common::*;
use kernels_cpu::{self as k, reference as r, ReduceOp};
use proptest::prelude::*;

fn sum_tol(x: &[f32], outer: usize, len: usize, inner: usize, op: ReduceOp) -> Vec<f32> {
    let mut tol = vec![0.0; outer * inner];
    for o in 0..outer {
        for i in 0..inner {
            let abs: f32 = (0..len).map(|l| x[(o * len + l) * inner + i].abs()).sum();
            let scale = if op == ReduceOp::Mean {
                1.0 / len.max(1) as f32
            } else {
                1.0
            };
            tol[o * inner + i] = 2.0 * (len as f32 + 2.0) * f32::EPSILON * abs * scale + 1e-30;
        }
    }
    tol
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reduce_matches_reference(
        op in prop::sample::select(vec![ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min]),
        (outer, len, inner, x) in (dim0(), prop_oneof![dim0(), 100usize..700], prop_oneof![Just(1usize), dim()])
            .prop_flat_map(|(o, l, i)| (Just(o), Just(l), Just(i), floats(o * l * i, -10.0, 10.0)))
    ) {
        let mut want = vec![0.0; outer * inner];
        r::reduce(op, &x, outer, len, inner, &mut want);
        let tol = match op {
            ReduceOp::Sum | ReduceOp::Mean => sum_tol(&x, outer, len, inner, op),
            _ => vec![0.0; outer * inner],
        };
        each_isa(|isa| {
            let mut got = vec![f32::NAN; outer * inner];
            k::reduce(op, &x, outer, len, inner, &mut got);
            assert_within(&format!("reduce {op:?} [{outer},{len},{inner}]"), isa, &got, &want, &tol);
        });
    }

    #[test]
    fn argmax_matches_reference_with_ties(
        (outer, len, inner, x) in (dim0(), dim(), prop_oneof![Just(1usize), dim()])
            .prop_flat_map(|(o, l, i)| {
                // Small integers make ties common: the first maximum must win.
                let vals = prop::collection::vec((-3i32..4).prop_map(|v| v as f32), o * l * i);
                (Just(o), Just(l), Just(i), vals)
            })
    ) {
        let mut want = vec![0.0; outer * inner];
        r::argmax(&x, outer, len, inner, &mut want);
        each_isa(|isa| {
            let mut got = vec![f32::NAN; outer * inner];
            k::argmax(&x, outer, len, inner, &mut got);
            assert_close("argmax", isa, &got, &want, 0.0, 0.0);
        });
    }

    #[test]
    fn sum_all_and_squares_match_reference(
        x in prop_oneof![3 => any_floats(-10.0, 10.0), 1 => prop::collection::vec(-10.0f32..10.0, 4000..40_000)]
    ) {
        let abs: f32 = x.iter().map(|v| v.abs()).sum();
        let sq: f32 = x.iter().map(|v| v * v).sum();
        // Blocks of 4096 in f32 vector lanes, combined in f64.
        let n = x.len().min(4096) as f32;
        each_isa(|isa| {
            let (got, want) = (k::sum_all(&x), r::sum_all(&x));
            assert!(close(got, want, 0.0, 2.0 * n * f32::EPSILON * abs + 1e-30), "sum_all [{isa:?}] {got} vs {want}");
            let (got, want) = (k::sum_squares(&x), r::sum_squares(&x));
            assert!(close(got, want, 0.0, 2.0 * n * f32::EPSILON * sq + 1e-30), "sum_squares [{isa:?}] {got} vs {want}");
        });
    }
}

#[test]
fn large_reductions_match_reference() {
    // 1 x 100 000 (the sum_all path), 300 x 333 rows, 50 x 40 x 41 strided,
    // and wide strided layouts whose columns are summed many vectors at a
    // time (a bias gradient's column sums), with parallel pieces that start
    // part-way along a row.
    for (outer, len, inner) in [
        (1, 100_000, 1),
        (300, 333, 1),
        (50, 40, 41),
        (1, 200, 500),
        (3, 7, 700),
        (2, 130, 1029),
        (1, 1280, 1024),
    ] {
        let x = det_floats(outer * len * inner, 3, -5.0, 5.0);
        for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min] {
            let mut want = vec![0.0; outer * inner];
            r::reduce(op, &x, outer, len, inner, &mut want);
            let tol = match op {
                ReduceOp::Sum | ReduceOp::Mean => sum_tol(&x, outer, len, inner, op),
                _ => vec![0.0; outer * inner],
            };
            each_isa(|isa| {
                let mut got = vec![0.0; outer * inner];
                k::reduce(op, &x, outer, len, inner, &mut got);
                assert_within("large reduce", isa, &got, &want, &tol);
                if op == ReduceOp::Max {
                    let mut want_idx = vec![0.0; outer * inner];
                    r::argmax(&x, outer, len, inner, &mut want_idx);
                    k::argmax(&x, outer, len, inner, &mut got);
                    assert_close("large argmax", isa, &got, &want_idx, 0.0, 0.0);
                }
            });
        }
    }
}

#[test]
fn empty_reductions() {
    each_isa(|_| {
        let mut out = [7.0; 3];
        k::reduce(ReduceOp::Sum, &[], 3, 0, 1, &mut out);
        assert_eq!(out, [0.0; 3]);
        k::reduce(ReduceOp::Max, &[], 3, 0, 1, &mut out);
        assert_eq!(out, [f32::NEG_INFINITY; 3]);
        k::reduce(ReduceOp::Mean, &[], 1, 0, 3, &mut out);
        assert!(out.iter().all(|v| v.is_nan()));
        assert_eq!(k::sum_all(&[]), 0.0);
    });
}
