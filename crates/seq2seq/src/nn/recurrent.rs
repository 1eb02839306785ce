//! The machinery every recurrent layer shares (`RNN`, `GRU`, `LSTM`): a cell
//! unrolled over time, stacked in layers, optionally in both directions, over
//! a batch of sequences of different lengths. As in PyTorch, the cells share
//! their parameters' layout ([`RNNCellBase`]) and the layers their driver
//! ([`RNNBase`]); a kind ([`Kind`]: `RNNKind`, `GRUKind`, `LSTMKind`) fixes
//! the gate count, and each kind's file writes only its step.
//!
//! ```text
//!   layer 0:      h⁰_t = cell(x_t, h⁰_{t-1})                 t = 1 … T
//!   layer l > 0:  hˡ_t = cell(dropout(hˡ⁻¹_t), hˡ_{t-1})      (dropout in training only)
//!   bidirectional: a second cell runs t = T … 1; the layer's output is
//!                  [h→_t ; h←_t], the input of the next layer
//! ```
//!
//! Shapes: x `[T, B, I]` (`[B, T, I]` with `batch_first`), output
//! `[T, B, D·H]`, each state (h, and c for the LSTM) `[L·D, B, H]` with
//! entry `l·D + d` for layer l, direction d (0 forward, 1 reverse). T time,
//! B batch, I input size, H hidden size, L layers, D = 2 if bidirectional
//! else 1. States are batch-second even with `batch_first`, as in PyTorch.
//!
//! Variable lengths (PyTorch's `pack_padded_sequence` → RNN →
//! `pad_packed_sequence`): sequence b has `lengths[b]` real steps, then
//! padding. At a padded step the state is carried over unchanged and the
//! output is zero. Going forward, the state then stays at the last real step;
//! going backward, the reverse cell starts from the initial state at step
//! `lengths[b]` — exactly what packing gives.
//!
//! Speed: the input-to-hidden products `W_ih x_t + b_ih` of all T steps are
//! one GEMM `[T·B, I] × [I, G·H]` before the recurrence; only `W_hh h_{t-1}`
//! is left inside the loop. Masking costs nothing while every sequence is
//! still running (t < min length).

use super::linear::linear;
use super::{invalid, Ctx, Module, Params};
use std::marker::PhantomData;
use tensor::{init, Device, Result, Rng, Tensor};

/// The sizes and options of a recurrent layer, as `torch.nn.GRU(...)` /
/// `torch.nn.LSTM(...)` / `torch.nn.RNN(...)` take them.
#[derive(Clone, Debug, PartialEq)]
pub struct RnnConfig {
    pub input_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    /// `b_ih` and `b_hh` exist.
    pub bias: bool,
    /// Input and output are `[B, T, ·]` instead of `[T, B, ·]`.
    pub batch_first: bool,
    /// Dropout on the outputs of every layer but the last, in training.
    pub dropout: f32,
    pub bidirectional: bool,
}

impl RnnConfig {
    /// One unidirectional layer with biases, time-major, no dropout (PyTorch's defaults).
    pub fn new(input_size: usize, hidden_size: usize) -> RnnConfig {
        RnnConfig {
            input_size,
            hidden_size,
            num_layers: 1,
            bias: true,
            batch_first: false,
            dropout: 0.0,
            bidirectional: false,
        }
    }
    pub fn num_layers(mut self, n: usize) -> Self {
        self.num_layers = n;
        self
    }
    pub fn bidirectional(mut self, yes: bool) -> Self {
        self.bidirectional = yes;
        self
    }
    pub fn batch_first(mut self, yes: bool) -> Self {
        self.batch_first = yes;
        self
    }
    pub fn dropout(mut self, p: f32) -> Self {
        self.dropout = p;
        self
    }
    pub fn bias(mut self, yes: bool) -> Self {
        self.bias = yes;
        self
    }
    /// D: 2 if bidirectional, else 1.
    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }
    /// The input size of layer `l`: I for the first, D·H after.
    pub(crate) fn layer_input(&self, l: usize) -> usize {
        if l == 0 {
            self.input_size
        } else {
            self.directions() * self.hidden_size
        }
    }
    /// PyTorch's parameter suffix for layer `l`, direction `d`: `_l0`, `_l1_reverse`.
    pub(crate) fn suffix(&self, index: usize) -> String {
        let (l, d) = (index / self.directions(), index % self.directions());
        format!("_l{l}{}", if d == 1 { "_reverse" } else { "" })
    }
    pub(crate) fn validate(&self, op: &'static str) -> Result<()> {
        if self.num_layers == 0 || self.hidden_size == 0 || self.input_size == 0 {
            return Err(invalid(op, format!("sizes must be positive: {self:?}")));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(invalid(
                op,
                format!("dropout {} is outside [0, 1)", self.dropout),
            ));
        }
        Ok(())
    }
}

