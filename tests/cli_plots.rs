//! Figures as a user asks for them: `s2s plot loss` redrawing a run's loss
//! curve from its log (linear and log axis, SVG and PNG), and `s2s bench
//! --plot` charting its measurements. Each figure is checked for what it
//! must show (series, axes, legend), and each PNG for its size and ink.

mod common;
use common::figures::*;
use common::*;

use std::path::Path;

fn scratch(name: &str) -> std::path::PathBuf {
    scratch_dir("cli-plots", name)
}

/// A log of two epochs of 3 logged steps each and a validation at the end
/// of each, with validation BLEU, as `s2s train --valid-bleu` writes it.
fn write_log(dir: &Path) {
    let mut lines = String::new();
    let mut step = 0;
    for epoch in 1..=2 {
        for k in 0..3 {
            step += 10;
            let loss = 3.0 / (1 + 4 * (epoch - 1) + 3 * k) as f64;
            lines += &format!(
                r#"{{"kind":"train","step":{step},"epoch":{epoch},"loss":{loss},"lr":0.001,"grad_norm":1.0,"tokens_per_sec":900.0,"elapsed":{step}.0}}"#
            );
            lines.push('\n');
        }
        lines += &format!(
            r#"{{"kind":"valid","step":{step},"epoch":{epoch},"loss":{},"lr":0.001,"grad_norm":0.0,"tokens_per_sec":0.0,"elapsed":{step}.0,"bleu":{},"chrf":50.0}}"#,
            1.0 / epoch as f64,
            20.0 * epoch as f64
        );
        lines.push('\n');
    }
    std::fs::write(dir.join("log.jsonl"), lines).unwrap();
}

#[test]
fn plot_loss_redraws_a_run_from_its_log() {
    let dir = scratch("loss");
    write_log(&dir);
    let svg = dir.join("loss-log.svg");
    let o = s2s(&[
        "plot",
        "loss",
        dir.to_str().unwrap(),
        "--log-y",
        "--out",
        svg.to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("8 log rows"), "{err}");
    let doc = std::fs::read_to_string(&svg).unwrap();
    let t = svg_texts(&doc);
    for want in [
        "loss per target token",
        "loss per token (log scale)",
        "learning rate",
        "train",
        "validation",
        "validation BLEU",
        "epoch 2",
        "step",
    ] {
        assert!(t.iter().any(|x| x == want), "no {want:?} in {t:?}");
    }
    // Six training rows, two validations, each line with its legend sample;
    // BLEU in its own panel.
    assert_eq!(svg_polylines(&doc, "#1F77B4"), [6, 2]);
    assert_eq!(svg_polylines(&doc, "#FF7F0E"), [2, 2]);
    assert_eq!(svg_polylines(&doc, "#2CA02C"), [2]);

    let png = dir.join("loss.png");
    let o = s2s(&[
        "plot",
        "loss",
        dir.join("log.jsonl").to_str().unwrap(),
        "--title",
        "my run",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let image = png_summary(&png);
    let (sw, sh) = svg_size(&doc);
    assert_eq!(
        (image.width, image.height),
        (2 * sw, 2 * sh),
        "the PNG is the SVG at twice its size"
    );
    assert!(image.colours > 20, "{} colours", image.colours);
    assert!(
        (0.01..0.5).contains(&image.inked),
        "{:.1}% inked",
        100.0 * image.inked
    );
}

#[test]
fn plot_loss_names_what_is_wrong() {
    let dir = scratch("loss-errors");
    let out = dir.join("x.svg");
    // The standard error of `s2s plot loss DIR --out OUT`.
    let plot_loss =
        |out: &str| text(&s2s(&["plot", "loss", dir.to_str().unwrap(), "--out", out])).1;
    let err = plot_loss(out.to_str().unwrap());
    assert!(err.contains("log.jsonl"), "{err}");
    std::fs::write(dir.join("log.jsonl"), "{\"kind\":\"train\"}\n").unwrap();
    let err = plot_loss(out.to_str().unwrap());
    assert!(err.contains("line 1"), "{err}");
    let err = plot_loss("x.pdf");
    assert!(
        err.contains("x.pdf") && err.contains(".svg or .png"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn bench_plot_has_a_legend_a_value_axis_and_its_bars() {
    let dir = scratch("bench");
    for name in ["bench.svg", "bench.png"] {
        let path = dir.join(name);
        let o = s2s(&[
            "bench",
            "copy",
            "add",
            "--shapes",
            "256x256",
            "--threads",
            "1",
            "--rounds",
            "1",
            "--sample-ms",
            "1",
            "--plot",
            path.to_str().unwrap(),
        ]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{out}\n{err}");
    }
    let doc = std::fs::read_to_string(dir.join("bench.svg")).unwrap();
    let t = svg_texts(&doc);
    for want in [
        "GB/s (s2s bench, median of rounds)",
        "GB/s",
        "copy cpu 256×256",
        "add cpu 256×256",
        "1 thread",
        "0",
    ] {
        assert!(t.iter().any(|x| x == want), "no {want:?} in {t:?}");
    }
    // One bar per kernel and a legend swatch, in the one thread count's colour.
    assert_eq!(doc.matches("fill=\"#4E79A7\"").count(), 2 + 1);
    let image = png_summary(&dir.join("bench.png"));
    assert_eq!((image.width, image.height), {
        let (sw, sh) = svg_size(&doc);
        (2 * sw, 2 * sh)
    });
    assert!(image.colours > 10, "{} colours", image.colours);
}
