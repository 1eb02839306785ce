//! Parameter initialisation with PyTorch's defaults, so a fresh model of ours
//! starts from the same distribution as its PyTorch twin.
//!
//! | layer | PyTorch | here |
//! |---|---|---|
//! | `nn.Linear` weight and bias | kaiming_uniform(a=√5) ⇒ U(±1/√fan_in) | [`linear_uniform`] |
//! | `nn.GRU` / `nn.LSTM` | every tensor U(±1/√hidden) | [`uniform`] with `1/√H` |
//! | `nn.Embedding` | N(0, 1) | [`normal`] |
//! | `nn.Transformer` (its own reset) | xavier_uniform on matrices | [`xavier_uniform`] |
//!
//! Every function returns a leaf that requires grad: a parameter.

use crate::{Device, Result, Rng, Shape, Tensor};

/// U(-bound, bound).
pub fn uniform(
    shape: impl Into<Shape>,
    bound: f32,
    rng: &mut Rng,
    device: &Device,
) -> Result<Tensor> {
    Ok(Tensor::rand(shape, -bound, bound, rng, device)?.requires_grad_())
}

/// N(mean, std²).
pub fn normal(
    shape: impl Into<Shape>,
    mean: f32,
    std: f32,
    rng: &mut Rng,
    device: &Device,
) -> Result<Tensor> {
    Ok(Tensor::randn(shape, mean, std, rng, device)?.requires_grad_())
}

/// U(±1/√fan_in): `nn.Linear`'s weight and bias (and `nn.Conv`'s).
pub fn linear_uniform(
    shape: impl Into<Shape>,
    fan_in: usize,
    rng: &mut Rng,
    device: &Device,
) -> Result<Tensor> {
    uniform(shape, 1.0 / (fan_in.max(1) as f32).sqrt(), rng, device)
}

/// Glorot & Bengio (2010): U(±gain·√(6/(fan_in+fan_out))) for a `[fan_out, fan_in]` matrix.
pub fn xavier_uniform(
    shape: impl Into<Shape>,
    gain: f32,
    rng: &mut Rng,
    device: &Device,
) -> Result<Tensor> {
    let shape = shape.into();
    let (fan_in, fan_out) = fans(&shape);
    let bound = gain * (6.0 / (fan_in + fan_out).max(1) as f32).sqrt();
    uniform(shape, bound, rng, device)
}

/// PyTorch's fan computation: dims [out, in, receptive...].
fn fans(shape: &Shape) -> (usize, usize) {
    let d = shape.dims();
    match d.len() {
        0 => (1, 1),
        1 => (d[0], d[0]),
        _ => {
            let receptive: usize = d[2..].iter().product();
            (d[1] * receptive, d[0] * receptive)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_moments_match_pytorch_defaults() {
        let mut rng = Rng::new(7);
        let w = linear_uniform([64, 100], 100, &mut rng, &Device::Cpu).unwrap();
        assert!(w.requires_grad());
        let v = w.to_vec();
        assert!(v.iter().all(|x| x.abs() <= 0.1));
        let x = xavier_uniform([30, 50], 1.0, &mut rng, &Device::Cpu)
            .unwrap()
            .to_vec();
        let bound = (6.0f32 / 80.0).sqrt();
        assert!(x.iter().all(|v| v.abs() <= bound));
        let e = normal([20000], 0.0, 1.0, &mut rng, &Device::Cpu)
            .unwrap()
            .to_vec();
        let mean = e.iter().sum::<f32>() / e.len() as f32;
        let var = e.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / e.len() as f32;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "mean {mean} var {var}"
        );
    }
}
