//! Reductions, softmax, layer norm and cross-entropy against the kernels-cpu
//! reference, on shapes that straddle the workgroup size.

mod common;

use common::{assert_close, data, down, out, up, SIZES};
use kernels_cpu::reference;
use kernels_gpu::ReduceOp;

/// (rows, cols) shapes: single rows and columns, primes, the 64-wide
/// workgroup and the 128-long switch between the lane and row kernels.
const ROWS_COLS: [(usize, usize); 9] = [
    (1, 1),
    (1, 1000),
    (7, 1),
    (3, 64),
    (5, 127),
    (2, 128),
    (13, 257),
    (64, 65),
    (300, 3),
];

#[test]
fn reduce_and_argmax_along_each_axis() {
    let Some(_) = common::gpu() else { return };
    let shapes = [
        (1, 1, 1),
        (1, 7, 1),
        (3, 200, 1),
        (2, 31, 5),
        (4, 1, 9),
        (1, 1000, 3),
        (257, 3, 2),
        (2, 5000, 1),
    ];
    for (outer, len, inner) in shapes {
        let n = outer * len * inner;
        // Rounded data makes ties for argmax (the first maximum must win).
        let x: Vec<f32> = data(n, n as u64, -8.0, 8.0)
            .iter()
            .map(|v| v.round())
            .collect();
        let gx = up(&x);
        for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min] {
            let mut want = vec![0.0; outer * inner];
            reference::reduce(op, &x, outer, len, inner, &mut want);
            let y = out(outer * inner);
            kernels_gpu::reduce(op, &gx, outer, len, inner, &y).unwrap();
            assert_close(
                &format!("{op:?} {outer}x{len}x{inner}"),
                &down(&y),
                &want,
                1e-6,
            );
        }
        let mut want = vec![0.0; outer * inner];
        reference::argmax(&x, outer, len, inner, &mut want);
        let y = out(outer * inner);
        kernels_gpu::argmax(&gx, outer, len, inner, &y).unwrap();
        assert_eq!(down(&y), want, "argmax {outer}x{len}x{inner}");
    }
}

#[test]
fn sum_all_and_sum_squares() {
    let Some(_) = common::gpu() else { return };
    for n in SIZES.into_iter().chain([0, 4096, 4097, 100_003]) {
        let x = data(n, n as u64, -1.0, 1.0);
        let gx = up(&x);
        let y = out(1);
        kernels_gpu::sum_all(&gx, &y).unwrap();
        let want = reference::sum_all(&x);
        assert_close(
            &format!("sum_all n={n}"),
            &down(&y),
            &[want],
            1e-5 * (n as f32).sqrt(),
        );
        kernels_gpu::sum_squares(&gx, &y).unwrap();
        let want = reference::sum_squares(&x);
        assert_close(&format!("sum_squares n={n}"), &down(&y), &[want], 1e-5);
    }
}

#[test]
fn softmax_and_log_softmax_forward_and_backward() {
    let Some(_) = common::gpu() else { return };
    for (rows, cols) in ROWS_COLS {
        let n = rows * cols;
        let x = data(n, n as u64, -10.0, 10.0);
        let gy = data(n, 7 + n as u64, -1.0, 1.0);
        let (gx_in, ggy) = (up(&x), up(&gy));

        let mut y = vec![0.0; n];
        reference::softmax(&x, rows, cols, &mut y);
        let got = out(n);
        kernels_gpu::softmax(&gx_in, rows, cols, &got).unwrap();
        assert_close(&format!("softmax {rows}x{cols}"), &down(&got), &y, 1e-5);
        let mut want = vec![0.0; n];
        reference::softmax_backward(&y, &gy, rows, cols, &mut want);
        let g = out(n);
        kernels_gpu::softmax_backward(&up(&y), &ggy, rows, cols, &g).unwrap();
        assert_close(
            &format!("softmax_backward {rows}x{cols}"),
            &down(&g),
            &want,
            1e-5,
        );

        let mut ly = vec![0.0; n];
        reference::log_softmax(&x, rows, cols, &mut ly);
        kernels_gpu::log_softmax(&gx_in, rows, cols, &got).unwrap();
        assert_close(
            &format!("log_softmax {rows}x{cols}"),
            &down(&got),
            &ly,
            1e-5,
        );
        reference::log_softmax_backward(&ly, &gy, rows, cols, &mut want);
        kernels_gpu::log_softmax_backward(&up(&ly), &ggy, rows, cols, &g).unwrap();
        assert_close(
            &format!("log_softmax_backward {rows}x{cols}"),
            &down(&g),
            &want,
            1e-5,
        );
    }
}

