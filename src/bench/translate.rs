//! `s2s bench translate`: how fast a trained model translates a test set.
//!
//! ```text
//! s2s bench translate --model runs/m30k --test-src test_2016_flickr.de --beam 1,5 --threads 1,2
//! ```
//!
//! The model is loaded as `s2s translate` loads it (the best/ checkpoint
//! of a run directory, else last/), the test sentences are read one per
//! line (blank lines skipped) and prepared as translate prepares them (the
//! training's normalisation, then the model's tokenizer), and the whole set
//! is decoded the way `s2s eval` decodes a test set: in batches of
//! `--batch-size` sentences of similar length. `--inter-threads N` runs N
//! translators at once, each decoding its own batches on threads / N
//! threads (src/translators.rs; CTranslate2's inter_threads). Every
//! (device, beam, threads, translators) case translates the whole set once per round; the rounds are
//! interleaved across the cases so that a slow phase of the machine hits
//! every case alike, and the table reports the median round. Before its
//! first round each case translates one batch untimed (allocations, packed
//! weights, GPU pipelines).
//!
//! Speeds are whole-set figures: sentences per second and output tokens
//! per second, the tokens being the ones the model wrote (without the final
//! `<eos>`), counted on the last round.
//!
//! `--dump-tokens FILE` writes what another engine needs to decode the same
//! input and be compared: per beam width and sentence (in file order), the
//! source ids the model read, the output ids it wrote on the last round,
//! and the length cap and length penalty (α and rule, `--length-norm`) it
//! decoded under (scripts/check_ctranslate2.py,
//! benches/peers/ctranslate2_translate.py).

use super::{fmt_time, median, BenchArgs, DeviceSel};
use crate::translate_cmd::{load_model, quantize_model, source_ids, Quantize, MAX_BEAM};
use crate::translators::{self, translate_batches};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use seq2seq::decode::{DecodeOptions, Hypothesis, LengthNorm};
use seq2seq::train::checkpoint::Checkpoint;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tensor::Device;

/// The beam widths timed without `--beam`: greedy search.
const DEFAULT_BEAMS: [usize; 1] = [1];
/// Sentences decoded together without `--batch-size` (as `s2s eval`).
pub const DEFAULT_BATCH: usize = 64;

/// The options that only `bench translate` reads, for refusing them
/// elsewhere.
pub fn own_options(args: &BenchArgs) -> Vec<&'static str> {
    let given = [
        ("--test-src", args.test_src.is_some()),
        ("--beam", !args.beam.is_empty()),
        ("--max-sentences", args.max_sentences.is_some()),
        ("--batch-size", args.batch_size.is_some()),
        ("--inter-threads", !args.inter_threads.is_empty()),
        ("--dump-tokens", args.dump_tokens.is_some()),
        ("--quantize", !args.quantize.is_empty()),
        ("--length-norm", args.length_norm.is_some()),
    ];
    given.iter().filter(|g| g.1).map(|g| g.0).collect()
}

/// The test sentences of `path`: its non-empty lines, trimmed, at most
/// `max` of them; an error names the file when it cannot be read or holds
/// no sentence.
fn read_sentences(path: &Path, max: Option<usize>) -> Result<Vec<String>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read --test-src {}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("--test-src {}: not UTF-8 text ({e})", path.display()))?;
    let mut sentences: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if sentences.is_empty() {
        bail!(
            "--test-src {}: no sentence to translate (the file is empty or every line is blank)",
            path.display()
        );
    }
    if let Some(max) = max {
        sentences.truncate(max);
    }
    Ok(sentences)
}

/// The test set cut into batches of similar source length, as `s2s eval`
/// does (less padding per batch), and the index in `sentences` of each
/// sentence of the batches, in batch order.
fn batches(ck: &Checkpoint, sentences: &[String], size: usize) -> (Vec<Vec<String>>, Vec<usize>) {
    let mut order: Vec<(usize, usize)> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| (source_ids(ck, s).len(), i))
        .collect();
    order.sort_by_key(|&(len, _)| len); // stable: equal lengths keep file order
    let batches = order
        .chunks(size)
        .map(|c| c.iter().map(|&(_, i)| sentences[i].clone()).collect())
        .collect();
    (batches, order.iter().map(|&(_, i)| i).collect())
}

