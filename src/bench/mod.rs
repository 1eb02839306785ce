//! `s2s bench`: time kernels on this machine and print a table.
//!
//! ```text
//! s2s bench matmul --threads 1,2
//! s2s bench matmul softmax copy --shapes 512x512x512 --json out.json --plot out.svg
//! s2s bench peak
//! s2s bench train-step --model all --threads 2 --torch benches/peers/torch_train_step.py
//! s2s bench translate --model runs/m30k --test-src test.de --beam 1,5 --threads 1,2
//! ```
//!
//! Method (the machine is noisy, so one run means little): every
//! (kernel, shape, threads) case is measured once per *round*, the rounds are
//! interleaved so slow phases of the machine hit every case alike, and the
//! table reports the median over rounds. A sample is a batch of calls lasting
//! about `--sample-ms`; the first call of each case is a warm-up.
//!
//! Kernels: `matmul` (GFLOP/s and % of the measured FMA peak), `softmax`,
//! `layer_norm`, `add`, `adam` and `copy` (GB/s; `copy` is a plain
//! `copy_from_slice` of the same bytes, the bandwidth baseline), and `peak`
//! (the FMA-loop peak itself). `train-step` times a whole training step of
//! the benchmark models (train_step.rs); `translate` times a trained model
//! translating a test set (translate.rs). Each kernel says how it runs on each device in
//! [`kernels`]; the GPU side plugs in per kernel through [`gpu::runner`].

mod gpu;
mod kernels;
mod plot;
mod train_step;
mod translate;

use anyhow::{bail, Context, Result};
use kernels::{Kernel, Runner};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceSel {
    Cpu,
    Gpu,
    All,
}

