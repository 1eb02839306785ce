//! Differentiable ops, one file per family; each holds the forward dispatch
//! and, next to it, the backward rule written in tensor ops.

pub(crate) mod additive;
pub(crate) mod attention;
pub(crate) mod binary;
pub(crate) mod head_attention;
pub(crate) mod heads;
pub(crate) mod index;
pub(crate) mod loss;
pub(crate) mod matmul;
pub(crate) mod movement;
pub(crate) mod norm;
pub(crate) mod quantized;
pub(crate) mod reduce;
pub(crate) mod rnn;
pub(crate) mod softmax;
pub(crate) mod unary;
