//! `s2s translate`: translate sentences with a trained checkpoint, by beam
//! search, greedy decoding or sampling (`seq2seq::decode`), optionally
//! drawing the attention of each translation as a heatmap (plot/heatmap.rs).
//!
//! ```text
//! s2s translate --model runs/dates "Tuesday, March 3 2021" "3/4/99"
//! echo "je suis content ." | s2s translate --model runs/fra-eng --beam 5 --length-penalty 1
//! s2s translate --model runs/dates --attention-plot att.svg "2 June 1999"
//! s2s translate --model runs/dates --nbest 3 --json "2 June 1999"
//! s2s translate --model runs/dates --sample --top-p 0.9 --seed 7 "2 June 1999"
//! ```
//!
//! Sentences come from the arguments or, without any, one per line from
//! standard input; each translation is printed (and flushed) as soon as it
//! is decoded, so the command can sit in a pipe and answer line by line.
//! The n-best and JSON Lines formats are written by translate_output.rs;
//! `--replace-unk` copies source words into `<unk>` slots
//! (`seq2seq::decode::replace_unk`).
//!
//! The decoding options and the model loading here are shared with
//! `s2s eval` (eval_cmd.rs).

use crate::detok::{detokenize, Lang};
use crate::plot::heatmap::{Figure, Panel};
use crate::translate_output::{json_line, nbest_line, Translation};
use anyhow::{bail, Context, Result};
use clap::Args;
use seq2seq::data::{Bpe, Tokenizer, Vocab};
use seq2seq::decode::{
    alignment_attention, decode, decode_nbest, replace_unk, DecodeOptions, Hypothesis, LengthNorm,
    Sampling,
};
use seq2seq::models::{ModelConfig, Source};
use seq2seq::train::checkpoint::{self, Checkpoint};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use tensor::Device;

/// The widest beam `--beam` accepts.
pub const MAX_BEAM: usize = 1000;
/// The beam width without `--beam` (and without `--sample`).
pub const DEFAULT_BEAM: usize = 5;
/// The longest output `--max-len` accepts.
pub const MAX_DECODE_LEN: usize = 100_000;

/// How to search for the translation (shared by translate and eval).
#[derive(Args, Debug, Clone)]
pub struct DecodeArgs {
    /// Beam width K: the K best partial translations are kept at every
    /// step; 1 is greedy decoding [default: 5; 1 with --sample].
    #[arg(long, value_name = "K")]
    pub beam: Option<usize>,
    /// α of the length penalty lp(Y) that divides a hypothesis'
    /// log-probability (0: none; larger favours longer outputs).
    #[arg(long, default_value_t = 0.6, value_name = "ALPHA")]
    pub length_penalty: f32,
    /// Which length penalty: gnmt, ((5 + |Y|) / 6)^α with |Y| counting
    /// the final <eos>; or power, |Y|^α with |Y| the output tokens alone
    /// (CTranslate2's and fairseq's rule).
    #[arg(long, value_enum, default_value = "gnmt", value_name = "RULE")]
    pub length_norm: LengthNormArg,
    /// Longest output as a multiple of the source length in tokens
    /// (0: no limit from the source).
    #[arg(long, default_value_t = 2.0, value_name = "RATIO")]
    pub max_len_ratio: f32,
    /// Longest output in tokens, whatever the source length.
    #[arg(long, default_value_t = 200)]
    pub max_len: usize,
    /// Target-language spacing rules for joining word tokens into text:
    /// en or fr (translate: en when absent; eval: guessed from the
    /// references). Models on characters output text directly.
    #[arg(long, value_name = "LANG", value_parser = clap::value_parser!(Lang))]
    pub target_lang: Option<Lang>,
    /// auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Weights for the matrix products: f32, or int8 (quantized per output
    /// row when the model is loaded, activations per row at each product;
    /// CPU only; docs/kernels/int8.md).
    #[arg(long, value_enum, default_value = "f32", value_name = "TYPE")]
    pub quantize: Quantize,
}