/// One timed configuration.
struct Case {
    device: Device,
    quantize: Quantize,
    beam: usize,
    length_norm: LengthNorm,
    threads: usize,
    /// Translators, each on a pool of threads / inter threads.
    inter: usize,
    pools: Vec<rayon::ThreadPool>,
    /// Seconds of each round's whole-set translation.
    secs: Vec<f64>,
    /// Output tokens of the last round.
    tokens: usize,
    /// The last round's hypotheses, batch by batch, where they are dumped.
    kept: Option<Vec<Vec<Hypothesis>>>,
}

/// How a case decodes: the defaults of `s2s eval` but for its beam width
/// and length penalty rule.
fn decode_options(case: &Case) -> DecodeOptions {
    DecodeOptions {
        beam: case.beam,
        length_norm: case.length_norm,
        ..Default::default()
    }
}

/// Translates every batch with `ck` under `case`'s pool; returns the
/// hypotheses, batch by batch.
fn translate_all(
    ck: &Checkpoint,
    batches: &[Vec<String>],
    case: &Case,
    bar: &ProgressBar,
) -> Result<Vec<Vec<Hypothesis>>> {
    let opts = decode_options(case);
    let done = |n: usize| bar.inc(n as u64);
    translate_batches(ck, batches, &opts, &case.device, &case.pools, &done)
}

/// The `--dump-tokens` records: for each case that kept its output (one
/// per beam width), one JSON line per sentence in file order.
fn dump_tokens(
    ck: &Checkpoint,
    sentences: &[String],
    order: &[usize],
    cases: &[Case],
) -> Result<String> {
    let mut text = String::new();
    for case in cases {
        let Some(kept) = &case.kept else { continue };
        let mut outputs: Vec<Option<&Hypothesis>> = vec![None; sentences.len()];
        for (&i, hyp) in order.iter().zip(kept.iter().flatten()) {
            outputs[i] = Some(hyp);
        }
        let opts = decode_options(case);
        for (i, (sentence, hyp)) in sentences.iter().zip(outputs).enumerate() {
            let hyp = hyp.context("a hypothesis for every sentence")?;
            let source = source_ids(ck, sentence);
            let record = serde_json::json!({
                "beam": case.beam,
                "index": i,
                "source": sentence,
                "source_ids": source,
                "max_output_len": opts.max_output_len(source.len()),
                "length_penalty": opts.length_penalty,
                "length_norm": opts.length_norm.name(),
                "output_ids": hyp.tokens,
            });
            text.push_str(&record.to_string());
            text.push('\n');
        }
    }
    Ok(text)
}