/// What tells RNN, GRU and LSTM apart besides the step: how many gate blocks
/// their weights stack and how many state tensors a step carries. The
/// marker types `RNNKind`, `GRUKind` and `LSTMKind` implement it.
pub trait Kind: Clone {
    /// The layer's name in errors: `"GRU"`.
    const OP: &'static str;
    /// G: 1 for the RNN, 3 for the GRU (r, z, n), 4 for the LSTM (i, f, g, o).
    const GATES: usize;
    /// 1 (h), or 2 (h and c) for the LSTM.
    const STATES: usize;
}

/// The parameters every recurrent cell has (PyTorch's `nn.RNNCellBase`), G
/// gate blocks of H rows stacked in the kind's gate order: `GRUCell` is
/// `RNNCellBase<GRUKind>`, and its file says what the blocks hold.
#[derive(Clone)]
pub struct RNNCellBase<K> {
    /// W_ih `[G·H, I]`
    pub weight_ih: Tensor,
    /// W_hh `[G·H, H]`
    pub weight_hh: Tensor,
    /// b_ih `[G·H]`
    pub bias_ih: Option<Tensor>,
    /// b_hh `[G·H]`
    pub bias_hh: Option<Tensor>,
    kind: PhantomData<K>,
}

impl<K: Kind> RNNCellBase<K> {
    /// A cell of `input_size` → `hidden_size` with every tensor drawn from
    /// U(±1/√H), as PyTorch.
    pub fn new(
        input_size: usize,
        hidden_size: usize,
        bias: bool,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        let k = 1.0 / (hidden_size as f32).sqrt();
        let (i, h, g) = (input_size, hidden_size, K::GATES * hidden_size);
        let mut draw = |shape: &[usize]| init::uniform(shape, k, rng, device);
        Ok(RNNCellBase {
            weight_ih: draw(&[g, i])?,
            weight_hh: draw(&[g, h])?,
            bias_ih: bias.then(|| draw(&[g])).transpose()?,
            bias_hh: bias.then(|| draw(&[g])).transpose()?,
            kind: PhantomData,
        })
    }
}

impl<K> RNNCellBase<K> {
    pub fn hidden_size(&self) -> usize {
        self.weight_hh.dims()[1]
    }

    /// `W_ih x + b_ih` for a block of inputs `[N, I]` → `[N, G·H]`.
    pub(crate) fn project_input(&self, x: &Tensor) -> Result<Tensor> {
        linear(x, &self.weight_ih, self.bias_ih.as_ref())
    }

    /// `state`, or the zeros `[B, H]` a cell starts from without one.
    pub(crate) fn state_or_zeros(&self, state: Option<&Tensor>, x: &Tensor) -> Result<Tensor> {
        match state {
            Some(s) => Ok(s.clone()),
            None => Tensor::zeros([x.dims()[0], self.hidden_size()], &x.device()),
        }
    }
}

/// The step, the one thing each cell's file writes.
pub(crate) trait Step {
    /// One step from the projected input `[B, G·H]` and the state (h, or h
    /// and c) to the next state; `state[0]` is the output h.
    fn step(&self, gi: &Tensor, state: &[Tensor]) -> Result<Vec<Tensor>>;
}

impl<K: Kind> Module for RNNCellBase<K> {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.tensor("weight_ih", &mut self.weight_ih);
        p.tensor("weight_hh", &mut self.weight_hh);
        p.optional("bias_ih", &mut self.bias_ih);
        p.optional("bias_hh", &mut self.bias_hh);
    }
}

/// A multi-layer, optionally bidirectional recurrent layer over whole
/// sequences, the part `RNN`, `GRU` and `LSTM` share (PyTorch's
/// `nn.RNNBase`): `GRU` is `RNNBase<GRUKind>`, and so on.
#[derive(Clone)]
pub struct RNNBase<K> {
    pub config: RnnConfig,
    /// One cell per (layer, direction), entry `l·D + d`.
    pub cells: Vec<RNNCellBase<K>>,
}

