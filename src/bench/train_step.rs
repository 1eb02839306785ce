//! `s2s bench train-step`: one training step (forward + backward + Adam) of
//! the two benchmark models, in ms per step and target tokens per second,
//! optionally side by side with PyTorch CPU in the same run.
//!
//! ```text
//! s2s bench train-step --model gru-attn --threads 2
//! s2s bench train-step --model all --threads 2 --torch benches/peers/torch_train_step.py
//! ```
//!
//! The models (the same, layer for layer, as benches/peers/torch_train_step.py):
//!
//! - `gru-attn`: embeddings 5,000 × 256, a GRU(256) encoder, Bahdanau
//!   attention (W_q, W_k 256 → 256, v 256 → 1), a GRU cell decoder fed
//!   `[E y_{t-1}; c_t]` from the encoder's final state, and the output
//!   `Linear([s_t; c_t] 512 → 5,000)`; batch 64, lengths 10.
//! - `transformer`: our `TransformerSeq2Seq` with d_model 256, 3 + 3
//!   layers, 4 heads, feed-forward 1,024, dropout 0.1, vocabulary 5,000;
//!   batch 64, lengths 20.
//!
//! Token ids are uniform in [4, 5000) (no padding); the loss is the mean
//! cross-entropy of the target; Adam with lr 1e-3. With `--torch SCRIPT`
//! every round runs our steps, then the script's, so a slow phase of the
//! machine hits both, and the table gives the median of each and their ratio.
//!
//! `--device gpu` (or `all`) runs the same step on the GPU and adds, per
//! step, what a real GPU pays for whatever the adapter: compute dispatches,
//! queue submits, host waits, bytes up and down, bind groups created
//! (`kernels_gpu::counts`). On lavapipe the milliseconds say little about a
//! real GPU; the counts carry over unchanged. `--json FILE` writes one
//! record per model and device.

use super::{median, BenchArgs, DeviceSel};
use anyhow::{bail, Context, Result};
use seq2seq::models::{Seq2Seq, Source, Target, TransformerSeq2Seq, TransformerSeq2SeqConfig};
use seq2seq::nn::{
    Attention, Ctx, Embedding, GRUCell, Keys, Linear, Module, RnnConfig, Score, GRU,
};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use tensor::optim::{pack_parameters, Adam, AdamConfig, Optimizer};
use tensor::{Device, Rng, Tensor};

const VOCAB: usize = 5000;

/// The models `--model` names, with their batch and sequence length.
const MODELS: [(&str, usize, usize); 2] = [("gru-attn", 64, 10), ("transformer", 64, 20)];

/// A model under test: its loss on the fixed batch, and its parameters.
trait BenchModel: Send + Sync {
    fn loss(
        &self,
        src: &Tensor,
        tgt_in: &Tensor,
        tgt_out: &Tensor,
        ctx: &mut Ctx,
    ) -> Result<Tensor>;
    fn parameters(&self) -> Vec<Tensor>;
    fn parameters_mut(&mut self) -> Vec<&mut Tensor>;
}

/// The GRU + Bahdanau attention benchmark model (see the module docs).
struct GruAttn {
    src_embed: Embedding,
    tgt_embed: Embedding,
    encoder: GRU,
    attention: Attention,
    decoder: GRUCell,
    generator: Linear,
}

impl GruAttn {
    fn new(rng: &mut Rng, device: &Device) -> Result<GruAttn> {
        let (e, h) = (256, 256);
        Ok(GruAttn {
            src_embed: Embedding::new(VOCAB, e, None, rng, device)?,
            tgt_embed: Embedding::new(VOCAB, e, None, rng, device)?,
            encoder: GRU::new(RnnConfig::new(e, h).batch_first(true), rng, device)?,
            attention: Attention::new(Score::Bahdanau, h, h, h, rng, device)?,
            decoder: GRUCell::new(e + h, h, true, rng, device)?,
            generator: Linear::new(2 * h, VOCAB, true, rng, device)?,
        })
    }
}

