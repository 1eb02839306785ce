//! The register-blocked micro-kernels, one generic body for every ISA.
//!
//! [`Lanes`] is the handful of vector operations a GEMM micro-kernel needs
//! (load, broadcast, fused multiply-add, masked load/store), implemented for
//! 16-lane AVX-512, 8-lane AVX2+FMA and a plain-array portable stand-in. It is
//! deliberately separate from the crate's `simd::Simd` trait: the micro-kernel
//! works on raw pointers into the packed buffers (no bounds checks in the
//! innermost loop) and needs masked edge stores that `Simd` does not offer.
//!
//! [`tile`] computes one `R x (V * LANES)` block of C from an A sliver packed
//! `MR` rows wide and a B sliver packed `NR` columns wide; `R <= MR` and
//! `V * LANES <= NR` let the same packed data serve the edge tiles (a 5-row
//! remainder runs the `R = 4` and `R = 1` kernels instead of wasting 3 rows).
//!
//! Everything is `#[inline(always)]`: it is inlined into the
//! `#[target_feature]` entry points in `driver.rs`, which is what turns the
//! intrinsics into single instructions (see `simd/mod.rs`).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The vector operations of the micro-kernel. All methods are `unsafe`: the
/// pointers must be valid for the lanes touched, and the x86 implementations
/// must only run on a CPU with the matching features (guaranteed by the
/// `#[target_feature]` entry points, which `isa()` gates).
pub(super) trait Lanes: Copy {
    const L: usize;
    type V: Copy;
    unsafe fn zero() -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn bcast(p: *const f32) -> Self::V;
    unsafe fn splat(x: f32) -> Self::V;
    /// `a * b + c`
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// Load the first `n <= L` lanes (the rest are zero); touches only those.
    unsafe fn load_n(p: *const f32, n: usize) -> Self::V;
    /// Store the first `n <= L` lanes; touches only those.
    unsafe fn store_n(p: *mut f32, v: Self::V, n: usize);
    /// Hint that `p` will be read or written soon (a T0 prefetch where the
    /// ISA has one; it never faults, whatever the address).
    #[inline(always)]
    unsafe fn prefetch(_p: *const f32) {}
    /// Transpose an 8 x 8 block: `dst[k * ds + i] = src[i * ss + k]` for
    /// i, k < 8 (packing a transposed B). Element by element here; the x86
    /// ISAs shuffle in registers.
    #[inline(always)]
    unsafe fn transpose8(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
        for i in 0..8 {
            for k in 0..8 {
                *dst.add(k * ds + i) = *src.add(i * ss + k);
            }
        }
    }
}

/// The 8 x 8 transpose of [`Lanes::transpose8`] in AVX registers: 8 loads,
/// 24 shuffles, 8 stores instead of 64 scalar moves.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn transpose8_avx(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
    let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src.add(i * ss)));
    // Interleave row pairs: (r0 r1) → a0 b0 a1 b1 | a4 b4 a5 b5, ...
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    // Gather four rows per column within each 128-bit half.
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    // Join the halves: column k of the block becomes row k.
    let out = [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ];
    for (k, v) in out.into_iter().enumerate() {
        _mm256_storeu_ps(dst.add(k * ds), v);
    }
}

/// AVX-512F: 16 lanes, masks for the edges.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(super) struct Z16;

