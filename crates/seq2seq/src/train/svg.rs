//! The loss curve of a run (`loss.svg`), drawn from the log rows with the
//! `plotters` crate's SVG backend:
//!
//! * the loss panel: training loss (blue line) and validation loss (orange
//!   line and dots) against the optimizer step, on a linear or, with
//!   [`LossPlotOptions::log_y`], a logarithmic axis (a loss that falls
//!   from 3 to 0.001 shows its whole fall only on a log axis); the learning
//!   rate (grey) on a second axis at the right, so a warm-up or a decay
//!   can be read against the loss it caused; and a dashed vertical line
//!   where each epoch starts;
//! * the BLEU panel, only for runs that measure it (`--valid-bleu`):
//!   validation BLEU (green line and dots) under the loss panel, on the
//!   same step axis.
//!
//! BLEU gets a panel of its own rather than a third y axis: the right axis
//! already carries the learning rate, and two scales on one side cannot
//! both be read.

use super::log::LogRow;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Fonts of every text: DejaVu Sans where installed (the PNG renderer of
/// the CLI embeds it), else the viewer's sans-serif.
pub const FONT: &str = "DejaVu Sans, sans-serif";
pub const TRAIN_COLOR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
pub const VALID_COLOR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
pub const LR_COLOR: RGBColor = RGBColor(0x88, 0x88, 0x88);
pub const BLEU_COLOR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const EPOCH_COLOR: RGBColor = RGBColor(0xbb, 0xbb, 0xbb);

const WIDTH: u32 = 760;
const LOSS_HEIGHT: u32 = 440;
const BLEU_HEIGHT: u32 = 190;
/// At most this many epoch lines are labelled; the rest are drawn bare.
const EPOCH_LABELS: usize = 10;

/// How to draw a loss curve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossPlotOptions {
    /// A logarithmic loss axis (non-positive losses are left out).
    pub log_y: bool,
}

/// The series of a plot, read from the log rows.
struct Series {
    train: Vec<(f64, f64)>,
    valid: Vec<(f64, f64)>,
    lr: Vec<(f64, f64)>,
    bleu: Vec<(f64, f64)>,
    /// (first step, epoch) of every epoch after the first.
    epoch_starts: Vec<(f64, u64)>,
    max_step: f64,
}

impl Series {
    fn of(rows: &[LogRow], log_y: bool) -> Series {
        let usable = |v: f64| v.is_finite() && (!log_y || v > 0.0);
        let loss = |kind: &str| -> Vec<(f64, f64)> {
            rows.iter()
                .filter(|r| r.kind == kind && usable(r.loss as f64))
                .map(|r| (r.step as f64, r.loss as f64))
                .collect()
        };
        let lr = rows
            .iter()
            .filter(|r| r.kind == "train" && r.lr.is_finite())
            .map(|r| (r.step as f64, r.lr as f64))
            .collect();
        let bleu = rows
            .iter()
            .filter_map(|r| Some((r.step as f64, r.bleu? as f64)))
            .filter(|p| p.1.is_finite())
            .collect();
        // An epoch starts just after the last step logged in the one before.
        let mut epoch_starts = Vec::new();
        let mut rows_by_step: Vec<&LogRow> = rows.iter().collect();
        rows_by_step.sort_by_key(|r| r.step);
        for pair in rows_by_step.windows(2) {
            if pair[1].epoch > pair[0].epoch {
                epoch_starts.push((pair[0].step as f64, pair[1].epoch));
            }
        }
        epoch_starts.dedup_by_key(|e| e.1);
        let max_step = rows.iter().map(|r| r.step).max().unwrap_or(1).max(1) as f64;
        Series {
            train: loss("train"),
            valid: loss("valid"),
            lr,
            bleu,
            epoch_starts,
            max_step,
        }
    }

