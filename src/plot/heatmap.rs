//! Attention heatmaps, laid out as Bahdanau, Cho & Bengio (2014, Fig. 3)
//! show their alignments: the source tokens along the top (x), the output
//! tokens down the left side (y), and one cell per (output step i, source
//! token j) coloured by the attention weight
//!
//! ```text
//!   α_ij = softmax_j(e_ij)      0 → dark violet … 1 → yellow (viridis)
//! ```
//!
//! The colour map is viridis (van der Walt & Smith, matplotlib 2.0): its
//! lightness rises evenly from 0 to 1, so equal steps of weight look like
//! equal steps of colour, and it stays readable in greyscale and to
//! colour-blind readers. The scale is absolute (0.5 is always the same
//! teal), not stretched per map: every row of α sums to one, so absolute
//! colours let maps be compared — a diffuse head is dark, a sharp one has a
//! yellow cell per row. A colour bar at the right gives the key.
//!
//! A [`Figure`] holds several maps over the same sentence pair (a
//! Transformer has one per decoder layer × head) as a grid of panels,
//! `columns` to a row; each panel repeats the labels, so any panel can be
//! read alone. The canvas is sized to its content: cells shrink for long
//! sentences (down to [`MIN_CELL`]) and grow for short ones, labels are
//! measured in the embedded font, and source labels turn vertical when
//! they are wider than a cell.
//!
//! Drawn with `plotters` on its SVG backend; the PNG is that SVG rendered
//! by `resvg` ([`super::png`]).

use super::canvas::{svg_document, text_style, Drawn};
use super::font::{pixels, text_width};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// Labels longer than this many characters are shortened with "…".
const MAX_LABEL: usize = 16;
/// Cell sides, in pixels: the grid aims at [`GRID`] pixels on its longer
/// side, within these bounds.
const MIN_CELL: i32 = 12;
const MAX_CELL: i32 = 30;
/// The longer side of one panel's grid, alone and in a grid of panels.
const GRID: i32 = 440;
const GRID_MANY: i32 = 260;
/// Space around the figure and between panels.
const PAD: i32 = 10;
/// Text sizes in `plotters` units (see [`pixels`]).
const TITLE_SIZE: f64 = 19.0;
const PANEL_TITLE_SIZE: f64 = 16.0;
const TICK_SIZE: f64 = 14.0;
/// The colour bar: its width, and its height at least.
const BAR_W: i32 = 14;
const MIN_BAR_H: i32 = 120;
const BAR_LABEL: &str = "attention weight";
const FRAME: RGBColor = RGBColor(0x80, 0x80, 0x80);

/// One attention map: `rows × cols` weights, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub title: String,
    pub rows: usize,
    pub cols: usize,
    pub weights: Vec<f32>,
}

/// Several maps over one sentence pair, laid out as a grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    title: String,
    /// Source tokens, one per column.
    src: Vec<String>,
    /// Output tokens, one per row.
    out: Vec<String>,
    panels: Vec<Panel>,
    columns: usize,
}

/// Where everything goes, in pixels (SVG units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    pub width: i32,
    pub height: i32,
    /// Side of a cell.
    pub cell: i32,
    /// Size of the token labels, in `plotters` units.
    label_size: f64,
    /// Some source labels are written bottom-up (they are wider than a cell).
    vertical_src: bool,
    /// Height of the figure's title band.
    header: i32,
    /// Inside a panel: the panel title, the source labels, the output labels.
    title_band: i32,
    top_band: i32,
    left_band: i32,
    panel_w: i32,
    panel_h: i32,
    columns: usize,
    /// Top-left corner and height of the colour bar.
    bar: (i32, i32, i32),
}

impl Layout {
    /// Top-left corner of the cell grid of panel `p`.
    pub fn grid_origin(&self, p: usize) -> (i32, i32) {
        let (col, row) = ((p % self.columns) as i32, (p / self.columns) as i32);
        (
            PAD + col * self.panel_w + self.left_band,
            self.header + row * self.panel_h + self.title_band + self.top_band,
        )
    }

    /// Centre of cell (`i`, `j`) of panel `p`.
    #[cfg(test)]
    pub fn cell_center(&self, p: usize, i: usize, j: usize) -> (i32, i32) {
        let (x0, y0) = self.grid_origin(p);
        (
            x0 + j as i32 * self.cell + self.cell / 2,
            y0 + i as i32 * self.cell + self.cell / 2,
        )
    }
}

