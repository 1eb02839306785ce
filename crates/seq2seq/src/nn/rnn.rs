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

use super::gru::cell_parameters;
use super::linear::linear;
use super::recurrent::{self, Cell, RNNBase, RnnConfig};
use super::{Ctx, Module};
use tensor::{Device, Result, Rng, Tensor};

/// One Elman step: `(x_t, h_{t-1}) → h_t`.
pub struct RNNCell {
    /// `[H, I]`
    pub weight_ih: Tensor,
    /// `[H, H]`
    pub weight_hh: Tensor,
    /// `[H]`
    pub bias_ih: Option<Tensor>,
    /// `[H]`
    pub bias_hh: Option<Tensor>,
}

impl RNNCell {
    /// A cell with every tensor drawn from U(±1/√H), as PyTorch.
    pub fn new(
        input_size: usize,
        hidden_size: usize,
        bias: bool,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<RNNCell> {
        let (weight_ih, weight_hh, bias_ih, bias_hh) =
            recurrent::cell_weights(1, input_size, hidden_size, bias, rng, device)?;
        Ok(RNNCell {
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
        })
    }

    /// `x` `[B, I]`, `h` `[B, H]` (zeros when `None`) → `h'` `[B, H]`.
    pub fn forward(&self, x: &Tensor, h: Option<&Tensor>) -> Result<Tensor> {
        let h = match h {
            Some(h) => h.clone(),
            None => Tensor::zeros([x.dims()[0], self.weight_hh.dims()[1]], &x.device())?,
        };
        Ok(self.step(&self.project_input(x)?, &[h])?.remove(0))
    }
}

impl Cell for RNNCell {
    const OP: &'static str = "RNN";
    const STATES: usize = 1;

    fn create(i: usize, h: usize, bias: bool, rng: &mut Rng, device: &Device) -> Result<Self> {
        RNNCell::new(i, h, bias, rng, device)
    }

    fn project_input(&self, x: &Tensor) -> Result<Tensor> {
        linear(x, &self.weight_ih, self.bias_ih.as_ref()) // [N, H]
    }

    fn step(&self, gi: &Tensor, state: &[Tensor]) -> Result<Vec<Tensor>> {
        let h = &state[0]; // h_{t-1}: [B, H]

        // W_hh h_{t-1} + b_hh (W_ih x_t + b_ih came before the loop)
        let gh = linear(h, &self.weight_hh, self.bias_hh.as_ref())?; // [B, H]

        // h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
        let h_t = gi.add(&gh)?.tanh()?; // [B, H]
        Ok(vec![h_t])
    }
}

impl Module for RNNCell {
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        cell_parameters(
            &self.weight_ih,
            &self.weight_hh,
            &self.bias_ih,
            &self.bias_hh,
            "",
        )
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor> {
        let mut p = vec![&mut self.weight_ih, &mut self.weight_hh];
        p.extend(self.bias_ih.as_mut());
        p.extend(self.bias_hh.as_mut());
        p
    }
}

/// A multi-layer, optionally bidirectional Elman RNN over whole sequences.
pub type RNN = RNNBase<RNNCell>;

impl RNN {
    pub fn new(config: RnnConfig, rng: &mut Rng, device: &Device) -> Result<RNN> {
        recurrent::build(config, rng, device)
    }

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
