//! Counter-based random numbers, identical on the CPU and in WGSL.
//!
//! There is no generator state: element `i` of a fill is a pure function of
//! `(seed, offset + i)`. That makes fills trivially parallel, lets a training
//! run be resumed by remembering one counter, and lets the GPU shader produce
//! the same numbers, because it only needs 32-bit integer arithmetic.
//!
//! # The algorithm (normative — `shaders/` must match it bit for bit)
//!
//! All arithmetic is on `u32` with wrapping multiplication.
//!
//! ```text
//! mix(x):  x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16
//!          (Chris Wellons' "lowbias32" finaliser: a bijection on u32)
//!
//! hash(seed, c):   seed, c: u64 split as lo/hi u32 halves
//!     h = mix(seed_lo ^ 0x9e3779b9)
//!     h = mix(h ^ seed_hi)
//!     h = mix(h ^ c_hi)
//!     h = mix(h ^ c_lo)
//!
//! uniform(seed, c) = f32(hash(seed, c) >> 8) * 2^-24          in [0, 1), exact
//! ```
//!
//! The counter of element `i` is `c = offset + i` (wrapping u64 add; a WGSL
//! shader adds the u32 halves with a carry). The golden-ratio constant keeps
//! `hash(0, 0)` away from the fixed point `mix(0) = 0`. Because `mix` is a
//! bijection, for a fixed seed and `c_hi` the 2^32 values of `c_lo` give 2^32
//! distinct hashes.
//!
//! * `fill_uniform`: `lo + (hi - lo) * uniform(seed, c)`.
//! * `dropout_mask`: `0` if `uniform(seed, c) < p`, else `1 / (1 - p)`;
//!   `dropout_apply` multiplies an input by that mask without storing it.
//! * `fill_normal` (Box–Muller on aligned pairs): counter `c` belongs to the
//!   pair `j = c / 2`, with `u1 = uniform(seed, 2j)`, `u2 = uniform(seed, 2j+1)`,
//!   `r = sqrt(-2 ln(1 - u1))` (`1 - u1` is in `(0, 1]`, so the log is finite),
//!   `theta = 2 pi u2`; even `c` gets `r cos theta`, odd `c` gets `r sin theta`.
//!   The result is `mean + std * z`. Pairs are aligned to absolute counters, so a
//!   fill may start at an odd offset and still agree element by element with a
//!   longer fill. The uniforms match the GPU exactly; the normals only up to the
//!   GPU's `log`/`cos`/`sin` accuracy (WGSL does not promise correctly rounded
//!   transcendentals).

use crate::par::{worth_parallel, TASK_ELEMS};
use rayon::prelude::*;

/// The lowbias32 integer finaliser (bijective on `u32`).
#[inline(always)]
pub fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// The 32-bit hash of `(seed, counter)` that every random fill is built on.
#[inline(always)]
pub fn hash32(seed: u64, counter: u64) -> u32 {
    let mut h = mix32(seed as u32 ^ 0x9e37_79b9);
    h = mix32(h ^ (seed >> 32) as u32);
    h = mix32(h ^ (counter >> 32) as u32);
    mix32(h ^ counter as u32)
}

