//! The blocked loop nest and the packing routines, generic over a blocking
//! [`Config`] (micro-tile shape, cache block sizes, vector type) and
//! monomorphised once per ISA inside a `#[target_feature]` entry point.
//!
//! ```text
//! for jc in 0..n step NC                      one B panel: KC x NC (L2/L3)
//!   for pc in 0..k step KC
//!     for ic in 0..m step MC                  one A block: MC x KC (L2), packed
//!                                             (all m rows when m <= 2 MC)
//!       for jr in 0..NC step NR               one B sliver: KC x NR (L1);
//!                                             the panel is packed on the first ic
//!         for ir in 0..MC step MR             one MR x NR tile of C: micro-kernel
//! ```

use super::kernel::{tile, Lanes, Out, P8};
#[cfg(target_arch = "x86_64")]
use super::kernel::{Y8, Z16};
use super::View;
use std::cell::Cell;

/// A blocking scheme for one ISA.
pub(super) trait Config {
    type S: Lanes;
    /// Rows of the register tile (the packed A sliver width).
    const MR: usize;
    /// Columns of the register tile (the packed B sliver width).
    const NR: usize;
    /// Depth of one packed slice of k.
    const KC: usize;
    /// Rows of C per packed A block (a multiple of MR).
    const MC: usize;
    /// Columns of C per packed B panel (a multiple of NR).
    const NC: usize;
}

macro_rules! config {
    ($(#[$doc:meta])* $name:ident, $s:ty, MR = $mr:expr, NV = $nv:expr, KC = $kc:expr, MC = $mc:expr, NC = $nc:expr) => {
        $(#[$doc])*
        pub(super) struct $name;
        impl Config for $name {
            type S = $s;
            const MR: usize = $mr;
            const NR: usize = $nv * <$s as Lanes>::L;
            const KC: usize = $kc;
            const MC: usize = $mc;
            const NC: usize = $nc;
        }
    };
}

#[cfg(target_arch = "x86_64")]
config!(
    /// AVX-512: 12 x 32 tile = 24 zmm accumulators, 2 loads of B + 12
    /// broadcasts per 24 FMAs. MC = 48 (an A block of ~52 KiB) is faster
    /// than 96 or 192 on large squares (docs/kernels/gemm.md). KC = 384
    /// (depths split evenly, at most 384) beats 256 on the output-layer
    /// products and the GRU training step although its 48 KiB sliver of B
    /// overflows a 32 KiB L1: each sliver is read once per tile of A rows
    /// either way, and deeper blocks halve the C reloads and the packing
    /// calls.
    Avx512Cfg, Z16, MR = 12, NV = 2, KC = 384, MC = 48, NC = 1024
);
#[cfg(target_arch = "x86_64")]
config!(
    /// AVX2: 6 x 16 tile = 12 ymm accumulators (+2 for B, +1 broadcast).
    Avx2Cfg, Y8, MR = 6, NV = 2, KC = 256, MC = 48, NC = 1024
);
config!(
    /// Portable: 4 x 8 tile of plain arrays (fits 16 SSE registers).
    PortableCfg, P8, MR = 4, NV = 1, KC = 256, MC = 64, NC = 1024
);

/// The MR/NR of the configuration an ISA uses (for splitting work into tiles).
pub(super) fn tile_shape(isa: crate::Isa) -> (usize, usize) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        crate::Isa::Avx512 => (Avx512Cfg::MR, Avx512Cfg::NR),
        #[cfg(target_arch = "x86_64")]
        crate::Isa::Avx2Fma => (Avx2Cfg::MR, Avx2Cfg::NR),
        _ => (PortableCfg::MR, PortableCfg::NR),
    }
}

/// `R`-row tile with as many vectors as the live columns need.
#[inline(always)]
unsafe fn tile_v<S: Lanes, const R: usize, const NV: usize>(
    kc: usize,
    a: *const f32,
    (ars, acs): (usize, usize),
    b: *const f32,
    nr: usize,
    out: Out,
) {
    match out.cols.div_ceil(S::L) {
        1 if NV > 1 => tile::<S, R, 1>(kc, a, ars, acs, b, nr, out),
        2 if NV > 2 => tile::<S, R, 2>(kc, a, ars, acs, b, nr, out),
        _ => tile::<S, R, NV>(kc, a, ars, acs, b, nr, out),
    }
}

