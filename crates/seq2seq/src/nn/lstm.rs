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

use super::linear::linear;
use super::recurrent::{self, Kind, RNNBase, RNNCellBase, Step};
use super::Ctx;
use tensor::{Result, Tensor};

/// The LSTM among the recurrent kinds: four gate blocks (i, f, g, o), two states (h, c).
#[derive(Clone, Copy, Debug)]
pub enum LSTMKind {}

impl Kind for LSTMKind {
    const OP: &'static str = "LSTM";
    const GATES: usize = 4;
    const STATES: usize = 2;
}

/// One LSTM step: `(x_t, (h_{t-1}, c_{t-1})) → (h_t, c_t)`. W_ih =
/// [W_ii; W_if; W_ig; W_io] `[4H, I]`, W_hh = [W_hi; W_hf; W_hg; W_ho]
/// `[4H, H]`, b_ih and b_hh `[4H]` in the same order.
pub type LSTMCell = RNNCellBase<LSTMKind>;

impl LSTMCell {
    /// `x` `[B, I]`, `(h, c)` each `[B, H]` (zeros when `None`) → `(h', c')`.
    pub fn forward(
        &self,
        x: &Tensor,
        state: Option<(&Tensor, &Tensor)>,
    ) -> Result<(Tensor, Tensor)> {
        let h = self.state_or_zeros(state.map(|s| s.0), x)?;
        let c = self.state_or_zeros(state.map(|s| s.1), x)?;
        let mut next = self.step(&self.project_input(x)?, &[h, c])?;
        let c = next.pop().expect("c");
        Ok((next.pop().expect("h"), c))
    }
}

impl Step for LSTMCell {
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

/// A multi-layer, optionally bidirectional LSTM over whole sequences.
pub type LSTM = RNNBase<LSTMKind>;

impl LSTM {
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