/// Arguments of `s2s bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to time: kernels (peak, matmul, softmax, layer_norm, attention,
    /// add, adam, copy, or `all` of them), or `train-step` or `translate`
    /// alone; --help says what each measures.
    ///
    /// peak: the CPU's FMA throughput from a register-only loop, in GFLOP/s
    /// per thread count; the ceiling matmul's "% of peak" column is taken
    /// against.
    ///
    /// matmul (alias gemm): single-precision C = A·B of MxNxK, in GFLOP/s
    /// (2·M·N·K per call) and % of peak. Defaults: squares 64 to 2048 and
    /// the shapes our models run (batch 64 or 1280 rows by 256 to 5000).
    ///
    /// softmax, layer_norm: row-wise over ROWSxCOLS (default 1280x256 up to
    /// 1280x5000), in GB/s of the bytes read and written: memory-bound, so
    /// compare them with copy.
    ///
    /// attention: softmax(Q Kᵀ/√d) V over BHxLxSxD (batch·heads, queries,
    /// keys, head size), in GFLOP/s of the two products (4·BH·L·S·D): on the
    /// GPU the fused kernel, on the CPU Q Kᵀ, softmax, P V. Defaults: the
    /// benchmark Transformer's 256x20x20x64, then 32x128x128x64, 8x512x512x64.
    ///
    /// add: element-wise a + b over N floats (default 256 Ki, 4 Mi, 16 Mi),
    /// in GB/s (two reads, one write).
    ///
    /// adam: one Adam update of N parameters (reads p, g, m, v; writes p,
    /// m, v), in GB/s: the optimizer's cost per step.
    ///
    /// copy: copy_from_slice of the same bytes as a one-in one-out kernel;
    /// the memory-bandwidth baseline the others are read against.
    ///
    /// train-step: a whole training step (forward, backward, Adam) of the
    /// benchmark models (--model gru-attn, transformer or all; vocabulary
    /// 5000, batch 64), in ms per step and target tokens/s; --torch runs
    /// the PyTorch twin in the same rounds and prints the ratio.
    ///
    /// translate: a trained model (--model DIR) translating a test set
    /// (--test-src FILE) for each --beam width and --threads count, in
    /// sentences/s and output tokens/s of the median round; the inputs are
    /// prepared and batched as `s2s eval` does.
    #[arg(required = true, num_args = 1.., value_name = "BENCH")]
    pub kernels: Vec<String>,
    /// Device to run on.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceSel,
    /// CPU thread counts, comma-separated (default: 1 and all cores).
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// Shapes, comma-separated: MxNxK for matmul, ROWSxCOLS for softmax and
    /// layer_norm, BHxLxSxD for attention, an element count N (or ROWSxCOLS) for add, adam, copy;
    /// each kernel takes the shapes that fit it.
    #[arg(long, value_delimiter = ',')]
    pub shapes: Vec<String>,
    /// Interleaved rounds; the table shows the median.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Target length of one timed batch of calls, in milliseconds.
    #[arg(long, default_value_t = 30)]
    pub sample_ms: u64,
    /// Write one JSON record per measurement to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a bar chart of GFLOP/s (and GB/s) per shape to this file: SVG,
    /// or PNG when its name ends in .png.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// train-step: gru-attn, transformer or all [default: all];
    /// translate: the run directory (its best/ checkpoint, else last/) or
    /// checkpoint directory to load.
    #[arg(long)]
    pub model: Option<String>,
    /// train-step: timed steps per round.
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    /// train-step: also run this PyTorch script (benches/peers/torch_train_step.py)
    /// in every round and print the ratio.
    #[arg(long, value_name = "SCRIPT")]
    pub torch: Option<PathBuf>,
    /// translate: the source sentences, one per line (blank lines are
    /// skipped), in the language the model translates from.
    #[arg(long, value_name = "FILE")]
    pub test_src: Option<PathBuf>,
    /// translate: beam widths, comma-separated (1 is greedy search; e.g.
    /// 1,5 times both in the same rounds) [default: 1].
    #[arg(long, value_delimiter = ',', value_name = "K")]
    pub beam: Vec<usize>,
    /// translate: weights of the matrix products, comma-separated: f32,
    /// int8 (CPU only; f32,int8 times both in the same rounds) [default: f32].
    #[arg(long, value_delimiter = ',', value_name = "TYPE", value_enum)]
    pub quantize: Vec<crate::translate_cmd::Quantize>,
    /// translate: time only the first N sentences of --test-src.
    #[arg(long, value_name = "N")]
    pub max_sentences: Option<usize>,
    /// translate: sentences decoded together, grouped by length as in
    /// `s2s eval` [default: 64].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// translate: translators at once, comma-separated (CTranslate2's
    /// inter_threads): with T threads and N translators each decodes its
    /// own batches on T / N threads; every N must divide every T [default: 1].
    #[arg(long, value_delimiter = ',', value_name = "N")]
    pub inter_threads: Vec<usize>,
    /// translate: the length penalty's rule, gnmt or power (as `s2s
    /// translate --length-norm`) [default: gnmt].
    #[arg(long, value_enum, value_name = "RULE")]
    pub length_norm: Option<crate::translate_cmd::LengthNormArg>,
    /// translate: write, per beam width and sentence, the source token ids
    /// the model read and the output ids it wrote, one JSON record a line
    /// (for comparing with another engine: scripts/check_ctranslate2.py).
    #[arg(long, value_name = "FILE")]
    pub dump_tokens: Option<PathBuf>,
}

/// One line of the table and one JSON record.
#[derive(Clone, Debug)]
pub struct Record {
    pub kernel: String,
    pub device: &'static str,
    pub shape: Vec<usize>,
    pub threads: usize,
    pub seconds: f64,
    pub gflops: Option<f64>,
    pub gbps: Option<f64>,
    /// GFLOP/s as a percentage of the FMA peak at this thread count.
    pub peak_pct: Option<f64>,
}

impl Record {
    fn json(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("null".to_string(), |x| format!("{x:.4}"));
        let shape: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        format!(
            "{{\"kernel\":\"{}\",\"device\":\"{}\",\"shape\":[{}],\"threads\":{},\"seconds\":{:e},\"gflops\":{},\"gbps\":{}}}",
            self.kernel,
            self.device,
            shape.join(","),
            self.threads,
            self.seconds,
            opt(self.gflops),
            opt(self.gbps)
        )
    }
}

