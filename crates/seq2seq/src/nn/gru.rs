//! Gated recurrent unit (Cho et al. 2014, "Learning Phrase Representations
//! using RNN Encoder–Decoder for Statistical Machine Translation"),
//! `torch.nn.GRUCell` and `torch.nn.GRU`.
//!
//! ```text
//!   r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          reset gate
//!   z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          update gate
//!   n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn)) candidate
//!   h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
//! ```
//!
//! Shapes: x_t `[B, I]`, h `[B, H]`; W_ih = [W_ir; W_iz; W_in] `[3H, I]`,
//! W_hh `[3H, H]`, b_ih and b_hh `[3H]` (gate order r, z, n). B batch, I input
//! size, H hidden size. The full layer adds T time, L layers, D directions:
//! see `recurrent.rs` for `[T, B, I]` → `[T, B, D·H]`, `[L·D, B, H]`.
//!
//! Conventions — **reset-after, as PyTorch (and cuDNN)**: the reset gate
//! multiplies `W_hn h + b_hn`, the hidden projection *after* the matrix
//! product. Cho et al. reset *before* it, `W_hn (r ⊙ h)`; the two are
//! different functions. Reset-after lets all three hidden projections be one
//! GEMM `h W_hhᵀ` per step. And `z` keeps the old state: `z = 1` copies
//! `h_{t-1}` (Cho's paper writes the same thing). Initialisation: every
//! tensor U(±1/√H). Parameters: `weight_ih`, `weight_hh`, `bias_ih`,
//! `bias_hh` for the cell; `weight_ih_l{l}[_reverse]`, … for the layer.

use super::linear::linear;
use super::recurrent::{self, Kind, RNNBase, RNNCellBase, Step};
use super::Ctx;
use tensor::{Result, Tensor};

/// The GRU among the recurrent kinds: three gate blocks (r, z, n), one state (h).
#[derive(Clone, Copy, Debug)]
pub enum GRUKind {}

impl Kind for GRUKind {
    const OP: &'static str = "GRU";
    const GATES: usize = 3;
    const STATES: usize = 1;
}

/// One GRU step: `(x_t, h_{t-1}) → h_t`. W_ih = [W_ir; W_iz; W_in] `[3H, I]`,
/// W_hh = [W_hr; W_hz; W_hn] `[3H, H]`, b_ih = [b_ir; b_iz; b_in] and
/// b_hh = [b_hr; b_hz; b_hn] `[3H]`.
pub type GRUCell = RNNCellBase<GRUKind>;

impl GRUCell {
    /// `x` `[B, I]`, `h` `[B, H]` (zeros when `None`) → `h'` `[B, H]`.
    pub fn forward(&self, x: &Tensor, h: Option<&Tensor>) -> Result<Tensor> {
        let h = self.state_or_zeros(h, x)?;
        Ok(self.step(&self.project_input(x)?, &[h])?.remove(0))
    }
}

impl Step for GRUCell {
    fn step(&self, gi: &Tensor, state: &[Tensor]) -> Result<Vec<Tensor>> {
        let h = &state[0]; // h_{t-1}: [B, H]

        // W_h{r,z,n} h_{t-1} + b_h{r,z,n}, one GEMM for the three gates
        let gh = linear(h, &self.weight_hh, self.bias_hh.as_ref())?; // [B, 3H]

        // r_t, z_t, n_t and h_t from gi = W_i{r,z,n} x_t + b_i{r,z,n} (computed
        // for every t before the loop) and gh: the four equations above, one
        // fused kernel on the CPU; `step_composed` below writes them out
        let h_t = Tensor::gru_cell(gi, &gh, h)?; // [B, H]
        Ok(vec![h_t])
    }
}

impl GRUCell {
    /// The step as its equations, one line each, from `x` `[B, I]` and `h`
    /// `[B, H]` → `h'` `[B, H]`: what the fused `Tensor::gru_cell` in `step`
    /// computes. It is here to be read, and for the test that holds the
    /// fused step to it (values and gradients, CPU and GPU); the layer runs
    /// the fused step because this one is a dozen kernels forward and twice
    /// that backward.
    pub fn step_composed(&self, x: &Tensor, h: &Tensor) -> Result<Tensor> {
        // W_i· x_t + b_i· and W_h· h_{t-1} + b_h· for · = r, z, n (PyTorch's gate order)
        let gi = linear(x, &self.weight_ih, self.bias_ih.as_ref())?.chunk(3, -1)?; // 3 × [B, H]
        let gh = linear(h, &self.weight_hh, self.bias_hh.as_ref())?.chunk(3, -1)?; // 3 × [B, H]

        // r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        let r = gi[0].add(&gh[0])?.sigmoid()?; // [B, H]

        // z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        let z = gi[1].add(&gh[1])?.sigmoid()?; // [B, H]

        // n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
        let n = gi[2].add(&r.mul(&gh[2])?)?.tanh()?; // [B, H]

        // h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
        let h_t = z.neg()?.add_scalar(1.0)?.mul(&n)?.add(&z.mul(h)?)?; // [B, H]
        Ok(h_t)
    }
}

/// A multi-layer, optionally bidirectional GRU over whole sequences.
pub type GRU = RNNBase<GRUKind>;

impl GRU {
    /// `x` `[T, B, I]` (`[B, T, I]` with `batch_first`), `h0` `[L·D, B, H]`
    /// (zeros when `None`), `lengths` per sequence (`None`: all T) →
    /// (output `[T, B, D·H]` or `[B, T, D·H]`, zero at padded steps;
    /// h_n `[L·D, B, H]`, the state after each sequence's last real step).
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
