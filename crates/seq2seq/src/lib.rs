//! # seq2seq — the layers of the classic sequence-to-sequence models
//!
//! Each layer in [`nn`] is one file that reads like the paper that introduced
//! it (equations in comments, one line of code per equation, shapes after
//! it) and gives the same numbers as its PyTorch twin on the same weights —
//! forward and backward. Parameter names are PyTorch's `state_dict` names, so
//! a model saved with `safetensors.torch.save_file(m.state_dict(), path)`
//! loads one-to-one with [`nn::Module::load_safetensors`].
//!
//! Reading order (docs/layers/README.md): RNN → GRU → LSTM → encoder–decoder
//! → Bahdanau → Luong → multi-head → Transformer.

pub mod nn;

pub use nn::{Ctx, Module, StateDictError};
pub mod data;
pub mod decode;
pub mod metrics;
pub mod models;
pub mod train;
