//! CPU kernels for the s2s tensor engine: slices in, slices out.
//!
//! No tensors and no autograd live here — only the loops. Each public function
//! takes plain `&[f32]` / `&mut [f32]` plus sizes and strides, so the `tensor`
//! crate decides shapes and memory and this crate only computes.
//!
//! How the crate is organised:
//! * one module per kernel family (`elementwise`, `accumulate`, `reduce`,
//!   `softmax`, `layer_norm`, `loss`, `embedding`, `movement`, `gemm`,
//!   `optim`, `rng`, `gru_cell`, `quant` for int8 inference),
//!   all re-exported at the crate root;
//! * [`reference`](mod@reference): the same API as plain scalar loops — the oracle every fast
//!   kernel is tested against, and the clearest statement of what each kernel
//!   computes;
//! * `simd`: one small vector trait with a portable, an AVX2+FMA and an
//!   AVX-512 implementation; kernels are written once against it and the ISA
//!   is picked at run time ([`isa()`], [`with_isa`]);
//! * `math`: vectorised exp/log/tanh/sigmoid/erf;
//! * `par`: when to use rayon (only above ~32K elements, split by whole rows).
//!
//! Indices (token ids, argmax results, targets) travel as `f32` holding exact
//! integers: the engine has one dtype, and integers are exact below 2^24.

mod accumulate;
mod additive;
mod elementwise;
mod embedding;
mod gemm;
mod gru_cell;
mod isa;
mod layer_norm;
mod layout;
mod loss;
mod math;
mod movement;
mod optim;
mod par;
pub mod peak;
mod quant;
mod reduce;
pub mod reference;
pub mod rng;
mod simd;
mod softmax;
mod topk;

pub use accumulate::add_into_block;
pub use additive::{additive_score, additive_score_backward, Additive};
pub use elementwise::{binary, unary, where_select, BinaryOp, UnaryOp};
pub use embedding::{
    gather_rows, index_add, index_select, scatter_add_rows, select_cat, SelectCat,
};
pub use gemm::{sgemm, sgemm_batched, sgemm_bias, sgemm_heads, with_packed_gemm, HeadMats};
pub use gru_cell::{gru_cell, gru_cell_backward};
pub use isa::{available_isas, isa, with_isa, Isa};
pub use layer_norm::{layer_norm, layer_norm_backward};
pub use loss::{cross_entropy, cross_entropy_backward};
pub use movement::strided_copy;
pub use optim::{adam_step, scale, sgd_step, AdamParams};
pub use par::{serially, warm_workers};
pub use quant::{int8_kernel, linear_int8, Int8Kernel, QuantizedMatrix, INT8_MAX_DEPTH};
pub use reduce::{argmax, reduce, sum_all, sum_squares, ReduceOp};
pub use rng::{dropout_apply, dropout_mask, fill_normal, fill_uniform, hash_uniform};
pub use softmax::{log_softmax, log_softmax_backward, softmax, softmax_backward};
pub use topk::{log_softmax_topk, topk_rows, TOPK_NONE};