/// `--length-norm`: how the length penalty grows with the output's length
/// (`seq2seq::decode::LengthNorm`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthNormArg {
    /// ((5 + |Y|) / 6)^α, |Y| counting <eos> (Wu et al. 2016).
    Gnmt,
    /// |Y|^α, |Y| without <eos> (CTranslate2, fairseq).
    Power,
}

impl LengthNormArg {
    /// The library's rule.
    pub fn rule(self) -> LengthNorm {
        match self {
            LengthNormArg::Gnmt => LengthNorm::Gnmt,
            LengthNormArg::Power => LengthNorm::Power,
        }
    }
}

/// `--quantize`: the weights of the model's matrix products.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantize {
    /// The trained f32 weights.
    #[value(alias = "none")]
    F32,
    /// Int8 weights and activations, int32 accumulation (CPU only).
    Int8,
}

impl Quantize {
    pub fn name(self) -> &'static str {
        match self {
            Quantize::F32 => "f32",
            Quantize::Int8 => "int8",
        }
    }
}

/// Applies `--quantize` to a loaded checkpoint; int8 needs the CPU.
pub fn quantize_model(ck: &mut Checkpoint, quantize: Quantize, device: &Device) -> Result<()> {
    if quantize == Quantize::Int8 {
        if *device != Device::Cpu {
            bail!("--quantize int8 runs on the CPU only (the model is on the {device}); add --device cpu");
        }
        ck.model
            .quantize_int8()
            .with_context(|| format!("--quantize int8: {}", ck.dir.display()))?;
    }
    Ok(())
}

impl DecodeArgs {
    /// The device of `--device`; `auto` means the CPU under `--quantize
    /// int8`, which has no GPU kernel (refused with `--device gpu`).
    pub fn device(&self) -> Result<Device> {
        if self.quantize == Quantize::Int8 {
            return match self.device.as_str() {
                "gpu" => bail!("--quantize int8 runs on the CPU only; use --device cpu (or auto)"),
                "auto" => Ok(Device::Cpu),
                other => Ok(Device::parse_choice(other)?),
            };
        }
        Ok(Device::parse_choice(&self.device)?)
    }

    /// The beam width: `--beam`, or its default.
    pub fn beam(&self) -> usize {
        self.beam.unwrap_or(DEFAULT_BEAM)
    }

    /// The library's options, with the option at fault named on error.
    pub fn options(&self, attention: bool) -> Result<DecodeOptions> {
        // Beams wider than a few dozen no longer change the translation;
        // a beam of thousands only multiplies the decoder's memory.
        let beam = self.beam();
        if beam == 0 || beam > MAX_BEAM {
            bail!("--beam {beam}: must be between 1 and {MAX_BEAM} (1 is greedy decoding)");
        }
        crate::checks::count("--max-len", self.max_len, 1, MAX_DECODE_LEN)?;
        if !self.length_penalty.is_finite() || self.length_penalty < 0.0 {
            bail!(
                "--length-penalty {} must be a number ≥ 0",
                self.length_penalty
            );
        }
        if !self.max_len_ratio.is_finite() || self.max_len_ratio < 0.0 {
            bail!(
                "--max-len-ratio {} must be a number ≥ 0 (0: no limit from the source length)",
                self.max_len_ratio
            );
        }
        Ok(DecodeOptions {
            beam,
            length_penalty: self.length_penalty,
            length_norm: self.length_norm.rule(),
            max_len_ratio: self.max_len_ratio,
            max_len: self.max_len,
            attention,
            ..Default::default()
        })
    }
}

