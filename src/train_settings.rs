//! From `s2s train` options (train_args.rs) to the library's three
//! descriptions: the data (`DataConfig`), the model (`ModelConfig`) and the
//! training settings (`TrainConfig`). Defaults that depend on other options
//! (the learning rate of Noam, the normalisation of --tutorial-filter, and
//! the per-model defaults of [`ModelDefaults`]) are decided here.

use crate::train_args::{
    AttentionKind, KeepBestKind, ModelKind, NormalizeKind, ScheduleKind, TrainArgs,
};
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use seq2seq::data::{BatchSize, DateTaskConfig, Normalization};
use seq2seq::models::{
    AttnConfig, CellKind, ModelConfig, RnnSeq2SeqConfig, ScoreKind, TransformerSeq2SeqConfig,
};
use seq2seq::train::{
    BestMetric, DataConfig, DataSource, OptimizerKind, TokenizerKind, TrainConfig,
};
use std::path::{Path, PathBuf};
use tensor::optim::LrSchedule;

/// The defaults that differ by model, each tuned so that a plain
/// `s2s train --model M` learns the built-in dates task well within five
/// minutes on 2 CPU cores (measured figures in docs/training.md):
///
/// | model | hidden | epochs | schedule | why |
/// |---|---|---|---|---|
/// | gru-attn, lstm-attn | 64 | 6 | constant | attention reads the date where it is; small and quick |
/// | lstm, gru | 128 | 12 | constant | the whole date must fit in one state vector |
/// | transformer | (unused) | 12 | inverse-sqrt, 200 warm-up steps | a constant 3e-3 for 6 epochs stops at 92% |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelDefaults {
    /// RNN state size per direction (the transformer has `--d-model`).
    pub hidden_size: usize,
    pub epochs: usize,
    pub schedule: ScheduleKind,
}

impl ModelDefaults {
    pub fn of(model: ModelKind) -> ModelDefaults {
        match model {
            ModelKind::GruAttn | ModelKind::LstmAttn => ModelDefaults {
                hidden_size: 64,
                epochs: 6,
                schedule: ScheduleKind::Constant,
            },
            ModelKind::Lstm | ModelKind::Gru => ModelDefaults {
                hidden_size: 128,
                epochs: 12,
                schedule: ScheduleKind::Constant,
            },
            ModelKind::Transformer => ModelDefaults {
                hidden_size: 64,
                epochs: 12,
                schedule: ScheduleKind::InverseSqrt,
            },
        }
    }
}

/// The short model name of run directories: `gru-attn`, `lstm`, `transformer`.
pub fn model_name(args: &TrainArgs) -> String {
    let base = args
        .model
        .to_possible_value()
        .expect("a named variant")
        .get_name()
        .to_string();
    match args.model {
        ModelKind::GruAttn | ModelKind::LstmAttn if args.attention != AttentionKind::Bahdanau => {
            format!("{base}-{:?}", args.attention).to_lowercase()
        }
        _ => base,
    }
}