/// `label` cut to [`MAX_LABEL`] characters, ending in "…" when cut.
fn shorten(label: &str) -> String {
    match label.chars().count() > MAX_LABEL {
        true => label.chars().take(MAX_LABEL - 1).chain(['…']).collect(),
        false => label.to_string(),
    }
}

/// The colour of weight `w`: viridis over [0, 1]; out-of-range weights
/// are clamped and NaN shows as 0 (no attention to speak of).
pub fn colour(w: f32) -> RGBColor {
    let w = if w.is_nan() { 0.0 } else { w.clamp(0.0, 1.0) };
    ViridisRGB.get_color(w)
}

/// Text for XML content.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Pixel width of the widest of `labels` at `plotters` size `size`.
fn widest<S: AsRef<str>>(labels: impl IntoIterator<Item = S>, size: f64) -> i32 {
    super::font::widest(labels, size).ceil() as i32
}

impl Figure {
    /// A figure of `panels` over source tokens `src` (columns) and output
    /// tokens `out` (rows), `columns` panels to a grid row. Every panel must
    /// be `out.len() × src.len()`.
    pub fn new(
        title: impl Into<String>,
        src: Vec<String>,
        out: Vec<String>,
        panels: Vec<Panel>,
        columns: usize,
    ) -> Result<Figure, String> {
        if panels.is_empty() {
            return Err("no attention maps to draw".into());
        }
        for p in &panels {
            if p.rows != out.len() || p.cols != src.len() || p.weights.len() != p.rows * p.cols {
                return Err(format!(
                    "attention map {:?} is {}×{} with {} weights, but the sentence pair has \
                     {} output and {} source tokens",
                    p.title,
                    p.rows,
                    p.cols,
                    p.weights.len(),
                    out.len(),
                    src.len()
                ));
            }
        }
        Ok(Figure {
            title: title.into(),
            src: src.iter().map(|s| shorten(s)).collect(),
            out: out.iter().map(|s| shorten(s)).collect(),
            columns: columns.clamp(1, panels.len()),
            panels,
        })
    }

    /// The placement of everything.
    pub fn layout(&self) -> Layout {
        let (rows, cols) = (self.out.len() as i32, self.src.len() as i32);
        let grid = if self.panels.len() > 1 {
            GRID_MANY
        } else {
            GRID
        };
        let cell = (grid / rows.max(cols).max(1)).clamp(MIN_CELL, MAX_CELL);
        // Labels as large as the cells allow: 13 px in big cells, 9 in small.
        let label_px = (cell as f64 * 0.6).clamp(9.0, 13.0);
        let label_size = label_px * 1.24;
        // A source label wider than its cell is written bottom-up; the
        // band above the grid is as tall as the longest such label.
        let vertical: Vec<String> = self
            .src
            .iter()
            .filter(|l| text_width(l, label_px) > (cell - 2) as f64)
            .cloned()
            .collect();
        let vertical_src = !vertical.is_empty();
        let top_band = widest(&vertical, label_size).max(label_px.ceil() as i32) + 8;
        let left_band = widest(&self.out, label_size) + 8;
        let title_band = pixels(PANEL_TITLE_SIZE).ceil() as i32 + 8;
        let panel_title_w = widest(self.panels.iter().map(|p| &p.title), PANEL_TITLE_SIZE);
        let panel_w = left_band + (cols * cell).max(panel_title_w) + PAD;
        let panel_h = title_band + top_band + rows * cell + PAD;
        let header = PAD + pixels(TITLE_SIZE).ceil() as i32 + 8;
        let grid_rows = self.panels.len().div_ceil(self.columns) as i32;
        // The colour bar: beside the first row of panels, ticks and their
        // label at its right.
        let bar_h = (rows * cell).max(MIN_BAR_H);
        let bar_x = PAD + self.columns as i32 * panel_w + 4;
        let bar_y = header + title_band + top_band;
        let tick_px = pixels(TICK_SIZE);
        let bar_w = BAR_W + 6 + text_width("0.75", tick_px).ceil() as i32 + 8 + tick_px as i32 + 4;
        let title_w = text_width(&self.title, pixels(TITLE_SIZE)).ceil() as i32 + 2 * PAD;
        let width = (bar_x + bar_w + PAD).max(title_w);
        let height = (header + grid_rows * panel_h).max(bar_y + bar_h + PAD);
        Layout {
            width,
            height,
            cell,
            label_size,
            vertical_src,
            header,
            title_band,
            top_band,
            left_band,
            panel_w,
            panel_h,
            columns: self.columns,
            bar: (bar_x, bar_y, bar_h),
        }
    }

