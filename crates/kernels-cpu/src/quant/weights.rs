//! Weights for the int8 kernels: [`QuantizedMatrix`] quantizes a weight
//! `[rows, cols]` per row and packs it in the order the kernels read it
//! (panels of 16 rows, groups of 4 columns; the layout is in `mod.rs`), and
//! `quantize_row_into` is the one rounding rule that weights and
//! activations share.

use super::{GROUP, INT8_MAX_DEPTH, PANEL};

/// A weight matrix `[rows, cols]` (a Linear layer's `[out, in]`) quantized to
/// int8 per row and packed for the kernels; immutable once built.
#[derive(Clone, Debug)]
pub struct QuantizedMatrix {
    pub(super) rows: usize,
    pub(super) cols: usize,
    /// `cols` rounded up to a multiple of [`GROUP`].
    pub(super) depth: usize,
    /// Per row `max|W_r·| / 127`; zero in the padding rows.
    pub(super) scales: Vec<f32>,
    /// Per row `Σ_p qw_rp`; zero in the padding rows.
    pub(super) row_sums: Vec<i32>,
    /// See the module header for the order.
    pub(super) packed: Vec<i8>,
}

impl QuantizedMatrix {
    /// Quantizes `w` (`rows x cols`, row-major) row by row.
    pub fn quantize(w: &[f32], rows: usize, cols: usize) -> QuantizedMatrix {
        assert_eq!(
            w.len(),
            rows * cols,
            "QuantizedMatrix::quantize: {} floats for a {rows} x {cols} matrix",
            w.len()
        );
        assert!(
            cols <= INT8_MAX_DEPTH,
            "QuantizedMatrix::quantize: {cols} columns; the i32 sums hold at most {INT8_MAX_DEPTH}"
        );
        let depth = cols.next_multiple_of(GROUP);
        let panels = rows.div_ceil(PANEL);
        let padded = panels * PANEL;
        let mut scales = vec![0.0f32; padded];
        let mut row_sums = vec![0i32; padded];
        let mut packed = vec![0i8; padded * depth];
        let mut q = vec![0i8; cols];
        for r in 0..rows {
            scales[r] = quantize_row_into(&w[r * cols..][..cols], &mut q, |v| v);
            row_sums[r] = q.iter().map(|&v| v as i32).sum();
            let (panel, lane) = (r / PANEL, r % PANEL);
            let base = panel * PANEL * depth;
            for (p, &v) in q.iter().enumerate() {
                let (g, t) = (p / GROUP, p % GROUP);
                packed[base + (g * PANEL + lane) * GROUP + t] = v;
            }
        }
        QuantizedMatrix {
            rows,
            cols,
            depth,
            scales,
            row_sums,
            packed,
        }
    }

    /// Output features (rows of W, columns of y).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input features (columns of W and of x).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The per-row scales `sw_r`.
    pub fn scales(&self) -> &[f32] {
        &self.scales[..self.rows]
    }

    /// The quantized weight `qw_rc`.
    pub fn get(&self, r: usize, c: usize) -> i8 {
        assert!(
            r < self.rows && c < self.cols,
            "QuantizedMatrix::get: ({r}, {c}) out of range"
        );
        let base = (r / PANEL) * PANEL * self.depth;
        self.packed[base + ((c / GROUP) * PANEL + r % PANEL) * GROUP + c % GROUP]
    }

    /// `sw_r · qw_rc` for every element: what the kernels multiply by.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for r in 0..self.rows {
            out.extend((0..self.cols).map(|c| self.scales[r] * self.get(r, c) as f32));
        }
        out
    }

    /// Bytes held (packed weights, scales and row sums).
    pub fn bytes(&self) -> usize {
        self.packed.len() + 4 * (self.scales.len() + self.row_sums.len())
    }

    pub(super) fn panels(&self) -> usize {
        self.scales.len() / PANEL
    }
}

/// Writes the symmetric quantization of `row`, mapped by `store`, into `q`
/// and returns its scale (0 for an all-zero row, NaN when the row holds a
/// NaN or an infinity; its values are then those of 0).
///
/// Written to vectorise inside a `#[target_feature]` trampoline: the largest
/// magnitude is an integer maximum over the bits of `|v|` (for finite
/// non-negative floats the order of the bits is the order of the values,
/// and NaN and infinity have the largest bits, which is also the test for
/// them), and the rounding of a finite value needs no saturating cast.
#[inline(always)]
pub(super) fn quantize_row_into<T>(row: &[f32], q: &mut [T], store: impl Fn(i8) -> T) -> f32 {
    let amax_bits = row
        .iter()
        .fold(0u32, |m, v| m.max(v.to_bits() & 0x7fff_ffff));
    if amax_bits >= f32::INFINITY.to_bits() {
        q.iter_mut().for_each(|q| *q = store(0));
        return f32::NAN;
    }
    let amax = f32::from_bits(amax_bits);
    let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
    for (q, &v) in q.iter_mut().zip(row) {
        let r = (v * inv).round_ties_even().clamp(-127.0, 127.0);
        // SAFETY: `r` is finite (so is the row) and within [-127, 127].
        *q = store(unsafe { r.to_int_unchecked::<i32>() } as i8);
    }
    amax / 127.0
}
