//! Property tests: random shapes (including 1 and odd sizes) for the kernels
//! whose index arithmetic is most intricate — broadcasting, GEMM with
//! transposes and batches, and reductions along any axis.

mod common;

use common::{assert_close, data, down, out, up};
use kernels_cpu::reference;
use kernels_gpu::{gemm_with, BinaryOp, Gemm, MatmulKernel, ReduceOp};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    // Each case is a few dispatches and a read-back (~1 ms on lavapipe).
    ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn gemm_on_random_shapes(
        m in 1usize..70, n in 1usize..70, k in 1usize..70, batch in 1usize..4,
        trans_a: bool, trans_b: bool, broadcast_b: bool, beta in prop_oneof![Just(0.0f32), Just(0.5f32)],
        kernel in prop_oneof![Just(MatmulKernel::Naive), Just(MatmulKernel::Tiled), Just(MatmulKernel::Blocked), Just(MatmulKernel::BlockedVec4), Just(MatmulKernel::TiledBlocked)],
    ) {
        let Some(_) = common::gpu() else { return Ok(()) };
        let (a_rows, a_cols) = if trans_a { (k, m) } else { (m, k) };
        let (b_rows, b_cols) = if trans_b { (n, k) } else { (k, n) };
        let g = Gemm {
            batch, trans_a, trans_b, m, n, k, alpha: 1.25,
            lda: a_cols, stride_a: a_rows * a_cols,
            ldb: b_cols, stride_b: if broadcast_b { 0 } else { b_rows * b_cols },
            beta, ldc: n, stride_c: m * n,
        };
        let kernel = if kernel == MatmulKernel::BlockedVec4 && !g.vec4_aligned() { MatmulKernel::Blocked } else { kernel };
        let a = data(batch * a_rows * a_cols, m as u64, -1.0, 1.0);
        let b = data(batch * b_rows * b_cols, n as u64, -1.0, 1.0);
        let c0 = data(batch * m * n, k as u64, -1.0, 1.0);
        let mut want = c0.clone();
        reference::sgemm_batched(batch, trans_a, trans_b, m, n, k, g.alpha, &a, g.lda, g.stride_a, &b, g.ldb,
            g.stride_b, beta, &mut want, g.ldc, g.stride_c);
        let c = up(&c0);
        gemm_with(kernel, &g, &up(&a), &up(&b), &c).unwrap();
        assert_close(&format!("{kernel:?} {g:?}"), &down(&c), &want, 2e-6 * (k as f32 + 1.0));
    }

    #[test]
    fn broadcast_binary_on_random_shapes(
        shape in prop::collection::vec(1usize..6, 1..6),
        keep_a in prop::collection::vec(any::<bool>(), 6),
        keep_b in prop::collection::vec(any::<bool>(), 6),
        op in prop_oneof![Just(BinaryOp::Add), Just(BinaryOp::Mul), Just(BinaryOp::Div), Just(BinaryOp::Ge)],
    ) {
        let Some(_) = common::gpu() else { return Ok(()) };
        let strides = |keep: &[bool]| {
            let mut s = vec![0; shape.len()];
            let mut acc = 1;
            for d in (0..shape.len()).rev() {
                if keep[d] { s[d] = acc; acc *= shape[d]; }
            }
            (s, acc)
        };
        let (sa, na) = strides(&keep_a);
        let (sb, nb) = strides(&keep_b);
        let a = data(na, 1, -2.0, 2.0);
        let b = data(nb, 2, 0.5, 2.0);
        let n: usize = shape.iter().product();
        let mut want = vec![0.0; n];
        reference::binary(op, &a, &sa, &b, &sb, &shape, &mut want);
        let y = out(n);
        kernels_gpu::binary(op, &up(&a), &sa, &up(&b), &sb, &shape, &y).unwrap();
        assert_close(&format!("{op:?} {shape:?}"), &down(&y), &want, 1e-6);
    }

    #[test]
    fn reductions_on_random_shapes(outer in 1usize..20, len in 1usize..300, inner in 1usize..6) {
        let Some(_) = common::gpu() else { return Ok(()) };
        let x = data(outer * len * inner, len as u64, -3.0, 3.0);
        let gx = up(&x);
        for op in [ReduceOp::Sum, ReduceOp::Max] {
            let mut want = vec![0.0; outer * inner];
            reference::reduce(op, &x, outer, len, inner, &mut want);
            let y = out(outer * inner);
            kernels_gpu::reduce(op, &gx, outer, len, inner, &y).unwrap();
            assert_close(&format!("{op:?}"), &down(&y), &want, 1e-5);
        }
        let mut want = vec![0.0; outer * inner];
        reference::argmax(&x, outer, len, inner, &mut want);
        let y = out(outer * inner);
        kernels_gpu::argmax(&gx, outer, len, inner, &y).unwrap();
        prop_assert_eq!(down(&y), want);
    }
}
