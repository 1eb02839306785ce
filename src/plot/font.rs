//! The one font of every figure: a subset of DejaVu Sans embedded in the
//! binary (`assets/fonts/`, where its README says why and how it was cut).
//! The PNG renderer draws text with it, and the heatmap measures its labels
//! with it, so the space a layout leaves for a label is the space the label
//! takes in the PNG.

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

/// The TrueType file.
pub const DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");
/// Its family name, as the SVG files ask for it.
pub const FAMILY: &str = "DejaVu Sans";
/// The `font-family` of every text in our SVG files: the embedded font,
/// then whatever sans-serif a viewer without it has.
pub const FONT: &str = seq2seq::train::svg::FONT;

/// `plotters` writes a text of size `s` with `font-size="s / 1.24"`; the
/// pixel size of a text asked for at size `s` is therefore this.
pub fn pixels(plotters_size: f64) -> f64 {
    plotters_size / 1.24
}

/// The width in pixels of `text` set at `px` pixels per em (the sum of
/// the glyphs' advances; a character the font lacks counts as the width
/// of its empty box, which is what the renderer draws).
pub fn text_width(text: &str, px: f64) -> f64 {
    let font = FontRef::new(DEJAVU_SANS).expect("the embedded font parses");
    let metrics = font.glyph_metrics(Size::new(px as f32), LocationRef::default());
    let charmap = font.charmap();
    text.chars()
        .map(|c| {
            let glyph = charmap.map(c).unwrap_or_default();
            metrics.advance_width(glyph).unwrap_or(0.0) as f64
        })
        .sum()
}

/// The width in pixels of the widest of `labels` at `plotters` size
/// `size` (0 for no labels): the room a column of them needs.
pub fn widest<S: AsRef<str>>(labels: impl IntoIterator<Item = S>, size: f64) -> f64 {
    labels
        .into_iter()
        .map(|l| text_width(l.as_ref(), pixels(size)))
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_glyphs() {
        let (i, m) = (text_width("i", 20.0), text_width("m", 20.0));
        assert!(i > 2.0 && m > 2.0 * i, "i {i}, m {m}");
        assert!((text_width("mm", 20.0) - 2.0 * m).abs() < 1e-3);
        assert!((text_width("m", 40.0) - 2.0 * m).abs() < 1e-3);
        assert_eq!(text_width("", 20.0), 0.0);
        // Accents, the arrow and the word-start mark are in the font.
        let charmap = FontRef::new(DEJAVU_SANS).unwrap().charmap();
        for c in ['é', 'ß', '→', '…', '▁', 'λ'] {
            assert!(charmap.map(c).is_some(), "{c} missing");
        }
    }
}
