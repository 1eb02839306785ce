//! Launchers: one function per kernel, mirroring `kernels-cpu`'s slice API.
//!
//! Each checks its buffer lengths (a wrong length is an error, not a wgpu
//! panic), fills the kernel's parameter block and records the dispatch.
//! Nothing runs until the batch is submitted (see `record.rs`).

pub mod additive;
pub mod attention;
pub mod binary;
pub mod elementwise;
pub mod half;
pub mod index;
pub mod loss;
pub mod matmul;
pub mod norm;
pub mod optim;
pub mod random;
pub mod reduce;
pub mod rnn;
mod shape;
pub mod softmax;
pub mod topk;

pub use additive::{additive_score, additive_score_backward, Additive};
pub use attention::{
    attention_backward, attention_forward, Attention, AttentionDropout, AttentionKernel,
    HeadLayout, BLOCKED_MAX_HEAD_DIM, MAX_HEAD_DIM,
};
pub use binary::{add_view, binary, copy_view, pad_block, strided_copy, where_select, BinaryOp};
pub use elementwise::{clip_by_global_norm, fill, scale, unary, UnaryOp};
pub use half::{linear_half, HalfBuffer};
pub use index::{gather_rows, index_add, index_select, scatter_add_rows};
pub use loss::{cross_entropy, cross_entropy_backward};
pub use matmul::{
    gemm_heads_with, gemm_with, linear, sgemm, sgemm_batched, sgemm_heads, Gemm, HeadSplit,
    MatmulKernel,
};
pub use norm::{layer_norm, layer_norm_backward};
pub use optim::{adam_step, sgd_step, AdamParams};
pub use random::{dropout_apply, dropout_mask, fill_normal, fill_uniform};
pub use reduce::{argmax, reduce, sum_all, sum_squares, sum_squares_at, ReduceOp};
pub use rnn::{gru_cell, gru_cell_backward, lstm_cell, lstm_cell_backward};
pub use shape::MAX_RANK;
pub use softmax::{log_softmax, log_softmax_backward, softmax, softmax_backward};
pub use topk::{topk_rows, TOPK_NONE};

use std::sync::OnceLock;

use crate::buffer::GpuBuffer;
use crate::error::GpuError;

/// Checks that `buffer` holds at least `needed` floats.
pub(crate) fn check_len(
    op: &'static str,
    name: &str,
    buffer: &GpuBuffer,
    needed: usize,
) -> Result<(), GpuError> {
    if buffer.len() < needed {
        return Err(GpuError::invalid(
            op,
            format!(
                "`{name}` holds {} floats but {needed} are needed",
                buffer.len()
            ),
        ));
    }
    Ok(())
}

/// Sizes travel to the GPU as u32; larger ones are an error, not a wrap.
pub(crate) fn check_u32(op: &'static str, what: &str, value: usize) -> Result<(), GpuError> {
    if value > u32::MAX as usize {
        return Err(GpuError::invalid(
            op,
            format!("{what} = {value} does not fit in u32"),
        ));
    }
    Ok(())
}

/// A one-float buffer bound where a kernel's optional input is absent (every
/// binding a shader declares must be bound; the shader never reads it).
pub(crate) fn dummy() -> Result<GpuBuffer, GpuError> {
    static DUMMY: OnceLock<GpuBuffer> = OnceLock::new();
    if let Some(d) = DUMMY.get() {
        return Ok(d.clone());
    }
    let d = GpuBuffer::zeros(1)?;
    Ok(DUMMY.get_or_init(|| d).clone())
}
