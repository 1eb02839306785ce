//! Vectorised transcendental functions: exp, log, tanh, sigmoid, erf, GELU.
//!
//! Written once over the [`Simd`] token, so every ISA gets the same algorithm
//! and differs only in rounding from FMA. The polynomials are the classic
//! Cephes single-precision ones (exp, log, tanh) and the rational erf
//! approximation used by Eigen/XLA for `f32`; all are accurate to about 1–2 ulp
//! on their reduced ranges. Each function states how it treats the edges
//! (±inf, NaN, overflow), because softmax and the losses rely on them.

// The coefficients are quoted with the digits they were published with.
#![allow(clippy::excessive_precision)]

use crate::simd::Simd;

const LOG2_E: f32 = std::f32::consts::LOG2_E;
// ln 2 split in two so that `x - n*ln2` loses no bits for |n| <= 150.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `e^x`. Exact IEEE limits: overflows to `+inf` only above `ln(f32::MAX)`,
/// underflows through the subnormals to 0, `exp(-inf) = 0`, NaN stays NaN.
#[inline(always)]
pub(crate) fn exp<S: Simd>(s: S, x: S::V) -> S::V {
    // Clamp so that n below stays in [-150, 129]; outside that the result is
    // 0 or inf anyway and both come out of the final scaling naturally.
    let xc = s.min(s.max(x, s.splat(-104.0)), s.splat(89.0));
    // x = n*ln2 + r with |r| <= ln2/2.
    let n = s.round(s.mul(xc, s.splat(LOG2_E)));
    let r = s.mul_add(n, s.splat(-LN2_HI), xc);
    let r = s.mul_add(n, s.splat(-LN2_LO), r);
    // e^r by its minimax polynomial (Cephes expf).
    let mut p = s.splat(1.987_569_1e-4);
    p = s.mul_add(p, r, s.splat(1.398_199_9e-3));
    p = s.mul_add(p, r, s.splat(8.333_452e-3));
    p = s.mul_add(p, r, s.splat(4.166_579_6e-2));
    p = s.mul_add(p, r, s.splat(1.666_666_5e-1));
    p = s.mul_add(p, r, s.splat(5.000_000_1e-1));
    let r2 = s.mul(r, r);
    let er = s.add(s.mul_add(p, r2, r), s.splat(1.0));
    // er · 2^n, rounded once even where the result is subnormal or infinite.
    let y = s.scale2(er, n);
    s.select(s.is_nan(x), x, y)
}

/// Natural log. `log(0) = -inf`, `log(x<0) = NaN`, `log(inf) = inf`, NaN stays
/// NaN; subnormal inputs are rescaled first so they get full accuracy.
#[inline(always)]
pub(crate) fn ln<S: Simd>(s: S, x: S::V) -> S::V {
    let tiny = s.lt(x, s.splat(f32::MIN_POSITIVE));
    let xs = s.select(tiny, s.mul(x, s.splat(8_388_608.0)), x); // * 2^23
    let (m, e) = s.frexp(xs);
    let e = s.select(tiny, s.sub(e, s.splat(23.0)), e);
    // Move m into [sqrt(1/2), sqrt(2)) so the polynomial argument is small.
    let small = s.lt(m, s.splat(std::f32::consts::FRAC_1_SQRT_2));
    let e = s.select(small, s.sub(e, s.splat(1.0)), e);
    let m = s.select(small, s.add(m, m), m);
    let f = s.sub(m, s.splat(1.0));
    // Cephes logf polynomial for log(1+f) - f + f^2/2.
    let mut p = s.splat(7.037_683_6e-2);
    p = s.mul_add(p, f, s.splat(-1.151_461e-1));
    p = s.mul_add(p, f, s.splat(1.167_699_9e-1));
    p = s.mul_add(p, f, s.splat(-1.242_014_1e-1));
    p = s.mul_add(p, f, s.splat(1.424_932_3e-1));
    p = s.mul_add(p, f, s.splat(-1.666_805_8e-1));
    p = s.mul_add(p, f, s.splat(2.000_071_4e-1));
    p = s.mul_add(p, f, s.splat(-2.499_999_4e-1));
    p = s.mul_add(p, f, s.splat(3.333_333e-1));
    let f2 = s.mul(f, f);
    let mut y = s.mul(s.mul(p, f), f2);
    y = s.mul_add(e, s.splat(LN2_LO), y);
    y = s.mul_add(f2, s.splat(-0.5), y);
    let mut r = s.add(f, y);
    r = s.mul_add(e, s.splat(LN2_HI), r);
    // Edges, last so they override whatever the bit tricks produced.
    let r = s.select(s.eq(x, s.splat(f32::INFINITY)), x, r);
    let r = s.select(s.eq(x, s.zero()), s.splat(f32::NEG_INFINITY), r);
    let r = s.select(s.lt(x, s.zero()), s.splat(f32::NAN), r);
    s.select(s.is_nan(x), x, r)
}

