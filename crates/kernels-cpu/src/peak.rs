//! This machine's f32 FMA peak, measured: a loop of independent fused
//! multiply-adds in registers (no memory traffic), on 1..N threads.
//!
//! Every GEMM figure in the benchmarks is also reported as a fraction of this
//! number. The loop keeps 16 (AVX-512) or 12 (AVX2) accumulator chains in
//! flight, enough to cover the FMA latency (4 cycles) on two FMA ports; the
//! portable path uses separate multiplies and adds and only shows what plain
//! code reaches.

use crate::{isa, Isa};
use std::time::{Duration, Instant};

/// One peak measurement.
#[derive(Clone, Copy, Debug)]
pub struct Peak {
    /// The instruction set the loop ran with.
    pub isa: Isa,
    /// Threads that ran the loop at once.
    pub threads: usize,
    /// Floating-point operations per second, in 10^9 (an FMA counts as 2).
    pub gflops: f64,
}

/// Measure the FMA peak of `threads` threads running together for about
/// `duration`, with the current [`isa()`].
pub fn fma_peak(threads: usize, duration: Duration) -> Peak {
    let isa = isa();
    let threads = threads.max(1);
    // Calibrate the chunk size on this thread so each chunk takes ~1 ms.
    let mut iters = 1 << 12;
    loop {
        let t = Instant::now();
        std::hint::black_box(chunk(isa, iters));
        if t.elapsed() > Duration::from_micros(500) || iters > 1 << 30 {
            break;
        }
        iters *= 2;
    }
    let barrier = std::sync::Barrier::new(threads);
    let per_thread: Vec<(f64, f64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let t = Instant::now();
                    let mut flops = 0.0;
                    while t.elapsed() < duration {
                        std::hint::black_box(chunk(isa, iters));
                        flops += flops_per_iter(isa) * iters as f64;
                    }
                    (flops, t.elapsed().as_secs_f64())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let gflops = per_thread.iter().map(|(f, t)| f / t).sum::<f64>() / 1e9;
    Peak {
        isa,
        threads,
        gflops,
    }
}

fn flops_per_iter(isa: Isa) -> f64 {
    match isa {
        Isa::Avx512 => (16 * 16 * 2) as f64,
        Isa::Avx2Fma => (12 * 8 * 2) as f64,
        Isa::Portable => (8 * 8 * 2) as f64,
    }
}

fn chunk(isa: Isa, iters: usize) -> f32 {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa()` only returns ISAs the CPU supports.
        Isa::Avx512 => unsafe { x86::avx512(iters) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2Fma => unsafe { x86::avx2(iters) },
        _ => portable(iters),
    }
}

fn portable(iters: usize) -> f32 {
    let x = std::hint::black_box(0.999f32);
    let y = std::hint::black_box(1e-7f32);
    let mut acc = [[0.0f32; 8]; 8];
    for _ in 0..iters {
        for a in acc.iter_mut() {
            for v in a.iter_mut() {
                *v = *v * x + y;
            }
        }
    }
    acc.iter().flatten().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn avx512(iters: usize) -> f32 {
        let x = _mm512_set1_ps(std::hint::black_box(0.999));
        let y = _mm512_set1_ps(std::hint::black_box(1e-7));
        let mut acc = [_mm512_setzero_ps(); 16];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = _mm512_fmadd_ps(*a, x, y);
            }
        }
        let mut s = _mm512_setzero_ps();
        for a in acc {
            s = _mm512_add_ps(s, a);
        }
        _mm512_reduce_add_ps(s)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(iters: usize) -> f32 {
        let x = _mm256_set1_ps(std::hint::black_box(0.999));
        let y = _mm256_set1_ps(std::hint::black_box(1e-7));
        let mut acc = [_mm256_setzero_ps(); 12];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = _mm256_fmadd_ps(*a, x, y);
            }
        }
        let mut s = _mm256_setzero_ps();
        for a in acc {
            s = _mm256_add_ps(s, a);
        }
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }
}
