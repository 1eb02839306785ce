//! A hand-written SVG bar chart of the results: one horizontal bar per
//! measurement, GFLOP/s (matmul, peak) and GB/s (the bandwidth-bound kernels)
//! in separate sections with their own scales. No plotting dependency.

use super::Record;
use std::fmt::Write;

const W: f64 = 900.0;
const LABEL: f64 = 260.0;
const ROW: f64 = 18.0;
const COLORS: [&str; 4] = ["#4c78a8", "#f58518", "#54a24b", "#b279a2"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One section of the chart: its unit, its records and how to read a value.
type Section<'a> = (&'static str, Vec<&'a Record>, fn(&Record) -> f64);

/// The chart for `records`.
pub fn svg(records: &[Record]) -> String {
    let flops: Vec<&Record> = records.iter().filter(|r| r.gflops.is_some()).collect();
    let bw: Vec<&Record> = records
        .iter()
        .filter(|r| r.gflops.is_none() && r.gbps.is_some())
        .collect();
    let sections: Vec<Section> = vec![
        ("GFLOP/s", flops, |r| r.gflops.unwrap_or(0.0)),
        ("GB/s", bw, |r| r.gbps.unwrap_or(0.0)),
    ];
    let rows: usize = sections.iter().map(|s| s.1.len() + 3).sum();
    let h = 20.0 + rows as f64 * ROW;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let mut y = 20.0;
    for (unit, recs, value) in sections {
        if recs.is_empty() {
            continue;
        }
        let max = recs
            .iter()
            .map(|r| value(r))
            .fold(0.0f64, f64::max)
            .max(1e-9);
        let _ = writeln!(
            out,
            r#"<text x="8" y="{y}" font-size="13" font-weight="bold">{unit} (s2s bench, median of rounds; colour = threads)</text>"#
        );
        y += ROW;
        let mut threads: Vec<usize> = recs.iter().map(|r| r.threads).collect();
        threads.sort();
        threads.dedup();
        for r in recs {
            let v = value(r);
            let len = (W - LABEL - 90.0) * v / max;
            let color = COLORS[threads.iter().position(|&t| t == r.threads).unwrap_or(0) % 4];
            let shape: Vec<String> = r.shape.iter().map(|d| d.to_string()).collect();
            let label = format!(
                "{} {} {} t{}",
                r.kernel,
                r.device,
                shape.join("x"),
                r.threads
            );
            let _ = writeln!(
                out,
                r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{}</text><rect x="{LABEL}" y="{:.1}" width="{len:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}">{v:.1}{}</text>"#,
                LABEL - 6.0,
                y + 12.0,
                esc(&label),
                y + 3.0,
                ROW - 5.0,
                LABEL + len + 4.0,
                y + 12.0,
                r.peak_pct
                    .map_or(String::new(), |p| format!(" ({p:.0}% of peak)")),
            );
            y += ROW;
        }
        y += ROW;
    }
    out.push_str("</svg>\n");
    out
}
