//! Times every rung of the matmul ladder on the process's adapter.
//!
//! `cargo run -p kernels-gpu --release --example matmul_ladder [sizes…]`
//! On a CPU emulation (lavapipe) the numbers show the method, not GPU speed.

use kernels_gpu::{gemm_with, time_gpu, Gemm, GpuBuffer, MatmulKernel};

fn main() -> Result<(), kernels_gpu::GpuError> {
    let ctx = kernels_gpu::context()?;
    let adapter = ctx.adapter();
    println!(
        "adapter: {} ({}, {})",
        adapter.name, adapter.backend, adapter.device_type
    );
    if adapter.is_cpu_emulation {
        println!("note: a CPU emulation — these numbers show the method, not GPU speed");
    }
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![256, 512, 1024]
    } else {
        sizes
    };
    for n in sizes {
        let a = GpuBuffer::filled(n * n, 0.5)?;
        let b = GpuBuffer::filled(n * n, 0.25)?;
        let c = GpuBuffer::zeros(n * n)?;
        let g = Gemm {
            batch: 1,
            trans_a: false,
            trans_b: false,
            m: n,
            n,
            k: n,
            alpha: 1.0,
            lda: n,
            stride_a: 0,
            ldb: n,
            stride_b: 0,
            beta: 0.0,
            ldc: n,
            stride_c: 0,
        };
        for kernel in MatmulKernel::ALL {
            gemm_with(kernel, &g, &a, &b, &c)?; // warm-up: JIT compilation
            let reps = 3;
            let ((), t) = time_gpu(|| {
                for _ in 0..reps {
                    gemm_with(kernel, &g, &a, &b, &c)?;
                }
                Ok(())
            })?;
            let seconds = t.elapsed.as_secs_f64() / reps as f64;
            let gflops = 2.0 * (n * n * n) as f64 / seconds / 1e9;
            let name = format!("{kernel:?}");
            println!(
                "{n:>5}  {name:<12} {:>10.3} ms  {gflops:>7.2} GFLOP/s  ({:?})",
                seconds * 1e3,
                t.method
            );
        }
    }
    Ok(())
}
