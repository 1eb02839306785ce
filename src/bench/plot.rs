//! The chart of `s2s bench --plot FILE`: horizontal bars, one group per
//! measured (kernel, device, shape) and one bar per thread count in it,
//! coloured by thread count (the legend says which). Throughputs of
//! different kinds get sections of their own, each with its value axis:
//! GFLOP/s (matmul, peak) above GB/s (the bandwidth-bound kernels). Each
//! bar ends in its value (and, for CPU matmul, its share of the FMA peak).
//!
//! Drawn with `plotters` on its SVG backend; the row labels are measured in
//! the embedded font so that the label column is as wide as its longest
//! label, and no text leaves the canvas.

use super::Record;
use crate::plot::canvas::{svg_document, text_style, Drawn};
use crate::plot::font::{pixels, text_width, widest, FONT};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

const WIDTH: u32 = 960;
/// Height of one bar's slot, and the gap between groups in slots.
const ROW: u32 = 20;
const GROUP_GAP: f64 = 0.6;
/// Height of a section's caption and value axis.
const SECTION_CHROME: u32 = 95;
const LABEL_SIZE: f64 = 15.0;
/// The legend row above the sections.
const LEGEND_ROW: u32 = 26;
const LEGEND_SIZE: f64 = 15.0;
/// Colours of the thread counts, in increasing order (Tableau 10).
pub const COLORS: [RGBColor; 6] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
];

/// One section: its unit and its records, with how to read a value.
struct Section<'a> {
    unit: &'static str,
    records: Vec<&'a Record>,
    value: fn(&Record) -> f64,
}

/// Bars grouped by (kernel, device, shape), in first-seen order.
struct Group<'a> {
    label: String,
    bars: Vec<&'a Record>,
}

fn groups<'a>(records: &[&'a Record]) -> Vec<Group<'a>> {
    let mut out: Vec<Group> = Vec::new();
    for &r in records {
        let shape: Vec<String> = r.shape.iter().map(|d| d.to_string()).collect();
        let label = format!("{} {} {}", r.kernel, r.device, shape.join("×"));
        match out.iter_mut().find(|g| g.label == label) {
            Some(g) => g.bars.push(r),
            None => out.push(Group {
                label,
                bars: vec![r],
            }),
        }
    }
    for g in &mut out {
        g.bars.sort_by_key(|r| r.threads);
    }
    out
}

fn sections(records: &[Record]) -> Vec<Section<'_>> {
    let flops = records.iter().filter(|r| r.gflops.is_some()).collect();
    let bandwidth = records
        .iter()
        .filter(|r| r.gflops.is_none() && r.gbps.is_some())
        .collect();
    [
        Section {
            unit: "GFLOP/s",
            records: flops,
            value: |r| r.gflops.unwrap_or(0.0),
        },
        Section {
            unit: "GB/s",
            records: bandwidth,
            value: |r| r.gbps.unwrap_or(0.0),
        },
    ]
    .into_iter()
    .filter(|s| !s.records.is_empty())
    .collect()
}

/// Slots of a section: its bars and the gaps between groups.
fn slots(groups: &[Group]) -> f64 {
    let bars: usize = groups.iter().map(|g| g.bars.len()).sum();
    bars as f64 + GROUP_GAP * groups.len().saturating_sub(1) as f64
}

/// The chart of `records`, as an SVG document.
pub fn svg(records: &[Record]) -> Result<String, String> {
    let sections = sections(records);
    let mut threads: Vec<usize> = records.iter().map(|r| r.threads).collect();
    threads.sort();
    threads.dedup();
    let grouped: Vec<Vec<Group>> = sections.iter().map(|s| groups(&s.records)).collect();
    let heights: Vec<u32> = grouped
        .iter()
        .map(|g| (slots(g) * ROW as f64).ceil() as u32 + SECTION_CHROME)
        .collect();
    let height = LEGEND_ROW + heights.iter().sum::<u32>().max(SECTION_CHROME);
    let labels = grouped.iter().flatten().map(|g| &g.label);
    let label_w = widest(labels, LABEL_SIZE).ceil() as u32 + 16;
    svg_document((WIDTH, height), "the benchmark chart", |root| {
        root.fill(&WHITE)?;
        draw_legend(root, &threads)?;
        let (_, mut rest) = root.split_vertically(LEGEND_ROW);
        for ((section, groups), h) in sections.iter().zip(&grouped).zip(&heights) {
            let (area, below) = rest.split_vertically(*h);
            draw_section(root, &area, section, groups, &threads, label_w)?;
            rest = below;
        }
        Ok(())
    })
}

fn thread_name(t: usize) -> String {
    match t {
        1 => "1 thread".into(),
        t => format!("{t} threads"),
    }
}

