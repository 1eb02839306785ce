//! Sinusoidal positional encoding (Vaswani et al. 2017, "Attention Is All
//! You Need", §3.5).
//!
//! ```text
//!   PE(pos, 2i)   = sin(pos / 10000^(2i/D))
//!   PE(pos, 2i+1) = cos(pos / 10000^(2i/D))
//!   y = dropout(x + PE[0..T])
//! ```
//!
//! Shapes: x and y `[B, T, D]` (`[T, B, D]` when not `batch_first`), PE
//! `[max_len, D]`. B batch, T time, D model size.
//!
//! Conventions: as the PyTorch tutorial's `PositionalEncoding` — the table
//! is a constant, not a parameter (so it is not in the state_dict), and the
//! √D scaling of the embeddings (§3.4) is the caller's, not this layer's.
//! The table is computed in f64 and rounded once. Each wavelength is a
//! geometric step from 2π to 10000·2π, so PE(pos + k) is a linear function
//! of PE(pos) — relative positions are easy to attend to.

use super::{invalid, Ctx, Dropout};
use tensor::{Device, Result, Tensor};

/// Adds the sinusoid table to its input, then dropout.
#[derive(Clone)]
pub struct PositionalEncoding {
    /// PE: `[max_len, D]`
    pub pe: Tensor,
    pub dropout: Dropout,
    pub batch_first: bool,
}

impl PositionalEncoding {
    pub fn new(
        d_model: usize,
        max_len: usize,
        dropout: f32,
        batch_first: bool,
        device: &Device,
    ) -> Result<Self> {
        Ok(PositionalEncoding {
            pe: Self::table(max_len, d_model, device)?,
            dropout: Dropout::new(dropout),
            batch_first,
        })
    }

    /// The table PE `[max_len, D]`.
    pub fn table(max_len: usize, d: usize, device: &Device) -> Result<Tensor> {
        let mut pe = vec![0.0f32; max_len * d];
        for pos in 0..max_len {
            for j in 0..d {
                // 1 / 10000^(2i/D) for the pair i = ⌊j/2⌋
                let freq = (-(10000f64.ln()) * (2 * (j / 2)) as f64 / d as f64).exp();
                // PE(pos, 2i) = sin(pos · freq),  PE(pos, 2i+1) = cos(pos · freq)
                let angle = pos as f64 * freq;
                pe[pos * d + j] = if j % 2 == 0 { angle.sin() } else { angle.cos() } as f32;
            }
        }
        Tensor::from_vec(pe, [max_len, d], device)
    }

    /// `x` `[B, T, D]` (or `[T, B, D]`) → same shape.
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Result<Tensor> {
        let t_axis = if self.batch_first { 1 } else { 0 };
        let t = x.dims().get(t_axis).copied().unwrap_or(0);
        if x.rank() != 3 || t > self.pe.dims()[0] || x.dims()[2] != self.pe.dims()[1] {
            return Err(invalid(
                "PositionalEncoding",
                format!(
                    "input {} does not fit the table {}",
                    x.shape(),
                    self.pe.shape()
                ),
            ));
        }
        let pe = self.pe.narrow(0, 0, t)?; // [T, D]
        let pe = if self.batch_first {
            pe
        } else {
            pe.unsqueeze(1)?
        }; // [T, D] or [T, 1, D]

        // y = dropout(x + PE[0..T])
        self.dropout.forward(&x.add(&pe)?, ctx) // like x
    }
}
