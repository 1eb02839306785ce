//! Every rung of the matmul ladder against the reference GEMM: transposes,
//! batches (including a broadcast operand), alpha/beta, and sizes that are
//! not multiples of the tiles.

mod common;

use common::{assert_close, data, down, out, up};
use kernels_cpu::reference;
use kernels_gpu::{gemm_with, Gemm, GpuBuffer, MatmulKernel};

fn check(kernel: MatmulKernel, g: &Gemm) {
    let (a_rows, a_cols) = if g.trans_a { (g.k, g.m) } else { (g.m, g.k) };
    let (b_rows, b_cols) = if g.trans_b { (g.n, g.k) } else { (g.k, g.n) };
    let span = |rows: usize, cols: usize, ld: usize, stride: usize| {
        if rows * cols == 0 {
            0
        } else {
            (g.batch - 1) * stride + (rows - 1) * ld + cols
        }
    };
    let a = data(span(a_rows, a_cols, g.lda, g.stride_a).max(1), 1, -1.0, 1.0);
    let b = data(span(b_rows, b_cols, g.ldb, g.stride_b).max(1), 2, -1.0, 1.0);
    let c0 = data(span(g.m, g.n, g.ldc, g.stride_c).max(1), 3, -1.0, 1.0);
    let mut want = c0.clone();
    reference::sgemm_batched(
        g.batch, g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, &a, g.lda, g.stride_a, &b, g.ldb,
        g.stride_b, g.beta, &mut want, g.ldc, g.stride_c,
    );
    let c = up(&c0);
    gemm_with(kernel, g, &up(&a), &up(&b), &c).unwrap();
    let tol = 2e-6 * (g.k as f32 + 1.0);
    assert_close(&format!("{kernel:?} {g:?}"), &down(&c), &want, tol);
}

fn gemm(m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool) -> Gemm {
    Gemm {
        batch: 1,
        trans_a,
        trans_b,
        m,
        n,
        k,
        alpha: 1.0,
        lda: if trans_a { m } else { k },
        stride_a: 0,
        ldb: if trans_b { k } else { n },
        stride_b: 0,
        beta: 0.0,
        ldc: n,
        stride_c: 0,
    }
}

const SHAPES: [(usize, usize, usize); 8] = [
    (1, 1, 1),
    (1, 7, 3),
    (5, 1, 9),
    (17, 13, 11),
    (64, 64, 64),
    (65, 31, 67),
    (8, 256, 40),
    (100, 4, 257),
];

#[test]
fn every_kernel_with_every_transpose() {
    let Some(_) = common::gpu() else { return };
    for kernel in MatmulKernel::ALL {
        for (m, n, k) in SHAPES {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let g = gemm(m, n, k, ta, tb);
                if kernel == MatmulKernel::BlockedVec4 && !g.vec4_aligned() {
                    continue;
                }
                check(kernel, &g);
            }
        }
    }
}

#[test]
fn vec4_kernel_on_aligned_shapes() {
    let Some(_) = common::gpu() else { return };
    // Non-contiguous directions may be any size; contiguous ones multiples of 4.
    for (m, n, k) in [(4, 4, 4), (13, 8, 12), (64, 68, 36), (3, 20, 100)] {
        for (ta, tb) in [(false, false), (false, true)] {
            let g = gemm(m, n, k, ta, tb);
            assert!(g.vec4_aligned(), "{g:?}");
            check(MatmulKernel::BlockedVec4, &g);
        }
    }
    for (m, n, k) in [(8, 12, 5), (36, 4, 13)] {
        let g = gemm(m, n, k, true, false);
        assert!(g.vec4_aligned(), "{g:?}");
        check(MatmulKernel::BlockedVec4, &g);
    }
}

#[test]
fn batched_strided_broadcast_with_alpha_beta() {
    let Some(_) = common::gpu() else { return };
    for kernel in MatmulKernel::ALL {
        for (ta, tb) in [(false, false), (false, true), (true, false)] {
            let (m, n, k, batch) = (12, 20, 8, 3);
            let mut g = gemm(m, n, k, ta, tb);
            g.batch = batch;
            g.alpha = 0.5;
            g.beta = -1.5;
            // Padded leading dimensions, A batched, B broadcast, C batched.
            g.lda += 4;
            g.ldc = n + 8;
            g.stride_a = (if ta { k } else { m }) * g.lda + 4;
            g.stride_b = 0;
            g.stride_c = m * g.ldc;
            if kernel == MatmulKernel::BlockedVec4 && !g.vec4_aligned() {
                continue;
            }
            check(kernel, &g);
        }
    }
}

#[test]
fn k_zero_scales_c_by_beta() {
    let Some(_) = common::gpu() else { return };
    let mut g = gemm(3, 5, 0, false, false);
    g.beta = 2.0;
    g.lda = 1;
    check(MatmulKernel::Blocked, &g);
}

#[test]
fn the_automatic_choice_runs() {
    let Some(_) = common::gpu() else { return };
    let (m, n, k) = (33, 17, 9);
    let (a, b) = (data(m * k, 1, -1.0, 1.0), data(k * n, 2, -1.0, 1.0));
    let mut want = vec![0.0; m * n];
    reference::sgemm(false, false, m, n, k, 1.0, &a, k, &b, n, 0.0, &mut want, n);
    let c: GpuBuffer = out(m * n);
    kernels_gpu::sgemm(
        false,
        false,
        m,
        n,
        k,
        1.0,
        &up(&a),
        k,
        &up(&b),
        n,
        0.0,
        &c,
        n,
    )
    .unwrap();
    assert_close("auto sgemm", &down(&c), &want, 1e-5);
}
