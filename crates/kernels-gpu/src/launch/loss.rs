//! Cross-entropy with ignore-index and label smoothing (`shaders/cross_entropy.wgsl`).

use super::{check_len, check_u32};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::launch::elementwise::WG;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

/// An i64 ignore index as the shader's i32. Targets are class indices below
/// 2^24, so an index outside the i32 range can match none of them: i32::MIN
/// stands for it.
fn ignore_i32(ignore_index: i64) -> i32 {
    i32::try_from(ignore_index).unwrap_or(i32::MIN)
}

/// Per-row loss `(1-eps)(lse - x_t) + eps (lse - mean_j x_j)`; writes `lse`
/// and `counted` (1 for rows whose target is not `ignore_index`, else 0 — the
/// CPU returns their count; here Σ counted stays on the device).
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy(
    logits: &GpuBuffer,
    targets: &GpuBuffer,
    rows: usize,
    cols: usize,
    ignore_index: i64,
    smoothing: f32,
    loss: &GpuBuffer,
    lse: &GpuBuffer,
    counted: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "cross_entropy";
    check_len(OP, "logits", logits, rows * cols)?;
    for (name, buffer) in [
        ("targets", targets),
        ("loss", loss),
        ("lse", lse),
        ("counted", counted),
    ] {
        check_len(OP, name, buffer, rows)?;
    }
    check_u32(OP, "elements", rows * cols)?;
    let ctx = context()?;
    let params = Params::new()
        .usize(rows)
        .usize(cols)
        .i32(ignore_i32(ignore_index))
        .f32(smoothing);
    let key = PipelineKey::new(Shader::CrossEntropy.for_device(ctx), "cross_entropy_rows");
    dispatch(
        ctx,
        &key,
        params,
        &[logits, targets],
        &[loss, lse, counted],
        grid(ctx, rows),
    )
}

/// `gx[r, j] = gloss[r] · (softmax_j - (1-eps)[j == t] - eps/cols)`, zero for ignored rows.
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_backward(
    logits: &GpuBuffer,
    targets: &GpuBuffer,
    lse: &GpuBuffer,
    gloss: &GpuBuffer,
    rows: usize,
    cols: usize,
    ignore_index: i64,
    smoothing: f32,
    gx: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "cross_entropy_backward";
    check_len(OP, "logits", logits, rows * cols)?;
    check_len(OP, "gx", gx, rows * cols)?;
    for (name, buffer) in [("targets", targets), ("lse", lse), ("gloss", gloss)] {
        check_len(OP, name, buffer, rows)?;
    }
    check_u32(OP, "elements", rows * cols)?;
    let ctx = context()?;
    let params = Params::new()
        .usize(rows)
        .usize(cols)
        .i32(ignore_i32(ignore_index))
        .f32(smoothing);
    let key = PipelineKey::new(Shader::CrossEntropy, "cross_entropy_backward");
    let groups = grid(ctx, (rows * cols).div_ceil(WG));
    dispatch(
        ctx,
        &key,
        params,
        &[logits, targets, lse, gloss],
        &[gx],
        groups,
    )
}
