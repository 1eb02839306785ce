//! Unary, binary (broadcasting), where_select and strided_copy against the
//! kernels-cpu reference.

mod common;

use common::{assert_close, data, down, out, up, SIZES};
use kernels_cpu::reference;
use kernels_gpu::{BinaryOp, UnaryOp};

/// Every op's number has its `case` in the shader and every `case` belongs
/// to an op, so an op added to the table without its WGSL body (or a body
/// left behind) is named here, on any machine, before a GPU runs it.
#[test]
fn every_unary_op_has_one_wgsl_case() {
    let source = kernels_gpu::Shader::Elementwise.source();
    let cases: Vec<u32> = source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("case "))
        .map(|rest| rest.split('u').next().unwrap().parse().unwrap())
        .collect();
    let mut codes: Vec<u32> = UnaryOp::ALL.iter().map(|op| op.code()).collect();
    codes.sort();
    let mut sorted = cases.clone();
    sorted.sort();
    assert_eq!(
        sorted, codes,
        "cases in shaders/elementwise.wgsl vs UnaryOp codes"
    );
}

#[test]
fn every_unary_op_matches_the_reference() {
    let Some(_) = common::gpu() else { return };
    for &op in UnaryOp::ALL {
        for n in SIZES {
            // Log and Sqrt on positives; the rest across zero.
            let (lo, hi) = match op {
                UnaryOp::Log | UnaryOp::Sqrt => (0.01, 20.0),
                _ => (-6.0, 6.0),
            };
            let x = data(n, n as u64, lo, hi);
            let mut want = vec![0.0; n];
            reference::unary(op, &x, &mut want);
            let y = out(n);
            kernels_gpu::unary(op, &up(&x), &y).unwrap();
            assert_close(&format!("{op:?} n={n}"), &down(&y), &want, 2e-6);
        }
    }
}

/// ReLU keeps a NaN (so a diverged value is never hidden as 0) and maps
/// the infinities and signed zeros as the CPU kernel does.
#[test]
fn relu_agrees_with_the_cpu_on_nan_infinities_and_zeros() {
    let Some(_) = common::gpu() else { return };
    let x = [
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        -1.5,
        2.5,
    ];
    let mut want = vec![0.0; x.len()];
    kernels_cpu::unary(UnaryOp::Relu, &x, &mut want);
    let y = out(x.len());
    kernels_gpu::unary(UnaryOp::Relu, &up(&x), &y).unwrap();
    let got = down(&y);
    assert!(
        want[0].is_nan() && want[1].is_nan(),
        "CPU relu of NaN: {want:?}"
    );
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        let same = (g.is_nan() && w.is_nan()) || g == w;
        assert!(same, "relu({}) = {g} on the GPU, {w} on the CPU", x[k]);
    }
}

#[test]
fn powf_follows_the_c_library_at_the_edges() {
    let Some(_) = common::gpu() else { return };
    let x = [-2.0f32, -0.5, 0.0, 0.5, 2.0];
    for e in [0.0f32, 1.0, 2.0, 3.0, 0.5, -1.0, -2.0] {
        let want: Vec<f32> = x.iter().map(|v| v.powf(e)).collect();
        let y = out(x.len());
        kernels_gpu::unary(UnaryOp::Powf(e), &up(&x), &y).unwrap();
        assert_close(&format!("powf {e}"), &down(&y), &want, 2e-6);
    }
}

/// Row-major strides of `shape`, with 0 where `keep[d]` is false.
fn strides(shape: &[usize], keep: &[bool]) -> Vec<usize> {
    let mut s = vec![0; shape.len()];
    let mut acc = 1;
    for d in (0..shape.len()).rev() {
        if keep[d] {
            s[d] = acc;
            acc *= shape[d];
        }
    }
    s
}

