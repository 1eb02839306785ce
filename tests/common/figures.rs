//! What the CLI tests read back from the figures `s2s` writes: the texts,
//! polylines and size of an SVG file, whether its tags balance, and the
//! size, colours and ink of a PNG file.

use std::path::Path;

/// The text of every `<text>` element of an SVG.
pub fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|t| {
            let body = &t[t.find('>').unwrap() + 1..];
            body[..body.find("</text>").unwrap()].trim().to_string()
        })
        .collect()
}

/// The number of points of each polyline drawn in `stroke` (`#RRGGBB`).
pub fn svg_polylines(svg: &str, stroke: &str) -> Vec<usize> {
    let stroke = format!("stroke=\"{stroke}\"");
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

/// The width and height an SVG document declares.
pub fn svg_size(svg: &str) -> (u32, u32) {
    let head = &svg[..svg.find('>').unwrap()];
    let attr = |name: &str| -> u32 {
        let at = head.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        head[at..at + head[at..].find('"').unwrap()]
            .parse()
            .unwrap()
    };
    (attr("width"), attr("height"))
}

/// Checks that an SVG is one `<svg>` document whose every tag closes, in
/// order.
pub fn assert_balanced_svg(svg: &str) {
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let mut stack = Vec::new();
    for piece in svg.split('<').skip(1) {
        let tag = &piece[..piece.find('>').expect("a closed tag")];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.to_string()), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap().to_string());
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
}

/// A PNG file decoded.
pub struct PngSummary {
    pub width: u32,
    pub height: u32,
    /// The number of distinct pixel values.
    pub colours: usize,
    /// The share of pixels that are not white.
    pub inked: f64,
}

/// Decodes the PNG file at `path`.
pub fn png_summary(path: &Path) -> PngSummary {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).expect("PNG image data");
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()]
        .chunks(info.color_type.samples())
        .collect();
    let inked = pixels.iter().filter(|p| p[..3] != [255, 255, 255]).count();
    let mut colours = pixels.clone();
    colours.sort();
    colours.dedup();
    PngSummary {
        width: info.width,
        height: info.height,
        colours: colours.len(),
        inked: inked as f64 / pixels.len() as f64,
    }
}
