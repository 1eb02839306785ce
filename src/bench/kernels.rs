//! The kernels `s2s bench` knows: their default shapes, how much work and
//! memory traffic one call is, and how to run one on the CPU.

use anyhow::{bail, Result};

/// Every kernel name, in table order (`s2s bench all`).
pub const ALL: [&str; 8] = [
    "peak",
    "matmul",
    "softmax",
    "layer_norm",
    "attention",
    "add",
    "adam",
    "copy",
];

/// A prepared call: inputs allocated, ready to be timed. It returns the time
/// the device itself measured for the call when it has such a clock (GPU
/// timestamp queries), or `None` to be timed by the host's wall clock.
pub type Runner = Box<dyn FnMut() -> Option<std::time::Duration>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Peak,
    Matmul,
    Softmax,
    LayerNorm,
    Attention,
    Add,
    Adam,
    Copy,
}

impl Kernel {
    pub fn parse(name: &str) -> Result<Kernel> {
        Ok(match name {
            "peak" => Kernel::Peak,
            "matmul" | "gemm" | "sgemm" => Kernel::Matmul,
            "softmax" => Kernel::Softmax,
            "layer_norm" | "layernorm" => Kernel::LayerNorm,
            "attention" | "sdpa" => Kernel::Attention,
            "add" => Kernel::Add,
            "adam" => Kernel::Adam,
            "copy" => Kernel::Copy,
            _ => bail!(
                "unknown kernel {name:?}; expected one of {}",
                ALL.join(", ")
            ),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Peak => "peak",
            Kernel::Matmul => "matmul",
            Kernel::Softmax => "softmax",
            Kernel::LayerNorm => "layer_norm",
            Kernel::Attention => "attention",
            Kernel::Add => "add",
            Kernel::Adam => "adam",
            Kernel::Copy => "copy",
        }
    }

    /// The benchmark shapes: square GEMMs and the ones our models run;
    /// rows x cols for the row-wise kernels; element counts (1 MiB .. 64 MiB
    /// of f32) for the elementwise ones.
    pub fn default_shapes(self) -> Vec<Vec<usize>> {
        match self {
            Kernel::Peak => vec![vec![]],
            Kernel::Matmul => {
                let mut v: Vec<Vec<usize>> = [64, 128, 256, 512, 1024, 2048]
                    .iter()
                    .map(|&s| vec![s, s, s])
                    .collect();
                v.extend(
                    [
                        [64, 768, 256],
                        [64, 1024, 256],
                        [64, 5000, 512],
                        [1280, 1024, 256],
                        [1280, 256, 1024],
                        [1280, 5000, 256],
                    ]
                    .iter()
                    .map(|s| s.to_vec()),
                );
                v
            }
            Kernel::Softmax | Kernel::LayerNorm => {
                vec![
                    vec![1280, 256],
                    vec![1280, 1024],
                    vec![64, 5000],
                    vec![1280, 5000],
                ]
            }
            // (batch · heads) x L x S x d: the benchmark Transformer's
            // self-attention (batch 64, 4 heads, 20 tokens, d 64), then
            // longer sequences.
            Kernel::Attention => vec![
                vec![256, 20, 20, 64],
                vec![32, 128, 128, 64],
                vec![8, 512, 512, 64],
            ],
            Kernel::Add | Kernel::Adam | Kernel::Copy => {
                vec![vec![1 << 18], vec![1 << 22], vec![1 << 24]]
            }
        }
    }

    pub fn check_shape(self, shape: &[usize]) -> Result<()> {
        let ok = match self {
            Kernel::Peak => true,
            Kernel::Matmul => shape.len() == 3,
            Kernel::Softmax | Kernel::LayerNorm => shape.len() == 2,
            Kernel::Attention => shape.len() == 4,
            Kernel::Add | Kernel::Adam | Kernel::Copy => matches!(shape.len(), 1 | 2),
        };
        if !ok || shape.contains(&0) {
            bail!(
                "{}: bad shape {shape:?} (matmul takes MxNxK, softmax/layer_norm ROWSxCOLS, \
                 attention BHxLxSxD, add/adam/copy an element count N or RxC)",
                self.name()
            );
        }
        Ok(())
    }

    /// Floating-point operations per call (GEMM only: 2 per multiply-add).
    pub fn flops(self, shape: &[usize]) -> Option<f64> {
        match self {
            Kernel::Matmul => Some(2.0 * shape.iter().map(|&d| d as f64).product::<f64>()),
            // Q Kᵀ and P V: two GEMMs of BH x L x S x d each
            Kernel::Attention => Some(4.0 * shape.iter().map(|&d| d as f64).product::<f64>()),
            _ => None,
        }
    }

    /// Bytes a call must move at least (reads + writes of f32), for GB/s.
    pub fn bytes(self, shape: &[usize]) -> Option<f64> {
        let n: f64 = shape.iter().map(|&d| d as f64).product();
        match self {
            Kernel::Peak => None,
            Kernel::Matmul => {
                let (m, nn, k) = (shape[0] as f64, shape[1] as f64, shape[2] as f64);
                Some(4.0 * (m * k + k * nn + m * nn))
            }
            // Q, K, V in, O out (the scores never reach memory in a fused kernel)
            Kernel::Attention => {
                let (bh, l, s, d) = (
                    shape[0] as f64,
                    shape[1] as f64,
                    shape[2] as f64,
                    shape[3] as f64,
                );
                Some(4.0 * bh * d * (2.0 * l + 2.0 * s))
            }
            // x in, y out
            Kernel::Softmax | Kernel::LayerNorm | Kernel::Copy => Some(8.0 * n),
            // a, b in, out
            Kernel::Add => Some(12.0 * n),
            // p, g, m, v in; p, m, v out
            Kernel::Adam => Some(28.0 * n),
        }
    }
}

fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0.0; n];
    kernels_cpu::fill_uniform(seed, 0, -1.0, 1.0, &mut v);
    v
}

