//! Keeping a pool's workers awake between parallel kernels (`par::keep_warm`):
//! keepers start on the other workers when a kernel runs inside a pool, never
//! for callers outside one, leave once kernels stop, and products computed
//! through them are exact. One test per file: the keeper flags are global,
//! and tests in one binary run side by side.

use kernels_cpu::{sgemm, warm_workers};
use std::time::{Duration, Instant};

/// A product large enough to be split across threads.
fn product(a: &[f32], b: &[f32], n: usize) -> Vec<f32> {
    let mut c = vec![0.0; n * n];
    sgemm(false, false, n, n, n, 1.0, a, n, b, n, 0.0, &mut c, n);
    c
}

/// Polls `cond` for up to 2 s (keepers are rayon jobs: they start when a
/// worker picks them up, which on a loaded machine takes a while).
fn eventually(cond: impl Fn() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(2) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cond()
}

#[test]
fn keepers_run_only_inside_a_pool_and_stop_when_kernels_stop() {
    let n = 192;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 - 3.0).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 5) as f32 - 2.0).collect();
    let want = product(&a, &b, n); // outside any pool: the global one
    assert_eq!(warm_workers(), 0, "a caller outside a pool got keepers");

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    pool.install(|| {
        assert_eq!(product(&a, &b, n), want);
        // The two workers other than this one spin until ~2 ms after the
        // last kernel: keep starting kernels until both are seen.
        assert!(
            eventually(|| {
                assert_eq!(product(&a, &b, n), want);
                warm_workers() == 2
            }),
            "expected 2 kept workers, saw {}",
            warm_workers()
        );
        // Serial stretches between kernels: results come through keepers.
        for _ in 0..20 {
            std::thread::sleep(Duration::from_micros(300));
            assert_eq!(product(&a, &b, n), want);
        }
    });
    assert!(
        eventually(|| warm_workers() == 0),
        "{} keepers still running after kernels stopped",
        warm_workers()
    );
}
