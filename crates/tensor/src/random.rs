//! Random numbers that can be reproduced anywhere: a counter-based generator.
//!
//! Element i of a random tensor is a pure function of `(seed, offset + i)`
//! (an integer hash, kernels-cpu `rng`), so the CPU and the GPU draw the same
//! numbers, and the whole generator state is two integers that a checkpoint
//! saves — resuming continues the exact same stream.

use crate::autograd::BackwardOp;
use crate::backend;
use crate::{Device, Error, Result, Shape, Tensor};
use std::sync::Arc;

/// A seeded stream of random numbers. Each draw consumes as many counters as
/// it produces numbers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rng {
    pub seed: u64,
    pub offset: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { seed, offset: 0 }
    }

    /// Reserves `n` counters and returns the first.
    pub(crate) fn take(&mut self, n: usize) -> u64 {
        let start = self.offset;
        // Round up to even so Box–Muller pairs never straddle two draws.
        self.offset += (n as u64 + 1) & !1;
        start
    }

    /// A uniform number in [0, 1) (for shuffling and other host-side choices).
    pub fn uniform(&mut self) -> f64 {
        let start = self.take(2);
        let hi = kernels_cpu::hash_uniform(self.seed, start) as f64;
        let lo = kernels_cpu::hash_uniform(self.seed, start + 1) as f64;
        hi + lo * (1.0 / 16_777_216.0)
    }

    /// A uniform integer in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

impl Tensor {
    /// Uniform samples in `[lo, hi)`.
    pub fn rand(
        shape: impl Into<Shape>,
        lo: f32,
        hi: f32,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let n = shape.numel();
        let s = backend::uniform(rng.seed, rng.take(n), (lo, hi), n, *device)?;
        Ok(Tensor::from_storage(Arc::new(s), shape))
    }

    /// Normal samples with the given mean and standard deviation.
    pub fn randn(
        shape: impl Into<Shape>,
        mean: f32,
        std: f32,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let n = shape.numel();
        let s = backend::normal(rng.seed, rng.take(n), (mean, std), n, *device)?;
        Ok(Tensor::from_storage(Arc::new(s), shape))
    }

    /// Inverted dropout (Srivastava et al. 2014): in training, zero each element
    /// with probability `p` and scale the rest by 1/(1-p) so the expectation is
    /// unchanged; in evaluation, the identity. The mask multiplies, so the
    /// gradient is masked the same way.
    pub fn dropout(&self, p: f32, train: bool, rng: &mut Rng) -> Result<Tensor> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid(
                "dropout",
                format!("probability {p} is outside [0, 1]"),
            ));
        }
        if !train || p == 0.0 {
            return Ok(self.clone());
        }
        if p == 1.0 {
            return self.mul_scalar(0.0);
        }
        let mask = DropoutMask {
            seed: rng.seed,
            offset: rng.take(self.numel()),
            p,
        };
        mask.apply(self)
    }
}

/// One draw of a dropout mask, kept as the three numbers that regenerate it
/// (the counter-based generator makes element i a function of them alone),
/// not as a tensor: the forward multiplies the input by the mask, the
/// backward the gradient by the same mask, each in one pass.
#[derive(Clone, Copy)]
struct DropoutMask {
    seed: u64,
    offset: u64,
    p: f32,
}

impl DropoutMask {
    /// `x * mask`, recorded so that its gradient is `g * mask`.
    fn apply(self, x: &Tensor) -> Result<Tensor> {
        let y = backend::dropout_apply(self.seed, self.offset, self.p, x.storage())?;
        Ok(Tensor::from_op(y, x.shape().clone(), self, vec![x.clone()]))
    }
}

impl BackwardOp for DropoutMask {
    fn name(&self) -> &'static str {
        "dropout"
    }

    fn backward(&self, _inputs: &[Tensor], _y: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        // d(x * mask)/dx = mask
        Ok(vec![Some(self.apply(g)?)])
    }
}
