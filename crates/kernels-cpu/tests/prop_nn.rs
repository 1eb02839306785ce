//! Softmax, layer norm and cross-entropy (forward and backward) against
//! `reference`, under every ISA.
//!
//! Tolerances come from the f32 rounding of the intermediate sums: 1e-5
//! relative plus a small absolute term scaled by the row's magnitude.

mod common;

use common::*;
use kernels_cpu::{self as k, reference as r};
use proptest::prelude::*;

/// `(rows, cols, data)` with data in `[-lo, hi)`.
fn matrix(lo: f32, hi: f32) -> impl Strategy<Value = (usize, usize, Vec<f32>)> {
    (prop_oneof![Just(0usize), 1usize..6], cols())
        .prop_flat_map(move |(rr, c)| (Just(rr), Just(c), floats(rr * c, lo, hi)))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn softmax_family_matches_reference((rows, cols, x) in matrix(-30.0, 30.0), seed in any::<u64>()) {
        let n = rows * cols;
        let gy = det_floats(n, seed, -1.0, 1.0);
        let (mut y, mut ly) = (vec![0.0; n], vec![0.0; n]);
        r::softmax(&x, rows, cols, &mut y);
        r::log_softmax(&x, rows, cols, &mut ly);
        let (mut gx, mut lgx) = (vec![0.0; n], vec![0.0; n]);
        r::softmax_backward(&y, &gy, rows, cols, &mut gx);
        r::log_softmax_backward(&ly, &gy, rows, cols, &mut lgx);
        each_isa(|isa| {
            let mut got = vec![f32::NAN; n];
            k::softmax(&x, rows, cols, &mut got);
            assert_close("softmax", isa, &got, &y, 1e-5, 1e-7);
            k::log_softmax(&x, rows, cols, &mut got);
            assert_close("log_softmax", isa, &got, &ly, 1e-5, 1e-5);
            k::softmax_backward(&y, &gy, rows, cols, &mut got);
            assert_close("softmax_backward", isa, &got, &gx, 1e-5, 1e-6);
            k::log_softmax_backward(&ly, &gy, rows, cols, &mut got);
            assert_close("log_softmax_backward", isa, &got, &lgx, 1e-5, 1e-6 * cols as f32);
        });
    }

    #[test]
    fn layer_norm_matches_reference(
        (rows, cols, noise) in matrix(-1.0, 1.0),
        offset in -5.0f32..5.0,
        spread in 0.5f32..5.0,
        affine in (any::<bool>(), any::<bool>()),
        eps in prop::sample::select(vec![1e-5f32, 1e-12, 0.1]),
        seed in any::<u64>(),
    ) {
        let n = rows * cols;
        let x: Vec<f32> = noise.iter().map(|v| offset + spread * v).collect();
        let gamma = det_floats(cols, seed, 0.5, 2.0);
        let beta = det_floats(cols, seed ^ 1, -1.0, 1.0);
        let gy = det_floats(n, seed ^ 2, -1.0, 1.0);
        let g = affine.0.then_some(&gamma[..]);
        let b = affine.1.then_some(&beta[..]);
        let (mut y, mut mean, mut rstd) = (vec![0.0; n], vec![0.0; rows], vec![0.0; rows]);
        r::layer_norm(&x, g, b, rows, cols, eps, &mut y, &mut mean, &mut rstd);
        let (mut gx, mut gg, mut gb) = (vec![0.0; n], vec![0.0; cols], vec![0.0; cols]);
        r::layer_norm_backward(&x, g, &mean, &rstd, &gy, rows, cols, &mut gx, Some(&mut gg), Some(&mut gb));
        each_isa(|isa| {
            let (mut y2, mut m2, mut s2) = (vec![f32::NAN; n], vec![f32::NAN; rows], vec![f32::NAN; rows]);
            k::layer_norm(&x, g, b, rows, cols, eps, &mut y2, &mut m2, &mut s2);
            assert_close("layer_norm mean", isa, &m2, &mean, 1e-5, 1e-5);
            assert_close("layer_norm rstd", isa, &s2, &rstd, 1e-4, 0.0);
            assert_close("layer_norm y", isa, &y2, &y, 1e-4, 1e-4);
            let (mut gx2, mut gg2, mut gb2) = (vec![f32::NAN; n], vec![f32::NAN; cols], vec![f32::NAN; cols]);
            k::layer_norm_backward(&x, g, &mean, &rstd, &gy, rows, cols, &mut gx2, Some(&mut gg2), Some(&mut gb2));
            let max_rstd = rstd.iter().fold(1.0f32, |m, &v| m.max(v));
            assert_close("layer_norm_backward gx", isa, &gx2, &gx, 1e-4, 1e-5 * max_rstd);
            assert_close("layer_norm_backward ggamma", isa, &gg2, &gg, 1e-4, 1e-5);
            assert_close("layer_norm_backward gbeta", isa, &gb2, &gb, 1e-5, 1e-5);
            // Without the parameter gradients, gx must not change.
            k::layer_norm_backward(&x, g, &mean, &rstd, &gy, rows, cols, &mut gx2, None, None);
            assert_close("layer_norm_backward gx only", isa, &gx2, &gx, 1e-4, 1e-5 * max_rstd);
        });
    }

    #[test]
    fn cross_entropy_matches_reference(
        (rows, cols, x) in matrix(-20.0, 20.0),
        smoothing in prop::sample::select(vec![0.0f32, 0.1, 0.37]),
        seed in any::<u64>(),
    ) {
        prop_assume!(cols > 0);
        let ignore = -100i64;
        let mut t = det_floats(rows, seed, 0.0, cols as f32 + 1.0);
        for v in t.iter_mut() {
            // One row in `cols + 1` is ignored.
            *v = if *v as usize >= cols { ignore as f32 } else { v.floor() };
        }
        let gloss = det_floats(rows, seed ^ 5, -2.0, 2.0);
        let (mut loss, mut lse) = (vec![0.0; rows], vec![0.0; rows]);
        let counted = r::cross_entropy(&x, &t, rows, cols, ignore, smoothing, &mut loss, &mut lse);
        let mut gx = vec![0.0; rows * cols];
        r::cross_entropy_backward(&x, &t, &lse, &gloss, rows, cols, ignore, smoothing, &mut gx);
        each_isa(|isa| {
            let (mut l2, mut s2) = (vec![f32::NAN; rows], vec![f32::NAN; rows]);
            let c2 = k::cross_entropy(&x, &t, rows, cols, ignore, smoothing, &mut l2, &mut s2);
            assert_eq!(c2, counted);
            assert_close("cross_entropy lse", isa, &s2, &lse, 1e-6, 1e-5);
            assert_close("cross_entropy loss", isa, &l2, &loss, 1e-5, 2e-5);
            let mut g2 = vec![f32::NAN; rows * cols];
            k::cross_entropy_backward(&x, &t, &lse, &gloss, rows, cols, ignore, smoothing, &mut g2);
            assert_close("cross_entropy_backward", isa, &g2, &gx, 1e-5, 1e-6);
        });
    }
}

