//! The simple (Elman 1990) recurrent network, `torch.nn.RNNCell` and
//! `torch.nn.RNN` with tanh — the recurrence that GRU and LSTM refine.
//!
//! ```text
//!   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
//! ```
//!
//! Shapes: x_t `[B, I]`, h `[B, H]`, W_ih `[H, I]`, W_hh `[H, H]`, b_ih and
//! b_hh `[H]`. B batch, I input size, H hidden size. The full layer adds T
//! time, L layers, D directions: see `recurrent.rs`.
//!
//! Conventions (PyTorch's): two bias vectors; every tensor initialised
//! U(±1/√H); tanh nonlinearity (PyTorch's default; `relu` is not offered).
//! The gradient through T steps multiplies T Jacobians `diag(1 - h²) W_hh`,
//! which vanish or explode (Bengio et al. 1994) — the reason for the gates of
//! GRU and LSTM. Parameters: `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`
//! for the cell; `weight_ih_l{l}[_reverse]`, … for the layer.

use super::linear::linear;
use super::recurrent::{self, Kind, RNNBase, RNNCellBase, Step};
use super::Ctx;
use tensor::{Result, Tensor};

/// The RNN among the recurrent kinds: one block, one state (h).
#[derive(Clone, Copy, Debug)]
pub enum RNNKind {}

impl Kind for RNNKind {
    const OP: &'static str = "RNN";
    const GATES: usize = 1;
    const STATES: usize = 1;
}

/// One Elman step: `(x_t, h_{t-1}) → h_t`. W_ih `[H, I]`, W_hh `[H, H]`,
/// b_ih and b_hh `[H]`.
pub type RNNCell = RNNCellBase<RNNKind>;

impl RNNCell {
    /// `x` `[B, I]`, `h` `[B, H]` (zeros when `None`) → `h'` `[B, H]`.
    pub fn forward(&self, x: &Tensor, h: Option<&Tensor>) -> Result<Tensor> {
        let h = self.state_or_zeros(h, x)?;
        Ok(self.step(&self.project_input(x)?, &[h])?.remove(0))
    }
}

impl Step for RNNCell {
    fn step(&self, gi: &Tensor, state: &[Tensor]) -> Result<Vec<Tensor>> {
        let h = &state[0]; // h_{t-1}: [B, H]

        // W_hh h_{t-1} + b_hh (W_ih x_t + b_ih came before the loop)
        let gh = linear(h, &self.weight_hh, self.bias_hh.as_ref())?; // [B, H]

        // h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
        let h_t = gi.add(&gh)?.tanh()?; // [B, H]
        Ok(vec![h_t])
    }
}

/// A multi-layer, optionally bidirectional Elman RNN over whole sequences.
pub type RNN = RNNBase<RNNKind>;

impl RNN {
    /// As [`super::GRU::forward`]: (output, h_n).
    pub fn forward(
        &self,
        x: &Tensor,
        h0: Option<&Tensor>,
        lengths: Option<&[usize]>,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, Tensor)> {
        let (out, mut h_n) =
            recurrent::run(self, x, h0.as_ref().map(std::slice::from_ref), lengths, ctx)?;
        Ok((out, h_n.remove(0)))
    }
}
