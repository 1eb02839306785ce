//! The AVX-512F token: sixteen lanes in a `__m512`, comparisons in `__mmask16`.

use super::Simd;
use std::arch::x86_64::*;

/// Proof that the CPU supports AVX-512F; made only by [`Avx512::new_unchecked`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512(());

impl Avx512 {
    /// # Safety
    /// The running CPU must support AVX-512F.
    #[inline(always)]
    pub(crate) unsafe fn new_unchecked() -> Self {
        Avx512(())
    }
}

/// Call `f` inside a function compiled for AVX-512F (plus the AVX2/FMA it
/// implies), so that the token's inlined intrinsics become single instructions.
///
/// # Safety
/// The running CPU must support AVX-512F.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn run<R>(f: impl FnOnce() -> R) -> R {
    f()
}

// SAFETY (for every `unsafe` block below): an `Avx512` value exists only when
// the CPU supports AVX-512F (see `new_unchecked`), and the loads/stores index
// slices that were bounds-checked to hold 16 elements just before.
impl Simd for Avx512 {
    const LANES: usize = 16;
    type V = __m512;
    type M = __mmask16;

    #[inline(always)]
    fn splat(self, x: f32) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, src: &[f32]) -> __m512 {
        let src = &src[..16];
        // SAFETY: `src` holds 16 floats; unaligned load.
        unsafe { _mm512_loadu_ps(src.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32], v: __m512) {
        let dst = &mut dst[..16];
        // SAFETY: `dst` holds 16 floats; unaligned store.
        unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn load_partial(self, src: &[f32], fill: f32) -> __m512 {
        let n = src.len().min(16);
        let mask: __mmask16 = ((1u32 << n) - 1) as __mmask16;
        // SAFETY: the masked load touches only the first `n <= src.len()` lanes.
        unsafe { _mm512_mask_loadu_ps(_mm512_set1_ps(fill), mask, src.as_ptr()) }
    }
    #[inline(always)]
    fn store_partial(self, dst: &mut [f32], v: __m512) {
        let n = dst.len().min(16);
        let mask: __mmask16 = ((1u32 << n) - 1) as __mmask16;
        // SAFETY: the masked store writes only the first `n <= dst.len()` lanes.
        unsafe { _mm512_mask_storeu_ps(dst.as_mut_ptr(), mask, v) }
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_div_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn min(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_min_ps(a, b) }
    }
    #[inline(always)]
    fn max(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    fn sqrt(self, a: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_sqrt_ps(a) }
    }
    #[inline(always)]
    fn abs(self, a: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_abs_ps(a) }
    }
    #[inline(always)]
    fn round(self, a: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    fn copysign(self, mag: __m512, sign: __m512) -> __m512 {
        // SAFETY: see the impl comment. Integer and/or: float ones need AVX-512DQ.
        unsafe {
            let sign_bit = _mm512_set1_epi32(i32::MIN);
            let m = _mm512_andnot_si512(sign_bit, _mm512_castps_si512(mag));
            let s = _mm512_and_si512(sign_bit, _mm512_castps_si512(sign));
            _mm512_castsi512_ps(_mm512_or_si512(m, s))
        }
    }
    #[inline(always)]
    fn lt(self, a: __m512, b: __m512) -> __mmask16 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    fn le(self, a: __m512, b: __m512) -> __mmask16 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a, b) }
    }
    #[inline(always)]
    fn eq(self, a: __m512, b: __m512) -> __mmask16 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a, b) }
    }
    #[inline(always)]
    fn is_nan(self, a: __m512) -> __mmask16 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(a, a) }
    }
    #[inline(always)]
    fn select(self, m: __mmask16, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl comment. `mask_blend` takes its second operand where `m` is set.
        unsafe { _mm512_mask_blend_ps(m, b, a) }
    }
    #[inline(always)]
    fn scale2(self, x: __m512, n: __m512) -> __m512 {
        // SAFETY: see the impl comment. `vscalefps` computes x · 2^floor(n)
        // with one rounding: the same value as the two-halves default, in
        // one instruction instead of eight.
        unsafe { _mm512_scalef_ps(x, n) }
    }
    #[inline(always)]
    fn pow2i(self, n: __m512) -> __m512 {
        // SAFETY: see the impl comment.
        unsafe {
            let biased = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
            _mm512_castsi512_ps(_mm512_slli_epi32::<23>(biased))
        }
    }
    #[inline(always)]
    fn frexp(self, x: __m512) -> (__m512, __m512) {
        // SAFETY: see the impl comment.
        unsafe {
            let bits = _mm512_castps_si512(x);
            let mant = _mm512_or_si512(
                _mm512_and_si512(bits, _mm512_set1_epi32(0x807f_ffff_u32 as i32)),
                _mm512_set1_epi32(0x3f00_0000),
            );
            let exp = _mm512_sub_epi32(
                _mm512_and_si512(_mm512_srli_epi32::<23>(bits), _mm512_set1_epi32(0xff)),
                _mm512_set1_epi32(126),
            );
            (_mm512_castsi512_ps(mant), _mm512_cvtepi32_ps(exp))
        }
    }
    #[inline(always)]
    fn reduce_sum(self, v: __m512) -> f32 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_reduce_add_ps(v) }
    }
    #[inline(always)]
    fn reduce_max(self, v: __m512) -> f32 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_reduce_max_ps(v) }
    }
    #[inline(always)]
    fn reduce_min(self, v: __m512) -> f32 {
        // SAFETY: see the impl comment.
        unsafe { _mm512_reduce_min_ps(v) }
    }
}
