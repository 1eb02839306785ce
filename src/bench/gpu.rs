//! GPU runners for `s2s bench --device gpu`.
//!
//! The harness asks [`runner`] for a prepared call per (kernel, shape), exactly
//! as it asks `kernels::cpu_runner` on the CPU, and times it the same way
//! (interleaved rounds, medians). Each call runs inside
//! `kernels_gpu::time_gpu`: with timestamp queries the time is the device's
//! own measure of the kernel; without them, wall time from recording until
//! the device finished (one submit-and-wait, about 100 µs on lavapipe, which
//! then dominates small shapes). Inputs are uploaded once, outside the timed
//! calls. On a CPU emulation such as lavapipe the figures show the method, not
//! GPU speed (the harness prints a warning).

use super::kernels::{Kernel, Runner};
use anyhow::{bail, Context, Result};
use kernels_gpu::{self as gpu, GpuBuffer};

fn upload(n: usize, seed: u64) -> Result<GpuBuffer> {
    let mut v = vec![0.0; n];
    kernels_cpu::fill_uniform(seed, 0, -1.0, 1.0, &mut v);
    Ok(GpuBuffer::from_slice(&v)?)
}

fn out(n: usize) -> Result<GpuBuffer> {
    Ok(GpuBuffer::uninit(n)?)
}

/// Wraps a launch into a timed call: record, wait, report the GPU's own time.
fn timed(
    mut launch: impl FnMut() -> std::result::Result<(), gpu::GpuError> + 'static,
) -> Result<Runner> {
    let ctx = gpu::context().context("s2s bench --device gpu")?;
    // One untimed call compiles the pipeline (lavapipe JIT-compiles shaders).
    launch()?;
    ctx.synchronize();
    Ok(Box::new(move || {
        let ((), timing) =
            gpu::time_gpu(&mut launch).expect("a GPU launch that succeeded once failed");
        Some(timing.elapsed)
    }))
}

/// A GPU runner for `kind` at `shape`.
pub fn runner(kind: Kernel, shape: &[usize]) -> Result<Runner> {
    let n: usize = shape.iter().product();
    match kind {
        Kernel::Peak => bail!("peak: the FMA peak is a CPU measurement"),
        Kernel::Matmul => {
            let (m, nn, k) = (shape[0], shape[1], shape[2]);
            let (a, b, c) = (upload(m * k, 1)?, upload(k * nn, 2)?, out(m * nn)?);
            timed(move || gpu::sgemm(false, false, m, nn, k, 1.0, &a, k, &b, nn, 0.0, &c, nn))
        }
        Kernel::Softmax => {
            let (r, c) = (shape[0], shape[1]);
            let (x, y) = (upload(n, 3)?, out(n)?);
            timed(move || gpu::softmax(&x, r, c, &y))
        }
        Kernel::LayerNorm => {
            let (r, c) = (shape[0], shape[1]);
            let (x, g, b) = (upload(n, 4)?, upload(c, 5)?, upload(c, 6)?);
            let (y, mean, rstd) = (out(n)?, out(r)?, out(r)?);
            timed(move || gpu::layer_norm(&x, Some(&g), Some(&b), r, c, 1e-5, &y, &mean, &rstd))
        }
        Kernel::Attention => {
            let (bh, l, s, d) = (shape[0], shape[1], shape[2], shape[3]);
            let (q, k, v) = (
                upload(bh * l * d, 12)?,
                upload(bh * s * d, 13)?,
                upload(bh * s * d, 14)?,
            );
            let (o, lse) = (out(bh * l * d)?, out(bh * l)?);
            let a = gpu::Attention {
                batch: bh,
                heads: 1,
                tq: l,
                tk: s,
                d,
                dv: d,
                scale: 1.0 / (d as f32).sqrt(),
                causal: false,
                ..Default::default()
            };
            timed(move || gpu::attention_forward(&a, &q, &k, &v, None, &o, &lse, None))
        }
        Kernel::Add => {
            let (a, b, y) = (upload(n, 7)?, upload(n, 8)?, out(n)?);
            timed(move || gpu::binary(gpu::BinaryOp::Add, &a, &[1], &b, &[1], &[n], &y))
        }
        Kernel::Adam => {
            let (p, g, m, v) = (upload(n, 9)?, upload(n, 10)?, out(n)?, out(n)?);
            gpu::fill(&m, 0.0)?;
            gpu::fill(&v, 0.0)?;
            let hp = kernels_cpu::AdamParams {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
                decoupled: false,
                step: 1,
            };
            timed(move || gpu::adam_step(&p, &g, &m, &v, &hp))
        }
        Kernel::Copy => {
            let (x, y) = (upload(n, 11)?, out(n)?);
            timed(move || gpu::strided_copy(&x, &[n], &[1], &y))
        }
    }
}
