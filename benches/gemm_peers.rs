//! SGEMM: ours against the `matrixmultiply` and `gemm` crates, interleaved in
//! rounds on one machine state (the machine is noisy; never trust one run).
//!
//! ```text
//! cargo bench --bench gemm_peers                        # 1 and 2 threads, all shapes
//! S2S_BENCH_THREADS=2 S2S_BENCH_ROUNDS=7 cargo bench --bench gemm_peers
//! S2S_BENCH_SHAPES=512x512x512,64x5000x512 cargo bench --bench gemm_peers
//! ```
//!
//! Each round times every contender once per shape (a sample is a batch of
//! calls lasting about `S2S_BENCH_SAMPLE_MS`, 30 by default); the table shows
//! the median GFLOP/s over rounds, ours as a fraction of this machine's FMA
//! peak, and the ratios ours / peer. `matrixmultiply` reads its thread count
//! once per process (MATMUL_NUM_THREADS), so each thread count runs in its own
//! child process.

use std::hint::black_box;
use std::time::{Duration, Instant};

const SQUARE: [usize; 6] = [64, 128, 256, 512, 1024, 2048];
const MODEL: [(usize, usize, usize); 6] = [
    (64, 768, 256),
    (64, 1024, 256),
    (64, 5000, 512),
    (1280, 1024, 256),
    (1280, 256, 1024),
    (1280, 5000, 256),
];

fn shapes() -> Vec<(usize, usize, usize)> {
    if let Ok(s) = std::env::var("S2S_BENCH_SHAPES") {
        return s
            .split(',')
            .map(|t| {
                let v: Vec<usize> = t.split('x').map(|x| x.trim().parse().unwrap()).collect();
                (v[0], v[1], v[2])
            })
            .collect();
    }
    SQUARE
        .iter()
        .map(|&s| (s, s, s))
        .chain(MODEL.iter().copied())
        .collect()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

type Contender = (&'static str, Box<dyn FnMut() + Send>);

fn contenders(m: usize, n: usize, k: usize, threads: usize) -> Vec<Contender> {
    let a: Vec<f32> = (0..m * k)
        .map(|i| ((i * 7 % 13) as f32 - 6.0) / 7.0)
        .collect();
    let b: Vec<f32> = (0..k * n)
        .map(|i| ((i * 5 % 11) as f32 - 5.0) / 5.0)
        .collect();
    let (a1, b1) = (a.clone(), b.clone());
    let mut c1 = vec![0.0f32; m * n];
    let ours = move || {
        kernels_cpu::sgemm(false, false, m, n, k, 1.0, &a1, k, &b1, n, 0.0, &mut c1, n);
        black_box(&c1);
    };
    let (a2, b2) = (a.clone(), b.clone());
    let mut c2 = vec![0.0f32; m * n];
    let mm = move || {
        // SAFETY: the slices hold row-major m x k, k x n and m x n matrices.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a2.as_ptr(),
                k as isize,
                1,
                b2.as_ptr(),
                n as isize,
                1,
                0.0,
                c2.as_mut_ptr(),
                n as isize,
                1,
            )
        };
        black_box(&c2);
    };
    let (a3, b3) = (a, b);
    let mut c3 = vec![0.0f32; m * n];
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let gm = move || {
        // SAFETY: as above; `gemm` computes dst = alpha*dst + beta*lhs*rhs.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c3.as_mut_ptr(),
                1,
                n as isize,
                false,
                a3.as_ptr(),
                1,
                k as isize,
                b3.as_ptr(),
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
        black_box(&c3);
    };
    vec![
        ("s2s", Box::new(ours)),
        ("matrixmultiply", Box::new(mm)),
        ("gemm", Box::new(gm)),
    ]
}

/// Seconds per call: a batch of calls lasting about `sample`.
fn time(f: &mut (dyn FnMut() + Send), sample: Duration) -> f64 {
    let t = Instant::now();
    f();
    let once = t.elapsed().max(Duration::from_nanos(100));
    let reps = (sample.as_secs_f64() / once.as_secs_f64()).clamp(1.0, 100_000.0) as usize;
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    t.elapsed().as_secs_f64() / reps as f64
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn run(threads: usize) {
    let rounds = env_usize("S2S_BENCH_ROUNDS", 5);
    let sample = Duration::from_millis(env_usize("S2S_BENCH_SAMPLE_MS", 30) as u64);
    let peak = kernels_cpu::peak::fma_peak(threads, Duration::from_millis(300)).gflops;
    let shapes = shapes();
    // Every contender runs on the pool's worker thread (the whole timed batch
    // inside one `install`), so no call pays for a hop between threads.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut all: Vec<Vec<Contender>> = shapes
        .iter()
        .map(|&(m, n, k)| contenders(m, n, k, threads))
        .collect();
    let names: Vec<&str> = all[0].iter().map(|c| c.0).collect();
    let mut secs = vec![vec![Vec::new(); names.len()]; shapes.len()];
    for _round in 0..rounds {
        for (s, cs) in all.iter_mut().enumerate() {
            for (i, (_, f)) in cs.iter_mut().enumerate() {
                secs[s][i].push(pool.install(|| time(f.as_mut(), sample)));
            }
        }
    }
    println!(
        "\nthreads {threads}, FMA peak {peak:.1} GFLOP/s, median of {rounds} interleaved rounds (GFLOP/s)"
    );
    print!("{:>16}", "M x N x K");
    for n in &names {
        print!(" {n:>15}");
    }
    println!(" {:>9} {:>10} {:>10}", "s2s %pk", "s2s/mm", "s2s/gemm");
    for (s, &(m, n, k)) in shapes.iter().enumerate() {
        let flops = 2.0 * (m * n * k) as f64;
        let g: Vec<f64> = secs[s]
            .iter_mut()
            .map(|v| flops / median(v) / 1e9)
            .collect();
        print!("{:>16}", format!("{m}x{n}x{k}"));
        for x in &g {
            print!(" {x:>15.1}");
        }
        println!(
            " {:>8.0}% {:>10.2} {:>10.2}",
            100.0 * g[0] / peak,
            g[0] / g[1],
            g[0] / g[2]
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Ok(t) = std::env::var("S2S_BENCH_CHILD_THREADS") {
        run(t.parse().unwrap());
        return;
    }
    let threads: Vec<usize> = match std::env::var("S2S_BENCH_THREADS") {
        Ok(t) => t.split(',').map(|x| x.trim().parse().unwrap()).collect(),
        Err(_) => vec![1, 2],
    };
    let exe = std::env::current_exe().unwrap();
    for t in threads {
        let status = std::process::Command::new(&exe)
            .env("S2S_BENCH_CHILD_THREADS", t.to_string())
            .env("MATMUL_NUM_THREADS", t.to_string())
            .env("RAYON_NUM_THREADS", t.to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}
