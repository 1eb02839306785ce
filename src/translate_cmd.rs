//! `s2s translate`: greedy decoding with a trained checkpoint. (Beam search,
//! attention heatmaps and batching from files arrive with their issue.)

use anyhow::Result;
use clap::Args;
use seq2seq::models::Source;
use seq2seq::train::checkpoint;
use std::io::BufRead;
use std::path::PathBuf;
use tensor::Device;

/// `s2s translate` options.
#[derive(Args, Debug)]
pub struct TranslateArgs {
    /// A run directory (its best/ checkpoint is used) or a checkpoint directory.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Sentences to translate; without any, one per line from standard input.
    pub text: Vec<String>,
    /// Longest output, in tokens.
    #[arg(long, default_value_t = 100)]
    pub max_len: usize,
    /// auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// Runs `s2s translate`.
pub fn run(args: TranslateArgs) -> Result<()> {
    let device = Device::parse_choice(&args.device)?;
    let ck = checkpoint::load(&args.model, "best", &device)?;
    let lines: Vec<String> = match args.text.is_empty() {
        true => std::io::stdin()
            .lock()
            .lines()
            .collect::<std::io::Result<_>>()?,
        false => args.text,
    };
    for chunk in lines.chunks(64) {
        let ids: Vec<Vec<u32>> = chunk.iter().map(|l| ck.lexicon.encode_source(l)).collect();
        let out = ck
            .model
            .greedy(&Source::from_ids(&ids, &device)?, args.max_len)?;
        for hyp in out {
            println!("{}", ck.lexicon.decode_target(&hyp));
        }
    }
    Ok(())
}
