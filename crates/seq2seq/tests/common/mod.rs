//! Helpers shared by the seq2seq integration tests: loading a PyTorch
//! fixture (see tests/fixtures/gen_layers.py) and comparing a layer's
//! outputs and gradients with it.
#![allow(dead_code)]

use seq2seq::nn::Module;
use std::collections::HashMap;
use tensor::{Device, Tensor};

/// |ours - torch| ≤ atol + rtol·|torch|, separately for values and gradients.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub atol: f32,
    pub rtol: f32,
}

/// Forward values: float32 reassociation only.
pub const FORWARD: Tol = Tol {
    atol: 1e-5,
    rtol: 1e-4,
};
/// Gradients: longer chains of float32 sums.
pub const GRADIENT: Tol = Tol {
    atol: 5e-5,
    rtol: 1e-3,
};

pub struct Fixture {
    pub name: String,
    pub tensors: HashMap<String, Tensor>,
    pub meta: HashMap<String, String>,
    pub device: Device,
}

impl Fixture {
    pub fn load(name: &str, device: &Device) -> Fixture {
        let path = format!(
            "{}/tests/fixtures/{name}.safetensors",
            env!("CARGO_MANIFEST_DIR")
        );
        let loaded = tensor::io::load(&path, device).unwrap_or_else(|e| panic!("{e}"));
        Fixture {
            name: name.to_string(),
            tensors: loaded.tensors.into_iter().collect(),
            meta: loaded.metadata,
            device: *device,
        }
    }

    pub fn meta(&self, key: &str) -> &str {
        self.meta
            .get(key)
            .unwrap_or_else(|| panic!("{}: no metadata {key:?}", self.name))
    }
    pub fn usize(&self, key: &str) -> usize {
        self.meta(key).parse().unwrap()
    }
    pub fn flag(&self, key: &str) -> bool {
        self.usize(key) == 1
    }

    fn get(&self, name: &str) -> Option<Tensor> {
        self.tensors.get(name).cloned()
    }

    /// The `param.*` tensors under their state_dict names.
    pub fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut p: Vec<_> = (self.tensors.iter())
            .filter_map(|(k, v)| k.strip_prefix("param.").map(|n| (n.to_string(), v.clone())))
            .collect();
        p.sort_by(|a, b| a.0.cmp(&b.0));
        p
    }

    /// Input `name` as a fresh leaf that requires grad when PyTorch computed one for it.
    pub fn input(&self, name: &str) -> Tensor {
        self.maybe_input(name)
            .unwrap_or_else(|| panic!("{}: no input {name:?}", self.name))
    }
    pub fn maybe_input(&self, name: &str) -> Option<Tensor> {
        let t = self.get(&format!("input.{name}"))?;
        Some(
            match self.tensors.contains_key(&format!("grad.input.{name}")) {
                true => t.detach().requires_grad_(),
                false => t,
            },
        )
    }
    pub fn lengths(&self) -> Option<Vec<usize>> {
        self.get("input.lengths")
            .map(|t| t.to_vec().iter().map(|&v| v as usize).collect())
    }
    pub fn output(&self, name: &str) -> Tensor {
        self.get(&format!("output.{name}"))
            .unwrap_or_else(|| panic!("{}: no output {name:?}", self.name))
    }

    /// Compares `outputs` with PyTorch's, back-propagates PyTorch's loss
    /// L = Σ output ⊙ W, and compares the gradient of every parameter of
    /// `module` and every input in `inputs`.
    pub fn check(
        &self,
        module: &impl Module,
        outputs: &[(&str, &Tensor)],
        inputs: &[(&str, &Tensor)],
    ) {
        let mut loss: Option<Tensor> = None;
        for (name, out) in outputs {
            assert_close(
                &format!("{} output {name}", self.name),
                out,
                &self.output(name),
                FORWARD,
            );
            let w = self.get(&format!("loss_w.{name}")).unwrap();
            let term = out.mul(&w).unwrap().sum_all().unwrap();
            loss = Some(match loss {
                Some(l) => l.add(&term).unwrap(),
                None => term,
            });
        }
        let n_outputs = self
            .tensors
            .keys()
            .filter(|k| k.starts_with("output."))
            .count();
        assert_eq!(
            n_outputs,
            outputs.len(),
            "{}: every PyTorch output must be compared",
            self.name
        );
        loss.unwrap().backward().unwrap();
        let params = module.named_parameters();
        let mut n_grads = 0;
        for (name, p) in &params {
            let want = self
                .get(&format!("grad.param.{name}"))
                .unwrap_or_else(|| panic!("{}: no grad of {name}", self.name));
            let got = p
                .grad()
                .unwrap_or_else(|| Tensor::zeros(p.shape().clone(), &self.device).unwrap());
            assert_close(&format!("{} d/d {name}", self.name), &got, &want, GRADIENT);
            n_grads += 1;
        }
        for (name, x) in inputs {
            let want = self.get(&format!("grad.input.{name}")).unwrap();
            let got = x
                .grad()
                .unwrap_or_else(|| panic!("{}: input {name} got no gradient", self.name));
            assert_close(
                &format!("{} d/d input {name}", self.name),
                &got,
                &want,
                GRADIENT,
            );
            n_grads += 1;
        }
        let expected = self
            .tensors
            .keys()
            .filter(|k| k.starts_with("grad."))
            .count();
        assert_eq!(
            n_grads, expected,
            "{}: every PyTorch gradient must be compared",
            self.name
        );
    }
}

/// Panics with the worst element when `got` and `want` differ beyond `tol`.
/// With `S2S_PARITY_REPORT=1` in the environment, prints the largest
/// difference of every comparison (run with `--nocapture`).
pub fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: Tol) {
    assert_eq!(got.dims(), want.dims(), "{what}: shapes differ");
    let (g, w) = (got.to_vec(), want.to_vec());
    let mut worst: Option<(usize, f32)> = None;
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let excess = (a - b).abs() - (tol.atol + tol.rtol * b.abs());
        let bad = excess.is_nan() || excess > 0.0;
        if bad && worst.is_none_or(|(_, e)| excess > e) {
            worst = Some((i, excess));
        }
    }
    if std::env::var_os("S2S_PARITY_REPORT").is_some() {
        let max = g
            .iter()
            .zip(&w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!("PARITY {what}: max |ours - torch| = {max:.2e}");
    }
    if let Some((i, _)) = worst {
        panic!(
            "{what}: element {i} is {} but PyTorch has {} (tolerance {tol:?})",
            g[i], w[i]
        );
    }
}

/// One test body, run as `name::cpu` and `name::gpu` (the latter skipped
/// when no GPU adapter is present; see `kernels_gpu::gpu_ready_for_tests`).
#[macro_export]
macro_rules! on_devices {
    ($($name:ident => $body:expr;)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                #[test]
                fn cpu() {
                    let f: fn(&tensor::Device) = $body;
                    f(&tensor::Device::Cpu);
                }
                #[test]
                fn gpu() {
                    if kernels_gpu::gpu_ready_for_tests() {
                        let f: fn(&tensor::Device) = $body;
                        f(&tensor::Device::Gpu);
                    }
                }
            }
        )*
    };
}
