//! Checkpoints: a resumed run makes exactly the steps of an uninterrupted
//! one; a write interrupted at any moment leaves the last good checkpoint
//! loadable; a corrupt or mismatched checkpoint is an error naming the file.

mod train_support;

use seq2seq::models::{AttnConfig, CellKind, ModelConfig, ScoreKind};
use seq2seq::nn::Module;
use seq2seq::train::{checkpoint, LogRow, TrainConfig, Trainer, Verbosity};
use std::path::Path;
use tensor::Device;
use train_support::*;

/// A tiny model with dropout and teacher forcing below 1, so the resumed
/// run must also restore the random stream to match.
fn tiny(src_vocab: usize, tgt_vocab: usize) -> ModelConfig {
    ModelConfig::Attn(AttnConfig {
        cell: CellKind::Lstm,
        score: ScoreKind::Bahdanau,
        src_vocab,
        tgt_vocab,
        embed_size: 8,
        hidden_size: 16,
        num_layers: 2,
        bidirectional: true,
        attn_size: 16,
        dropout: 0.2,
        input_feeding: false,
        teacher_forcing: 0.7,
    })
}

fn settings_every_step(max_steps: Option<u64>) -> TrainConfig {
    TrainConfig {
        epochs: 2,
        max_steps,
        batch_size: seq2seq::data::BatchSize::Sentences(50),
        accumulate: 2,
        log_every: 1,
        label_smoothing: 0.1,
        ..Default::default()
    }
}

fn fresh(dir: &Path, max_steps: Option<u64>) -> Trainer {
    Trainer::new(
        settings_every_step(max_steps),
        dates(600),
        tiny,
        dir,
        Device::Cpu,
        Verbosity::Quiet,
    )
    .unwrap()
}

fn resume(dir: &Path, max_steps: Option<u64>) -> Trainer {
    Trainer::resume(dir, None, Device::Cpu, Verbosity::Quiet, |t| {
        t.max_steps = max_steps
    })
    .unwrap()
}

fn rows(t: &Trainer) -> Vec<(String, u64, f32)> {
    t.log_rows()
        .iter()
        .map(|r: &LogRow| (r.kind.clone(), r.step, r.loss))
        .collect()
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let dir = scratch("resume-equal");
    let mut whole = fresh(&dir.join("whole"), None);
    whole.run().unwrap();
    let expected = rows(&whole);
    // 600 pairs / 50 = 12 batches = 6 steps per epoch (accumulating 2)
    assert_eq!(whole.state.step, 12);

    let split = dir.join("split");
    fresh(&split, Some(4)).run().unwrap(); // stops mid-epoch 1
    resume(&split, Some(9)).run().unwrap(); // over the epoch boundary, stops mid-epoch 2
    let mut last = resume(&split, None);
    last.run().unwrap();
    let got = rows(&last);
    assert_eq!(got.len(), expected.len(), "{got:?}\nvs\n{expected:?}");
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!((g.0.as_str(), g.1), (e.0.as_str(), e.1));
        assert_eq!(
            g.2.to_bits(),
            e.2.to_bits(),
            "loss at step {} differs: {} vs {}",
            g.1,
            g.2,
            e.2
        );
    }
    // the final weights are equal too
    for ((n, a), (_, b)) in whole
        .model
        .named_parameters()
        .iter()
        .zip(last.model.named_parameters())
    {
        assert_eq!(a.to_vec(), b.to_vec(), "parameter {n} differs");
    }
}

#[test]
fn interrupted_checkpoint_write_leaves_the_old_one_loadable() {
    let dir = scratch("kill");
    let mut t = fresh(&dir, Some(3));
    t.run().unwrap();
    let last = dir.join("last");
    let before = checkpoint::load(&last, "last", &Device::Cpu).unwrap();
    assert_eq!(before.state.as_ref().unwrap().step, 3);

    // killed after staging, before the rename: the old checkpoint is still `last`
    let mut later = t.state.clone();
    later.step = 99;
    let staged = checkpoint::stage(&last, &t.model, &t.data.lexicon, None, Some(&later)).unwrap();
    assert!(staged.exists());
    let loaded = checkpoint::load(&dir, "last", &Device::Cpu).unwrap();
    assert_eq!(loaded.state.unwrap().step, 3);

    // killed between the two renames: `last` is gone, `last.old` is found
    std::fs::rename(&last, dir.join("last.old")).unwrap();
    let loaded = checkpoint::load(&dir, "last", &Device::Cpu).unwrap();
    assert_eq!(loaded.state.unwrap().step, 3);
    assert!(loaded.dir.ends_with("last.old"));
    // and the run resumes from it, writing a good `last` again
    let mut r = resume(&dir, Some(5));
    r.run().unwrap();
    assert_eq!(
        checkpoint::load(&last, "last", &Device::Cpu)
            .unwrap()
            .state
            .unwrap()
            .step,
        5
    );
    assert!(!dir.join("last.old").exists());

    // a completed commit replaces the checkpoint
    let staged = checkpoint::stage(&last, &t.model, &t.data.lexicon, None, Some(&later)).unwrap();
    checkpoint::commit(&staged, &last).unwrap();
    assert_eq!(
        checkpoint::load(&last, "last", &Device::Cpu)
            .unwrap()
            .state
            .unwrap()
            .step,
        99
    );
}

