//! The portable token: eight `f32` lanes held in a plain array.
//!
//! Each method is a fixed-length loop, which LLVM turns into SSE/NEON code on
//! its own. Eight lanes (not four) gives the kernels enough independent
//! accumulators to hide FP latency even when LLVM uses 4-wide registers.

use super::Simd;

/// Zero-sized token for the portable path; always available.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable;

const L: usize = 8;
type V8 = [f32; L];

#[inline(always)]
fn map(a: V8, f: impl Fn(f32) -> f32) -> V8 {
    let mut r = [0.0; L];
    for i in 0..L {
        r[i] = f(a[i]);
    }
    r
}

#[inline(always)]
fn zip(a: V8, b: V8, f: impl Fn(f32, f32) -> f32) -> V8 {
    let mut r = [0.0; L];
    for i in 0..L {
        r[i] = f(a[i], b[i]);
    }
    r
}

/// Lane masks are all-ones / all-zeros `u32`s (not `bool`s) so that `select`
/// is pure bit arithmetic, which LLVM vectorises without shuffles.
type M8 = [u32; L];

#[inline(always)]
fn cmp(a: V8, b: V8, f: impl Fn(f32, f32) -> bool) -> M8 {
    let mut r = [0; L];
    for i in 0..L {
        r[i] = if f(a[i], b[i]) { u32::MAX } else { 0 };
    }
    r
}

impl Simd for Portable {
    const LANES: usize = L;
    type V = V8;
    type M = M8;

    #[inline(always)]
    fn splat(self, x: f32) -> V8 {
        [x; L]
    }
    #[inline(always)]
    fn load(self, src: &[f32]) -> V8 {
        let mut r = [0.0; L];
        r.copy_from_slice(&src[..L]);
        r
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32], v: V8) {
        dst[..L].copy_from_slice(&v);
    }
    #[inline(always)]
    fn add(self, a: V8, b: V8) -> V8 {
        zip(
            a,
            b,
            #[inline(always)]
            |x, y| x + y,
        )
    }
    #[inline(always)]
    fn sub(self, a: V8, b: V8) -> V8 {
        zip(
            a,
            b,
            #[inline(always)]
            |x, y| x - y,
        )
    }
    #[inline(always)]
    fn mul(self, a: V8, b: V8) -> V8 {
        zip(
            a,
            b,
            #[inline(always)]
            |x, y| x * y,
        )
    }
    #[inline(always)]
    fn div(self, a: V8, b: V8) -> V8 {
        zip(
            a,
            b,
            #[inline(always)]
            |x, y| x / y,
        )
    }
    #[inline(always)]
    fn mul_add(self, a: V8, b: V8, c: V8) -> V8 {
        // Unfused on purpose: `f32::mul_add` is a libm call without hardware FMA.
        let mut r = [0.0; L];
        for i in 0..L {
            r[i] = a[i] * b[i] + c[i];
        }
        r
    }
    #[inline(always)]
    fn min(self, a: V8, b: V8) -> V8 {
        zip(
            a,
            b,
            #[inline(always)]
            |x, y| if x < y { x } else { y },
        )
    }
    #[inline(always)]
    fn max(self, a: V8, b: V8) -> V8 {
        zip(
            a,
            b,
            #[inline(always)]
            |x, y| if x > y { x } else { y },
        )
    }
    #[inline(always)]
    fn sqrt(self, a: V8) -> V8 {
        map(a, f32::sqrt)
    }
    #[inline(always)]
    fn abs(self, a: V8) -> V8 {
        map(
            a,
            #[inline(always)]
            |x| f32::from_bits(x.to_bits() & 0x7fff_ffff),
        )
    }
    #[inline(always)]
    fn round(self, a: V8) -> V8 {
        // Adding and subtracting 1.5 * 2^23 pushes the fraction bits out with
        // round-to-nearest-even; exact for |a| < 2^22, all the callers need.
        const MAGIC: f32 = 12_582_912.0;
        map(
            a,
            #[inline(always)]
            |x| (x + MAGIC) - MAGIC,
        )
    }
    #[inline(always)]
    fn copysign(self, mag: V8, sign: V8) -> V8 {
        zip(
            mag,
            sign,
            #[inline(always)]
            |m, s| f32::from_bits((m.to_bits() & 0x7fff_ffff) | (s.to_bits() & 0x8000_0000)),
        )
    }
    #[inline(always)]
    fn lt(self, a: V8, b: V8) -> M8 {
        cmp(
            a,
            b,
            #[inline(always)]
            |x, y| x < y,
        )
    }
    #[inline(always)]
    fn le(self, a: V8, b: V8) -> M8 {
        cmp(
            a,
            b,
            #[inline(always)]
            |x, y| x <= y,
        )
    }
    #[inline(always)]
    fn eq(self, a: V8, b: V8) -> M8 {
        cmp(
            a,
            b,
            #[inline(always)]
            |x, y| x == y,
        )
    }
    #[inline(always)]
    fn is_nan(self, a: V8) -> M8 {
        cmp(
            a,
            a,
            #[inline(always)]
            |x, y| x != y,
        )
    }
    #[inline(always)]
    fn select(self, m: M8, a: V8, b: V8) -> V8 {
        let mut r = [0.0; L];
        for i in 0..L {
            r[i] = f32::from_bits((m[i] & a[i].to_bits()) | (!m[i] & b[i].to_bits()));
        }
        r
    }
    #[inline(always)]
    fn pow2i(self, n: V8) -> V8 {
        // n + 127 + 2^23 holds the biased exponent in its low mantissa bits;
        // shifting left by 23 drops everything else. Avoids a float->int cast,
        // which LLVM vectorises poorly (it must saturate).
        map(
            n,
            #[inline(always)]
            |x| f32::from_bits((x + 8_388_735.0).to_bits() << 23),
        )
    }
    #[inline(always)]
    fn frexp(self, x: V8) -> (V8, V8) {
        let m = map(
            x,
            #[inline(always)]
            |v| f32::from_bits((v.to_bits() & 0x807f_ffff) | 0x3f00_0000),
        );
        let e = map(
            x,
            #[inline(always)]
            |v| ((v.to_bits() >> 23) & 0xff) as i32 as f32 - 126.0,
        );
        (m, e)
    }
    #[inline(always)]
    fn reduce_sum(self, v: V8) -> f32 {
        // Tree order, like the x86 paths.
        let a = [v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]];
        (a[0] + a[2]) + (a[1] + a[3])
    }
    #[inline(always)]
    fn reduce_max(self, v: V8) -> f32 {
        v.iter()
            .copied()
            .fold(f32::NEG_INFINITY, |m, x| if x > m { x } else { m })
    }
    #[inline(always)]
    fn reduce_min(self, v: V8) -> f32 {
        v.iter()
            .copied()
            .fold(f32::INFINITY, |m, x| if x < m { x } else { m })
    }
}
