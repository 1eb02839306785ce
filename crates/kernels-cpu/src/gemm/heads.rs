//! Products per attention head, read and written where the heads lie.
//!
//! Multi-head attention works on `H` heads of width `d` that sit side by
//! side in the `E = H·d` features of a `[B, T, E]` tensor ("merged"), while
//! the scores of head `h` form a matrix of their own in `[B, H, L, S]`
//! ("split"). Moving the heads between the two layouts costs a full copy
//! of Q, K, V and the output each way, forward and backward. Here every
//! product of sequence `b` and head `h` reads its operands in whichever
//! layout they are stored: a merged operand is the column block `h·d..` of
//! the rows of sequence `b` (row stride `E`), a split one a whole matrix.

use super::sgemm;
use crate::par::worth_parallel;
use rayon::prelude::*;

/// Where matrix `(b, h)` of one operand of [`sgemm_heads`] lies in its
/// buffer: at `b * per_seq + h * per_head`, rows `ld` floats apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadMats {
    pub per_seq: usize,
    pub per_head: usize,
    pub ld: usize,
}

impl HeadMats {
    /// Heads side by side in the features of `[B, rows, heads * cols]`:
    /// matrix `(b, h)` is `rows x cols`, the columns `h * cols..` of
    /// sequence `b`.
    pub fn merged(rows: usize, heads: usize, cols: usize) -> HeadMats {
        HeadMats {
            per_seq: rows * heads * cols,
            per_head: cols,
            ld: heads * cols,
        }
    }

    /// One contiguous `rows x cols` matrix per head: `[B, heads, rows, cols]`.
    pub fn split(rows: usize, heads: usize, cols: usize) -> HeadMats {
        HeadMats {
            per_seq: heads * rows * cols,
            per_head: rows * cols,
            ld: cols,
        }
    }
}

/// `C_bh = alpha · op(A_bh) · op(B_bh)` for `seqs` sequences of `heads`
/// heads, each operand laid out as its [`HeadMats`] says; C is overwritten
/// (its matrices must not share elements). `op(A_bh)` is `m x k`, `op(B_bh)`
/// `k x n`, as in [`sgemm`]. Sequences run in parallel when the work is
/// large enough; each product is one `sgemm`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_heads(
    seqs: usize,
    heads: usize,
    (trans_a, trans_b): (bool, bool),
    [m, n, k]: [usize; 3],
    alpha: f32,
    (a, la): (&[f32], HeadMats),
    (b, lb): (&[f32], HeadMats),
    (c, lc): (&mut [f32], HeadMats),
) {
    if seqs == 0 || heads == 0 || m == 0 || n == 0 {
        return;
    }
    assert!(
        c.len() >= seqs * lc.per_seq,
        "sgemm_heads: C has {} floats, {seqs} sequences of {} expected",
        c.len(),
        lc.per_seq
    );
    let one_seq = |s: usize, cs: &mut [f32]| {
        for h in 0..heads {
            sgemm(
                trans_a,
                trans_b,
                m,
                n,
                k,
                alpha,
                &a[s * la.per_seq + h * la.per_head..],
                la.ld,
                &b[s * lb.per_seq + h * lb.per_head..],
                lb.ld,
                0.0,
                &mut cs[h * lc.per_head..],
                lc.ld,
            );
        }
    };
    let c = &mut c[..seqs * lc.per_seq];
    // In multiply-adds per element of an element-wise kernel's threshold:
    // a product is ~16 times denser work than a copy.
    if seqs > 1 && worth_parallel(seqs * heads * m * n * k.max(1) / 16) {
        c.par_chunks_mut(lc.per_seq)
            .enumerate()
            .for_each(|(s, cs)| one_seq(s, cs));
    } else {
        for (s, cs) in c.chunks_mut(lc.per_seq).enumerate() {
            one_seq(s, cs);
        }
    }
}
