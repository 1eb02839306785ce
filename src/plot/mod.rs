//! Figures the CLI draws itself: attention heatmaps, as SVG (text, written
//! by hand) and PNG (a greyscale raster with an embedded 8×8 bitmap font).
//!
//! * [`heatmap`]: the figure — one or more attention maps laid out as a
//!   titled grid, and its two renderings.
//! * [`raster`]: the pixel canvas behind the PNG: rectangles, 8×8 glyphs
//!   (horizontal and rotated) and the PNG encoding.

pub mod heatmap;
pub mod raster;
