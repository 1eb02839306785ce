//! What the unit tests of the figures read back from a drawn SVG: the
//! texts, an element's attributes, and colours as `plotters` writes them.
//! (The CLI tests read the files with `tests/common/figures.rs`.)

use plotters::style::RGBColor;

/// Every `<text>` element: the rest of its opening tag (its attributes)
/// and its text.
pub fn text_elements(svg: &str) -> Vec<(&str, String)> {
    svg.split("<text")
        .skip(1)
        .map(|t| {
            let (tag, rest) = t.split_at(t.find('>').unwrap());
            let body = &rest[1..];
            (
                tag,
                body[..body.find("</text>").unwrap()].trim().to_string(),
            )
        })
        .collect()
}

/// The text of every `<text>` element.
pub fn texts(svg: &str) -> Vec<String> {
    text_elements(svg).into_iter().map(|(_, t)| t).collect()
}

/// The value of attribute `name` in `element` (an element's source, from
/// its name on); a missing attribute fails the test.
pub fn attr(element: &str, name: &str) -> String {
    let at = element
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {element}"))
        + name.len()
        + 3;
    element[at..at + element[at..].find('"').unwrap()].to_string()
}

/// `c` as the SVG files write it: `#RRGGBB`.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}
