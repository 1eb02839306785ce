//! GEMM against the f64 triple loop, under every ISA.
//!
//! Tolerance per element: the standard forward-error bound for a dot product
//! of length k in f32, `|error| <= 2 (k + 2) eps (|alpha| sum_p |a_ip b_pj| + |beta c_ij|)`,
//! computed by running the reference on absolute values.

mod common;

use common::*;
use kernels_cpu::{self as k, reference as r};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    lda: usize,
    ldb: usize,
    ldc: usize,
    alpha: f32,
    beta: f32,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

fn span(rows: usize, cols: usize, ld: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * ld + cols
    }
}

fn case(batch: usize) -> impl Strategy<Value = Case> {
    let size = prop_oneof![6 => dim0(), 1 => 90usize..300];
    (
        any::<bool>(),
        any::<bool>(),
        size.clone(),
        size.clone(),
        size,
        0usize..3,
        0usize..3,
        0usize..3,
    )
        .prop_flat_map(move |(ta, tb, m, n, kk, pa, pb, pc)| {
            let (ar, ac) = if ta { (kk, m) } else { (m, kk) };
            let (br, bc) = if tb { (n, kk) } else { (kk, n) };
            let (lda, ldb, ldc) = (ac + pa, bc + pb, n + pc);
            (
                Just((ta, tb, m, n, kk, lda, ldb, ldc)),
                prop::sample::select(vec![1.0f32, -0.5, 2.0, 0.0]),
                prop::sample::select(vec![0.0f32, 1.0, 0.3]),
                floats(batch * span(ar, ac, lda), -1.0, 1.0),
                floats(batch * span(br, bc, ldb), -1.0, 1.0),
                floats(batch * span(m, n, ldc), -1.0, 1.0),
            )
        })
        .prop_map(
            |((ta, tb, m, n, k, lda, ldb, ldc), alpha, beta, a, b, c)| Case {
                ta,
                tb,
                m,
                n,
                k,
                lda,
                ldb,
                ldc,
                alpha,
                beta,
                a,
                b,
                c,
            },
        )
}

/// Every ISA, each through both paths: the default (small products skip
/// packing, gemm/small.rs) and the packed path forced for every size.
fn each_isa_and_path(mut f: impl FnMut(k::Isa)) {
    each_isa(|isa| {
        f(isa);
        k::with_packed_gemm(|| f(isa));
    });
}

fn abs(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| x.abs()).collect()
}

/// Per-element error bound (see the module docs); NaN-free by construction.
fn gemm_tol(cs: &Case) -> Vec<f32> {
    let mut t = abs(&cs.c);
    r::sgemm(
        cs.ta,
        cs.tb,
        cs.m,
        cs.n,
        cs.k,
        cs.alpha.abs(),
        &abs(&cs.a),
        cs.lda,
        &abs(&cs.b),
        cs.ldb,
        cs.beta.abs(),
        &mut t,
        cs.ldc,
    );
    let f = 2.0 * (cs.k as f32 + 2.0) * f32::EPSILON;
    t.iter().map(|v| v * f + 1e-30).collect()
}

/// `alpha op(A) op(B) + bias` by the reference (C overwritten), with its
/// error bound.
fn bias_reference(cs: &Case, bias: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let zeroed = Case {
        beta: 0.0,
        c: vec![0.0; cs.c.len()],
        ..cs.clone()
    };
    let mut want = cs.c.clone(); // the padding columns keep their values
    r::sgemm(
        cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, &cs.a, cs.lda, &cs.b, cs.ldb, 0.0, &mut want,
        cs.ldc,
    );
    let mut tol = gemm_tol(&zeroed);
    for i in 0..cs.m {
        for j in 0..cs.n {
            want[i * cs.ldc + j] += bias[j];
            tol[i * cs.ldc + j] += 2.0 * f32::EPSILON * bias[j].abs();
        }
    }
    (want, tol)
}