/// A CPU runner for `kind` at `shape`, every call on a private rayon pool of
/// `threads` threads.
pub fn cpu_runner(kind: Kernel, shape: &[usize], threads: usize) -> Result<Runner> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let n: usize = shape.iter().product();
    let mut body: Box<dyn FnMut() + Send> = match kind {
        Kernel::Peak => bail!("peak is measured directly, not through a runner"),
        Kernel::Matmul => {
            let (m, nn, k) = (shape[0], shape[1], shape[2]);
            let (a, b) = (data(m * k, 1), data(k * nn, 2));
            let mut c = vec![0.0; m * nn];
            Box::new(move || {
                kernels_cpu::sgemm(false, false, m, nn, k, 1.0, &a, k, &b, nn, 0.0, &mut c, nn)
            })
        }
        Kernel::Softmax => {
            let (r, c) = (shape[0], shape[1]);
            let x = data(n, 3);
            let mut y = vec![0.0; n];
            Box::new(move || kernels_cpu::softmax(&x, r, c, &mut y))
        }
        Kernel::LayerNorm => {
            let (r, c) = (shape[0], shape[1]);
            let (x, g, b) = (data(n, 4), data(c, 5), data(c, 6));
            let (mut y, mut mean, mut rstd) = (vec![0.0; n], vec![0.0; r], vec![0.0; r]);
            Box::new(move || {
                kernels_cpu::layer_norm(
                    &x,
                    Some(&g),
                    Some(&b),
                    r,
                    c,
                    1e-5,
                    &mut y,
                    &mut mean,
                    &mut rstd,
                )
            })
        }
        Kernel::Attention => {
            // The host path attention takes: Q Kᵀ, a row softmax, P V.
            let (bh, l, s, d) = (shape[0], shape[1], shape[2], shape[3]);
            let (q, k, v) = (
                data(bh * l * d, 12),
                data(bh * s * d, 13),
                data(bh * s * d, 14),
            );
            let (mut scores, mut p, mut o) = (
                vec![0.0; bh * l * s],
                vec![0.0; bh * l * s],
                vec![0.0; bh * l * d],
            );
            let scale = 1.0 / (d as f32).sqrt();
            Box::new(move || {
                kernels_cpu::sgemm_batched(
                    bh,
                    false,
                    true,
                    l,
                    s,
                    d,
                    scale,
                    &q,
                    d,
                    l * d,
                    &k,
                    d,
                    s * d,
                    0.0,
                    &mut scores,
                    s,
                    l * s,
                );
                kernels_cpu::softmax(&scores, bh * l, s, &mut p);
                kernels_cpu::sgemm_batched(
                    bh,
                    false,
                    false,
                    l,
                    d,
                    s,
                    1.0,
                    &p,
                    s,
                    l * s,
                    &v,
                    d,
                    s * d,
                    0.0,
                    &mut o,
                    d,
                    l * d,
                );
            })
        }
        Kernel::Add => {
            let (a, b) = (data(n, 7), data(n, 8));
            let mut out = vec![0.0; n];
            Box::new(move || {
                kernels_cpu::binary(
                    kernels_cpu::BinaryOp::Add,
                    &a,
                    &[1],
                    &b,
                    &[1],
                    &[n],
                    &mut out,
                )
            })
        }
        Kernel::Adam => {
            let (mut p, g) = (data(n, 9), data(n, 10));
            let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
            let hp = kernels_cpu::AdamParams {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
                decoupled: false,
                step: 1,
            };
            Box::new(move || kernels_cpu::adam_step(&mut p, &g, &mut m, &mut v, &hp))
        }
        Kernel::Copy => {
            // The bandwidth baseline: the same bytes as a one-in one-out kernel.
            let x = data(n, 11);
            let mut y = vec![0.0; n];
            Box::new(move || {
                y.copy_from_slice(&x);
                std::hint::black_box(&mut y);
            })
        }
    };
    Ok(Box::new(move || {
        pool.install(&mut body);
        None
    }))
}