/// One micro-tile of `rows <= MR` rows: full tiles run the `MR`-row kernel,
/// remainders are split into 8/4/2/1-row kernels (no wasted rows, no scalar
/// fallback).
#[inline(always)]
unsafe fn micro<C: Config, const MR: usize, const NV: usize>(
    kc: usize,
    a: *const f32,
    ast: (usize, usize),
    (b, bst): (*const f32, usize),
    rows: usize,
    out: Out,
) {
    if rows == MR {
        return tile_v::<C::S, MR, NV>(kc, a, ast, b, bst, out);
    }
    let mut r0 = 0;
    while r0 < rows {
        let left = rows - r0;
        let o = Out {
            c: out.c.add(r0 * out.ldc),
            ..out
        };
        let ap = a.add(r0 * ast.0);
        let take = if left >= 8 && MR > 8 {
            tile_v::<C::S, 8, NV>(kc, ap, ast, b, bst, o);
            8
        } else if left >= 4 {
            tile_v::<C::S, 4, NV>(kc, ap, ast, b, bst, o);
            4
        } else if left >= 2 {
            tile_v::<C::S, 2, NV>(kc, ap, ast, b, bst, o);
            2
        } else {
            tile_v::<C::S, 1, NV>(kc, ap, ast, b, bst, o);
            1
        };
        r0 += take;
    }
}

/// Pack rows `i0..i0+mc`, depth `p0..p0+kc` of op(A) into MR-row slivers of
/// `slen` floats each; element `(i, p)` of a sliver sits at `i * ars + p * acs`:
///
/// * rows layout, `(ars, acs) = (kcs, 1)`, when A is not transposed: each of
///   the MR rows is a plain copy of `kc` contiguous values, rows `kcs >= kc`
///   apart — packing is a memcpy, and the micro-kernel's broadcasts read MR
///   short streams;
/// * interleaved layout, `(1, MR)`, when A is transposed: `kc` groups of MR
///   values, one per row — again contiguous copies, since op(A)'s columns are
///   contiguous then.
///
/// Rows past `mc` are never read (edge tiles run fewer-row kernels).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn pack_a(
    a: View,
    i0: usize,
    p0: usize,
    mc: usize,
    kc: usize,
    mr: usize,
    kcs: usize,
    slen: usize,
    out: &mut [f32],
) {
    if a.rs == 1 && a.cs != 1 {
        // Interleaved layout, op(A)'s columns contiguous: visit each row of
        // the stored A once for the whole block, handing `mr` values to
        // each sliver (a sliver at a time visited every row once per sliver).
        for p in 0..kc {
            let base = (p0 + p) * a.cs + i0;
            for (q, src) in a.data[base..base + mc].chunks(mr).enumerate() {
                copy_padded(src, &mut out[q * slen + p * mr..][..mr]);
            }
        }
        return;
    }
    for (q, sliver) in out[..mc.div_ceil(mr) * slen]
        .chunks_exact_mut(slen)
        .enumerate()
    {
        let r0 = i0 + q * mr;
        let live = mr.min(i0 + mc - r0);
        if a.cs == 1 {
            for i in 0..live {
                let base = (r0 + i) * a.rs + p0;
                sliver[i * kcs..i * kcs + kc].copy_from_slice(&a.data[base..base + kc]);
            }
        } else {
            // General strides (not produced by the public API): element-wise.
            for (p, dst) in sliver.chunks_exact_mut(mr).take(kc).enumerate() {
                for (i, d) in dst.iter_mut().enumerate().take(live) {
                    *d = a.data[(r0 + i) * a.rs + (p0 + p) * a.cs];
                }
            }
        }
    }
}

