//! A loss curve as a small hand-written SVG: training loss (blue line) and
//! validation loss (orange dots and line) against the optimizer step, with
//! labelled axes. No plotting library: an SVG is text, and this is all of it.

use std::fmt::Write;

const W: f64 = 640.0;
const H: f64 = 400.0;
/// Margins: left, right, top, bottom.
const M: (f64, f64, f64, f64) = (60.0, 20.0, 30.0, 45.0);

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

/// The plot of `train` and `valid` (step, loss) series, titled `title`.
pub fn loss_curve(title: &str, train: &[(u64, f32)], valid: &[(u64, f32)]) -> String {
    let all = train.iter().chain(valid).filter(|p| p.1.is_finite());
    let max_step = all.clone().map(|p| p.0).max().unwrap_or(1).max(1) as f64;
    let max_loss = all.map(|p| p.1 as f64).fold(0.0, f64::max).max(1e-3) * 1.05;
    let (pw, ph) = (W - M.0 - M.1, H - M.2 - M.3);
    let x = |s: f64| M.0 + s / max_step * pw;
    let y = |l: f64| M.2 + ph - l / max_loss * ph;

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
            W - M.1,
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
            M.2,
            x(t),
            M.2 + ph,
            x(t),
            H - M.3 + 16.0,
            fmt_num(t)
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{}" y="{}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##,
        M.0, M.2
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
        M.2 + ph / 2.0
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
    let lx = W - M.1 - 130.0;
    let _ = writeln!(
        svg,
        r##"<line x1="{lx}" y1="{0}" x2="{1}" y2="{0}" stroke="#1f77b4" stroke-width="2"/><text x="{2}" y="{3}">train</text>"##,
        M.2 + 14.0,
        lx + 20.0,
        lx + 26.0,
        M.2 + 18.0
    );
    let _ = writeln!(
        svg,
        r##"<line x1="{lx}" y1="{0}" x2="{1}" y2="{0}" stroke="#ff7f0e" stroke-width="2"/><text x="{2}" y="{3}">validation</text>"##,
        M.2 + 32.0,
        lx + 20.0,
        lx + 26.0,
        M.2 + 36.0
    );
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
        let s = loss_curve("t", &[(1, 3.0), (2, 2.0)], &[(2, 2.5)]);
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<polyline").count(), 2);
        assert_eq!(s.matches("<circle").count(), 1);
    }
}
