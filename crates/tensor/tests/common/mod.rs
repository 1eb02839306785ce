//! Helpers shared by the tensor crate's integration tests.
#![allow(dead_code)]

use tensor::{Device, Rng, Tensor};

/// A leaf requiring grad with values uniform in [lo, hi), seeded.
pub fn param(shape: &[usize], lo: f32, hi: f32, seed: u64) -> Tensor {
    Tensor::rand(shape.to_vec(), lo, hi, &mut Rng::new(seed), &Device::Cpu)
        .unwrap()
        .requires_grad_()
}

/// Like `param`, but every value at least `margin` away from each of `kinks`,
/// so a finite difference never straddles a point where the op is not smooth.
pub fn param_away(
    shape: &[usize],
    lo: f32,
    hi: f32,
    seed: u64,
    kinks: &[f32],
    margin: f32,
) -> Tensor {
    let mut v = param(shape, lo, hi, seed).to_vec();
    for x in &mut v {
        for &k in kinks {
            if (*x - k).abs() < margin {
                *x = k + if *x >= k { margin } else { -margin };
            }
        }
    }
    Tensor::from_vec(v, shape.to_vec(), &Device::Cpu)
        .unwrap()
        .requires_grad_()
}

/// Host tensor from values (no grad).
pub fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(values, shape.to_vec(), &Device::Cpu).unwrap()
}

pub fn assert_close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "element {i}: {x} vs {y}"
        );
    }
}
