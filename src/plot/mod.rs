//! Figures the CLI draws: attention heatmaps and benchmark charts, drawn
//! as SVG with the `plotters` crate, and rendered to PNG from that SVG.
//! (The loss curve of a run is drawn by `seq2seq::train::svg`, since
//! training writes it.)
//!
//! * [`heatmap`]: one or more attention maps as a titled grid, with a
//!   colour bar.
//! * [`png`]: SVG → PNG with `resvg`.
//! * [`font`]: the embedded font the PNG text is set in, and label widths.
//! * [`canvas`]: the SVG canvas and the text styles every figure uses.

pub mod canvas;
pub mod font;
pub mod heatmap;
#[cfg(test)]
pub mod inspect;
pub mod png;
