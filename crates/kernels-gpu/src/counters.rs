//! What the GPU path costs in the units a real GPU charges for, counted on
//! any adapter: compute dispatches, queue submits, host waits (a read-back
//! or a `synchronize`, each a full round trip to the device), bytes copied
//! up and down, bind groups created, and buffer-to-buffer copy commands. On lavapipe the wall time says
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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

static DISPATCHES: AtomicU64 = AtomicU64::new(0);
static SUBMITS: AtomicU64 = AtomicU64::new(0);
static HOST_WAITS: AtomicU64 = AtomicU64::new(0);
static BYTES_UP: AtomicU64 = AtomicU64::new(0);
static BYTES_DOWN: AtomicU64 = AtomicU64::new(0);
static BIND_GROUPS: AtomicU64 = AtomicU64::new(0);
static COPIES: AtomicU64 = AtomicU64::new(0);
/// Dispatches by WGSL entry point: where the dispatch count comes from.
static BY_KERNEL: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

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
    /// Copy commands between device buffers (no kernel, no bind group).
    pub copies: u64,
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
        copies: COPIES.load(Relaxed),
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
            copies: self.copies - earlier.copies,
        }
    }
}

pub(crate) fn copy() {
    COPIES.fetch_add(1, Relaxed);
}

thread_local! {
    static THREAD_DISPATCHES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Dispatches recorded by the calling thread so far: what tests count, since
/// the process-wide counters also see other tests running in parallel.
pub fn thread_dispatches() -> u64 {
    THREAD_DISPATCHES.with(|n| n.get())
}

pub(crate) fn dispatch(entry: &'static str) {
    DISPATCHES.fetch_add(1, Relaxed);
    THREAD_DISPATCHES.with(|n| n.set(n.get() + 1));
    *BY_KERNEL.lock().unwrap().entry(entry).or_insert(0) += 1;
}

/// Dispatches so far by WGSL entry point (`matmul_tiled`, `binary`, ...),
/// process-wide like [`counts()`]; subtract two with [`kernel_counts_since`].
pub fn kernel_counts() -> BTreeMap<&'static str, u64> {
    BY_KERNEL.lock().unwrap().clone()
}

/// The dispatches by entry point since `earlier` (a [`kernel_counts()`]),
/// most frequent first; entry points with none are left out.
pub fn kernel_counts_since(earlier: &BTreeMap<&'static str, u64>) -> Vec<(&'static str, u64)> {
    let mut spent: Vec<(&'static str, u64)> = kernel_counts()
        .into_iter()
        .map(|(k, n)| (k, n - earlier.get(k).copied().unwrap_or(0)))
        .filter(|&(_, n)| n > 0)
        .collect();
    spent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    spent
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