/// `sgemm_bias` with C poisoned (it must not be read) outside the padding.
fn run_bias(cs: &Case, bias: &[f32]) -> Vec<f32> {
    let mut got = cs.c.clone();
    let rows = if cs.n == 0 { 0 } else { cs.m };
    for i in 0..rows {
        got[i * cs.ldc..i * cs.ldc + cs.n].fill(f32::NAN);
    }
    k::sgemm_bias(
        cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, &cs.a, cs.lda, &cs.b, cs.ldb, bias, &mut got,
        cs.ldc,
    );
    for i in 0..rows {
        let row_end = cs.ldc.min(cs.c.len() - i * cs.ldc);
        for j in cs.n..row_end {
            assert_eq!(
                got[i * cs.ldc + j].to_bits(),
                cs.c[i * cs.ldc + j].to_bits(),
                "padding of C was written"
            );
        }
    }
    got
}

proptest! {
    #![proptest_config(config())]

    /// The bias of a Linear layer, added in the write-back of C: every
    /// shape, transpose, ISA and both paths (unpacked small products and
    /// the packed micro-kernels).
    #[test]
    fn sgemm_bias_matches_reference(cs in case(1), seed in any::<u64>()) {
        let bias = det_floats(cs.n, seed, -2.0, 2.0);
        let (want, tol) = bias_reference(&cs, &bias);
        each_isa_and_path(|isa| {
            let got = run_bias(&cs, &bias);
            let what = format!("sgemm_bias ta={} tb={} m={} n={} k={} alpha={}", cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha);
            assert_within(&what, isa, &got, &want, &tol);
        });
    }

    #[test]
    fn sgemm_matches_reference(cs in case(1)) {
        let mut want = cs.c.clone();
        r::sgemm(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, &cs.a, cs.lda, &cs.b, cs.ldb, cs.beta, &mut want, cs.ldc);
        let tol = gemm_tol(&cs);
        each_isa_and_path(|isa| {
            let mut got = cs.c.clone();
            if cs.beta == 0.0 && cs.n > 0 {
                // beta == 0 must not read C: poison everything C covers except
                // the padding columns, which must survive untouched.
                for i in 0..cs.m {
                    got[i * cs.ldc..i * cs.ldc + cs.n].fill(f32::NAN);
                }
            }
            k::sgemm(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, &cs.a, cs.lda, &cs.b, cs.ldb, cs.beta, &mut got, cs.ldc);
            let what = format!("sgemm ta={} tb={} m={} n={} k={} alpha={} beta={}", cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, cs.beta);
            assert_within(&what, isa, &got, &want, &tol);
        });
    }

    #[test]
    fn sgemm_batched_matches_reference(
        batch in 0usize..4,
        cs in case(3),
        bcast in (any::<bool>(), any::<bool>()),
    ) {
        let (ar, ac) = if cs.ta { (cs.k, cs.m) } else { (cs.m, cs.k) };
        let (br, bc) = if cs.tb { (cs.n, cs.k) } else { (cs.k, cs.n) };
        let sa = if bcast.0 { 0 } else { span(ar, ac, cs.lda) };
        let sb = if bcast.1 { 0 } else { span(br, bc, cs.ldb) };
        let sc = span(cs.m, cs.n, cs.ldc);
        let mut want = cs.c.clone();
        r::sgemm_batched(batch, cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, &cs.a, cs.lda, sa, &cs.b, cs.ldb, sb, cs.beta, &mut want, cs.ldc, sc);
        let f = 2.0 * (cs.k as f32 + 2.0) * f32::EPSILON;
        let mut tol = abs(&cs.c);
        r::sgemm_batched(batch, cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha.abs(), &abs(&cs.a), cs.lda, sa, &abs(&cs.b), cs.ldb, sb, cs.beta.abs(), &mut tol, cs.ldc, sc);
        let tol: Vec<f32> = tol.iter().map(|v| v * f + 1e-30).collect();
        each_isa_and_path(|isa| {
            let mut got = cs.c.clone();
            k::sgemm_batched(batch, cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, &cs.a, cs.lda, sa, &cs.b, cs.ldb, sb, cs.beta, &mut got, cs.ldc, sc);
            assert_within(&format!("sgemm_batched batch={batch} {:?}", (cs.ta, cs.tb, cs.m, cs.n, cs.k)), isa, &got, &want, &tol);
        });
    }
}

