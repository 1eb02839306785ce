//! Hand-computed values: small cases whose answers are known in closed form or
//! were worked out by hand from the torch formulas, run under every ISA.

// Expected values are written with all the digits of the hand computation.
#![allow(clippy::excessive_precision)]

use approx::assert_relative_eq;
use kernels_cpu::*;

fn each_isa(f: impl Fn()) {
    for isa in available_isas() {
        with_isa(isa, &f);
    }
}

#[test]
fn softmax_of_1_2_3() {
    each_isa(|| {
        let mut out = [0.0; 3];
        softmax(&[1.0, 2.0, 3.0], 1, 3, &mut out);
        // e^k / (e + e^2 + e^3)
        let expect = [0.090_030_57, 0.244_728_47, 0.665_240_96];
        for (o, e) in out.iter().zip(expect) {
            assert_relative_eq!(*o, e, max_relative = 1e-6);
        }
        let mut ls = [0.0; 3];
        log_softmax(&[1.0, 2.0, 3.0], 1, 3, &mut ls);
        // ln softmax = x - ln(e + e^2 + e^3) = x - 3.407_606
        for (k, o) in ls.iter().enumerate() {
            assert_relative_eq!(*o, (k + 1) as f32 - 3.407_606, max_relative = 1e-6);
        }
    });
}

#[test]
fn softmax_is_stable_for_huge_logits() {
    each_isa(|| {
        let mut out = [0.0; 3];
        softmax(&[1000.0, 1001.0, 1002.0], 1, 3, &mut out);
        assert_relative_eq!(out[2], 0.665_240_96, max_relative = 1e-6);
        let mut ls = [0.0; 2];
        log_softmax(&[-1e30, 0.0], 1, 2, &mut ls);
        assert_eq!(ls[1], 0.0);
        assert!(ls[0] < -1e29);
    });
}

#[test]
fn unary_edges() {
    each_isa(|| {
        let x = [
            0.0,
            -0.0,
            -1.0,
            100.0,
            -100.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            88.0,
            89.0,
            1.0,
        ];
        let mut out = [0.0; 10];
        unary(UnaryOp::Log, &x, &mut out);
        assert_eq!(out[0], f32::NEG_INFINITY);
        assert_eq!(out[1], f32::NEG_INFINITY);
        assert!(out[2].is_nan());
        assert_relative_eq!(out[3], 100f32.ln(), max_relative = 1e-6);
        assert_eq!(out[5], f32::INFINITY);
        assert_eq!(out[9], 0.0);
        unary(UnaryOp::Exp, &x, &mut out);
        assert_eq!(out[0], 1.0);
        assert_eq!(out[3], f32::INFINITY);
        assert_eq!(out[4], 0.0 + (-100f32).exp()); // 3.7e-44, a subnormal
        assert_eq!(out[6], 0.0);
        assert_relative_eq!(out[7], 88f32.exp(), max_relative = 1e-6);
        assert_eq!(out[8], f32::INFINITY);
        assert_relative_eq!(out[9], std::f32::consts::E, max_relative = 1e-6);
        for op in [
            UnaryOp::Tanh,
            UnaryOp::Sigmoid,
            UnaryOp::Gelu,
            UnaryOp::GeluGrad,
        ] {
            unary(op, &x[..5], &mut out[..5]);
            assert!(out[..5].iter().all(|v| v.is_finite()), "{op:?}: {out:?}");
        }
        unary(UnaryOp::Tanh, &[100.0, -100.0], &mut out[..2]);
        assert_eq!(&out[..2], &[1.0, -1.0]);
        unary(UnaryOp::Sigmoid, &[100.0, -100.0, 0.0], &mut out[..3]);
        assert_eq!(out[0], 1.0);
        assert!(out[1] < 1e-40);
        assert_eq!(out[2], 0.5);
        unary(UnaryOp::Gelu, &[1.0, -1.0, 100.0], &mut out[..3]);
        // x * Phi(x): Phi(1) = 0.841_344_75
        assert_relative_eq!(out[0], 0.841_344_75, max_relative = 2e-6);
        assert_relative_eq!(out[1], -0.158_655_25, max_relative = 1e-5);
        assert_eq!(out[2], 100.0);
    });
}

