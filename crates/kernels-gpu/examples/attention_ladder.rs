//! Times both rungs of fused attention — one query row per workgroup
//! (attention.wgsl) and 16 query rows per workgroup sharing K/V tiles
//! (attention_blocked.wgsl) — forward and backward, on the process's adapter.
//!
//! `cargo run -p kernels-gpu --release --example attention_ladder [B·H,L,d …]`
//! (self-attention shapes, default: the benchmark Transformer's layer and
//! two longer sequences). On a CPU emulation (lavapipe) the numbers show the
//! method, not GPU speed.

use kernels_gpu::{
    attention_backward, attention_forward, time_gpu, Attention, AttentionKernel, GpuBuffer,
    GpuError,
};

fn main() -> Result<(), GpuError> {
    let ctx = kernels_gpu::context()?;
    let adapter = ctx.adapter();
    println!(
        "adapter: {} ({}, {})",
        adapter.name, adapter.backend, adapter.device_type
    );
    if adapter.is_cpu_emulation {
        println!("note: a CPU emulation — these numbers show the method, not GPU speed");
    }
    let shapes: Vec<[usize; 3]> = std::env::args()
        .skip(1)
        .filter_map(|s| {
            let v: Vec<usize> = s.split(',').filter_map(|x| x.parse().ok()).collect();
            (v.len() == 3).then(|| [v[0], v[1], v[2]])
        })
        .collect();
    let shapes = if shapes.is_empty() {
        vec![[256, 20, 32], [32, 128, 64], [8, 512, 64]]
    } else {
        shapes
    };
    println!("B·H x L x d      rung      forward ms  backward ms");
    for [bh, l, d] in shapes {
        let n = bh * l * d;
        let (q, k, v) = (
            GpuBuffer::filled(n, 0.5)?,
            GpuBuffer::filled(n, 0.25)?,
            GpuBuffer::filled(n, 0.125)?,
        );
        let (o, lse, d_o) = (
            GpuBuffer::zeros(n)?,
            GpuBuffer::zeros(bh * l)?,
            GpuBuffer::filled(n, 1.0)?,
        );
        let (dq, dk, dv) = (
            GpuBuffer::zeros(n)?,
            GpuBuffer::zeros(n)?,
            GpuBuffer::zeros(n)?,
        );
        for kernel in [AttentionKernel::Rows, AttentionKernel::Blocked] {
            let a = Attention {
                batch: bh,
                heads: 1,
                tq: l,
                tk: l,
                d,
                dv: d,
                scale: 1.0 / (d as f32).sqrt(),
                causal: true,
                kernel,
                ..Attention::default()
            };
            let forward = || attention_forward(&a, &q, &k, &v, None, &o, &lse, None);
            let backward =
                || attention_backward(&a, &q, &k, &v, None, &o, &lse, &d_o, &dq, &dk, &dv);
            forward()?; // warm-up: JIT compilation
            backward()?;
            let reps = 3;
            let ((), tf) = time_gpu(|| (0..reps).try_for_each(|_| forward()))?;
            let ((), tb) = time_gpu(|| (0..reps).try_for_each(|_| backward()))?;
            let ms = |t: std::time::Duration| t.as_secs_f64() * 1e3 / reps as f64;
            println!(
                "{:<16} {:<9} {:>10.3} {:>12.3}  ({:?})",
                format!("{bh}x{l}x{d}"),
                format!("{kernel:?}"),
                ms(tf.elapsed),
                ms(tb.elapsed),
                tf.method
            );
        }
    }
    Ok(())
}