/// Row-parallel paths: enough rows to cross the rayon threshold.
#[test]
fn large_row_kernels_match_reference() {
    let (rows, cols) = (203, 517);
    let n = rows * cols;
    let x = det_floats(n, 11, -8.0, 8.0);
    let gy = det_floats(n, 12, -1.0, 1.0);
    let gamma = det_floats(cols, 13, 0.5, 1.5);
    let (mut y, mut y2) = (vec![0.0; n], vec![0.0; n]);
    r::softmax(&x, rows, cols, &mut y);
    let (mut mean, mut rstd) = (vec![0.0; rows], vec![0.0; rows]);
    let mut ln = vec![0.0; n];
    r::layer_norm(
        &x,
        Some(&gamma),
        None,
        rows,
        cols,
        1e-5,
        &mut ln,
        &mut mean,
        &mut rstd,
    );
    let (mut gx, mut gg) = (vec![0.0; n], vec![0.0; cols]);
    r::layer_norm_backward(
        &x,
        Some(&gamma),
        &mean,
        &rstd,
        &gy,
        rows,
        cols,
        &mut gx,
        Some(&mut gg),
        None,
    );
    let t: Vec<f32> = (0..rows).map(|i| (i * 7 % cols) as f32).collect();
    let (mut loss, mut lse) = (vec![0.0; rows], vec![0.0; rows]);
    r::cross_entropy(&x, &t, rows, cols, -1, 0.1, &mut loss, &mut lse);
    each_isa(|isa| {
        k::softmax(&x, rows, cols, &mut y2);
        assert_close("large softmax", isa, &y2, &y, 1e-5, 1e-7);
        let (mut m2, mut s2) = (vec![0.0; rows], vec![0.0; rows]);
        k::layer_norm(
            &x,
            Some(&gamma),
            None,
            rows,
            cols,
            1e-5,
            &mut y2,
            &mut m2,
            &mut s2,
        );
        assert_close("large layer_norm", isa, &y2, &ln, 1e-4, 1e-4);
        let mut gg2 = vec![0.0; cols];
        k::layer_norm_backward(
            &x,
            Some(&gamma),
            &mean,
            &rstd,
            &gy,
            rows,
            cols,
            &mut y2,
            Some(&mut gg2),
            None,
        );
        assert_close("large layer_norm_backward", isa, &y2, &gx, 1e-4, 1e-5);
        assert_close("large layer_norm ggamma", isa, &gg2, &gg, 1e-4, 1e-4);
        let (mut l2, mut e2) = (vec![0.0; rows], vec![0.0; rows]);
        k::cross_entropy(&x, &t, rows, cols, -1, 0.1, &mut l2, &mut e2);
        assert_close("large cross_entropy", isa, &l2, &loss, 1e-5, 2e-5);
    });
}