impl BenchModel for GruAttn {
    fn loss(
        &self,
        src: &Tensor,
        tgt_in: &Tensor,
        tgt_out: &Tensor,
        ctx: &mut Ctx,
    ) -> Result<Tensor> {
        let (b, t) = (tgt_in.dims()[0], tgt_in.dims()[1]);
        let x = self.src_embed.forward(src)?; // [B, S, E]
        let (memory, h_n) = self.encoder.forward(&x, None, None, ctx)?; // [B, S, H], [1, B, H]
        let keys: Keys = self.attention.project_keys(&memory)?;
        let mut s = h_n.squeeze(0)?; // s_0 [B, H]
        let y = self.tgt_embed.forward(tgt_in)?; // [B, T, E]
        let mut features = Vec::with_capacity(t);
        for step in 0..t {
            let y_t = y.narrow(1, step, 1)?.squeeze(1)?; // [B, E]
            let a = self.attention.attend(&s, &keys, None)?; // c_t [B, H]
            s = self
                .decoder
                .forward(&Tensor::cat(&[y_t, a.context.clone()], -1)?, Some(&s))?;
            features.push(Tensor::cat(&[s.clone(), a.context], -1)?); // [B, 2H]
        }
        let logits = self.generator.forward(&Tensor::stack(&features, 1)?)?; // [B, T, V]
        let gold = tgt_out.reshape([b * t])?;
        Ok(logits
            .reshape([b * t, VOCAB])?
            .cross_entropy(&gold, -100, 0.0)?)
    }

    fn parameters(&self) -> Vec<Tensor> {
        let mut p = self.src_embed.parameters();
        p.extend(self.tgt_embed.parameters());
        p.extend(self.encoder.parameters());
        p.extend(self.attention.parameters());
        p.extend(self.decoder.parameters());
        p.extend(self.generator.parameters());
        p
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor> {
        let mut p = self.src_embed.parameters_mut();
        p.extend(self.tgt_embed.parameters_mut());
        p.extend(self.encoder.parameters_mut());
        p.extend(self.attention.parameters_mut());
        p.extend(self.decoder.parameters_mut());
        p.extend(self.generator.parameters_mut());
        p
    }
}

impl BenchModel for TransformerSeq2Seq {
    fn loss(
        &self,
        src: &Tensor,
        tgt_in: &Tensor,
        tgt_out: &Tensor,
        ctx: &mut Ctx,
    ) -> Result<Tensor> {
        let (b, s) = (src.dims()[0], src.dims()[1]);
        let source = Source {
            ids: src.clone(),
            lens: vec![s; b],
            pad_mask: Tensor::zeros([b, s], &src.device())?,
        };
        let target = Target {
            input: tgt_in.clone(),
            output: tgt_out.clone(),
        };
        // The pad id never occurs: ids are drawn from [4, V).
        Ok(Seq2Seq::loss(self, &source, &target, 0.0, ctx)?)
    }

    fn parameters(&self) -> Vec<Tensor> {
        Module::parameters(self)
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor> {
        Module::parameters_mut(self)
    }
}

fn build(name: &str, rng: &mut Rng, device: &Device) -> Result<Box<dyn BenchModel>> {
    Ok(match name {
        "gru-attn" => Box::new(GruAttn::new(rng, device)?),
        "transformer" => {
            let config = TransformerSeq2SeqConfig {
                src_vocab: VOCAB,
                tgt_vocab: VOCAB,
                d_model: 256,
                nhead: 4,
                num_encoder_layers: 3,
                num_decoder_layers: 3,
                dim_feedforward: 1024,
                dropout: 0.1,
                norm_first: false,
                share_embeddings: false,
                tie_output: false,
                max_len: 512,
            };
            Box::new(TransformerSeq2Seq::new(config, rng, device)?)
        }
        other => bail!("--model {other:?}: expected gru-attn, transformer or all"),
    })
}

/// Uniform ids in [4, V) `[rows, cols]`.
fn random_ids(rows: usize, cols: usize, rng: &mut Rng, device: &Device) -> Result<Tensor> {
    let ids = (0..rows * cols)
        .map(|_| (4 + rng.below(VOCAB - 4)) as f32)
        .collect();
    Ok(Tensor::from_vec(ids, [rows, cols], device)?)
}

/// Our side: `steps` timed steps after `warmup`, each step's seconds.
struct Ours {
    model: Box<dyn BenchModel>,
    optimizer: Adam,
    batch: (Tensor, Tensor, Tensor),
    ctx: Ctx,
}

impl Ours {
    fn new(name: &str, batch: usize, len: usize, device: &Device) -> Result<Ours> {
        let mut rng = Rng::new(0);
        let mut model = build(name, &mut rng, device)?;
        // On the GPU, one allocation for all parameters: Adam in one dispatch.
        pack_parameters(model.parameters_mut())?;
        let optimizer = Adam::new(model.parameters(), AdamConfig::default())?;
        let src = random_ids(batch, len, &mut rng, device)?;
        let tgt = random_ids(batch, len + 1, &mut rng, device)?;
        let batch = (src, tgt.narrow(1, 0, len)?, tgt.narrow(1, 1, len)?);
        Ok(Ours {
            model,
            optimizer,
            batch,
            ctx: Ctx::train(Rng::new(1)),
        })
    }

