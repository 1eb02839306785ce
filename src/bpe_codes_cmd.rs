//! `s2s bpe-codes`: a run's BPE merges written as a subword-nmt codes file
//! (`#version: 0.2`, one `left right` merge per line), so
//! `subword-nmt apply-bpe -c FILE` segments text exactly as the run does.
//! The conversion is `seq2seq::data::subword_nmt`.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use seq2seq::data::Tokenizer;
use std::path::{Path, PathBuf};

/// Which side's tokenizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SideArg {
    Source,
    Target,
}

/// `s2s bpe-codes` options.
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  \
    s2s bpe-codes --run runs/train-transformer --out codes.src\n  \
    subword-nmt apply-bpe -c codes.src < test.tok.de   # the run's segmentation")]
pub struct BpeCodesArgs {
    /// A run directory (its last/ is read) or a checkpoint directory.
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Where to write the codes.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The source or the target side's merges (the same with a joint vocabulary).
    #[arg(long, value_enum, default_value = "source")]
    pub side: SideArg,
}

/// The checkpoint directory holding the tokenizers: DIR itself, or DIR/last,
/// or DIR/best.
fn checkpoint_dir(dir: &Path) -> Result<PathBuf> {
    for candidate in [dir.to_path_buf(), dir.join("last"), dir.join("best")] {
        if candidate.join("src_tokenizer.json").is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "{}: no src_tokenizer.json in it or in its last/ or best/ (not a run or checkpoint directory)",
        dir.display()
    )
}

pub fn run(args: BpeCodesArgs) -> Result<()> {
    let dir = checkpoint_dir(&args.run)?;
    let name = match args.side {
        SideArg::Source => "src_tokenizer.json",
        SideArg::Target => "tgt_tokenizer.json",
    };
    let path = dir.join(name);
    let tokenizer = Tokenizer::load(&path)?;
    let Tokenizer::Bpe(bpe) = tokenizer else {
        bail!(
            "{}: the tokenizer is {:?}, not BPE; train with --bpe-merges N to have merges",
            path.display(),
            tokenizer.kind()
        );
    };
    bpe.save_subword_nmt_codes(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}: {} merges of {} as subword-nmt codes (version 0.2)",
        args.out.display(),
        bpe.merges().len(),
        path.display()
    );
    Ok(())
}
