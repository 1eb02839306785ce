//! `s2s eval`: translate a test set with a trained checkpoint and score it
//! the two ways the literature does.
//!
//! ```text
//! s2s eval --model runs/dates                          # the run's own held-out pairs
//! s2s eval --model runs/fra-eng --data fra.txt         # a tab-separated file
//! s2s eval --model runs/m30k --test-src test_2016_flickr.de --test-ref test_2016_flickr.en
//! ```
//!
//! * **sacreBLEU** (Post 2018): the detokenized output against the
//!   references as read, with the 13a tokenizer, mixed case, exp
//!   smoothing — comparable across papers, printed with its signature.
//! * **Tokenized BLEU**: output words (our word tokenizer) against the
//!   references cut by the same tokenizer, both lowercased, scored with
//!   `tok:none` and no smoothing, as multi-bleu.perl and torchtext's
//!   `bleu_score` — what older papers and tutorials report.
//! * **chrF2** (Popović 2015) on the detokenized text, and the exact-match
//!   rate (the date task's measure).
//!
//! The test pairs are read the way the model's training read its data: the
//! checkpoint's saved settings (state.json) give the normalisation, the
//! lowercasing and, for a tab-separated file, which column is the source.
//! `--data` with the very file the model was trained on evaluates the
//! held-out test split of it (same seed and fractions), not the whole file.
//! Decoding runs in batches of sentences of similar length (less padding);
//! the output keeps the input order.

use crate::detok::Lang;
use crate::translate_cmd::{load_model, quantize_model, DecodeArgs, Detokenizer};
use crate::translators;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use seq2seq::data::{read_parallel, read_tsv, tokenize, Pair, ReadOptions, TsvColumns};
use seq2seq::metrics::{corpus_bleu, corpus_chrf, BleuConfig, ChrfConfig, Smooth, Tokenize};
use seq2seq::train::checkpoint::Checkpoint;
use seq2seq::train::{DataConfig, DataSource, TaskData};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tensor::Device;

/// `s2s eval` options.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A run directory (its best/ checkpoint is used) or a checkpoint directory.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Test pairs from a tab-separated file (source and target columns as
    /// the model was trained; see --reverse).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["test_src", "test_ref"])]
    pub data: Option<PathBuf>,
    /// Which pairs of --data: the held-out test split (by the checkpoint's
    /// seed and fractions) or all of them. Default: test when FILE is the
    /// model's training file, else all.
    #[arg(long, value_enum, requires = "data")]
    pub split: Option<Split>,
    /// With --data: the source is column 1 and the target column 0 (the
    /// checkpoint's own choice is used when it was trained on a TSV file).
    #[arg(long, requires = "data")]
    pub reverse: bool,
    /// Test source sentences, one per line (Moses-style, as Multi30k).
    #[arg(long, value_name = "FILE", requires = "test_ref")]
    pub test_src: Option<PathBuf>,
    /// Reference translations, line by line with --test-src.
    #[arg(long, value_name = "FILE", requires = "test_src")]
    pub test_ref: Option<PathBuf>,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Sentences decoded together.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Batches decoded at once, each by its own translator on threads / N
    /// threads (CTranslate2's inter_threads); must divide the thread count
    /// (RAYON_NUM_THREADS, default one per core). The output is the same
    /// for every N.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub inter_threads: usize,
    /// Write the (detokenized) translations here, one line per test pair.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// Which pairs of a `--data` file to evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Split {
    Test,
    All,
}

/// The test pairs and a line saying where they came from.
struct TestSet {
    pairs: Vec<Pair>,
    description: String,
}