/// Pack depth `p0..p0+kc`, columns `j0..j0+cols` (`cols <= nr`) of op(B) into
/// one sliver of `kc` rows of `nr` values, columns past `cols` zero.
#[inline(always)]
fn pack_b<S: Lanes>(
    b: View,
    p0: usize,
    j0: usize,
    kc: usize,
    cols: usize,
    nr: usize,
    out: &mut [f32],
) {
    let out = &mut out[..kc * nr];
    if b.cs == 1 {
        for (p, dst) in out.chunks_exact_mut(nr).enumerate() {
            let base = (p0 + p) * b.rs + j0;
            copy_padded(&b.data[base..base + cols], dst);
        }
    } else {
        // op(B) columns are contiguous when B is stored transposed.
        let mut j = 0;
        if b.rs == 1 {
            // Blocks of 8 columns x 8 depths, transposed in registers (the
            // forward of every `x Wᵀ` packs its weights this way).
            while j + 8 <= cols {
                let src = &b.data[(j0 + j) * b.cs + p0..];
                let mut p = 0;
                while p + 8 <= kc {
                    // Fetch the next group's 8 rows a line at a time while
                    // this group is transposed: each row is one short read
                    // (`kc` floats), too short for the hardware prefetcher
                    // to catch (the forward `h Wᵀ` of a recurrent step from
                    // a cold W: 1.04-1.09x).
                    if p % 16 == 0 {
                        for t in 8..16 {
                            // SAFETY: a prefetch never faults, in bounds or not.
                            unsafe { S::prefetch(src.as_ptr().wrapping_add(t * b.cs + p)) };
                        }
                    }
                    // In bounds: rows j..j+8 of the transposed B hold depths
                    // p0..p0+kc, and the sliver holds kc rows of nr >= j + 8.
                    assert!(7 * b.cs + p + 8 <= src.len() && (p + 7) * nr + j + 8 <= out.len());
                    // SAFETY: both blocks were just checked to be in bounds;
                    // `S`'s ISA is enabled by the entry point running this.
                    unsafe {
                        S::transpose8(
                            src.as_ptr().add(p),
                            b.cs,
                            out.as_mut_ptr().add(p * nr + j),
                            nr,
                        )
                    };
                    p += 8;
                }
                for p in p..kc {
                    for t in 0..8 {
                        out[p * nr + j + t] = src[t * b.cs + p];
                    }
                }
                j += 8;
            }
            // Four columns at a time: four contiguous reads, one 16-byte write.
            while j + 4 <= cols {
                let s: [&[f32]; 4] = std::array::from_fn(|t| {
                    let base = (j0 + j + t) * b.cs + p0;
                    &b.data[base..base + kc]
                });
                for (p, dst) in out.chunks_exact_mut(nr).enumerate() {
                    let d = &mut dst[j..j + 4];
                    d[0] = s[0][p];
                    d[1] = s[1][p];
                    d[2] = s[2][p];
                    d[3] = s[3][p];
                }
                j += 4;
            }
        }
        for jj in j..cols {
            let base = (j0 + jj) * b.cs + p0 * b.rs;
            for (p, dst) in out.chunks_exact_mut(nr).enumerate() {
                dst[jj] = b.data[base + p * b.rs];
            }
        }
        if cols < nr {
            for dst in out.chunks_exact_mut(nr) {
                dst[cols..].fill(0.0);
            }
        }
    }
}

/// `dst = [src, 0, 0, ...]` for `src.len() <= dst.len()`. The full-width
/// case is split out so that, with `dst.len()` a constant after inlining
/// (the NR of a sliver), it compiles to a couple of vector moves: the general
/// `copy_from_slice` + `fill` is a `memmove` and a `memset` call per 128-byte
/// row, enough to make packing B show in a training step's profile.
#[inline(always)]
fn copy_padded(src: &[f32], dst: &mut [f32]) {
    if src.len() == dst.len() {
        dst.copy_from_slice(src);
    } else {
        dst[..src.len()].copy_from_slice(src);
        dst[src.len()..].fill(0.0);
    }
}

/// Pack the whole `kc x nc` panel of op(B) at `(p0, j0)` into `nr`-wide
/// slivers. When B's rows are contiguous, walk them row by row across all
/// slivers: long sequential reads the hardware prefetcher can follow (a
/// sliver at a time would be `kc` short reads on `kc` different pages).
#[inline(always)]
fn pack_b_panel<S: Lanes>(
    b: View,
    p0: usize,
    j0: usize,
    kc: usize,
    nc: usize,
    nr: usize,
    out: &mut [f32],
) {
    if b.cs == 1 && nc > nr {
        let slivers = nc.div_ceil(nr);
        let out = &mut out[..slivers * kc * nr];
        for p in 0..kc {
            let base = (p0 + p) * b.rs + j0;
            let row = &b.data[base..base + nc];
            for (q, src) in row.chunks(nr).enumerate() {
                copy_padded(src, &mut out[(q * kc + p) * nr..][..nr]);
            }
        }
    } else {
        for jr in (0..nc).step_by(nr) {
            let cols = nr.min(nc - jr);
            pack_b::<S>(b, p0, j0 + jr, kc, cols, nr, &mut out[jr / nr * kc * nr..]);
        }
    }
}

/// A 64-byte aligned chunk, so packed slivers start on cache lines.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

thread_local! {
    /// Packing space, reused across calls on this thread.
    static PACK: Cell<Vec<Line>> = const { Cell::new(Vec::new()) };
}

/// This thread's packing space, taken from the thread-local cache for one
/// product and put back on drop. (A guard rather than a closure: a closure
/// would be compiled without the caller's target features.)
struct Buffers {
    lines: Vec<Line>,
    la: usize,
}

