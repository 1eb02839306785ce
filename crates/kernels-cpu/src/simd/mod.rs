//! A small vector abstraction so that each kernel is written once.
//!
//! Kernels are generic over a *token* type implementing [`Simd`]: `Portable`
//! (plain arrays that LLVM auto-vectorises), `Avx2` (8 lanes) and `Avx512`
//! (16 lanes). A token is a zero-sized proof that the CPU supports its
//! instructions; the x86 tokens can only be made through `unsafe` constructors
//! that the `dispatch!` macro calls after [`crate::isa()`] has
//! checked the CPU.
//!
//! Why this shape: the kernel body is monomorphised per token and inlined (all
//! methods are `#[inline(always)]`) into a small `#[target_feature]` trampoline
//! (`avx512::run`, `avx2::run`). Inside that trampoline LLVM may use the wide
//! registers, so the intrinsics compile to single instructions instead of calls.
//! Two rules follow, and breaking either silently costs ~30x (every intrinsic
//! becomes a function call; results stay correct):
//! * every function and closure on the path from `dispatch!` to an intrinsic
//!   must be inlined — generic helpers carry `#[inline(always)]`, closures
//!   passed to helpers are written `#[inline(always)] |v| ...`, and loops over
//!   vectors prefer the `softmax::vectors` iterator to callbacks;
//! * rayon must split work *outside* the dispatch: a rayon closure is a
//!   separate function without the target features.
//!
//! (`objdump -d ... | grep 'call.*core_arch'` on a release binary lists any
//! intrinsic that escaped inlining.)

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
pub(crate) mod portable;

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::Avx512;
pub(crate) use portable::Portable;

/// The widest vector any token uses, in `f32` lanes (sizes stack buffers).
pub(crate) const MAX_LANES: usize = 16;

/// Lane-wise `f32` operations on one vector register (or a stand-in for one).
pub(crate) trait Simd: Copy + Send + Sync + 'static {
    /// Number of `f32` lanes in [`Simd::V`].
    const LANES: usize;
    /// A vector of `LANES` floats.
    type V: Copy;
    /// The result of a lane-wise comparison.
    type M: Copy;

    fn splat(self, x: f32) -> Self::V;
    /// Load the first `LANES` elements of `src` (panics if it is shorter).
    fn load(self, src: &[f32]) -> Self::V;
    /// Store into the first `LANES` elements of `dst` (panics if it is shorter).
    fn store(self, dst: &mut [f32], v: Self::V);

    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c`, fused where the ISA has FMA.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    fn sqrt(self, a: Self::V) -> Self::V;
    fn abs(self, a: Self::V) -> Self::V;
    /// Round to nearest (ties to even). Only used for |a| < 2^22.
    fn round(self, a: Self::V) -> Self::V;
    /// `|mag|` with the sign bit of `sign`.
    fn copysign(self, mag: Self::V, sign: Self::V) -> Self::V;

    fn lt(self, a: Self::V, b: Self::V) -> Self::M;
    fn le(self, a: Self::V, b: Self::V) -> Self::M;
    fn eq(self, a: Self::V, b: Self::V) -> Self::M;
    fn is_nan(self, a: Self::V) -> Self::M;
    /// Lane-wise `if m { a } else { b }`.
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V;

    /// `2^n` for a vector of integral `n` in `[-126, 127]`, built from the bits.
    fn pow2i(self, n: Self::V) -> Self::V;
    /// `x · 2^n`, rounded once as IEEE multiplication rounds the exact
    /// product (a subnormal or infinite result included), for `x` in
    /// `[0.5, 2]` and integral `n` in `[-150, 129]` (what `exp` needs).
    /// Here: `2^n` in two halves, each a normal float, the first product
    /// exact; AVX-512 has one instruction for it.
    #[inline(always)]
    fn scale2(self, x: Self::V, n: Self::V) -> Self::V {
        let half = self.round(self.mul(n, self.splat(0.5)));
        let rest = self.sub(n, half);
        self.mul(self.mul(x, self.pow2i(half)), self.pow2i(rest))
    }
    /// Split a positive normal `x` into `(m, e)` with `x = m * 2^e`, `m` in `[0.5, 1)`.
    fn frexp(self, x: Self::V) -> (Self::V, Self::V);

    fn reduce_sum(self, v: Self::V) -> f32;
    fn reduce_max(self, v: Self::V) -> f32;
    fn reduce_min(self, v: Self::V) -> f32;

    #[inline(always)]
    fn zero(self) -> Self::V {
        self.splat(0.0)
    }

    #[inline(always)]
    fn neg(self, a: Self::V) -> Self::V {
        self.sub(self.zero(), a)
    }

    /// Load `n <= LANES` elements of `src`, filling missing lanes with `fill`.
    #[inline(always)]
    fn load_n(self, src: &[f32], n: usize, fill: f32) -> Self::V {
        if n == Self::LANES {
            self.load(src)
        } else {
            self.load_partial(&src[..n], fill)
        }
    }

    /// Load `src.len() < LANES` elements, filling the missing lanes with `fill`.
    #[inline(always)]
    fn load_partial(self, src: &[f32], fill: f32) -> Self::V {
        let mut buf = [fill; MAX_LANES];
        buf[..src.len()].copy_from_slice(src);
        self.load(&buf)
    }

    /// Store the first `dst.len() < LANES` lanes of `v`.
    #[inline(always)]
    fn store_partial(self, dst: &mut [f32], v: Self::V) {
        let mut buf = [0.0; MAX_LANES];
        self.store(&mut buf, v);
        let n = dst.len();
        dst.copy_from_slice(&buf[..n]);
    }
}

/// Run `$body` with `$s` bound to the token for `$isa`.
///
/// The body is expanded once per ISA; on x86-64 the AVX variants run inside a
/// `#[target_feature]` function so the inlined intrinsics become instructions.
macro_rules! dispatch {
    ($isa:expr, $s:ident => $body:expr) => {{
        match $isa {
            #[cfg(target_arch = "x86_64")]
            $crate::Isa::Avx512 => {
                // SAFETY: `isa()` and `with_isa` only ever yield `Avx512` when the CPU
                // reports AVX-512F, which is all this token's instructions need.
                let $s = unsafe { $crate::simd::Avx512::new_unchecked() };
                // SAFETY: same invariant: the CPU supports the trampoline's features.
                unsafe {
                    $crate::simd::avx512::run(
                        #[inline(always)]
                        || $body,
                    )
                }
            }
            #[cfg(target_arch = "x86_64")]
            $crate::Isa::Avx2Fma => {
                // SAFETY: `Avx2Fma` is only ever selected when the CPU reports AVX2 and FMA.
                let $s = unsafe { $crate::simd::Avx2::new_unchecked() };
                // SAFETY: same invariant: the CPU supports the trampoline's features.
                unsafe {
                    $crate::simd::avx2::run(
                        #[inline(always)]
                        || $body,
                    )
                }
            }
            $crate::Isa::Portable => {
                let $s = $crate::simd::Portable;
                $body
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => {
                let $s = $crate::simd::Portable;
                $body
            }
        }
    }};
}
pub(crate) use dispatch;