/// How to draw translations at random instead of searching (translate only).
#[derive(Args, Debug, Clone)]
pub struct SampleArgs {
    /// Draw each output token at random from the model's distribution
    /// (reshaped by --temperature, --top-k, --top-p) instead of searching;
    /// excludes --beam above 1 and --nbest.
    #[arg(long)]
    pub sample: bool,
    /// With --sample: divide the log-probabilities by T > 0 before drawing
    /// (below 1 sharper, above 1 flatter) [default: 1].
    #[arg(long, value_name = "T")]
    pub temperature: Option<f32>,
    /// With --sample: draw only among the K most probable tokens (Fan et
    /// al. 2018; 0: all) [default: 0].
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,
    /// With --sample: draw only among the smallest set of most probable
    /// tokens whose probability adds up to P, 0 < P ≤ 1 (nucleus sampling,
    /// Holtzman et al. 2020; 1: all) [default: 1].
    #[arg(long, value_name = "P")]
    pub top_p: Option<f32>,
    /// With --sample: the seed of the random draws; the same seed gives the
    /// same translations [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
}

impl SampleArgs {
    /// The sampling settings, or None without --sample; an error names a
    /// sampling option given without --sample or out of its range.
    pub fn sampling(&self) -> Result<Option<Sampling>> {
        if !self.sample {
            let given = [
                ("--temperature", self.temperature.is_some()),
                ("--top-k", self.top_k.is_some()),
                ("--top-p", self.top_p.is_some()),
                ("--seed", self.seed.is_some()),
            ];
            if let Some((opt, _)) = given.iter().find(|(_, g)| *g) {
                bail!("{opt} only applies when sampling: add --sample");
            }
            return Ok(None);
        }
        let temperature = self.temperature.unwrap_or(1.0);
        crate::checks::real("--temperature", temperature, temperature > 0.0, "(0, ∞)")?;
        let top_p = self.top_p.unwrap_or(1.0);
        crate::checks::real("--top-p", top_p, top_p > 0.0 && top_p <= 1.0, "(0, 1]")?;
        Ok(Some(Sampling {
            temperature,
            top_k: self.top_k.unwrap_or(0),
            top_p,
            seed: self.seed.unwrap_or(1),
            offset: 0,
        }))
    }
}

/// `s2s translate` options.
#[derive(Args, Debug)]
pub struct TranslateArgs {
    /// A run directory (its best/ checkpoint is used) or a checkpoint directory.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Sentences to translate; without any, one per line from standard input.
    pub text: Vec<String>,
    #[command(flatten)]
    pub decode: DecodeArgs,
    #[command(flatten)]
    pub sample: SampleArgs,
    /// Print the N best hypotheses of the beam (N ≤ --beam) with their
    /// scores, one line each: `ID ||| TEXT ||| log_prob=LOGP ||| SCORE`
    /// (ID: the input line, from 0; SCORE: LOGP / length penalty).
    #[arg(long, value_name = "N")]
    pub nbest: Option<usize>,
    /// Print one JSON object per input line (JSON Lines): source, tokens,
    /// text, scores, the n-best list with --nbest, and the attention
    /// matrices (output × source) of models with attention.
    #[arg(long)]
    pub json: bool,
    /// Replace every <unk> of the output by the source token the model
    /// attended to most when writing it (OpenNMT's -replace_unk); models
    /// with attention only.
    #[arg(long)]
    pub replace_unk: bool,
    /// Draw each translation's attention as a heatmap: FILE.svg or FILE.png.
    /// One sentence given as an argument writes FILE itself; several (or
    /// standard input) write FILE-1.svg, FILE-2.svg, … in input order.
    #[arg(long, value_name = "FILE")]
    pub attention_plot: Option<PathBuf>,
}

/// Loads the checkpoint at `dir` for translation, saying which directory
/// failed and why (the library's message names the file at fault).
pub fn load_model(dir: &Path, device: &Device) -> Result<Checkpoint> {
    if !dir.exists() {
        bail!("model directory {} does not exist", dir.display());
    }
    let ck = checkpoint::load(dir, "best", device)
        .with_context(|| format!("cannot load a model from {}", dir.display()))?;
    // Given a run directory (not a checkpoint) that has no best/ yet.
    let fell_back = ck.dir != dir
        && ck
            .dir
            .file_name()
            .is_some_and(|n| n == "last" || n == "last.old");
    if fell_back && !dir.join("best").exists() {
        eprintln!(
            "note: {} has no best/ checkpoint yet (no epoch finished); using {}",
            dir.display(),
            ck.dir.display()
        );
    }
    Ok(ck)
}

