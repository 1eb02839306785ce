//! A GRU or an LSTM behind one type, so the RNN models are written once for
//! both cells. Two ways to run it:
//!
//! - [`Recurrent::forward`]: a whole sequence `[T, B, I]` at once (the
//!   encoder; a decoder whose inputs are all known in advance);
//! - [`Recurrent::step`]: one time step `[B, I]` through every layer (a
//!   decoder whose next input depends on its last output: attention,
//!   input feeding, its own predictions).
//!
//! The state is kept per layer (`h[l]`, and `c[l]` for the LSTM, each
//! `[B, H]`), the form the step loop wants; the layers' `[L·D, B, H]`
//! layout is built only at the boundaries.

use super::config::CellKind;
use crate::nn::{Ctx, Module, Params, RnnConfig, GRU, LSTM};
use tensor::{Device, Result, Rng, Tensor};

/// A stacked GRU or LSTM.
#[derive(Clone)]
pub enum Recurrent {
    Gru(GRU),
    Lstm(LSTM),
}

/// The state of every layer: `h[l]` (and `c[l]`) `[B, H]`. For a
/// bidirectional layer entry `l·2 + d`, as the nn layers order them.
#[derive(Clone)]
pub struct RnnState {
    pub h: Vec<Tensor>,
    pub c: Option<Vec<Tensor>>,
}

impl RnnState {
    /// Stacks per-layer states into the `[L·D, B, H]` layout.
    fn stacked(&self) -> Result<(Tensor, Option<Tensor>)> {
        let c = self.c.as_ref().map(|c| Tensor::stack(c, 0)).transpose()?;
        Ok((Tensor::stack(&self.h, 0)?, c))
    }

    fn unstacked(h: &Tensor, c: Option<&Tensor>) -> Result<RnnState> {
        let split = |t: &Tensor| -> Result<Vec<Tensor>> {
            (0..t.dims()[0])
                .map(|i| t.narrow(0, i, 1)?.squeeze(0))
                .collect()
        };
        Ok(RnnState {
            h: split(h)?,
            c: c.map(split).transpose()?,
        })
    }

    /// The top layer's h `[B, H]` (the last forward-direction entry for a
    /// unidirectional stack).
    pub fn top(&self) -> &Tensor {
        self.h.last().expect("at least one layer")
    }

    /// Applies `f` to every state tensor (reordering rows for beam search).
    pub fn map(&self, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<RnnState> {
        Ok(RnnState {
            h: self.h.iter().map(&f).collect::<Result<_>>()?,
            c: self
                .c
                .as_ref()
                .map(|c| c.iter().map(&f).collect::<Result<_>>())
                .transpose()?,
        })
    }
}

impl Recurrent {
    pub fn new(kind: CellKind, cfg: RnnConfig, rng: &mut Rng, device: &Device) -> Result<Self> {
        Ok(match kind {
            CellKind::Gru => Recurrent::Gru(GRU::new(cfg, rng, device)?),
            CellKind::Lstm => Recurrent::Lstm(LSTM::new(cfg, rng, device)?),
        })
    }

    pub fn config(&self) -> &RnnConfig {
        match self {
            Recurrent::Gru(g) => &g.config,
            Recurrent::Lstm(l) => &l.config,
        }
    }

    /// `x` `[T, B, I]` from `state` (zeros when `None`) → (outputs
    /// `[T, B, D·H]`, final state).
    pub fn forward(
        &self,
        x: &Tensor,
        state: Option<&RnnState>,
        lengths: Option<&[usize]>,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, RnnState)> {
        let init = state.map(RnnState::stacked).transpose()?;
        match self {
            Recurrent::Gru(g) => {
                let h0 = init.as_ref().map(|(h, _)| h);
                let (out, h) = g.forward(x, h0, lengths, ctx)?;
                Ok((out, RnnState::unstacked(&h, None)?))
            }
            Recurrent::Lstm(l) => {
                let zeros;
                let hc = match &init {
                    Some((h, Some(c))) => Some((h, c)),
                    Some((h, None)) => {
                        zeros = h.zeros_like()?;
                        Some((h, &zeros))
                    }
                    None => None,
                };
                let (out, (h, c)) = l.forward(x, hc, lengths, ctx)?;
                Ok((out, RnnState::unstacked(&h, Some(&c))?))
            }
        }
    }

    /// One step of a unidirectional stack: `x` `[B, I]` → (top output
    /// `[B, H]`, next state). Dropout between layers in training, as in
    /// [`Recurrent::forward`].
    pub fn step(&self, x: &Tensor, state: &RnnState, ctx: &mut Ctx) -> Result<(Tensor, RnnState)> {
        let p = self.config().dropout;
        let mut input = x.clone();
        let mut next = RnnState {
            h: Vec::with_capacity(state.h.len()),
            c: state.c.as_ref().map(|_| Vec::with_capacity(state.h.len())),
        };
        for l in 0..state.h.len() {
            if l > 0 {
                input = input.dropout(p, ctx.train, &mut ctx.rng)?;
            }
            let h = &state.h[l];
            input = match self {
                Recurrent::Gru(g) => g.cells[l].forward(&input, Some(h))?,
                Recurrent::Lstm(m) => {
                    let c = &state.c.as_ref().expect("an LSTM state has c")[l];
                    let (h, c) = m.cells[l].forward(&input, Some((h, c)))?;
                    next.c.as_mut().expect("an LSTM state has c").push(c);
                    h
                }
            };
            next.h.push(input.clone());
        }
        Ok((input, next))
    }
}

impl Module for Recurrent {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        match self {
            Recurrent::Gru(g) => g.visit(p),
            Recurrent::Lstm(l) => l.visit(p),
        }
    }
}

/// Cuts `x` along `axis` into its slices (the axis removed), by halving: a
/// slice's gradient is as large as the tensor it was cut from, so n direct
/// slices would cost O(n²) in the backward pass, halving O(n log n).
pub fn unbind(x: &Tensor, axis: usize) -> Result<Vec<Tensor>> {
    let n = x.dims()[axis];
    if n == 1 {
        return Ok(vec![x.squeeze(axis as isize)?]);
    }
    let halves = x.split(&[n / 2, n - n / 2], axis as isize)?;
    let mut pieces = unbind(&halves[0], axis)?;
    pieces.extend(unbind(&halves[1], axis)?);
    Ok(pieces)
}
