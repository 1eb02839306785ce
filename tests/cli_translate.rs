//! `s2s translate` as a user runs it: on a tiny model of the dates task
//! (trained once for this file), from arguments and from standard input
//! (streaming: the first answer arrives before the input ends), with beam
//! search, writing attention heatmaps as SVG and PNG, and failing clearly
//! on a missing or damaged model directory.

mod common;
use common::figures::*;
use common::*;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("cli-translate", name)
}

/// Trains a tiny model of the dates task into `name` (once per test binary).
fn tiny_model(name: &str, extra: &[&str]) -> PathBuf {
    let out = scratch(name).join("run");
    tiny_dates_model(&out, extra);
    out
}

/// A GRU + Bahdanau attention model (one attention map).
fn gru_attn() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| tiny_model("gru", &["--hidden-size", "16", "--attn-size", "16"]))
}

/// A 1+1-layer Transformer with 2 heads (two cross-attention maps).
fn transformer() -> &'static Path {
    tiny_dates_transformer("cli-translate")
}

fn translate(model: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "translate",
        "--device",
        "cpu",
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    s2s(&args)
}

#[test]
fn help_documents_the_decoding_options() {
    let (out, _) = text(&s2s(&["translate", "--help"]));
    for opt in [
        "--beam",
        "--length-penalty",
        "--max-len-ratio",
        "--max-len",
        "--attention-plot",
        "--device",
        "--target-lang",
    ] {
        assert!(out.contains(opt), "--help does not mention {opt}:\n{out}");
    }
}

#[test]
fn translates_arguments_one_line_each() {
    let o = translate(
        gru_attn(),
        &["3/3/21", "March 3rd, 2021", "the 4th of May 1999"],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");

    for beam in ["1", "3"] {
        let o = translate(
            gru_attn(),
            &["--beam", beam, "--length-penalty", "1", "3/3/21"],
        );
        let (out, err) = text(&o);
        assert!(o.status.success(), "--beam {beam}: {err}");
        assert_eq!(out.lines().count(), 1, "{out}");
    }
    let o = translate(gru_attn(), &["--beam", "0", "3/3/21"]);
    let (_, err) = text(&o);
    assert!(!o.status.success() && err.contains("--beam"), "{err}");
}

#[test]
fn translates_standard_input_as_it_arrives() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_s2s"))
        .args(["translate", "--device", "cpu", "--model"])
        .arg(gru_attn())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("s2s runs");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read answers on a thread so a missing one times out instead of hanging.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let wait = Duration::from_secs(120);
    // The first answer must come while standard input is still open.
    writeln!(stdin, "3/3/21").unwrap();
    stdin.flush().unwrap();
    let first = rx
        .recv_timeout(wait)
        .expect("an answer before the input ends");
    assert!(!first.is_empty(), "empty translation");
    // A blank line gets a blank line back, so outputs stay aligned.
    writeln!(stdin, "\nMarch 3rd, 2021").unwrap();
    drop(stdin);
    let rest: Vec<String> = rx.iter().collect();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert_eq!(rest[0], "");
    assert!(!rest[1].is_empty());
}