/// Turns model outputs into text and the token lists behind it.
pub struct Detokenizer<'a> {
    tokenizer: &'a Tokenizer,
    vocab: &'a Vocab,
    lang: Lang,
}

impl<'a> Detokenizer<'a> {
    pub fn new(ck: &'a Checkpoint, lang: Lang) -> Detokenizer<'a> {
        Detokenizer {
            tokenizer: &ck.lexicon.tgt_tokenizer,
            vocab: &ck.lexicon.tgt_vocab,
            lang,
        }
    }

    /// The output's words: vocabulary tokens for a word model, BPE symbols
    /// merged back into words, or — for a character model — the text cut
    /// by the word tokenizer (so tokenized BLEU sees words either way).
    pub fn words(&self, ids: &[u32]) -> Vec<String> {
        self.words_of(self.vocab.decode(ids))
    }

    /// [`Detokenizer::words`] of output tokens given as text.
    fn words_of(&self, tokens: Vec<String>) -> Vec<String> {
        match self.tokenizer {
            Tokenizer::Word => tokens,
            Tokenizer::Bpe(_) => Bpe::decode(&tokens),
            Tokenizer::Char | Tokenizer::HuggingFace(_) | Tokenizer::SentencePiece(_) => {
                seq2seq::data::tokenize::tokenize(&self.tokenizer.decode(&tokens))
            }
        }
    }

    /// The output as text.
    pub fn text(&self, ids: &[u32]) -> String {
        self.text_of(self.vocab.decode(ids))
    }

    /// The text of output tokens given as text (e.g. after `<unk>`
    /// replacement).
    pub fn text_of(&self, tokens: Vec<String>) -> String {
        match self.tokenizer {
            Tokenizer::Char | Tokenizer::HuggingFace(_) | Tokenizer::SentencePiece(_) => {
                self.tokenizer.decode(&tokens)
            }
            _ => detokenize(&self.words_of(tokens), self.lang),
        }
    }
}

/// Decodes `sentences` as one batch: one hypothesis each, in order.
pub fn translate_batch(
    ck: &Checkpoint,
    sentences: &[String],
    opts: &DecodeOptions,
    device: &Device,
) -> Result<Vec<Hypothesis>> {
    if sentences.is_empty() {
        return Ok(Vec::new());
    }
    Ok(decode(
        &ck.model,
        &encode_batch(ck, sentences, device)?,
        opts,
    )?)
}

/// Decodes `sentences` as one batch: for each, its `opts.nbest` best
/// hypotheses, best first (or its one sample).
fn translate_nbest(
    ck: &Checkpoint,
    sentences: &[String],
    opts: &DecodeOptions,
    device: &Device,
) -> Result<Vec<Vec<Hypothesis>>> {
    if sentences.is_empty() {
        return Ok(Vec::new());
    }
    Ok(decode_nbest(
        &ck.model,
        &encode_batch(ck, sentences, device)?,
        opts,
    )?)
}

/// The batch of source ids of `sentences`, refusing a sentence longer than
/// the model reads.
fn encode_batch(ck: &Checkpoint, sentences: &[String], device: &Device) -> Result<Source> {
    let ids: Vec<Vec<u32>> = sentences.iter().map(|s| source_ids(ck, s)).collect();
    // The Transformer's positional table ends at max_len positions (the
    // source's tokens with its <eos>); say so in the sentence's terms.
    if let ModelConfig::Transformer(c) = ck.model.config() {
        for (s, ids) in sentences.iter().zip(&ids) {
            if ids.len() > c.max_len {
                bail!(
                    "the sentence {:?} has {} tokens with its <eos>, but this model reads at \
                     most {} (its max_len in config.json): split it",
                    clip(s, 40),
                    ids.len(),
                    c.max_len
                );
            }
        }
    }
    Ok(Source::from_ids(&ids, device)?)
}

/// Where the plot of sentence `n` (1-based) goes: `file` itself when it is
/// the only one, else `stem-n.ext` beside it.
fn plot_path(file: &Path, n: usize, numbered: bool) -> PathBuf {
    if !numbered {
        return file.to_path_buf();
    }
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    let ext = file.extension().unwrap_or_default().to_string_lossy();
    file.with_file_name(format!("{stem}-{n}.{ext}"))
}

/// The plot format named by `file`'s extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PlotFormat {
    Svg,
    Png,
}

