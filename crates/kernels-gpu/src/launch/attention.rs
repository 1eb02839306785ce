//! Fused scaled-dot-product attention, forward and backward, in two rungs:
//! `shaders/attention.wgsl` (one query row per workgroup; its header explains
//! the online softmax) and `shaders/attention_blocked.wgsl` (16 query rows per
//! workgroup sharing K/V tiles, either head layout, dropout drawn inside).

use super::{check_len, check_u32, dummy};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

/// Largest head size the row kernels hold in workgroup memory and registers.
pub const MAX_HEAD_DIM: usize = 512;

/// Largest head size of the blocked kernels (their tiles are 16 or 8 rows of 64).
pub const BLOCKED_MAX_HEAD_DIM: usize = 64;

/// Query rows per workgroup of the blocked kernels (`BQ` in the shader), and
/// the invocations of each.
const BLOCK_ROWS: usize = 16;
const BLOCKED_WG: usize = 128;

/// Where the heads lie in Q, K, V, O and their gradients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeadLayout {
    /// `[batch, t, d]`: one contiguous matrix per (sequence, head).
    #[default]
    Split,
    /// `[batch / heads, t, heads · d]`: the heads side by side in the
    /// features, as the projections write them.
    Merged,
}

/// Inverted dropout on the attention weights, drawn inside the kernels:
/// weight (z, i, j) is dropped when `u(seed, offset + (z·tq + i)·tk + j) < p`
/// — the mask `dropout_mask` would draw over the `[batch, tq, tk]` weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionDropout {
    pub p: f32,
    pub seed: u64,
    pub offset: u64,
}

/// Which rung runs: `Auto` takes the blocked kernels for whole sequences
/// (tq ≥ 16), a merged layout or dropout, and the row kernels for short
/// queries (a decoding step's one row would leave 15 of 16 block rows idle).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttentionKernel {
    #[default]
    Auto,
    Rows,
    Blocked,
}

/// The sizes of one attention call over `batch` independent problems
/// (batch = sequences · heads): Q [batch, tq, d], K [batch, tk, d],
/// V [batch, tk, dv], O [batch, tq, dv], all contiguous.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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
    pub layout: HeadLayout,
    /// Dropout on the weights (training); the backward applies the same mask.
    pub dropout: Option<AttentionDropout>,
    pub kernel: AttentionKernel,
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
        if let Some(drop) = self.dropout {
            if !(0.0..1.0).contains(&drop.p) {
                return Err(GpuError::invalid(
                    op,
                    format!("dropout probability {} is outside [0, 1)", drop.p),
                ));
            }
            // The mask's counter indexes the [batch, tq, tk] weights.
            check_u32(op, "weights", self.batch * self.tq * self.tk)?;
        }
        self.blocked(op)?;
        let largest = self.batch * self.tk.max(self.tq) * self.d.max(self.dv).max(self.tk);
        check_u32(op, "elements", largest)
    }

    /// Whether the blocked kernels run (see [`AttentionKernel`]); an error
    /// when the asked rung cannot take these sizes.
    fn blocked(&self, op: &'static str) -> Result<bool, GpuError> {
        let fits = self.d <= BLOCKED_MAX_HEAD_DIM && self.dv <= BLOCKED_MAX_HEAD_DIM;
        let needs = self.layout == HeadLayout::Merged || self.dropout.is_some();
        let empty = [self.batch, self.tq, self.tk, self.d, self.dv].contains(&0);
        if empty && (needs || self.kernel == AttentionKernel::Blocked) {
            return Err(GpuError::invalid(
                op,
                "the blocked kernels need every size (batch, tq, tk, d, dv) at least 1",
            ));
        }
        match self.kernel {
            AttentionKernel::Rows if needs => Err(GpuError::invalid(
                op,
                "the row kernels take the split layout without dropout",
            )),
            AttentionKernel::Rows => Ok(false),
            _ if !fits && (needs || self.kernel == AttentionKernel::Blocked) => {
                Err(GpuError::invalid(
                    op,
                    format!(
                        "the blocked kernels (merged heads, dropout) take head sizes up to \
                         {BLOCKED_MAX_HEAD_DIM}, not d={} dv={}",
                        self.d, self.dv
                    ),
                ))
            }
            AttentionKernel::Blocked => Ok(true),
            AttentionKernel::Auto => Ok(fits && !empty && (needs || self.tq >= BLOCK_ROWS)),
        }
    }

    /// The blocked kernels' parameters: the row kernels' and the layout,
    /// dropout and generator state.
    fn blocked_params(&self, has_bias: bool) -> Params {
        let merged = self.layout == HeadLayout::Merged;
        let drop = self.dropout.unwrap_or(AttentionDropout {
            p: 0.0,
            seed: 0,
            offset: 0,
        });
        let flags = self.causal as u32
            | (has_bias as u32) << 1
            | (merged as u32) << 2
            | (self.dropout.is_some() as u32) << 3;
        Params::new()
            .usize(self.batch)
            .usize(self.tq)
            .usize(self.tk)
            .usize(self.d)
            .usize(self.dv)
            .usize(self.heads)
            .f32(self.scale)
            .u32(flags)
            .f32(drop.p)
            .f32(1.0 / (1.0 - drop.p))
            .u32(drop.seed as u32)
            .u32((drop.seed >> 32) as u32)
            .u32(drop.offset as u32)
            .u32((drop.offset >> 32) as u32)
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
    if a.blocked(OP)? {
        let key = PipelineKey::new(Shader::AttentionBlocked, "attention_blocked_forward");
        dispatch(
            ctx,
            &key,
            a.blocked_params(key_bias.is_some()),
            &[q, k, v, bias],
            &[o, lse],
            grid(ctx, a.batch * a.tq.div_ceil(BLOCK_ROWS)),
        )?;
    } else {
        let key = PipelineKey::new(Shader::Attention, "attention_forward");
        dispatch(
            ctx,
            &key,
            a.params(key_bias.is_some()),
            &[q, k, v, bias],
            &[o, lse],
            rows,
        )?;
    }
    if let Some(w) = weights {
        if a.layout != HeadLayout::Split || a.dropout.is_some() {
            return Err(GpuError::invalid(
                OP,
                "the weights are written for the split layout without dropout only",
            ));
        }
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
    let stats = GpuBuffer::uninit(2 * a.batch * a.tq)?;
    if a.blocked(OP)? {
        let params = || a.blocked_params(key_bias.is_some());
        let shader = Shader::AttentionBlocked;
        // δ_i = dO_i · O_i, stored next to lse_i.
        let key = PipelineKey::new(shader, "attention_blocked_stats");
        let groups = grid(ctx, (a.batch * a.tq).div_ceil(BLOCKED_WG));
        dispatch(ctx, &key, params(), &[o, d_o, lse], &[&stats], groups)?;
        let inputs = [q, k, v, bias, d_o, &stats];
        let key = PipelineKey::new(shader, "attention_blocked_dq");
        let groups = grid(ctx, a.batch * a.tq.div_ceil(BLOCK_ROWS));
        dispatch(ctx, &key, params(), &inputs, &[dq], groups)?;
        let key = PipelineKey::new(shader, "attention_blocked_dkv");
        let groups = grid(ctx, a.batch * a.tk.div_ceil(BLOCK_ROWS));
        return dispatch(ctx, &key, params(), &inputs, &[dk, dv], groups);
    }
    let params = || a.params(key_bias.is_some());
    let query_rows = grid(ctx, a.batch * a.tq);

    // δ_i = dO_i · O_i, stored next to lse_i.
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
