//! Optimizers (SGD with momentum, Adam, AdamW), global-norm gradient clipping
//! and learning-rate schedules. Updates run in place on the parameters'
//! device through fused kernels; nothing is recorded on the tape.

mod adam;
mod arena;
mod clip;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use arena::pack_parameters;
pub use clip::clip_grad_norm;
pub use schedule::LrSchedule;
pub use sgd::{Sgd, SgdConfig};

use crate::{Result, Tensor};

/// What every optimizer offers the training loop.
pub trait Optimizer {
    /// Applies one update from the parameters' current `.grad()`; a parameter
    /// without a gradient is left alone (as PyTorch does).
    fn step(&mut self) -> Result<()>;
    /// The parameters being optimised.
    fn params(&self) -> &[Tensor];
    fn lr(&self) -> f32;
    fn set_lr(&mut self, lr: f32);
    /// Named state tensors for a checkpoint (`"{i}.exp_avg"`, …, as PyTorch indexes them).
    fn state(&self) -> Vec<(String, Tensor)>;
    /// Restores state saved by [`Optimizer::state`]; errors name what is missing or mis-shaped.
    fn load_state(&mut self, state: &[(String, Tensor)], step: u64) -> Result<()>;
    /// Number of updates applied so far.
    fn steps(&self) -> u64;
    /// Scales the gradients so that their global norm is at most
    /// `max_norm` ([`clip_grad_norm`]) and returns the norm before clipping
    /// as a one-element tensor on the parameters' device. By default the
    /// norm is computed on the host, which refuses a non-finite gradient at
    /// once; an optimizer over a parameter arena does it on the device and
    /// reads nothing back, so a non-finite norm shows when the caller reads
    /// the tensor (with the logged loss).
    fn clip_grad_norm(&mut self, max_norm: f32) -> Result<Tensor> {
        let norm = clip_grad_norm(self.params(), max_norm)?;
        let device = self
            .params()
            .first()
            .map(Tensor::device)
            .unwrap_or_default();
        Tensor::from_vec(vec![norm], [1], &device)
    }
    /// Clears every parameter's gradient.
    fn zero_grad(&self) {
        for p in self.params() {
            p.zero_grad();
        }
    }
}

/// Finds `name` in saved state and checks its shape against `like`.
pub(crate) fn find_state(state: &[(String, Tensor)], name: &str, like: &Tensor) -> Result<Tensor> {
    let t = state
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .ok_or_else(|| {
            crate::Error::invalid("optimizer state", format!("tensor {name:?} is missing"))
        })?;
    if t.shape() != like.shape() {
        return Err(crate::Error::shapes_because(
            "optimizer state",
            like.shape(),
            t.shape(),
            format!("saved {name:?} does not fit its parameter"),
        ));
    }
    t.to(&like.device())
}