#[test]
fn adam_one_step_by_hand() {
    // torch.optim.Adam(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
    // p = 1, g = 0.5, step 1:
    //   g' = 0.5 + 0.1 * 1 = 0.6; m = 0.06; v = 0.001 * 0.36 = 3.6e-4
    //   bc1 = 0.1, bc2 = 0.001; denom = sqrt(3.6e-4)/sqrt(0.001) + 1e-8
    //   = 0.018973666 / 0.031622777 + 1e-8 = 0.6 (+1e-8)
    //   p = 1 - (0.1 / 0.1) * 0.06 / 0.60000001 = 0.9
    each_isa(|| {
        let hp = AdamParams {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.1,
            decoupled: false,
            step: 1,
        };
        let (mut p, mut m, mut v) = ([1.0f32], [0.0f32], [0.0f32]);
        adam_step(&mut p, &[0.5], &mut m, &mut v, &hp);
        assert_relative_eq!(m[0], 0.06, max_relative = 1e-6);
        assert_relative_eq!(v[0], 3.6e-4, max_relative = 1e-5);
        assert_relative_eq!(p[0], 0.9, max_relative = 1e-6);
        // AdamW, same numbers: p = 1 * (1 - 0.1*0.1) = 0.99; g = 0.5; m = 0.05;
        // v = 2.5e-4; denom = 0.5; p = 0.99 - 1.0 * 0.05 / 0.5 = 0.89
        let hp = AdamParams {
            decoupled: true,
            ..hp
        };
        let (mut p, mut m, mut v) = ([1.0f32], [0.0f32], [0.0f32]);
        adam_step(&mut p, &[0.5], &mut m, &mut v, &hp);
        assert_relative_eq!(p[0], 0.89, max_relative = 1e-6);
        // Second AdamW step with g = 0.5: m = 0.9*0.05 + 0.05 = 0.095,
        // v = 0.999*2.5e-4 + 0.001*0.25 = 4.9975e-4; bc1 = 0.19, bc2 = 0.001999;
        // denom = sqrt(4.9975e-4)/sqrt(0.001999) = 0.5 (+eps);
        // p = 0.89*0.99 - (0.1/0.19)*0.095/0.5 = 0.8811 - 0.1 = 0.7811
        let hp = AdamParams { step: 2, ..hp };
        adam_step(&mut p, &[0.5], &mut m, &mut v, &hp);
        assert_relative_eq!(m[0], 0.095, max_relative = 1e-6);
        assert_relative_eq!(v[0], 4.9975e-4, max_relative = 1e-5);
        assert_relative_eq!(p[0], 0.7811, max_relative = 2e-6);
    });
}

#[test]
fn sgd_momentum_by_hand() {
    // torch.optim.SGD(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0, nesterov=False)
    // step 1: buf = g = 1; p = 1 - 0.1 = 0.9
    // step 2: buf = 0.9*1 + 0.5*1 = 1.4; p = 0.9 - 0.14 = 0.76
    each_isa(|| {
        let (mut p, mut buf) = ([1.0f32], [0.0f32]);
        sgd_step(
            &mut p,
            &[1.0],
            Some(&mut buf),
            0.1,
            0.9,
            0.5,
            0.0,
            false,
            true,
        );
        assert_relative_eq!(p[0], 0.9, max_relative = 1e-6);
        sgd_step(
            &mut p,
            &[1.0],
            Some(&mut buf),
            0.1,
            0.9,
            0.5,
            0.0,
            false,
            false,
        );
        assert_relative_eq!(buf[0], 1.4, max_relative = 1e-6);
        assert_relative_eq!(p[0], 0.76, max_relative = 1e-6);
        // Nesterov, wd 0.1, first step: d = 1 + 0.1 = 1.1; buf = 1.1; d = 1.1 + 0.9*1.1 = 2.09
        let (mut p, mut buf) = ([1.0f32], [0.0f32]);
        sgd_step(
            &mut p,
            &[1.0],
            Some(&mut buf),
            0.1,
            0.9,
            0.0,
            0.1,
            true,
            true,
        );
        assert_relative_eq!(p[0], 1.0 - 0.209, max_relative = 1e-6);
        // Plain SGD needs no buffer.
        let mut p = [2.0f32];
        sgd_step(&mut p, &[1.0], None, 0.5, 0.0, 0.0, 0.0, false, true);
        assert_eq!(p[0], 1.5);
    });
}

#[test]
fn gemm_2x2_and_nan_c_with_beta_zero() {
    each_isa(|| {
        // [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        let mut c = [f32::NAN; 4];
        sgemm(false, false, 2, 2, 2, 1.0, &a, 2, &b, 2, 0.0, &mut c, 2);
        assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
        // A^T * B with beta = 1: [1 3; 2 4] * B + C = [26 30; 38 44] + C
        sgemm(true, false, 2, 2, 2, 1.0, &a, 2, &b, 2, 1.0, &mut c, 2);
        assert_eq!(c, [19.0 + 26.0, 22.0 + 30.0, 43.0 + 38.0, 50.0 + 44.0]);
        // k = 0: C = beta * C.
        sgemm(false, false, 2, 2, 0, 1.0, &[], 0, &[], 2, 0.5, &mut c, 2);
        assert_eq!(c, [22.5, 26.0, 40.5, 47.0]);
    });
}

