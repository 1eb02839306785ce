//! A greyscale pixel canvas, just enough to draw a heatmap: filled
//! rectangles, text in an 8×8 bitmap font, and encoding as PNG.
//!
//! Pixels are bytes, 0 = black and 255 = white, row-major from the top-left
//! corner. Text uses the public-domain font8x8 glyphs (Basic Latin, Latin-1
//! — so French accents render — block elements such as `▁`, Greek and box
//! drawing); a character outside those is drawn as an empty box, so a
//! missing glyph is visible rather than silently dropped. In a glyph, byte
//! `r` is pixel row `r` and bit `c` (least significant first) is column `c`.
//!
//! The PNG is 8-bit greyscale (colour type 0), encoded by the `png` crate.

use font8x8::{UnicodeFonts, BASIC_FONTS, BLOCK_FONTS, BOX_FONTS, GREEK_FONTS, LATIN_FONTS};

/// Glyph width and height in pixels.
pub const GLYPH: usize = 8;

/// The 8×8 bitmap of `c`, or an empty box when the font lacks it.
pub fn glyph(c: char) -> [u8; 8] {
    match c {
        // "…", which ends a shortened label: three dots on the baseline.
        '\u{2026}' => return [0, 0, 0, 0, 0, 0x49, 0x49, 0],
        // "→", between source and translation in a figure title.
        '\u{2192}' => return [0, 0x10, 0x20, 0x7F, 0x20, 0x10, 0, 0],
        _ => {}
    }
    BASIC_FONTS
        .get(c)
        .or_else(|| LATIN_FONTS.get(c))
        .or_else(|| BLOCK_FONTS.get(c))
        .or_else(|| GREEK_FONTS.get(c))
        .or_else(|| BOX_FONTS.get(c))
        .unwrap_or([0x00, 0x7E, 0x42, 0x42, 0x42, 0x42, 0x7E, 0x00])
}