impl<K: Kind> RNNBase<K> {
    /// The `L·D` cells of `config`, layer by layer.
    pub fn new(config: RnnConfig, rng: &mut Rng, device: &Device) -> Result<Self> {
        config.validate(K::OP)?;
        let (n, dirs) = (config.num_layers * config.directions(), config.directions());
        let cells = (0..n)
            .map(|i| {
                let input = config.layer_input(i / dirs);
                RNNCellBase::new(input, config.hidden_size, config.bias, rng, device)
            })
            .collect::<Result<_>>()?;
        Ok(RNNBase { config, cells })
    }
}

impl<K: Kind> Module for RNNBase<K> {
    /// Each cell's parameters with PyTorch's layer suffix: `weight_ih_l1_reverse`.
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        for (i, cell) in self.cells.iter_mut().enumerate() {
            p.suffixed(&self.config.suffix(i), cell);
        }
    }
}

/// Runs `layer` over `x`. `init` holds one `[L·D, B, H]` tensor per state
/// kind (`K::STATES` of them), or zeros when `None`. Returns the output and
/// the final states, in the same layout.
pub(crate) fn run<K: Kind>(
    layer: &RNNBase<K>,
    x: &Tensor,
    init: Option<&[&Tensor]>,
    lengths: Option<&[usize]>,
    ctx: &mut Ctx,
) -> Result<(Tensor, Vec<Tensor>)>
where
    RNNCellBase<K>: Step,
{
    let (op, cells, cfg, n_state) = (K::OP, &layer.cells, &layer.config, K::STATES);
    let dirs = cfg.directions();
    if x.rank() != 3 || x.dims()[2] != cfg.input_size {
        let want = if cfg.batch_first {
            "[B, T, I]"
        } else {
            "[T, B, I]"
        };
        let msg = format!(
            "input has shape {}, expected {want} with I = {}",
            x.shape(),
            cfg.input_size
        );
        return Err(invalid(op, msg));
    }
    let x = if cfg.batch_first {
        x.transpose(0, 1)?
    } else {
        x.clone()
    }; // [T, B, I]
    let (t_len, b) = (x.dims()[0], x.dims()[1]);
    if t_len == 0 || b == 0 {
        return Err(invalid(
            op,
            format!("input {} has no steps or no sequences", x.shape()),
        ));
    }
    let masks = step_masks(op, lengths, t_len, b, &x)?;
    let states0 = initial_states(op, cfg, n_state, b, init, &x)?;

    let mut input = x; // [T, B, I] for layer 0, then [T, B, D·H]
    let mut finals: Vec<Vec<Tensor>> = vec![Vec::new(); n_state];
    for l in 0..cfg.num_layers {
        if l > 0 {
            // dropout between layers, in training only
            input = input.dropout(cfg.dropout, ctx.train, &mut ctx.rng)?;
        }
        let rows = input.reshape([t_len * b, cfg.layer_input(l)])?; // [T·B, I]
        let mut outputs = Vec::with_capacity(dirs);
        for d in 0..dirs {
            let cell = &cells[l * dirs + d];

            // W_ih x_t + b_ih for every t: one GEMM before the recurrence
            let gi = cell.project_input(&rows)?; // [T·B, G·H]
            let gi = unbind_time(&gi.reshape([t_len, b, gi.dims()[1]])?)?; // T × [B, G·H]

            let (out, state) = unroll(cell, &gi, states0[l * dirs + d].clone(), &masks, d == 1)?;
            outputs.push(out); // [T, B, H]
            for (k, s) in state.into_iter().enumerate() {
                finals[k].push(s); // [B, H]
            }
        }
        // [h→_t ; h←_t]
        input = match dirs {
            1 => outputs.remove(0),
            _ => Tensor::cat(&outputs, -1)?,
        }; // [T, B, D·H]
    }
    let output = if cfg.batch_first {
        input.transpose(0, 1)?
    } else {
        input
    };
    let finals = (finals.iter().map(|f| Tensor::stack(f, 0))).collect::<Result<Vec<_>>>()?; // [L·D, B, H]
    Ok((output, finals))
}

