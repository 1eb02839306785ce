//! Activations for the int8 kernels: each call's rows of x quantized to u8
//! with zero point 128, one scale per row, in rayon tasks of whole rows and
//! compiled for the ISA in use (the loop vectorises there).

use super::weights::quantize_row_into;
use super::ZERO_POINT;
use crate::Isa;
use rayon::prelude::*;

/// Activations quantized for one call: `m` rows of `depth` bytes
/// `ux = qx + 128`, and their scales. The padding bytes of a row (after its
/// k values) are left as they were: the packed weights are zero there, so
/// they add nothing. The buffers come from, and return to, a per-thread
/// cache (decoding calls this hundreds of times per sentence batch).
pub(crate) struct QuantizedRows {
    pub(crate) data: Vec<u8>,
    pub(crate) scales: Vec<f32>,
    pub(crate) depth: usize,
}

thread_local! {
    /// The buffers of the last `QuantizedRows` dropped on this thread.
    static SCRATCH: std::cell::Cell<(Vec<u8>, Vec<f32>)> =
        const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

impl Drop for QuantizedRows {
    fn drop(&mut self) {
        let buffers = (
            std::mem::take(&mut self.data),
            std::mem::take(&mut self.scales),
        );
        SCRATCH.with(|s| s.set(buffers));
    }
}

/// Quantizes the rows of `x` (`m x k`) to u8 with zero point 128, in rayon
/// tasks of whole rows when there are many.
pub(super) fn quantize_rows(
    isa: Isa,
    x: &[f32],
    m: usize,
    k: usize,
    depth: usize,
) -> QuantizedRows {
    let (mut data, mut scales) = SCRATCH.with(|s| s.take());
    // Growing writes the new bytes; shrinking or keeping writes nothing.
    data.resize(m * depth, ZERO_POINT as u8);
    scales.clear();
    scales.resize(m, 0.0);
    if k > 0 {
        if crate::par::worth_parallel(m * k) {
            let per = crate::par::rows_per_task(k);
            x.par_chunks(per * k)
                .zip(data.par_chunks_mut(per * depth))
                .zip(scales.par_chunks_mut(per))
                .for_each(|((x, data), scales)| quantize_chunk(isa, x, k, depth, data, scales));
        } else {
            quantize_chunk(isa, x, k, depth, &mut data, &mut scales);
        }
    }
    QuantizedRows {
        data,
        scales,
        depth,
    }
}

/// [`quantize_rows`] for the rows of one task, compiled for `isa`.
fn quantize_chunk(
    isa: Isa,
    x: &[f32],
    k: usize,
    depth: usize,
    data: &mut [u8],
    scales: &mut [f32],
) {
    match isa {
        // SAFETY: `isa` came from `isa()`, which only returns supported ISAs.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe {
            crate::simd::avx512::run(
                #[inline(always)]
                || quantize_chunk_body(x, k, depth, data, scales),
            )
        },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe {
            crate::simd::avx2::run(
                #[inline(always)]
                || quantize_chunk_body(x, k, depth, data, scales),
            )
        },
        _ => quantize_chunk_body(x, k, depth, data, scales),
    }
}

#[inline(always)]
fn quantize_chunk_body(x: &[f32], k: usize, depth: usize, data: &mut [u8], scales: &mut [f32]) {
    let rows = x.chunks_exact(k).zip(data.chunks_exact_mut(depth));
    for ((row, out), scale) in rows.zip(scales.iter_mut()) {
        *scale = quantize_row_into(
            row,
            &mut out[..k],
            #[inline(always)]
            |v| (v as i32 + ZERO_POINT) as u8,
        );
    }
}
