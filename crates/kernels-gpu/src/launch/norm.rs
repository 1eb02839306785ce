//! Layer normalisation forward and backward (`shaders/layer_norm.wgsl`).

use super::{check_len, check_u32, dummy};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::launch::elementwise::WG;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

/// y = (x - mean) · rstd · gamma + beta per row; writes mean and rstd (one
/// per row) for the backward.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm(
    x: &GpuBuffer,
    gamma: Option<&GpuBuffer>,
    beta: Option<&GpuBuffer>,
    rows: usize,
    cols: usize,
    eps: f32,
    y: &GpuBuffer,
    mean: &GpuBuffer,
    rstd: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "layer_norm";
    check_len(OP, "x", x, rows * cols)?;
    check_len(OP, "y", y, rows * cols)?;
    check_len(OP, "mean", mean, rows)?;
    check_len(OP, "rstd", rstd, rows)?;
    check_u32(OP, "elements", rows * cols)?;
    let placeholder = dummy()?;
    if let Some(g) = gamma {
        check_len(OP, "gamma", g, cols)?;
    }
    if let Some(b) = beta {
        check_len(OP, "beta", b, cols)?;
    }
    let ctx = context()?;
    let flags = gamma.is_some() as u32 | (beta.is_some() as u32) << 1;
    let params = Params::new().usize(rows).usize(cols).f32(eps).u32(flags);
    let key = PipelineKey::new(Shader::LayerNorm.for_device(ctx), "layer_norm_rows");
    let inputs = [
        x,
        gamma.unwrap_or(&placeholder),
        beta.unwrap_or(&placeholder),
    ];
    dispatch(
        ctx,
        &key,
        params,
        &inputs,
        &[y, mean, rstd],
        grid(ctx, rows),
    )
}

/// gx (overwritten) and, when given, ggamma and gbeta (cols, overwritten).
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_backward(
    x: &GpuBuffer,
    gamma: Option<&GpuBuffer>,
    mean: &GpuBuffer,
    rstd: &GpuBuffer,
    gy: &GpuBuffer,
    rows: usize,
    cols: usize,
    gx: &GpuBuffer,
    ggamma: Option<&GpuBuffer>,
    gbeta: Option<&GpuBuffer>,
) -> Result<(), GpuError> {
    const OP: &str = "layer_norm_backward";
    for (name, buffer) in [("x", x), ("gy", gy), ("gx", gx)] {
        check_len(OP, name, buffer, rows * cols)?;
    }
    check_len(OP, "mean", mean, rows)?;
    check_len(OP, "rstd", rstd, rows)?;
    check_u32(OP, "elements", rows * cols)?;
    for (name, buffer) in [("gamma", gamma), ("ggamma", ggamma), ("gbeta", gbeta)] {
        if let Some(buffer) = buffer {
            check_len(OP, name, buffer, cols)?;
        }
    }
    let ctx = context()?;
    let placeholder = dummy()?;
    let flags = gamma.is_some() as u32;
    let params = || Params::new().usize(rows).usize(cols).f32(0.0).u32(flags);

    let key = PipelineKey::new(
        Shader::LayerNorm.for_device(ctx),
        "layer_norm_backward_rows",
    );
    let inputs = [x, gamma.unwrap_or(&placeholder), mean, rstd, gy];
    dispatch(ctx, &key, params(), &inputs, &[gx], grid(ctx, rows))?;

    if ggamma.is_none() && gbeta.is_none() {
        return Ok(());
    }
    // The kernel writes both sums; a missing one goes to a scratch buffer.
    let scratch_g;
    let scratch_b;
    let ggamma = match ggamma {
        Some(g) => g,
        None => {
            scratch_g = GpuBuffer::uninit(cols)?;
            &scratch_g
        }
    };
    let gbeta = match gbeta {
        Some(b) => b,
        None => {
            scratch_b = GpuBuffer::uninit(cols)?;
            &scratch_b
        }
    };
    let col_groups = cols.div_ceil(WG);
    if rows < SPLIT_MIN_ROWS {
        let key = PipelineKey::new(Shader::LayerNorm, "layer_norm_backward_params");
        let inputs = [x, mean, rstd, gy];
        return dispatch(
            ctx,
            &key,
            params(),
            &inputs,
            &[ggamma, gbeta],
            grid(ctx, col_groups),
        );
    }
    // Many rows: sum chunks of them in parallel, then add the chunks.
    let chunk = rows.div_ceil(256).max(64);
    let chunks = rows.div_ceil(chunk);
    let split = || params().usize(chunk);
    let partial = GpuBuffer::uninit(2 * chunks * cols)?;
    let key = PipelineKey::new(Shader::LayerNorm, "layer_norm_params_split");
    let groups = grid(ctx, col_groups * chunks);
    dispatch(
        ctx,
        &key,
        split(),
        &[x, mean, rstd, gy],
        &[&partial],
        groups,
    )?;
    let key = PipelineKey::new(Shader::LayerNorm, "layer_norm_params_finish");
    let groups = grid(ctx, col_groups);
    dispatch(ctx, &key, split(), &[&partial], &[ggamma, gbeta], groups)
}

/// From this many rows on, the parameter gradients are summed in two passes
/// over chunks of rows instead of one invocation per column walking them all.
const SPLIT_MIN_ROWS: usize = 256;