/// Runs `s2s bench translate`.
pub fn run(args: &BenchArgs) -> Result<()> {
    // Everything that needs neither the model nor the file first.
    let model_dir: PathBuf = match &args.model {
        Some(dir) => PathBuf::from(dir),
        None => bail!("bench translate needs --model DIR (a run or checkpoint directory)"),
    };
    let Some(test_src) = &args.test_src else {
        bail!("bench translate needs --test-src FILE (the sentences to translate, one per line)");
    };
    let beams: Vec<usize> = match args.beam.is_empty() {
        true => DEFAULT_BEAMS.to_vec(),
        false => args.beam.clone(),
    };
    for &beam in &beams {
        crate::checks::count("--beam", beam, 1, MAX_BEAM)?;
    }
    if let Some(n) = args.max_sentences {
        crate::checks::count("--max-sentences", n, 1, usize::MAX)?;
    }
    let batch_size = args.batch_size.unwrap_or(DEFAULT_BATCH);
    crate::checks::count("--batch-size", batch_size, 1, 1 << 16)?;
    if let Some(path) = &args.json {
        crate::guard::refuse_checkpoint_output(path, "--json")?;
    }
    if let Some(path) = &args.dump_tokens {
        crate::guard::refuse_checkpoint_output(path, "--dump-tokens")?;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads = args.threads.clone();
    if threads.is_empty() {
        threads = vec![1, cores];
    }
    threads.dedup();
    let mut inters = args.inter_threads.clone();
    if inters.is_empty() {
        inters.push(1);
    }
    for &inter in &inters {
        crate::checks::count("--inter-threads", inter, 1, usize::MAX)?;
        if !threads.iter().any(|t| t.is_multiple_of(inter)) {
            bail!("--inter-threads {inter} divides none of the thread counts {threads:?}");
        }
    }
    let devices: Vec<Device> = match args.device {
        DeviceSel::Cpu => vec![Device::Cpu],
        DeviceSel::Gpu => vec![Device::Gpu],
        DeviceSel::All => vec![Device::Cpu, Device::Gpu],
    };
    let quantizes: Vec<Quantize> = match args.quantize.is_empty() {
        true => vec![Quantize::F32],
        false => args.quantize.clone(),
    };
    if quantizes.contains(&Quantize::Int8) && devices.contains(&Device::Gpu) {
        bail!("--quantize int8 runs on the CPU only; use it with --device cpu");
    }
    if devices.contains(&Device::Gpu) {
        Device::gpu_available().context("--device gpu")?;
    }
    let length_norm = args.length_norm.map_or(LengthNorm::default(), |r| r.rule());
    let sentences = read_sentences(test_src, args.max_sentences)?;

    // One checkpoint per device and weight type: its weights live there.
    let mut models = Vec::new();
    for &device in &devices {
        for &quantize in &quantizes {
            let mut ck = load_model(&model_dir, &device)?;
            quantize_model(&mut ck, quantize, &device)?;
            models.push(((device, quantize), ck));
        }
    }
    let (_, first) = &models[0];
    let (batches, order) = batches(first, &sentences, batch_size);
    let kind = first.model.config().name();
    println!(
        "translate: {} ({kind}), {} sentence(s) of {}, batch {batch_size}, {} round(s), median time per round",
        first.dir.display(),
        sentences.len(),
        test_src.display(),
        args.rounds.max(1)
    );

    let mut cases = Vec::new();
    for &device in &devices {
        for (&beam, &quantize) in beams
            .iter()
            .flat_map(|b| quantizes.iter().map(move |q| (b, q)))
        {
            // Thread counts are a CPU notion: one GPU case per beam.
            let ts = match device {
                Device::Gpu => &threads[..1],
                _ => &threads[..],
            };
            for &t in ts {
                for &inter in &inters {
                    // One translator drives the GPU; a layout needs N | T.
                    if (device == Device::Gpu && inter > 1) || !t.is_multiple_of(inter) {
                        continue;
                    }
                    cases.push(Case {
                        device,
                        quantize,
                        beam,
                        length_norm,
                        threads: t,
                        inter,
                        pools: translators::pools(t, inter)
                            .with_context(|| format!("--threads {t}"))?,
                        secs: Vec::new(),
                        tokens: 0,
                        kept: None,
                    });
                }
            }
        }
    }
    let model_of = |case: &Case| -> &Checkpoint {
        &models
            .iter()
            .find(|m| m.0 == (case.device, case.quantize))
            .expect("a model per device and weight type")
            .1
    };

    // The first case of each beam width keeps its output for the dump.
    if args.dump_tokens.is_some() {
        for &beam in &beams {
            if let Some(case) = cases.iter_mut().find(|c| c.beam == beam) {
                case.kept = Some(Vec::new());
            }
        }
    }

    let rounds = args.rounds.max(1);
    let bar = progress_bar((rounds * cases.len() * sentences.len()) as u64);
    let warm_up = &batches[..1];
    for case in &cases {
        translate_all(model_of(case), warm_up, case, &ProgressBar::hidden())?;
    }
    for _ in 0..rounds {
        for case in cases.iter_mut() {
            let t = Instant::now();
            let hyps = translate_all(model_of(case), &batches, case, &bar)?;
            case.secs.push(t.elapsed().as_secs_f64());
            case.tokens = hyps.iter().flatten().map(|h| h.tokens.len()).sum();
            if case.kept.is_some() {
                case.kept = Some(hyps);
            }
        }
    }
    bar.finish_and_clear();
    if let Some(path) = &args.dump_tokens {
        let text = dump_tokens(first, &sentences, &order, &cases)?;
        tensor::io::write_atomic(path, text.as_bytes())
            .with_context(|| format!("--dump-tokens {}", path.display()))?;
    }

    println!(
        "{:<6} {:>7} {:>5} {:>7} {:>6} {:>10} {:>11} {:>11} {:>10}",
        "device",
        "weights",
        "beam",
        "threads",
        "inter",
        "median",
        "sentences/s",
        "tokens/s",
        "tokens"
    );
    let mut json = match &args.json {
        // Appended, so that runs (and a peer's records) collect in one file.
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("--json {}", path.display()))?,
        )),
        None => None,
    };
    let n = sentences.len();
    for case in cases {
        let seconds = median(case.secs.clone());
        let sentences_per_s = n as f64 / seconds;
        let tokens_per_s = case.tokens as f64 / seconds;
        println!(
            "{:<6} {:>7} {:>5} {:>7} {:>6} {:>10} {:>11.1} {:>11.0} {:>10}",
            case.device.to_string(),
            case.quantize.name(),
            case.beam,
            case.threads,
            case.inter,
            fmt_time(seconds),
            sentences_per_s,
            tokens_per_s,
            case.tokens
        );
        if let Some(out) = json.as_mut() {
            let record = serde_json::json!({
                "bench": "translate",
                "engine": "s2s",
                "model": first.dir.display().to_string(),
                "model_kind": kind,
                "test_src": test_src.display().to_string(),
                "device": case.device.to_string(),
                "weights": case.quantize.name(),
                "beam": case.beam,
                "length_norm": case.length_norm.name(),
                "threads": case.threads,
                "inter_threads": case.inter,
                "batch_size": batch_size,
                "sentences": n,
                "rounds": rounds,
                "seconds": seconds,
                "seconds_per_round": case.secs,
                "sentences_per_s": sentences_per_s,
                "tokens_per_s": tokens_per_s,
                "output_tokens": case.tokens,
            });
            writeln!(out, "{record}")?;
        }
    }
    if let Some(mut out) = json {
        out.flush()?;
    }
    println!(
        "(median of {rounds} interleaved rounds; tokens: output tokens without <eos>; SIMD {:?}{})",
        kernels_cpu::isa(),
        match quantizes.contains(&Quantize::Int8) {
            true => format!(", int8 kernel {}", kernels_cpu::int8_kernel().name()),
            false => String::new(),
        }
    );
    Ok(())
}

/// A bar over every sentence of every round, on standard error when it is
/// a terminal (indicatif draws nothing otherwise).
fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "bench translate [{bar:30}] {pos}/{len} sentences · {per_sec} · ETA {eta}",
    )
    .expect("a valid template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_the_non_blank_lines_and_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("s2s-bench-translate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("src.txt");
        std::fs::write(&file, "a b\n\n  c  \n\t\nd\n").unwrap();
        assert_eq!(read_sentences(&file, None).unwrap(), ["a b", "c", "d"]);
        assert_eq!(read_sentences(&file, Some(2)).unwrap(), ["a b", "c"]);
        let empty = dir.join("empty.txt");
        std::fs::write(&empty, "\n \n").unwrap();
        let e = read_sentences(&empty, None).unwrap_err().to_string();
        assert!(e.contains("empty.txt") && e.contains("no sentence"), "{e}");
        let e = format!(
            "{:#}",
            read_sentences(&dir.join("nope.txt"), None).unwrap_err()
        );
        assert!(e.contains("nope.txt") && e.contains("cannot read"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