    /// The figure as an SVG document.
    pub fn to_svg(&self) -> Result<String, String> {
        let l = self.layout();
        let size = (l.width as u32, l.height as u32);
        let svg = svg_document(size, "the attention heatmap", |root| self.draw(root, &l))?;
        Ok(self.with_tooltips(svg, l.cell))
    }

    /// Gives every cell its weight as a tooltip (a `<title>`, which
    /// browsers show on hover and `plotters` has no element for). The cells
    /// are the filled squares of the cell's size, in the order drawn; should
    /// their count not match, the figure is left without tooltips.
    fn with_tooltips(&self, svg: String, cell: i32) -> String {
        let hints: Vec<String> = self
            .panels
            .iter()
            .flat_map(|p| {
                (0..p.rows * p.cols).map(move |k| {
                    let (i, j) = (k / p.cols, k % p.cols);
                    format!("{} → {}: {:.3}", self.src[j], self.out[i], p.weights[k])
                })
            })
            .collect();
        let square = format!(r#" width="{cell}" height="{cell}""#);
        let is_cell = |l: &str| {
            l.starts_with("<rect")
                && l.ends_with("/>")
                && l.contains(&square)
                && !l.contains(r#"fill="none""#)
        };
        if svg.lines().filter(|l| is_cell(l)).count() != hints.len() {
            return svg;
        }
        let mut hints = hints.iter();
        let mut out = String::with_capacity(svg.len() * 2);
        for line in svg.lines() {
            match is_cell(line) {
                true => {
                    let hint = escape(hints.next().expect("one hint per cell"));
                    out += &format!("{}><title>{hint}</title></rect>\n", &line[..line.len() - 2]);
                }
                false => {
                    out += line;
                    out.push('\n');
                }
            }
        }
        out
    }

    /// The figure as a PNG file: the SVG, rendered.
    pub fn to_png(&self) -> Result<Vec<u8>, String> {
        super::png::svg_to_png(&self.to_svg()?)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
        l: &Layout,
    ) -> Drawn<DB> {
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            self.title.clone(),
            (PAD, PAD),
            text_style(TITLE_SIZE, HPos::Left, VPos::Top),
        ))?;
        let label = text_style(l.label_size, HPos::Right, VPos::Center);
        let vertical =
            text_style(l.label_size, HPos::Left, VPos::Center).transform(FontTransform::Rotate270);
        let horizontal = text_style(l.label_size, HPos::Center, VPos::Bottom);
        let fits = |token: &str| text_width(token, pixels(l.label_size)) <= (l.cell - 2) as f64;
        for (p, panel) in self.panels.iter().enumerate() {
            let (x0, y0) = l.grid_origin(p);
            let (grid_w, grid_h) = (panel.cols as i32 * l.cell, panel.rows as i32 * l.cell);
            root.draw(&Text::new(
                panel.title.clone(),
                (x0 + grid_w / 2, y0 - l.top_band - l.title_band + 4),
                text_style(PANEL_TITLE_SIZE, HPos::Center, VPos::Top),
            ))?;
            for (j, token) in self.src.iter().enumerate() {
                let x = x0 + j as i32 * l.cell + l.cell / 2;
                let style = if fits(token) { &horizontal } else { &vertical };
                root.draw(&Text::new(token.clone(), (x, y0 - 4), style.clone()))?;
            }
            for (i, token) in self.out.iter().enumerate() {
                let y = y0 + i as i32 * l.cell + l.cell / 2;
                root.draw(&Text::new(token.clone(), (x0 - 5, y), label.clone()))?;
            }
            for i in 0..panel.rows {
                for j in 0..panel.cols {
                    let (x, y) = (x0 + j as i32 * l.cell, y0 + i as i32 * l.cell);
                    let w = panel.weights[i * panel.cols + j];
                    root.draw(&Rectangle::new(
                        [(x, y), (x + l.cell, y + l.cell)],
                        colour(w).filled(),
                    ))?;
                }
            }
            root.draw(&Rectangle::new(
                [(x0 - 1, y0 - 1), (x0 + grid_w + 1, y0 + grid_h + 1)],
                FRAME,
            ))?;
        }
        self.draw_colour_bar(root, l)
    }