#[test]
fn softmax_of_a_fully_masked_row_is_nan_like_the_cpu() {
    let Some(_) = common::gpu() else { return };
    let x = [f32::NEG_INFINITY; 5];
    let mut want = [0.0; 5];
    reference::softmax(&x, 1, 5, &mut want);
    let y = out(5);
    kernels_gpu::softmax(&up(&x), 1, 5, &y).unwrap();
    assert_close("masked row", &down(&y), &want, 0.0);
}

#[test]
fn layer_norm_forward_and_backward() {
    let Some(_) = common::gpu() else { return };
    for (rows, cols) in ROWS_COLS {
        let n = rows * cols;
        // An offset mean tests the two-pass variance.
        let x = data(n, n as u64, 3.0, 5.0);
        let gamma = data(cols, 1, 0.5, 1.5);
        let beta = data(cols, 2, -0.5, 0.5);
        let gy = data(n, 3, -1.0, 1.0);
        for affine in [true, false] {
            let (g, b) = if affine {
                (Some(&gamma[..]), Some(&beta[..]))
            } else {
                (None, None)
            };
            let (mut y, mut mean, mut rstd) = (vec![0.0; n], vec![0.0; rows], vec![0.0; rows]);
            reference::layer_norm(&x, g, b, rows, cols, 1e-5, &mut y, &mut mean, &mut rstd);
            let (gpu_gamma, gpu_beta) = (up(&gamma), up(&beta));
            let (gg, gb) = if affine {
                (Some(&gpu_gamma), Some(&gpu_beta))
            } else {
                (None, None)
            };
            let (oy, om, or) = (out(n), out(rows), out(rows));
            let gpu_x = up(&x);
            kernels_gpu::layer_norm(&gpu_x, gg, gb, rows, cols, 1e-5, &oy, &om, &or).unwrap();
            let what = format!("layer_norm {rows}x{cols} affine={affine}");
            assert_close(&what, &down(&oy), &y, 2e-4);
            assert_close(&what, &down(&om), &mean, 1e-5);
            assert_close(&what, &down(&or), &rstd, 1e-3);

            let (mut gx, mut ggamma, mut gbeta) = (vec![0.0; n], vec![0.0; cols], vec![0.0; cols]);
            reference::layer_norm_backward(
                &x,
                g,
                &mean,
                &rstd,
                &gy,
                rows,
                cols,
                &mut gx,
                Some(&mut ggamma),
                Some(&mut gbeta),
            );
            let (ogx, ogg, ogb) = (out(n), out(cols), out(cols));
            let (gpu_mean, gpu_rstd) = (up(&mean), up(&rstd));
            kernels_gpu::layer_norm_backward(
                &gpu_x,
                gg,
                &gpu_mean,
                &gpu_rstd,
                &up(&gy),
                rows,
                cols,
                &ogx,
                Some(&ogg),
                Some(&ogb),
            )
            .unwrap();
            assert_close(&format!("{what} gx"), &down(&ogx), &gx, 2e-3);
            assert_close(&format!("{what} ggamma"), &down(&ogg), &ggamma, 1e-3);
            assert_close(&format!("{what} gbeta"), &down(&ogb), &gbeta, 1e-5);
        }
    }
}

