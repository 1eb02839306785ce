//! Long short-term memory (Hochreiter & Schmidhuber 1997, "Long Short-Term
//! Memory"; the forget gate from Gers, Schmidhuber & Cummins 2000),
//! `torch.nn.LSTMCell` and `torch.nn.LSTM`.
//!
//! ```text
//!   i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)          input gate
//!   f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)          forget gate
//!   g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)       cell candidate
//!   o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)          output gate
//!   c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
//!   h_t = o_t ⊙ tanh(c_t)
//! ```
//!
//! Shapes: x_t `[B, I]`, h and c `[B, H]`; W_ih = [W_ii; W_if; W_ig; W_io]
//! `[4H, I]`, W_hh `[4H, H]`, b_ih and b_hh `[4H]` (gate order i, f, g, o).
//! B batch, I input size, H hidden size. The full layer adds T time, L
//! layers, D directions: see `recurrent.rs`.
//!
//! Conventions (PyTorch's): no peephole connections (Gers & Schmidhuber's
//! peepholes are not in `torch.nn.LSTM`); two bias vectors whose sum is the
//! paper's one bias; every tensor initialised U(±1/√H). The state is the pair
//! (h, c). Parameters: `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh` for the
//! cell; `weight_ih_l{l}[_reverse]`, … for the layer.

use super::gru::cell_parameters;
use super::linear::linear;
use super::recurrent::{self, Cell, RNNBase, RnnConfig};
use super::{Ctx, Module};
use tensor::{Device, Result, Rng, Tensor};

/// One LSTM step: `(x_t, (h_{t-1}, c_{t-1})) → (h_t, c_t)`.
pub struct LSTMCell {
    /// [W_ii; W_if; W_ig; W_io] `[4H, I]`
    pub weight_ih: Tensor,
    /// [W_hi; W_hf; W_hg; W_ho] `[4H, H]`
    pub weight_hh: Tensor,
    /// `[4H]`
    pub bias_ih: Option<Tensor>,
    /// `[4H]`
    pub bias_hh: Option<Tensor>,
}

impl LSTMCell {
    /// A cell with every tensor drawn from U(±1/√H), as PyTorch.
    pub fn new(
        input_size: usize,
        hidden_size: usize,
        bias: bool,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<LSTMCell> {
        let (weight_ih, weight_hh, bias_ih, bias_hh) =
            recurrent::cell_weights(4, input_size, hidden_size, bias, rng, device)?;
        Ok(LSTMCell {
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
        })
    }

    pub fn hidden_size(&self) -> usize {
        self.weight_hh.dims()[1]
    }

    /// `x` `[B, I]`, `(h, c)` each `[B, H]` (zeros when `None`) → `(h', c')`.
    pub fn forward(
        &self,
        x: &Tensor,
        state: Option<(&Tensor, &Tensor)>,
    ) -> Result<(Tensor, Tensor)> {
        let (h, c) = match state {
            Some((h, c)) => (h.clone(), c.clone()),
            None => {
                let zeros = Tensor::zeros([x.dims()[0], self.hidden_size()], &x.device())?;
                (zeros.clone(), zeros)
            }
        };
        let gi = self.project_input(x)?;
        let mut next = self.step(&gi, &[h, c])?;
        let c = next.pop().expect("c");
        Ok((next.pop().expect("h"), c))
    }
}

impl Cell for LSTMCell {
    const OP: &'static str = "LSTM";
    const STATES: usize = 2;

    fn create(i: usize, h: usize, bias: bool, rng: &mut Rng, device: &Device) -> Result<Self> {
        LSTMCell::new(i, h, bias, rng, device)
    }

    fn project_input(&self, x: &Tensor) -> Result<Tensor> {
        linear(x, &self.weight_ih, self.bias_ih.as_ref()) // [N, 4H]
    }

    fn step(&self, gi: &Tensor, state: &[Tensor]) -> Result<Vec<Tensor>> {
        let (h, c) = (&state[0], &state[1]); // h_{t-1}, c_{t-1}: [B, H]

        // W_hh h_{t-1} + b_hh, one GEMM for the four gates (W_ih x_t + b_ih came before the loop)
        let gh = linear(h, &self.weight_hh, self.bias_hh.as_ref())?; // [B, 4H]

        // the gates' pre-activations W_i· x_t + b_i· + W_h· h_{t-1} + b_h·, for · = i, f, g, o
        let a = gi.add(&gh)?.chunk(4, -1)?; // 4 × [B, H]

        // i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        let i = a[0].sigmoid()?; // [B, H]

        // f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        let f = a[1].sigmoid()?; // [B, H]

        // g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        let g = a[2].tanh()?; // [B, H]

        // o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        let o = a[3].sigmoid()?; // [B, H]

        // c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        let c_t = f.mul(c)?.add(&i.mul(&g)?)?; // [B, H]

        // h_t = o_t ⊙ tanh(c_t)
        let h_t = o.mul(&c_t.tanh()?)?; // [B, H]
        Ok(vec![h_t, c_t])
    }
}

impl Module for LSTMCell {
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

/// A multi-layer, optionally bidirectional LSTM over whole sequences.
pub type LSTM = RNNBase<LSTMCell>;

impl LSTM {
    pub fn new(config: RnnConfig, rng: &mut Rng, device: &Device) -> Result<LSTM> {
        recurrent::build(config, rng, device)
    }

    /// `x` `[T, B, I]` (`[B, T, I]` with `batch_first`), `(h0, c0)` each
    /// `[L·D, B, H]` (zeros when `None`), `lengths` per sequence (`None`:
    /// all T) → (output `[T, B, D·H]` or `[B, T, D·H]`, zero at padded steps;
    /// `(h_n, c_n)` each `[L·D, B, H]`).
    #[allow(clippy::type_complexity)]
    pub fn forward(
        &self,
        x: &Tensor,
        state: Option<(&Tensor, &Tensor)>,
        lengths: Option<&[usize]>,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, (Tensor, Tensor))> {
        let init = state.map(|(h, c)| [h, c]);
        let (out, mut finals) =
            recurrent::run(self, x, init.as_ref().map(|a| &a[..]), lengths, ctx)?;
        let c_n = finals.pop().expect("c_n");
        Ok((out, (finals.pop().expect("h_n"), c_n)))
    }
}
