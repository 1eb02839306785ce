//! The blocked loop nest, the packing routines and the register-tile
//! micro-kernel behind [`super::sgemm`] (see the parent module for the design).
//! Everything here is generic over the SIMD token and inlined into the
//! per-ISA trampoline by `dispatch!`.

use super::{View, KC, MC, MR, NC};
use crate::simd::Simd;

#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn gemm_blocked<S: Simd>(
    s: S,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let nr = 2 * S::LANES;
    let kc_max = k.min(KC);
    let mut bpack = vec![0.0f32; kc_max * n.min(NC).next_multiple_of(nr)];
    let mut apack = vec![0.0f32; kc_max * m.min(MC).next_multiple_of(MR)];
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            pack(b.at(pc, jc), kc, nc, nr, true, &mut bpack);
            // Only the first slice of k sees the caller's beta.
            let beta_here = if pc == 0 { beta } else { 1.0 };
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                pack(a.at(ic, pc), mc, kc, MR, false, &mut apack);
                for jr in (0..nc).step_by(nr) {
                    let bs = &bpack[jr / nr * kc * nr..][..kc * nr];
                    for ir in (0..mc).step_by(MR) {
                        let as_ = &apack[ir / MR * kc * MR..][..kc * MR];
                        let tile = Tile {
                            row: ic + ir,
                            col: jc + jr,
                            rows: MR.min(mc - ir),
                            cols: nr.min(nc - jr),
                        };
                        micro_kernel(s, kc, as_, bs, alpha, beta_here, c, ldc, tile);
                    }
                }
            }
        }
    }
}

/// Pack a block into slivers of width `w` (zero-padded).
///
/// With `along_cols` (B): `x` is `rows(=kc) x cols(=nc)`, sliver `q` holds
/// columns `q*w..`, stored as `kc` rows of `w`. Otherwise (A): `x` is
/// `rows(=mc) x cols(=kc)`, sliver `q` holds rows `q*w..`, stored as `kc`
/// columns of `w`.
fn pack(x: View, rows: usize, cols: usize, w: usize, along_cols: bool, out: &mut [f32]) {
    let (depth, width) = if along_cols {
        (rows, cols)
    } else {
        (cols, rows)
    };
    for q in 0..width.div_ceil(w) {
        let sliver = &mut out[q * depth * w..(q + 1) * depth * w];
        let live = w.min(width - q * w);
        for (d, dst) in sliver.chunks_exact_mut(w).enumerate() {
            let (r, c, step) = if along_cols {
                (d, q * w, x.cs)
            } else {
                (q * w, d, x.rs)
            };
            let base = r * x.rs + c * x.cs;
            if step == 1 {
                dst[..live].copy_from_slice(&x.data[base..base + live]);
            } else {
                for (j, v) in dst[..live].iter_mut().enumerate() {
                    *v = x.data[base + j * step];
                }
            }
            dst[live..].fill(0.0);
        }
    }
}

/// Where a micro-tile sits in C and how much of it is real (edges are partial).
#[derive(Clone, Copy)]
struct Tile {
    row: usize,
    col: usize,
    rows: usize,
    cols: usize,
}

/// `C[tile] = alpha * (A sliver * B sliver) + beta * C[tile]`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn micro_kernel<S: Simd>(
    s: S,
    kc: usize,
    ap: &[f32],
    bp: &[f32],
    alpha: f32,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    t: Tile,
) {
    let l = S::LANES;
    let mut acc = [[s.zero(); 2]; MR];
    for (av, bv) in ap.chunks_exact(MR).zip(bp.chunks_exact(2 * l)).take(kc) {
        let b0 = s.load(bv);
        let b1 = s.load(&bv[l..]);
        for i in 0..MR {
            let x = s.splat(av[i]);
            acc[i][0] = s.mul_add(x, b0, acc[i][0]);
            acc[i][1] = s.mul_add(x, b1, acc[i][1]);
        }
    }
    let va = s.splat(alpha);
    let vb = s.splat(beta);
    for (i, row_acc) in acc.iter().enumerate().take(t.rows) {
        let row = &mut c[(t.row + i) * ldc + t.col..];
        for (h, &v) in row_acc.iter().enumerate() {
            let lo = h * l;
            if lo >= t.cols {
                break;
            }
            let n = l.min(t.cols - lo);
            let out = if beta == 0.0 {
                s.mul(v, va) // C is not read: it may hold NaN
            } else {
                s.mul_add(v, va, s.mul(s.load_n(&row[lo..], n, 0.0), vb))
            };
            if n == l {
                s.store(&mut row[lo..], out);
            } else {
                s.store_partial(&mut row[lo..lo + n], out);
            }
        }
    }
}
