//! Data movement: gathering a strided view into a contiguous buffer.
//!
//! This is what `contiguous()`, `transpose` + copy, slicing and `expand`
//! materialise through. After [`coalesce`] merges the dimensions that are
//! already contiguous, runs with inner stride 1 become `memcpy`s and the rest
//! a simple gather; no SIMD is needed because the work is memory-bound.

use crate::layout::{coalesce, for_each_run};
use crate::par::{worth_parallel, TASK_ELEMS};
use rayon::prelude::*;

/// Gather `src` (read with the given element strides) into the contiguous
/// `out` of `shape`.
pub fn strided_copy(src: &[f32], shape: &[usize], src_strides: &[usize], out: &mut [f32]) {
    let n: usize = shape.iter().product();
    assert_eq!(
        out.len(),
        n,
        "strided_copy: output length does not match shape"
    );
    assert_eq!(src_strides.len(), shape.len(), "strided_copy: stride rank");
    if n == 0 {
        return;
    }
    let (shape, [strides]) = coalesce(shape, [src_strides]);
    let strides = [strides];
    let inner_stride = *strides[0].last().unwrap();
    let copy_range = |start: usize, out: &mut [f32]| {
        for_each_run(
            &shape,
            &strides,
            start,
            start + out.len(),
            |pos, len, [off]| {
                let dst = &mut out[pos - start..pos - start + len];
                match inner_stride {
                    1 => dst.copy_from_slice(&src[off..off + len]),
                    0 => dst.fill(src[off]),
                    st => {
                        for (i, d) in dst.iter_mut().enumerate() {
                            *d = src[off + i * st];
                        }
                    }
                }
            },
        )
    };
    if worth_parallel(n) {
        out.par_chunks_mut(TASK_ELEMS)
            .enumerate()
            .for_each(|(i, chunk)| copy_range(i * TASK_ELEMS, chunk));
    } else {
        copy_range(0, out);
    }
}