#[test]
fn binary_ops_broadcast_like_the_reference() {
    let Some(_) = common::gpu() else { return };
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Eq,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::Lt,
        BinaryOp::Le,
    ];
    // (out shape, which dims a has, which dims b has)
    let cases: [(&[usize], &[bool], &[bool]); 6] = [
        (&[1], &[true], &[true]),
        (&[1000], &[true], &[true]),
        (&[37, 129], &[true, true], &[false, true]), // bias add over rows
        (&[5, 3, 7], &[true, false, true], &[false, true, true]),
        (
            &[2, 3, 5, 7, 3],
            &[true, true, true, true, true],
            &[false, false, false, false, false],
        ),
        (&[4, 1, 9], &[true, true, true], &[true, true, false]),
    ];
    for op in ops {
        for (i, &(shape, keep_a, keep_b)) in cases.iter().enumerate() {
            let sa = strides(shape, keep_a);
            let sb = strides(shape, keep_b);
            let na: usize = shape
                .iter()
                .zip(keep_a)
                .map(|(&n, &k)| if k { n } else { 1 })
                .product();
            let nb: usize = shape
                .iter()
                .zip(keep_b)
                .map(|(&n, &k)| if k { n } else { 1 })
                .product();
            // Integer-valued data so the comparisons see equal values too.
            let a: Vec<f32> = data(na, i as u64, -4.0, 4.0)
                .iter()
                .map(|v| v.round())
                .collect();
            let b: Vec<f32> = data(nb, 99 + i as u64, 0.5, 4.0)
                .iter()
                .map(|v| v.round())
                .collect();
            let n: usize = shape.iter().product();
            let mut want = vec![0.0; n];
            reference::binary(op, &a, &sa, &b, &sb, shape, &mut want);
            let y = out(n);
            kernels_gpu::binary(op, &up(&a), &sa, &up(&b), &sb, shape, &y).unwrap();
            assert_close(&format!("{op:?} {shape:?}"), &down(&y), &want, 1e-6);
        }
    }
}

#[test]
fn where_select_picks_per_element() {
    let Some(_) = common::gpu() else { return };
    for n in SIZES {
        let cond: Vec<f32> = data(n, 1, 0.0, 2.0).iter().map(|v| v.floor()).collect();
        let (a, b) = (data(n, 2, -1.0, 1.0), data(n, 3, -1.0, 1.0));
        let mut want = vec![0.0; n];
        reference::where_select(&cond, &a, &b, &mut want);
        let y = out(n);
        kernels_gpu::where_select(&up(&cond), &up(&a), &up(&b), &y).unwrap();
        assert_eq!(down(&y), want);
    }
}

#[test]
fn strided_copy_materialises_views() {
    let Some(_) = common::gpu() else { return };
    // (shape, strides) of a view into a 2·3·5·7 = 210 element source.
    let views: [(&[usize], &[usize]); 5] = [
        (&[210], &[1]),
        (&[7, 30], &[1, 7]),               // a transpose
        (&[3, 2, 7, 5], &[35, 105, 1, 7]), // a permute
        (&[2, 3], &[105, 1]),              // a slice
        (&[4, 5], &[0, 1]),                // a broadcast
    ];
    let src = data(210, 5, -1.0, 1.0);
    for (shape, strides) in views {
        let n: usize = shape.iter().product();
        let mut want = vec![0.0; n];
        reference::strided_copy(&src, shape, strides, &mut want);
        let y = out(n);
        kernels_gpu::strided_copy(&up(&src), shape, strides, &y).unwrap();
        assert_eq!(down(&y), want, "view {shape:?} {strides:?}");
    }
}

#[test]
fn copy_view_reads_and_writes_at_offsets() {
    let Some(_) = common::gpu() else { return };
    // Concatenate a [3, 2] and a [3, 5] block along columns into a [3, 7]
    // destination, the second part read from offset 4 of its source.
    let a = data(6, 11, -1.0, 1.0);
    let b = data(19, 12, -1.0, 1.0);
    let dst = up(&[9.0; 21]);
    kernels_gpu::copy_view(&up(&a), 0, &[2, 1], &[3, 2], &dst, 0, &[7, 1]).unwrap();
    kernels_gpu::copy_view(&up(&b), 4, &[5, 1], &[3, 5], &dst, 2, &[7, 1]).unwrap();
    let mut want = vec![0.0; 21];
    for r in 0..3 {
        want[r * 7..r * 7 + 2].copy_from_slice(&a[r * 2..r * 2 + 2]);
        want[r * 7 + 2..r * 7 + 7].copy_from_slice(&b[4 + r * 5..4 + r * 5 + 5]);
    }
    assert_eq!(down(&dst), want);
    // Elements outside the destination view stay as they were.
    let partial = up(&[9.0; 6]);
    kernels_gpu::copy_view(&up(&a), 0, &[1], &[2], &partial, 3, &[1]).unwrap();
    assert_eq!(down(&partial), vec![9.0, 9.0, 9.0, a[0], a[1], 9.0]);
}

#[test]
fn bad_lengths_and_aliasing_are_errors_not_panics() {
    let Some(_) = common::gpu() else { return };
    let x = up(&[1.0; 10]);
    let short = out(5);
    let e = kernels_gpu::unary(UnaryOp::Exp, &x, &short).unwrap_err();
    assert!(e.to_string().contains("`out` holds 5 floats but 10"), "{e}");
    let e = kernels_gpu::unary(UnaryOp::Exp, &x, &x).unwrap_err();
    assert!(e.to_string().contains("also bound"), "{e}");
}
