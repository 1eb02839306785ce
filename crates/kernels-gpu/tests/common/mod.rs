//! Shared by the GPU test files: adapter detection and comparisons.
#![allow(dead_code)]

pub mod half_checks;
pub mod row_checks;

/// The GPU context, or `None` after printing why the test is skipped (see
/// [`kernels_gpu::gpu_ready_for_tests`]: with `S2S_REQUIRE_GPU=1` a missing
/// adapter fails the test instead).
pub fn gpu() -> Option<&'static kernels_gpu::GpuContext> {
    kernels_gpu::gpu_ready_for_tests().then(|| kernels_gpu::context().unwrap())
}

/// Asserts |got - want| <= tol * (1 + |want|) elementwise, naming the first
/// bad index. NaNs must match NaNs.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= tol * (1.0 + w.abs())
        };
        assert!(ok, "{what}: element {i}: gpu {g} vs cpu {w} (tol {tol})");
    }
}

/// Deterministic pseudo-random data in [lo, hi) (a tiny LCG: tests need
/// variety, not quality).
pub fn data(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 40) as f32 / (1u64 << 24) as f32;
            lo + (hi - lo) * u
        })
        .collect()
}

/// Upload host data.
pub fn up(host: &[f32]) -> kernels_gpu::GpuBuffer {
    kernels_gpu::GpuBuffer::from_slice(host).unwrap()
}

/// Read a buffer back.
pub fn down(buffer: &kernels_gpu::GpuBuffer) -> Vec<f32> {
    buffer.to_vec().unwrap()
}

/// A buffer of `n` floats a kernel will overwrite. Filled with NaN so that an
/// element the kernel forgets shows up in the comparison.
pub fn out(n: usize) -> kernels_gpu::GpuBuffer {
    kernels_gpu::GpuBuffer::filled(n, f32::NAN).unwrap()
}

/// Sizes every kernel is tried on: 1, primes, powers of two and their
/// neighbours (the workgroup and tile edges).
pub const SIZES: [usize; 8] = [1, 2, 7, 31, 64, 257, 1000, 4099];
