//! Row softmax and log-softmax, forward and backward (`shaders/softmax.wgsl`).

use super::{check_len, check_u32};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

/// out = softmax of each row of x (rows × cols).
pub fn softmax(x: &GpuBuffer, rows: usize, cols: usize, out: &GpuBuffer) -> Result<(), GpuError> {
    forward("softmax_rows", x, rows, cols, out)
}

/// out = log-softmax of each row of x (rows × cols).
pub fn log_softmax(
    x: &GpuBuffer,
    rows: usize,
    cols: usize,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    forward("log_softmax_rows", x, rows, cols, out)
}

/// gx = y · (gy - Σ_j gy_j y_j), y the softmax output.
pub fn softmax_backward(
    y: &GpuBuffer,
    gy: &GpuBuffer,
    rows: usize,
    cols: usize,
    gx: &GpuBuffer,
) -> Result<(), GpuError> {
    backward("softmax_backward_rows", y, gy, rows, cols, gx)
}

/// gx = gy - exp(y) · Σ_j gy_j, y the log-softmax output.
pub fn log_softmax_backward(
    y: &GpuBuffer,
    gy: &GpuBuffer,
    rows: usize,
    cols: usize,
    gx: &GpuBuffer,
) -> Result<(), GpuError> {
    backward("log_softmax_backward_rows", y, gy, rows, cols, gx)
}

fn forward(
    entry: &'static str,
    x: &GpuBuffer,
    rows: usize,
    cols: usize,
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    check_len(entry, "x", x, rows * cols)?;
    check_len(entry, "out", out, rows * cols)?;
    check_u32(entry, "elements", rows * cols)?;
    let ctx = context()?;
    let params = Params::new().usize(rows).usize(cols);
    let key = PipelineKey::new(Shader::Softmax.for_device(ctx), entry);
    dispatch(ctx, &key, params, &[x], &[out], grid(ctx, rows))
}

fn backward(
    entry: &'static str,
    y: &GpuBuffer,
    gy: &GpuBuffer,
    rows: usize,
    cols: usize,
    gx: &GpuBuffer,
) -> Result<(), GpuError> {
    for (name, buffer) in [("y", y), ("gy", gy), ("gx", gx)] {
        check_len(entry, name, buffer, rows * cols)?;
    }
    check_u32(entry, "elements", rows * cols)?;
    let ctx = context()?;
    let params = Params::new().usize(rows).usize(cols);
    let key = PipelineKey::new(Shader::Softmax.for_device(ctx), entry);
    dispatch(ctx, &key, params, &[y, gy], &[gx], grid(ctx, rows))
}
