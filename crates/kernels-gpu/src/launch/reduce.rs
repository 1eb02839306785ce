//! Reductions along the middle axis of [outer, len, inner], argmax, and
//! whole-array sums (`shaders/reduce.wgsl`).

use super::{check_len, check_u32};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::launch::elementwise::WG;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

pub use kernels_cpu::ReduceOp;

/// Rows at least this long (with inner == 1) get a workgroup each; shorter
/// ones one invocation each (a 64-wide workgroup on a 10-long row would idle).
const ROW_KERNEL_MIN_LEN: usize = 128;

/// The lane kernel splits its runs into chunks (two passes) when there are at
/// most this many outputs and the runs are at least SPLIT_MIN_LEN long: then
/// one invocation per output would leave most of a GPU idle.
const SPLIT_MAX_LANES: usize = 16 * 1024;
const SPLIT_MIN_LEN: usize = 256;

/// Run entries each split workgroup folds: at least 64, and no more than
/// about 256 chunks, so the finish pass stays short.
fn split_chunk(len: usize) -> usize {
    len.div_ceil(256).max(64)
}

/// Elements each workgroup of `sum_chunks` folds (the shader's CHUNK).
const CHUNK: usize = 4096;

fn op_code(op: ReduceOp) -> u32 {
    match op {
        ReduceOp::Sum => 0,
        ReduceOp::Mean => 1,
        ReduceOp::Max => 2,
        ReduceOp::Min => 3,
    }
}

/// out[o, i] = op over l of x[o, l, i]; `out` holds outer · inner values.
pub fn reduce(
    op: ReduceOp,
    x: &GpuBuffer,
    outer: usize,
    len: usize,
    inner: usize,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    along_axis("reduce", op_code(op), x, outer, len, inner, out)
}

/// out[o, i] = the first l maximising x[o, l, i], as an f32.
pub fn argmax(
    x: &GpuBuffer,
    outer: usize,
    len: usize,
    inner: usize,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    along_axis("argmax", u32::MAX, x, outer, len, inner, out)
}

/// `code` is the reduce op code, or u32::MAX for argmax.
fn along_axis(
    name: &'static str,
    code: u32,
    x: &GpuBuffer,
    outer: usize,
    len: usize,
    inner: usize,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    let total = outer * len * inner;
    check_len(name, "x", x, total)?;
    check_len(name, "out", out, outer * inner)?;
    check_u32(name, "x elements", total)?;
    let ctx = context()?;
    let argmax = code == u32::MAX;
    let params = Params::new()
        .usize(outer)
        .usize(len)
        .usize(inner)
        .u32(if argmax { 0 } else { code });
    if inner == 1 && len >= ROW_KERNEL_MIN_LEN {
        let entry = if argmax { "argmax_rows" } else { "reduce_rows" };
        let key = PipelineKey::new(Shader::Reduce, entry);
        dispatch(ctx, &key, params, &[x], &[out], grid(ctx, outer))
    } else if !argmax && outer * inner <= SPLIT_MAX_LANES && len >= SPLIT_MIN_LEN {
        let lanes = outer * inner;
        let chunk = split_chunk(len);
        let chunks = len.div_ceil(chunk);
        let partial = GpuBuffer::uninit(chunks * lanes)?;
        let params = || {
            Params::new()
                .usize(outer)
                .usize(len)
                .usize(inner)
                .u32(code)
                .usize(chunk)
        };
        let key = PipelineKey::new(Shader::Reduce, "reduce_lanes_split");
        let groups = grid(ctx, lanes.div_ceil(WG) * chunks);
        dispatch(ctx, &key, params(), &[x], &[&partial], groups)?;
        let key = PipelineKey::new(Shader::Reduce, "reduce_lanes_finish");
        let groups = grid(ctx, lanes.div_ceil(WG));
        dispatch(ctx, &key, params(), &[&partial], &[out], groups)
    } else {
        let entry = if argmax {
            "argmax_lanes"
        } else {
            "reduce_lanes"
        };
        let key = PipelineKey::new(Shader::Reduce, entry);
        dispatch(
            ctx,
            &key,
            params,
            &[x],
            &[out],
            grid(ctx, (outer * inner).div_ceil(WG)),
        )
    }
}

/// `out[0] = Σ x`, summed as a tree (on the device; read it back or use it).
pub fn sum_all(x: &GpuBuffer, out: &GpuBuffer) -> Result<(), GpuError> {
    sum_chunks("sum_all", x, false, out, 0)
}

/// `out[0] = Σ x²`, for global-norm gradient clipping.
pub fn sum_squares(x: &GpuBuffer, out: &GpuBuffer) -> Result<(), GpuError> {
    sum_chunks("sum_squares", x, true, out, 0)
}

/// `out[index] = Σ x²`: one slot per parameter, so that `sum_all` of `out`
/// gives the squared global norm without leaving the device.
pub fn sum_squares_at(x: &GpuBuffer, out: &GpuBuffer, index: usize) -> Result<(), GpuError> {
    sum_chunks("sum_squares_at", x, true, out, index)
}

fn sum_chunks(
    name: &'static str,
    x: &GpuBuffer,
    square: bool,
    out: &GpuBuffer,
    index: usize,
) -> Result<(), GpuError> {
    check_len(name, "out", out, index + 1)?;
    check_u32(name, "x elements", x.len())?;
    check_u32(name, "index", index)?;
    let ctx = context()?;
    let key = PipelineKey::new(Shader::Reduce, "sum_chunks");
    if x.is_empty() {
        // One workgroup over nothing writes its zero partial sum at `index`.
        let params = Params::new().usize(index).usize(0).usize(1).u32(0);
        return dispatch(ctx, &key, params, &[x], &[out], [1, 1, 1]);
    }
    // Each pass leaves one partial sum per CHUNK elements; square only once.
    let mut current = x.clone();
    let mut square = square;
    loop {
        let n = current.len();
        let groups = n.div_ceil(CHUNK);
        let target = if groups == 1 {
            out.clone()
        } else {
            GpuBuffer::uninit(groups)?
        };
        let offset = if groups == 1 { index } else { 0 };
        let params = Params::new()
            .usize(offset)
            .usize(n)
            .usize(1)
            .u32(square as u32);
        dispatch(
            ctx,
            &key,
            params,
            &[&current],
            &[&target],
            grid(ctx, groups),
        )?;
        if groups == 1 {
            return Ok(());
        }
        current = target;
        square = false;
    }
}