    fn step(&mut self) -> Result<f32> {
        self.optimizer.zero_grad();
        let (src, tgt_in, tgt_out) = &self.batch;
        let loss = self.model.loss(src, tgt_in, tgt_out, &mut self.ctx)?;
        loss.backward()?;
        self.optimizer.step()?;
        Ok(loss.try_to_vec()?[0])
    }
}

/// One PyTorch measurement through the peer script: its median ms per step.
fn torch_round(script: &Path, model: &str, threads: usize, steps: usize) -> Result<f64> {
    let json = std::env::temp_dir().join(format!("s2s-torch-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&json);
    let status = Command::new("python3")
        .arg(script)
        .args(["--model", model, "--threads", &threads.to_string()])
        .args(["--steps", &steps.to_string(), "--warmup", "1"])
        .arg("--json")
        .arg(&json)
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running python3 {}", script.display()))?;
    if !status.success() {
        bail!("python3 {} failed ({status})", script.display());
    }
    let text = std::fs::read_to_string(&json)
        .with_context(|| format!("reading {} from the peer script", json.display()))?;
    let _ = std::fs::remove_file(&json);
    let record: serde_json::Value = serde_json::from_str(text.lines().next().unwrap_or(""))
        .with_context(|| format!("parsing {} from the peer script", json.display()))?;
    record["ms_per_step"]
        .as_f64()
        .with_context(|| format!("no ms_per_step in the peer script's output: {text}"))
}

/// Runs `s2s bench train-step`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let names: Vec<&str> = match args.model.as_deref().unwrap_or("all") {
        "all" => MODELS.iter().map(|m| m.0).collect(),
        m => vec![MODELS
            .iter()
            .find(|x| x.0 == m)
            .map(|x| x.0)
            .with_context(|| format!("--model {m:?}: expected gru-attn, transformer or all"))?],
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.first().copied().unwrap_or(cores);
    if args.threads.len() > 1 {
        bail!(
            "train-step takes one --threads value (got {:?})",
            args.threads
        );
    }
    if let Some(script) = &args.torch {
        if !script.is_file() {
            bail!("--torch {}: no such file", script.display());
        }
    }
    let devices: Vec<Device> = match args.device {
        DeviceSel::Cpu => vec![Device::Cpu],
        DeviceSel::Gpu => vec![Device::Gpu],
        DeviceSel::All => vec![Device::Cpu, Device::Gpu],
    };
    if devices.contains(&Device::Gpu) {
        Device::gpu_available().context("--device gpu")?;
    }
    let mut json = match &args.json {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("--json {}", path.display()))?,
        )),
        None => None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let steps = args.steps.max(1);
    println!(
        "train-step: {} round(s) of {steps} step(s), {threads} thread(s), median ms per step",
        args.rounds.max(1)
    );
    println!(
        "{:<12} {:>6} {:>6} {:>4} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "model",
        "device",
        "batch",
        "len",
        "ours ms",
        "ours tok/s",
        "torch ms",
        "torch tok/s",
        "ratio"
    );
    let mut gpu_rows = Vec::new();
    for name in names {
        let (_, batch, len) = *MODELS.iter().find(|m| m.0 == name).expect("known model");
        for &device in &devices {
            let mut ours = pool.install(|| Ours::new(name, batch, len, &device))?;
            pool.install(|| ours.step())?; // warm-up: allocations, packing buffers, pipelines
                                           // The PyTorch peer is a CPU peer: it runs beside the CPU rows only.
            let torch = args.torch.as_deref().filter(|_| device == Device::Cpu);
            let (mut our_ms, mut torch_ms) = (Vec::new(), Vec::new());
            let mut loss = 0.0;
            let before = kernels_gpu::counts();
            let kernels_before = kernels_gpu::kernel_counts();
            for _ in 0..args.rounds.max(1) {
                for _ in 0..steps {
                    let t = Instant::now();
                    loss = pool.install(|| ours.step())?;
                    our_ms.push(t.elapsed().as_secs_f64() * 1e3);
                }
                if let Some(script) = torch {
                    torch_ms.push(torch_round(script, name, threads, steps)?);
                }
            }
            let timed_steps = (our_ms.len() as u64).max(1);
            let spent = kernels_gpu::counts() - before;
            let by_kernel = kernels_gpu::kernel_counts_since(&kernels_before);
            if !loss.is_finite() {
                bail!("{name} on the {device}: the loss is {loss} after training");
            }
            let ours = median(our_ms);
            let tokens = (batch * len) as f64;
            let torch_ms = (!torch_ms.is_empty()).then(|| median(torch_ms));
            let (torch_col, torch_tok, ratio) = match torch_ms {
                None => ("-".to_string(), "-".to_string(), "-".to_string()),
                Some(t) => (
                    format!("{t:.1}"),
                    format!("{:.0}", tokens / t * 1e3),
                    format!("{:.2}x", t / ours),
                ),
            };
            println!(
                "{:<12} {:>6} {:>6} {:>4} {:>10.1} {:>10.0} {:>10} {:>10} {:>8}",
                name,
                device,
                batch,
                len,
                ours,
                tokens / ours * 1e3,
                torch_col,
                torch_tok,
                ratio
            );
            let per_step = |n: u64| n as f64 / timed_steps as f64;
            let gpu = (device == Device::Gpu).then(|| {
                let kernels: Vec<String> = by_kernel
                    .iter()
                    .map(|(k, n)| format!("\"{k}\":{}", per_step(*n)))
                    .collect();
                gpu_rows.push((name, spent, timed_steps, by_kernel));
                format!(
                    ",\"dispatches\":{},\"submits\":{},\"host_waits\":{},\"bytes_up\":{},\"bytes_down\":{},\"bind_groups\":{},\"copies\":{},\"dispatches_by_kernel\":{{{}}}",
                    per_step(spent.dispatches),
                    per_step(spent.submits),
                    per_step(spent.host_waits),
                    per_step(spent.bytes_up),
                    per_step(spent.bytes_down),
                    per_step(spent.bind_groups),
                    per_step(spent.copies),
                    kernels.join(",")
                )
            });
            if let Some(out) = json.as_mut() {
                writeln!(
                    out,
                    "{{\"bench\":\"train-step\",\"model\":\"{name}\",\"device\":\"{device}\",\"batch\":{batch},\"len\":{len},\"threads\":{threads},\"ms_per_step\":{ours:.4},\"tokens_per_s\":{:.1},\"torch_ms_per_step\":{}{}}}",
                    tokens / ours * 1e3,
                    torch_ms.map_or("null".to_string(), |t| format!("{t:.4}")),
                    gpu.unwrap_or_default()
                )?;
            }
        }
    }
    if !gpu_rows.is_empty() {
        println!();
        println!("GPU costs per step (what a real GPU pays, counted on any adapter):");
        println!(
            "{:<12} {:>10} {:>8} {:>10} {:>12} {:>12} {:>11} {:>7}",
            "model",
            "dispatches",
            "submits",
            "host waits",
            "bytes up",
            "bytes down",
            "bind groups",
            "copies"
        );
        for (name, spent, n, _) in &gpu_rows {
            let n = *n;
            println!(
                "{:<12} {:>10} {:>8} {:>10} {:>12} {:>12} {:>11} {:>7}",
                name,
                spent.dispatches / n,
                spent.submits / n,
                spent.host_waits / n,
                spent.bytes_up / n,
                spent.bytes_down / n,
                spent.bind_groups / n,
                spent.copies / n
            );
        }
        for (name, _, n, by_kernel) in &gpu_rows {
            let top: Vec<String> = by_kernel
                .iter()
                .take(8)
                .map(|(k, c)| format!("{k} {}", c / n))
                .collect();
            println!("{name} dispatches per step by kernel: {}", top.join(", "));
        }
    }
    if let Some(mut out) = json {
        out.flush()?;
    }
    if args.torch.is_some() {
        println!("ratio = torch ms / ours ms (above 1: we are faster)");
    }
    Ok(())
}
