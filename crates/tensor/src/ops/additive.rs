//! Bahdanau's additive attention score (Bahdanau, Cho & Bengio 2014,
//! "Neural Machine Translation by Jointly Learning to Align and Translate"):
//!
//! ```text
//! e[b,t,s] = vᵀ tanh(q[b,t] + k[b,s])
//! ```
//!
//! q `[B, Tq, A]` (the projected queries W_q s), k `[B, S, A]` (the projected
//! keys W_k h), v `[A]` or `[1, A]` (the weight of a `Linear(A → 1)`), e
//! `[B, Tq, S]`. B batch, Tq query steps, S source positions, A attention
//! size.
//!
//! One op, forward and backward, on every device: the backend's
//! `additive_score` is composed from primitives by default (a broadcast
//! add and a tanh that each write `[B, Tq, S, A]`, then a one-column
//! product; backend/composed.rs), and the host backend overrides it with
//! one kernel for each direction that never writes the `[B, Tq, S, A]`
//! tanh (kernels-cpu additive.rs has the backward equations). The backward
//! is not itself differentiable (no double backward).

use crate::autograd::BackwardOp;
use crate::backend;
use crate::{Error, Result, Tensor};
use kernels_cpu::Additive;
use std::sync::Arc;

struct AdditiveScore {
    sizes: Additive,
}

impl BackwardOp for AdditiveScore {
    fn name(&self) -> &'static str {
        "additive_score"
    }

    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (q, k, v) = (&inputs[0], &inputs[1], &inputs[2]);
        let (dq, dk, dv) = backend::additive_score_backward(
            self.sizes,
            (q.storage(), k.storage(), v.storage()),
            g.storage(),
        )?;
        let wrap = |s, like: &Tensor| Tensor::from_storage(Arc::new(s), like.shape().clone());
        Ok(vec![
            Some(wrap(dq, q)),
            Some(wrap(dk, k)),
            Some(wrap(dv, v)),
        ])
    }
}

impl Tensor {
    /// `e[b,t,s] = vᵀ tanh(q[b,t] + k[b,s])`: `q` `[B, Tq, A]`, `k`
    /// `[B, S, A]`, `v` `[A]` or `[1, A]` → `[B, Tq, S]` (see the module docs).
    pub fn additive_score(q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor> {
        let sizes = check(q, k, v)?;
        backend::check_same_device("additive_score", q, k)?;
        backend::check_same_device("additive_score", q, v)?;
        let dims = [sizes.batch, sizes.tq, sizes.s];
        let e = backend::additive_score(sizes, q.storage(), k.storage(), v.storage())?;
        Ok(Tensor::from_op(
            e,
            dims,
            AdditiveScore { sizes },
            vec![q.clone(), k.clone(), v.clone()],
        ))
    }

    /// The additive score from tensor ops, differentiated by autograd: the
    /// reference the backend's op is tested against.
    pub fn additive_score_composed(q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor> {
        let sizes = check(q, k, v)?;
        // tanh(q_t + k_s): [B, Tq, S, A]
        let u = q.unsqueeze(2)?.add(&k.unsqueeze(1)?)?.tanh()?;
        // vᵀ tanh(q_t + k_s): [B, Tq, S, 1] → [B, Tq, S]
        u.matmul_t(&v.reshape([1, sizes.a])?, false, true)?
            .squeeze(-1)
    }
}

/// The sizes of a well-formed call, or an error naming the shapes.
fn check(q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Additive> {
    let bad = || {
        Error::invalid(
            "additive_score",
            format!(
                "expected q [B, Tq, A], k [B, S, A] and v [A] or [1, A]; got q {}, k {}, v {}",
                q.shape(),
                k.shape(),
                v.shape()
            ),
        )
    };
    if q.rank() != 3 || k.rank() != 3 {
        return Err(bad());
    }
    let (qd, kd) = (q.dims(), k.dims());
    let a = qd[2];
    if kd[0] != qd[0] || kd[2] != a || !(v.dims() == [a] || v.dims() == [1, a]) {
        return Err(bad());
    }
    Ok(Additive {
        batch: qd[0],
        tq: qd[1],
        s: kd[1],
        a,
    })
}