/// `tanh(x)`: an odd polynomial near 0 (where `1 - 2/(e^2x+1)` would cancel),
/// the exp form elsewhere. Saturates to ±1 for large |x| without NaN.
#[inline(always)]
pub(crate) fn tanh<S: Simd>(s: S, x: S::V) -> S::V {
    let ax = s.abs(x);
    // Cephes tanhf for |x| < 0.625.
    let z = s.mul(x, x);
    let mut p = s.splat(-5.704_988_7e-3);
    p = s.mul_add(p, z, s.splat(2.063_908_9e-2));
    p = s.mul_add(p, z, s.splat(-5.373_971_6e-2));
    p = s.mul_add(p, z, s.splat(1.333_144_2e-1));
    p = s.mul_add(p, z, s.splat(-3.333_328_2e-1));
    let near = s.mul_add(s.mul(p, z), x, x);
    // 1 - 2/(e^{2|x|} + 1): e^{2|x|} = inf gives exactly 1.
    let e = exp(s, s.add(ax, ax));
    let far = s.sub(s.splat(1.0), s.div(s.splat(2.0), s.add(e, s.splat(1.0))));
    let far = s.copysign(far, x);
    s.select(s.lt(ax, s.splat(0.625)), near, far)
}

/// `1 / (1 + e^-x)`: e^-x = inf gives exactly 0, e^-x = 0 gives exactly 1.
#[inline(always)]
pub(crate) fn sigmoid<S: Simd>(s: S, x: S::V) -> S::V {
    let e = exp(s, s.neg(x));
    s.div(s.splat(1.0), s.add(s.splat(1.0), e))
}

/// `erf(x)` by a rational approximation; beyond |x| = 3.8325 erf rounds to ±1
/// in f32, so the input is clamped there and the output to [-1, 1].
#[inline(always)]
pub(crate) fn erf<S: Simd>(s: S, x: S::V) -> S::V {
    const CLAMP: f32 = 3.832_507;
    let x = s.min(s.max(x, s.splat(-CLAMP)), s.splat(CLAMP));
    let x2 = s.mul(x, x);
    let mut p = s.splat(2.290_506_6e-4);
    p = s.mul_add(p, x2, s.splat(3.408_291e-3));
    p = s.mul_add(p, x2, s.splat(5.095_569_5e-2));
    p = s.mul_add(p, x2, s.splat(1.852_083_2e-1));
    p = s.mul_add(p, x2, s.splat(std::f32::consts::FRAC_2_SQRT_PI));
    let mut q = s.splat(-1.179_160_3e-7);
    q = s.mul_add(q, x2, s.splat(2.354_796_6e-5));
    q = s.mul_add(q, x2, s.splat(1.017_962_5e-3));
    q = s.mul_add(q, x2, s.splat(1.407_047e-2));
    q = s.mul_add(q, x2, s.splat(1.109_850_5e-1));
    q = s.mul_add(q, x2, s.splat(4.974_692_5e-1));
    q = s.mul_add(q, x2, s.splat(1.0));
    let one = s.splat(1.0);
    s.min(s.max(s.div(s.mul(x, p), q), s.neg(one)), one)
}

/// Exact GELU, `x * Phi(x) = x/2 * (1 + erf(x/sqrt 2))`, as torch's default.
#[inline(always)]
pub(crate) fn gelu<S: Simd>(s: S, x: S::V) -> S::V {
    let cdf = s.mul_add(
        erf(s, s.mul(x, s.splat(std::f32::consts::FRAC_1_SQRT_2))),
        s.splat(0.5),
        s.splat(0.5),
    );
    s.mul(x, cdf)
}

/// d gelu/dx = Phi(x) + x * phi(x), phi the standard normal density.
#[inline(always)]
pub(crate) fn gelu_grad<S: Simd>(s: S, x: S::V) -> S::V {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let cdf = s.mul_add(
        erf(s, s.mul(x, s.splat(std::f32::consts::FRAC_1_SQRT_2))),
        s.splat(0.5),
        s.splat(0.5),
    );
    let pdf = s.mul(
        exp(s, s.mul(s.mul(x, x), s.splat(-0.5))),
        s.splat(INV_SQRT_2PI),
    );
    s.mul_add(x, pdf, cdf)
}