/// Copies a good checkpoint, breaks it with `damage`, and returns the
/// error of loading (and resuming) it. The manifest goes first, unless
/// `keep_manifest`: each file's own checks are what is tested here, the
/// checksums in `checksums_catch_any_damage`.
fn broken(name: &str, damage: impl FnOnce(&Path)) -> String {
    broken_with(name, false, damage)
}

fn broken_with(name: &str, keep_manifest: bool, damage: impl FnOnce(&Path)) -> String {
    let dir = scratch(name);
    fresh(&dir, Some(1)).run().unwrap();
    let ck = dir.join("last");
    if !keep_manifest {
        std::fs::remove_file(ck.join("manifest.json")).unwrap();
    }
    damage(&ck);
    let err = match checkpoint::load(&ck, "last", &Device::Cpu) {
        Err(e) => e.to_string(),
        Ok(_) => match Trainer::resume(&ck, None, Device::Cpu, Verbosity::Quiet, |_| {}) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{name}: the damaged checkpoint loaded"),
        },
    };
    eprintln!("{name}: {err}");
    err
}

#[test]
fn corrupt_or_mismatched_checkpoints_name_the_file() {
    let e = broken("truncated-weights", |d| {
        let p = d.join("model.safetensors");
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert!(e.contains("model.safetensors"), "{e}");

    let e = broken("bad-config", |d| {
        std::fs::write(d.join("config.json"), "{ not json").unwrap()
    });
    assert!(e.contains("config.json") && e.contains("invalid"), "{e}");

    let e = broken("other-sizes", |d| {
        let p = d.join("config.json");
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("\"hidden_size\": 16", "\"hidden_size\": 20");
        std::fs::write(&p, text).unwrap();
    });
    assert!(
        e.contains("model.safetensors") && e.contains("shape"),
        "{e}"
    );

    let e = broken("vocab-size", |d| {
        let p = d.join("tgt_vocab.json");
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replacen("\"9\",", "", 1);
        std::fs::write(&p, text).unwrap();
    });
    assert!(e.contains("tgt_vocab.json"), "{e}");

    let e = broken("no-state", |d| {
        std::fs::remove_file(d.join("state.json")).unwrap()
    });
    assert!(e.contains("state.json") && e.contains("missing"), "{e}");

    let e = broken("bad-optimizer", |d| {
        std::fs::write(d.join("optimizer.safetensors"), b"garbage").unwrap()
    });
    assert!(e.contains("optimizer.safetensors"), "{e}");

    let e = broken("missing-dir", |d| std::fs::remove_dir_all(d).unwrap());
    assert!(e.contains("no checkpoint"), "{e}");
}

/// With its manifest, a checkpoint refuses any changed byte, a truncation
/// or a missing file, naming the file.
#[test]
fn checksums_catch_any_damage() {
    let e = broken_with("bit-flip", true, |d| {
        let p = d.join("model.safetensors");
        let mut bytes = std::fs::read(&p).unwrap();
        let at = bytes.len() - 5;
        bytes[at] ^= 0x10;
        std::fs::write(&p, bytes).unwrap();
    });
    assert!(
        e.contains("model.safetensors: checksum mismatch, the file is damaged"),
        "{e}"
    );
    let e = broken_with("cut", true, |d| {
        let p = d.join("src_vocab.json");
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 1]).unwrap();
    });
    assert!(
        e.contains("src_vocab.json") && e.contains("truncated"),
        "{e}"
    );
    let e = broken_with("gone", true, |d| {
        std::fs::remove_file(d.join("tgt_tokenizer.json")).unwrap()
    });
    assert!(
        e.contains("tgt_tokenizer.json") && e.contains("missing"),
        "{e}"
    );
    let e = broken_with("bad-manifest", true, |d| {
        std::fs::write(d.join("manifest.json"), "{").unwrap()
    });
    assert!(e.contains("manifest.json") && e.contains("damaged"), "{e}");
}

