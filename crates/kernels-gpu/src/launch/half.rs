//! Linear with 16-bit weights (`shaders/linear_half.wgsl`): weights stored as
//! IEEE binary16 on the device, products summed in f32.
//!
//! [`HalfBuffer::from_f32`] converts an f32 buffer on the device (round to
//! nearest, two halves per 32-bit word); [`linear_half`] computes
//! y = x Wᵀ + b from it. Adapters with `shader-f16` read the weights as f16,
//! the others unpack the words: same bytes, same results.

use super::{check_len, check_u32, dummy};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

/// The linear kernel's workgroup tile (the shader's TILE).
const TILE: usize = 16;

/// A device buffer of `len` binary16 values, two per 32-bit word (element e
/// in the low half of word e / 2 when e is even).
pub struct HalfBuffer {
    words: GpuBuffer,
    len: usize,
}

impl HalfBuffer {
    /// Rounds each float of `x` to the nearest binary16, on the device.
    pub fn from_f32(x: &GpuBuffer) -> Result<Self, GpuError> {
        const OP: &str = "to_half";
        let len = x.len();
        check_u32(OP, "elements", len)?;
        let words = GpuBuffer::uninit(len.div_ceil(2).max(1))?;
        let ctx = context()?;
        let params = Params::new().usize(len).u32(0).u32(0).u32(0);
        let key = PipelineKey::new(Shader::LinearHalf, "to_half");
        let groups = grid(ctx, len.div_ceil(2).div_ceil(256));
        dispatch(ctx, &key, params, &[x], &[&words], groups)?;
        Ok(HalfBuffer { words, len })
    }

    /// How many halves it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The 32-bit words as they lie in memory (their f32 view is only bits:
    /// use `f32::to_bits` on what `to_vec` returns).
    pub fn words(&self) -> &GpuBuffer {
        &self.words
    }
}

/// y (m × n) = x (m × k) · Wᵀ + bias, W (n × k) in halves, as torch's
/// `F.linear(x, w.half().float(), b)`.
#[allow(clippy::too_many_arguments)]
pub fn linear_half(
    x: &GpuBuffer,
    w: &HalfBuffer,
    bias: Option<&GpuBuffer>,
    m: usize,
    n: usize,
    k: usize,
    y: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "linear_half";
    check_len(OP, "x", x, m * k)?;
    check_len(OP, "y", y, m * n)?;
    if w.len() < n * k {
        return Err(GpuError::invalid(
            OP,
            format!("`w` holds {} halves but {n} × {k} are needed", w.len()),
        ));
    }
    if let Some(b) = bias {
        check_len(OP, "bias", b, n)?;
    }
    for (name, value) in [
        ("x elements", m * k),
        ("w elements", n * k),
        ("y elements", m * n),
    ] {
        check_u32(OP, name, value)?;
    }
    let ctx = context()?;
    let groups = [n.div_ceil(TILE), m.div_ceil(TILE)];
    let max = ctx.limits().max_compute_workgroups_per_dimension as usize;
    if groups.iter().any(|&g| g > max) {
        return Err(GpuError::invalid(
            OP,
            format!("{m} × {n} needs {groups:?} workgroups of {TILE} × {TILE}; at most {max} per dimension"),
        ));
    }
    let placeholder = dummy()?;
    let params = Params::new()
        .usize(m)
        .usize(n)
        .usize(k)
        .u32(bias.is_some() as u32);
    let key = PipelineKey::new(Shader::LinearHalf.for_device(ctx), "linear_half");
    let inputs = [x, &w.words, bias.unwrap_or(&placeholder)];
    let groups = [groups[0].max(1) as u32, groups[1].max(1) as u32, 1];
    dispatch(ctx, &key, params, &inputs, &[y], groups)
}