/// One direction of one layer: the cell applied at t = 1 … T (or T … 1 when
/// `reverse`) → (outputs `[T, B, H]`, final state).
fn unroll<C: Step>(
    cell: &C,
    gi: &[Tensor],
    mut state: Vec<Tensor>,
    masks: &[Option<Tensor>],
    reverse: bool,
) -> Result<(Tensor, Vec<Tensor>)> {
    let t_len = gi.len();
    let mut out = vec![None; t_len];
    let order: Vec<usize> = match reverse {
        false => (0..t_len).collect(),
        true => (0..t_len).rev().collect(),
    };
    for t in order {
        // h'_t = cell(x_t, h_{t-1})
        let next = cell.step(&gi[t], &state)?; // [B, H] (and c for the LSTM)
        let Some(m) = &masks[t] else {
            out[t] = Some(next[0].clone());
            state = next;
            continue;
        };
        // y_t = m_t ⊙ h'_t                       (m_t = 1 while step t is real, else 0)
        out[t] = Some(next[0].mul(m)?); // [B, H]

        // h_t = m_t ? h'_t : h_{t-1}             (and the same for c)
        state = (next.iter().zip(&state))
            .map(|(new, old)| Tensor::where_cond(m, new, old))
            .collect::<Result<_>>()?; // [B, H]
    }
    let out: Vec<Tensor> = out
        .into_iter()
        .map(|o| o.expect("every step ran"))
        .collect();
    Ok((Tensor::stack(&out, 0)?, state)) // [T, B, H]
}

/// For each step t, `None` while every sequence is still running, else the
/// mask `[B, 1]` that is 1 where `t < lengths[b]`.
fn step_masks(
    op: &'static str,
    lengths: Option<&[usize]>,
    t_len: usize,
    b: usize,
    like: &Tensor,
) -> Result<Vec<Option<Tensor>>> {
    let Some(lengths) = lengths else {
        return Ok(vec![None; t_len]);
    };
    if lengths.len() != b || lengths.iter().any(|&n| n == 0 || n > t_len) {
        let msg = format!("lengths {lengths:?} must hold {b} values in 1..={t_len}");
        return Err(invalid(op, msg));
    }
    let shortest = lengths.iter().copied().min().unwrap_or(t_len);
    (0..t_len)
        .map(|t| {
            if t < shortest {
                return Ok(None);
            }
            let m: Vec<f32> = lengths
                .iter()
                .map(|&n| if t < n { 1.0 } else { 0.0 })
                .collect();
            Tensor::from_vec(m, [b, 1], &like.device()).map(Some)
        })
        .collect()
}

/// The initial state of each (layer, direction): `init[k][l·D + d]`, or zeros.
fn initial_states(
    op: &'static str,
    cfg: &RnnConfig,
    n_state: usize,
    b: usize,
    init: Option<&[&Tensor]>,
    like: &Tensor,
) -> Result<Vec<Vec<Tensor>>> {
    let (n, h) = (cfg.num_layers * cfg.directions(), cfg.hidden_size);
    match init {
        None => {
            let zeros = Tensor::zeros([b, h], &like.device())?;
            Ok(vec![vec![zeros; n_state]; n])
        }
        Some(init) => {
            for s in init {
                if s.dims() != [n, b, h] {
                    let msg = format!(
                        "initial state has shape {}, expected [{n}, {b}, {h}] (L·D, B, H)",
                        s.shape()
                    );
                    return Err(invalid(op, msg));
                }
            }
            let per_state: Vec<Vec<Tensor>> =
                init.iter().map(|s| unbind_time(s)).collect::<Result<_>>()?;
            Ok((0..n)
                .map(|i| per_state.iter().map(|s| s[i].clone()).collect())
                .collect())
        }
    }
}

/// Cuts `x` `[T, ...]` into T tensors `[...]` by halving recursively. A
/// slice's gradient is as large as the tensor it was cut from, so T direct
/// slices would cost O(T·N) in the backward pass; halving costs O(N log T).
pub(crate) fn unbind_time(x: &Tensor) -> Result<Vec<Tensor>> {
    let t = x.dims()[0];
    if t == 0 {
        return Ok(Vec::new());
    }
    if t == 1 {
        return Ok(vec![x.squeeze(0)?]);
    }
    let halves = x.split(&[t / 2, t - t / 2], 0)?;
    let mut pieces = unbind_time(&halves[0])?;
    pieces.extend(unbind_time(&halves[1])?);
    Ok(pieces)
}
