//! Gradient accumulation in place: `dst[:, start..start+len, :] += src`.
//!
//! ```text
//! dst viewed as [outer, full, inner]     (the running gradient of a tensor)
//! src viewed as [outer, len,  inner]     (one more contribution to it)
//! dst[o, start + j, i] += src[o, j, i]   for every o, j < len, i
//! ```
//!
//! Why: a tensor used k times receives k gradients, which autograd sums. A
//! fresh `a + b` per use writes a new buffer each time; adding into the
//! running sum reads and writes it once. And the gradient of a slice
//! (`narrow`, every time step cut out of a sequence) covers one block of its
//! input: adding it into that block skips building the zero-padded,
//! full-size gradient the slice's textbook derivative describes — for ten
//! time steps of a [64, 10, 768] projection that is ten full-size buffers
//! per step. The whole-tensor sum is the case `outer = 1, start = 0,
//! len = full`.

use crate::isa::isa;
use crate::par::{rows_per_task, worth_parallel, TASK_ELEMS};
use crate::simd::{dispatch, Simd};
use crate::softmax::put;
use rayon::prelude::*;

/// `dst[o, start + j, i] += src[o, j, i]`, with `dst` of `outer * full *
/// inner` and `src` of `outer * len * inner` elements (`len` follows from
/// `src.len()`).
pub fn add_into_block(
    dst: &mut [f32],
    src: &[f32],
    outer: usize,
    full: usize,
    start: usize,
    inner: usize,
) {
    assert_eq!(
        dst.len(),
        outer * full * inner,
        "add_into_block: dst is not [outer, full, inner]"
    );
    let block = src.len().checked_div(outer).unwrap_or(0);
    assert_eq!(
        src.len(),
        outer * block,
        "add_into_block: src length is not a multiple of outer"
    );
    let len = block.checked_div(inner).unwrap_or(0);
    assert!(
        len * inner == block && start + len <= full,
        "add_into_block: block {start}..{} of {full} does not fit",
        start + len
    );
    if block == 0 {
        return;
    }
    let isa = isa();
    let add = |d: &mut [f32], s: &[f32]| dispatch!(isa, simd => add_run(simd, d, s));
    let row = full * inner;
    let offset = start * inner;
    if !worth_parallel(src.len()) {
        for (d, s) in dst.chunks_mut(row).zip(src.chunks(block)) {
            add(&mut d[offset..offset + block], s);
        }
    } else if outer == 1 {
        // One long run: cut it into tasks.
        dst[offset..offset + block]
            .par_chunks_mut(TASK_ELEMS)
            .zip(src.par_chunks(TASK_ELEMS))
            .for_each(|(d, s)| add(d, s));
    } else {
        dst.par_chunks_mut(row)
            .zip(src.par_chunks(block))
            .with_min_len(rows_per_task(block))
            .for_each(|(d, s)| add(&mut d[offset..offset + block], s));
    }
}

/// `d[i] += s[i]` over two runs of the same length.
#[inline(always)]
fn add_run<S: Simd>(simd: S, d: &mut [f32], s: &[f32]) {
    let mut i = 0;
    while i < d.len() {
        let k = S::LANES.min(d.len() - i);
        let sum = simd.add(simd.load_n(&d[i..], k, 0.0), simd.load_n(&s[i..], k, 0.0));
        put(simd, d, i, k, sum);
        i += k;
    }
}