/// Weights that are not all finite are refused at load, naming the tensor.
#[test]
fn non_finite_weights_are_refused() {
    let e = broken("nan-weights", |d| {
        let p = d.join("model.safetensors");
        let mut bytes = std::fs::read(&p).unwrap();
        let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        for v in bytes[8 + header..].chunks_exact_mut(4) {
            v.copy_from_slice(&f32::NAN.to_le_bytes());
        }
        std::fs::write(&p, bytes).unwrap();
    });
    assert!(
        e.contains("model.safetensors") && e.contains("NaN or infinite"),
        "{e}"
    );
}

/// Batching by tokens, the number of batches is decided by the planner
/// (length-sorted cuts under a token budget), not by a division; the
/// progress bar's total, planned before the run, must equal the steps the
/// run makes (with gradient accumulation), also when `max_steps` cuts the
/// run short and when it is resumed.
#[test]
fn planned_steps_are_exact_when_batching_by_tokens() {
    let dir = scratch("planned");
    let settings = |max_steps| TrainConfig {
        epochs: 4,
        max_steps,
        batch_size: seq2seq::data::BatchSize::Tokens(330),
        accumulate: 2,
        log_every: 1,
        ..Default::default()
    };
    let make = |path: &Path, max_steps| {
        Trainer::new(
            settings(max_steps),
            dates(600),
            tiny,
            path,
            Device::Cpu,
            Verbosity::Quiet,
        )
        .unwrap()
    };
    let mut whole = make(&dir.join("whole"), None);
    let planned = whole.planned_steps();
    let outcome = whole.run().unwrap();
    assert_eq!(outcome.steps, planned);
    // steps per epoch, from the log (one train row per step)
    let mut per_epoch = [0u64; 4];
    for r in whole.log_rows().iter().filter(|r| r.kind == "train") {
        per_epoch[r.epoch as usize - 1] += 1;
    }
    assert_eq!(per_epoch.iter().sum::<u64>(), planned, "{per_epoch:?}");
    // 600 pairs by sentences of 64 would make 10 batches, 5 steps an epoch
    assert_ne!(per_epoch[0], 5, "the token budget should change the plan");

    let mut cut = make(&dir.join("cut"), Some(planned - 3));
    assert_eq!(cut.planned_steps(), planned - 3);
    assert_eq!(cut.run().unwrap().steps, planned - 3);
    let mut resumed = resume(&dir.join("cut"), None);
    assert_eq!(resumed.planned_steps(), planned);
    assert_eq!(resumed.run().unwrap().steps, planned);
}

/// The staging directory is complete on disk before it is renamed: every
/// file synced, no temporary left behind; syncing reports the directory it
/// could not open. (Whether the bytes survive a power cut cannot be seen
/// from a test; the order of the syncs is in checkpoint.rs.)
#[test]
fn staged_checkpoint_is_complete_and_synced() {
    use tensor::optim::Optimizer;
    let dir = scratch("sync");
    let mut t = fresh(&dir, Some(1));
    t.run().unwrap();
    let target = dir.join("copy");
    let staged = checkpoint::stage(
        &target,
        &t.model,
        &t.data.lexicon,
        Some(&t.optimizer.state()),
        Some(&t.state),
    )
    .unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&staged)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "config.json",
            "manifest.json",
            "model.safetensors",
            "optimizer.safetensors",
            "src_tokenizer.json",
            "src_vocab.json",
            "state.json",
            "tgt_tokenizer.json",
            "tgt_vocab.json"
        ]
    );
    checkpoint::sync_contents(&staged).unwrap();
    checkpoint::commit(&staged, &target).unwrap();
    assert!(!staged.exists() && !dir.join("copy.old").exists());
    assert_eq!(
        checkpoint::load(&target, "last", &Device::Cpu)
            .unwrap()
            .state
            .unwrap()
            .step,
        1
    );
    let missing = dir.join("no-such-dir");
    let e = checkpoint::sync_dir(&missing).unwrap_err().to_string();
    assert!(
        e.contains("no-such-dir") && e.contains("cannot open"),
        "{e}"
    );
}