fn plot_format(file: &Path) -> Result<PlotFormat> {
    let ext = file.extension().map(|e| e.to_string_lossy().to_lowercase());
    match ext.as_deref() {
        Some("svg") => Ok(PlotFormat::Svg),
        Some("png") => Ok(PlotFormat::Png),
        _ => bail!(
            "--attention-plot {}: the file name must end in .svg or .png (it picks the format)",
            file.display()
        ),
    }
}

/// A friendlier panel title: "decoder.layers.0.multihead_attn head 3" →
/// "layer 0 head 3" (the numbers stay 0-based, as in the weight names).
fn panel_title(name: &str) -> String {
    name.replace("decoder.layers.", "layer ")
        .replace(".multihead_attn", "")
}

/// `s` cut to `n` characters with "…".
fn clip(s: &str, n: usize) -> String {
    match s.chars().count() > n {
        true => s.chars().take(n - 1).chain(['…']).collect(),
        false => s.to_string(),
    }
}

/// A user's sentence → source ids, normalised as the training text was
/// (e.g. the tutorial's lowercase ASCII folding for a Tatoeba model), so
/// "Je suis fatigué." finds the words the model learned as "je suis fatigue".
pub fn source_ids(ck: &Checkpoint, text: &str) -> Vec<u32> {
    ck.lexicon.encode_source(&normalised(ck, text))
}

/// A user's sentence as the training text was normalised.
fn normalised(ck: &Checkpoint, text: &str) -> String {
    match &ck.state {
        Some(state) => {
            let data = &state.data;
            data.normalization.apply(text, data.lowercase)
        }
        None => text.to_string(),
    }
}

/// The source tokens as written (before the vocabulary turns unknown ones
/// into `<unk>`), with the `<eos>` the model reads last: one per column
/// of the attention maps.
fn source_words(ck: &Checkpoint, text: &str) -> Vec<String> {
    let mut words = ck.lexicon.src_tokenizer.encode(&normalised(ck, text));
    words.push(Vocab::SPECIALS[Vocab::EOS as usize].to_string());
    words
}

/// The source tokens as the model read them (`<unk>` for unknown ones),
/// `<eos>` included.
fn source_tokens(ck: &Checkpoint, text: &str) -> Vec<String> {
    let vocab = &ck.lexicon.src_vocab;
    source_ids(ck, text)
        .iter()
        .map(|&id| vocab.token(id).to_string())
        .collect()
}

/// The heatmap figure of one translation.
fn attention_figure(
    ck: &Checkpoint,
    source: &str,
    translation: &str,
    hyp: &Hypothesis,
) -> Result<Figure> {
    let src = source_tokens(ck, source);
    let rows = hyp.attention.first().map_or(0, |m| m.rows);
    let mut out = output_tokens(ck, hyp);
    out.push(Vocab::SPECIALS[Vocab::EOS as usize].to_string());
    out.truncate(rows);
    let panels = hyp
        .attention
        .iter()
        .map(|m| Panel {
            title: panel_title(&m.name),
            rows: m.rows,
            cols: m.cols,
            weights: m.weights.clone(),
        })
        .collect();
    let columns = match ck.model.config() {
        ModelConfig::Transformer(c) => c.nhead,
        _ => 1,
    };
    let title = format!("{} → {}", clip(source, 40), clip(translation, 40));
    Figure::new(title, src, out, panels, columns).map_err(anyhow::Error::msg)
}

