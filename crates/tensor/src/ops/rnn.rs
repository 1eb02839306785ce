//! Fused recurrent cells. The GRU cell of PyTorch (gates r, z, n):
//!
//! ```text
//! r = σ(gi_r + gh_r);  z = σ(gi_z + gh_z);  n = tanh(gi_n + r ⊙ gh_n)
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//!
//! where `gi = W_i x + b_i` and `gh = W_h h + b_h` are `[B, 3H]` (the
//! layer computes them with two GEMMs). The cell is one op on every
//! device: the forward saves `[r, z, n, gh_n]` for the backward. The
//! backend composes both directions from element-wise primitives by
//! default (backend/composed.rs, one line per equation); the host backend
//! overrides each with one kernel (kernels-cpu gru_cell.rs, which has the
//! backward equations). The backward is not itself differentiable (no
//! double backward).

use crate::autograd::BackwardOp;
use crate::backend;
use crate::{Error, Result, Tensor};
use std::sync::Arc;

struct LstmCell {
    /// `[B, 5H]`: i, f, g, o, tanh c'.
    ws: Tensor,
}

impl BackwardOp for LstmCell {
    fn name(&self) -> &'static str {
        "lstm_cell"
    }

    fn backward(&self, inputs: &[Tensor], y: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (rows, hidden) = (y.dims()[0], y.dims()[1] / 2);
        let (gates, c) = (&inputs[0], &inputs[1]);
        let (d_gates, d_c) = backend::lstm_cell_backward(
            self.ws.storage(),
            c.storage(),
            g.storage(),
            (rows, hidden),
        )?;
        let wrap = |s, like: &Tensor| Tensor::from_storage(Arc::new(s), like.shape().clone());
        Ok(vec![Some(wrap(d_gates, gates)), Some(wrap(d_c, c))])
    }
}

struct GruCell {
    /// `[B, 4H]`: r, z, n, gh_n.
    ws: Tensor,
}

impl BackwardOp for GruCell {
    fn name(&self) -> &'static str {
        "gru_cell"
    }

    fn backward(&self, inputs: &[Tensor], y: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (rows, hidden) = (y.dims()[0], y.dims()[1]);
        let (gi, gh, h) = (&inputs[0], &inputs[1], &inputs[2]);
        let (d_gi, d_gh, d_h) = backend::gru_cell_backward(
            self.ws.storage(),
            h.storage(),
            g.storage(),
            (rows, hidden),
        )?;
        let wrap = |s, like: &Tensor| Tensor::from_storage(Arc::new(s), like.shape().clone());
        Ok(vec![
            Some(wrap(d_gi, gi)),
            Some(wrap(d_gh, gh)),
            Some(wrap(d_h, h)),
        ])
    }
}

impl Tensor {
    /// One GRU step from the gate pre-activations: `gi`, `gh` `[B, 3H]`
    /// (gate order r, z, n, as PyTorch) and the state `h` `[B, H]` → `h'`
    /// `[B, H]` (see the module docs for the equations).
    pub fn gru_cell(gi: &Tensor, gh: &Tensor, h: &Tensor) -> Result<Tensor> {
        let bad = || {
            Error::invalid(
                "gru_cell",
                format!(
                    "expected gi, gh [B, 3H] and h [B, H]; got gi {}, gh {}, h {}",
                    gi.shape(),
                    gh.shape(),
                    h.shape()
                ),
            )
        };
        if h.rank() != 2 || gi.dims() != gh.dims() || gi.rank() != 2 {
            return Err(bad());
        }
        let (rows, hidden) = (h.dims()[0], h.dims()[1]);
        if gi.dims() != [rows, 3 * hidden] {
            return Err(bad());
        }
        backend::check_same_device("gru_cell", gi, gh)?;
        backend::check_same_device("gru_cell", gi, h)?;
        let (out, ws) = backend::gru_cell(gi.storage(), gh.storage(), h.storage(), (rows, hidden))?;
        let ws = Tensor::from_storage(Arc::new(ws), [rows, 4 * hidden].into());
        Ok(Tensor::from_op(
            out,
            h.shape().clone(),
            GruCell { ws },
            vec![gi.clone(), gh.clone(), h.clone()],
        ))
    }

    /// The GRU cell from tensor ops, differentiated by autograd: the
    /// reference the backend's op is tested against.
    pub fn gru_cell_composed(gi: &Tensor, gh: &Tensor, h: &Tensor) -> Result<Tensor> {
        let gi = gi.chunk(3, -1)?;
        let gh = gh.chunk(3, -1)?;
        let r = gi[0].add(&gh[0])?.sigmoid()?;
        let z = gi[1].add(&gh[1])?.sigmoid()?;
        let n = gi[2].add(&r.mul(&gh[2])?)?.tanh()?;
        // h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n)
        n.add(&z.mul(&h.sub(&n)?)?)
    }
}

impl Tensor {
    /// One LSTM step from the summed gate pre-activations `gates` `[B, 4H]`
    /// (`W_ih x + b_ih + W_hh h + b_hh`, gate order i, f, g, o, as PyTorch)
    /// and the cell state `c` `[B, H]` → `[h' | c']` `[B, 2H]`:
    ///
    /// ```text
    /// i = σ(a_i);  f = σ(a_f);  g = tanh(a_g);  o = σ(a_o)
    /// c' = f ⊙ c + i ⊙ g;  h' = o ⊙ tanh(c')
    /// ```
    ///
    /// One op on every device; the backend composes it from element-wise
    /// primitives unless it has a kernel of its own (backend/composed.rs).
    pub fn lstm_cell(gates: &Tensor, c: &Tensor) -> Result<Tensor> {
        let bad = || {
            Error::invalid(
                "lstm_cell",
                format!(
                    "expected gates [B, 4H] and c [B, H]; got gates {}, c {}",
                    gates.shape(),
                    c.shape()
                ),
            )
        };
        if c.rank() != 2 || gates.rank() != 2 {
            return Err(bad());
        }
        let (rows, hidden) = (c.dims()[0], c.dims()[1]);
        if gates.dims() != [rows, 4 * hidden] {
            return Err(bad());
        }
        backend::check_same_device("lstm_cell", gates, c)?;
        let (hc, ws) = backend::lstm_cell(gates.storage(), c.storage(), (rows, hidden))?;
        let ws = Tensor::from_storage(Arc::new(ws), [rows, 5 * hidden].into());
        Ok(Tensor::from_op(
            hc,
            vec![rows, 2 * hidden],
            LstmCell { ws },
            vec![gates.clone(), c.clone()],
        ))
    }

    /// The LSTM step from tensor ops, differentiated by autograd: the
    /// reference the backend's op is tested against.
    pub fn lstm_cell_composed(gates: &Tensor, c: &Tensor) -> Result<Tensor> {
        let a = gates.chunk(4, -1)?;
        let (i, f, g, o) = (
            a[0].sigmoid()?,
            a[1].sigmoid()?,
            a[2].tanh()?,
            a[3].sigmoid()?,
        );
        let c_next = f.mul(c)?.add(&i.mul(&g)?)?;
        let h_next = o.mul(&c_next.tanh()?)?;
        Tensor::cat(&[h_next, c_next], -1)
    }
}
