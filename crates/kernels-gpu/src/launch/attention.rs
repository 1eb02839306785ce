//! Fused scaled-dot-product attention, forward and backward
//! (`shaders/attention.wgsl`; its header explains the online softmax).

use super::{check_len, check_u32, dummy};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

/// Largest head size the kernels hold in workgroup memory and registers.
pub const MAX_HEAD_DIM: usize = 512;

/// The sizes of one attention call over `batch` independent problems
/// (batch = sequences · heads): Q [batch, tq, d], K [batch, tk, d],
/// V [batch, tk, dv], O [batch, tq, dv], all contiguous.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attention {
    pub batch: usize,
    /// Heads per sequence: the key bias row of problem z is z / heads.
    pub heads: usize,
    pub tq: usize,
    pub tk: usize,
    pub d: usize,
    pub dv: usize,
    /// Usually 1/√d.
    pub scale: f32,
    /// Query i sees keys j ≤ i + (tk - tq).
    pub causal: bool,
}

impl Attention {
    fn check(&self, op: &'static str, key_bias: Option<&GpuBuffer>) -> Result<(), GpuError> {
        if self.heads == 0 || !self.batch.is_multiple_of(self.heads) {
            return Err(GpuError::invalid(
                op,
                format!(
                    "batch {} is not a multiple of heads {}",
                    self.batch, self.heads
                ),
            ));
        }
        if self.d > MAX_HEAD_DIM || self.dv > MAX_HEAD_DIM {
            return Err(GpuError::invalid(
                op,
                format!(
                    "head sizes d={} dv={} exceed {MAX_HEAD_DIM}",
                    self.d, self.dv
                ),
            ));
        }
        if self.causal && self.tk < self.tq {
            return Err(GpuError::invalid(op, "a causal mask needs tk >= tq"));
        }
        if let Some(bias) = key_bias {
            check_len(op, "key_bias", bias, self.batch / self.heads * self.tk)?;
        }
        let largest = self.batch * self.tk.max(self.tq) * self.d.max(self.dv).max(self.tk);
        check_u32(op, "elements", largest)
    }

    fn params(&self, has_bias: bool) -> Params {
        let flags = self.causal as u32 | (has_bias as u32) << 1;
        Params::new()
            .usize(self.batch)
            .usize(self.tq)
            .usize(self.tk)
            .usize(self.d)
            .usize(self.dv)
            .usize(self.heads)
            .f32(self.scale)
            .u32(flags)
    }
}

/// O = softmax(scale · Q Kᵀ + key_bias + causal mask) V, never storing the
/// scores. Writes lse [batch, tq] for the backward and, when `weights` is
/// given, the probabilities P [batch, tq, tk] (for plotting attention).
#[allow(clippy::too_many_arguments)]
pub fn attention_forward(
    a: &Attention,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    key_bias: Option<&GpuBuffer>,
    o: &GpuBuffer,
    lse: &GpuBuffer,
    weights: Option<&GpuBuffer>,
) -> Result<(), GpuError> {
    const OP: &str = "attention_forward";
    a.check(OP, key_bias)?;
    check_len(OP, "q", q, a.batch * a.tq * a.d)?;
    check_len(OP, "k", k, a.batch * a.tk * a.d)?;
    check_len(OP, "v", v, a.batch * a.tk * a.dv)?;
    check_len(OP, "o", o, a.batch * a.tq * a.dv)?;
    check_len(OP, "lse", lse, a.batch * a.tq)?;
    let ctx = context()?;
    let placeholder = dummy()?;
    let bias = key_bias.unwrap_or(&placeholder);
    let rows = grid(ctx, a.batch * a.tq);
    let key = PipelineKey::new(Shader::Attention, "attention_forward");
    dispatch(
        ctx,
        &key,
        a.params(key_bias.is_some()),
        &[q, k, v, bias],
        &[o, lse],
        rows,
    )?;
    if let Some(w) = weights {
        check_len(OP, "weights", w, a.batch * a.tq * a.tk)?;
        let key = PipelineKey::new(Shader::Attention, "attention_weights");
        dispatch(
            ctx,
            &key,
            a.params(key_bias.is_some()),
            &[q, k, bias, lse],
            &[w],
            rows,
        )?;
    }
    Ok(())
}

/// Gradients dq, dk, dv (overwritten) of the forward above, given its
/// output `o`, its `lse` and the output gradient `d_o`.
#[allow(clippy::too_many_arguments)]
pub fn attention_backward(
    a: &Attention,
    q: &GpuBuffer,
    k: &GpuBuffer,
    v: &GpuBuffer,
    key_bias: Option<&GpuBuffer>,
    o: &GpuBuffer,
    lse: &GpuBuffer,
    d_o: &GpuBuffer,
    dq: &GpuBuffer,
    dk: &GpuBuffer,
    dv: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "attention_backward";
    a.check(OP, key_bias)?;
    for (name, buffer, len) in [
        ("q", q, a.batch * a.tq * a.d),
        ("k", k, a.batch * a.tk * a.d),
        ("v", v, a.batch * a.tk * a.dv),
        ("o", o, a.batch * a.tq * a.dv),
        ("lse", lse, a.batch * a.tq),
        ("d_o", d_o, a.batch * a.tq * a.dv),
        ("dq", dq, a.batch * a.tq * a.d),
        ("dk", dk, a.batch * a.tk * a.d),
        ("dv", dv, a.batch * a.tk * a.dv),
    ] {
        check_len(OP, name, buffer, len)?;
    }
    let ctx = context()?;
    let placeholder = dummy()?;
    let bias = key_bias.unwrap_or(&placeholder);
    let params = || a.params(key_bias.is_some());
    let query_rows = grid(ctx, a.batch * a.tq);

    // δ_i = dO_i · O_i, stored next to lse_i.
    let stats = GpuBuffer::uninit(2 * a.batch * a.tq)?;
    let key = PipelineKey::new(Shader::Attention, "attention_backward_stats");
    dispatch(ctx, &key, params(), &[o, d_o, lse], &[&stats], query_rows)?;

    let inputs = [q, k, v, bias, d_o, &stats];
    let key = PipelineKey::new(Shader::Attention, "attention_backward_dq");
    dispatch(ctx, &key, params(), &inputs, &[dq], query_rows)?;
    let key = PipelineKey::new(Shader::Attention, "attention_backward_dkv");
    dispatch(
        ctx,
        &key,
        params(),
        &inputs,
        &[dk, dv],
        grid(ctx, a.batch * a.tk),
    )
}
