//! What the GPU path costs in the units a real GPU charges for, counted on
//! any adapter: compute dispatches, queue submits, host waits (a read-back
//! or a `synchronize`, each a full round trip to the device), bytes copied
//! up and down, and bind groups created. On lavapipe the wall time says
//! little about a real GPU; these counts carry over unchanged.
//!
//! The counters are process-wide and only ever increase; take a
//! [`GpuCounts`] before and after the work and subtract:
//!
//! ```
//! let before = kernels_gpu::counts();
//! // ... record and run kernels ...
//! let spent = kernels_gpu::counts() - before;
//! assert_eq!(spent.host_waits, 0);
//! ```

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

static DISPATCHES: AtomicU64 = AtomicU64::new(0);
static SUBMITS: AtomicU64 = AtomicU64::new(0);
static HOST_WAITS: AtomicU64 = AtomicU64::new(0);
static BYTES_UP: AtomicU64 = AtomicU64::new(0);
static BYTES_DOWN: AtomicU64 = AtomicU64::new(0);
static BIND_GROUPS: AtomicU64 = AtomicU64::new(0);

/// A snapshot of the counters (or, after a subtraction, what some work spent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuCounts {
    pub dispatches: u64,
    pub submits: u64,
    /// Times the host blocked until the device finished its queue.
    pub host_waits: u64,
    /// Host → device bytes: uploads and the dispatch parameter blocks.
    pub bytes_up: u64,
    /// Device → host bytes: read-backs.
    pub bytes_down: u64,
    pub bind_groups: u64,
}

/// The counters now.
pub fn counts() -> GpuCounts {
    GpuCounts {
        dispatches: DISPATCHES.load(Relaxed),
        submits: SUBMITS.load(Relaxed),
        host_waits: HOST_WAITS.load(Relaxed),
        bytes_up: BYTES_UP.load(Relaxed),
        bytes_down: BYTES_DOWN.load(Relaxed),
        bind_groups: BIND_GROUPS.load(Relaxed),
    }
}

impl std::ops::Sub for GpuCounts {
    type Output = GpuCounts;
    fn sub(self, earlier: GpuCounts) -> GpuCounts {
        GpuCounts {
            dispatches: self.dispatches - earlier.dispatches,
            submits: self.submits - earlier.submits,
            host_waits: self.host_waits - earlier.host_waits,
            bytes_up: self.bytes_up - earlier.bytes_up,
            bytes_down: self.bytes_down - earlier.bytes_down,
            bind_groups: self.bind_groups - earlier.bind_groups,
        }
    }
}

pub(crate) fn dispatch() {
    DISPATCHES.fetch_add(1, Relaxed);
}

pub(crate) fn submit() {
    SUBMITS.fetch_add(1, Relaxed);
}

pub(crate) fn host_wait() {
    HOST_WAITS.fetch_add(1, Relaxed);
}

pub(crate) fn up(bytes: usize) {
    BYTES_UP.fetch_add(bytes as u64, Relaxed);
}

pub(crate) fn down(bytes: usize) {
    BYTES_DOWN.fetch_add(bytes as u64, Relaxed);
}

pub(crate) fn bind_group() {
    BIND_GROUPS.fetch_add(1, Relaxed);
}
