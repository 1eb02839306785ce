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
    /// Free vectors by size class: every vector under class c has a capacity
    /// of at least c floats.
    free: HashMap<usize, Vec<Vec<f32>>>,
    /// Floats (of capacity) held in `free`.
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
    let v = reuse(n).unwrap_or_else(|| fresh(n));
    #[cfg(debug_assertions)]
    let v = {
        let mut v = v;
        v.fill(f32::NAN);
        v
    };
    v
}

/// The smallest size class holding `n` floats: the least m · 2^e ≥ n with
/// m ∈ {4, 5, 6, 7}.
pub fn class_above(n: usize) -> usize {
    if n <= 4 {
        return 4;
    }
    let e = n.ilog2() - 2; // n = m · 2^e with m ∈ [4, 8)
    let m = n.div_ceil(1 << e);
    m << e // m = 8 is 4 · 2^(e+1), itself a class
}

/// The largest size class a vector of `capacity` floats can serve.
fn class_below(capacity: usize) -> usize {
    if capacity < 4 {
        return 0;
    }
    let e = capacity.ilog2() - 2;
    (capacity >> e) << e
}

/// A new vector of `n` floats whose capacity is its whole size class, all
/// of it initialised (zeros from `calloc`), so that it can serve any
/// length of the class when it comes back.
fn fresh(n: usize) -> Vec<f32> {
    if n < MIN_POOLED {
        return vec![0.0; n];
    }
    let mut v = vec![0.0; class_above(n)];
    v.truncate(n);
    v
}

fn reuse(n: usize) -> Option<Vec<f32>> {
    if n < MIN_POOLED {
        return None;
    }
    let class = class_above(n);
    let mut v = {
        let mut p = pool();
        let v = p.free.get_mut(&class).and_then(Vec::pop)?;
        p.held -= v.capacity();
        v
    };
    // Within the capacity: a shorter vector grows by zeros (cheap, and never
    // exposes memory it did not write), a longer one is cut.
    v.resize(n, 0.0);
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
    let capacity = v.capacity();
    if capacity < MIN_POOLED {
        return;
    }
    let mut p = pool();
    if p.held + capacity <= p.cap {
        p.held += capacity;
        p.free.entry(class_below(capacity)).or_default().push(v);
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
    fn size_classes_are_at_most_a_quarter_above_the_request() {
        for n in 1..100_000 {
            assert!(class_above(n + 1) >= class_above(n), "classes grow with n");
        }
        for n in (1..100_000).chain([MIN_POOLED, 1 << 20, (1 << 20) + 1, 123_456_789]) {
            let c = class_above(n);
            assert!(c >= n && (c as f64) <= 1.25 * n as f64 + 4.0, "{n} -> {c}");
            assert_eq!(class_below(c), c, "{c} is a class");
            assert_eq!(class_above(c), c);
            let below = class_below(c + 1); // c itself, unless c + 1 is a class
            assert!(
                below == c || below == c + 1,
                "{} serves class {below}",
                c + 1
            );
        }
    }

    #[test]
    fn a_given_buffer_comes_back_for_lengths_of_its_class() {
        let n = class_above(MIN_POOLED + 17) + 1; // a class no other test uses
        let v = take(n);
        let ptr = v.as_ptr();
        let class = class_above(n);
        assert!(v.capacity() >= class);
        give(v);
        assert!(held() >= class);
        let other = take(class + 1); // the next class up
        assert_ne!(other.as_ptr(), ptr);
        let again = take(class - 1); // same class, another length
        assert_eq!(again.as_ptr(), ptr, "the cached vector is reused");
        assert_eq!(again.len(), class - 1);
        give(again);
        let zeroed = take_zeroed(n);
        assert_eq!(zeroed.as_ptr(), ptr);
        assert!(zeroed.iter().all(|&x| x == 0.0));
    }
}