#[test]
fn cross_entropy_with_ignore_index_and_smoothing() {
    let Some(_) = common::gpu() else { return };
    for (rows, cols) in ROWS_COLS {
        let n = rows * cols;
        let logits = data(n, n as u64, -5.0, 5.0);
        // Every third row is ignored (-100).
        let targets: Vec<f32> = (0..rows)
            .map(|r| {
                if r % 3 == 2 {
                    -100.0
                } else {
                    ((r * 7919) % cols) as f32
                }
            })
            .collect();
        let gloss = data(rows, 5, 0.5, 1.5);
        for smoothing in [0.0, 0.1] {
            let (mut loss, mut lse) = (vec![0.0; rows], vec![0.0; rows]);
            let count = reference::cross_entropy(
                &logits, &targets, rows, cols, -100, smoothing, &mut loss, &mut lse,
            );
            let (ol, olse, oc) = (out(rows), out(rows), out(rows));
            let (gl, gt) = (up(&logits), up(&targets));
            kernels_gpu::cross_entropy(&gl, &gt, rows, cols, -100, smoothing, &ol, &olse, &oc)
                .unwrap();
            let what = format!("cross_entropy {rows}x{cols} eps={smoothing}");
            assert_close(&what, &down(&ol), &loss, 1e-5);
            assert_close(&what, &down(&olse), &lse, 1e-6);
            assert_eq!(
                down(&oc).iter().sum::<f32>() as usize,
                count,
                "{what} count"
            );

            let mut gx = vec![0.0; n];
            reference::cross_entropy_backward(
                &logits, &targets, &lse, &gloss, rows, cols, -100, smoothing, &mut gx,
            );
            let ogx = out(n);
            kernels_gpu::cross_entropy_backward(
                &gl,
                &gt,
                &olse,
                &up(&gloss),
                rows,
                cols,
                -100,
                smoothing,
                &ogx,
            )
            .unwrap();
            assert_close(&format!("{what} backward"), &down(&ogx), &gx, 1e-5);
        }
    }
}

/// Rows that hold -∞ (masked entries), wholly or in part: max, min and
/// argmax (lane and row kernels), softmax and cross-entropy agree with the
/// reference. The kernels start from a row's own entries, never from an
/// infinity of their own, so this is what shows they still handle one.
#[test]
fn reductions_and_softmax_over_rows_with_minus_infinity() {
    let Some(_) = common::gpu() else { return };
    for (outer, len, inner) in [(3, 5, 1), (2, 300, 1), (4, 7, 3)] {
        let n = outer * len * inner;
        let mut x = data(n, 7 + n as u64, -3.0, 3.0);
        for (i, v) in x.iter_mut().enumerate() {
            // the first run entirely -∞, and every third entry elsewhere
            if i < len * inner || i % 3 == 0 {
                *v = f32::NEG_INFINITY;
            }
        }
        let gx = up(&x);
        for op in [ReduceOp::Max, ReduceOp::Min] {
            let mut want = vec![0.0; outer * inner];
            reference::reduce(op, &x, outer, len, inner, &mut want);
            let y = out(outer * inner);
            kernels_gpu::reduce(op, &gx, outer, len, inner, &y).unwrap();
            assert_eq!(down(&y), want, "{op:?} {outer}x{len}x{inner}");
        }
        let mut want = vec![0.0; outer * inner];
        reference::argmax(&x, outer, len, inner, &mut want);
        let y = out(outer * inner);
        kernels_gpu::argmax(&gx, outer, len, inner, &y).unwrap();
        assert_eq!(down(&y), want, "argmax {outer}x{len}x{inner}");
        if inner == 1 {
            let mut want = vec![0.0; n];
            reference::softmax(&x, outer, len, &mut want);
            let y = out(n);
            kernels_gpu::softmax(&gx, outer, len, &y).unwrap();
            assert_close(&format!("softmax {outer}x{len}"), &down(&y), &want, 1e-6);
        }
    }
}