    /// The key: weight 1 at the top to 0 at the bottom, one row of pixels
    /// per step, ticks every 0.25.
    fn draw_colour_bar<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
        l: &Layout,
    ) -> Drawn<DB> {
        let (x, y, h) = l.bar;
        for k in 0..h {
            let w = 1.0 - k as f32 / (h - 1).max(1) as f32;
            root.draw(&Rectangle::new(
                [(x, y + k), (x + BAR_W, y + k + 1)],
                colour(w).filled(),
            ))?;
        }
        root.draw(&Rectangle::new([(x, y), (x + BAR_W, y + h)], FRAME))?;
        let tick = text_style(TICK_SIZE, HPos::Left, VPos::Center);
        for (k, value) in ["1", "0.75", "0.5", "0.25", "0"].iter().enumerate() {
            let ty = y + ((h - 1) as f64 * k as f64 / 4.0).round() as i32;
            root.draw(&PathElement::new(
                vec![(x + BAR_W, ty), (x + BAR_W + 4, ty)],
                FRAME,
            ))?;
            root.draw(&Text::new(
                value.to_string(),
                (x + BAR_W + 6, ty),
                tick.clone(),
            ))?;
        }
        let label_x = x + BAR_W + 6 + text_width("0.75", pixels(TICK_SIZE)).ceil() as i32 + 8;
        root.draw(&Text::new(
            BAR_LABEL,
            (label_x + pixels(TICK_SIZE) as i32 / 2, y + h / 2),
            text_style(TICK_SIZE, HPos::Center, VPos::Center).transform(FontTransform::Rotate90),
        ))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::inspect::{attr, hex, texts};
    use super::*;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    /// Two maps over a 3-token source and 2-token output, with labels that
    /// need escaping.
    fn figure() -> Figure {
        let a = Panel {
            title: "layer 1, head 1".into(),
            rows: 2,
            cols: 3,
            weights: vec![1.0, 0.0, 0.0, 0.25, 0.5, 0.25],
        };
        let b = Panel {
            title: "layer 1, head 2".into(),
            rows: 2,
            cols: 3,
            weights: vec![0.1, 0.2, 0.7, 0.0, 1.0, 0.0],
        };
        Figure::new(
            "Tom & \"Marie\" <3",
            strings(&["l'été", "<&\">", "<eos>"]),
            strings(&["summer", "<eos>"]),
            vec![a, b],
            2,
        )
        .unwrap()
    }

    /// A small XML checker: every tag closes in order, attribute values are
    /// quoted, and no raw `<` or stray `&` appears in text or attributes.
    fn check_xml(doc: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = doc;
        let check_text = |text: &str| {
            assert!(!text.contains('>'), "raw > in text {text:?}");
            let mut t = text;
            while let Some(k) = t.find('&') {
                let entity = &t[k..t[k..].find(';').map_or(t.len(), |e| k + e + 1)];
                assert!(
                    ["&lt;", "&gt;", "&amp;", "&quot;", "&apos;"].contains(&entity),
                    "stray & in {text:?}"
                );
                t = &t[k + 1..];
            }
        };
        while let Some(open) = rest.find('<') {
            check_text(&rest[..open]);
            let close = rest[open..].find('>').expect("an unclosed tag") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "raw < inside tag {tag:?}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let name = tag.split_whitespace().next().unwrap().trim_end_matches('/');
                // Attribute values: name="value" with no raw quote inside.
                let attrs = tag[name.len()..].trim().trim_end_matches('/');
                assert_eq!(
                    attrs.matches('"').count() % 2,
                    0,
                    "unbalanced quotes in {tag:?}"
                );
                for (k, value) in attrs.split('"').enumerate() {
                    if k % 2 == 1 {
                        check_text(value);
                    }
                }
                if !tag.ends_with('/') {
                    stack.push(name.to_string());
                }
            }
            rest = &rest[close + 1..];
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    /// (x, y, width, height, fill) of every filled `<rect>`.
    fn rects(svg: &str) -> Vec<(i32, i32, i32, i32, String)> {
        svg.lines()
            .filter(|l| l.starts_with("<rect") && !l.contains("fill=\"none\""))
            .map(|l| {
                let n = |name| attr(l, name).parse().unwrap();
                (n("x"), n("y"), n("width"), n("height"), attr(l, "fill"))
            })
            .collect()
    }

    #[test]
    fn svg_is_well_formed_with_escaped_labels() {
        let svg = figure().to_svg().unwrap();
        assert!(svg.starts_with("<svg"));
        check_xml(&svg);
        let t = texts(&svg);
        for want in [
            "Tom &amp; &quot;Marie&quot; &lt;3",
            "&lt;&amp;&quot;&gt;",
            "l&apos;été",
            "&lt;eos&gt;",
            "layer 1, head 2",
            "attention weight",
        ] {
            assert!(t.iter().any(|x| x == want), "no text {want:?} in {t:?}");
        }
        // Each cell carries its weight as a tooltip.
        assert!(
            svg.contains("<title>l&apos;été → summer: 1.000</title>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<title>").count(), 12);
        // The checker itself rejects what it should.
        for bad in ["<a><b></a></b>", "<a>x < y</a>", "<a t=\"&x\"/>", "<a>"] {
            assert!(
                std::panic::catch_unwind(|| check_xml(bad)).is_err(),
                "{bad} passed"
            );
        }
    }

    #[test]
    fn cells_follow_the_weights_and_the_labels_their_tokens() {
        let f = figure();
        let l = f.layout();
        let svg = f.to_svg().unwrap();
        let cells: Vec<_> = rects(&svg)
            .into_iter()
            .filter(|r| r.2 == l.cell && r.3 == l.cell)
            .collect();
        let weights: Vec<f32> = f.panels.iter().flat_map(|p| p.weights.clone()).collect();
        assert_eq!(cells.len(), weights.len());
        for (k, (cell, w)) in cells.iter().zip(&weights).enumerate() {
            assert_eq!(cell.4, hex(colour(*w)), "cell {k}");
            let (p, i, j) = (k / 6, k % 6 / 3, k % 3);
            let (cx, cy) = l.cell_center(p, i, j);
            assert_eq!((cell.0 + l.cell / 2, cell.1 + l.cell / 2), (cx, cy));
        }
        // Each panel repeats its labels: every source token twice, the
        // output tokens twice (plus the source "<eos>").
        let t = texts(&svg);
        assert_eq!(t.iter().filter(|x| *x == "summer").count(), 2);
        assert_eq!(t.iter().filter(|x| *x == "&lt;eos&gt;").count(), 4);
    }

    #[test]
    fn the_colour_bar_runs_from_one_to_zero() {
        let f = figure();
        let l = f.layout();
        let svg = f.to_svg().unwrap();
        let (x, y, h) = l.bar;
        let bar: Vec<_> = rects(&svg)
            .into_iter()
            .filter(|r| r.0 == x && r.2 == BAR_W)
            .collect();
        assert_eq!(bar.len() as i32, h);
        assert_eq!((bar[0].1, bar[0].4.clone()), (y, hex(colour(1.0))));
        assert_eq!(bar.last().unwrap().4, hex(colour(0.0)));
        let t = texts(&svg);
        for tick in ["0", "0.25", "0.5", "0.75", "1"] {
            assert!(t.iter().any(|x| x == tick), "no tick {tick}");
        }
        // Viridis: dark violet at 0, yellow at 1, lighter all the way.
        assert_eq!(colour(0.0), RGBColor(68, 1, 84));
        assert_eq!(colour(1.0), RGBColor(254, 232, 37));
        let lightness = |c: RGBColor| 0.3 * c.0 as f32 + 0.59 * c.1 as f32 + 0.11 * c.2 as f32;
        let steps: Vec<f32> = (0..=10)
            .map(|k| lightness(colour(k as f32 / 10.0)))
            .collect();
        assert!(steps.windows(2).all(|w| w[1] > w[0]), "{steps:?}");
        assert_eq!(
            (colour(-0.5), colour(2.0), colour(f32::NAN)),
            (colour(0.0), colour(1.0), colour(0.0))
        );
    }

    #[test]
    fn the_canvas_is_tight() {
        // One 10 × 10 map with short labels: the grid fills a good part of
        // the canvas, and nothing is drawn past its edges.
        let words: Vec<String> = (0..10).map(|k| format!("w{k}")).collect();
        let panel = Panel {
            title: "attention".into(),
            rows: 10,
            cols: 10,
            weights: vec![0.1; 100],
        };
        let f = Figure::new("a → b", words.clone(), words, vec![panel], 1).unwrap();
        let l = f.layout();
        let grid = (10 * l.cell) as f64 * (10 * l.cell) as f64;
        let canvas = l.width as f64 * l.height as f64;
        assert!(
            grid / canvas > 0.45,
            "the grid fills {:.0}% of the canvas",
            100.0 * grid / canvas
        );
        for r in rects(&f.to_svg().unwrap()) {
            assert!(
                r.0 >= 0 && r.1 >= 0 && r.0 + r.2 <= l.width && r.1 + r.3 <= l.height,
                "{r:?}"
            );
        }
    }

    #[test]
    fn long_sentences_get_small_cells_and_vertical_labels() {
        let src: Vec<String> = (0..60).map(|k| format!("Wort{k}")).collect();
        let out: Vec<String> = (0..50).map(|k| format!("word{k}")).collect();
        let panel = Panel {
            title: "attention".into(),
            rows: 50,
            cols: 60,
            weights: vec![1.0 / 60.0; 3000],
        };
        let f = Figure::new("long", src, out, vec![panel], 1).unwrap();
        let l = f.layout();
        assert_eq!(l.cell, MIN_CELL);
        assert!(l.vertical_src);
        // Every label has its own row or column: 60 × 12 pixels of grid.
        assert!(l.width < 60 * MIN_CELL + 250, "width {}", l.width);
        let svg = f.to_svg().unwrap();
        assert_eq!(svg.matches("rotate(270").count(), 60);
        assert!(texts(&svg).iter().any(|x| x == "Wort59"));
        // Characters stay horizontal; only the wide "<eos>" beside them
        // turns.
        let chars = strings(&["2", "0", "1", "5", "<eos>"]);
        let panel = Panel {
            title: "attention".into(),
            rows: 1,
            cols: 5,
            weights: vec![0.2; 5],
        };
        let f = Figure::new("t", chars, strings(&["x"]), vec![panel], 1).unwrap();
        assert!(f.layout().vertical_src);
        assert_eq!(f.to_svg().unwrap().matches("rotate(270").count(), 1);
    }

    #[test]
    fn png_decodes_with_the_layout_size_and_weight_colours() {
        let f = figure();
        let l = f.layout();
        let pixmap = super::super::png::render(&f.to_svg().unwrap()).unwrap();
        let s = super::super::png::SCALE as i32;
        assert_eq!(
            (pixmap.width() as i32, pixmap.height() as i32),
            (l.width * s, l.height * s)
        );
        let at = |x: i32, y: i32| pixmap.pixel((x * s) as u32, (y * s) as u32).unwrap();
        for (p, panel) in f.panels.iter().enumerate() {
            for i in 0..panel.rows {
                for j in 0..panel.cols {
                    let (x, y) = l.cell_center(p, i, j);
                    let want = colour(panel.weights[i * panel.cols + j]);
                    let got = at(x, y);
                    assert_eq!(
                        (got.red(), got.green(), got.blue()),
                        (want.0, want.1, want.2),
                        "panel {p} cell ({i}, {j})"
                    );
                }
            }
        }
        // Labels are drawn: the band left of the first panel's grid has ink.
        let (x0, y0) = l.grid_origin(0);
        let ink = (0..x0)
            .flat_map(|x| (y0..y0 + l.cell).map(move |y| (x, y)))
            .filter(|&(x, y)| at(x, y).red() < 128)
            .count();
        assert!(ink > 5, "no label to the left of row 0");
    }

    #[test]
    fn mismatched_maps_are_refused() {
        let bad = Panel {
            title: "bad".into(),
            rows: 2,
            cols: 2,
            weights: vec![0.0; 4],
        };
        let e = Figure::new("t", strings(&["a", "b"]), strings(&["x"]), vec![bad], 1);
        assert!(e.unwrap_err().contains("2×2"));
        assert!(Figure::new("t", vec![], vec![], vec![], 1).is_err());
        assert_eq!(shorten("abc"), "abc");
        let s = shorten("internationalisation");
        assert_eq!(s.chars().count(), MAX_LABEL);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn panels_are_placed_in_rows() {
        let one = |t: &str| Panel {
            title: t.into(),
            rows: 1,
            cols: 2,
            weights: vec![0.3, 0.7],
        };
        let panels: Vec<Panel> = (0..5).map(|k| one(&format!("head {k}"))).collect();
        let f = Figure::new("t", strings(&["a", "b"]), strings(&["x"]), panels, 2).unwrap();
        let l = f.layout();
        let (c0, c2, c3) = (
            l.cell_center(0, 0, 0),
            l.cell_center(2, 0, 0),
            l.cell_center(3, 0, 0),
        );
        assert_eq!(c0.0, c2.0);
        assert_eq!(c2.1 - c0.1, l.panel_h);
        assert_eq!(c3.0 - c2.0, l.panel_w);
        assert!(l.height >= l.header + 3 * l.panel_h);
    }
}