/// Sizes that cross every blocking boundary (KC = 384 on AVX-512 and 256
/// elsewhere, with depths split evenly; MC = 48, NC = 1024) and the
/// multi-threaded row and column splits.
#[test]
fn large_sgemm_matches_reference() {
    for (ta, tb, m, n, kk) in [
        (false, false, 197, 131, 300),
        (true, true, 101, 67, 513),
        (false, true, 3, 2100, 70),
        (true, false, 1, 1500, 257),
        (false, false, 61, 45, 385),
        (true, false, 29, 70, 1031),
    ] {
        let (ar, ac) = if ta { (kk, m) } else { (m, kk) };
        let (br, bc) = if tb { (n, kk) } else { (kk, n) };
        let cs = Case {
            ta,
            tb,
            m,
            n,
            k: kk,
            lda: ac,
            ldb: bc,
            ldc: n,
            alpha: 0.7,
            beta: 0.5,
            a: det_floats(ar * ac, 21, -1.0, 1.0),
            b: det_floats(br * bc, 22, -1.0, 1.0),
            c: det_floats(m * n, 23, -1.0, 1.0),
        };
        let mut want = cs.c.clone();
        r::sgemm(
            ta, tb, m, n, kk, cs.alpha, &cs.a, cs.lda, &cs.b, cs.ldb, cs.beta, &mut want, cs.ldc,
        );
        let tol = gemm_tol(&cs);
        each_isa(|isa| {
            let mut got = cs.c.clone();
            k::sgemm(
                ta, tb, m, n, kk, cs.alpha, &cs.a, cs.lda, &cs.b, cs.ldb, cs.beta, &mut got, cs.ldc,
            );
            assert_within(
                &format!("large sgemm {:?}", (ta, tb, m, n, kk)),
                isa,
                &got,
                &want,
                &tol,
            );
        });
    }
    // Many small products: the batch-parallel path.
    let (batch, m, n, kk) = (64, 20, 24, 33);
    let a = det_floats(batch * m * kk, 24, -1.0, 1.0);
    let b = det_floats(kk * n, 25, -1.0, 1.0);
    let mut want = vec![0.0; batch * m * n];
    r::sgemm_batched(
        batch,
        false,
        false,
        m,
        n,
        kk,
        1.0,
        &a,
        kk,
        m * kk,
        &b,
        n,
        0,
        0.0,
        &mut want,
        n,
        m * n,
    );
    each_isa(|isa| {
        let mut got = vec![f32::NAN; batch * m * n];
        k::sgemm_batched(
            batch,
            false,
            false,
            m,
            n,
            kk,
            1.0,
            &a,
            kk,
            m * kk,
            &b,
            n,
            0,
            0.0,
            &mut got,
            n,
            m * n,
        );
        assert_close("batched small", isa, &got, &want, 1e-5, 1e-5);
    });
}

/// Dimensions right at the blocking boundaries of every ISA's micro-kernel
/// (MR = 12 / 6 / 4, NR = 32 / 16 / 8) and cache blocks (KC = 384 / 256 / 256,
/// MC = 48 / 48 / 64, NC = 1024 is crossed by the deterministic tests), plus 1
/// and primes.
fn edge_dim() -> impl Strategy<Value = usize> {
    prop::sample::select(vec![
        1usize, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 41, 47, 48,
        49, 53, 63, 64, 65, 95, 96, 97, 101, 119, 120, 121, 127, 191, 192, 193, 255, 256, 257, 263,
        383, 384, 385,
    ])
}