/// The read options and data description the checkpoint was trained with
/// (NFC, mixed case when it has no training state).
fn training_data(ck: &Checkpoint) -> (ReadOptions, Option<&DataConfig>) {
    match &ck.state {
        Some(state) => (
            ReadOptions {
                normalization: state.data.normalization,
                lowercase: state.data.lowercase,
                skip_bad_lines: false,
            },
            Some(&state.data),
        ),
        None => (ReadOptions::default(), None),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Reads or regenerates the test pairs (module docs).
fn test_set(args: &EvalArgs, ck: &Checkpoint) -> Result<TestSet> {
    let (opts, data) = training_data(ck);
    if let (Some(src), Some(tgt)) = (&args.test_src, &args.test_ref) {
        let corpus = read_parallel(src, tgt, &opts)?;
        let description = format!("{} → {}: {}", src.display(), tgt.display(), corpus.summary);
        return Ok(TestSet {
            pairs: corpus.pairs,
            description,
        });
    }
    let Some(file) = &args.data else {
        // No test data given: the held-out pairs of the model's own data.
        let Some(data) = data else {
            bail!(
                "{} has no training state (state.json) to find its test pairs in: \
                 give --data FILE or --test-src/--test-ref",
                ck.dir.display()
            );
        };
        let task = TaskData::prepare(data, Some(ck.lexicon.clone()))
            .context("cannot rebuild the model's test pairs from its saved data settings")?;
        let description = format!("the run's held-out test pairs ({})", task.summary);
        return Ok(TestSet {
            pairs: task.test,
            description,
        });
    };
    let trained_on = match data.map(|d| &d.source) {
        Some(DataSource::Tsv { path, reverse, .. }) => Some((path, *reverse)),
        _ => None,
    };
    let reverse = args.reverse || trained_on.is_some_and(|(_, r)| r);
    let is_training_file = trained_on.is_some_and(|(p, _)| same_file(p, file));
    let split = args.split.unwrap_or(match is_training_file {
        true => Split::Test,
        false => Split::All,
    });
    if split == Split::All {
        let cols = if reverse {
            TsvColumns::REVERSE
        } else {
            TsvColumns::FORWARD
        };
        let corpus = read_tsv(file, cols, &opts)?;
        let description = format!("all of {}: {}", file.display(), corpus.summary);
        return Ok(TestSet {
            pairs: corpus.pairs,
            description,
        });
    }
    // The held-out split of this file, as the training run would cut it.
    let Some(mut cfg) = data.filter(|_| trained_on.is_some()).cloned() else {
        bail!(
            "--split test: the model in {} was not trained on a tab-separated file, so there \
             is no split (seed, fractions) to repeat; use --split all",
            ck.dir.display()
        );
    };
    if let DataSource::Tsv {
        path, reverse: r, ..
    } = &mut cfg.source
    {
        *path = file.clone();
        *r = reverse;
    }
    let task = TaskData::prepare(&cfg, Some(ck.lexicon.clone()))
        .with_context(|| format!("cannot split {} as the training run did", file.display()))?;
    let description = format!(
        "held-out test split of {} (split seed {}; {})",
        file.display(),
        cfg.split_seed,
        task.summary
    );
    Ok(TestSet {
        pairs: task.test,
        description,
    })
}

/// A bar over the test sentences, on standard error when it is a terminal
/// (indicatif draws nothing otherwise).
fn progress_bar(total: usize, hidden: bool) -> ProgressBar {
    let target = match hidden {
        true => ProgressDrawTarget::hidden(),
        false => ProgressDrawTarget::stderr(),
    };
    let bar = ProgressBar::with_draw_target(Some(total as u64), target);
    let style = ProgressStyle::with_template(
        "translating [{bar:30}] {pos}/{len} sentences · {per_sec} · ETA {eta}",
    )
    .expect("a valid template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// Translates every source, `batch` at a time in order of length; returns
/// the output ids in input order.
fn translate_all(
    ck: &Checkpoint,
    sources: &[String],
    args: &EvalArgs,
    device: &Device,
) -> Result<Vec<Vec<u32>>> {
    let opts = args.decode.options(false)?;
    let lens: Vec<usize> = sources
        .iter()
        .map(|s| ck.lexicon.encode_source(s).len())
        .collect();
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&i| lens[i]);
    let bar = progress_bar(sources.len(), args.json);
    let chunks: Vec<&[usize]> = order.chunks(args.batch_size).collect();
    let batches: Vec<Vec<String>> = chunks
        .iter()
        .map(|chunk| chunk.iter().map(|&i| sources[i].clone()).collect())
        .collect();
    let pools = translators::pools(rayon::current_num_threads(), args.inter_threads)?;
    let done = |n: usize| bar.inc(n as u64);
    let all = translators::translate_batches(ck, &batches, &opts, device, &pools, &done)?;
    let mut out = vec![Vec::new(); sources.len()];
    for (chunk, hyps) in chunks.iter().zip(all) {
        for (&i, hyp) in chunk.iter().zip(hyps) {
            out[i] = hyp.tokens;
        }
    }
    bar.finish_and_clear();
    Ok(out)
}

/// `words` lowercased and joined by spaces: tokenized-BLEU input.
fn lower_joined<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| w.as_ref().to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `x` as the f64 with the same shortest decimal form (0.6, not
/// 0.6000000238418579), for the JSON summary.
fn shortest(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::NAN)
}

/// Runs `s2s eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    crate::checks::count("--batch-size", args.batch_size, 1, 1 << 16)?;
    let device = args.decode.device()?;
    args.decode.options(false)?;
    if let Some(path) = &args.output {
        crate::guard::refuse_checkpoint_output(path, "--output")?;
    }
    let mut ck = load_model(&args.model, &device)?;
    quantize_model(&mut ck, args.decode.quantize, &device)?;
    let test = test_set(&args, &ck)?;
    if test.pairs.is_empty() {
        bail!("no test pairs ({})", test.description);
    }
    let sources: Vec<String> = test.pairs.iter().map(|p| p.src.clone()).collect();
    let refs: Vec<String> = test.pairs.iter().map(|p| p.tgt.clone()).collect();
    let lang = args
        .decode
        .target_lang
        .unwrap_or_else(|| Lang::guess(&refs));
    if !args.json {
        println!("model: {} ({})", ck.dir.display(), ck.model.config().name());
        println!("test set: {} pairs, {}", test.pairs.len(), test.description);
    }

    let start = Instant::now();
    let ids = translate_all(&ck, &sources, &args, &device)?;
    let seconds = start.elapsed().as_secs_f64();
    let detok = Detokenizer::new(&ck, lang);
    let hyps: Vec<String> = ids.iter().map(|h| detok.text(h)).collect();
    if let Some(path) = &args.output {
        let text: String = hyps.iter().map(|h| format!("{h}\n")).collect();
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }

    // sacreBLEU: detokenized output against the references as read.
    let streams = vec![refs.clone()];
    let bleu = corpus_bleu(&hyps, &streams, &BleuConfig::default())?;
    // Tokenized BLEU: our word tokens, lowercased, split on spaces only.
    let tok_cfg = BleuConfig {
        tokenize: Tokenize::None,
        lowercase: true,
        smooth: Smooth::None,
        effective_order: false,
    };
    let tok_hyps: Vec<String> = ids.iter().map(|h| lower_joined(&detok.words(h))).collect();
    let tok_refs: Vec<String> = refs.iter().map(|r| lower_joined(&tokenize(r))).collect();
    let tok_bleu = corpus_bleu(&tok_hyps, &[tok_refs], &tok_cfg)?;
    let chrf_cfg = ChrfConfig::default();
    let chrf = corpus_chrf(&hyps, &streams, &chrf_cfg)?;
    let exact = hyps.iter().zip(&refs).filter(|(h, r)| h == r).count();
    let n = hyps.len();
    let per_sec = n as f64 / seconds.max(1e-9);

    if args.json {
        let summary = serde_json::json!({
            "model": ck.dir.display().to_string(),
            "test_set": test.description,
            "sentences": n,
            "beam": args.decode.beam(),
            "length_penalty": shortest(args.decode.length_penalty),
            "length_norm": args.decode.length_norm.rule().name(),
            "max_len_ratio": shortest(args.decode.max_len_ratio),
            "target_lang": lang.to_string(),
            "bleu": bleu,
            "tokenized_bleu": tok_bleu,
            "chrf": {"score": chrf.score, "signature": chrf.signature},
            "exact_match": exact as f64 / n as f64,
            "seconds": seconds,
            "sentences_per_second": per_sec,
        });
        println!("{summary}");
        return Ok(());
    }
    println!(
        "decoding: beam {}, length penalty {} α = {}, max length ratio {}, batch {}; {} target spacing",
        args.decode.beam(),
        args.decode.length_norm.rule().name(),
        args.decode.length_penalty,
        args.decode.max_len_ratio,
        args.batch_size,
        lang
    );
    println!(
        "sacreBLEU (detokenized)  {}  {}",
        bleu.format(),
        bleu.signature
    );
    println!(
        "tokenized BLEU (lc)      {}  {}",
        tok_bleu.format(),
        tok_bleu.signature
    );
    println!(
        "chrF                     {}  {}",
        chrf.format(&chrf_cfg),
        chrf.signature
    );
    println!(
        "exact match              {exact}/{n} = {:.2}%",
        100.0 * exact as f64 / n as f64
    );
    println!("speed                    {n} sentences in {seconds:.2} s = {per_sec:.1} sentences/s");
    if let Some(path) = &args.output {
        println!("translations: {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenized_bleu_input_is_lowercased_words() {
        assert_eq!(
            lower_joined(&tokenize("Tom's here, Marie!")),
            "tom's here , marie !"
        );
        assert_eq!(lower_joined::<&str>(&[]), "");
    }

    #[test]
    fn json_numbers_keep_their_decimal_form() {
        assert_eq!(shortest(0.6), 0.6);
        assert_eq!(shortest(2.0), 2.0);
    }
}
