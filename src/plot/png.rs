//! PNG from SVG: every figure is drawn once, as SVG, and rasterised by
//! `resvg` when a PNG is asked for, so the two files cannot disagree.
//!
//! Text is set in the embedded font ([`super::font`]) and in nothing else:
//! the renderer is given no system fonts, so a PNG looks the same on every
//! machine, CI images without any font included.

use super::font::{DEJAVU_SANS, FAMILY};
use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg;

/// PNG pixels per SVG unit: figures are sized for the screen in SVG units,
/// and rasterised at twice that for sharp text.
pub const SCALE: f32 = 2.0;

/// `svg` drawn on a pixmap at [`SCALE`] pixels per unit.
pub fn render(svg: &str) -> Result<Pixmap, String> {
    let mut options = usvg::Options {
        font_family: FAMILY.into(),
        ..usvg::Options::default()
    };
    let fonts = options.fontdb_mut();
    fonts.load_font_data(DEJAVU_SANS.to_vec());
    fonts.set_sans_serif_family(FAMILY);
    let tree = usvg::Tree::from_str(svg, &options)
        .map_err(|e| format!("cannot read the figure's SVG: {e}"))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(SCALE)
        .ok_or("an empty figure")?;
    let mut pixmap = Pixmap::new(size.width(), size.height()).ok_or_else(|| {
        format!(
            "a figure of {}×{} pixels is too large",
            size.width(),
            size.height()
        )
    })?;
    resvg::render(
        &tree,
        Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap)
}

/// `svg` as a PNG file (8-bit RGBA).
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>, String> {
    render(svg)?
        .encode_png()
        .map_err(|e| format!("cannot encode the figure as PNG: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_drawn_with_the_embedded_font() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">
            <rect width="120" height="40" fill="white"/>
            <text x="10" y="28" font-family="DejaVu Sans, sans-serif" font-size="20">été →</text>
            </svg>"#;
        let pixmap = render(svg).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (240, 80));
        let dark = pixmap.pixels().iter().filter(|p| p.red() < 100).count();
        assert!(dark > 200, "no text drawn: {dark} dark pixels");
        // The same page without the text is white throughout.
        let blank = render(&svg.replace("été →", "")).unwrap();
        assert!(blank.pixels().iter().all(|p| p.red() == 255));
        let png = svg_to_png(svg).unwrap();
        let back = Pixmap::decode_png(&png).unwrap();
        assert_eq!(back.data(), pixmap.data());
    }

    #[test]
    fn broken_svg_is_an_error() {
        let e = render("<svg").unwrap_err();
        assert!(e.contains("SVG"), "{e}");
    }
}
