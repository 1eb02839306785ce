//! The AVX2 int8 block kernel: bytes widened to 16 bits, `vpmaddwd`.
//!
//! AVX2 has no `vpdpbusd`, and its byte multiply `vpmaddubsw` adds pairs of
//! u8 × s8 products into *saturating* 16-bit lanes: 2 · 255 · 127 = 64770
//! does not fit, so it would be wrong for large activations. Instead both
//! sides are widened to 16 bits — the activations once per block, each
//! group of weights as it is loaded (`vpmovsxbw`) — and `vpmaddwd`
//! multiplies 16 pairs and adds each pair into a 32-bit lane, exactly.
//!
//! Half a panel (8 rows of W, 32 bytes per group) widens to two `ymm`: rows
//! 0–3 and rows 4–7, each row's four products landing in two adjacent
//! lanes, added together once at the end (`vphaddd` and a lane permute).
//! The register tile is `R ≤ 4` rows of x by 8 columns of y: 8
//! accumulators, 2 weight registers and a broadcast.

use super::{Block, GROUP, PANEL, ZERO_POINT};
use std::arch::x86_64::*;

/// Rows of x per tile.
const ROWS: usize = 4;
/// Columns of y per tile (half a panel).
const HALF: usize = PANEL / 2;

/// True when the CPU has the features [`block`] is compiled for.
pub(super) fn supported() -> bool {
    is_x86_feature_detected!("avx2")
}

/// Computes `block` (see `Block`).
///
/// # Safety
/// The CPU must support AVX2 ([`supported`]); `block.y` must point to an
/// `m x n` buffer that no other thread writes in this block's rows and panels.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn block(block: &Block) {
    let depth = block.x.depth;
    // The block's activations as 16-bit lanes, widened once.
    let start = block.rows.start * depth;
    let wide: Vec<i16> = block.x.data[start..block.rows.end * depth]
        .iter()
        .map(|&u| u as i16)
        .collect();
    let mut i = block.rows.start;
    while i < block.rows.end {
        let r = ROWS.min(block.rows.end - i);
        let x = &wide[(i - block.rows.start) * depth..][..r * depth];
        for p in block.panels.clone() {
            for half in 0..block.panel_width(p).div_ceil(HALF) {
                // SAFETY: rows i..i + r (held in `x`) and panel p lie inside the block.
                unsafe {
                    match r {
                        1 => tile::<1>(block, x, i, p, half),
                        2 => tile::<2>(block, x, i, p, half),
                        3 => tile::<3>(block, x, i, p, half),
                        _ => tile::<4>(block, x, i, p, half),
                    }
                }
            }
        }
        i += r;
    }
}

/// y rows `i..i + R`, columns `16 p + 8 half ..` (8 or fewer).
#[inline(always)]
unsafe fn tile<const R: usize>(block: &Block, x: &[i16], i: usize, p: usize, half: usize) {
    let depth = block.x.depth;
    let groups = depth / GROUP;
    let w = block.panel(p).as_ptr();
    let x = x[..R * depth].as_ptr();
    // SAFETY (loads): group g of row d < R lies in `x` (8 bytes at
    // 2 (d · depth + 4 g)); half `half` of group g lies in the panel
    // (32 bytes at 64 g + 32 half).
    unsafe {
        let mut lo = [_mm256_setzero_si256(); R];
        let mut hi = [_mm256_setzero_si256(); R];
        for g in 0..groups {
            let wg = w.add(g * PANEL * GROUP + half * HALF * GROUP);
            let w_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(wg as *const __m128i));
            let w_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(wg.add(16) as *const __m128i));
            for d in 0..R {
                let four = (x.add(d * depth + g * GROUP) as *const i64).read_unaligned();
                let xv = _mm256_set1_epi64x(four);
                lo[d] = _mm256_add_epi32(lo[d], _mm256_madd_epi16(xv, w_lo));
                hi[d] = _mm256_add_epi32(hi[d], _mm256_madd_epi16(xv, w_hi));
            }
        }
        // Lane pairs → one sum per row of W: hadd gives rows 0 1 4 5 2 3 6 7.
        let acc: [__m256i; R] = std::array::from_fn(|d| {
            _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(lo[d], hi[d]))
        });
        rescale_store::<R>(block, i, p, half, &acc);
    }
}

/// `y = (acc − 128 · rowsum) · (sx · sw) + b` for the tile's columns that exist.
#[inline(always)]
unsafe fn rescale_store<const R: usize>(
    block: &Block,
    i: usize,
    p: usize,
    half: usize,
    acc: &[__m256i; R],
) {
    let n = block.w.rows();
    let (sw, sums) = block.panel_scales(p);
    let (sw, sums) = (&sw[half * HALF..][..HALF], &sums[half * HALF..][..HALF]);
    let col = p * PANEL + half * HALF;
    let width = HALF.min(n - col);
    // SAFETY: `sw` and `sums` hold 8 values; full-width stores and bias loads
    // touch columns col..col + 8 ≤ n of rows i + d < m; narrower ones go
    // through `tmp`.
    unsafe {
        let swv = _mm256_loadu_ps(sw.as_ptr());
        let shift = _mm256_mullo_epi32(
            _mm256_loadu_si256(sums.as_ptr() as *const __m256i),
            _mm256_set1_epi32(ZERO_POINT),
        );
        for (d, acc) in acc.iter().enumerate() {
            let sx = _mm256_set1_ps(block.x.scales[i + d]);
            let exact = _mm256_cvtepi32_ps(_mm256_sub_epi32(*acc, shift));
            let scaled = _mm256_mul_ps(exact, _mm256_mul_ps(sx, swv));
            let out = block.y.0.add((i + d) * n + col);
            if width == HALF {
                let bias = match block.bias {
                    Some(b) => _mm256_loadu_ps(b.as_ptr().add(col)),
                    None => _mm256_setzero_ps(),
                };
                _mm256_storeu_ps(out, _mm256_add_ps(scaled, bias));
            } else {
                let mut tmp = [0.0f32; HALF];
                _mm256_storeu_ps(tmp.as_mut_ptr(), scaled);
                for (j, t) in tmp.iter().take(width).enumerate() {
                    *out.add(j) = t + block.bias.map_or(0.0, |b| b[col + j]);
                }
            }
        }
    }
}