fn run_case(cs: &Case) {
    let mut want = cs.c.clone();
    r::sgemm(
        cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, &cs.a, cs.lda, &cs.b, cs.ldb, cs.beta, &mut want,
        cs.ldc,
    );
    let tol = gemm_tol(cs);
    each_isa(|isa| {
        let mut got = cs.c.clone();
        if cs.beta == 0.0 {
            for i in 0..cs.m {
                got[i * cs.ldc..i * cs.ldc + cs.n].fill(f32::NAN);
            }
        }
        k::sgemm(
            cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, &cs.a, cs.lda, &cs.b, cs.ldb, cs.beta,
            &mut got, cs.ldc,
        );
        let what = format!(
            "sgemm ta={} tb={} m={} n={} k={} lda={} ldb={} ldc={} alpha={} beta={}",
            cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.lda, cs.ldb, cs.ldc, cs.alpha, cs.beta
        );
        assert_within(&what, isa, &got, &want, &tol);
    });
}

#[allow(clippy::too_many_arguments)]
fn det_case(
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    kk: usize,
    pad: usize,
    alpha: f32,
    beta: f32,
    seed: u64,
) -> Case {
    let (ar, ac) = if ta { (kk, m) } else { (m, kk) };
    let (br, bc) = if tb { (n, kk) } else { (kk, n) };
    let (lda, ldb, ldc) = (ac + pad, bc + pad, n + pad);
    Case {
        ta,
        tb,
        m,
        n,
        k: kk,
        lda,
        ldb,
        ldc,
        alpha,
        beta,
        a: det_floats(span(ar, ac, lda), seed, -1.0, 1.0),
        b: det_floats(span(br, bc, ldb), seed + 1, -1.0, 1.0),
        c: det_floats(span(m, n, ldc), seed + 2, -1.0, 1.0),
    }
}

proptest! {
    #![proptest_config(config())]

    /// Shapes at the micro-tile and cache-block edges, every transpose
    /// combination, padded leading dimensions, alpha/beta (beta == 0 on a
    /// NaN-poisoned C).
    #[test]
    fn sgemm_tile_edges_match_reference(
        ta in any::<bool>(),
        tb in any::<bool>(),
        m in edge_dim(),
        n in edge_dim(),
        kk in edge_dim(),
        pad in 0usize..3,
        alpha in prop::sample::select(vec![1.0f32, -0.5, 2.0]),
        beta in prop::sample::select(vec![0.0f32, 1.0, -0.3]),
        seed in 0u64..1000,
    ) {
        run_case(&det_case(ta, tb, m, n, kk, pad, alpha, beta, seed));
    }
}

/// Every transpose combination on shapes that cross each blocking boundary
/// at once and take both multi-threaded splits (rows when m >= n, columns
/// otherwise), including the small-M model shape family.
#[test]
fn sgemm_all_transposes_across_blocks() {
    let shapes = [
        (1, 1, 1),
        (1, 97, 300),
        (97, 1, 300),
        (7, 401, 257),
        (203, 149, 263),
        (64, 1000, 96),
        (389, 61, 520),
        (48, 48, 48),
    ];
    let mut seed = 100;
    for &(m, n, kk) in &shapes {
        for ta in [false, true] {
            for tb in [false, true] {
                for (alpha, beta) in [(1.0, 0.0), (-0.7, 0.4)] {
                    seed += 3;
                    run_case(&det_case(ta, tb, m, n, kk, 1, alpha, beta, seed));
                }
            }
        }
    }
}

/// A row-major A is read in place unless its rows lie a multiple of 4 KiB
/// apart; then it is packed into the rows layout. Both, across blocks of
/// rows and slices of k, with both transposes of B.
#[test]
fn sgemm_row_major_a_in_place_and_packed() {
    let mut seed = 500;
    // (m, n, k, pad): lda = k + pad = 1024 and 2048 floats (packed), 1000 (in place).
    for &(m, n, kk, pad) in &[
        (100, 70, 300, 724),
        (61, 90, 1024, 0),
        (100, 70, 300, 1748),
        (100, 70, 300, 700),
    ] {
        for tb in [false, true] {
            seed += 3;
            run_case(&det_case(false, tb, m, n, kk, pad, 0.9, 0.3, seed));
        }
    }
}