    /// The loss axis: from 0 (linear) or a little under the smallest loss
    /// (log) to a little over the largest.
    fn loss_range(&self, log_y: bool) -> (f64, f64) {
        let losses = || self.train.iter().chain(&self.valid).map(|p| p.1);
        let max = losses().fold(f64::MIN, f64::max);
        if max == f64::MIN {
            return (if log_y { 0.01 } else { 0.0 }, 1.0);
        }
        match log_y {
            true => {
                let min = losses().fold(f64::MAX, f64::min);
                (min / 1.5, (max * 1.5).max(min * 10.0))
            }
            false => (0.0, (max * 1.05).max(1e-3)),
        }
    }
}

/// The loss curve of a run with log `rows`, titled `title`, as an SVG
/// document.
pub fn loss_curve(
    title: &str,
    rows: &[LogRow],
    options: LossPlotOptions,
) -> Result<String, String> {
    let series = Series::of(rows, options.log_y);
    let height = LOSS_HEIGHT
        + if series.bleu.is_empty() {
            0
        } else {
            BLEU_HEIGHT
        };
    let mut svg = String::new();
    {
        let canvas = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        canvas.fill(&WHITE).map_err(plot_error)?;
        let root = canvas.titled(title, (FONT, 18)).map_err(plot_error)?;
        let (loss_area, bleu_area) = match series.bleu.is_empty() {
            true => (root, None),
            false => {
                let (top, bottom) = root.split_vertically(LOSS_HEIGHT - 30);
                (top, Some(bottom))
            }
        };
        let (lo, hi) = series.loss_range(options.log_y);
        match options.log_y {
            true => loss_panel(&loss_area, &series, (lo..hi).log_scale(), (lo, hi), true),
            false => loss_panel(&loss_area, &series, lo..hi, (lo, hi), false),
        }
        .map_err(plot_error)?;
        if let Some(area) = bleu_area {
            bleu_panel(&area, &series).map_err(plot_error)?;
        }
        canvas.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn plot_error<E: std::fmt::Display>(e: E) -> String {
    format!("cannot draw the loss curve: {e}")
}

/// Label areas shared by both panels, so that their step axes line up.
const LEFT_AXIS: u32 = 70;
/// The band above the loss panel where the epoch lines are labelled.
const EPOCH_BAND: u32 = 18;
const RIGHT_AXIS: u32 = 75;

/// The loss panel: losses on `y` (whose bounds are `bounds`), the learning
/// rate on the right axis, epoch lines.
fn loss_panel<DB: DrawingBackend, Y>(
    area: &DrawingArea<DB, Shift>,
    s: &Series,
    y: Y,
    bounds: (f64, f64),
    log_y: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let max_lr = s.lr.iter().map(|p| p.1).fold(0.0, f64::max);
    let max_lr = if max_lr > 0.0 { max_lr * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .margin_top(8 + EPOCH_BAND)
        .x_label_area_size(40)
        .y_label_area_size(LEFT_AXIS)
        .right_y_label_area_size(RIGHT_AXIS)
        .build_cartesian_2d(0.0..s.max_step, y)?
        .set_secondary_coord(0.0..s.max_step, 0.0..max_lr);
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(match log_y {
            true => "loss per token (log scale)",
            false => "loss per token",
        })
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe8, 0xe8, 0xe8))
        .x_label_formatter(&|v| format_number(*v))
        .y_label_formatter(&|v| format_number(*v))
        .draw()?;
    if !s.lr.is_empty() {
        chart
            .configure_secondary_axes()
            .y_desc("learning rate")
            .label_style((FONT, 13).into_font().color(&LR_COLOR))
            .axis_desc_style((FONT, 14).into_font().color(&LR_COLOR))
            .y_label_formatter(&|v| format_rate(*v))
            .draw()?;
    }
    let every = s.epoch_starts.len().div_ceil(EPOCH_LABELS).max(1);
    for (k, &(step, epoch)) in s.epoch_starts.iter().enumerate() {
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(step, bounds.0), (step, bounds.1)],
            4,
            4,
            EPOCH_COLOR,
        )))?;
        if k % every == 0 {
            // Above the frame, where no curve or legend can be.
            // (The chart speaks in canvas pixels, the area in its own.)
            let (x, y) = chart.backend_coord(&(step, bounds.1));
            let (x, y) = (x - area.get_base_pixel().0, y - area.get_base_pixel().1);
            area.draw(&Text::new(
                format!("epoch {epoch}"),
                (x, y - 3),
                (FONT, 12)
                    .into_font()
                    .color(&RGBColor(0x77, 0x77, 0x77))
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            ))?;
        }
    }
    if !s.lr.is_empty() {
        let line = LR_COLOR.stroke_width(1);
        chart
            .draw_secondary_series(LineSeries::new(s.lr.iter().copied(), line))?
            .label("learning rate")
            .legend(legend_sample(line));
    }
    if !s.train.is_empty() {
        let line = TRAIN_COLOR.stroke_width(2);
        chart
            .draw_series(LineSeries::new(s.train.iter().copied(), line))?
            .label("train")
            .legend(legend_sample(line));
    }
    if !s.valid.is_empty() {
        let line = VALID_COLOR.stroke_width(2);
        chart
            .draw_series(LineSeries::new(s.valid.iter().copied(), line).point_size(3))?
            .label("validation")
            .legend(legend_sample(line));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xaa, 0xaa, 0xaa))
        .draw()?;
    Ok(())
}

