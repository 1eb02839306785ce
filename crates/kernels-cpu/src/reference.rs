//! The oracle: every kernel of the crate as plain scalar loops.
//!
//! Same signatures as the fast kernels at the crate root, no SIMD, no threads,
//! no cleverness: transcendental functions and accumulations use `f64`, loops
//! follow the defining formula. The tests compare every fast kernel against
//! these on random shapes; when the two disagree, this module is presumed right.

mod elementwise;
mod erf;
mod linalg;
mod misc;
mod nn;
mod optim;
mod quant;

pub use elementwise::{binary, binary_scalar, unary, unary_scalar, where_select};
pub use erf::erf;
pub use linalg::{sgemm, sgemm_batched};
pub use misc::{
    add_into_block, dropout_apply, dropout_mask, fill_normal, fill_uniform, gather_rows,
    hash_uniform, index_add, index_select, scatter_add_rows, strided_copy, topk_rows,
};
pub use nn::{
    additive_score, additive_score_backward, argmax, cross_entropy, cross_entropy_backward,
    gru_cell, gru_cell_backward, layer_norm, layer_norm_backward, log_softmax,
    log_softmax_backward, reduce, softmax, softmax_backward, sum_all, sum_squares,
};
pub use optim::{adam_step, scale, sgd_step};
pub use quant::{linear_int8, quantize_row};