fn parse_shape(s: &str) -> Result<Vec<usize>> {
    s.split('x')
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .with_context(|| format!("bad shape {s:?}: expected e.g. 512x512x512"))
        })
        .collect()
}

/// Seconds per call of `f`: a warm-up call, then a batch lasting about
/// `sample`. When every call reports a device-measured time (GPU timestamp
/// queries), their mean is the answer; otherwise the batch's wall time.
fn time(f: &mut dyn FnMut() -> Option<Duration>, sample: Duration) -> f64 {
    let t = Instant::now();
    let first = f();
    let once = first
        .unwrap_or_else(|| t.elapsed())
        .max(t.elapsed())
        .max(Duration::from_nanos(50));
    let reps = (sample.as_secs_f64() / once.as_secs_f64()).clamp(1.0, 1e6) as usize;
    let mut device = Some(Duration::ZERO);
    let t = Instant::now();
    for _ in 0..reps {
        device = match (device, f()) {
            (Some(total), Some(d)) => Some(total + d),
            _ => None,
        };
    }
    match device {
        Some(total) => total.as_secs_f64() / reps as f64,
        None => t.elapsed().as_secs_f64() / reps as f64,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// One (kernel, device, shape, threads) case with its prepared runner.
struct Case {
    kernel: Kernel,
    device: &'static str,
    shape: Vec<usize>,
    threads: usize,
    run: Runner,
    secs: Vec<f64>,
}

/// Bytes the buffers of one case of `shape` take: A, B and C of a matmul
/// `MxNxK`; up to four tensors of the element count otherwise (Adam's
/// weights, gradients and two moments).
fn shape_bytes(shape: &[usize]) -> u128 {
    let d: Vec<u128> = shape.iter().map(|&x| x as u128).collect();
    match d.as_slice() {
        [m, n, k] => 4 * (m * k + k * n + m * n),
        _ => 16 * d.iter().product::<u128>(),
    }
}

/// The largest M, N or K of a matmul shape.
const MAX_MATMUL_SIDE: usize = 1 << 15;
/// The most elements of any other shape.
const MAX_ELEMENTS: usize = 1 << 31;

/// Checks the counts and shapes before any buffer or thread pool exists.
fn check_args(args: &BenchArgs, cores: usize) -> Result<()> {
    // Far more threads than cores measure the scheduler, not the kernel,
    // and a pool of many thousands cannot even be spawned.
    let max_threads = (4 * cores).max(8);
    for &t in &args.threads {
        crate::checks::count("--threads", t, 1, max_threads)?;
    }
    crate::checks::count("--rounds", args.rounds, 1, 1000)?;
    crate::checks::count("--steps", args.steps, 1, 10_000)?;
    crate::checks::count("--sample-ms", args.sample_ms as usize, 1, 60_000)?;
    for s in &args.shapes {
        let shape = parse_shape(s)?;
        if shape.is_empty() || shape.len() > 4 || shape.contains(&0) {
            bail!("--shapes {s}: give MxNxK, ROWSxCOLS, BHxLxSxD or N, every size at least 1");
        }
        // A matmul beyond this per side takes hours per call on a CPU, and
        // more elements than this are no tensor the engine indexes.
        if shape.len() == 3 && shape.iter().any(|&d| d > MAX_MATMUL_SIDE) {
            bail!(
                "--shapes {s}: each size of a matmul must be between 1 and {MAX_MATMUL_SIDE} \
                 (larger ones take hours per call; the rate is the same at smaller sizes)"
            );
        }
        let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if elements.is_none_or(|n| n > MAX_ELEMENTS) {
            bail!("--shapes {s}: at most {MAX_ELEMENTS} elements per tensor");
        }
        seq2seq::train::limits::check_fits(shape_bytes(&shape), || {
            format!("--shapes {s}: the buffers of this shape")
        })
        .map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// Run `s2s bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    check_args(
        &args,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    )?;
    for (path, opt) in [(&args.json, "--json"), (&args.plot, "--plot")] {
        if let Some(path) = path {
            crate::guard::refuse_checkpoint_output(path, opt)?;
        }
    }
    if args.kernels.iter().any(|k| k == "translate") {
        if args.kernels.len() > 1 {
            bail!("translate is timed on its own: drop {:?}", args.kernels);
        }
        return translate::run(&args);
    }
    if let Some(opt) = translate::own_options(&args).first() {
        bail!("{opt} applies to `s2s bench translate` only");
    }
    if args.kernels.iter().any(|k| k == "train-step") {
        if args.kernels.len() > 1 {
            bail!("train-step is timed on its own: drop {:?}", args.kernels);
        }
        return train_step::run(&args);
    }
    let mut names: Vec<String> = Vec::new();
    for k in &args.kernels {
        if k == "all" {
            names.extend(kernels::ALL.iter().map(|s| s.to_string()));
        } else {
            names.push(k.clone());
        }
    }
    let kinds: Vec<Kernel> = names
        .iter()
        .map(|n| Kernel::parse(n))
        .collect::<Result<_>>()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads = args.threads.clone();
    if threads.is_empty() {
        threads = vec![1, cores];
    }
    threads.dedup();
    let shapes: Vec<Vec<usize>> = args
        .shapes
        .iter()
        .map(|s| parse_shape(s))
        .collect::<Result<_>>()?;
    let devices: Vec<&'static str> = match args.device {
        DeviceSel::Cpu => vec!["cpu"],
        DeviceSel::Gpu => vec!["gpu"],
        DeviceSel::All => vec!["cpu", "gpu"],
    };
    if devices.contains(&"gpu") {
        let ctx = kernels_gpu::context().context("s2s bench --device gpu")?;
        let a = ctx.adapter();
        println!("GPU: {} ({}, {})", a.name, a.backend, a.device_type);
        println!(
            "GPU times: {}",
            if a.timestamp_queries {
                "timestamp queries (device time of the kernel alone)"
            } else {
                "submit-and-wait wall time (the adapter has no timestamp queries)"
            }
        );
        if a.is_cpu_emulation {
            println!(
                "note: this adapter is a CPU emulation (e.g. lavapipe): its timings show the \
                 method, not GPU speed"
            );
        }
    }

    // The FMA peak per thread count, for the % of peak column.
    let mut peaks = Vec::new();
    if kinds.contains(&Kernel::Matmul) {
        for &t in &threads {
            peaks.push((
                t,
                kernels_cpu::peak::fma_peak(t, Duration::from_millis(300)).gflops,
            ));
        }
    }

    let mut cases = Vec::new();
    let mut records = Vec::new();
    for &kind in &kinds {
        // --shapes applies to the kernels it fits (MxNxK to matmul, RxC to
        // softmax and layer_norm, N or RxC to the elementwise ones).
        let kshapes: Vec<Vec<usize>> = if shapes.is_empty() {
            kind.default_shapes()
        } else {
            let fit: Vec<Vec<usize>> = shapes
                .iter()
                .filter(|s| kind.check_shape(s).is_ok())
                .cloned()
                .collect();
            if fit.is_empty() && kind != Kernel::Peak {
                kind.check_shape(&shapes[0])?;
            }
            fit
        };
        for &device in &devices {
            for shape in &kshapes {
                kind.check_shape(shape)?;
                // Thread counts are a CPU notion: one GPU case per shape.
                let ts = if device == "gpu" {
                    &threads[..1]
                } else {
                    &threads[..]
                };
                for &t in ts {
                    if kind == Kernel::Peak {
                        if device == "gpu" {
                            bail!("peak: the FMA peak is a CPU measurement");
                        }
                        continue;
                    }
                    let run = if device == "cpu" {
                        kernels::cpu_runner(kind, shape, t)?
                    } else {
                        gpu::runner(kind, shape)?
                    };
                    cases.push(Case {
                        kernel: kind,
                        device,
                        shape: shape.clone(),
                        threads: t,
                        run,
                        secs: Vec::new(),
                    });
                }
            }
        }
        if kind == Kernel::Peak {
            for &t in &threads {
                let mut g = Vec::new();
                for _ in 0..args.rounds.max(1) {
                    g.push(kernels_cpu::peak::fma_peak(t, Duration::from_millis(200)).gflops);
                }
                let gflops = median(g);
                records.push(Record {
                    kernel: "peak".into(),
                    device: "cpu",
                    shape: vec![],
                    threads: t,
                    seconds: 0.2,
                    gflops: Some(gflops),
                    gbps: None,
                    peak_pct: Some(100.0),
                });
            }
        }
    }

    let sample = Duration::from_millis(args.sample_ms);
    for _ in 0..args.rounds.max(1) {
        for c in cases.iter_mut() {
            c.secs.push(time(&mut *c.run, sample));
        }
    }
    for c in cases {
        let seconds = median(c.secs);
        let gflops = c.kernel.flops(&c.shape).map(|f| f / seconds / 1e9);
        let gbps = c.kernel.bytes(&c.shape).map(|b| b / seconds / 1e9);
        let peak_pct = match (gflops, peaks.iter().find(|p| p.0 == c.threads)) {
            (Some(g), Some(&(_, p))) if c.kernel == Kernel::Matmul && c.device == "cpu" => {
                Some(100.0 * g / p)
            }
            _ => None,
        };
        records.push(Record {
            kernel: c.kernel.name().into(),
            device: c.device,
            shape: c.shape,
            threads: c.threads,
            seconds,
            gflops,
            gbps,
            peak_pct,
        });
    }

    print_table(&records, args.rounds.max(1));
    print_ratios(&records);
    if let Some(path) = &args.json {
        let mut s = String::new();
        for r in &records {
            s.push_str(&r.json());
            s.push('\n');
        }
        std::fs::write(path, s).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        let svg = plot::svg(&records).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let bytes = match path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"))
        {
            true => crate::plot::png::svg_to_png(&svg)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            false => svg.into_bytes(),
        };
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn fmt_time(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} us", s * 1e6)
    } else if s < 1.0 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

fn print_table(records: &[Record], rounds: usize) {
    println!(
        "{:<11} {:<6} {:<16} {:>7} {:>11} {:>9} {:>9} {:>7}",
        "kernel", "device", "shape", "threads", "time", "GFLOP/s", "GB/s", "% peak"
    );
    for r in records {
        let shape: Vec<String> = r.shape.iter().map(|d| d.to_string()).collect();
        let opt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |x| format!("{x:.p$}"));
        println!(
            "{:<11} {:<6} {:<16} {:>7} {:>11} {:>9} {:>9} {:>7}",
            r.kernel,
            r.device,
            if shape.is_empty() {
                "-".to_string()
            } else {
                shape.join("x")
            },
            r.threads,
            if r.kernel == "peak" {
                "-".to_string()
            } else {
                fmt_time(r.seconds)
            },
            opt(r.gflops, 1),
            opt(r.gbps, 1),
            opt(r.peak_pct, 0),
        );
    }
    println!(
        "(median of {rounds} interleaved rounds; SIMD {:?})",
        kernels_cpu::isa()
    );
}

/// GPU time against the fastest CPU time of the same kernel and shape, when
/// both devices ran (`--device all`).
fn print_ratios(records: &[Record]) {
    let mut lines = Vec::new();
    for g in records.iter().filter(|r| r.device == "gpu") {
        let best_cpu = records
            .iter()
            .filter(|c| c.device == "cpu" && c.kernel == g.kernel && c.shape == g.shape)
            .map(|c| c.seconds)
            .min_by(|a, b| a.total_cmp(b));
        if let Some(cpu) = best_cpu {
            let shape: Vec<String> = g.shape.iter().map(|d| d.to_string()).collect();
            lines.push(format!(
                "  {:<10} {:<16} GPU/CPU speed {:.3}",
                g.kernel,
                shape.join("x"),
                cpu / g.seconds
            ));
        }
    }
    if !lines.is_empty() {
        println!("\nGPU speed relative to the best CPU time (>1: the GPU is faster):");
        for l in lines {
            println!("{l}");
        }
    }
}
