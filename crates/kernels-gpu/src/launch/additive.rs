//! Bahdanau's additive score and its gradients (`shaders/additive.wgsl`):
//! one dispatch forward, one backward. The equations are those of
//! `kernels_cpu::additive_score`, which the tests hold these kernels to.

use super::{check_len, check_u32};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::launch::elementwise::WG;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

pub use kernels_cpu::Additive;

/// Checks the operands' lengths and packs the sizes.
fn check(
    op: &'static str,
    z: Additive,
    buffers: &[(&str, &GpuBuffer, usize)],
) -> Result<Params, GpuError> {
    let Additive { batch, tq, s, a } = z;
    check_u32(op, "B · Tq · S · A", batch * tq * s * a)?;
    check_u32(op, "B · (Tq + S) · A + A", batch * (tq + s) * a + a)?;
    for &(name, buffer, len) in buffers {
        check_len(op, name, buffer, len)?;
    }
    Ok(Params::new().usize(batch).usize(tq).usize(s).usize(a))
}

/// `e[b,t,s] = Σ_a v[a] tanh(q[b,t,a] + k[b,s,a])`: q `[B, Tq, A]`, k `[B, S,
/// A]`, v `[A]`, e `[B, Tq, S]`.
pub fn additive_score(
    z: Additive,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    e: &GpuBuffer,
) -> Result<(), GpuError> {
    let Additive { batch, tq, s, a } = z;
    let buffers = [
        ("q", q, batch * tq * a),
        ("k", k, batch * s * a),
        ("v", v, a),
        ("e", e, batch * tq * s),
    ];
    let params = check("additive_score", z, &buffers)?;
    let ctx = context()?;
    let key = PipelineKey::new(Shader::Additive, "additive_score");
    let groups = grid(ctx, (batch * tq * s).div_ceil(WG));
    dispatch(ctx, &key, params, &[q, k, v], &[e], groups)
}

/// `(∂q, ∂k, ∂v)` of the additive score for `g = ∂L/∂e`, written into `dq`
/// `[B, Tq, A]`, `dk` `[B, S, A]` and `dv` `[A]`.
pub fn additive_score_backward(
    z: Additive,
    (q, k, v): (&GpuBuffer, &GpuBuffer, &GpuBuffer),
    g: &GpuBuffer,
    (dq, dk, dv): (&GpuBuffer, &GpuBuffer, &GpuBuffer),
) -> Result<(), GpuError> {
    let Additive { batch, tq, s, a } = z;
    let buffers = [
        ("q", q, batch * tq * a),
        ("k", k, batch * s * a),
        ("v", v, a),
        ("g", g, batch * tq * s),
        ("dq", dq, batch * tq * a),
        ("dk", dk, batch * s * a),
        ("dv", dv, a),
    ];
    let params = check("additive_score_backward", z, &buffers)?;
    let ctx = context()?;
    let key = PipelineKey::new(Shader::Additive, "additive_score_backward");
    // One invocation per element of ∂q, then ∂k, then ∂v.
    let units = batch * (tq + s) * a + a;
    let groups = grid(ctx, units.div_ceil(WG));
    dispatch(ctx, &key, params, &[q, k, v, g], &[dq, dk, dv], groups)
}
