//! The portable int8 block kernel: plain loops over the packed panels, for
//! any CPU. Four rows of x share each group of weights read, and the 16
//! accumulators of a panel row are an array LLVM may keep in vector
//! registers.

use super::{rescale, Block, GROUP, PANEL};

/// Rows of x per tile.
const ROWS: usize = 4;

/// Computes `block` (see `Block`).
///
/// # Safety
/// `block.y` must point to an `m x n` buffer that no other thread writes in
/// this block's rows and panels.
pub(super) unsafe fn block(block: &Block) {
    let n = block.w.rows();
    let mut i = block.rows.start;
    while i < block.rows.end {
        let r = ROWS.min(block.rows.end - i);
        for p in block.panels.clone() {
            let acc = tile(block, i, r, p);
            let (sw, sums) = block.panel_scales(p);
            let width = block.panel_width(p);
            for (di, acc) in acc.iter().take(r).enumerate() {
                let sx = block.x.scales[i + di];
                for j in 0..width {
                    let col = p * PANEL + j;
                    let b = block.bias.map_or(0.0, |b| b[col]);
                    let v = rescale(acc[j], sums[j], sx, sw[j], b);
                    // SAFETY: row i + di < m and column col < n lie in y,
                    // inside this block's tile (the caller's contract).
                    unsafe { *block.y.0.add((i + di) * n + col) = v };
                }
            }
        }
        i += r;
    }
}

/// `Σ_p ux_ip · qw_jp` for rows `i..i + r` (r ≤ ROWS) and panel `p`'s rows j.
fn tile(block: &Block, i: usize, r: usize, p: usize) -> [[i32; PANEL]; ROWS] {
    let panel = block.panel(p);
    let mut acc = [[0i32; PANEL]; ROWS];
    let rows: [&[u8]; ROWS] = std::array::from_fn(|d| block.x_row(i + d.min(r - 1)));
    for (g, w) in panel.chunks_exact(PANEL * GROUP).enumerate() {
        for d in 0..r {
            let x = &rows[d][g * GROUP..][..GROUP];
            for (j, w) in w.chunks_exact(GROUP).enumerate() {
                let dot: i32 = (0..GROUP).map(|t| x[t] as i32 * w[t] as i32).sum();
                acc[d][j] += dot;
            }
        }
    }
    acc
}