fn draw_section<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    section: &Section,
    groups: &[Group],
    threads: &[usize],
    label_w: u32,
) -> Drawn<DB> {
    let max = section
        .records
        .iter()
        .map(|r| (section.value)(r))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let n = slots(groups);
    // Room right of the longest bar for its value and peak share.
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{} (s2s bench, median of rounds)", section.unit),
            (FONT, 18),
        )
        .margin(10)
        .margin_right(30)
        .x_label_area_size(40)
        .y_label_area_size(label_w)
        .build_cartesian_2d(0.0..max * 1.3, 0.0..n)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(section.unit)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
        .x_label_formatter(&|v| seq2seq::train::svg::format_number(*v))
        .draw()?;
    let colour =
        |t: usize| COLORS[threads.iter().position(|&x| x == t).unwrap_or(0) % COLORS.len()];
    // Slots from the top: y = n - slot.
    let mut slot = 0.0;
    let value_style = text_style(13.0, HPos::Left, VPos::Center);
    let label_style = text_style(LABEL_SIZE, HPos::Right, VPos::Center);
    for g in groups {
        let top = n - slot;
        for (k, r) in g.bars.iter().enumerate() {
            let v = (section.value)(r);
            let (y1, y0) = (top - k as f64 - 0.1, top - k as f64 - 0.9);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y0), (v, y1)],
                colour(r.threads).filled(),
            )))?;
            let peak = r
                .peak_pct
                .map_or(String::new(), |p| format!(" ({p:.0}% of peak)"));
            let (px, py) = chart.backend_coord(&(v, (y0 + y1) / 2.0));
            root.draw(&Text::new(
                format!("{v:.1}{peak}"),
                (px + 4, py),
                value_style.clone(),
            ))?;
        }
        let centre = top - g.bars.len() as f64 / 2.0;
        let (px, py) = chart.backend_coord(&(0.0, centre));
        root.draw(&Text::new(
            g.label.clone(),
            (px - 8, py),
            label_style.clone(),
        ))?;
        slot += g.bars.len() as f64 + GROUP_GAP;
    }
    Ok(())
}

/// The legend: a row at the top right of the canvas, one swatch per
/// thread count (where no bar or value can be under it).
fn draw_legend<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, threads: &[usize]) -> Drawn<DB> {
    let px = pixels(LEGEND_SIZE);
    let entry_w = |t: usize| 16 + 6 + text_width(&thread_name(t), px).ceil() as i32 + 18;
    let mut x = WIDTH as i32 - 10 - threads.iter().map(|&t| entry_w(t)).sum::<i32>();
    let y = LEGEND_ROW as i32 / 2 + 2;
    let style = text_style(LEGEND_SIZE, HPos::Left, VPos::Center);
    for (k, &t) in threads.iter().enumerate() {
        let c = COLORS[k % COLORS.len()];
        root.draw(&Rectangle::new([(x, y - 6), (x + 16, y + 6)], c.filled()))?;
        root.draw(&Text::new(thread_name(t), (x + 22, y), style.clone()))?;
        x += entry_w(t);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::inspect::{attr, hex, text_elements, texts};

    fn record(
        kernel: &str,
        shape: &[usize],
        threads: usize,
        gflops: Option<f64>,
        gbps: f64,
    ) -> Record {
        Record {
            kernel: kernel.into(),
            device: "cpu",
            shape: shape.to_vec(),
            threads,
            seconds: 1e-3,
            gflops,
            gbps: Some(gbps),
            peak_pct: gflops.map(|g| g / 4.0),
        }
    }

    fn records() -> Vec<Record> {
        vec![
            record("matmul", &[512, 512, 512], 1, Some(90.0), 3.0),
            record("matmul", &[512, 512, 512], 2, Some(170.0), 6.0),
            record("matmul", &[1280, 256, 1024], 1, Some(80.0), 2.0),
            record("matmul", &[1280, 256, 1024], 2, Some(150.0), 4.0),
            record("softmax", &[1280, 1024], 1, None, 12.5),
            record("softmax", &[1280, 1024], 2, None, 20.0),
        ]
    }

    /// (x, text-anchor, text) of every text.
    fn placed_texts(svg: &str) -> Vec<(f64, String, String)> {
        text_elements(svg)
            .into_iter()
            .map(|(tag, body)| {
                (
                    attr(tag, "x").parse().unwrap(),
                    attr(tag, "text-anchor"),
                    body,
                )
            })
            .collect()
    }

    #[test]
    fn bars_legend_axes_and_labels() {
        let svg = svg(&records()).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let t = texts(&svg);
        for want in [
            "GFLOP/s (s2s bench, median of rounds)",
            "GB/s (s2s bench, median of rounds)",
            "matmul cpu 512×512×512",
            "softmax cpu 1280×1024",
            "1 thread",
            "2 threads",
            "170.0 (42% of peak)",
            "20.0",
        ] {
            assert!(t.iter().any(|x| x == want), "no text {want:?} in {t:?}");
        }
        // The value axes: GFLOP/s and GB/s as axis titles and ticks.
        assert!(t.iter().filter(|x| *x == "GFLOP/s").count() == 1);
        assert!(t.iter().any(|x| x == "100"), "{t:?}");
        // One bar per record, each in its thread count's colour, and one
        // legend swatch per thread count.
        for (k, c) in COLORS[..2].iter().enumerate() {
            let fill = format!(r#"fill="{}""#, hex(*c));
            assert_eq!(svg.matches(&fill).count(), 3 + 1, "thread colour {k}");
        }
    }

    #[test]
    fn every_text_is_inside_the_canvas() {
        let long = record("layer_norm", &[1280, 1024, 4096, 7], 2, None, 7.0);
        let mut rs = records();
        rs.push(long);
        let svg = svg(&rs).unwrap();
        for (x, anchor, text) in placed_texts(&svg) {
            let w = text_width(&text, 13.0);
            let (left, right) = match anchor.as_str() {
                "end" => (x - w, x),
                "middle" => (x - w / 2.0, x + w / 2.0),
                _ => (x, x + w),
            };
            assert!(
                left >= 0.0 && right <= WIDTH as f64,
                "{text:?} spans {left:.0}..{right:.0}"
            );
        }
    }

    #[test]
    fn no_records_still_draws() {
        let svg = svg(&[]).unwrap();
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