fn write_plot(figure: &Figure, path: &Path, format: PlotFormat) -> Result<()> {
    let bytes = match format {
        PlotFormat::Svg => figure.to_svg().map(String::into_bytes),
        PlotFormat::Png => figure.to_png(),
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Sentences from the arguments are decoded this many at a time.
const ARG_BATCH: usize = 32;

/// The output tokens of `hyp`, one per id (`<eos>` excluded).
fn output_tokens(ck: &Checkpoint, hyp: &Hypothesis) -> Vec<String> {
    let vocab = &ck.lexicon.tgt_vocab;
    hyp.tokens
        .iter()
        .map(|&id| vocab.token(id).to_string())
        .collect()
}

/// The decoding options of `translate`: the shared ones, then sampling
/// and the n-best list, each refused with the option named where it
/// conflicts.
fn translate_options(args: &TranslateArgs, attention: bool) -> Result<DecodeOptions> {
    let mut opts = args.decode.options(attention)?;
    if let Some(sampling) = args.sample.sampling()? {
        if let Some(beam) = args.decode.beam.filter(|&b| b != 1) {
            bail!(
                "--sample draws one token at a time and cannot be combined with --beam {beam} \
                 (leave --beam out, or use beam search without --sample)"
            );
        }
        if args.nbest.is_some() {
            bail!(
                "--nbest lists the best hypotheses of beam search and cannot be combined with \
                 --sample (for several samples, run again with other --seed values)"
            );
        }
        opts.beam = 1;
        opts.sampling = Some(sampling);
    }
    if let Some(n) = args.nbest {
        if n == 0 || n > opts.beam {
            bail!(
                "--nbest {n}: must be between 1 and the beam width (--beam {})",
                opts.beam
            );
        }
        opts.nbest = n;
    }
    Ok(opts)
}

/// Runs `s2s translate`.
pub fn run(args: TranslateArgs) -> Result<()> {
    // Check everything that needs no model before loading it.
    let plot = match &args.attention_plot {
        Some(file) => {
            crate::guard::refuse_checkpoint_output(file, "--attention-plot")?;
            Some((file.clone(), plot_format(file)?))
        }
        None => None,
    };
    let device = args.decode.device()?;
    let mut opts = translate_options(&args, plot.is_some() || args.json || args.replace_unk)?;
    let mut ck = load_model(&args.model, &device)?;
    quantize_model(&mut ck, args.decode.quantize, &device)?;
    if let ModelConfig::Rnn(_) = ck.model.config() {
        let model = format!(
            "the model in {} ({})",
            ck.dir.display(),
            ck.model.config().name()
        );
        if plot.is_some() {
            bail!("--attention-plot: {model} has no attention to plot");
        }
        if args.replace_unk {
            bail!("--replace-unk: {model} has no attention to align <unk> with the source");
        }
    }
    let detok = Detokenizer::new(&ck, args.decode.target_lang.unwrap_or(Lang::English));
    // A hypothesis as printed: its tokens (with <unk> replaced when asked)
    // and their text.
    let as_printed = |hyp: &Hypothesis, source: &str| -> Translation {
        let mut tokens = output_tokens(&ck, hyp);
        if args.replace_unk {
            if let Some(alignment) = alignment_attention(&hyp.attention) {
                tokens = replace_unk(&tokens, &source_words(&ck, source), &alignment);
            }
        }
        // <pad> and <bos> have no text (a sample may draw them)
        let words = tokens
            .iter()
            .zip(&hyp.tokens)
            .filter(|(_, &id)| id != Vocab::PAD && id != Vocab::BOS)
            .map(|(t, _)| t.clone())
            .collect();
        Translation {
            text: detok.text_of(words),
            tokens,
            log_prob: hyp.log_prob,
            score: hyp.score,
        }
    };
    let numbered = args.text.len() != 1;
    let mut stdout = std::io::stdout().lock();
    let mut done = 0;
    let mut sampled = 0;
    // Decodes a batch and prints each sentence's output. In plain text an
    // empty sentence gets an empty line and in JSON an object without a
    // translation, so outputs stay aligned with input lines; n-best lines
    // carry their input line's number instead.
    let mut emit = |batch: &[String]| -> Result<()> {
        let wanted: Vec<String> = batch.iter().filter(|s| !s.is_empty()).cloned().collect();
        if let Some(sampling) = &mut opts.sampling {
            // sentence n of the whole input draws from stream n, however
            // the input is cut into batches
            sampling.offset = sampled;
            sampled += wanted.len() as u64;
        }
        let mut lists = translate_nbest(&ck, &wanted, &opts, &device)?.into_iter();
        for source in batch {
            let id = done;
            done += 1;
            if source.is_empty() {
                match (args.json, args.nbest.is_some()) {
                    (true, _) => writeln!(
                        stdout,
                        "{}",
                        json_line(id, "", &[], &[], &[], args.nbest.is_some())
                    )?,
                    (false, true) => {}
                    (false, false) => writeln!(stdout)?,
                }
                continue;
            }
            let hyps = lists.next().expect("one list per sentence");
            let printed: Vec<Translation> = hyps.iter().map(|h| as_printed(h, source)).collect();
            let best = hyps.first();
            if args.json {
                let attention = best.map_or(&[][..], |h| &h.attention[..]);
                let line = json_line(
                    id,
                    source,
                    &source_tokens(&ck, source),
                    &printed,
                    attention,
                    args.nbest.is_some(),
                );
                writeln!(stdout, "{line}")?;
            } else if args.nbest.is_some() {
                for t in &printed {
                    writeln!(stdout, "{}", nbest_line(id, t))?;
                }
            } else {
                writeln!(stdout, "{}", printed.first().map_or("", |t| &t.text))?;
            }
            stdout.flush()?;
            if let (Some((file, format)), Some(hyp)) = (&plot, best) {
                let path = plot_path(file, done, numbered);
                let text = printed.first().map_or("", |t| &t.text);
                write_plot(&attention_figure(&ck, source, text, hyp)?, &path, *format)?;
                eprintln!("attention plot: {}", path.display());
            }
        }
        Ok(())
    };
    if !args.text.is_empty() {
        for batch in args.text.chunks(ARG_BATCH) {
            emit(batch)?;
        }
        return Ok(());
    }
    // Standard input: one sentence at a time, answered as it arrives.
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.with_context(|| format!("cannot read line {} of standard input", n + 1))?;
        emit(&[line.trim().to_string()])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_paths_and_formats() {
        let f = Path::new("out/att.svg");
        assert_eq!(plot_path(f, 3, false), PathBuf::from("out/att.svg"));
        assert_eq!(plot_path(f, 3, true), PathBuf::from("out/att-3.svg"));
        assert_eq!(plot_format(f).unwrap(), PlotFormat::Svg);
        assert_eq!(plot_format(Path::new("a.b.PNG")).unwrap(), PlotFormat::Png);
        let e = plot_format(Path::new("att.pdf")).unwrap_err().to_string();
        assert!(e.contains("att.pdf") && e.contains(".svg or .png"), "{e}");
        assert!(plot_format(Path::new("att")).is_err());
    }

    #[test]
    fn panel_titles_are_shortened() {
        assert_eq!(
            panel_title("decoder.layers.1.multihead_attn head 3"),
            "layer 1 head 3"
        );
        assert_eq!(panel_title("attention"), "attention");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
