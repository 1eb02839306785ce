//! Embedding table, `torch.nn.Embedding` (Bengio et al. 2003 — a learned
//! vector per word).
//!
//! ```text
//!   y[b, t] = E[ids[b, t]]
//! ```
//!
//! Shapes: ids any shape `[...]` holding whole numbers in `0..V` (f32, the
//! engine's one dtype), E `[V, D]`, y `[..., D]`. V vocabulary, D embedding
//! dimension.
//!
//! Conventions (PyTorch's): with `padding_idx = p`, row p starts at zero and
//! never receives a gradient, so padding tokens embed to a constant zero
//! vector. Initialisation N(0, 1). Parameter: `weight`.

use super::{Module, Params};
use tensor::{Device, Result, Rng, Tensor};

/// A table of `V` learned vectors of size `D`.
#[derive(Clone)]
pub struct Embedding {
    /// `[V, D]`
    pub weight: Tensor,
    /// The row that padding tokens look up; it gets no gradient.
    pub padding_idx: Option<usize>,
}

impl Embedding {
    /// A table drawn from N(0, 1), with the padding row (if any) zeroed.
    pub fn new(
        num_embeddings: usize,
        dim: usize,
        padding_idx: Option<usize>,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Embedding> {
        if let Some(p) = padding_idx.filter(|&p| p >= num_embeddings) {
            return Err(super::invalid(
                "Embedding",
                format!("padding_idx {p} is outside the table of {num_embeddings} rows"),
            ));
        }
        let mut table = Tensor::randn([num_embeddings, dim], 0.0, 1.0, rng, device)?.to_vec();
        if let Some(p) = padding_idx {
            table[p * dim..(p + 1) * dim].fill(0.0);
        }
        let weight = Tensor::from_vec(table, [num_embeddings, dim], device)?.requires_grad_();
        Ok(Embedding {
            weight,
            padding_idx,
        })
    }

    /// `ids` `[...]` → `[..., D]`.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        // y = E[ids]
        self.weight.embedding(ids, self.padding_idx) // [..., D]
    }
}

impl Module for Embedding {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.tensor("weight", &mut self.weight);
    }
}
