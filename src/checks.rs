//! Range checks of the command-line options, made before anything is read
//! or allocated. Each error names the option, the value given and the
//! range allowed; the caps sit far beyond any useful value and stop typos
//! (an extra zero or three) before they reach the allocator, where they
//! would abort the process with nothing said. Settings below the caps that
//! still need more memory than the machine has are refused by estimate
//! (`seq2seq::train::limits`).

use crate::train_args::{ModelKind, TrainArgs};
use anyhow::{bail, Result};
use seq2seq::data::Vocab;

/// The largest width (embedding, hidden, attention, model, feed-forward)
/// an option may ask for.
pub const MAX_WIDTH: usize = 1 << 16;
/// The most layers an option may ask for.
pub const MAX_LAYERS: usize = 256;

/// `v` must lie in `min..=max`.
pub fn count(opt: &str, v: usize, min: usize, max: usize) -> Result<()> {
    if v < min || v > max {
        match max {
            usize::MAX => bail!("{opt} {v}: must be at least {min}"),
            _ => bail!("{opt} {v}: must be between {min} and {max}"),
        }
    }
    Ok(())
}

/// `v` must be finite and satisfy `ok`; `range` says which values do.
pub fn real(opt: &str, v: f32, ok: bool, range: &str) -> Result<()> {
    if !v.is_finite() || !ok {
        bail!("{opt} {v}: must be a finite number in {range}");
    }
    Ok(())
}

/// A probability, in [0, 1] (or [0, 1) with `below_one`).
pub fn probability(opt: &str, v: f32, below_one: bool) -> Result<()> {
    match below_one {
        true => real(opt, v, (0.0..1.0).contains(&v), "[0, 1)"),
        false => real(opt, v, (0.0..=1.0).contains(&v), "[0, 1]"),
    }
}

/// Every option of `s2s train` that the training settings
/// (`TrainConfig::validate`) do not cover: data and model.
pub fn train(a: &TrainArgs) -> Result<()> {
    if a.data.is_some() && a.train_src.is_some() {
        bail!("--data and --train-src: give one corpus, a tab-separated file or parallel files");
    }
    count("--train-size", a.train_size, 1, 1 << 24)?;
    count("--held-out-size", a.held_out_size, 1, 1 << 22)?;
    count("--bpe-merges", a.bpe_merges, 0, 1 << 20)?;
    count("--min-freq", a.min_freq, 1, usize::MAX)?;
    let specials = Vocab::SPECIALS.len();
    if let Some(v) = a.max_vocab {
        if v <= specials {
            bail!(
                "--max-vocab {v}: must be more than the {specials} special tokens ({}), \
                 between {} and {}",
                Vocab::SPECIALS.join(" "),
                specials + 1,
                1 << 24
            );
        }
        count("--max-vocab", v, specials + 1, 1 << 24)?;
    }
    count("--max-len", a.max_len, 1, 1 << 16)?;
    count("--embed-size", a.embed_size, 1, MAX_WIDTH)?;
    if let Some(h) = a.hidden_size {
        count("--hidden-size", h, 1, MAX_WIDTH)?;
    }
    count("--layers", a.layers, 1, MAX_LAYERS)?;
    count("--attn-size", a.attn_size, 1, MAX_WIDTH)?;
    probability("--teacher-forcing", a.teacher_forcing, false)?;
    probability("--dropout", a.dropout, true)?;
    count("--d-model", a.d_model, 1, MAX_WIDTH)?;
    count("--heads", a.heads, 1, a.d_model)?;
    if !a.d_model.is_multiple_of(a.heads) {
        bail!(
            "--heads {}: must divide --d-model {} (each head gets d_model / heads dimensions)",
            a.heads,
            a.d_model
        );
    }
    count("--ff-size", a.ff_size, 1, MAX_WIDTH)?;
    // Checked whatever the schedule: a value typed is a value meant.
    count("--step-size", a.step_size as usize, 1, usize::MAX)?;
    real(
        "--gamma",
        a.gamma,
        a.gamma > 0.0 && a.gamma <= 1.0,
        "(0, 1] (a decay factor)",
    )?;
    for (opt, v) in [
        ("--enc-layers", a.enc_layers),
        ("--dec-layers", a.dec_layers),
    ] {
        if let Some(v) = v {
            count(opt, v, 1, MAX_LAYERS)?;
        }
    }
    if a.share_embeddings && a.model != ModelKind::Transformer {
        bail!(
            "--share-embeddings: only the transformer shares its embeddings (--model transformer)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_option_value_and_range() {
        let e = count("--beam", 0, 1, 1000).unwrap_err().to_string();
        assert_eq!(e, "--beam 0: must be between 1 and 1000");
        let e = probability("--dropout", 1.0, true).unwrap_err().to_string();
        assert_eq!(e, "--dropout 1: must be a finite number in [0, 1)");
        let e = real("--clip", f32::NAN, true, "[0, ∞)")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--clip NaN"), "{e}");
        assert!(probability("--teacher-forcing", 1.0, false).is_ok());
    }
}