#[test]
fn writes_attention_heatmaps_as_svg_and_png() {
    let dir = scratch("plots");
    // One sentence: the file itself.
    let svg = dir.join("att.svg");
    let o = translate(
        gru_attn(),
        &["--attention-plot", svg.to_str().unwrap(), "3/3/21"],
    );
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let doc = std::fs::read_to_string(&svg).unwrap();
    assert_balanced_svg(&doc);
    let texts = svg_texts(&doc);
    let has = |t: &str| texts.iter().any(|x| x == t);
    assert!(
        has("&lt;eos&gt;"),
        "the source <eos> is labelled: {texts:?}"
    );
    assert!(has("attention"), "the panel title: {texts:?}");
    // The colour bar: its label and ticks.
    for t in ["attention weight", "0", "0.5", "1"] {
        assert!(has(t), "no {t:?} in {texts:?}");
    }
    // Source tokens ("3/3/21" and <eos>) along x, output tokens along y:
    // at least 7 × 5 cells of one size.
    let cells = doc
        .lines()
        .filter(|l| l.starts_with("<rect") && !l.contains("fill=\"none\""))
        .filter_map(|l| {
            let w = &l[l.find(" width=\"")? + 8..];
            let h = &l[l.find(" height=\"")? + 9..];
            let (w, h) = (&w[..w.find('"')?], &h[..h.find('"')?]);
            (w == h).then(|| w.to_string())
        })
        .count();
    assert!(cells >= 7 * 5, "{cells} cells");

    // Several sentences: numbered files, PNG.
    let png = dir.join("att.png");
    let o = translate(
        gru_attn(),
        &[
            "--attention-plot",
            png.to_str().unwrap(),
            "3/3/21",
            "1 May 1999",
        ],
    );
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for n in [1, 2] {
        let path = dir.join(format!("att-{n}.png"));
        assert!(err.contains(path.to_str().unwrap()), "{err}");
        let image = png_summary(&path);
        let (w, h) = (image.width, image.height);
        assert!(w > 100 && h > 100, "{w}×{h}");
        // Not blank: the colour map, text and frames.
        assert!(image.colours > 20, "{} colours", image.colours);
    }
    // The PNG is the SVG, rendered at twice its size.
    let one = dir.join("one.svg");
    let o = translate(
        gru_attn(),
        &["--attention-plot", one.to_str().unwrap(), "1 May 1999"],
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let (w, h) = svg_size(&std::fs::read_to_string(&one).unwrap());
    let png_2 = png_summary(&dir.join("att-2.png"));
    assert_eq!((png_2.width, png_2.height), (2 * w, 2 * h));
    assert!(!png.exists());

    // The Transformer: one panel per decoder layer and head.
    let svg = dir.join("tf.svg");
    let o = translate(
        transformer(),
        &[
            "--beam",
            "2",
            "--attention-plot",
            svg.to_str().unwrap(),
            "3/3/21",
        ],
    );
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let doc = std::fs::read_to_string(&svg).unwrap();
    assert_balanced_svg(&doc);
    let texts = svg_texts(&doc);
    for head in ["layer 0 head 0", "layer 0 head 1"] {
        assert!(texts.iter().any(|x| x == head), "no {head:?} in {texts:?}");
    }
    // One colour bar for the figure, not one per panel.
    assert_eq!(texts.iter().filter(|x| *x == "attention weight").count(), 1);

    // Another extension is refused before any work, naming the file.
    let o = translate(gru_attn(), &["--attention-plot", "att.pdf", "3/3/21"]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("att.pdf") && err.contains(".svg or .png"),
        "{err}"
    );
}

#[test]
fn missing_or_damaged_model_directories_are_named() {
    let dir = scratch("broken");
    let missing = dir.join("no-such-run");
    let o = translate(&missing, &["3/3/21"]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains(missing.to_str().unwrap()) && err.contains("does not exist"),
        "{err}"
    );

    // A directory without any checkpoint in it.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (_, err) = text(&translate(&empty, &["3/3/21"]));
    assert!(
        err.contains(empty.to_str().unwrap()) && err.contains("no checkpoint"),
        "{err}"
    );

    // Copies of a good checkpoint, each with one file damaged.
    let best = gru_attn().join("best");
    for (file, garbage) in [
        ("model.safetensors", &b"not safetensors"[..]),
        ("config.json", b"{ truncated"),
        ("tgt_vocab.json", b"[]"),
    ] {
        let copy = dir.join(format!("bad-{file}"));
        std::fs::create_dir_all(&copy).unwrap();
        for entry in std::fs::read_dir(&best).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        std::fs::write(copy.join(file), garbage).unwrap();
        let o = translate(&copy, &["3/3/21"]);
        let (out, err) = text(&o);
        assert!(!o.status.success(), "{file}: {out}");
        assert!(out.is_empty(), "{file}: {out}");
        assert!(
            err.contains(copy.join(file).to_str().unwrap()),
            "{file}: {err}"
        );
    }
}

#[test]
fn a_model_without_attention_translates_but_has_nothing_to_plot() {
    let run = tiny_model("lstm", &["--model", "lstm", "--hidden-size", "16"]);
    let o = translate(&run, &["--beam", "2", "3/3/21"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let o = translate(&run, &["--attention-plot", "att.svg", "3/3/21"]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("no attention to plot"), "{err}");
}

/// Input is normalised as the training text was: a model trained with
/// `--lowercase` reads "MARCH" as the "march" it learned, not as unknown
/// characters (the heatmap's source labels show what the model read).
#[test]
fn input_is_normalised_as_the_training_text_was() {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    let model = RUN.get_or_init(|| {
        tiny_model(
            "lowercase",
            &["--lowercase", "--hidden-size", "16", "--attn-size", "16"],
        )
    });
    let dir = scratch("lowercase-plot");
    let plot = dir.join("a.svg");
    let o = translate(
        model,
        &[
            "--attention-plot",
            plot.to_str().unwrap(),
            "MARCH 3RD, 2021",
        ],
    );
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        !svg.contains("&lt;unk&gt;"),
        "an upper-case input was not lowercased before encoding:\n{svg}"
    );
    assert!(
        svg_texts(&svg).iter().any(|x| x == "m"),
        "no source label 'm' in the plot"
    );
}