/// A greyscale image being drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    /// `width × height` grey levels, row-major.
    pub pixels: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `grey`.
    pub fn new(width: usize, height: usize, grey: u8) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![grey; width * height],
        }
    }

    /// The grey level at (`x`, `y`).
    pub fn get(&self, x: usize, y: usize) -> u8 {
        self.pixels[y * self.width + x]
    }

    /// Sets one pixel; coordinates outside the canvas are ignored, so text
    /// that runs over an edge is clipped instead of wrapping around.
    pub fn set(&mut self, x: i64, y: i64, grey: u8) {
        if (0..self.width as i64).contains(&x) && (0..self.height as i64).contains(&y) {
            self.pixels[y as usize * self.width + x as usize] = grey;
        }
    }

    /// Fills the `w × h` rectangle whose top-left corner is (`x`, `y`).
    pub fn fill_rect(&mut self, x: i64, y: i64, w: usize, h: usize, grey: u8) {
        for dy in 0..h as i64 {
            for dx in 0..w as i64 {
                self.set(x + dx, y + dy, grey);
            }
        }
    }

    /// The outline of the `w × h` rectangle at (`x`, `y`), one pixel wide.
    pub fn stroke_rect(&mut self, x: i64, y: i64, w: usize, h: usize, grey: u8) {
        self.fill_rect(x, y, w, 1, grey);
        self.fill_rect(x, y + h as i64 - 1, w, 1, grey);
        self.fill_rect(x, y, 1, h, grey);
        self.fill_rect(x + w as i64 - 1, y, 1, h, grey);
    }

    /// Writes `text` left to right with its first glyph's top-left corner
    /// at (`x`, `y`); only the set bits of each glyph are painted.
    pub fn text(&mut self, x: i64, y: i64, text: &str, grey: u8) {
        for (k, c) in text.chars().enumerate() {
            let rows = glyph(c);
            for (gy, bits) in rows.iter().enumerate() {
                for gx in 0..GLYPH {
                    if bits >> gx & 1 == 1 {
                        self.set(x + (k * GLYPH + gx) as i64, y + gy as i64, grey);
                    }
                }
            }
        }
    }

    /// Writes `text` rotated a quarter turn anticlockwise, reading from the
    /// bottom up, starting at (`x`, `y`) — the bottom-left corner of the
    /// first glyph as the reader sees it. The text's "right" is the canvas's
    /// up (−y) and its "down" the canvas's right (+x), so glyph pixel
    /// (gx, gy) of character k lands at (x + gy, y − 8k − gx).
    pub fn text_up(&mut self, x: i64, y: i64, text: &str, grey: u8) {
        for (k, c) in text.chars().enumerate() {
            let rows = glyph(c);
            for (gy, bits) in rows.iter().enumerate() {
                for gx in 0..GLYPH {
                    if bits >> gx & 1 == 1 {
                        self.set(x + gy as i64, y - (k * GLYPH + gx) as i64, grey);
                    }
                }
            }
        }
    }

    /// The canvas enlarged `factor` times, each pixel becoming a
    /// `factor × factor` square (crisp edges, as a bitmap font wants).
    pub fn upscale(&self, factor: usize) -> Canvas {
        let mut out = Canvas::new(self.width * factor, self.height * factor, 255);
        for y in 0..out.height {
            for x in 0..out.width {
                out.pixels[y * out.width + x] = self.get(x / factor, y / factor);
            }
        }
        out
    }

    /// The canvas as a PNG file (8-bit greyscale).
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bytes, self.width as u32, self.height as u32);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header()?;
            writer.write_image_data(&self.pixels)?;
            writer.finish()?;
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a PNG back into (width, height, grey pixels).
    fn decode(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut buf).expect("the image data");
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    #[test]
    fn png_round_trips_through_the_png_decoder() {
        let mut c = Canvas::new(13, 7, 255);
        c.fill_rect(2, 1, 3, 4, 0);
        c.set(12, 6, 100);
        c.set(13, 0, 0); // outside: ignored
        let bytes = c.to_png().unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let (w, h, pixels) = decode(&bytes);
        assert_eq!((w, h), (13, 7));
        assert_eq!(pixels, c.pixels);
        assert_eq!(c.get(3, 2), 0);
        assert_eq!(c.get(5, 2), 255);
        assert_eq!(c.get(12, 6), 100);
    }

    #[test]
    fn glyphs_cover_latin1_and_draw_where_expected() {
        // Every printable Latin-1 letter has a real glyph, not the fallback box.
        let fallback = glyph('\u{4e2d}');
        for c in "AZaz09éèàçùÉ?!.,'▁…→".chars() {
            assert_ne!(glyph(c), fallback, "{c:?} is missing from the font");
            assert!(glyph(c).iter().any(|&r| r != 0), "{c:?} is blank");
        }
        // "I" drawn horizontally and rotated paints the same number of pixels,
        // and the rotated copy is the transpose (mirrored) of the upright one.
        let mut up = Canvas::new(8, 8, 255);
        up.text(0, 0, "L", 0);
        let mut rot = Canvas::new(8, 8, 255);
        rot.text_up(0, 7, "L", 0);
        let dark = |c: &Canvas| c.pixels.iter().filter(|&&p| p == 0).count();
        assert_eq!(dark(&up), dark(&rot));
        assert!(dark(&up) > 5);
        for gy in 0..8 {
            for gx in 0..8 {
                assert_eq!(up.get(gx, gy), rot.get(gy, 7 - gx), "pixel ({gx}, {gy})");
            }
        }
        // The vertical stroke of "L" is on the left of the upright glyph.
        let left: usize = (0..8)
            .filter(|&y| up.get(1, y) == 0 || up.get(2, y) == 0)
            .count();
        let right: usize = (0..8).filter(|&y| up.get(6, y) == 0).count();
        assert!(left > right, "{:?}", up.pixels);
    }

    #[test]
    fn upscale_repeats_pixels() {
        let mut c = Canvas::new(2, 1, 255);
        c.set(1, 0, 0);
        let big = c.upscale(3);
        assert_eq!((big.width, big.height), (6, 3));
        for y in 0..3 {
            assert_eq!(&big.pixels[y * 6..y * 6 + 6], &[255, 255, 255, 0, 0, 0]);
        }
    }
}
