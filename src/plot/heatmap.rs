//! Attention heatmaps, drawn the way Bahdanau, Cho & Bengio (2014, Fig. 3)
//! show their alignments: the source sentence along the top, the output
//! down the left side, and one greyscale cell per (output step i, source
//! token j) whose brightness is the attention weight
//!
//! ```text
//!   α_ij = softmax_j(e_ij)      0 → black, 1 → white
//! ```
//!
//! The shade is absolute (a weight of 0.5 is always mid-grey), not
//! stretched per map: every row of α sums to one, so absolute shades let
//! maps be compared — a diffuse head looks grey, a sharp one has a white
//! cell per row. A [`Figure`] holds several maps over the same sentence (a
//! Transformer has one per decoder layer × head) laid out as a titled grid,
//! `columns` panels to a row; each panel repeats the labels, so any panel
//! can be read alone.
//!
//! One [`Layout`] places everything, in base pixels; [`Figure::to_svg`]
//! writes it as hand-made SVG (labels escaped) and [`Figure::to_png`] draws
//! it on a [`Canvas`] with the 8×8 bitmap font, enlarged [`SCALE`] times.
//! Both renderings therefore agree cell for cell.

use super::raster::{Canvas, GLYPH};
use std::fmt::Write;

/// Side of one heatmap cell, in base pixels.
const CELL: usize = 12;
/// Space around a panel and around the figure's title.
const PAD: usize = 6;
/// Labels longer than this many characters are shortened with "…".
const MAX_LABEL: usize = 14;
/// Base pixels → output pixels (PNG pixels, SVG user units).
pub const SCALE: usize = 2;
/// Grey of the frame around each map: visible against white and black cells.
const FRAME: u8 = 128;

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

/// Where everything goes, in base pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Whole figure.
    pub width: usize,
    pub height: usize,
    /// Height of the figure's title and legend band.
    header: usize,
    /// One panel.
    panel_w: usize,
    panel_h: usize,
    /// Inside a panel: the band for the rotated source labels, the band for
    /// the output labels, and the panel title.
    top_band: usize,
    left_band: usize,
    title_band: usize,
    columns: usize,
}

impl Layout {
    /// Top-left corner of the cell grid of panel `p`.
    fn grid_origin(&self, p: usize) -> (usize, usize) {
        let (col, row) = (p % self.columns, p / self.columns);
        (
            col * self.panel_w + PAD + self.left_band,
            self.header + row * self.panel_h + PAD + self.title_band + self.top_band,
        )
    }