/// A legend's sample of a line drawn in `line`: a stroke 20 pixels long.
fn legend_sample(line: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line)
}

/// The BLEU panel: validation BLEU on 0 to a little above the best score,
/// so that small early scores still show their rise.
fn bleu_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &Series,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let best = s.bleu.iter().map(|p| p.1).fold(0.0, f64::max);
    let top = (best * 1.1).clamp(1.0, 100.0);
    // No right axis, but its width as margin: the step axes line up.
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .margin_right(8 + RIGHT_AXIS)
        .x_label_area_size(40)
        .y_label_area_size(LEFT_AXIS)
        .build_cartesian_2d(0.0..s.max_step, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("validation BLEU")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe8, 0xe8, 0xe8))
        .y_labels(5)
        .x_label_formatter(&|v| format_number(*v))
        .y_label_formatter(&|v| format_number(*v))
        .draw()?;
    chart.draw_series(
        LineSeries::new(s.bleu.iter().copied(), BLEU_COLOR.stroke_width(2)).point_size(3),
    )?;
    Ok(())
}

/// A tick label: integers as such, other values with up to three
/// significant decimals ("0.25", "0.003").
pub fn format_number(v: f64) -> String {
    if v == 0.0 || v.abs() >= 1000.0 || v.fract() == 0.0 {
        return format!("{v:.0}");
    }
    let decimals = (2 - v.abs().log10().floor() as i64).clamp(0, 8) as usize;
    let s = format!("{v:.decimals$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A learning-rate label: "0", or mantissa and exponent ("5e-4", "1.2e-3").
fn format_rate(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let s = format!("{v:.1e}");
    s.replace(".0e", "e")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, step: u64, epoch: u64, loss: f32, lr: f32, bleu: Option<f32>) -> LogRow {
        LogRow {
            kind: kind.into(),
            step,
            epoch,
            loss,
            lr,
            grad_norm: 1.0,
            tokens_per_sec: 100.0,
            elapsed: step as f64,
            bleu,
            chrf: bleu,
        }
    }

    /// Two epochs of 4 steps: train rows every 2 steps with a warm-up of
    /// the learning rate, a validation at the end of each epoch.
    fn rows(bleu: bool) -> Vec<LogRow> {
        let b = |v: f32| bleu.then_some(v);
        vec![
            row("train", 2, 1, 3.0, 1e-4, None),
            row("train", 4, 1, 1.0, 2e-4, None),
            row("valid", 4, 1, 1.5, 2e-4, b(10.0)),
            row("train", 6, 2, 0.1, 3e-4, None),
            row("train", 8, 2, 0.01, 3e-4, None),
            row("valid", 8, 2, 0.05, 3e-4, b(40.0)),
        ]
    }

    /// The number of points of every polyline drawn in `color`.
    fn polylines(svg: &str, color: RGBColor) -> Vec<usize> {
        let stroke = format!(
            r##"stroke="#{:02X}{:02X}{:02X}""##,
            color.0, color.1, color.2
        );
        svg.lines()
            .filter(|l| l.starts_with("<polyline") && l.contains(&stroke))
            .map(|l| {
                let points = &l[l.find("points=\"").unwrap() + 8..];
                points[..points.find('"').unwrap()]
                    .split_whitespace()
                    .count()
            })
            .collect()
    }

    /// The text of every `<text>` element.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let body = &t[t.find('>').unwrap() + 1..];
                body[..body.find("</text>").unwrap()].trim().to_string()
            })
            .collect()
    }

    #[test]
    fn every_series_is_drawn_with_its_legend_and_axes() {
        let svg = loss_curve("GRU — loss", &rows(false), LossPlotOptions::default()).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        // Each series is one line through all its rows, and a legend sample.
        assert_eq!(polylines(&svg, TRAIN_COLOR), [4, 2]);
        assert_eq!(polylines(&svg, VALID_COLOR), [2, 2]);
        assert_eq!(polylines(&svg, LR_COLOR), [4, 2]);
        assert!(polylines(&svg, BLEU_COLOR).is_empty());
        // The validation points are marked.
        assert_eq!(svg.matches("<circle").count(), 2);
        let t = texts(&svg);
        for label in [
            "GRU — loss",
            "train",
            "validation",
            "learning rate",
            "step",
            "loss per token",
            "epoch 2",
        ] {
            assert!(t.iter().any(|x| x == label), "no text {label:?} in {t:?}");
        }
        assert!(!svg.contains("BLEU"));
        // One epoch boundary: a dashed line, drawn dash by dash.
        assert!(svg.matches(r##"stroke="#BBBBBB""##).count() > 3);
        // Learning-rate ticks in exponent form.
        assert!(t.iter().any(|x| x == "1e-4"), "{t:?}");
    }

    #[test]
    fn log_axis_spans_the_whole_fall() {
        let svg = loss_curve("t", &rows(false), LossPlotOptions { log_y: true }).unwrap();
        let t = texts(&svg);
        assert!(t.iter().any(|x| x == "loss per token (log scale)"));
        // Ticks at powers of ten from below 0.01 to above 3.
        for tick in ["0.01", "0.1", "1"] {
            assert!(t.iter().any(|x| x == tick), "no tick {tick} in {t:?}");
        }
        assert_eq!(polylines(&svg, TRAIN_COLOR), [4, 2]);
        // A zero loss cannot be drawn on a log axis and is left out.
        let mut zero = rows(false);
        zero[3].loss = 0.0;
        let svg = loss_curve("t", &zero, LossPlotOptions { log_y: true }).unwrap();
        assert_eq!(polylines(&svg, TRAIN_COLOR), [3, 2]);
    }

    #[test]
    fn bleu_gets_its_own_panel() {
        let svg = loss_curve("t", &rows(true), LossPlotOptions::default()).unwrap();
        assert_eq!(polylines(&svg, BLEU_COLOR), [2]);
        assert!(texts(&svg).iter().any(|x| x == "validation BLEU"));
        let height = format!(r#"height="{}""#, LOSS_HEIGHT + BLEU_HEIGHT);
        assert!(svg.lines().next().unwrap().contains(&height));
        // The two validation dots and the two BLEU dots.
        assert_eq!(svg.matches("<circle").count(), 4);
    }

    #[test]
    fn empty_and_diverged_logs_still_draw() {
        let svg = loss_curve("t", &[], LossPlotOptions::default()).unwrap();
        assert!(svg.trim_end().ends_with("</svg>"));
        let mut nan = rows(false);
        nan[1].loss = f32::NAN;
        let svg = loss_curve("t", &nan, LossPlotOptions::default()).unwrap();
        assert_eq!(polylines(&svg, TRAIN_COLOR), [3, 2]);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(format_number(2000.0), "2000");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(0.003), "0.003");
        assert_eq!(format_number(1.5), "1.5");
        assert_eq!(format_rate(5e-4), "5e-4");
        assert_eq!(format_rate(1.5e-3), "1.5e-3");
        assert_eq!(format_rate(0.0), "0");
    }
}
