//! `s2s train --config FILE`: a run's written config.toml reproduces it bit
//! for bit, the command line overrides the file, and a bad key or value is
//! an error naming the file and the key.

mod common;
use common::{scratch_dir, text, train, train_ok, WIDTH_8};

/// A tiny dates run: a few steps of the smallest model.
fn tiny() -> Vec<&'static str> {
    let mut flags = vec![
        "--train-size",
        "64",
        "--held-out-size",
        "16",
        "--batch-size",
        "16",
        "--epochs",
        "1",
    ];
    flags.extend(WIDTH_8);
    flags
}

#[test]
fn a_written_config_reproduces_the_run_bit_for_bit() {
    let dir = scratch_dir("cli_config", "reproduce");
    let first = dir.join("first");
    train_ok(&first, &tiny());
    let config = first.join("config.toml");
    let written = std::fs::read_to_string(&config).expect("the run writes config.toml");
    assert!(written.contains("epochs = 1"), "{written}");
    assert!(written.contains("embed-size = 8"), "{written}");

    let second = dir.join("second");
    train_ok(&second, &["--config", config.to_str().unwrap()]);
    for ckpt in ["best", "last"] {
        let a = std::fs::read(first.join(ckpt).join("model.safetensors")).unwrap();
        let b = std::fs::read(second.join(ckpt).join("model.safetensors")).unwrap();
        assert!(a == b, "{ckpt}/model.safetensors differs between the runs");
    }
    // The new run's own config points at its own directory.
    let again = std::fs::read_to_string(second.join("config.toml")).unwrap();
    assert!(again.contains("second"), "{again}");
}

#[test]
fn the_command_line_overrides_the_file() {
    let dir = scratch_dir("cli_config", "override");
    let file = dir.join("run.toml");
    std::fs::write(
        &file,
        "train-size = 64\nheld-out-size = 16\nbatch-size = 16\nepochs = 5\n\
         embed-size = 8\nhidden-size = 8\nattn-size = 8\nseed = 7\n",
    )
    .unwrap();
    let out = dir.join("run");
    train_ok(&out, &["--config", file.to_str().unwrap(), "--epochs", "1"]);
    let written = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(written.contains("epochs = 1\n"), "{written}");
    assert!(written.contains("seed = 7\n"), "{written}");
}

#[test]
fn bad_keys_and_values_name_the_file_and_the_key() {
    let dir = scratch_dir("cli_config", "bad");
    let cases = [
        (
            "unknown.toml",
            "epochs = 1\nepohcs = 2\n",
            "`epohcs` (line 2)",
        ),
        ("type.toml", "epochs = \"many\"\n", "`epochs` (line 1)"),
        ("flag.toml", "\nlowercase = 3\n", "`lowercase` (line 2)"),
        ("syntax.toml", "epochs = \n", "invalid TOML"),
    ];
    for (name, body, expect) in cases {
        let file = dir.join(name);
        std::fs::write(&file, body).unwrap();
        let o = train(&dir.join("run"), &["--config", file.to_str().unwrap()]);
        let (_, stderr) = text(&o);
        assert!(!o.status.success(), "{name} was accepted");
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(stderr.contains(expect), "{name}: {stderr}");
    }
}
