//! When and how to split work across rayon threads.
//!
//! Waking worker threads costs a few microseconds, more than a small kernel
//! takes on one core, so every kernel stays on the calling thread below
//! [`PAR_THRESHOLD`] elements and otherwise hands rayon tasks of at least
//! [`TASK_ELEMS`] elements — whole rows where the data has rows, so that no row
//! is ever split between threads (row results then do not depend on the
//! thread count).
//!
//! Between parallel kernels, a training step runs short serial stretches
//! (autograd bookkeeping, small ops) during which idle rayon workers would
//! fall asleep; [`keep_warm`] keeps them spinning for a couple of
//! milliseconds after each parallel kernel, as OpenMP runtimes do.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Work below this many elements stays on the calling thread.
pub(crate) const PAR_THRESHOLD: usize = 32 * 1024;

/// Target size of one rayon task, in elements.
pub(crate) const TASK_ELEMS: usize = 16 * 1024;

thread_local! {
    /// Set by [`serially`]: kernels on this thread do not split.
    static SERIAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` with every kernel it calls on this thread alone, none split into
/// rayon tasks: for work that is itself one task among others (autograd's
/// deferred parameter gradients), where a split would only hand half of it
/// to a thread that is busy with the rest of the step. Results are those of
/// a split run: no kernel's values depend on the thread count.
pub fn serially<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SERIAL.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SERIAL.with(|s| s.replace(true)));
    f()
}

/// Threads a kernel may split over: the pool's, or 1 inside [`serially`].
#[inline]
pub(crate) fn threads() -> usize {
    if SERIAL.with(std::cell::Cell::get) {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// True when an op touching `elems` elements should use rayon (and then the
/// pool's other workers are kept awake: [`keep_warm`]).
#[inline]
pub(crate) fn worth_parallel(elems: usize) -> bool {
    let yes = elems >= PAR_THRESHOLD && threads() > 1;
    if yes {
        keep_warm();
    }
    yes
}

/// How many whole rows of `cols` elements make one rayon task.
#[inline]
pub(crate) fn rows_per_task(cols: usize) -> usize {
    (TASK_ELEMS / cols.max(1)).max(1)
}

/// How long the pool's other workers keep looking for work after the last
/// parallel kernel started, before they may fall asleep.
const BLOCK_TIME: Duration = Duration::from_millis(2);

/// Workers with an index below this can be kept awake.
const MAX_KEPT: usize = 64;

/// Nanoseconds since [`EPOCH`] when a parallel kernel last started.
static LAST_START: AtomicU64 = AtomicU64::new(0);
/// The worker index that started it.
static LAST_CALLER: AtomicUsize = AtomicUsize::new(usize::MAX);
/// `KEEPING[i]`: a keeper is running on worker `i`.
static KEEPING: [AtomicBool; MAX_KEPT] = [const { AtomicBool::new(false) }; MAX_KEPT];
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn now_ns() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Keep the other workers of the caller's pool awake for [`BLOCK_TIME`].
///
/// A rayon worker that finds no work spins for a few dozen `sched_yield`s
/// (~40 µs) and then sleeps on a futex, and waking it can take longer than
/// a small product does.
/// A training step alternates parallel kernels with short serial stretches
/// (autograd bookkeeping, small ops), so without this every parallel kernel
/// would start with its helpers asleep, and a 64 x 768 x 256 product after
/// half a millisecond of serial work would take about twice its time.
/// OpenMP runtimes spin for the same reason (`OMP_WAIT_POLICY`,
/// `KMP_BLOCKTIME`).
///
/// A keeper is a job on one worker that loops on `rayon::yield_now` — which
/// runs any job the pool has, so a keeper takes work as an awake idle worker
/// would — until no kernel has started for [`BLOCK_TIME`], or until its
/// worker becomes the one starting kernels (the caller's own work may land
/// on a keeper's thread, nested inside the keeper's loop). They are started
/// with `spawn_broadcast` (one copy per worker; copies on the caller or on a
/// kept worker leave at once). Only callers inside a pool
/// (`ThreadPool::install`) get keepers: from outside, the caller is not one
/// of the workers, and a test harness's threads would compete with spinning
/// keepers. Several pools share the flags, so one pool's keeper can make
/// another pool's worker look kept: it then just sleeps, as without keepers.
pub(crate) fn keep_warm() {
    let Some(me) = rayon::current_thread_index() else {
        return;
    };
    let threads = rayon::current_num_threads().min(MAX_KEPT);
    if threads < 2 {
        return;
    }
    LAST_START.store(now_ns(), Ordering::Relaxed);
    LAST_CALLER.store(me, Ordering::Relaxed);
    let missing = (0..threads).any(|i| i != me && !KEEPING[i].load(Ordering::Relaxed));
    if missing {
        rayon::spawn_broadcast(|ctx| keeper(ctx.index()));
    }
}

/// Should worker `i` keep looking for work?
fn wanted(i: usize) -> bool {
    let idle = now_ns().saturating_sub(LAST_START.load(Ordering::Relaxed));
    i != LAST_CALLER.load(Ordering::Relaxed) && idle <= BLOCK_TIME.as_nanos() as u64
}

/// The keeper loop of worker `i` (see [`keep_warm`]).
fn keeper(i: usize) {
    if i >= MAX_KEPT {
        return;
    }
    while wanted(i) && !KEEPING[i].swap(true, Ordering::AcqRel) {
        loop {
            if rayon::yield_now() == Some(rayon::Yield::Executed) {
                continue;
            }
            if !wanted(i) {
                break;
            }
            std::hint::spin_loop();
        }
        KEEPING[i].store(false, Ordering::Release);
        // A kernel that started between the check and the store saw this
        // worker as kept and spawned nothing: the `while` looks again.
    }
}

/// How many workers are being kept awake right now (see `keep_warm`): for
/// tests and diagnostics.
pub fn warm_workers() -> usize {
    KEEPING.iter().filter(|k| k.load(Ordering::Acquire)).count()
}
