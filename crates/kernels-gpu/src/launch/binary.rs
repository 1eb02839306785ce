//! Broadcasting binary ops, where_select, strided_copy and copy_view
//! (`shaders/binary.wgsl`, `shaders/movement.wgsl`).

use super::shape::{check_rank, check_shape, extent, merge_dims};
use super::{check_len, check_u32};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::launch::elementwise::WG;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

pub use kernels_cpu::BinaryOp;

fn entry(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "binary_add",
        BinaryOp::Sub => "binary_sub",
        BinaryOp::Mul => "binary_mul",
        BinaryOp::Div => "binary_div",
        BinaryOp::Max => "binary_max",
        BinaryOp::Min => "binary_min",
        BinaryOp::Eq => "binary_eq",
        BinaryOp::Gt => "binary_gt",
        BinaryOp::Ge => "binary_ge",
        BinaryOp::Lt => "binary_lt",
        BinaryOp::Le => "binary_le",
    }
}

/// out = a ∘ b with broadcasting: `out_shape` is the broadcast shape and
/// `a_strides` / `b_strides` the operands' element strides aligned to it
/// (0 on broadcast dimensions). `out` is contiguous in `out_shape`.
pub fn binary(
    op: BinaryOp,
    a: &GpuBuffer,
    a_strides: &[usize],
    b: &GpuBuffer,
    b_strides: &[usize],
    out_shape: &[usize],
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "binary";
    let n = check_shape(OP, out_shape, &[a_strides, b_strides])?;
    check_len(OP, "a", a, extent(out_shape, a_strides))?;
    check_len(OP, "b", b, extent(out_shape, b_strides))?;
    check_len(OP, "out", out, n)?;
    check_u32(OP, "elements", n)?;
    let contiguous = contiguous_strides(out_shape);
    let (shape, strides) = merge_dims(out_shape, &[a_strides, b_strides, &contiguous]);
    check_rank(OP, &shape)?;
    let ctx = context()?;
    let params = Params::new()
        .usize(n)
        .usize(shape.len())
        .u32x8(&shape)
        .u32x8(&strides[0])
        .u32x8(&strides[1]);
    let key = PipelineKey::new(Shader::Binary, entry(op));
    dispatch(
        ctx,
        &key,
        params,
        &[a, b],
        &[out],
        grid(ctx, n.div_ceil(WG)),
    )
}

/// `out[i] = if cond[i] != 0 { a[i] } else { b[i] }`, for all of cond's length.
pub fn where_select(
    cond: &GpuBuffer,
    a: &GpuBuffer,
    b: &GpuBuffer,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "where_select";
    let n = cond.len();
    check_len(OP, "a", a, n)?;
    check_len(OP, "b", b, n)?;
    check_len(OP, "out", out, n)?;
    let ctx = context()?;
    let params = Params::new().usize(n).usize(0);
    let key = PipelineKey::new(Shader::Binary, "where_select");
    dispatch(
        ctx,
        &key,
        params,
        &[cond, a, b],
        &[out],
        grid(ctx, n.div_ceil(WG)),
    )
}

/// Gathers `src`, seen through element strides `src_strides` with `shape`,
/// into contiguous `out`.
pub fn strided_copy(
    src: &GpuBuffer,
    shape: &[usize],
    src_strides: &[usize],
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    let contiguous = contiguous_strides(shape);
    copy_view(src, 0, src_strides, shape, out, 0, &contiguous)
}

/// Copies the view (`src_offset`, `src_strides`) of `src` onto the view
/// (`dst_offset`, `dst_strides`) of `dst`, both of `shape`; the rest of `dst`
/// is untouched. Slices read at an offset; concatenation writes at one.
pub fn copy_view(
    src: &GpuBuffer,
    src_offset: usize,
    src_strides: &[usize],
    shape: &[usize],
    dst: &GpuBuffer,
    dst_offset: usize,
    dst_strides: &[usize],
) -> Result<(), GpuError> {
    let (src, dst) = (
        (src, src_offset, src_strides),
        (dst, dst_offset, dst_strides),
    );
    view_to_view("copy_view", src, shape, dst)
}

/// Like [`copy_view`], adding instead of copying: `dst view += src view`
/// (narrow's backward adds a block into a larger gradient this way). The
/// destination view must not repeat an element (no stride 0 along an axis
/// longer than 1).
pub fn add_view(
    src: &GpuBuffer,
    src_offset: usize,
    src_strides: &[usize],
    shape: &[usize],
    dst: &GpuBuffer,
    dst_offset: usize,
    dst_strides: &[usize],
) -> Result<(), GpuError> {
    let repeats = shape
        .iter()
        .zip(dst_strides)
        .any(|(&size, &stride)| size > 1 && stride == 0);
    if repeats {
        return Err(GpuError::invalid(
            "add_view",
            "the destination view repeats elements (a stride of 0); the adds would race",
        ));
    }
    let (src, dst) = (
        (src, src_offset, src_strides),
        (dst, dst_offset, dst_strides),
    );
    view_to_view("add_view", src, shape, dst)
}

/// `dst` `[outer, full, inner]` = `src` `[outer, len, inner]` placed at
/// `start` along the middle axis, zero elsewhere, in one pass.
pub fn pad_block(
    src: &GpuBuffer,
    (outer, full, inner): (usize, usize, usize),
    start: usize,
    dst: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "pad_block";
    let n = outer * full * inner;
    check_len(OP, "dst", dst, n)?;
    if n == 0 {
        return Ok(());
    }
    let len = src.len() / (outer * inner);
    if len * outer * inner != src.len() || start + len > full {
        return Err(GpuError::invalid(
            OP,
            format!(
                "a block of {} floats does not fit [{outer}, {full}, {inner}] at {start}",
                src.len()
            ),
        ));
    }
    check_u32(OP, "elements", n)?;
    let ctx = context()?;
    let params = Params::new()
        .usize(n)
        .usize(full)
        .usize(inner)
        .usize(start)
        .usize(len);
    let key = PipelineKey::new(Shader::Movement, OP);
    dispatch(ctx, &key, params, &[src], &[dst], grid(ctx, n.div_ceil(WG)))
}

/// A buffer seen through an offset and element strides.
type View<'a> = (&'a GpuBuffer, usize, &'a [usize]);

fn view_to_view(
    op: &'static str,
    (src, src_offset, src_strides): View,
    shape: &[usize],
    (dst, dst_offset, dst_strides): View,
) -> Result<(), GpuError> {
    let n = check_shape(op, shape, &[src_strides, dst_strides])?;
    if n == 0 {
        return Ok(());
    }
    check_len(op, "src", src, src_offset + extent(shape, src_strides))?;
    check_len(op, "dst", dst, dst_offset + extent(shape, dst_strides))?;
    check_u32(op, "elements", n)?;
    check_u32(op, "src offset", src_offset)?;
    check_u32(op, "dst offset", dst_offset)?;
    let (merged, strides) = merge_dims(shape, &[src_strides, dst_strides]);
    check_rank(op, &merged)?;
    let ctx = context()?;
    let params = Params::new()
        .usize(n)
        .usize(merged.len())
        .usize(src_offset)
        .usize(dst_offset)
        .u32x8(&merged)
        .u32x8(&strides[0])
        .u32x8(&strides[1]);
    let key = PipelineKey::new(Shader::Movement, op);
    dispatch(ctx, &key, params, &[src], &[dst], grid(ctx, n.div_ceil(WG)))
}

/// Row-major strides of a contiguous tensor of `shape`. Merging against these
/// too keeps the output's index decomposition valid after merging.
fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    strides
}