proptest! {
    #![proptest_config(config())]

    /// The fused GRU cell (forward and backward) against the f64 reference,
    /// on row counts 0..6 and hidden sizes from `cols()` (1, primes, lane
    /// multiples ± 1), under every ISA.
    #[test]
    fn gru_cell_matches_reference(rows in 0usize..6, hidden in cols(), seed in any::<u64>()) {
        let (g3, g1) = (rows * 3 * hidden, rows * hidden);
        let gi = det_floats(g3, seed, -3.0, 3.0);
        let gh = det_floats(g3, seed ^ 1, -3.0, 3.0);
        let h = det_floats(g1, seed ^ 2, -1.0, 1.0);
        let g = det_floats(g1, seed ^ 3, -1.0, 1.0);
        let (mut out, mut ws) = (vec![0.0; g1], vec![0.0; 4 * g1]);
        r::gru_cell(&gi, &gh, &h, rows, hidden, &mut out, &mut ws);
        let (mut dgi, mut dgh, mut dh) = (vec![0.0; g3], vec![0.0; g3], vec![0.0; g1]);
        r::gru_cell_backward(&ws, &h, &g, rows, hidden, &mut dgi, &mut dgh, &mut dh);
        each_isa(|isa| {
            let (mut o2, mut w2) = (vec![f32::NAN; g1], vec![f32::NAN; 4 * g1]);
            k::gru_cell(&gi, &gh, &h, rows, hidden, &mut o2, &mut w2);
            assert_close("gru_cell", isa, &o2, &out, 1e-5, 1e-6);
            assert_close("gru_cell workspace", isa, &w2, &ws, 1e-5, 1e-6);
            let (mut a, mut b, mut c) = (vec![f32::NAN; g3], vec![f32::NAN; g3], vec![f32::NAN; g1]);
            k::gru_cell_backward(&ws, &h, &g, rows, hidden, &mut a, &mut b, &mut c);
            assert_close("gru_cell d_gi", isa, &a, &dgi, 1e-5, 1e-6);
            assert_close("gru_cell d_gh", isa, &b, &dgh, 1e-5, 1e-6);
            assert_close("gru_cell d_h", isa, &c, &dh, 1e-5, 1e-6);
        });
    }

    /// The fused additive attention score and its gradients on batches 0..6,
    /// 1-3 query steps, source lengths 1..12 and attention sizes from
    /// `cols()`, under every ISA.
    #[test]
    fn additive_score_matches_reference(
        batch in 0usize..6,
        tq in 1usize..4,
        s in 1usize..12,
        a in cols(),
        seed in any::<u64>(),
    ) {
        let sz = k::Additive { batch, tq, s, a };
        let (nq, nk, ne) = (batch * tq * a, batch * s * a, batch * tq * s);
        let q = det_floats(nq, seed, -2.0, 2.0);
        let kk = det_floats(nk, seed ^ 1, -2.0, 2.0);
        let v = det_floats(a, seed ^ 2, -1.0, 1.0);
        let g = det_floats(ne, seed ^ 3, -1.0, 1.0);
        let mut e = vec![0.0; ne];
        r::additive_score(sz, &q, &kk, &v, &mut e);
        let (mut dq, mut dk, mut dv) = (vec![0.0; nq], vec![0.0; nk], vec![0.0; a]);
        r::additive_score_backward(sz, &q, &kk, &v, &g, &mut dq, &mut dk, &mut dv);
        // Sums of `a` (scores), `s` or `tq` (dq, dk) and B·Tq·S (dv) terms.
        let eps = 2e-6;
        each_isa(|isa| {
            let mut got = vec![f32::NAN; ne];
            k::additive_score(sz, &q, &kk, &v, &mut got);
            assert_close("additive_score", isa, &got, &e, 1e-5, eps * a as f32);
            let (mut gq, mut gk, mut gv) = (vec![f32::NAN; nq], vec![f32::NAN; nk], vec![f32::NAN; a]);
            k::additive_score_backward(sz, &q, &kk, &v, &g, &mut gq, &mut gk, &mut gv);
            assert_close("additive_score dq", isa, &gq, &dq, 1e-5, eps * s as f32);
            assert_close("additive_score dk", isa, &gk, &dk, 1e-5, eps * tq as f32);
            assert_close("additive_score dv", isa, &gv, &dv, 1e-5, eps * ne as f32);
        });
    }
}

