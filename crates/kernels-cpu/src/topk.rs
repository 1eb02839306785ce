//! The k best entries of each row, best first, the lower index first on
//! ties; a non-finite entry ranks below every finite one and is returned as
//! [`TOPK_NONE`]. The GPU's `topk_rows` gives the same numbers; beam search
//! takes its candidates from here instead of reading whole rows.

/// A non-finite entry's value in the output: finite, so both devices
/// return the same number (WGSL promises nothing about infinities).
pub const TOPK_NONE: f32 = -3.0e38;

/// `values[r, j]`, `indices[r, j]` (as f32) of the j-th best entry of row r
/// of `x` `[rows, cols]`, for j < k ≤ cols. One pass per row keeping a short
/// sorted list: k is a beam's width, the rows a vocabulary.
pub fn topk_rows(x: &[f32], cols: usize, k: usize, values: &mut [f32], indices: &mut [f32]) {
    assert!(k >= 1 && k <= cols, "topk_rows: k = {k} for rows of {cols}");
    let rows = x.len() / cols;
    assert!(values.len() == rows * k && indices.len() == rows * k);
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    for (r, row) in x.chunks_exact(cols).enumerate() {
        best.clear();
        for (c, &v) in row.iter().enumerate() {
            let v = if v.is_finite() { v } else { TOPK_NONE };
            if best.len() == k && v <= best[k - 1].1 {
                continue;
            }
            // after every entry ≥ v: lower indices win ties
            let at = best.partition_point(|&(_, w)| w >= v);
            best.insert(at, (c as u32, v));
            best.truncate(k);
        }
        for (j, &(c, v)) in best.iter().enumerate() {
            values[r * k + j] = v;
            indices[r * k + j] = c as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_first_lower_index_on_ties_non_finite_last() {
        let x = [1.0, f32::NAN, 3.0, 3.0, f32::NEG_INFINITY, -2.0];
        let (mut v, mut i) = ([0.0; 5], [0.0; 5]);
        topk_rows(&x, 6, 5, &mut v, &mut i);
        assert_eq!(i, [2.0, 3.0, 0.0, 5.0, 1.0]);
        assert_eq!(v, [3.0, 3.0, 1.0, -2.0, TOPK_NONE]);
    }
}
