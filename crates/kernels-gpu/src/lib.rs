//! GPU kernels for s2s: hand-written WGSL compute shaders and their launchers.
//!
//! This crate knows buffers and sizes, never tensors or autograd. Its parts:
//!
//! - [`context()`]: the process's one wgpu device, created on first use, with
//!   [`adapters()`] to list what the machine offers and a clear error naming
//!   what to install when there is nothing.
//! - [`GpuBuffer`]: an f32 storage buffer, pooled by size class; uploading is
//!   [`GpuBuffer::from_slice`], and [`GpuBuffer::to_vec`] is the one place the
//!   host waits for the device.
//! - Launchers (in [`launch`], re-exported here): one per kernel, mirroring
//!   the `kernels-cpu` slice API with `&GpuBuffer` in place of slices. They
//!   only *record* work; batches are submitted when full or on read-back.
//! - [`Shader`]: the WGSL sources under `shaders/`, one file per family.
//! - [`time_gpu`]: GPU time of recorded work, by timestamp queries when the
//!   adapter has them, for the benchmarks.
//! - [`counts()`]: dispatches, submits, host waits, bytes up and down and bind
//!   groups so far, the costs a real GPU charges for, counted on any adapter;
//!   [`kernel_counts()`] splits the dispatches by entry point.

mod buffer;
mod context;
mod counters;
mod error;
pub mod launch;
mod pipelines;
mod record;
mod timing;

pub use buffer::{pooled_buffer_count, pooled_buffers_for_len, trim_pool, GpuBuffer};
pub use context::{adapters, context, is_cpu_emulation, AdapterSummary, GpuContext};
pub use counters::{counts, kernel_counts, kernel_counts_since, thread_dispatches, GpuCounts};
pub use error::{GpuError, INSTALL_HINT};
pub use launch::*;
pub use pipelines::Shader;
pub use timing::{time_gpu, GpuTiming, TimingMethod};

/// The gate every GPU test in the workspace opens with: true when [`context()`]
/// finds an adapter. Without one it prints why the test is skipped and returns
/// false, so a machine with no Vulkan driver still runs the CPU suite; with
/// `S2S_REQUIRE_GPU=1` (CI, which installs lavapipe) it panics instead, so a
/// broken driver cannot turn every GPU test into a silent pass.
pub fn gpu_ready_for_tests() -> bool {
    match context() {
        Ok(_) => true,
        Err(e) if std::env::var("S2S_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("S2S_REQUIRE_GPU=1 but the GPU path cannot run: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            false
        }
    }
}
