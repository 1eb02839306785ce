//! The int8 linear layer against the f32 one (`sgemm_bias`) on the
//! Transformer's shapes: `y [m, n] = x [m, k] · Wᵀ + b`, m the rows of a
//! decoding step or of a source batch, (n, k) a projection's shape.
//!
//! Rounds are interleaved (f32, int8, f32, ...) so that a noisy machine
//! slows both alike; each figure is the fastest round (on a shared machine
//! the minimum is the figure least disturbed by other work). The int8 time
//! includes quantizing x, as in inference; the weights are quantized once,
//! outside the timing.
//!
//! `cargo run --release -p kernels-cpu --example int8_gemm`
//! (`S2S_CPU_ISA=avx2` for the AVX2 kernel, `RAYON_NUM_THREADS=1` for one thread)

use kernels_cpu::{int8_kernel, linear_int8, sgemm_bias, QuantizedMatrix};
use std::hint::black_box;
use std::time::Instant;

/// (n, k): the projections of a d_model 256 Transformer and a vocabulary.
const LAYERS: [(&str, usize, usize); 5] = [
    ("qkv 768x256", 768, 256),
    ("out 256x256", 256, 256),
    ("ff1 1024x256", 1024, 256),
    ("ff2 256x1024", 256, 1024),
    ("vocab 8000x256", 8000, 256),
];
const ROWS: [usize; 5] = [5, 40, 80, 160, 320];

fn fastest(v: Vec<f64>) -> f64 {
    v.into_iter().fold(f64::INFINITY, f64::min)
}

/// Seconds per call of `f`, over enough calls to take about 2 ms.
fn time(mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 0;
    while start.elapsed().as_secs_f64() < 2e-3 {
        f();
        calls += 1;
    }
    start.elapsed().as_secs_f64() / calls as f64
}

fn main() {
    println!(
        "int8 kernel: {}, rayon threads: {}",
        int8_kernel().name(),
        rayon::current_num_threads()
    );
    println!(
        "{:<16} {:>5} {:>11} {:>11} {:>8} {:>10}",
        "layer", "m", "f32 µs", "int8 µs", "speedup", "int8 GOP/s"
    );
    for (name, n, k) in LAYERS {
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        let b: Vec<f32> = (0..n).map(|i| (i % 13) as f32 / 13.0).collect();
        let q = QuantizedMatrix::quantize(&w, n, k);
        for m in ROWS {
            let x: Vec<f32> = (0..m * k)
                .map(|i| ((i * 104729) % 997) as f32 / 997.0 - 0.5)
                .collect();
            let mut y = vec![0.0f32; m * n];
            let (mut f32s, mut int8s) = (Vec::new(), Vec::new());
            for _ in 0..15 {
                f32s.push(time(|| {
                    sgemm_bias(false, true, m, n, k, 1.0, &x, k, &w, k, &b, &mut y, n);
                    black_box(&y);
                }));
                int8s.push(time(|| {
                    linear_int8(&x, m, &q, Some(&b), &mut y);
                    black_box(&y);
                }));
            }
            let (tf, ti) = (fastest(f32s), fastest(int8s));
            println!(
                "{name:<16} {m:>5} {:>11.1} {:>11.1} {:>7.2}x {:>10.1}",
                tf * 1e6,
                ti * 1e6,
                tf / ti,
                2.0 * (m * n * k) as f64 / ti / 1e9
            );
        }
    }
}
