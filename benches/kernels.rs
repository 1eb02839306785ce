//! Criterion benchmarks of the bandwidth-bound kernels (softmax, layer norm,
//! elementwise add, Adam) next to a plain `copy_from_slice` of the same
//! bytes: throughput is reported in bytes moved, so criterion's GB/s of each
//! kernel compares directly with the copy's.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0.0; n];
    kernels_cpu::fill_uniform(seed, 0, -1.0, 1.0, &mut v);
    v
}

fn bench(c: &mut Criterion) {
    for &(rows, cols) in &[(1280usize, 1024usize), (1280, 5000)] {
        let n = rows * cols;
        let x = data(n, 1);
        let (gam, bet) = (data(cols, 2), data(cols, 3));
        let mut y = vec![0.0; n];
        let (mut mean, mut rstd) = (vec![0.0; rows], vec![0.0; rows]);
        let mut g = c.benchmark_group(format!("rows/{rows}x{cols}"));
        g.throughput(Throughput::Bytes((8 * n) as u64));
        g.bench_function("copy", |b| {
            b.iter(|| {
                y.copy_from_slice(&x);
                black_box(&y);
            })
        });
        g.bench_function("softmax", |b| {
            b.iter(|| kernels_cpu::softmax(&x, rows, cols, &mut y))
        });
        g.bench_function("layer_norm", |b| {
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
        g.finish();
    }
    for &n in &[1usize << 18, 1 << 22] {
        let (a, b2) = (data(n, 4), data(n, 5));
        let mut out = vec![0.0; n];
        let mut g = c.benchmark_group(format!("elementwise/{n}"));
        g.throughput(Throughput::Bytes((8 * n) as u64));
        g.bench_function("copy", |b| {
            b.iter(|| {
                out.copy_from_slice(&a);
                black_box(&out);
            })
        });
        g.throughput(Throughput::Bytes((12 * n) as u64));
        g.bench_function("add", |b| {
            b.iter(|| {
                kernels_cpu::binary(
                    kernels_cpu::BinaryOp::Add,
                    &a,
                    &[1],
                    &b2,
                    &[1],
                    &[n],
                    &mut out,
                )
            })
        });
        g.throughput(Throughput::Bytes((28 * n) as u64));
        let (mut p, mut m, mut v) = (data(n, 6), vec![0.0; n], vec![0.0; n]);
        let hp = kernels_cpu::AdamParams {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            step: 1,
        };
        g.bench_function("adam", |b| {
            b.iter(|| kernels_cpu::adam_step(&mut p, &a, &mut m, &mut v, &hp))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
