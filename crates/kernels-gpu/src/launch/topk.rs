//! The k best entries of each row (`shaders/topk.wgsl`): beam search's
//! candidates without reading back the whole `[R, V]` distribution.

use super::{check_len, check_u32};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

/// What the kernel writes for a non-finite entry (it ranks below every
/// finite one): the host's finite sentinel, since WGSL promises nothing
/// about ±∞. The shader spells the same number.
pub use kernels_cpu::TOPK_NONE;

/// `values[r, j]`, `indices[r, j]` = the j-th best entry of row r of `x`
/// `[rows, cols]`, higher values first and lower indices on ties; indices
/// as f32. `1 ≤ k ≤ cols`.
pub fn topk_rows(
    x: &GpuBuffer,
    (rows, cols): (usize, usize),
    k: usize,
    values: &GpuBuffer,
    indices: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "topk_rows";
    if k == 0 || k > cols {
        return Err(GpuError::invalid(
            OP,
            format!("k = {k} for rows of {cols}: expected 1 ≤ k ≤ {cols}"),
        ));
    }
    check_len(OP, "x", x, rows * cols)?;
    check_len(OP, "values", values, rows * k)?;
    check_len(OP, "indices", indices, rows * k)?;
    check_u32(OP, "elements", rows * cols)?;
    if cols >= 1 << 24 {
        return Err(GpuError::invalid(
            OP,
            format!("rows of {cols}: indices are exact f32 only below 2^24"),
        ));
    }
    if rows == 0 {
        return Ok(());
    }
    let ctx = context()?;
    let params = Params::new().usize(rows).usize(cols).usize(k);
    let key = PipelineKey::new(Shader::TopK, OP);
    dispatch(ctx, &key, params, &[x], &[values, indices], grid(ctx, rows))
}
