//! GPU runners for `s2s bench --device gpu`.
//!
//! The harness asks [`runner`] for a prepared call per (kernel, shape), exactly
//! as it asks `kernels::cpu_runner` on the CPU, and times it the same way
//! (interleaved rounds, medians). A GPU runner must include waiting for the
//! device to finish (submit + poll), so the wall-clock time is honest.
//! No kernel has a GPU runner yet: this is the one place to add them.

use super::kernels::{Kernel, Runner};
use anyhow::{bail, Result};

/// A GPU runner for `kind` at `shape`.
pub fn runner(kind: Kernel, _shape: &[usize]) -> Result<Runner> {
    bail!(
        "{}: --device gpu is not yet supported by `s2s bench` (the GPU kernels plug in \
         through src/bench/gpu.rs); use --device cpu",
        kind.name()
    )
}
