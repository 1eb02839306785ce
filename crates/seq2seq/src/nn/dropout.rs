//! Dropout (Srivastava et al. 2014), `torch.nn.Dropout`.
//!
//! ```text
//!   training:    y = x ⊙ m / (1 - p),   m ~ Bernoulli(1 - p) per element
//!   evaluation:  y = x
//! ```
//!
//! Shapes: any; y has the shape of x.
//!
//! Conventions: "inverted" dropout as PyTorch — the survivors are scaled up
//! in training so evaluation is the identity. Mode and random stream come
//! from the [`Ctx`] passed to `forward` (see `nn/mod.rs` for why). The masks
//! are drawn from our counter-based `Rng`, so they are reproducible but not
//! PyTorch's masks: parity tests run with dropout off.

use super::Ctx;
use tensor::{Result, Tensor};

/// Zeroes each element with probability `p` in training.
#[derive(Clone, Copy, Debug)]
pub struct Dropout {
    pub p: f32,
}

impl Dropout {
    pub fn new(p: f32) -> Dropout {
        Dropout { p }
    }

    /// `x` in evaluation; `x ⊙ m / (1 - p)` in training.
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Result<Tensor> {
        // y = x ⊙ m / (1 - p)
        x.dropout(self.p, ctx.train, &mut ctx.rng) // same shape as x
    }
}