/// alpha == 0 and k == 0 scale C without reading A or B (NaN in A and B must
/// not leak); beta == 0 there zeroes C even when it held NaN.
#[test]
fn sgemm_alpha_zero_and_empty_k() {
    let (m, n, kk) = (13, 17, 5);
    let a = vec![f32::NAN; m * kk];
    let b = vec![f32::NAN; kk * n];
    each_isa(|isa| {
        for (alpha, kk) in [(0.0f32, kk), (1.0, 0)] {
            let mut c = vec![2.0f32; m * n];
            k::sgemm(
                false,
                false,
                m,
                n,
                kk,
                alpha,
                &a,
                kk.max(1),
                &b,
                n,
                0.5,
                &mut c,
                n,
            );
            assert_close(
                "alpha0 / k0, beta 0.5",
                isa,
                &c,
                &vec![1.0; m * n],
                0.0,
                0.0,
            );
            let mut c = vec![f32::NAN; m * n];
            k::sgemm(
                false,
                false,
                m,
                n,
                kk,
                alpha,
                &a,
                kk.max(1),
                &b,
                n,
                0.0,
                &mut c,
                n,
            );
            assert_close("alpha0 / k0, beta 0", isa, &c, &vec![0.0; m * n], 0.0, 0.0);
        }
    });
}

/// Strided batches with broadcast (stride 0) A or B, large enough per matrix
/// to take the multi-threaded path inside each product.
#[test]
fn sgemm_batched_broadcast_large() {
    let (batch, m, n, kk) = (3, 70, 150, 260);
    for (sa_on, sb_on, tb) in [
        (true, false, false),
        (false, true, true),
        (true, true, false),
    ] {
        let sa = if sa_on { m * kk } else { 0 };
        let sb = if sb_on { kk * n } else { 0 };
        let a = det_floats(m * kk * if sa_on { batch } else { 1 }, 31, -1.0, 1.0);
        let b = det_floats(kk * n * if sb_on { batch } else { 1 }, 32, -1.0, 1.0);
        let ldb = if tb { kk } else { n };
        let mut want = vec![0.0; batch * m * n];
        r::sgemm_batched(
            batch,
            false,
            tb,
            m,
            n,
            kk,
            1.0,
            &a,
            kk,
            sa,
            &b,
            ldb,
            sb,
            0.0,
            &mut want,
            n,
            m * n,
        );
        each_isa(|isa| {
            let mut got = vec![f32::NAN; batch * m * n];
            k::sgemm_batched(
                batch,
                false,
                tb,
                m,
                n,
                kk,
                1.0,
                &a,
                kk,
                sa,
                &b,
                ldb,
                sb,
                0.0,
                &mut got,
                n,
                m * n,
            );
            assert_close("batched broadcast", isa, &got, &want, 1e-4, 1e-4);
        });
    }
}

/// Large enough to be split across 2 threads, by rows and by columns, and
/// deeper than one slice of k (the bias must be added once, with the first
/// slice, and at each thread's own columns).
#[test]
fn sgemm_bias_across_threads_and_slices_of_k() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    for (ta, tb, m, n, kk) in [
        (false, true, 300, 700, 600),
        (true, false, 700, 300, 600),
        (false, false, 5, 999, 520),
    ] {
        let (ar, ac) = if ta { (kk, m) } else { (m, kk) };
        let (br, bc) = if tb { (n, kk) } else { (kk, n) };
        let cs = Case {
            ta,
            tb,
            m,
            n,
            k: kk,
            lda: ac,
            ldb: bc,
            ldc: n + 3,
            alpha: 0.7,
            beta: 0.0,
            a: det_floats(ar * ac, 31, -1.0, 1.0),
            b: det_floats(br * bc, 32, -1.0, 1.0),
            c: det_floats(m * (n + 3), 33, -1.0, 1.0),
        };
        let bias = det_floats(n, 34, -2.0, 2.0);
        let (want, tol) = bias_reference(&cs, &bias);
        each_isa(|isa| {
            let got = pool.install(|| run_bias(&cs, &bias));
            assert_within(&format!("sgemm_bias {m}x{n}x{kk}"), isa, &got, &want, &tol);
        });
    }
}

