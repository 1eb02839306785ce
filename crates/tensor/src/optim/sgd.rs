//! Stochastic gradient descent with `torch.optim.SGD` semantics:
//!
//!   g ← g + λθ
//!   b ← μb + (1-τ)g   (b ← g on the first step)
//!   g ← g + μb if Nesterov, else b
//!   θ ← θ - ηg

use super::{find_state, Optimizer};
use crate::backend::{self, SgdParams};
use crate::{Result, Tensor};

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct SgdConfig {
    pub lr: f32,
    pub momentum: f32,
    pub dampening: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
}

pub struct Sgd {
    params: Vec<Tensor>,
    momentum_buffer: Vec<Tensor>,
    config: SgdConfig,
    step: u64,
}

impl Sgd {
    pub fn new(params: Vec<Tensor>, config: SgdConfig) -> Result<Self> {
        if config.nesterov && (config.momentum <= 0.0 || config.dampening != 0.0) {
            return Err(crate::Error::invalid(
                "sgd",
                "Nesterov momentum needs momentum > 0 and dampening 0",
            ));
        }
        Ok(Sgd {
            momentum_buffer: params
                .iter()
                .map(|p| p.detach().zeros_like())
                .collect::<Result<_>>()?,
            params,
            config,
            step: 0,
        })
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) -> Result<()> {
        let c = &self.config;
        let hp = SgdParams {
            lr: c.lr,
            momentum: c.momentum,
            dampening: c.dampening,
            weight_decay: c.weight_decay,
            nesterov: c.nesterov,
            first_step: self.step == 0,
        };
        for (p, buf) in self.params.iter().zip(&self.momentum_buffer) {
            if let Some(g) = p.grad() {
                let buf = (c.momentum != 0.0).then(|| buf.storage());
                backend::sgd_step(p.storage(), g.storage(), buf, &hp)?;
            }
        }
        self.step += 1;
        Ok(())
    }

    fn params(&self) -> &[Tensor] {
        &self.params
    }

    fn lr(&self) -> f32 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.config.lr = lr;
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        (self.momentum_buffer.iter().enumerate())
            .map(|(i, b)| (format!("{i}.momentum_buffer"), b.clone()))
            .collect()
    }

    fn load_state(&mut self, state: &[(String, Tensor)], step: u64) -> Result<()> {
        for (i, p) in self.params.iter().enumerate() {
            self.momentum_buffer[i].copy_from(&find_state(
                state,
                &format!("{i}.momentum_buffer"),
                p,
            )?)?;
        }
        self.step = step;
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.step
    }
}
