//! Adam/AdamW and SGD steps, in place (`shaders/optim.wgsl`).

use super::check_len;
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::launch::elementwise::WG;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

pub use kernels_cpu::AdamParams;

/// One Adam/AdamW update of `p`, `m`, `v` in place (torch semantics).
pub fn adam_step(
    p: &GpuBuffer,
    g: &GpuBuffer,
    m: &GpuBuffer,
    v: &GpuBuffer,
    hp: &AdamParams,
) -> Result<(), GpuError> {
    const OP: &str = "adam_step";
    let n = p.len();
    for (name, buffer) in [("g", g), ("m", m), ("v", v)] {
        check_len(OP, name, buffer, n)?;
    }
    if hp.step == 0 {
        return Err(GpuError::invalid(OP, "step is 1-based"));
    }
    // Bias corrections in f64, exactly as kernels-cpu (and torch) do.
    let t = hp.step.min(i32::MAX as u64) as i32;
    let bc1 = 1.0 - f64::from(hp.beta1).powi(t);
    let bc2 = 1.0 - f64::from(hp.beta2).powi(t);
    let step_size = (f64::from(hp.lr) / bc1) as f32;
    let inv_bc2 = 1.0 / (bc2.sqrt() as f32);
    let l2 = !hp.decoupled && hp.weight_decay != 0.0;
    let flags = hp.decoupled as u32 | (l2 as u32) << 1;
    let ctx = context()?;
    let params = Params::new()
        .usize(n)
        .u32(flags)
        .f32(hp.lr)
        .f32(hp.weight_decay)
        .f32(hp.beta1)
        .f32(hp.beta2)
        .f32(hp.eps)
        .f32(step_size)
        .f32(inv_bc2);
    let key = PipelineKey::new(Shader::Optim, "adam_step");
    dispatch(
        ctx,
        &key,
        params,
        &[g],
        &[p, m, v],
        grid(ctx, n.div_ceil(WG)),
    )
}

/// One SGD update of `p` in place (torch semantics); `buf` is the momentum
/// buffer, needed only when `momentum != 0`.
#[allow(clippy::too_many_arguments)]
pub fn sgd_step(
    p: &GpuBuffer,
    g: &GpuBuffer,
    buf: Option<&GpuBuffer>,
    lr: f32,
    momentum: f32,
    dampening: f32,
    weight_decay: f32,
    nesterov: bool,
    first_step: bool,
) -> Result<(), GpuError> {
    const OP: &str = "sgd_step";
    let n = p.len();
    check_len(OP, "g", g, n)?;
    let ctx = context()?;
    let flags = first_step as u32 | (nesterov as u32) << 1;
    let params = Params::new()
        .usize(n)
        .u32(flags)
        .f32(lr)
        .f32(weight_decay)
        .f32(momentum)
        .f32(dampening);
    let groups = grid(ctx, n.div_ceil(WG));
    if momentum == 0.0 {
        let key = PipelineKey::new(Shader::Optim, "sgd_step");
        return dispatch(ctx, &key, params, &[g], &[p], groups);
    }
    let buf = buf.ok_or_else(|| GpuError::invalid(OP, "momentum needs a buffer"))?;
    check_len(OP, "buf", buf, n)?;
    let key = PipelineKey::new(Shader::Optim, "sgd_step_momentum");
    dispatch(ctx, &key, params, &[g], &[p, buf], groups)
}
