//! index_select / index_add and the embedding gather / scatter-add built on
//! them (`shaders/index.wgsl`; see its header for the atomic-free scatter).

use super::{check_len, check_u32};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::launch::elementwise::WG;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

/// `out[o, j, i] = x[o, ids[j], i]`, x viewed as `[outer, len, inner]`.
pub fn index_select(
    x: &GpuBuffer,
    outer: usize,
    len: usize,
    inner: usize,
    ids: &GpuBuffer,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "index_select";
    let m = ids.len();
    check_len(OP, "x", x, outer * len * inner)?;
    check_len(OP, "out", out, outer * m * inner)?;
    check_u32(OP, "elements", (outer * len * inner).max(outer * m * inner))?;
    let ctx = context()?;
    let params = Params::new().usize(outer).usize(len).usize(inner).usize(m);
    let key = PipelineKey::new(Shader::Index, "index_select");
    let groups = grid(ctx, (outer * m * inner).div_ceil(WG));
    dispatch(ctx, &key, params, &[x, ids], &[out], groups)
}

/// `gx[o, ids[j], i] += grad[o, j, i]` for every j, in order of j.
pub fn index_add(
    grad: &GpuBuffer,
    outer: usize,
    len: usize,
    inner: usize,
    ids: &GpuBuffer,
    gx: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "index_add";
    let m = ids.len();
    check_len(OP, "grad", grad, outer * m * inner)?;
    check_len(OP, "gx", gx, outer * len * inner)?;
    check_u32(OP, "elements", (outer * len * inner).max(outer * m * inner))?;
    if m == 0 || outer * inner == 0 {
        return Ok(());
    }
    let ctx = context()?;
    let params = || Params::new().usize(outer).usize(len).usize(inner).usize(m);
    // Pass 1: link equal ids (next occurrence, first-occurrence flag).
    let links = GpuBuffer::uninit(2 * m)?;
    let key = PipelineKey::new(Shader::Index, "index_links");
    dispatch(
        ctx,
        &key,
        params(),
        &[ids],
        &[&links],
        grid(ctx, m.div_ceil(WG)),
    )?;
    // Pass 2: each first occurrence sums its chain into its destination.
    let key = PipelineKey::new(Shader::Index, "index_add");
    let groups = grid(ctx, (outer * m * inner).div_ceil(WG));
    dispatch(ctx, &key, params(), &[grad, ids, &links], &[gx], groups)
}

/// `out[i, :] = table[ids[i], :]` — an embedding lookup (rows of `dim`).
pub fn gather_rows(
    table: &GpuBuffer,
    dim: usize,
    ids: &GpuBuffer,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    if dim == 0 {
        return Ok(());
    }
    index_select(table, 1, table.len() / dim, dim, ids, out)
}

/// `table_grad[ids[i], :] += grad[i, :]` — the embedding's backward.
pub fn scatter_add_rows(
    grad: &GpuBuffer,
    dim: usize,
    ids: &GpuBuffer,
    table_grad: &GpuBuffer,
) -> Result<(), GpuError> {
    if dim == 0 {
        return Ok(());
    }
    index_add(grad, 1, table_grad.len() / dim, dim, ids, table_grad)
}
