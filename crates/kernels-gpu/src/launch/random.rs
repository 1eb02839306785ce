//! Counter-based random fills, bit-identical to `kernels_cpu::rng`
//! (`shaders/random.wgsl`).

use super::{check_len, check_u32};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::launch::elementwise::WG;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

/// `out[i] = lo + (hi - lo) · u(seed, offset + i)`, u uniform in `[0, 1)`.
pub fn fill_uniform(
    seed: u64,
    offset: u64,
    lo: f32,
    hi: f32,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    fill("fill_uniform", seed, offset, lo, hi, out)
}

/// `out[i] = mean + std · z(seed, offset + i)`, Box–Muller normals.
pub fn fill_normal(
    seed: u64,
    offset: u64,
    mean: f32,
    std: f32,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    fill("fill_normal", seed, offset, mean, std, out)
}

/// `out[i] = 0` if `u(seed, offset + i) < p`, else `1 / (1 - p)` (inverted dropout).
pub fn dropout_mask(seed: u64, offset: u64, p: f32, out: &GpuBuffer) -> Result<(), GpuError> {
    fill("dropout_mask", seed, offset, p, 1.0 / (1.0 - p), out)
}

/// `out = x · dropout_mask(seed, offset, p)` in one pass, the mask drawn
/// in the kernel and never stored (as `kernels_cpu::dropout_apply`).
pub fn dropout_apply(
    seed: u64,
    offset: u64,
    p: f32,
    x: &GpuBuffer,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    check_len("dropout_apply", "out", out, x.len())?;
    draw(
        "dropout_apply",
        (seed, offset),
        (p, 1.0 / (1.0 - p)),
        &[x],
        out,
    )
}

fn fill(
    entry: &'static str,
    seed: u64,
    offset: u64,
    a: f32,
    b: f32,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    draw(entry, (seed, offset), (a, b), &[], out)
}

/// One invocation per element of `out`, counter `offset + i`, reading `inputs`.
fn draw(
    entry: &'static str,
    (seed, offset): (u64, u64),
    (a, b): (f32, f32),
    inputs: &[&GpuBuffer],
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    let n = out.len();
    check_u32(entry, "elements", n)?;
    let ctx = context()?;
    let params = Params::new()
        .usize(n)
        .u32(seed as u32)
        .u32((seed >> 32) as u32)
        .u32(offset as u32)
        .u32((offset >> 32) as u32)
        .f32(a)
        .f32(b);
    let key = PipelineKey::new(Shader::Random, entry);
    dispatch(ctx, &key, params, inputs, &[out], grid(ctx, n.div_ceil(WG)))
}