/// The data description, and the task's name for the run directory.
pub fn data_config(a: &TrainArgs) -> Result<(DataConfig, String)> {
    let normalization = match a.normalize {
        Some(NormalizeKind::None) => Normalization::None,
        Some(NormalizeKind::Nfc) => Normalization::Nfc,
        Some(NormalizeKind::Tutorial) => Normalization::TutorialKeepPeriod,
        None if a.tutorial_filter => Normalization::Tutorial,
        None => Normalization::Nfc,
    };
    let stem = |p: &Path| {
        p.file_stem()
            .map_or("data".into(), |s| s.to_string_lossy().to_string())
    };
    let (source, name, tokenizer) = if let Some(path) = &a.data {
        let reverse = tsv_direction(path, a)?;
        let source = DataSource::Tsv {
            path: path.clone(),
            reverse,
            tutorial_filter: a.tutorial_filter,
            valid_fraction: 0.1,
            test_fraction: 0.1,
        };
        (source, stem(path), TokenizerKind::Word)
    } else if let Some(train_src) = &a.train_src {
        let req = |p: &Option<PathBuf>, opt: &str| {
            p.clone()
                .with_context(|| format!("{opt} is required with --train-src"))
        };
        let source = DataSource::Parallel {
            train_src: train_src.clone(),
            train_tgt: req(&a.train_tgt, "--train-tgt")?,
            valid_src: req(&a.valid_src, "--valid-src")?,
            valid_tgt: req(&a.valid_tgt, "--valid-tgt")?,
            test: a.test_src.clone().zip(a.test_tgt.clone()),
        };
        (source, stem(train_src), TokenizerKind::Word)
    } else if a.task == "dates" {
        let task = DateTaskConfig {
            seed: a.seed,
            train: a.train_size,
            valid: a.held_out_size,
            test: a.held_out_size,
            ..Default::default()
        };
        (
            DataSource::Dates(task),
            "dates".to_string(),
            TokenizerKind::Char,
        )
    } else {
        bail!(
            "--task {:?}: the built-in task is `dates` (or give --data / --train-src)",
            a.task
        );
    };
    let config = DataConfig {
        source,
        normalization,
        lowercase: a.lowercase,
        skip_bad_lines: a.skip_bad_lines,
        tokenizer,
        bpe_merges: a.bpe_merges,
        tokenizer_file: a.tokenizer_json.clone().or_else(|| a.sentencepiece.clone()),
        min_freq: a.min_freq,
        max_vocab: a.max_vocab,
        joint_vocab: a.share_embeddings,
        max_len: Some(a.max_len),
        split_seed: a.seed,
    };
    Ok((config, name))
}