#[cfg(target_arch = "x86_64")]
impl Lanes for Z16 {
    const L: usize = 16;
    type V = __m512;
    #[inline(always)]
    unsafe fn zero() -> __m512 {
        _mm512_setzero_ps()
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn bcast(p: *const f32) -> __m512 {
        _mm512_set1_ps(*p)
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m512 {
        _mm512_set1_ps(x)
    }
    #[inline(always)]
    unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
        _mm512_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn mul(a: __m512, b: __m512) -> __m512 {
        _mm512_mul_ps(a, b)
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> __m512 {
        if n >= 16 {
            _mm512_loadu_ps(p)
        } else {
            _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p)
        }
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: __m512, n: usize) {
        if n >= 16 {
            _mm512_storeu_ps(p, v)
        } else {
            _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, v)
        }
    }
    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[inline(always)]
    unsafe fn transpose8(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
        // The AVX-512 entry point enables AVX2 too.
        transpose8_avx(src, ss, dst, ds)
    }
}

/// AVX2 + FMA: 8 lanes, `maskload`/`maskstore` for the edges.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(super) struct Y8;

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn ymask(n: usize) -> __m256i {
    // Lane i is on when i < n.
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

#[cfg(target_arch = "x86_64")]
impl Lanes for Y8 {
    const L: usize = 8;
    type V = __m256;
    #[inline(always)]
    unsafe fn zero() -> __m256 {
        _mm256_setzero_ps()
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn bcast(p: *const f32) -> __m256 {
        _mm256_broadcast_ss(&*p)
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m256 {
        _mm256_set1_ps(x)
    }
    #[inline(always)]
    unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
        _mm256_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn mul(a: __m256, b: __m256) -> __m256 {
        _mm256_mul_ps(a, b)
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> __m256 {
        if n >= 8 {
            _mm256_loadu_ps(p)
        } else {
            _mm256_maskload_ps(p, ymask(n))
        }
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: __m256, n: usize) {
        if n >= 8 {
            _mm256_storeu_ps(p, v)
        } else {
            _mm256_maskstore_ps(p, ymask(n), v)
        }
    }
    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[inline(always)]
    unsafe fn transpose8(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
        // Runs inside the AVX2 entry point.
        transpose8_avx(src, ss, dst, ds)
    }
}

/// Portable: 8 plain lanes that LLVM maps onto whatever SIMD the target has.
#[derive(Clone, Copy)]
pub(super) struct P8;

impl Lanes for P8 {
    const L: usize = 8;
    type V = [f32; 8];
    #[inline(always)]
    unsafe fn zero() -> [f32; 8] {
        [0.0; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 8] {
        (p as *const [f32; 8]).read_unaligned()
    }
    #[inline(always)]
    unsafe fn bcast(p: *const f32) -> [f32; 8] {
        [*p; 8]
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> [f32; 8] {
        [x; 8]
    }
    #[inline(always)]
    unsafe fn fma(a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        // Not fused: `f32::mul_add` is a libm call without hardware FMA.
        let mut r = c;
        for i in 0..8 {
            r[i] += a[i] * b[i];
        }
        r
    }
    #[inline(always)]
    unsafe fn mul(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        let mut r = a;
        for i in 0..8 {
            r[i] *= b[i];
        }
        r
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> [f32; 8] {
        let mut r = [0.0; 8];
        for (i, x) in r.iter_mut().enumerate().take(n.min(8)) {
            *x = *p.add(i);
        }
        r
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: [f32; 8], n: usize) {
        for (i, x) in v.iter().enumerate().take(n.min(8)) {
            *p.add(i) = *x;
        }
    }
}

/// One rank-1 update of the register tile: `acc[i] += a[i] * b[0..V*L]`.
#[inline(always)]
unsafe fn step<S: Lanes, const R: usize, const V: usize>(
    acc: &mut [[S::V; V]; R],
    a: *const f32,
    ars: usize,
    b: *const f32,
) {
    let mut bv = [S::zero(); V];
    for (v, x) in bv.iter_mut().enumerate() {
        *x = S::load(b.add(v * S::L));
    }
    for (i, row) in acc.iter_mut().enumerate() {
        let x = S::bcast(a.add(i * ars));
        for v in 0..V {
            row[v] = S::fma(x, bv[v], row[v]);
        }
    }
}

/// Where a micro-tile writes: `rows x cols` of C starting at `c` (row stride
/// `ldc`), as `C = alpha * acc + beta * C + bias` (`beta == 0`: C is not
/// read; a null `bias`: none, else the tile's first column's entry of a
/// row vector added to every row).
#[derive(Clone, Copy)]
pub(super) struct Out {
    pub c: *mut f32,
    pub ldc: usize,
    pub cols: usize,
    pub alpha: f32,
    pub beta: f32,
    pub bias: *const f32,
}

/// One `R x (V * L)` tile: `kc` rank-1 updates from the packed slivers `a`
/// (element `(i, p)` at `a[i * ars + p * acs]`) and `b` (stride `nr` floats
/// per step of k), then the alpha/beta write-back of the first `out.cols`
/// columns. `ars`/`acs` are compile-time constants after inlining, so the
/// broadcasts of A use fixed displacements from one pointer.
///
/// # Safety
/// `a` must cover `R` rows and `kc` steps at those strides, `b` must hold
/// `kc * nr` floats with `V * L <= nr`, and `out` must describe `R` valid rows
/// of at least `out.cols <= V * L` writable floats.
#[inline(always)]
pub(super) unsafe fn tile<S: Lanes, const R: usize, const V: usize>(
    kc: usize,
    a: *const f32,
    ars: usize,
    acs: usize,
    b: *const f32,
    nr: usize,
    out: Out,
) {
    for i in 0..R {
        S::prefetch(out.c.add(i * out.ldc));
        if out.cols > S::L {
            S::prefetch(out.c.add(i * out.ldc + out.cols - 1));
        }
    }
    let mut acc = [[S::zero(); V]; R];
    let (mut a, mut b) = (a, b);
    // Not unrolled by hand: with 24 accumulators live, unrolling makes LLVM
    // hoist the next steps' loads of B and spill accumulators to the stack.
    for _ in 0..kc {
        // Ask for B's row 16 steps ahead: when B is read in place (see
        // `direct_b` in driver.rs) its rows lie `nr` floats apart in a
        // weight matrix that is often cold in L3, and the hardware
        // prefetcher does not follow 128-byte reads a row apart (64 x 256 x
        // 768 from cold weights: 1.04-1.2x on 2 threads). Packed slivers
        // are contiguous and gain nothing, but lose nothing measurable.
        // (`wrapping_add`: the address may lie past the sliver's end.)
        S::prefetch(b.wrapping_add(16 * nr));
        if V > 1 {
            S::prefetch(b.wrapping_add(16 * nr + S::L));
        }
        step::<S, R, V>(&mut acc, a, ars, b);
        a = a.add(acs);
        b = b.add(nr);
    }
    // The rows are written with constant indices (R <= 12), so that every
    // access to `acc` is constant after inlining and LLVM keeps it in
    // registers. A loop over the rows left `acc` in a stack array that was
    // zeroed by a `memset` call on every tile.
    const { assert!(R <= 12) };
    macro_rules! write_rows {
        ($($i:literal)*) => {$(
            if $i < R {
                write_row::<S, V>(acc[$i], out.c.add($i * out.ldc), out);
            }
        )*};
    }
    write_rows!(0 1 2 3 4 5 6 7 8 9 10 11);
}

/// `C[row] = alpha * acc + beta * C[row] (+ bias)` for the first `out.cols`
/// columns.
#[inline(always)]
unsafe fn write_row<S: Lanes, const V: usize>(row: [S::V; V], p: *mut f32, out: Out) {
    let va = S::splat(out.alpha);
    for (v, &x) in row.iter().enumerate() {
        let lo = v * S::L;
        if lo >= out.cols {
            break;
        }
        let n = out.cols - lo;
        let y = if out.beta == 0.0 {
            S::mul(x, va)
        } else {
            S::fma(S::load_n(p.add(lo), n), S::splat(out.beta), S::mul(x, va))
        };
        let y = if out.bias.is_null() {
            y
        } else {
            S::fma(S::load_n(out.bias.add(lo), n), S::splat(1.0), y)
        };
        S::store_n(p.add(lo), y, n);
    }
}
