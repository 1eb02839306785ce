//! Criterion benchmarks of the GPU kernels, each beside its CPU twin on the
//! same shape, so criterion's report puts the two devices side by side.
//!
//! GPU iterations are timed with `kernels_gpu::time_gpu` (`iter_custom`):
//! timestamp queries where the adapter has them, else submit-and-wait. Without
//! an adapter the GPU half is skipped with a printed reason. On lavapipe (a CPU
//! emulation of Vulkan) the GPU numbers show the method, not GPU speed.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kernels_gpu::{self as gpu, GpuBuffer};
use std::time::Duration;

fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0.0; n];
    kernels_cpu::fill_uniform(seed, 0, -1.0, 1.0, &mut v);
    v
}

/// Total GPU time of `iters` launches.
fn gpu_time(iters: u64, launch: &mut dyn FnMut() -> Result<(), gpu::GpuError>) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let ((), t) = gpu::time_gpu(&mut *launch).expect("GPU launch");
        total += t.elapsed;
    }
    total
}

fn bench(c: &mut Criterion) {
    let gpu_ok = match gpu::context() {
        Ok(ctx) => {
            let a = ctx.adapter();
            if a.is_cpu_emulation {
                eprintln!(
                    "note: {} is a CPU emulation: GPU timings show the method, not GPU speed",
                    a.name
                );
            }
            true
        }
        Err(e) => {
            eprintln!("skipping the GPU half: {e}");
            false
        }
    };
    let up = |v: &[f32]| GpuBuffer::from_slice(v).expect("upload");

    for &n in &[256usize, 512] {
        let (a, b) = (data(n * n, 1), data(n * n, 2));
        let mut cpu_c = vec![0.0; n * n];
        let mut g = c.benchmark_group(format!("matmul/{n}x{n}x{n}"));
        g.throughput(Throughput::Elements((2 * n * n * n) as u64));
        g.sample_size(10);
        g.bench_function("cpu", |bch| {
            bch.iter(|| {
                kernels_cpu::sgemm(false, false, n, n, n, 1.0, &a, n, &b, n, 0.0, &mut cpu_c, n)
            })
        });
        if gpu_ok {
            let (ga, gb, gc) = (up(&a), up(&b), GpuBuffer::uninit(n * n).expect("alloc"));
            g.bench_function("gpu", |bch| {
                bch.iter_custom(|iters| {
                    gpu_time(iters, &mut || {
                        gpu::sgemm(false, false, n, n, n, 1.0, &ga, n, &gb, n, 0.0, &gc, n)
                    })
                })
            });
        }
        g.finish();
    }

    let (rows, cols) = (1280usize, 1024usize);
    let n = rows * cols;
    let (x, x2) = (data(n, 3), data(n, 4));
    let (gam, bet) = (data(cols, 5), data(cols, 6));
    let mut y = vec![0.0; n];
    let (mut mean, mut rstd) = (vec![0.0; rows], vec![0.0; rows]);
    let mut g = c.benchmark_group(format!("rows/{rows}x{cols}"));
    g.throughput(Throughput::Bytes((8 * n) as u64));
    g.sample_size(10);
    g.bench_function("softmax/cpu", |b| {
        b.iter(|| kernels_cpu::softmax(&x, rows, cols, &mut y))
    });
    g.bench_function("layer_norm/cpu", |b| {
        b.iter(|| {
            kernels_cpu::layer_norm(
                &x,
                Some(&gam),
                Some(&bet),
                rows,
                cols,
                1e-5,
                &mut y,
                &mut mean,
                &mut rstd,
            )
        })
    });
    g.bench_function("add/cpu", |b| {
        b.iter(|| {
            kernels_cpu::binary(
                kernels_cpu::BinaryOp::Add,
                &x,
                &[1],
                &x2,
                &[1],
                &[n],
                &mut y,
            )
        })
    });
    if gpu_ok {
        let (gx, gx2, gy) = (up(&x), up(&x2), GpuBuffer::uninit(n).expect("alloc"));
        let (ggam, gbet) = (up(&gam), up(&bet));
        let (gmean, grstd) = (
            GpuBuffer::uninit(rows).expect("alloc"),
            GpuBuffer::uninit(rows).expect("alloc"),
        );
        g.bench_function("softmax/gpu", |b| {
            b.iter_custom(|iters| gpu_time(iters, &mut || gpu::softmax(&gx, rows, cols, &gy)))
        });
        g.bench_function("layer_norm/gpu", |b| {
            b.iter_custom(|iters| {
                gpu_time(iters, &mut || {
                    gpu::layer_norm(
                        &gx,
                        Some(&ggam),
                        Some(&gbet),
                        rows,
                        cols,
                        1e-5,
                        &gy,
                        &gmean,
                        &grstd,
                    )
                })
            })
        });
        g.bench_function("add/gpu", |b| {
            b.iter_custom(|iters| {
                gpu_time(iters, &mut || {
                    gpu::binary(gpu::BinaryOp::Add, &gx, &[1], &gx2, &[1], &[n], &gy)
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
