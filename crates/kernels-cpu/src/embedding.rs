//! Row gathers and scatter-adds: embedding lookup and `index_select`, with
//! their gradients.
//!
//! Ids travel as `f32` holding exact integers and are bounds-checked here
//! (a bad id panics with a message rather than reading out of bounds).
//! Gathers are pure copies and run in parallel over output rows. Scatter-adds
//! may hit the same destination row twice (a repeated token), so they run on
//! one thread in id order: deterministic, and the work (one vector add per
//! gradient element) is small next to the matmuls that produced the gradient.

use crate::isa::isa;
use crate::par::{rows_per_task, worth_parallel};
use crate::simd::{dispatch, Simd};
use crate::softmax::{put, vectors};
use rayon::prelude::*;

#[inline]
fn id_at(ids: &[f32], i: usize, limit: usize, what: &str) -> usize {
    let id = ids[i];
    assert!(
        id >= 0.0 && (id as usize) < limit && id.fract() == 0.0,
        "{what}: id {id} out of range 0..{limit}"
    );
    id as usize
}

/// `out[i, :] = table[ids[i], :]`.
pub fn gather_rows(table: &[f32], dim: usize, ids: &[f32], out: &mut [f32]) {
    assert_eq!(out.len(), ids.len() * dim, "gather_rows: out length");
    if dim == 0 {
        return;
    }
    let vocab = table.len() / dim;
    let body = |i0: usize, out: &mut [f32]| {
        for (k, row) in out.chunks_exact_mut(dim).enumerate() {
            let id = id_at(ids, i0 + k, vocab, "gather_rows");
            row.copy_from_slice(&table[id * dim..(id + 1) * dim]);
        }
    };
    if worth_parallel(out.len()) {
        let rpt = rows_per_task(dim);
        out.par_chunks_mut(rpt * dim)
            .enumerate()
            .for_each(|(t, o)| body(t * rpt, o));
    } else {
        body(0, out);
    }
}

/// `table_grad[ids[i], :] += grad[i, :]` (accumulates).
pub fn scatter_add_rows(grad: &[f32], dim: usize, ids: &[f32], table_grad: &mut [f32]) {
    assert_eq!(grad.len(), ids.len() * dim, "scatter_add_rows: grad length");
    if dim == 0 {
        return;
    }
    let vocab = table_grad.len() / dim;
    for i in 0..ids.len() {
        id_at(ids, i, vocab, "scatter_add_rows");
    }
    // Viewed as [outer=1, len=vocab, inner=dim] this is exactly index_add.
    index_add_impl(grad, 1, vocab, dim, ids, table_grad);
}

/// `out[o, j, :] = x[o, ids[j], :]` for `x` viewed as `[outer, len, inner]`;
/// `out` is `[outer, ids.len(), inner]`.
pub fn index_select(
    x: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    ids: &[f32],
    out: &mut [f32],
) {
    assert_eq!(x.len(), outer * len * inner, "index_select: x length");
    let n = ids.len();
    assert_eq!(out.len(), outer * n * inner, "index_select: out length");
    if out.is_empty() {
        return;
    }
    for j in 0..n {
        id_at(ids, j, len, "index_select");
    }
    // Output row q = o * n + j is a copy of x row o * len + ids[j].
    let body = |q0: usize, out: &mut [f32]| {
        for (k, row) in out.chunks_exact_mut(inner).enumerate() {
            let (o, j) = ((q0 + k) / n, (q0 + k) % n);
            let src = (o * len + ids[j] as usize) * inner;
            row.copy_from_slice(&x[src..src + inner]);
        }
    };
    if worth_parallel(out.len()) {
        let rpt = rows_per_task(inner);
        out.par_chunks_mut(rpt * inner)
            .enumerate()
            .for_each(|(t, o)| body(t * rpt, o));
    } else {
        body(0, out);
    }
}

/// The sizes of a [`select_cat`]: `past` is `[rows, outer, len, inner]`,
/// `new` `[picked, outer, extra, inner]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectCat {
    pub rows: usize,
    pub picked: usize,
    pub outer: usize,
    pub len: usize,
    pub extra: usize,
    pub inner: usize,
}