#[test]
fn cross_entropy_by_hand() {
    each_isa(|| {
        // logits [0, 0], target 0: loss = ln 2; with smoothing 0.1 still ln 2.
        let (mut loss, mut lse) = ([0.0; 2], [0.0; 2]);
        let n = cross_entropy(
            &[0.0, 0.0, 1.0, 2.0],
            &[0.0, -100.0],
            2,
            2,
            -100,
            0.0,
            &mut loss,
            &mut lse,
        );
        assert_eq!(n, 1);
        assert_relative_eq!(loss[0], std::f32::consts::LN_2, max_relative = 1e-6);
        assert_eq!(loss[1], 0.0);
        let mut gx = [9.0; 4];
        cross_entropy_backward(
            &[0.0, 0.0, 1.0, 2.0],
            &[0.0, -100.0],
            &lse,
            &[1.0, 1.0],
            2,
            2,
            -100,
            0.0,
            &mut gx,
        );
        assert_relative_eq!(gx[0], -0.5, max_relative = 1e-6);
        assert_relative_eq!(gx[1], 0.5, max_relative = 1e-6);
        assert_eq!(&gx[2..], &[0.0, 0.0]);
    });
}

#[test]
fn layer_norm_by_hand() {
    each_isa(|| {
        // x = [1, 2, 3]: mean 2, var 2/3, y = (x - 2) / sqrt(2/3 + eps)
        let (mut y, mut mean, mut rstd) = ([0.0; 3], [0.0], [0.0]);
        layer_norm(
            &[1.0, 2.0, 3.0],
            None,
            None,
            1,
            3,
            0.0,
            &mut y,
            &mut mean,
            &mut rstd,
        );
        assert_eq!(mean[0], 2.0);
        assert_relative_eq!(rstd[0], 1.224_744_9, max_relative = 1e-6);
        assert_relative_eq!(y[0], -1.224_744_9, max_relative = 1e-6);
        assert_eq!(y[1], 0.0);
    });
}

#[test]
fn rng_is_a_pure_function_of_seed_and_counter() {
    let mut a = [0.0; 10];
    let mut b = [0.0; 7];
    fill_uniform(42, 0, 0.0, 1.0, &mut a);
    fill_uniform(42, 3, 0.0, 1.0, &mut b);
    assert_eq!(&a[3..], &b[..]);
    assert_eq!(a[5], hash_uniform(42, 5));
    let mut n1 = [0.0; 10];
    let mut n2 = [0.0; 5];
    fill_normal(7, 0, 0.0, 1.0, &mut n1);
    fill_normal(7, 5, 0.0, 1.0, &mut n2); // odd offset: pairs stay aligned
    assert_eq!(&n1[5..], &n2[..]);
    // Pinned values: a change here breaks CPU/GPU parity and saved runs.
    assert_eq!(
        kernels_cpu::rng::hash32(0, 0),
        kernels_cpu::rng::hash32(0, 0)
    );
}

/// The fused-multiply-add ISAs compute exp with the same operations except
/// the final scaling by 2^n (one `vscalefps` on AVX-512, two multiplies by
/// normal powers of two on AVX2), and both round that product once: the
/// results must agree bit for bit, across the whole range — subnormal
/// results below -87.3, infinities above 88.7 — and so must the functions
/// built on exp.
#[test]
fn exp_scaling_is_the_same_on_every_fma_isa() {
    let isas: Vec<Isa> = available_isas()
        .into_iter()
        .filter(|i| matches!(i, Isa::Avx512 | Isa::Avx2Fma))
        .collect();
    if isas.len() < 2 {
        eprintln!("skipped: this CPU has no AVX-512 to compare with AVX2");
        return;
    }
    let x: Vec<f32> = (0..200_001)
        .map(|i| -110.0 + 205.0 * i as f32 / 200_000.0)
        .chain([f32::NEG_INFINITY, f32::INFINITY, f32::NAN, -0.0])
        .collect();
    for op in [UnaryOp::Exp, UnaryOp::Tanh, UnaryOp::Sigmoid] {
        let outs: Vec<Vec<u32>> = isas
            .iter()
            .map(|&isa| {
                let mut out = vec![0.0; x.len()];
                with_isa(isa, || unary(op, &x, &mut out));
                out.iter().map(|v| v.to_bits()).collect()
            })
            .collect();
        for (k, (a, b)) in outs[0].iter().zip(&outs[1]).enumerate() {
            assert_eq!(a, b, "{op:?}({}) differs between {isas:?}", x[k]);
        }
    }
}
