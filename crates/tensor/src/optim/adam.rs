//! Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), with
//! `torch.optim.Adam` / `AdamW` semantics:
//!
//!   g ← g + λθ                         (Adam's L2 weight decay)
//!   θ ← θ(1 - ηλ)                      (AdamW's decoupled decay, instead)
//!   m ← β₁m + (1-β₁)g,   v ← β₂v + (1-β₂)g²
//!   θ ← θ - η · (m / (1-β₁ᵗ)) / (√(v / (1-β₂ᵗ)) + ε)
//!
//! Parameters packed into one GPU allocation (optim/arena.rs) are updated
//! by one kernel over the arena; any others, one kernel per parameter.

use super::arena::Arena;
use super::{find_state, Optimizer};
use crate::storage::Storage;
use crate::{backend, Result, Tensor};
use kernels_gpu::GpuBuffer;
use std::sync::Arc;

/// Hyper-parameters; defaults are PyTorch's.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct AdamConfig {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    /// AdamW when true.
    pub decoupled: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        }
    }
}

impl AdamConfig {
    /// AdamW with PyTorch's default decay of 0.01.
    pub fn adamw(lr: f32) -> Self {
        AdamConfig {
            lr,
            weight_decay: 0.01,
            decoupled: true,
            ..Default::default()
        }
    }
}

pub struct Adam {
    params: Vec<Tensor>,
    /// Views of `flat`'s moment arenas when the parameters are packed.
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    flat: Option<Flat>,
    config: AdamConfig,
    step: u64,
}

/// The arenas of a packed model: its parameters, and gradients and moments
/// laid out alike.
struct Flat {
    arena: Arena,
    grads: GpuBuffer,
    exp_avg: GpuBuffer,
    exp_avg_sq: GpuBuffer,
}

impl Adam {
    pub fn new(params: Vec<Tensor>, config: AdamConfig) -> Result<Self> {
        let (exp_avg, exp_avg_sq, flat) = match Arena::of(&params) {
            Some(arena) => {
                let flat = Flat {
                    grads: arena.zeros_like()?,
                    exp_avg: arena.zeros_like()?,
                    exp_avg_sq: arena.zeros_like()?,
                    arena,
                };
                let slots = |moments: &GpuBuffer| -> Result<Vec<Tensor>> {
                    let slot = |(i, p)| flat.arena.slot(moments, i, p);
                    params.iter().enumerate().map(slot).collect()
                };
                (slots(&flat.exp_avg)?, slots(&flat.exp_avg_sq)?, Some(flat))
            }
            None => {
                let zeros = |p: &Tensor| p.detach().zeros_like();
                let m = params.iter().map(zeros).collect::<Result<_>>()?;
                let v = params.iter().map(zeros).collect::<Result<_>>()?;
                (m, v, None)
            }
        };
        Ok(Adam {
            exp_avg,
            exp_avg_sq,
            flat,
            params,
            config,
            step: 0,
        })
    }

    /// Whether a step is one kernel over a parameter arena.
    pub fn is_flat(&self) -> bool {
        self.flat.is_some()
    }

    pub fn config(&self) -> &AdamConfig {
        &self.config
    }
}

impl Optimizer for Adam {
    fn step(&mut self) -> Result<()> {
        self.step += 1;
        let c = &self.config;
        let hp = kernels_cpu::AdamParams {
            lr: c.lr,
            beta1: c.beta1,
            beta2: c.beta2,
            eps: c.eps,
            weight_decay: c.weight_decay,
            decoupled: c.decoupled,
            step: self.step,
        };
        if let Some(flat) = &self.flat {
            if flat.arena.gather_grads(&self.params, &flat.grads)? {
                let (m, v) = (
                    Storage::Gpu(flat.exp_avg.clone()),
                    Storage::Gpu(flat.exp_avg_sq.clone()),
                );
                let g = Storage::Gpu(flat.grads.clone());
                return backend::adam_step(&flat.arena.params(), &g, (&m, &v), &hp);
            }
        }
        for ((p, m), v) in self.params.iter().zip(&self.exp_avg).zip(&self.exp_avg_sq) {
            if let Some(g) = p.grad() {
                backend::adam_step(p.storage(), g.storage(), (m.storage(), v.storage()), &hp)?;
            }
        }
        Ok(())
    }

    fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Over a parameter arena: the gradients gathered into their arena, Σ g²
    /// and the scaling both on the device (two kernels), no read-back. The
    /// parameters' gradients then are views of the clipped arena, so
    /// `grad()` returns clipped values, as after `torch.nn.utils.clip_grad_norm_`,
    /// and the step that follows copies nothing.
    fn clip_grad_norm(&mut self, max_norm: f32) -> Result<Tensor> {
        let flat = match &self.flat {
            Some(flat) if flat.arena.gather_grads(&self.params, &flat.grads)? => flat,
            // not packed, or a parameter without a gradient: on the host
            _ => return super::clip::clip_grad_norm_tensor(&self.params, max_norm),
        };
        for (i, p) in self.params.iter().enumerate() {
            p.set_grad(Some(flat.arena.slot(&flat.grads, i, p)?));
        }
        let total_sq = GpuBuffer::uninit(1).map_err(backend::gpu_err)?;
        kernels_gpu::sum_squares(&flat.grads, &total_sq).map_err(backend::gpu_err)?;
        kernels_gpu::clip_by_global_norm(&flat.grads, &total_sq, max_norm)
            .map_err(backend::gpu_err)?;
        Tensor::from_storage(Arc::new(Storage::Gpu(total_sq)), [1].into()).sqrt()
    }

    fn lr(&self) -> f32 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.config.lr = lr;
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, (m, v)) in self.exp_avg.iter().zip(&self.exp_avg_sq).enumerate() {
            out.push((format!("{i}.exp_avg"), m.clone()));
            out.push((format!("{i}.exp_avg_sq"), v.clone()));
        }
        out
    }

    fn load_state(&mut self, state: &[(String, Tensor)], step: u64) -> Result<()> {
        for (i, p) in self.params.iter().enumerate() {
            self.exp_avg[i].copy_from(&find_state(state, &format!("{i}.exp_avg"), p)?)?;
            self.exp_avg_sq[i].copy_from(&find_state(state, &format!("{i}.exp_avg_sq"), p)?)?;
        }
        self.step = step;
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.step
    }
}
