//! The options of `s2s train` (clap derive). Each doc comment is the text
//! `s2s train --help` shows; docs/training.md explains them at length.

use clap::{ArgAction, Args, ValueEnum};
use std::path::PathBuf;

/// Which model to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    /// GRU encoder–decoder with attention (Bahdanau / Luong).
    GruAttn,
    /// LSTM encoder–decoder with attention (Bahdanau / Luong).
    LstmAttn,
    /// Sutskever's LSTM encoder–decoder: the context is the final state.
    Lstm,
    /// The same with GRU cells (Cho et al. 2014).
    Gru,
    /// Vaswani's Transformer.
    Transformer,
}

/// Attention score of the RNN attention models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AttentionKind {
    Bahdanau,
    Dot,
    General,
    Concat,
}

/// Learning-rate schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleKind {
    Constant,
    /// Multiply by --gamma every --step-size steps.
    Step,
    /// Vaswani's warm-up then 1/√step, scaled by d_model^-½.
    Noam,
    /// Linear warm-up to --lr, then --lr·√(warmup/step).
    InverseSqrt,
}

/// The validation metric that picks best/ and that --patience follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeepBestKind {
    /// The lowest validation loss.
    Loss,
    /// The highest validation BLEU of greedy decoding (measures BLEU).
    Bleu,
}

/// Text normalisation applied to both sides on reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NormalizeKind {
    None,
    Nfc,
    /// The PyTorch tutorial's ASCII folding (lowercase, letters and .!? kept).
    Tutorial,
}

/// `s2s train` options.
///
/// `args_override_self`: an option given twice takes its last value, which
/// is how the command line overrides a `--config` file (train_file.rs).
#[derive(Args, Debug)]
#[command(args_override_self = true)]
#[command(after_help = "Examples:\n  \
    s2s train                                   # the built-in dates task, ~3 minutes on 2 cores\n  \
    s2s train --data eng-fra.txt --src fra --tgt eng --tutorial-filter --epochs 20\n  \
    s2s train --train-src train.de --train-tgt train.en --valid-src val.de --valid-tgt val.en \\\n            --model transformer --bpe-merges 8000\n  \
    s2s train --resume runs/dates-gru-attn       # continue a run exactly where it stopped\n\n\
    See docs/training.md for every option, the logs and the checkpoint layout.")]
