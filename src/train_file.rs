//! `s2s train --config FILE`: options from a TOML file, and the resolved
//! options of every run written back as `config.toml` in its directory.
//!
//! The file's keys are the long option names (`epochs = 3`,
//! `bpe-merges = 8000`). They become synthetic `--key value` arguments
//! placed right after `train`, before the real ones; the train command sets
//! `args_override_self`, so a later occurrence on the command line replaces
//! the file's value. This keeps one parser (clap's) for both sources, so
//! the file cannot accept a value the command line would refuse, and its
//! errors are clap's, prefixed with the file and key.

use anyhow::{bail, Context, Result};
use clap::{ArgAction, ArgMatches, Command};
use std::path::{Path, PathBuf};

/// Options that name files: relative paths in a config file are read from
/// the file's own directory, and written configurations store them absolute.
const PATH_OPTIONS: [&str; 10] = [
    "data",
    "train-src",
    "train-tgt",
    "valid-src",
    "valid-tgt",
    "test-src",
    "test-tgt",
    "out",
    "tokenizer-json",
    "sentencepiece",
];

/// Options that are never read from, nor written to, a configuration: they
/// say how to treat a run directory, not what to train.
const NOT_IN_FILE: [&str; 3] = ["config", "resume", "overwrite"];

/// The `--config FILE` among the arguments after `train`, if any.
fn config_path(args: &[String]) -> Option<(usize, PathBuf)> {
    let train = args.iter().position(|a| a == "train")?;
    let rest = &args[train + 1..];
    for (i, a) in rest.iter().enumerate() {
        if a == "--config" {
            return rest.get(i + 1).map(|p| (train, PathBuf::from(p)));
        }
        if let Some(p) = a.strip_prefix("--config=") {
            return Some((train, PathBuf::from(p)));
        }
    }
    None
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The arguments with those of `--config FILE` inserted after `train`.
pub fn expand(args: Vec<String>, cli: &Command) -> Result<Vec<String>> {
    let Some((train, path)) = config_path(&args) else {
        return Ok(args);
    };
    let train_cmd = cli.find_subcommand("train").expect("a train subcommand");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("--config {}: cannot read", path.display()))?;
    let doc = toml_edit::Document::parse(text.as_str())
        .map_err(|e| anyhow::anyhow!("--config {}: invalid TOML: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut synthetic = Vec::new();
    for (key, item) in doc.as_table().iter() {
        let line = doc
            .as_table()
            .key(key)
            .and_then(|k| k.span())
            .map_or(String::new(), |s| {
                format!(" (line {})", line_of(&text, s.start))
            });
        let at = || format!("{}: `{key}`{line}", path.display());
        let arg = train_cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(key))
            .filter(|_| !NOT_IN_FILE.contains(&key));
        let Some(arg) = arg else {
            bail!("{}: no such option of s2s train", at());
        };
        let value = item.as_value();
        let flag = matches!(arg.get_action(), ArgAction::SetTrue);
        match value {
            Some(toml_edit::Value::Boolean(b)) if flag => {
                if *b.value() {
                    synthetic.push(format!("--{key}"));
                }
            }
            _ if flag => bail!("{}: expected true or false", at()),
            Some(toml_edit::Value::String(s)) => {
                let mut v = s.value().clone();
                if PATH_OPTIONS.contains(&key) && Path::new(&v).is_relative() {
                    v = base.join(v).to_string_lossy().into_owned();
                }
                synthetic.extend([format!("--{key}"), v]);
            }
            Some(toml_edit::Value::Integer(n)) => {
                synthetic.extend([format!("--{key}"), n.value().to_string()])
            }
            Some(toml_edit::Value::Float(x)) => {
                synthetic.extend([format!("--{key}"), x.value().to_string()])
            }
            Some(toml_edit::Value::Boolean(b)) => {
                synthetic.extend([format!("--{key}"), b.value().to_string()])
            }
            _ => bail!("{}: expected a string, number or boolean", at()),
        }
        // The value alone through clap, so that a wrong one is blamed on
        // the file rather than on the command line.
        let probe = ["s2s", "train"]
            .into_iter()
            .map(String::from)
            .chain(synthetic[synthetic.len() - 2..].iter().cloned());
        if let Err(e) = cli.clone().try_get_matches_from(probe) {
            use clap::error::ErrorKind::*;
            if matches!(e.kind(), InvalidValue | ValueValidation) {
                let msg = e.to_string();
                let first = msg.lines().next().unwrap_or_default();
                bail!("{}: {}", at(), first.trim_start_matches("error: "));
            }
        }
    }
    let mut out = args[..=train].to_vec();
    out.extend(synthetic);
    out.extend_from_slice(&args[train + 1..]);
    Ok(out)
}

/// TOML text of every option of `s2s train` as resolved for this run
/// (given, from a file, or defaulted), which `--config` reads back.
pub fn render(m: &ArgMatches, train_cmd: &Command) -> String {
    let mut text = String::from(
        "# The options of this run (s2s train --config FILE reads them back;\n\
         # options on the command line override them).\n",
    );
    for arg in train_cmd.get_arguments() {
        let Some(key) = arg.get_long() else { continue };
        if NOT_IN_FILE.contains(&key) || key == "help" {
            continue;
        }
        let Some(raw) = m.get_raw(arg.get_id().as_str()) else {
            continue;
        };
        let values: Vec<String> = raw.map(|v| v.to_string_lossy().into_owned()).collect();
        let [value] = values.as_slice() else { continue };
        let mut value = value.clone();
        if PATH_OPTIONS.contains(&key) {
            if let Ok(abs) = std::path::absolute(&value) {
                value = abs.to_string_lossy().into_owned();
            }
        }
        let is_number = value.parse::<i64>().is_ok()
            || (value.parse::<f64>().is_ok_and(f64::is_finite)
                && !value.contains(['e', 'E', 'n', 'N', 'i']));
        let toml_value = if value == "true" || value == "false" || is_number {
            value
        } else {
            format!("{value:?}")
        };
        text.push_str(&format!("{key} = {toml_value}\n"));
    }
    text
}

/// Writes `text` as `config.toml` in the run directory `root`, atomically.
pub fn write(root: &Path, text: &str) -> Result<()> {
    let path = root.join("config.toml");
    tensor::io::write_atomic(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
