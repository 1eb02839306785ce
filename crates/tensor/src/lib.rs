//! # tensor — f32 tensors with reverse-mode autograd, on CPU and GPU
//!
//! ```
//! use tensor::{Device, Tensor};
//! let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], [3], &Device::Cpu).unwrap().requires_grad_();
//! let y = x.square().unwrap().sum_all().unwrap();   // y = Σ x²
//! y.backward().unwrap();
//! assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, 4.0, 6.0]);   // dy/dx = 2x
//! ```
//!
//! Layout: `tensor.rs` (the handle), `autograd.rs` (the walk), `grad_schedule.rs`
//! (the host's faster hand-off of gradients), `backend/`
//! (device dispatch), `ops/` (forward + backward per family), `optim/`,
//! `init.rs`, `io.rs` (safetensors), `random.rs`, `gradcheck.rs`.

mod autograd;
mod backend;
mod device;
mod error;
mod grad_schedule;
pub mod gradcheck;
mod host_pool;
mod huge_pages;
pub mod init;
pub mod io;
mod ops;
pub mod optim;
mod random;
mod shape;
mod storage;
mod tensor;

pub use autograd::{is_grad_enabled, no_grad, plain_walk};
pub use backend::{BinaryOp, ReduceOp};
pub use device::Device;
pub use error::{Error, Result};
pub use huge_pages::{HugePageAlloc, HUGE_MIN};
/// What `Tensor::topk` returns for a non-finite entry (a finite sentinel).
pub use kernels_cpu::TOPK_NONE;
pub use ops::head_attention::HeadAttention;
pub use ops::quantized::QuantizedWeight;
pub use random::Rng;
pub use shape::Shape;
pub use tensor::{Tensor, TensorId};
