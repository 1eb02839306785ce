//! `s2s score`: score a hypothesis file against one or more references, as
//! the sacreBLEU command line does (Post 2018), with our sacreBLEU-compatible
//! BLEU and chrF (`seq2seq::metrics`).
//!
//! ```text
//! s2s score --ref newstest.de [--ref second.de] [--hyp out.de] [--metric bleu --metric chrf] [--json]
//! ```
//! The hypotheses come from `--hyp`, or standard input when it is absent.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use seq2seq::metrics::{corpus_bleu, corpus_chrf, BleuConfig, ChrfConfig, Tokenize};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ScoreArgs {
    /// A reference file, one sentence per line; repeat for several references.
    #[arg(long = "ref", value_name = "REF", required = true)]
    refs: Vec<PathBuf>,
    /// The hypothesis file, one sentence per line (standard input when absent).
    #[arg(long, value_name = "FILE")]
    hyp: Option<PathBuf>,
    /// Which metrics to compute; repeat for several.
    #[arg(long = "metric", value_enum, default_values_t = [Metric::Bleu])]
    metrics: Vec<Metric>,
    /// BLEU tokenizer: 13a (sacreBLEU's default, for detokenized text) or
    /// none (split on spaces only, for text that is already tokenized).
    #[arg(long, default_value = "13a", value_parser = parse_tokenize)]
    tokenize: Tokenize,
    /// Lowercase hypotheses and references before scoring.
    #[arg(long)]
    lowercase: bool,
    /// Print one JSON object per metric instead of sacreBLEU's text line.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Metric {
    Bleu,
    Chrf,
}

fn parse_tokenize(s: &str) -> Result<Tokenize, String> {
    match s {
        "13a" => Ok(Tokenize::Thirteen),
        "none" => Ok(Tokenize::None),
        other => Err(format!("unknown tokenizer {other:?}: expected 13a or none")),
    }
}

/// Splits text into lines, naming the source and line of invalid UTF-8.
fn lines_of(bytes: Vec<u8>, source: &str) -> Result<Vec<String>> {
    // A final newline ends the last line; it does not start an empty one.
    let drop_last = bytes.is_empty() || bytes.ends_with(b"\n");
    let mut lines = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(raw)
            .with_context(|| format!("{source}: line {} is not valid UTF-8", i + 1))?;
        lines.push(line.strip_suffix('\r').unwrap_or(line).to_string());
    }
    if drop_last {
        lines.pop();
    }
    Ok(lines)
}

fn read_lines(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    lines_of(bytes, &path.display().to_string())
}

pub fn run(args: ScoreArgs) -> Result<()> {
    let hyps = match &args.hyp {
        Some(path) => read_lines(path)?,
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read the hypotheses from standard input")?;
            lines_of(bytes, "standard input")?
        }
    };
    let mut refs = Vec::with_capacity(args.refs.len());
    for path in &args.refs {
        let stream = read_lines(path)?;
        if stream.len() != hyps.len() {
            bail!(
                "{} has {} lines but the hypotheses ({}) have {}",
                path.display(),
                stream.len(),
                args.hyp
                    .as_ref()
                    .map_or("standard input".into(), |p| p.display().to_string()),
                hyps.len()
            );
        }
        refs.push(stream);
    }
    for metric in &args.metrics {
        match metric {
            Metric::Bleu => {
                let cfg = BleuConfig {
                    tokenize: args.tokenize,
                    lowercase: args.lowercase,
                    ..BleuConfig::default()
                };
                let score = corpus_bleu(&hyps, &refs, &cfg)?;
                if args.json {
                    let mut value = serde_json::to_value(&score)?;
                    value["name"] = "BLEU".into();
                    value["verbose_score"] = score.format().into();
                    println!("{value}");
                } else {
                    println!("{}  {}", score.format(), score.signature);
                }
            }
            Metric::Chrf => {
                let cfg = ChrfConfig {
                    lowercase: args.lowercase,
                    ..ChrfConfig::default()
                };
                let score = corpus_chrf(&hyps, &refs, &cfg)?;
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"name": "chrF2", "score": score.score, "signature": score.signature})
                    );
                } else {
                    println!("{}  {}", score.format(&cfg), score.signature);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_drop_only_the_final_newline() {
        let l = lines_of(b"a b\r\nc\n".to_vec(), "t").unwrap();
        assert_eq!(l, vec!["a b", "c"]);
        assert_eq!(lines_of(b"a\n\n".to_vec(), "t").unwrap(), vec!["a", ""]);
        assert!(lines_of(Vec::new(), "t").unwrap().is_empty());
        assert_eq!(lines_of(b"x".to_vec(), "t").unwrap(), vec!["x"]);
        let e = lines_of(b"ok\n\xff\n".to_vec(), "hyp.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("hyp.txt: line 2"), "{e}");
    }
}
