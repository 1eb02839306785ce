//! Reference data movement, embedding gathers/scatters and random fills.

use super::elementwise::{strided_offset, unravel};

pub fn strided_copy(src: &[f32], shape: &[usize], src_strides: &[usize], out: &mut [f32]) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = src[strided_offset(&unravel(i, shape), src_strides)];
    }
}

/// `dst[o, start + j, i] += src[o, j, i]` (dst `[outer, full, inner]`).
pub fn add_into_block(
    dst: &mut [f32],
    src: &[f32],
    outer: usize,
    full: usize,
    start: usize,
    inner: usize,
) {
    let len = src.len() / (outer * inner).max(1);
    for o in 0..outer {
        for j in 0..len {
            for i in 0..inner {
                dst[(o * full + start + j) * inner + i] += src[(o * len + j) * inner + i];
            }
        }
    }
}

pub fn gather_rows(table: &[f32], dim: usize, ids: &[f32], out: &mut [f32]) {
    for (i, &id) in ids.iter().enumerate() {
        for j in 0..dim {
            out[i * dim + j] = table[id as usize * dim + j];
        }
    }
}

pub fn scatter_add_rows(grad: &[f32], dim: usize, ids: &[f32], table_grad: &mut [f32]) {
    for (i, &id) in ids.iter().enumerate() {
        for j in 0..dim {
            table_grad[id as usize * dim + j] += grad[i * dim + j];
        }
    }
}

pub fn index_select(
    x: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    ids: &[f32],
    out: &mut [f32],
) {
    let n = ids.len();
    for o in 0..outer {
        for (j, &id) in ids.iter().enumerate() {
            for i in 0..inner {
                out[(o * n + j) * inner + i] = x[(o * len + id as usize) * inner + i];
            }
        }
    }
}

pub fn index_add(
    grad: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    ids: &[f32],
    gx: &mut [f32],
) {
    let n = ids.len();
    for o in 0..outer {
        for (j, &id) in ids.iter().enumerate() {
            for i in 0..inner {
                gx[(o * len + id as usize) * inner + i] += grad[(o * n + j) * inner + i];
            }
        }
    }
}

/// lowbias32, as specified in [`crate::rng`].
fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

pub fn hash_uniform(seed: u64, counter: u64) -> f32 {
    let (seed_lo, seed_hi) = (seed as u32, (seed >> 32) as u32);
    let (c_lo, c_hi) = (counter as u32, (counter >> 32) as u32);
    let h = mix(mix(mix(mix(seed_lo ^ 0x9e37_79b9) ^ seed_hi) ^ c_hi) ^ c_lo);
    (h >> 8) as f32 / 16_777_216.0
}

pub fn fill_uniform(seed: u64, offset: u64, lo: f32, hi: f32, out: &mut [f32]) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = lo + (hi - lo) * hash_uniform(seed, offset.wrapping_add(i as u64));
    }
}

pub fn fill_normal(seed: u64, offset: u64, mean: f32, std: f32, out: &mut [f32]) {
    for (i, o) in out.iter_mut().enumerate() {
        let c = offset.wrapping_add(i as u64);
        let first = c - c % 2;
        let u1 = hash_uniform(seed, first);
        let u2 = hash_uniform(seed, first + 1);
        let r = (-2.0 * (1.0 - u1).ln()).sqrt();
        let theta = 2.0 * std::f32::consts::PI * u2;
        let z = if c.is_multiple_of(2) {
            r * theta.cos()
        } else {
            r * theta.sin()
        };
        *o = mean + std * z;
    }
}

pub fn dropout_mask(seed: u64, offset: u64, p: f32, out: &mut [f32]) {
    for (i, o) in out.iter_mut().enumerate() {
        let u = hash_uniform(seed, offset.wrapping_add(i as u64));
        *o = if u < p { 0.0 } else { 1.0 / (1.0 - p) };
    }
}

pub fn dropout_apply(seed: u64, offset: u64, p: f32, x: &[f32], out: &mut [f32]) {
    let mut mask = vec![0.0; x.len()];
    dropout_mask(seed, offset, p, &mut mask);
    for ((o, &xi), &m) in out.iter_mut().zip(x).zip(&mask) {
        *o = xi * m;
    }
}

/// The k best entries of each row by sorting it: higher first, the lower
/// index on ties, a non-finite entry as `TOPK_NONE` below every finite one.
pub fn topk_rows(x: &[f32], cols: usize, k: usize, values: &mut [f32], indices: &mut [f32]) {
    for (r, row) in x.chunks_exact(cols).enumerate() {
        let key = |v: f32| if v.is_finite() { v } else { crate::TOPK_NONE };
        let mut order: Vec<usize> = (0..cols).collect();
        order.sort_by(|&a, &b| key(row[b]).total_cmp(&key(row[a])).then(a.cmp(&b)));
        for (j, &c) in order.iter().take(k).enumerate() {
            values[r * k + j] = key(row[c]);
            indices[r * k + j] = c as f32;
        }
    }
}