/// One operand of a head product: its layout and buffer, with matrix
/// `(s, h)` stored `rows x cols` (before any transpose).
fn head_operand(
    merged: bool,
    seqs: usize,
    heads: usize,
    rows: usize,
    cols: usize,
    seed: u64,
) -> (k::HeadMats, Vec<f32>) {
    let lay = match merged {
        true => k::HeadMats::merged(rows, heads, cols),
        false => k::HeadMats::split(rows, heads, cols),
    };
    (lay, det_floats(seqs * lay.per_seq, seed, -2.0, 2.0))
}

/// Matrix `(s, h)` of an operand, copied out contiguously (row stride `cols`).
fn head_matrix(
    x: &[f32],
    lay: k::HeadMats,
    s: usize,
    h: usize,
    rows: usize,
    cols: usize,
) -> Vec<f32> {
    let base = s * lay.per_seq + h * lay.per_head;
    (0..rows)
        .flat_map(|i| x[base + i * lay.ld..base + i * lay.ld + cols].to_vec())
        .collect()
}

proptest! {
    #![proptest_config(config())]

    /// Per-head products in every mix of merged (`[B, T, H·d]`) and split
    /// (`[B, H, T, d]`) layouts and transposes equal one reference product
    /// per (sequence, head), and write every element of C.
    #[test]
    fn sgemm_heads_matches_reference(
        seqs in 1usize..5,
        heads in 1usize..5,
        (m, n, kk) in (dim(), dim(), dim()),
        (ta, tb) in (any::<bool>(), any::<bool>()),
        (ma, mb, mc) in (any::<bool>(), any::<bool>(), any::<bool>()),
        seed in any::<u64>(),
    ) {
        let (ar, ac) = if ta { (kk, m) } else { (m, kk) };
        let (br, bc) = if tb { (n, kk) } else { (kk, n) };
        let (la, a) = head_operand(ma, seqs, heads, ar, ac, seed);
        let (lb, b) = head_operand(mb, seqs, heads, br, bc, seed ^ 1);
        let lc = match mc {
            true => k::HeadMats::merged(m, heads, n),
            false => k::HeadMats::split(m, heads, n),
        };
        let alpha = 0.75;
        let mut want = vec![0.0; seqs * lc.per_seq];
        let mut tol = vec![0.0; seqs * lc.per_seq];
        for s in 0..seqs {
            for h in 0..heads {
                let am = head_matrix(&a, la, s, h, ar, ac);
                let bm = head_matrix(&b, lb, s, h, br, bc);
                let (mut cw, mut ct) = (vec![0.0; m * n], vec![0.0; m * n]);
                r::sgemm(ta, tb, m, n, kk, alpha, &am, ac, &bm, bc, 0.0, &mut cw, n);
                r::sgemm(ta, tb, m, n, kk, alpha, &abs(&am), ac, &abs(&bm), bc, 0.0, &mut ct, n);
                let base = s * lc.per_seq + h * lc.per_head;
                for i in 0..m {
                    want[base + i * lc.ld..][..n].copy_from_slice(&cw[i * n..][..n]);
                    tol[base + i * lc.ld..][..n].copy_from_slice(&ct[i * n..][..n]);
                }
            }
        }
        for t in tol.iter_mut() {
            *t = 2.0 * (kk as f32 + 2.0) * f32::EPSILON * *t + 1e-30;
        }
        each_isa(|isa| {
            let mut got = vec![f32::NAN; want.len()];
            k::sgemm_heads(seqs, heads, (ta, tb), [m, n, kk], alpha, (&a, la), (&b, lb), (&mut got, lc));
            let what = format!("sgemm_heads {seqs}x{heads} ta={ta} tb={tb} m={m} n={n} k={kk} merged={ma},{mb},{mc}");
            assert_within(&what, isa, &got, &want, &tol);
        });
    }
}