    /// Centre of cell (`i`, `j`) of panel `p`, in output pixels.
    #[cfg(test)]
    pub fn cell_center(&self, p: usize, i: usize, j: usize) -> (usize, usize) {
        let (x0, y0) = self.grid_origin(p);
        (
            (x0 + j * CELL + CELL / 2) * SCALE,
            (y0 + i * CELL + CELL / 2) * SCALE,
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

/// Weight → grey level: 0 black, 1 white; out-of-range values are clamped
/// and NaN shows as black (no attention to speak of).
pub fn shade(w: f32) -> u8 {
    match w.is_nan() {
        true => 0,
        false => (w.clamp(0.0, 1.0) * 255.0).round() as u8,
    }
}

/// Text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
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
        let chars = |labels: &[String]| labels.iter().map(|l| l.chars().count()).max();
        let top_band = chars(&self.src).unwrap_or(0) * GLYPH + 6;
        let left_band = chars(&self.out).unwrap_or(0) * GLYPH + 6;
        let title_band = GLYPH + 6;
        let cols = self.panels[0].cols;
        let rows = self.panels[0].rows;
        let panel_title = self.panels.iter().map(|p| p.title.chars().count()).max();
        let panel_w = (left_band + cols * CELL).max(panel_title.unwrap_or(0) * GLYPH) + 2 * PAD;
        let panel_h = title_band + top_band + rows * CELL + 2 * PAD;
        let header = PAD + 2 * (GLYPH + 4) + PAD;
        let grid_rows = self.panels.len().div_ceil(self.columns);
        let title_w = self.title.chars().count().max(LEGEND.len()) * GLYPH + 2 * PAD;
        Layout {
            width: (self.columns * panel_w).max(title_w),
            height: header + grid_rows * panel_h,
            header,
            panel_w,
            panel_h,
            top_band,
            left_band,
            title_band,
            columns: self.columns,
        }
    }

    /// Calls the drawing callbacks for every element, in base pixels. Both
    /// renderings go through here, so they cannot disagree on placement.
    fn draw(&self, d: &mut dyn Draw) {
        let l = self.layout();
        d.text(PAD, PAD, &self.title, Anchor::Start);
        d.text(PAD, PAD + GLYPH + 4, LEGEND, Anchor::Start);
        for (p, panel) in self.panels.iter().enumerate() {
            let (x0, y0) = l.grid_origin(p);
            let grid_w = panel.cols * CELL;
            let title_y = y0 - l.top_band - l.title_band;
            d.text(x0 + grid_w / 2, title_y, &panel.title, Anchor::Middle);
            for (j, label) in self.src.iter().enumerate() {
                d.text_up(x0 + j * CELL + (CELL - GLYPH) / 2, y0 - 3, label);
            }
            for (i, label) in self.out.iter().enumerate() {
                d.text(
                    x0 - 4,
                    y0 + i * CELL + (CELL - GLYPH) / 2,
                    label,
                    Anchor::End,
                );
            }
            for i in 0..panel.rows {
                for j in 0..panel.cols {
                    let w = panel.weights[i * panel.cols + j];
                    let hint = format!("{} → {}: {w:.3}", self.src[j], self.out[i]);
                    d.cell(x0 + j * CELL, y0 + i * CELL, shade(w), &hint);
                }
            }
            d.frame(x0, y0, grid_w, panel.rows * CELL);
        }
    }

    /// The figure as an SVG document.
    pub fn to_svg(&self) -> String {
        let l = self.layout();
        let (w, h) = (l.width * SCALE, l.height * SCALE);
        let mut svg = Svg(String::new());
        let _ = writeln!(
            svg.0,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="monospace" font-size="{FONT_PX}">"#
        );
        let _ = writeln!(svg.0, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        self.draw(&mut svg);
        svg.0.push_str("</svg>\n");
        svg.0
    }

    /// The figure as a PNG file (8-bit greyscale).
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        self.to_canvas().to_png()
    }

    /// The figure drawn on a canvas, at output size.
    pub fn to_canvas(&self) -> Canvas {
        let l = self.layout();
        let mut canvas = Canvas::new(l.width, l.height, 255);
        self.draw(&mut canvas);
        canvas.upscale(SCALE)
    }
}

/// The line under the figure title.
const LEGEND: &str = "attention weight: black 0 … white 1";
/// SVG font size: a monospace glyph is about 0.6 em wide, which keeps
/// labels inside the 8-pixel-per-character bands the layout reserves.
const FONT_PX: usize = GLYPH * SCALE * 4 / 5;

/// Horizontal alignment of a text at its x.
#[derive(Clone, Copy)]
enum Anchor {
    Start,
    Middle,
    End,
}

/// What [`Figure::draw`] needs from a renderer. Coordinates are base
/// pixels; a text's y is the top of its glyphs.
trait Draw {
    fn text(&mut self, x: usize, y: usize, text: &str, anchor: Anchor);
    /// Text reading bottom-up, (x, y) the bottom-left of its first glyph.
    fn text_up(&mut self, x: usize, y: usize, text: &str);
    fn cell(&mut self, x: usize, y: usize, grey: u8, hint: &str);
    fn frame(&mut self, x: usize, y: usize, w: usize, h: usize);
}

struct Svg(String);

impl Draw for Svg {
    fn text(&mut self, x: usize, y: usize, text: &str, anchor: Anchor) {
        if text.is_empty() {
            return;
        }
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        // The baseline sits near the bottom of the 8-pixel glyph box.
        let _ = writeln!(
            self.0,
            r#"<text x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
            x * SCALE,
            (y + GLYPH - 1) * SCALE,
            escape(text)
        );
    }

    fn text_up(&mut self, x: usize, y: usize, text: &str) {
        let _ = writeln!(
            self.0,
            r#"<text transform="translate({} {}) rotate(-90)">{}</text>"#,
            (x + GLYPH - 1) * SCALE,
            y * SCALE,
            escape(text)
        );
    }

    fn cell(&mut self, x: usize, y: usize, grey: u8, hint: &str) {
        let _ = writeln!(
            self.0,
            r#"<rect x="{}" y="{}" width="{s}" height="{s}" fill="rgb({grey},{grey},{grey})"><title>{}</title></rect>"#,
            x * SCALE,
            y * SCALE,
            escape(hint),
            s = CELL * SCALE,
        );
    }

    fn frame(&mut self, x: usize, y: usize, w: usize, h: usize) {
        let _ = writeln!(
            self.0,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="rgb({FRAME},{FRAME},{FRAME})"/>"#,
            x * SCALE,
            y * SCALE,
            w * SCALE,
            h * SCALE
        );
    }
}

impl Draw for Canvas {
    fn text(&mut self, x: usize, y: usize, text: &str, anchor: Anchor) {
        let width = text.chars().count() * GLYPH;
        let x = match anchor {
            Anchor::Start => x as i64,
            Anchor::Middle => x as i64 - width as i64 / 2,
            Anchor::End => x as i64 - width as i64,
        };
        Canvas::text(self, x, y as i64, text, 0);
    }

    fn text_up(&mut self, x: usize, y: usize, text: &str) {
        Canvas::text_up(self, x as i64, y as i64, text, 0);
    }

