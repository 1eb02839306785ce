//! What every figure of the CLI is drawn with: an SVG canvas that `plotters`
//! draws on and that comes back as a document, and text styles in the
//! embedded font ([`super::font`]), anchored where a label needs them.

use super::font::FONT;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// What drawing on a canvas of backend `DB` returns.
pub type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The SVG document of a `width × height` canvas on which `draw` drew;
/// an error names `what` was being drawn ("the benchmark chart").
pub fn svg_document(
    (width, height): (u32, u32),
    what: &str,
    draw: impl FnOnce(
        &DrawingArea<SVGBackend, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<std::io::Error>>,
) -> Result<String, String> {
    let error = |e: DrawingAreaErrorKind<std::io::Error>| format!("cannot draw {what}: {e}");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        draw(&root).map_err(error)?;
        root.present().map_err(error)?;
    }
    Ok(svg)
}

/// Text in the embedded font at `plotters` size `size`, its anchor at
/// (`h`, `v`) of the text.
pub fn text_style(size: f64, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).pos(Pos::new(h, v))
}