/// Whether --data is read column 2 → 1: from --reverse, or from --src/--tgt
/// matched against a file name `xxx-yyy.txt`.
fn tsv_direction(path: &Path, a: &TrainArgs) -> Result<bool> {
    let (Some(src), Some(tgt)) = (&a.src, &a.tgt) else {
        if a.src.is_some() || a.tgt.is_some() {
            bail!("--src and --tgt go together");
        }
        return Ok(a.reverse);
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let langs: Vec<&str> = stem.split('-').collect();
    match langs.as_slice() {
        [first, second] if first == src && second == tgt => Ok(a.reverse),
        [first, second] if first == tgt && second == src => Ok(!a.reverse),
        _ => bail!(
            "--src {src} --tgt {tgt}: cannot tell the columns of {} (name it like eng-fra.txt, or use --reverse)",
            path.display()
        ),
    }
}

pub fn train_config(a: &TrainArgs) -> Result<TrainConfig> {
    let defaults = ModelDefaults::of(a.model);
    let schedule_kind = a.schedule.unwrap_or(defaults.schedule);
    let schedule = match schedule_kind {
        ScheduleKind::Constant => LrSchedule::Constant,
        ScheduleKind::Step => LrSchedule::StepDecay {
            step_size: a.step_size,
            gamma: a.gamma,
        },
        ScheduleKind::Noam => LrSchedule::Noam {
            d_model: a.d_model,
            warmup: a.warmup,
        },
        ScheduleKind::InverseSqrt => LrSchedule::InverseSqrt { warmup: a.warmup },
    };
    let default_lr = if schedule_kind == ScheduleKind::Noam {
        1.0
    } else {
        3e-3
    };
    Ok(TrainConfig {
        seed: a.seed,
        epochs: a.epochs.unwrap_or(defaults.epochs),
        max_steps: a.max_steps,
        batch_size: match a.batch_tokens {
            Some(n) => BatchSize::Tokens(n),
            None => BatchSize::Sentences(a.batch_size),
        },
        accumulate: a.accumulate,
        optimizer: if a.optimizer == "adamw" {
            OptimizerKind::AdamW
        } else {
            OptimizerKind::Adam
        },
        lr: a.lr.unwrap_or(default_lr),
        weight_decay: a.weight_decay,
        schedule,
        clip: a.clip,
        label_smoothing: a.label_smoothing,
        patience: a.patience,
        valid_every: a.valid_every,
        valid_bleu: a.valid_bleu,
        valid_bleu_sample: a.valid_bleu_sample,
        keep_best: match a.keep_best {
            KeepBestKind::Loss => BestMetric::Loss,
            KeepBestKind::Bleu => BestMetric::Bleu,
        },
        keep_last: a.keep_last,
        log_every: a.log_every,
        save_every: a.save_every,
        max_decode_len: a.max_decode_len,
    })
}

pub fn model_config(a: &TrainArgs, src_vocab: usize, tgt_vocab: usize) -> ModelConfig {
    let hidden_size = a
        .hidden_size
        .unwrap_or(ModelDefaults::of(a.model).hidden_size);
    let cell = match a.model {
        ModelKind::LstmAttn | ModelKind::Lstm => CellKind::Lstm,
        _ => CellKind::Gru,
    };
    match a.model {
        ModelKind::GruAttn | ModelKind::LstmAttn => ModelConfig::Attn(AttnConfig {
            cell,
            score: match a.attention {
                AttentionKind::Bahdanau => ScoreKind::Bahdanau,
                AttentionKind::Dot => ScoreKind::Dot,
                AttentionKind::General => ScoreKind::General,
                AttentionKind::Concat => ScoreKind::Concat,
            },
            src_vocab,
            tgt_vocab,
            embed_size: a.embed_size,
            hidden_size,
            num_layers: a.layers,
            bidirectional: a.bidirectional,
            attn_size: a.attn_size,
            dropout: a.dropout,
            input_feeding: a.input_feeding,
            teacher_forcing: a.teacher_forcing,
        }),
        ModelKind::Lstm | ModelKind::Gru => ModelConfig::Rnn(RnnSeq2SeqConfig {
            cell,
            src_vocab,
            tgt_vocab,
            embed_size: a.embed_size,
            hidden_size,
            num_layers: a.layers,
            dropout: a.dropout,
            reverse_source: a.reverse_source,
            teacher_forcing: a.teacher_forcing,
        }),
        ModelKind::Transformer => ModelConfig::Transformer(TransformerSeq2SeqConfig {
            src_vocab,
            tgt_vocab,
            d_model: a.d_model,
            nhead: a.heads,
            num_encoder_layers: a.enc_layers.unwrap_or(a.layers.max(2)),
            num_decoder_layers: a.dec_layers.unwrap_or(a.layers.max(2)),
            dim_feedforward: a.ff_size,
            dropout: a.dropout,
            norm_first: a.norm_first,
            share_embeddings: a.share_embeddings,
            tie_output: a.tie_output,
            // The positional table covers the longest pair kept (--max-len),
            // its <bos>/<eos>, and at least the 512 positions of the default.
            max_len: (a.max_len + 2).max(512),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        train: TrainArgs,
    }

    fn parse(args: &[&str]) -> TrainArgs {
        Cli::try_parse_from(std::iter::once("train").chain(args.iter().copied()))
            .unwrap()
            .train
    }

    fn hidden(m: &ModelConfig) -> usize {
        match m {
            ModelConfig::Attn(c) => c.hidden_size,
            ModelConfig::Rnn(c) => c.hidden_size,
            ModelConfig::Transformer(c) => c.d_model,
        }
    }

    #[test]
    fn each_model_gets_its_own_defaults() {
        let attn = parse(&[]);
        let t = train_config(&attn).unwrap();
        assert_eq!((t.epochs, t.schedule), (6, LrSchedule::Constant));
        assert_eq!(hidden(&model_config(&attn, 50, 15)), 64);

        for model in ["lstm", "gru"] {
            let a = parse(&["--model", model]);
            let t = train_config(&a).unwrap();
            assert_eq!((t.epochs, t.schedule), (12, LrSchedule::Constant));
            assert_eq!(hidden(&model_config(&a, 50, 15)), 128);
        }

        let a = parse(&["--model", "transformer"]);
        let t = train_config(&a).unwrap();
        assert_eq!(t.epochs, 12);
        assert_eq!(t.schedule, LrSchedule::InverseSqrt { warmup: 200 });
        assert_eq!(t.lr, 3e-3);
    }

    #[test]
    fn explicit_options_override_the_model_defaults() {
        let a = parse(&[
            "--model",
            "transformer",
            "--schedule",
            "noam",
            "--warmup",
            "4000",
            "--epochs",
            "3",
        ]);
        let t = train_config(&a).unwrap();
        assert_eq!(t.epochs, 3);
        assert_eq!(
            t.schedule,
            LrSchedule::Noam {
                d_model: 64,
                warmup: 4000
            }
        );
        assert_eq!(t.lr, 1.0, "noam carries the scale in its formula");

        let a = parse(&["--model", "gru", "--hidden-size", "32"]);
        assert_eq!(hidden(&model_config(&a, 50, 15)), 32);
    }
}
