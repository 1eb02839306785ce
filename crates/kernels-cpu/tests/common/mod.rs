//! Helpers shared by the property tests: running under every ISA, comparing
//! with stated tolerances, and shape/data strategies that favour the sizes
//! kernels get wrong (1, primes, not a multiple of the vector width, 0).

#![allow(dead_code)]

use kernels_cpu::{available_isas, with_isa, Isa};
use proptest::prelude::*;

/// Proptest cases per property: enough to hit the edge sizes, small enough
/// that the whole crate tests in well under two minutes.
pub const CASES: u32 = 128;

pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    }
}

/// Run `f` once per ISA the machine has (best first), naming the ISA on failure.
pub fn each_isa(mut f: impl FnMut(Isa)) {
    for isa in available_isas() {
        with_isa(isa, || f(isa));
    }
}

/// `|got - want| <= abs + rel * |want|`, with NaN matching NaN and equal
/// infinities matching.
pub fn close(got: f32, want: f32, rel: f32, abs: f32) -> bool {
    if got.is_nan() || want.is_nan() {
        return got.is_nan() && want.is_nan();
    }
    if got.is_infinite() || want.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= abs + rel * want.abs()
}

/// Assert element-wise closeness, reporting the first mismatch with context.
#[track_caller]
pub fn assert_close(what: &str, isa: Isa, got: &[f32], want: &[f32], rel: f32, abs: f32) {
    assert_eq!(got.len(), want.len(), "{what} [{isa:?}]: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            close(g, w, rel, abs),
            "{what} [{isa:?}]: element {i} of {}: got {g:e}, want {w:e} (rel {rel:e}, abs {abs:e})",
            got.len()
        );
    }
}

/// Like [`assert_close`] with a per-element absolute tolerance.
#[track_caller]
pub fn assert_within(what: &str, isa: Isa, got: &[f32], want: &[f32], tol: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what} [{isa:?}]: lengths differ");
    for (i, ((&g, &w), &t)) in got.iter().zip(want).zip(tol).enumerate() {
        assert!(
            close(g, w, 0.0, t),
            "{what} [{isa:?}]: element {i} of {}: got {g:e}, want {w:e} (tol {t:e})",
            got.len()
        );
    }
}

/// A dimension >= 1 biased towards awkward sizes.
pub fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => prop::sample::select(vec![1usize, 2, 3, 5, 7, 8, 13, 15, 16, 17, 31, 32, 33, 47]),
        2 => 1usize..70,
    ]
}

/// Like [`dim`] but may be 0.
pub fn dim0() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(0usize), 6 => dim()]
}

/// A row length for row-wise kernels: mostly small, sometimes a few hundred.
pub fn cols() -> impl Strategy<Value = usize> {
    prop_oneof![4 => dim(), 1 => 64usize..400]
}

/// `n` floats uniform in `[lo, hi)`.
pub fn floats(n: usize, lo: f32, hi: f32) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(lo..hi, n)
}

/// A vector of random length (0 included) and values in `[lo, hi)`.
pub fn any_floats(lo: f32, hi: f32) -> impl Strategy<Value = Vec<f32>> {
    prop_oneof![
        3 => prop::collection::vec(lo..hi, 0..80),
        1 => prop::collection::vec(lo..hi, 80..600),
    ]
}

/// Deterministic pseudo-random floats for the large (multi-threaded) tests.
pub fn det_floats(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut v = vec![0.0; n];
    kernels_cpu::reference::fill_uniform(seed, 0, lo, hi, &mut v);
    v
}

/// Row-major contiguous strides of `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![0; shape.len()];
    let mut acc = 1;
    for d in (0..shape.len()).rev() {
        s[d] = acc;
        acc *= shape[d];
    }
    s
}