/// `out[i] = cat(past[ids[i]], new[i])` along the `len` axis: rows of
/// `past` (`ids` `None`: every row, in order) each followed by its new
/// positions. A decoder's key/value cache after a beam step (the rows the
/// beams continue) with this step's keys appended, in one copy instead
/// of an `index_select` and a `cat`.
pub fn select_cat(past: &[f32], ids: Option<&[f32]>, new: &[f32], s: SelectCat, out: &mut [f32]) {
    let (run_past, run_new) = (s.len * s.inner, s.extra * s.inner);
    let run_out = run_past + run_new;
    assert_eq!(
        past.len(),
        s.rows * s.outer * run_past,
        "select_cat: past length"
    );
    assert_eq!(
        new.len(),
        s.picked * s.outer * run_new,
        "select_cat: new length"
    );
    assert_eq!(
        out.len(),
        s.picked * s.outer * run_out,
        "select_cat: out length"
    );
    match ids {
        Some(ids) => {
            assert_eq!(
                ids.len(),
                s.picked,
                "select_cat: {} ids for {} rows",
                ids.len(),
                s.picked
            );
            for i in 0..ids.len() {
                id_at(ids, i, s.rows, "select_cat");
            }
        }
        None => assert_eq!(s.picked, s.rows, "select_cat: every row kept without ids"),
    }
    if out.is_empty() {
        return;
    }
    // Output block q = i * outer + o: row ids[i]'s block o, then new block q.
    let body = |q0: usize, out: &mut [f32]| {
        for (k, block) in out.chunks_exact_mut(run_out).enumerate() {
            let (i, o) = ((q0 + k) / s.outer, (q0 + k) % s.outer);
            let from = ids.map_or(i, |ids| ids[i] as usize) * s.outer + o;
            let (old, added) = block.split_at_mut(run_past);
            old.copy_from_slice(&past[from * run_past..][..run_past]);
            added.copy_from_slice(&new[(q0 + k) * run_new..][..run_new]);
        }
    };
    if worth_parallel(out.len()) {
        let per = rows_per_task(run_out);
        out.par_chunks_mut(per * run_out)
            .enumerate()
            .for_each(|(t, o)| body(t * per, o));
    } else {
        body(0, out);
    }
}

/// `gx[o, ids[j], :] += grad[o, j, :]` (accumulates); the gradient of
/// [`index_select`].
pub fn index_add(
    grad: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    ids: &[f32],
    gx: &mut [f32],
) {
    assert_eq!(gx.len(), outer * len * inner, "index_add: gx length");
    assert_eq!(
        grad.len(),
        outer * ids.len() * inner,
        "index_add: grad length"
    );
    for j in 0..ids.len() {
        id_at(ids, j, len, "index_add");
    }
    index_add_impl(grad, outer, len, inner, ids, gx);
}

/// Shared by `index_add` and `scatter_add_rows`; ids already validated.
fn index_add_impl(
    grad: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    ids: &[f32],
    gx: &mut [f32],
) {
    let n = ids.len();
    if inner == 0 || n == 0 || outer == 0 {
        return;
    }
    let isa = isa();
    for (o, gx_slab) in gx.chunks_exact_mut(len * inner).enumerate() {
        let g = &grad[o * n * inner..(o + 1) * n * inner];
        dispatch!(isa, s => for (j, gj) in g.chunks_exact(inner).enumerate() {
            let dst = ids[j] as usize * inner;
            add_into(s, gj, &mut gx_slab[dst..dst + inner]);
        });
    }
}

/// `dst += src`.
#[inline(always)]
fn add_into<S: Simd>(s: S, src: &[f32], dst: &mut [f32]) {
    for (i, k, v) in vectors(s, src, 0.0) {
        let d = s.load_n(&dst[i..], k, 0.0);
        put(s, dst, i, k, s.add(d, v));
    }
}