    fn cell(&mut self, x: usize, y: usize, grey: u8, _hint: &str) {
        self.fill_rect(x as i64, y as i64, CELL, CELL, grey);
    }

    fn frame(&mut self, x: usize, y: usize, w: usize, h: usize) {
        self.stroke_rect(x as i64 - 1, y as i64 - 1, w + 2, h + 2, FRAME);
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn svg_is_well_formed_with_escaped_labels() {
        let svg = figure().to_svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        check_xml(&svg);
        assert!(svg.contains("&lt;&amp;&quot;&gt;"), "{svg}");
        assert!(svg.contains("Tom &amp; &quot;Marie&quot; &lt;3"));
        assert!(svg.contains("l&apos;été") && svg.contains("&lt;eos&gt;"));
        assert!(svg.contains(">layer 1, head 2<"));
        // The checker itself rejects what it should.
        for bad in ["<a><b></a></b>", "<a>x < y</a>", "<a t=\"&x\"/>", "<a>"] {
            assert!(
                std::panic::catch_unwind(|| check_xml(bad)).is_err(),
                "{bad} passed"
            );
        }
    }

    #[test]
    fn svg_cells_follow_the_weights() {
        let f = figure();
        let svg = f.to_svg();
        let fills: Vec<u8> = svg
            .lines()
            .filter(|l| l.starts_with("<rect x") && l.contains("<title>"))
            .map(|l| {
                let rgb = &l[l.find("rgb(").unwrap() + 4..];
                rgb[..rgb.find(',').unwrap()].parse().unwrap()
            })
            .collect();
        let weights: Vec<f32> = f.panels.iter().flat_map(|p| p.weights.clone()).collect();
        assert_eq!(fills, weights.iter().map(|&w| shade(w)).collect::<Vec<_>>());
        assert_eq!(&fills[..3], &[255, 0, 0]);
        assert_eq!(fills[4], 128); // 0.5 → mid-grey
                                   // Each cell carries its weight as a tooltip.
        assert!(svg.contains("<title>l&apos;été → summer: 1.000</title>"));
    }

    #[test]
    fn png_decodes_with_the_layout_size_and_weight_shades() {
        let f = figure();
        let bytes = f.to_png().unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let l = f.layout();
        assert_eq!(
            (info.width as usize, info.height as usize),
            (l.width * SCALE, l.height * SCALE)
        );
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let w = info.width as usize;
        for (p, panel) in f.panels.iter().enumerate() {
            for i in 0..panel.rows {
                for j in 0..panel.cols {
                    let (x, y) = l.cell_center(p, i, j);
                    let want = shade(panel.weights[i * panel.cols + j]);
                    assert_eq!(buf[y * w + x], want, "panel {p} cell ({i}, {j})");
                }
            }
        }
        // Labels are drawn: the band left of the first panel's grid has ink.
        let (x0, y0) = l.cell_center(0, 0, 0);
        let ink = (0..x0 - CELL * SCALE)
            .filter(|&x| (y0 - 8..y0 + 8).any(|y| buf[y * w + x] == 0))
            .count();
        assert!(ink > 10, "no label to the left of row 0");
    }

    #[test]
    fn grid_places_panels_in_rows_and_rejects_mismatched_maps() {
        let one = |t: &str| Panel {
            title: t.into(),
            rows: 1,
            cols: 2,
            weights: vec![0.3, 0.7],
        };
        let panels: Vec<Panel> = (0..5).map(|k| one(&format!("head {k}"))).collect();
        let f = Figure::new("t", strings(&["a", "b"]), strings(&["x"]), panels, 2).unwrap();
        let l = f.layout();
        // Five panels two to a row: three grid rows, panel 2 under panel 0.
        assert_eq!(l.height, l.header + 3 * l.panel_h);
        let (c0, c2, c3) = (
            l.cell_center(0, 0, 0),
            l.cell_center(2, 0, 0),
            l.cell_center(3, 0, 0),
        );
        assert_eq!(c0.0, c2.0);
        assert_eq!(c2.1 - c0.1, l.panel_h * SCALE);
        assert_eq!(c3.0 - c2.0, l.panel_w * SCALE);
        let bad = Panel {
            title: "bad".into(),
            rows: 2,
            cols: 2,
            weights: vec![0.0; 4],
        };
        let e = Figure::new("t", strings(&["a", "b"]), strings(&["x"]), vec![bad], 1);
        assert!(e.unwrap_err().contains("2×2"));
        assert!(Figure::new("t", vec![], vec![], vec![], 1).is_err());
    }

    #[test]
    fn long_labels_are_shortened_and_shades_clamped() {
        assert_eq!(shorten("abc"), "abc");
        let s = shorten("internationalisation");
        assert_eq!(s.chars().count(), MAX_LABEL);
        assert!(s.ends_with('…'));
        assert_eq!((shade(-0.5), shade(2.0), shade(f32::NAN)), (0, 255, 0));
    }
}
