//! When and how to split work across rayon threads.
//!
//! Waking worker threads costs a few microseconds, more than a small kernel
//! takes on one core, so every kernel stays on the calling thread below
//! [`PAR_THRESHOLD`] elements and otherwise hands rayon tasks of at least
//! [`TASK_ELEMS`] elements — whole rows where the data has rows, so that no row
//! is ever split between threads (row results then do not depend on the
//! thread count).

/// Work below this many elements stays on the calling thread.
pub(crate) const PAR_THRESHOLD: usize = 32 * 1024;

/// Target size of one rayon task, in elements.
pub(crate) const TASK_ELEMS: usize = 16 * 1024;

/// True when an op touching `elems` elements should use rayon.
#[inline]
pub(crate) fn worth_parallel(elems: usize) -> bool {
    elems >= PAR_THRESHOLD && rayon::current_num_threads() > 1
}

/// How many whole rows of `cols` elements make one rayon task.
#[inline]
pub(crate) fn rows_per_task(cols: usize) -> usize {
    (TASK_ELEMS / cols.max(1)).max(1)
}