pub struct TrainArgs {
    // ------------------------------------------------------------ data
    /// Built-in task used when no data files are given (the only one: dates).
    #[arg(long, default_value = "dates", help_heading = "Data")]
    pub task: String,
    /// Tab-separated sentence pairs, 2 or 3 columns (Tatoeba / manythings).
    #[arg(long, conflicts_with = "train_src", help_heading = "Data")]
    pub data: Option<PathBuf>,
    /// Source language of --data, matched against its file name `xxx-yyy.txt`.
    #[arg(long, help_heading = "Data")]
    pub src: Option<String>,
    /// Target language of --data (see --src).
    #[arg(long, help_heading = "Data")]
    pub tgt: Option<String>,
    /// Translate column 2 → column 1 of --data instead of 1 → 2.
    #[arg(long, help_heading = "Data")]
    pub reverse: bool,
    /// Keep the PyTorch tutorial's subset of --data: < 10 words, English
    /// side starting "i am", "he is", … (implies --normalize tutorial).
    #[arg(long, help_heading = "Data")]
    pub tutorial_filter: bool,
    /// Training source file, one sentence per line (Multi30k style).
    #[arg(long, requires_all = ["train_tgt", "valid_src", "valid_tgt"], help_heading = "Data")]
    pub train_src: Option<PathBuf>,
    /// Training target file, line i translating line i of --train-src.
    #[arg(long, help_heading = "Data")]
    pub train_tgt: Option<PathBuf>,
    /// Validation source file.
    #[arg(long, help_heading = "Data")]
    pub valid_src: Option<PathBuf>,
    /// Validation target file.
    #[arg(long, help_heading = "Data")]
    pub valid_tgt: Option<PathBuf>,
    /// Test source file for the final accuracy (default: the validation files).
    #[arg(long, requires = "test_tgt", help_heading = "Data")]
    pub test_src: Option<PathBuf>,
    /// Test target file.
    #[arg(long, help_heading = "Data")]
    pub test_tgt: Option<PathBuf>,
    /// Skip malformed lines (wrong columns, invalid UTF-8, empty side) and
    /// count them, instead of stopping at the first.
    #[arg(long, help_heading = "Data")]
    pub skip_bad_lines: bool,
    /// Unicode normalisation of both sides [default: nfc; tutorial with --tutorial-filter].
    #[arg(long, value_enum, help_heading = "Data")]
    pub normalize: Option<NormalizeKind>,
    /// Lowercase both sides.
    #[arg(long, help_heading = "Data")]
    pub lowercase: bool,
    /// Learn this many BPE merges on the training side (0: whole words).
    #[arg(long, default_value_t = 0, help_heading = "Data")]
    pub bpe_merges: usize,
    /// Use this Hugging Face tokenizer.json (a BPE model) for both sides
    /// instead of learning one; it is saved with the run.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "bpe_merges",
        help_heading = "Data"
    )]
    pub tokenizer_json: Option<PathBuf>,
    /// Use this SentencePiece .model (unigram or BPE) for both sides
    /// instead of learning one; it is saved with the run.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["bpe_merges", "tokenizer_json"], help_heading = "Data")]
    pub sentencepiece: Option<PathBuf>,
    /// Drop tokens seen fewer times than this in training (they become <unk>).
    #[arg(long, default_value_t = 1, help_heading = "Data")]
    pub min_freq: usize,
    /// Cap on each vocabulary's size, specials included.
    #[arg(long, help_heading = "Data")]
    pub max_vocab: Option<usize>,
    /// Drop training and validation pairs longer than this many tokens on
    /// either side (one overlong line would make a batch too big to fit).
    #[arg(long, default_value_t = 256, help_heading = "Data")]
    pub max_len: usize,
    /// Dates task: number of training examples.
    #[arg(long, default_value_t = 12_000, help_heading = "Data")]
    pub train_size: usize,
    /// Dates task: validation and test examples (each).
    #[arg(long, default_value_t = 1_000, help_heading = "Data")]
    pub held_out_size: usize,

    // ------------------------------------------------------------ model
    #[arg(long, value_enum, default_value = "gru-attn", help_heading = "Model")]
    pub model: ModelKind,
    /// Attention score for gru-attn / lstm-attn.
    #[arg(long, value_enum, default_value = "bahdanau", help_heading = "Model")]
    pub attention: AttentionKind,
    /// Embedding size (RNN models).
    #[arg(long, default_value_t = 32, help_heading = "Model")]
    pub embed_size: usize,
    /// Hidden size per direction (RNN models) [default: 64; 128 for lstm and gru].
    #[arg(long, help_heading = "Model")]
    pub hidden_size: Option<usize>,
    /// Layers of every RNN (and of the Transformer when --enc-layers/--dec-layers are not given).
    #[arg(long, default_value_t = 1, help_heading = "Model")]
    pub layers: usize,
    /// Bidirectional encoder (attention models).
    #[arg(long, default_value_t = true, action = ArgAction::Set, help_heading = "Model")]
    pub bidirectional: bool,
    /// Size of the additive attention layer (bahdanau, concat).
    #[arg(long, default_value_t = 64, help_heading = "Model")]
    pub attn_size: usize,
    /// Luong input feeding (dot, general, concat).
    #[arg(long, default_value_t = true, action = ArgAction::Set, help_heading = "Model")]
    pub input_feeding: bool,
    /// Probability of feeding the gold previous token in training (RNN models).
    #[arg(long, default_value_t = 1.0, help_heading = "Model")]
    pub teacher_forcing: f32,
    /// Feed the source backwards (Sutskever et al.; lstm / gru).
    #[arg(long, help_heading = "Model")]
    pub reverse_source: bool,
    /// Dropout probability.
    #[arg(long, default_value_t = 0.1, help_heading = "Model")]
    pub dropout: f32,
    /// Transformer model size.
    #[arg(long, default_value_t = 64, help_heading = "Model")]
    pub d_model: usize,
    /// Transformer attention heads.
    #[arg(long, default_value_t = 4, help_heading = "Model")]
    pub heads: usize,
    /// Transformer feed-forward size.
    #[arg(long, default_value_t = 128, help_heading = "Model")]
    pub ff_size: usize,
    /// Transformer encoder layers [default: --layers, at least 2].
    #[arg(long, help_heading = "Model")]
    pub enc_layers: Option<usize>,
    /// Transformer decoder layers [default: --layers, at least 2].
    #[arg(long, help_heading = "Model")]
    pub dec_layers: Option<usize>,
    /// Transformer: layer norm before each sub-layer (trains without warm-up).
    #[arg(long, default_value_t = true, action = ArgAction::Set, help_heading = "Model")]
    pub norm_first: bool,
    /// Transformer: one embedding table and vocabulary for both sides.
    #[arg(long, help_heading = "Model")]
    pub share_embeddings: bool,
    /// Transformer: output projection tied to the target embedding.
    #[arg(long, help_heading = "Model")]
    pub tie_output: bool,

    // ------------------------------------------------------------ training
    /// Passes over the training data [default: 6 for gru-attn and lstm-attn; 12 for lstm, gru and transformer].
    #[arg(long, help_heading = "Training")]
    pub epochs: Option<usize>,
    /// Stop after this many optimizer steps (a checkpoint is saved; --resume continues).
    #[arg(long, help_heading = "Training")]
    pub max_steps: Option<u64>,
    /// Sentence pairs per batch.
    #[arg(long, default_value_t = 64, help_heading = "Training")]
    pub batch_size: usize,
    /// Batch by tokens instead: at most this many (padding included) per batch.
    #[arg(long, help_heading = "Training")]
    pub batch_tokens: Option<usize>,
    /// Batches whose gradients are summed before each optimizer step.
    #[arg(long, default_value_t = 1, help_heading = "Training")]
    pub accumulate: usize,
    /// adam or adamw.
    #[arg(long, default_value = "adam", value_parser = ["adam", "adamw"], help_heading = "Training")]
    pub optimizer: String,
    /// Base learning rate [default: 3e-3; 1.0 with --schedule noam].
    #[arg(long, help_heading = "Training")]
    pub lr: Option<f32>,
    /// Weight decay (L2 for adam, decoupled for adamw).
    #[arg(long, default_value_t = 0.0, help_heading = "Training")]
    pub weight_decay: f32,
    /// Learning-rate schedule [default: constant; inverse-sqrt for transformer].
    #[arg(long, value_enum, help_heading = "Training")]
    pub schedule: Option<ScheduleKind>,
    /// Warm-up steps (noam, inverse-sqrt).
    #[arg(long, default_value_t = 200, help_heading = "Training")]
    pub warmup: u64,
    /// Steps between decays (step).
    #[arg(long, default_value_t = 1000, help_heading = "Training")]
    pub step_size: u64,
    /// Decay factor (step).
    #[arg(long, default_value_t = 0.5, help_heading = "Training")]
    pub gamma: f32,
    /// Clip the global gradient norm to this (0: no clipping).
    #[arg(long, default_value_t = 1.0, help_heading = "Training")]
    pub clip: f32,
    /// Label smoothing ε.
    #[arg(long, default_value_t = 0.0, help_heading = "Training")]
    pub label_smoothing: f32,
    /// Stop after this many validations (epochs, by default) without a
    /// better --keep-best metric (0: never).
    #[arg(long, default_value_t = 0, help_heading = "Training")]
    pub patience: usize,
    /// Validate every this many optimizer steps instead of at the end of
    /// each epoch (0: each epoch); the last epoch's end is validated too.
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        help_heading = "Validation"
    )]
    pub valid_every: u64,
    /// At each validation also greedy-decode the validation pairs and log
    /// their BLEU and chrF.
    #[arg(long, help_heading = "Validation")]
    pub valid_bleu: bool,
    /// Decode only N validation pairs for BLEU, a sample fixed by --seed
    /// (implies --valid-bleu) [default: all].
    #[arg(long, value_name = "N", help_heading = "Validation")]
    pub valid_bleu_sample: Option<usize>,
    /// What best/ keeps and --patience follows: the lowest validation loss
    /// or the highest validation BLEU (implies --valid-bleu).
    #[arg(long, value_enum, default_value = "loss", help_heading = "Validation")]
    pub keep_best: KeepBestKind,
    /// Also keep the checkpoints of the last N saves (each epoch's end and
    /// every --save-every steps) in checkpoints/step-S/, deleting older
    /// ones [default: none, only best/ and last/].
    #[arg(long, value_name = "N", help_heading = "Validation")]
    pub keep_last: Option<usize>,
    /// Log (and read the loss back) every this many steps.
    #[arg(long, default_value_t = 20, help_heading = "Training")]
    pub log_every: u64,
    /// Also save last/ every this many steps (0: at the end of each epoch).
    #[arg(long, default_value_t = 0, help_heading = "Training")]
    pub save_every: u64,
    /// Longest output when measuring accuracy.
    #[arg(long, default_value_t = 64, help_heading = "Training")]
    pub max_decode_len: usize,

    // ------------------------------------------------------------ run
    /// Read options from a TOML file (keys: the long option names, e.g.
    /// `epochs = 3`); options on the command line override it. Every run
    /// writes its resolved options as config.toml in its directory.
    #[arg(long, value_name = "FILE", help_heading = "Run")]
    pub config: Option<PathBuf>,
    /// Run directory [default: runs/<task>-<model>/].
    #[arg(long, help_heading = "Run")]
    pub out: Option<PathBuf>,
    /// Continue the run in DIR (a run directory or a checkpoint) exactly;
    /// only --epochs, --max-steps, --out, --device and --quiet apply.
    #[arg(long, value_name = "DIR", help_heading = "Run")]
    pub resume: Option<PathBuf>,
    /// Start afresh even though the run directory holds a run: its
    /// checkpoints and logs are deleted once the new run has passed its
    /// checks (a start that fails keeps them).
    #[arg(long, conflicts_with = "resume", help_heading = "Run")]
    pub overwrite: bool,
    /// Where to compute: auto (a real GPU if any, else the CPU), cpu or gpu.
    #[arg(long, default_value = "auto", help_heading = "Run")]
    pub device: String,
    /// Seed of weights, dropout, data order and the dates task.
    #[arg(long, default_value_t = 1, help_heading = "Run")]
    pub seed: u64,
    /// No progress bar or messages; only the final summary.
    #[arg(long, help_heading = "Run")]
    pub quiet: bool,
}
