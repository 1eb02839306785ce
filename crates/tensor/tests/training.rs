//! End to end on the engine alone: small models learn with the optimizers.

mod common;
use common::*;
use tensor::optim::{clip_grad_norm, Adam, AdamConfig, LrSchedule, Optimizer, Sgd, SgdConfig};
use tensor::{init, Device, Rng, Tensor};

#[test]
fn mlp_learns_xor_with_adam() {
    let mut rng = Rng::new(42);
    let dev = Device::Cpu;
    let w1 = init::linear_uniform([2, 8], 2, &mut rng, &dev).unwrap();
    let b1 = init::linear_uniform([8], 2, &mut rng, &dev).unwrap();
    let w2 = init::linear_uniform([8, 1], 8, &mut rng, &dev).unwrap();
    let b2 = init::linear_uniform([1], 8, &mut rng, &dev).unwrap();
    let x = t(&[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]);
    let y = t(&[0.0, 1.0, 1.0, 0.0], &[4, 1]);
    let params = vec![w1.clone(), b1.clone(), w2.clone(), b2.clone()];
    let mut opt = Adam::new(
        params,
        AdamConfig {
            lr: 0.05,
            ..Default::default()
        },
    )
    .unwrap();
    let forward = || {
        x.matmul(&w1)?
            .add(&b1)?
            .tanh()?
            .matmul(&w2)?
            .add(&b2)?
            .sigmoid()
    };
    let mut loss = f32::INFINITY;
    for _ in 0..500 {
        opt.zero_grad();
        let l = forward()
            .unwrap()
            .sub(&y)
            .unwrap()
            .square()
            .unwrap()
            .mean_all()
            .unwrap();
        l.backward().unwrap();
        clip_grad_norm(opt.params(), 5.0).unwrap();
        opt.step().unwrap();
        loss = l.item().unwrap();
    }
    let p = forward().unwrap().to_vec();
    assert!(loss < 0.01, "XOR loss stayed at {loss}");
    for (pi, yi) in p.iter().zip([0.0, 1.0, 1.0, 0.0]) {
        assert!((pi - yi).abs() < 0.2, "XOR predictions {p:?}");
    }
}

#[test]
fn linear_regression_recovers_the_weights_with_sgd() {
    // y = 3 x₀ - 2 x₁ + 0.5
    let mut rng = Rng::new(7);
    let dev = Device::Cpu;
    let x = Tensor::rand([64, 2], -1.0, 1.0, &mut rng, &dev).unwrap();
    let truth = t(&[3.0, -2.0], &[2, 1]);
    let y = x.matmul(&truth).unwrap().add_scalar(0.5).unwrap();
    let w = Tensor::zeros([2, 1], &dev).unwrap().requires_grad_();
    let b = Tensor::zeros([1], &dev).unwrap().requires_grad_();
    let cfg = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..Default::default()
    };
    let mut opt = Sgd::new(vec![w.clone(), b.clone()], cfg).unwrap();
    let sched = LrSchedule::StepDecay {
        step_size: 150,
        gamma: 0.5,
    };
    for step in 1..=300 {
        opt.set_lr(sched.lr(0.1, step));
        opt.zero_grad();
        let pred = x.matmul(&w).unwrap().add(&b).unwrap();
        pred.sub(&y)
            .unwrap()
            .square()
            .unwrap()
            .mean_all()
            .unwrap()
            .backward()
            .unwrap();
        opt.step().unwrap();
    }
    assert_close(&w.to_vec(), &[3.0, -2.0], 1e-3);
    assert_close(&b.to_vec(), &[0.5], 1e-3);
}

#[test]
fn adamw_matches_pytorch_formula_for_one_step() {
    // θ=1, g=0.5, lr=0.1, wd=0.1, AdamW, t=1: θ·(1-0.01) - 0.1·m̂/(√v̂+ε) with m̂=g, v̂=g²
    let p = t(&[1.0], &[1]).requires_grad_();
    p.set_grad(Some(t(&[0.5], &[1])));
    let mut opt = Adam::new(
        vec![p.clone()],
        AdamConfig {
            lr: 0.1,
            weight_decay: 0.1,
            decoupled: true,
            ..Default::default()
        },
    )
    .unwrap();
    opt.step().unwrap();
    let want = 1.0 * (1.0 - 0.01) - 0.1 * 0.5 / (0.5 + 1e-8);
    assert!(
        (p.to_vec()[0] - want).abs() < 1e-6,
        "{} vs {want}",
        p.to_vec()[0]
    );
}

#[test]
fn clipping_scales_to_the_global_norm() {
    let a = t(&[0.0], &[1]).requires_grad_();
    let b = t(&[0.0], &[1]).requires_grad_();
    a.set_grad(Some(t(&[3.0], &[1])));
    b.set_grad(Some(t(&[4.0], &[1])));
    let norm = clip_grad_norm(&[a.clone(), b.clone()], 1.0).unwrap();
    assert!((norm - 5.0).abs() < 1e-6);
    assert_close(&a.grad().unwrap().to_vec(), &[0.6], 1e-5);
    assert_close(&b.grad().unwrap().to_vec(), &[0.8], 1e-5);
    b.set_grad(Some(t(&[f32::NAN], &[1])));
    assert!(clip_grad_norm(&[a, b], 1.0)
        .unwrap_err()
        .to_string()
        .contains("parameter 1"));
}