/// Uniform `f32` in `[0, 1)` from the top 24 bits of [`hash32`] (exactly representable).
#[inline(always)]
pub fn hash_uniform(seed: u64, counter: u64) -> f32 {
    (hash32(seed, counter) >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// One standard normal sample for absolute counter `c` (Box–Muller, see module docs).
#[inline(always)]
pub fn hash_normal(seed: u64, c: u64) -> f32 {
    let pair = c & !1;
    let u1 = hash_uniform(seed, pair);
    let u2 = hash_uniform(seed, pair | 1);
    let r = (-2.0 * (1.0 - u1).ln()).sqrt();
    let theta = std::f32::consts::TAU * u2;
    if c & 1 == 0 {
        r * theta.cos()
    } else {
        r * theta.sin()
    }
}

/// Fill `out[i] = f(offset + i)`, in parallel for large outputs.
fn fill_with(offset: u64, out: &mut [f32], f: impl Fn(u64) -> f32 + Sync) {
    let chunk = |start: usize, out: &mut [f32]| {
        for (i, o) in out.iter_mut().enumerate() {
            *o = f(offset.wrapping_add((start + i) as u64));
        }
    };
    if worth_parallel(out.len()) {
        out.par_chunks_mut(TASK_ELEMS)
            .enumerate()
            .for_each(|(t, o)| chunk(t * TASK_ELEMS, o));
    } else {
        chunk(0, out);
    }
}

/// [`hash32`] with its first two rounds, which depend on the seed alone,
/// done once: `hash32(seed, c) = mix32(mix32(self.0 ^ c_hi) ^ c_lo)`.
#[derive(Clone, Copy)]
struct SeedHash(u32);

impl SeedHash {
    fn new(seed: u64) -> SeedHash {
        SeedHash(mix32(
            mix32(seed as u32 ^ 0x9e37_79b9) ^ (seed >> 32) as u32,
        ))
    }
}

/// Fill `out[i] = f(hash32(seed, offset + i), x[i])`, in parallel for large
/// outputs, where `x` is an input as long as `out` or, when `None`, zeros.
/// The same numbers as calling [`hash32`] per element, at a quarter of the
/// mixing: the seed's rounds are done once per fill and the counter's high
/// half once per run of counters that share it.
fn fill_hashed(
    seed: u64,
    offset: u64,
    x: Option<&[f32]>,
    out: &mut [f32],
    f: impl Fn(u32, f32) -> f32 + Sync,
) {
    if let Some(x) = x {
        assert_eq!(x.len(), out.len(), "input and output lengths differ");
    }
    let seed = SeedHash::new(seed);
    let isa = crate::isa();
    let chunk = |start: usize, out: &mut [f32]| {
        let mut c = offset.wrapping_add(start as u64);
        let mut done = 0;
        while done < out.len() {
            let (hi, lo) = ((c >> 32) as u32, c as u32);
            // Counters up to the next multiple of 2^32 share `hi`.
            let run = (out.len() - done).min((1u64 << 32) as usize - lo as usize);
            let xs = x.map(|x| &x[start + done..start + done + run]);
            hash_run(
                isa,
                mix32(seed.0 ^ hi),
                lo,
                xs,
                &mut out[done..done + run],
                &f,
            );
            c = c.wrapping_add(run as u64);
            done += run;
        }
    };
    if worth_parallel(out.len()) {
        out.par_chunks_mut(TASK_ELEMS)
            .enumerate()
            .for_each(|(t, o)| chunk(t * TASK_ELEMS, o));
    } else {
        chunk(0, out);
    }
}

/// `out[i] = f(mix32(h ^ (lo + i)), x[i])`, the inner loop of every hashed
/// fill, compiled for the widest vectors `isa` allows: the hash is 32-bit
/// integer multiplies, which the x86-64 baseline (SSE2) has no vector form
/// of, so the plain loop costs a few ns per element: enough for dropout
/// masks to show in a Transformer step's profile. `f` must be inlinable.
#[inline(always)]
fn hash_run(
    isa: crate::Isa,
    h: u32,
    lo: u32,
    x: Option<&[f32]>,
    out: &mut [f32],
    f: &impl Fn(u32, f32) -> f32,
) {
    // One body, compiled three times: only the enabled features differ.
    #[inline(always)]
    fn body((h, lo, x, out): Run, f: &impl Fn(u32, f32) -> f32) {
        let hash = |i: usize| mix32(h ^ lo.wrapping_add(i as u32));
        match x {
            Some(x) => {
                for (i, (o, &xi)) in out.iter_mut().zip(x).enumerate() {
                    *o = f(hash(i), xi);
                }
            }
            None => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = f(hash(i), 0.0);
                }
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2")]
    fn body_avx512(run: Run, f: &impl Fn(u32, f32) -> f32) {
        body(run, f)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn body_avx2(run: Run, f: &impl Fn(u32, f32) -> f32) {
        body(run, f)
    }
    let run = (h, lo, x, out);
    match isa {
        // SAFETY: `isa()` only returns ISAs the running CPU supports.
        #[cfg(target_arch = "x86_64")]
        crate::Isa::Avx512 => unsafe { body_avx512(run, f) },
        #[cfg(target_arch = "x86_64")]
        crate::Isa::Avx2Fma => unsafe { body_avx2(run, f) },
        _ => body(run, f),
    }
}

/// The arguments of one [`hash_run`]: `(h, lo, x, out)`.
type Run<'a> = (u32, u32, Option<&'a [f32]>, &'a mut [f32]);

/// The uniform of a hash (see [`hash_uniform`]).
#[inline(always)]
fn to_uniform(h: u32) -> f32 {
    (h >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// `out[i] = lo + (hi - lo) * u(seed, offset + i)`.
pub fn fill_uniform(seed: u64, offset: u64, lo: f32, hi: f32, out: &mut [f32]) {
    let width = hi - lo;
    fill_hashed(
        seed,
        offset,
        None,
        out,
        #[inline(always)]
        |h, _| lo + width * to_uniform(h),
    );
}

/// `out[i] = mean + std * z(seed, offset + i)` with Box–Muller normals.
pub fn fill_normal(seed: u64, offset: u64, mean: f32, std: f32, out: &mut [f32]) {
    fill_with(offset, out, |c| mean + std * hash_normal(seed, c));
}

/// Element `i` of the dropout mask: `0` if `u(seed, offset + i) < p`, else
/// `1 / (1 - p)` (inverted dropout), from its hash.
#[inline(always)]
fn keep_factor(h: u32, p: f32, keep_scale: f32) -> f32 {
    if to_uniform(h) < p {
        0.0
    } else {
        keep_scale
    }
}

/// The dropout mask itself: `out[i] = 0` if `u(seed, offset + i) < p`, else
/// `1 / (1 - p)`.
pub fn dropout_mask(seed: u64, offset: u64, p: f32, out: &mut [f32]) {
    let keep_scale = 1.0 / (1.0 - p);
    fill_hashed(
        seed,
        offset,
        None,
        out,
        #[inline(always)]
        |h, _| keep_factor(h, p, keep_scale),
    );
}

/// `out[i] = x[i] * mask[i]` for the mask of [`dropout_mask`], without
/// storing the mask: dropout's forward (x the input) and its backward (x the
/// output's gradient) are the same product, so neither needs the mask in
/// memory — one pass instead of a fill and a multiply.
pub fn dropout_apply(seed: u64, offset: u64, p: f32, x: &[f32], out: &mut [f32]) {
    let keep_scale = 1.0 / (1.0 - p);
    fill_hashed(
        seed,
        offset,
        Some(x),
        out,
        #[inline(always)]
        |h, xi| xi * keep_factor(h, p, keep_scale),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hoisted_fills_equal_the_per_element_hash_across_a_carry() {
        for (seed, offset) in [(0, 0), (7, (1u64 << 32) - 5), (u64::MAX, u64::MAX - 3)] {
            let mut u = vec![0.0; 37];
            fill_uniform(seed, offset, -1.0, 3.0, &mut u);
            let mut d = vec![0.0; 37];
            dropout_mask(seed, offset, 0.3, &mut d);
            for i in 0..37 {
                let c = offset.wrapping_add(i as u64);
                assert_eq!(u[i], -1.0 + 4.0 * hash_uniform(seed, c), "uniform {i}");
                let keep = hash_uniform(seed, c) >= 0.3;
                assert_eq!(d[i], if keep { 1.0 / 0.7 } else { 0.0 }, "dropout {i}");
            }
        }
    }
}
