//! The AVX-512 VNNI int8 block kernel: `vpdpbusd` on `zmm` registers.
//!
//! `vpdpbusd acc, x, w` multiplies the 64 unsigned bytes of `x` by the 64
//! signed bytes of `w`, sums each lane's four products (exactly, in 32 bits)
//! and adds the sums to the 16 lanes of `acc`. A packed panel's group of four
//! input features is one `zmm` of 16 rows × 4 bytes; broadcasting a row of
//! x's matching four bytes to every lane makes one instruction compute 64
//! multiply-adds of a 1 × 16 tile.
//!
//! The register tile is `R ≤ 6` rows of x by `V ≤ 4` panels (64 columns of
//! y): 24 accumulators, 4 weight registers and a broadcast, 29 of the 32
//! `zmm`. Edge tiles use smaller `R` and `V`; the last panel's missing
//! columns are masked off in the stores.

use super::{Block, GROUP, PANEL, ZERO_POINT};
use std::arch::x86_64::*;

/// Rows of x per tile.
const ROWS: usize = 6;
/// Panels per tile.
const PANELS: usize = 4;

/// True when the CPU has the features [`block`] is compiled for.
pub(super) fn supported() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vnni")
}

/// Computes `block` (see `Block`).
///
/// # Safety
/// The CPU must support AVX-512F, BW and VNNI ([`supported`]); `block.y`
/// must point to an `m x n` buffer that no other thread writes in this
/// block's rows and panels.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn block(block: &Block) {
    let mut i = block.rows.start;
    while i < block.rows.end {
        let r = ROWS.min(block.rows.end - i);
        let mut p = block.panels.start;
        while p < block.panels.end {
            let v = PANELS.min(block.panels.end - p);
            // SAFETY: rows i..i + r and panels p..p + v lie inside the block.
            unsafe {
                match r {
                    1 => panels::<1>(block, i, p, v),
                    2 => panels::<2>(block, i, p, v),
                    3 => panels::<3>(block, i, p, v),
                    4 => panels::<4>(block, i, p, v),
                    5 => panels::<5>(block, i, p, v),
                    _ => panels::<6>(block, i, p, v),
                }
            }
            p += v;
        }
        i += r;
    }
}

/// The `R`-row tile over `v ≤ 4` panels.
#[inline(always)]
unsafe fn panels<const R: usize>(block: &Block, i: usize, p: usize, v: usize) {
    // SAFETY: forwarded from `block`.
    unsafe {
        match v {
            1 => tile::<R, 1>(block, i, p),
            2 => tile::<R, 2>(block, i, p),
            3 => tile::<R, 3>(block, i, p),
            _ => tile::<R, 4>(block, i, p),
        }
    }
}

/// y rows `i..i + R`, columns of panels `p..p + V`.
#[inline(always)]
unsafe fn tile<const R: usize, const V: usize>(block: &Block, i: usize, p: usize) {
    let depth = block.x.depth;
    let panel_len = PANEL * depth;
    let groups = depth / GROUP;
    // Bounds: the block's rows and panels exist, so these slices do.
    let x = &block.x.data[i * depth..(i + R) * depth];
    let w = &block.w.packed[p * panel_len..(p + V) * panel_len];
    let (x, w) = (x.as_ptr(), w.as_ptr());
    // SAFETY (loads): group g < depth / 4 of row d < R lies in `x`; group g
    // of panel v < V lies in `w` (64 bytes at v · panel_len + 64 g).
    unsafe {
        let mut acc = [[_mm512_setzero_si512(); V]; R];
        for g in 0..groups {
            let wv: [__m512i; V] = std::array::from_fn(|v| {
                _mm512_loadu_si512(w.add(v * panel_len + g * PANEL * GROUP) as *const __m512i)
            });
            for (d, acc) in acc.iter_mut().enumerate() {
                let four = (x.add(d * depth + g * GROUP) as *const i32).read_unaligned();
                let xv = _mm512_set1_epi32(four);
                for v in 0..V {
                    acc[v] = _mm512_dpbusd_epi32(acc[v], xv, wv[v]);
                }
            }
        }
        rescale_store::<R, V>(block, i, p, &acc);
    }
}

/// `y = (acc − 128 · rowsum) · (sx · sw) + b` for the tile, masked to the
/// columns that exist.
#[inline(always)]
unsafe fn rescale_store<const R: usize, const V: usize>(
    block: &Block,
    i: usize,
    p: usize,
    acc: &[[__m512i; V]; R],
) {
    let n = block.w.rows();
    for v in 0..V {
        let pp = p + v;
        let (sw, sums) = block.panel_scales(pp);
        let width = block.panel_width(pp);
        let mask: __mmask16 = (((1u32 << width) - 1) & 0xffff) as __mmask16;
        // SAFETY: `sw` and `sums` hold 16 values; the bias load and the
        // stores touch only the `width` columns that exist in `bias` and y
        // (masked lanes never fault), rows i + d < m.
        unsafe {
            let swv = _mm512_loadu_ps(sw.as_ptr());
            let shift = _mm512_mullo_epi32(
                _mm512_loadu_si512(sums.as_ptr() as *const __m512i),
                _mm512_set1_epi32(ZERO_POINT),
            );
            let bias = match block.bias {
                Some(b) => _mm512_maskz_loadu_ps(mask, b.as_ptr().add(pp * PANEL)),
                None => _mm512_setzero_ps(),
            };
            for (d, acc) in acc.iter().enumerate() {
                let sx = _mm512_set1_ps(block.x.scales[i + d]);
                let exact = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[v], shift));
                let y = _mm512_add_ps(_mm512_mul_ps(exact, _mm512_mul_ps(sx, swv)), bias);
                _mm512_mask_storeu_ps(block.y.0.add((i + d) * n + pp * PANEL), mask, y);
            }
        }
    }
}
