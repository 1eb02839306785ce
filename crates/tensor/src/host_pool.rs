//! A cache of host buffers, so a training step reuses the memory of the
//! step before instead of asking the allocator (and the kernel) again.
//!
//! Why: every op allocates its output. A fresh `vec![0.0; n]` costs a
//! `memset` of n floats when the allocator recycles a freed chunk, and page
//! faults plus the kernel's page clearing when a large block comes from
//! `mmap` — a large share of a small model's CPU training step in a
//! profile. A training step allocates the same
//! sizes every time, so buffers are kept by exact length: a dropped storage
//! hands its vector back ([`give`]), the next op of that size takes it
//! ([`take`]) without zeroing it.
//!
//! Soundness: a recycled vector holds the old values of a dropped tensor —
//! initialised floats, never uninitialised memory — and the ops that use
//! [`take`] overwrite every element (the ones that add into their output
//! use [`take_zeroed`]). Only fresh vectors are zeroed, by `calloc`.
//!
//! The cache holds at most `S2S_CPU_POOL_MB` megabytes (default 1024; `0`
//! turns it off); buffers below [`MIN_POOLED`] floats go straight to the
//! allocator, which serves small sizes quickly on its own.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// Smallest buffer worth caching, in floats (16 KiB).
pub const MIN_POOLED: usize = 4096;

struct Pool {
    /// Free vectors by length.
    free: HashMap<usize, Vec<Vec<f32>>>,
    /// Floats held in `free`.
    held: usize,
    /// Most floats `free` may hold.
    cap: usize,
}

static POOL: LazyLock<Mutex<Pool>> = LazyLock::new(|| {
    let mb = std::env::var("S2S_CPU_POOL_MB")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1024);
    Mutex::new(Pool {
        free: HashMap::new(),
        held: 0,
        cap: mb * (1 << 20) / std::mem::size_of::<f32>(),
    })
});

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // The pool's state stays consistent across a panic (each update is a
    // single push or pop), so a poisoned lock is safe to keep using.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A vector of `n` floats with unspecified (but initialised) contents: the
/// caller must overwrite every element. Debug builds fill it with NaN, so
/// an op that leaves an element unwritten fails its tests.
pub fn take(n: usize) -> Vec<f32> {
    let v = reuse(n).unwrap_or_else(|| vec![0.0; n]);
    #[cfg(debug_assertions)]
    let v = {
        let mut v = v;
        v.fill(f32::NAN);
        v
    };
    v
}

fn reuse(n: usize) -> Option<Vec<f32>> {
    if n < MIN_POOLED {
        return None;
    }
    let mut p = pool();
    let v = p.free.get_mut(&n).and_then(Vec::pop)?;
    p.held -= n;
    Some(v)
}

/// A vector of `n` zeros (for kernels that add into their output).
pub fn take_zeroed(n: usize) -> Vec<f32> {
    let mut v = take(n);
    v.fill(0.0);
    v
}

/// Hands a vector back for reuse (or frees it when the pool is full).
pub fn give(v: Vec<f32>) {
    let n = v.len();
    if n < MIN_POOLED {
        return;
    }
    let mut p = pool();
    if p.held + n <= p.cap {
        p.held += n;
        p.free.entry(n).or_default().push(v);
    }
}

/// Floats currently cached.
#[cfg(test)]
pub fn held() -> usize {
    pool().held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_comes_back_for_the_same_length_only() {
        let n = MIN_POOLED + 17; // a length no other test uses
        let v = vec![3.0; n];
        let ptr = v.as_ptr();
        give(v);
        assert!(held() >= n);
        let other = take(n + 1);
        assert_ne!(other.as_ptr(), ptr);
        let again = take(n);
        assert_eq!(again.as_ptr(), ptr, "the cached vector is reused");
        assert_eq!(again.len(), n);
        give(again);
        let zeroed = take_zeroed(n);
        assert!(zeroed.iter().all(|&x| x == 0.0));
    }
}
