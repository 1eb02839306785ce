//! Every rung of the matmul ladder against the reference GEMM: transposes,
//! batches (including a broadcast operand), alpha/beta, and sizes that are
//! not multiples of the tiles.

mod common;

use common::{assert_close, data, down, out, up};
use kernels_cpu::reference;
use kernels_gpu::{gemm_heads_with, gemm_with, Gemm, GpuBuffer, HeadSplit, MatmulKernel};

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

/// The two-level batch of attention's per-head products, on every rung:
/// scores Q Kᵀ (merged heads in, split out), the mix P V (split in, merged
/// out) and ∂K = Gᵀ Q, which reads the split operand transposed (the other
/// backward products have one of these forms), each against one reference GEMM per (sequence, head).
#[test]
fn head_split_batches_read_and_write_heads_in_place() {
    let Some(_) = common::gpu() else { return };
    // (sequences, heads, L, S, d): ones, primes, and a vec4-aligned case.
    let sizes = [
        (1, 1, 1, 1, 1),
        (2, 3, 5, 7, 3),
        (3, 2, 13, 11, 4),
        (2, 4, 8, 12, 8),
    ];
    for (seqs, heads, l, s, d) in sizes {
        let merged = |rows: usize| (rows * heads * d, d, heads * d);
        let split = |rows: usize, cols: usize| (heads * rows * cols, rows * cols, cols);
        // (m, n, k, trans, A layout, B layout, C layout), layouts (per seq, per head, ld).
        let cases: [(usize, usize, usize, (bool, bool), _, _, _); 3] = [
            (l, s, d, (false, true), merged(l), merged(s), split(l, s)),
            (l, d, s, (false, false), split(l, s), merged(s), merged(l)),
            (s, d, l, (true, false), split(l, s), merged(l), merged(s)),
        ];
        for (m, n, k, (ta, tb), la, lb, lc) in cases {
            let g = Gemm {
                batch: seqs * heads,
                trans_a: ta,
                trans_b: tb,
                m,
                n,
                k,
                alpha: 0.75,
                lda: la.2,
                stride_a: la.0,
                ldb: lb.2,
                stride_b: lb.0,
                beta: 0.0,
                ldc: lc.2,
                stride_c: lc.0,
            };
            let hs = HeadSplit {
                heads,
                head_a: la.1,
                head_b: lb.1,
                head_c: lc.1,
            };
            let a = data(seqs * la.0, 1, -1.0, 1.0);
            let b = data(seqs * lb.0, 2, -1.0, 1.0);
            let mut want = vec![f32::NAN; seqs * lc.0];
            for z in 0..seqs * heads {
                let at = |l: (usize, usize, usize)| (z / heads) * l.0 + (z % heads) * l.1;
                reference::sgemm(
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    g.alpha,
                    &a[at(la)..],
                    g.lda,
                    &b[at(lb)..],
                    g.ldb,
                    0.0,
                    &mut want[at(lc)..],
                    g.ldc,
                );
            }
            for kernel in MatmulKernel::ALL {
                let aligned =
                    g.vec4_aligned() && hs.head_a.is_multiple_of(4) && hs.head_b.is_multiple_of(4);
                if kernel == MatmulKernel::BlockedVec4 && !aligned {
                    continue;
                }
                let c: GpuBuffer = out(want.len());
                gemm_heads_with(kernel, &g, hs, &up(&a), &up(&b), &c).unwrap();
                let what = format!("{kernel:?} {g:?} {hs:?}");
                assert_close(&what, &down(&c), &want, 2e-6 * (k as f32 + 1.0));
            }
        }
    }
}