/// At a decoder step's size (B = 64, S = 10, A = 256) the kernels split the
/// batch across threads: same numbers as the reference, and bit for bit the
/// same on 1 and 3 threads (the `∂v` partial sums are added in task order).
#[test]
fn additive_score_threads_agree_with_each_other_and_the_reference() {
    let sz = k::Additive {
        batch: 64,
        tq: 1,
        s: 10,
        a: 256,
    };
    let (nq, nk, ne) = (64 * 256, 64 * 10 * 256, 64 * 10);
    let q = det_floats(nq, 7, -2.0, 2.0);
    let kk = det_floats(nk, 8, -2.0, 2.0);
    let v = det_floats(256, 9, -1.0, 1.0);
    let g = det_floats(ne, 10, -1.0, 1.0);
    let (mut e, mut dq, mut dk, mut dv) =
        (vec![0.0; ne], vec![0.0; nq], vec![0.0; nk], vec![0.0; 256]);
    r::additive_score(sz, &q, &kk, &v, &mut e);
    r::additive_score_backward(sz, &q, &kk, &v, &g, &mut dq, &mut dk, &mut dv);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut got = vec![0.0; ne];
            k::additive_score(sz, &q, &kk, &v, &mut got);
            let (mut gq, mut gk, mut gv) = (vec![0.0; nq], vec![0.0; nk], vec![0.0; 256]);
            k::additive_score_backward(sz, &q, &kk, &v, &g, &mut gq, &mut gk, &mut gv);
            (got, gq, gk, gv)
        })
    };
    let one = run(1);
    assert!(one == run(3), "1 and 3 threads differ");
    let isa = k::isa();
    assert_close("additive_score", isa, &one.0, &e, 1e-5, 5e-4);
    assert_close("additive_score dq", isa, &one.1, &dq, 1e-5, 2e-5);
    assert_close("additive_score dk", isa, &one.2, &dk, 1e-5, 2e-6);
    assert_close("additive_score dv", isa, &one.3, &dv, 1e-5, 2e-3);
}
