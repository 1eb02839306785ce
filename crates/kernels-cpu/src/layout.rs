//! Walking strided (broadcast, transposed, sliced) operands in runs.
//!
//! `binary` and `strided_copy` write a contiguous output of some shape while
//! reading operands through arbitrary element strides. Two ideas keep that fast:
//!
//! 1. [`coalesce`]: drop size-1 dimensions and merge neighbouring dimensions
//!    that are contiguous in every operand. A same-shape add becomes one run of
//!    `n` elements; a bias add over `[B, T, H]` becomes `[B*T, H]` with the bias
//!    stride `[0, 1]`; a scalar operand gets stride 0 everywhere.
//! 2. [`for_each_run`]: visit the output in *runs* along the last dimension,
//!    handing the kernel each run's start offsets. The kernel then only has to
//!    handle inner strides 1 (load), 0 (splat) or anything else (gather).
//!
//! Runs are computed for a flat output range, so rayon can split the output at
//! any point without caring about row boundaries.

/// Merge dimensions; returns the new shape and, per operand, the new strides.
/// The result has at least one dimension.
pub(crate) fn coalesce<const N: usize>(
    shape: &[usize],
    strides: [&[usize]; N],
) -> (Vec<usize>, [Vec<usize>; N]) {
    let mut out_shape: Vec<usize> = Vec::with_capacity(shape.len());
    let mut out_strides: [Vec<usize>; N] = std::array::from_fn(|_| Vec::new());
    for (d, &size) in shape.iter().enumerate() {
        if size == 1 {
            continue; // its stride is never used
        }
        let mergeable = !out_shape.is_empty()
            && (0..N).all(|k| out_strides[k].last() == Some(&(strides[k][d] * size)));
        if mergeable {
            *out_shape.last_mut().unwrap() *= size;
            for k in 0..N {
                *out_strides[k].last_mut().unwrap() = strides[k][d];
            }
        } else {
            out_shape.push(size);
            for k in 0..N {
                out_strides[k].push(strides[k][d]);
            }
        }
    }
    if out_shape.is_empty() {
        out_shape.push(1);
        for s in out_strides.iter_mut() {
            s.push(0);
        }
    }
    (out_shape, out_strides)
}

/// Call `f(out_offset, len, operand_offsets)` for each run of the flat output
/// range `start..end`, where a run is a piece of one innermost row.
#[inline(always)]
pub(crate) fn for_each_run<const N: usize>(
    shape: &[usize],
    strides: &[Vec<usize>; N],
    start: usize,
    end: usize,
    mut f: impl FnMut(usize, usize, [usize; N]),
) {
    let nd = shape.len();
    let inner = shape[nd - 1];
    // Multi-index of `start` (row-major unravel).
    let mut idx = vec![0usize; nd];
    let mut rem = start;
    for d in (0..nd).rev() {
        idx[d] = rem % shape[d];
        rem /= shape[d];
    }
    let mut pos = start;
    while pos < end {
        let offsets: [usize; N] =
            std::array::from_fn(|k| (0..nd).map(|d| idx[d] * strides[k][d]).sum());
        let len = (inner - idx[nd - 1]).min(end - pos);
        f(pos, len, offsets);
        pos += len;
        // Advance the multi-index by `len` along the last dim, with carries.
        idx[nd - 1] += len;
        let mut d = nd - 1;
        while idx[d] == shape[d] && d > 0 {
            idx[d] = 0;
            d -= 1;
            idx[d] += 1;
        }
    }
}
