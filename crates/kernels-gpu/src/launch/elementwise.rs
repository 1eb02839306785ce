//! Unary maths, fill and scale (`shaders/elementwise.wgsl`).

use super::check_len;
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

pub use kernels_cpu::UnaryOp;

/// Workgroup size of the flat elementwise kernels.
pub(crate) const WG: usize = 256;

/// `out[i] = op(x[i])` for `i < x.len()`.
pub fn unary(op: UnaryOp, x: &GpuBuffer, out: &GpuBuffer) -> Result<(), GpuError> {
    let n = x.len();
    check_len("unary", "out", out, n)?;
    let ctx = context()?;
    let [a, b] = op.scalars();
    let params = Params::new().usize(n).f32(a).f32(b);
    // One pipeline per op (the shader's override OP), each built once.
    let key = PipelineKey::new(Shader::Elementwise, "unary").constant("OP", op.code());
    dispatch(ctx, &key, params, &[x], &[out], grid(ctx, n.div_ceil(WG)))
}

/// `x[i] = value` for every element.
pub fn fill(x: &GpuBuffer, value: f32) -> Result<(), GpuError> {
    in_place("fill", x, value)
}

/// `x[i] *= s` for every element.
pub fn scale(x: &GpuBuffer, s: f32) -> Result<(), GpuError> {
    in_place("scale", x, s)
}

fn in_place(name: &'static str, x: &GpuBuffer, a: f32) -> Result<(), GpuError> {
    let ctx = context()?;
    let n = x.len();
    let params = Params::new().usize(n).f32(a).f32(0.0);
    let key = PipelineKey::new(Shader::Elementwise, name);
    dispatch(ctx, &key, params, &[], &[x], grid(ctx, n.div_ceil(WG)))
}

/// Gradient clipping by global norm, in place: `x *= min(1, max_norm /
/// (sqrt(total_sq[0]) + 1e-6))` as `torch.nn.utils.clip_grad_norm_`, where
/// `total_sq[0]` is the sum of all squared gradients (see `sum_squares_at`).
/// The coefficient is computed on the device: clipping never reads back.
pub fn clip_by_global_norm(
    x: &GpuBuffer,
    total_sq: &GpuBuffer,
    max_norm: f32,
) -> Result<(), GpuError> {
    check_len("clip_by_global_norm", "total_sq", total_sq, 1)?;
    let ctx = context()?;
    let n = x.len();
    let params = Params::new().usize(n).f32(max_norm).f32(0.0);
    let key = PipelineKey::new(Shader::Elementwise, "clip_by_norm");
    dispatch(
        ctx,
        &key,
        params,
        &[total_sq],
        &[x],
        grid(ctx, n.div_ceil(WG)),
    )
}
