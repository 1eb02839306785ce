//! The row kernels (softmax, layer norm, cross-entropy) against the
//! kernels-cpu reference. Shared so that the same checks run on the device
//! as the adapter offers it (tests/rows.rs: subgroup reductions where it has
//! them) and with its optional features off (tests/features_off.rs).

use super::{assert_close, data, down, out, up};
use kernels_cpu::reference;

/// (rows, cols) shapes: single rows and columns, primes, the 64-wide
/// workgroup and the 128-long switch between the lane and row kernels.
pub const ROWS_COLS: [(usize, usize); 10] = [
    (1, 1),
    (1, 1000),
    (7, 1),
    (3, 64),
    (5, 127),
    (2, 128),
    (13, 257),
    (64, 65),
    (300, 3),
    (1031, 33),
];

pub fn softmax_family() {
    let Some(_) = super::gpu() else { return };
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

pub fn softmax_of_a_masked_row() {
    let Some(_) = super::gpu() else { return };
    let x = [f32::NEG_INFINITY; 5];
    let mut want = [0.0; 5];
    reference::softmax(&x, 1, 5, &mut want);
    let y = out(5);
    kernels_gpu::softmax(&up(&x), 1, 5, &y).unwrap();
    assert_close("masked row", &down(&y), &want, 0.0);
}

pub fn layer_norm_family() {
    let Some(_) = super::gpu() else { return };
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

pub fn cross_entropy_family() {
    let Some(_) = super::gpu() else { return };
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
