//! A loss curve as a small hand-written SVG: training loss (blue line) and
//! validation loss (orange dots and line) against the optimizer step, with
//! labelled axes, and, for runs that measure it, validation BLEU (green
//! dashed line and squares) on a second axis at the right. No plotting
//! library: an SVG is text, and this is all of it.

use std::fmt::Write;

const W: f64 = 640.0;
const H: f64 = 400.0;
/// Margins: left, right, top, bottom.
const M: (f64, f64, f64, f64) = (60.0, 20.0, 30.0, 45.0);
/// The right margin when it carries the BLEU axis.
const RIGHT_WITH_BLEU: f64 = 55.0;
const BLEU_COLOR: &str = "#2ca02c";
/// The height of the legend's row above the plot when BLEU is drawn.
const LEGEND_ROW: f64 = 20.0;

/// "Nice" tick values covering `lo..=hi`: steps of 1, 2 or 5 × 10ᵏ.
fn ticks(lo: f64, hi: f64, about: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / about as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= about as f64)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// The plot of `train` and `valid` (step, loss) series and the `bleu`
/// (step, BLEU) series (empty: no BLEU axis), titled `title`.
pub fn loss_curve(
    title: &str,
    train: &[(u64, f32)],
    valid: &[(u64, f32)],
    bleu: &[(u64, f32)],
) -> String {
    let bleu: Vec<(u64, f32)> = bleu.iter().copied().filter(|p| p.1.is_finite()).collect();
    // With BLEU the right margin carries its axis, and the legend moves
    // from the top right corner of the plot, where a rising BLEU ends, to
    // a row above it.
    let (right, top) = match bleu.is_empty() {
        true => (M.1, M.2),
        false => (RIGHT_WITH_BLEU, M.2 + LEGEND_ROW),
    };
    let all = train.iter().chain(valid).filter(|p| p.1.is_finite());
    let max_step = all
        .clone()
        .chain(&bleu)
        .map(|p| p.0)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let max_loss = all.map(|p| p.1 as f64).fold(0.0, f64::max).max(1e-3) * 1.05;
    // BLEU lies in [0, 100]; the axis ends a little above the best score
    // so that small scores early in a run still show their rise.
    let max_bleu = (bleu.iter().map(|p| p.1 as f64).fold(0.0, f64::max) * 1.05).clamp(1.0, 100.0);
    let (pw, ph) = (W - M.0 - right, H - top - M.3);
    let x = |s: f64| M.0 + s / max_step * pw;
    let y = |l: f64| top + ph - l / max_loss * ph;
    let yb = |b: f64| top + ph - b / max_bleu * ph;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="14">{}</text>"#,
        W / 2.0,
        escape(title)
    );
    for t in ticks(0.0, max_loss, 5) {
        let _ = writeln!(
            svg,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            M.0,
            y(t),
            W - right,
            y(t),
            M.0 - 6.0,
            y(t) + 4.0,
            fmt_num(t)
        );
    }
    for t in ticks(0.0, max_step, 6) {
        let _ = writeln!(
            svg,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            x(t),
            top,
            x(t),
            top + ph,
            x(t),
            H - M.3 + 16.0,
            fmt_num(t)
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{}" y="{}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##,
        M.0, top
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">step</text>"#,
        M.0 + pw / 2.0,
        H - 8.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">loss per token</text>"#,
        top + ph / 2.0
    );
    for (series, color) in [(train, "#1f77b4"), (valid, "#ff7f0e")] {
        let pts: Vec<String> = series
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|&(s, l)| format!("{:.1},{:.1}", x(s as f64), y(l as f64)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
            pts.join(" ")
        );
        if std::ptr::eq(series, valid) {
            for p in &pts {
                let (cx, cy) = p.split_once(',').expect("x,y");
                let _ = writeln!(svg, r#"<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>"#);
            }
        }
    }
    if !bleu.is_empty() {
        for t in ticks(0.0, max_bleu, 5) {
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" fill="{BLEU_COLOR}">{}</text>"#,
                W - right + 6.0,
                yb(t) + 4.0,
                fmt_num(t)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text transform="translate({:.1} {:.1}) rotate(90)" text-anchor="middle" fill="{BLEU_COLOR}">validation BLEU</text>"#,
            W - 10.0,
            top + ph / 2.0
        );
        let pts: Vec<(f64, f64)> = bleu
            .iter()
            .map(|&(s, b)| (x(s as f64), yb(b as f64)))
            .collect();
        let line: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{BLEU_COLOR}" stroke-width="1.5" stroke-dasharray="5 3" points="{}"/>"#,
            line.join(" ")
        );
        for (cx, cy) in pts {
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="6" height="6" fill="{BLEU_COLOR}"/>"#,
                cx - 3.0,
                cy - 3.0
            );
        }
    }
    let legend: &[(&str, &str, &str)] = &[
        ("#1f77b4", "", "train"),
        ("#ff7f0e", "", "validation"),
        (BLEU_COLOR, r#" stroke-dasharray="5 3""#, "validation BLEU"),
    ];
    let legend = if bleu.is_empty() {
        &legend[..2]
    } else {
        legend
    };
    for (i, (color, dash, name)) in legend.iter().enumerate() {
        // a column in the top right corner, or a row above the plot
        let (lx, ly) = match bleu.is_empty() {
            true => (W - right - 130.0, top + 14.0 + 18.0 * i as f64),
            false => (M.0 + 10.0 + 130.0 * i as f64, top - LEGEND_ROW / 2.0 - 2.0),
        };
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/><text x="{}" y="{}">{name}</text>"#,
            lx + 20.0,
            lx + 26.0,
            ly + 4.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 3.2, 5), vec![0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn svg_has_both_series() {
        let s = loss_curve("t", &[(1, 3.0), (2, 2.0)], &[(2, 2.5)], &[]);
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<polyline").count(), 2);
        assert_eq!(s.matches("<circle").count(), 1);
        assert!(!s.contains("BLEU"));
    }

    #[test]
    fn bleu_gets_its_own_series_and_axis() {
        let s = loss_curve(
            "t",
            &[(1, 3.0), (4, 2.0)],
            &[(2, 2.5), (4, 2.2)],
            &[(2, 10.0), (4, 40.0)],
        );
        assert_eq!(s.matches("<polyline").count(), 3);
        assert_eq!(s.matches(r#"width="6" height="6""#).count(), 2);
        assert!(s.contains("validation BLEU"));
        // The best score sits just under the top of the plot, on the BLEU
        // axis of 0 to 42.
        let top = M.2 + LEGEND_ROW;
        let top = H - M.3 - (H - top - M.3) * 40.0 / 42.0;
        assert!(
            s.contains(&format!(r#"y="{:.1}" width="6""#, top - 3.0)),
            "{s}"
        );
    }
}