impl Buffers {
    /// Room for `na` + `nb` floats, each part 64-byte aligned.
    #[inline(always)]
    fn take(na: usize, nb: usize) -> Self {
        let (la, lb) = (na.div_ceil(16), nb.div_ceil(16));
        let mut lines = PACK.with(|p| p.take());
        if lines.len() < la + lb {
            lines = vec![Line([0.0; 16]); la + lb];
        }
        Buffers { lines, la }
    }

    #[inline(always)]
    fn split(&mut self) -> (&mut [f32], &mut [f32]) {
        let (x, y) = self.lines.split_at_mut(self.la);
        // SAFETY: `Line` is 16 plain f32 with no padding (repr C, size 64).
        unsafe {
            (
                std::slice::from_raw_parts_mut(x.as_mut_ptr() as *mut f32, x.len() * 16),
                std::slice::from_raw_parts_mut(y.as_mut_ptr() as *mut f32, y.len() * 16),
            )
        }
    }
}

impl Drop for Buffers {
    fn drop(&mut self) {
        let lines = std::mem::take(&mut self.lines);
        PACK.with(|p| p.set(lines));
    }
}

/// The whole blocked product for one block of C (`m x n`, starting at `c`),
/// plus `bias` (`n` floats, or null) on every row.
///
/// # Safety
/// `c` must be valid for writes to `m` rows of `n` floats with row stride
/// `ldc`, and no other thread may touch those elements meanwhile; `a` and `b`
/// must cover `op(A)` (`m x k`) and `op(B)` (`k x n`); `k > 0`; a non-null
/// `bias` must hold `n` floats.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn serial<C: Config, const MR: usize, const NV: usize>(
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    bias: *const f32,
) {
    const {
        assert!(C::MR == MR && C::NR == NV * <C::S as Lanes>::L);
        assert!(C::MC % MR == 0 && C::NC % (NV * <C::S as Lanes>::L) == 0);
    }
    // Depth per block: at most KC, split evenly so that no block is a
    // shallow remainder (K = 5000 runs as 14 blocks of 360 (the last 320)
    // rather than 19 of 256 and one of 136; K = 640 as 2 x 320).
    let kcb = k.div_ceil(k.div_ceil(C::KC)).next_multiple_of(8).min(C::KC);
    let (nr, kcm) = (C::NR, k.min(kcb));
    // Row pitch of the rows layout: a constant (so the kernel's broadcasts use
    // fixed offsets), padded by a cache line so rows do not alias in L1.
    let kcs = C::KC + 16;
    let slen = if a.cs == 1 { MR * kcs } else { kcm * MR };
    // Rows of C per packed A block: MC, or all of them when they fit in two
    // blocks, so that every sliver of B serves all rows while it is in L1
    // (split at MC, the 64-row products of a recurrent step would run as
    // 48 + 16 rows, the second block reusing each sliver for two tiles).
    let one_block = m <= 2 * C::MC;
    let mcb = if one_block {
        m
    } else if a.rs == 1 && a.cs != 1 {
        // Transposed A (the ∂W = Gᵀ X of every Linear layer): packing reads
        // `mc` contiguous floats from each of `kc` rows of G, rows that lie a
        // whole layer width apart (20 KB for a 5,000-word output layer), and
        // stalls on every one. Four times the rows per block read four
        // times the lines per visit; split evenly so no block is a sliver.
        let cap = 4 * C::MC;
        m.div_ceil(m.div_ceil(cap)).next_multiple_of(MR)
    } else {
        C::MC
    };
    let na = slen * m.min(mcb).div_ceil(MR);
    let nb = kcm * n.min(C::NC).next_multiple_of(nr);
    // With few rows of C (one block of at most 2 MC rows), each sliver of B
    // serves at most 2 MC / MR tiles: packing it costs about what reading it does, so
    // when op(B)'s rows are contiguous the kernel reads full slivers of B in
    // place, `b.rs` apart (the backward products of a recurrent step,
    // 64 x 256 x 768); edge slivers are packed.
    let direct_b = b.cs == 1 && one_block;
    // A row-major A is read where it is, `a.rs` floats per row, instead of
    // being copied into the rows layout: the copy reads and writes every
    // element once more per panel of B, and a block of A's rows stays in
    // L2 across the slivers of B either way (2 threads: 640 x 5000 x 512
    // 1.05x, 640 x 512 x 5000 1.07x, 1280 x 256 x 5000 1.1x, the rest
    // 1.0-1.05x). Not when rows lie a multiple of 4 KiB apart: the 12 rows
    // of a tile would then share one L1 set (1280 x 256 x 1024: 0.97x).
    let a_in_place = a.cs == 1 && !(a.rs * 4).is_multiple_of(4096);
    let mut bufs = Buffers::take(if a_in_place { 0 } else { na }, nb);
    let (apack, bpack) = bufs.split();
    {
        for jc in (0..n).step_by(C::NC) {
            let nc = C::NC.min(n - jc);
            for pc in (0..k).step_by(kcb) {
                let kc = kcb.min(k - pc);
                // Later slices of k accumulate onto the first one's result.
                let beta = if pc == 0 { beta } else { 1.0 };
                for ic in (0..m).step_by(mcb) {
                    let mc = mcb.min(m - ic);
                    let slen = if a.cs == 1 { slen } else { kc * MR };
                    if !a_in_place {
                        pack_a(a, ic, pc, mc, kc, MR, kcs, slen, apack);
                    }
                    // With one block no second block would reuse a packed
                    // panel: each sliver is packed just before its tiles use
                    // it, so it is still in L1 (1.01-1.06x on the 64-row
                    // `h Wᵀ` products).
                    if ic == 0 && !direct_b && !one_block {
                        pack_b_panel::<C::S>(b, pc, jc, kc, nc, nr, bpack);
                    }
                    for jr in (0..nc).step_by(nr) {
                        let cols = nr.min(nc - jr);
                        let bs = match (direct_b, cols == nr) {
                            // Full slivers in place: rows of B, b.rs apart.
                            (true, true) => (b.data[pc * b.rs + jc + jr..].as_ptr(), b.rs),
                            (true, false) => {
                                pack_b::<C::S>(b, pc, jc + jr, kc, cols, nr, bpack);
                                (bpack.as_ptr(), nr)
                            }
                            _ if one_block => {
                                pack_b::<C::S>(b, pc, jc + jr, kc, cols, nr, bpack);
                                (bpack.as_ptr(), nr)
                            }
                            _ => (bpack[jr / nr * kc * nr..][..kc * nr].as_ptr(), nr),
                        };
                        for ir in (0..mc).step_by(MR) {
                            let out = Out {
                                c: c.add((ic + ir) * ldc + jc + jr),
                                ldc,
                                cols,
                                alpha,
                                beta,
                                // Added once, with the first slice of k.
                                bias: match bias.is_null() || pc > 0 {
                                    true => std::ptr::null(),
                                    false => bias.add(jc + jr),
                                },
                            };
                            let ap = apack.as_ptr().add(ir / MR * slen);
                            let rows = MR.min(mc - ir);
                            // Two call sites with constant strides: each
                            // instantiation sees its layout as constants.
                            if a_in_place {
                                let ap = a.data[(ic + ir) * a.rs + pc..].as_ptr();
                                micro::<C, MR, NV>(kc, ap, (a.rs, 1), bs, rows, out);
                            } else if a.cs == 1 {
                                micro::<C, MR, NV>(kc, ap, (kcs, 1), bs, rows, out);
                            } else {
                                micro::<C, MR, NV>(kc, ap, (1, MR), bs, rows, out);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Arguments of one serial block product (see [`serial`]).
#[derive(Clone, Copy)]
pub(super) struct Job<'a> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub a: View<'a>,
    pub b: View<'a>,
    pub beta: f32,
    pub c: *mut f32,
    pub ldc: usize,
    /// `n` floats added to every row of C, or null.
    pub bias: *const f32,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_avx512(j: Job) {
    serial::<Avx512Cfg, 12, 2>(j.m, j.n, j.k, j.alpha, j.a, j.b, j.beta, j.c, j.ldc, j.bias)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2(j: Job) {
    serial::<Avx2Cfg, 6, 2>(j.m, j.n, j.k, j.alpha, j.a, j.b, j.beta, j.c, j.ldc, j.bias)
}

unsafe fn run_portable(j: Job) {
    serial::<PortableCfg, 4, 1>(j.m, j.n, j.k, j.alpha, j.a, j.b, j.beta, j.c, j.ldc, j.bias)
}

/// Run one block product with the kernels of `isa`.
///
/// # Safety
/// As for [`serial`]; `isa` must be supported by the CPU (what `isa()` returns).
pub(super) unsafe fn run(isa: crate::Isa, j: Job) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        crate::Isa::Avx512 => run_avx512(j),
        #[cfg(target_arch = "x86_64")]
        crate::Isa::Avx2Fma => run_avx2(j),
        _ => run_portable(j),
    }
}
