//! Criterion benchmarks of SGEMM: ours, `matrixmultiply` and `gemm` on the
//! benchmark shapes (square GEMMs and those of the models), one group per shape, on every rayon thread (set
//! RAYON_NUM_THREADS and MATMUL_NUM_THREADS to compare thread counts).
//!
//! Criterion runs contenders one after another, so on a noisy machine prefer
//! `cargo bench --bench gemm_peers` (interleaved rounds) for the ratios; this
//! bench gives criterion's statistics and history.
//!
//! `cargo bench --bench gemm -- 512x512x512`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

const SHAPES: [(usize, usize, usize); 12] = [
    (64, 64, 64),
    (128, 128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (64, 768, 256),
    (64, 1024, 256),
    (64, 5000, 512),
    (1280, 1024, 256),
    (1280, 256, 1024),
    (1280, 5000, 256),
];

fn bench(c: &mut Criterion) {
    let threads = rayon::current_num_threads();
    for &(m, n, k) in &SHAPES {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 17) as f32 / 17.0 - 0.5).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 13) as f32 / 13.0 - 0.5).collect();
        let mut out = vec![0.0f32; m * n];
        let mut g = c.benchmark_group(format!("sgemm/{m}x{n}x{k}/t{threads}"));
        g.throughput(Throughput::Elements((2 * m * n * k) as u64));
        if m * n * k >= 1 << 28 {
            g.sample_size(10);
        }
        g.bench_function(BenchmarkId::from_parameter("s2s"), |bn| {
            bn.iter(|| {
                kernels_cpu::sgemm(false, false, m, n, k, 1.0, &a, k, &b, n, 0.0, &mut out, n);
                black_box(&out);
            })
        });
        g.bench_function(BenchmarkId::from_parameter("matrixmultiply"), |bn| {
            bn.iter(|| {
                // SAFETY: row-major m x k, k x n and m x n buffers.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        k as isize,
                        1,
                        b.as_ptr(),
                        n as isize,
                        1,
                        0.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                };
                black_box(&out);
            })
        });
        let par = if threads > 1 {
            gemm::Parallelism::Rayon(threads)
        } else {
            gemm::Parallelism::None
        };
        g.bench_function(BenchmarkId::from_parameter("gemm"), |bn| {
            bn.iter(|| {
                // SAFETY: as above (`gemm`: dst = alpha*dst + beta*lhs*rhs).
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        out.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        a.as_ptr(),
                        1,
                        k as isize,
                        b.as_ptr(),
                        1,
                        n as isize,
                        0.0f32,
                        1.0f32,
                        false,
                        false,
                        false,
                        par,
                    )
                };
                black_box(&out);
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
