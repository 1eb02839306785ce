//! Embedding gathers/scatters, gradient accumulation, optimizer steps and
//! random fills against `reference`, under every ISA; plus the ISA selection
//! itself.
//!
//! Gathers, scatters and random numbers must match exactly (they are copies,
//! single adds in the same order, and the same integer hash). Optimizer steps
//! allow 1e-5 relative: the fast path uses FMA and f32 where the reference
//! mixes in f64.

mod common;

use common::*;
use kernels_cpu::{self as k, reference as r, AdamParams, Isa};
use proptest::prelude::*;

/// `n` ids in `0..limit` (as exact floats), with repeats likely.
fn ids(n: usize, limit: usize) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec((0..limit.max(1)).prop_map(|v| v as f32), n)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn gather_and_scatter_match_reference(
        (vocab, dim, ids, seed) in (dim(), dim0(), dim0()).prop_flat_map(|(v, d, n)| (Just(v), Just(d), ids(n, v), any::<u64>()))
    ) {
        let n = ids.len();
        let table = det_floats(vocab * dim, seed, -1.0, 1.0);
        let grad = det_floats(n * dim, seed ^ 1, -1.0, 1.0);
        let mut want = vec![0.0; n * dim];
        r::gather_rows(&table, dim, &ids, &mut want);
        let mut want_tg = table.clone();
        r::scatter_add_rows(&grad, dim, &ids, &mut want_tg);
        each_isa(|isa| {
            let mut got = vec![f32::NAN; n * dim];
            k::gather_rows(&table, dim, &ids, &mut got);
            assert_close("gather_rows", isa, &got, &want, 0.0, 0.0);
            let mut tg = table.clone();
            k::scatter_add_rows(&grad, dim, &ids, &mut tg);
            assert_close("scatter_add_rows", isa, &tg, &want_tg, 0.0, 0.0);
        });
    }

    #[test]
    fn index_select_and_add_match_reference(
        (outer, len, inner, ids, seed) in (dim0(), dim(), dim0(), dim0())
            .prop_flat_map(|(o, l, i, n)| (Just(o), Just(l), Just(i), ids(n, l), any::<u64>()))
    ) {
        let n = ids.len();
        let x = det_floats(outer * len * inner, seed, -1.0, 1.0);
        let grad = det_floats(outer * n * inner, seed ^ 3, -1.0, 1.0);
        let mut want = vec![0.0; outer * n * inner];
        r::index_select(&x, outer, len, inner, &ids, &mut want);
        let mut want_gx = x.clone();
        r::index_add(&grad, outer, len, inner, &ids, &mut want_gx);
        each_isa(|isa| {
            let mut got = vec![f32::NAN; outer * n * inner];
            k::index_select(&x, outer, len, inner, &ids, &mut got);
            assert_close("index_select", isa, &got, &want, 0.0, 0.0);
            let mut gx = x.clone();
            k::index_add(&grad, outer, len, inner, &ids, &mut gx);
            assert_close("index_add", isa, &gx, &want_gx, 0.0, 0.0);
        });
    }

    #[test]
    fn adam_matches_reference(
        (p, g, m) in any_floats(-1.0, 1.0).prop_flat_map(|p| {
            let n = p.len();
            (Just(p), floats(n, -1.0, 1.0), floats(n, -0.1, 0.1))
        }),
        lr in 1e-4f32..1e-1,
        beta1 in prop::sample::select(vec![0.9f32, 0.5, 0.0]),
        beta2 in prop::sample::select(vec![0.999f32, 0.98]),
        eps in prop::sample::select(vec![1e-8f32, 1e-6]),
        weight_decay in prop::sample::select(vec![0.0f32, 0.01, 0.1]),
        decoupled in any::<bool>(),
        step in 1u64..2000,
    ) {
        let hp = AdamParams { lr, beta1, beta2, eps, weight_decay, decoupled, step };
        let v: Vec<f32> = m.iter().map(|x| x * x * 3.0).collect();
        let (mut wp, mut wm, mut wv) = (p.clone(), m.clone(), v.clone());
        r::adam_step(&mut wp, &g, &mut wm, &mut wv, &hp);
        each_isa(|isa| {
            let (mut gp, mut gm, mut gv) = (p.clone(), m.clone(), v.clone());
            k::adam_step(&mut gp, &g, &mut gm, &mut gv, &hp);
            assert_close("adam m", isa, &gm, &wm, 1e-5, 1e-7);
            assert_close("adam v", isa, &gv, &wv, 1e-5, 1e-9);
            assert_close("adam p", isa, &gp, &wp, 1e-5, 1e-5 * lr);
        });
    }

    #[test]
    fn sgd_matches_reference(
        (p, g, buf) in any_floats(-1.0, 1.0).prop_flat_map(|p| {
            let n = p.len();
            (Just(p), floats(n, -1.0, 1.0), floats(n, -1.0, 1.0))
        }),
        lr in 1e-3f32..1.0,
        momentum in prop::sample::select(vec![0.0f32, 0.9]),
        dampening in prop::sample::select(vec![0.0f32, 0.1]),
        weight_decay in prop::sample::select(vec![0.0f32, 0.05]),
        nesterov in any::<bool>(),
        first_step in any::<bool>(),
    ) {
        let mut wp = p.clone();
        let mut wb = buf.clone();
        r::sgd_step(&mut wp, &g, Some(&mut wb), lr, momentum, dampening, weight_decay, nesterov, first_step);
        each_isa(|isa| {
            let mut gp = p.clone();
            let mut gb = buf.clone();
            k::sgd_step(&mut gp, &g, Some(&mut gb), lr, momentum, dampening, weight_decay, nesterov, first_step);
            assert_close("sgd p", isa, &gp, &wp, 1e-5, 1e-6);
            assert_close("sgd buf", isa, &gb, &wb, 1e-5, 1e-6);
            let mut sp = p.clone();
            k::scale(&mut sp, lr);
            let mut sw = p.clone();
            r::scale(&mut sw, lr);
            assert_close("scale", isa, &sp, &sw, 0.0, 0.0);
        });
    }

    #[test]
    fn random_fills_match_reference(
        seed in any::<u64>(),
        offset in prop_oneof![0u64..1000, Just(u64::MAX - 5), (1u64 << 32) - 3..(1u64 << 32) + 3],
        n in 0usize..300,
        p in 0.0f32..1.0,
    ) {
        let x = det_floats(n, seed ^ 3, -1.0, 1.0);
        let mut want = vec![0.0; n];
        r::fill_normal(seed, offset, 1.0, 2.0, &mut want);
        let mut got = vec![0.0; n];
        k::fill_normal(seed, offset, 1.0, 2.0, &mut got);
        assert_close("fill_normal", Isa::Portable, &got, &want, 0.0, 0.0);
        // The hashed fills run a loop compiled per ISA: bit-exact on each.
        each_isa(|isa| {
            let (mut want, mut got) = (vec![0.0; n], vec![0.0; n]);
            r::fill_uniform(seed, offset, -2.0, 3.0, &mut want);
            k::fill_uniform(seed, offset, -2.0, 3.0, &mut got);
            assert_close("fill_uniform", isa, &got, &want, 0.0, 0.0);
            r::dropout_mask(seed, offset, p, &mut want);
            k::dropout_mask(seed, offset, p, &mut got);
            assert_close("dropout_mask", isa, &got, &want, 0.0, 0.0);
            for &v in &got {
                assert!(v == 0.0 || v == 1.0 / (1.0 - p), "{isa:?}: mask value {v}");
            }
            r::dropout_apply(seed, offset, p, &x, &mut want);
            k::dropout_apply(seed, offset, p, &x, &mut got);
            assert_close("dropout_apply", isa, &got, &want, 0.0, 0.0);
        });
        for i in 0..n.min(8) {
            prop_assert_eq!(k::hash_uniform(seed, offset.wrapping_add(i as u64)), r::hash_uniform(seed, offset.wrapping_add(i as u64)));
        }
    }

    #[test]
    fn add_into_block_matches_reference(
        (outer, full, start, len, inner, seed) in (dim0(), dim(), dim0()).prop_flat_map(|(o, f, i)| {
            (Just(o), Just(f), 0..f, Just(i), any::<u64>())
                .prop_flat_map(|(o, f, st, i, seed)| (Just(o), Just(f), Just(st), 0..=f - st, Just(i), Just(seed)))
        })
    ) {
        let dst = det_floats(outer * full * inner, seed, -1.0, 1.0);
        let src = det_floats(outer * len * inner, seed ^ 5, -1.0, 1.0);
        let mut want = dst.clone();
        r::add_into_block(&mut want, &src, outer, full, start, inner);
        each_isa(|isa| {
            let mut got = dst.clone();
            k::add_into_block(&mut got, &src, outer, full, start, inner);
            // One f32 add per element, as in the reference: bit-exact.
            assert_close("add_into_block", isa, &got, &want, 0.0, 0.0);
        });
    }
}

#[test]
fn large_fills_and_steps_match_reference() {
    let n = 100_003;
    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
    k::fill_normal(9, 17, 0.0, 1.0, &mut a);
    r::fill_normal(9, 17, 0.0, 1.0, &mut b);
    assert_eq!(a, b);
    // Statistics: mean 0, variance 1 (5 sigma bounds for n = 1e5).
    let mean = a.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let var = a.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    assert!(mean.abs() < 5.0 / (n as f64).sqrt(), "normal mean {mean}");
    assert!(
        (var - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
        "normal variance {var}"
    );
    k::fill_uniform(9, 0, 0.0, 1.0, &mut a);
    let mean = a.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    assert!(
        (mean - 0.5).abs() < 5.0 * (1.0 / 12.0 / n as f64).sqrt(),
        "uniform mean {mean}"
    );
    assert!(a.iter().all(|&v| (0.0..1.0).contains(&v)));
    k::dropout_mask(9, 0, 0.25, &mut a);
    let kept = a.iter().filter(|&&v| v != 0.0).count() as f64 / n as f64;
    assert!((kept - 0.75).abs() < 0.01, "dropout keep rate {kept}");
    // Parallel chunks of the fused dropout line up with the mask.
    let x = det_floats(n, 33, -1.0, 1.0);
    k::dropout_apply(9, 0, 0.25, &x, &mut b);
    r::dropout_apply(9, 0, 0.25, &x, &mut a);
    assert_eq!(a, b);

    let p = det_floats(n, 31, -1.0, 1.0);
    let g = det_floats(n, 32, -1.0, 1.0);
    let hp = AdamParams {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
        decoupled: true,
        step: 3,
    };
    let (mut wp, mut wm, mut wv) = (p.clone(), vec![0.01; n], vec![1e-4; n]);
    r::adam_step(&mut wp, &g, &mut wm, &mut wv, &hp);
    let mut table = vec![0.0; 64 * 1000];
    let ids: Vec<f32> = (0..2000).map(|i| (i * 37 % 64) as f32).collect();
    let rows = det_floats(2000 * 1000, 33, -1.0, 1.0);
    let mut want_rows = vec![0.0; 2000 * 1000];
    r::gather_rows(
        &det_floats(64 * 1000, 34, -1.0, 1.0),
        1000,
        &ids,
        &mut want_rows,
    );
    r::scatter_add_rows(&rows, 1000, &ids, &mut table);
    each_isa(|isa| {
        let (mut gp, mut gm, mut gv) = (p.clone(), vec![0.01; n], vec![1e-4; n]);
        k::adam_step(&mut gp, &g, &mut gm, &mut gv, &hp);
        assert_close("large adam", isa, &gp, &wp, 1e-5, 1e-8);
        let mut got = vec![0.0; 2000 * 1000];
        k::gather_rows(&det_floats(64 * 1000, 34, -1.0, 1.0), 1000, &ids, &mut got);
        assert_close("large gather", isa, &got, &want_rows, 0.0, 0.0);
        let mut t2 = vec![0.0; 64 * 1000];
        k::scatter_add_rows(&rows, 1000, &ids, &mut t2);
        assert_close("large scatter", isa, &t2, &table, 0.0, 0.0);
    });
}

/// Both rayon branches of `add_into_block` (one long run; many rows) and a
/// block that leaves columns on both sides untouched.
#[test]
fn large_add_into_block_matches_reference() {
    for (outer, full, start, len, inner) in [
        (1, 1, 0, 1, 70_001),
        (300, 7, 2, 3, 61),
        (64, 10, 9, 1, 768),
    ] {
        let dst = det_floats(outer * full * inner, 41, -1.0, 1.0);
        let src = det_floats(outer * len * inner, 42, -1.0, 1.0);
        let mut want = dst.clone();
        r::add_into_block(&mut want, &src, outer, full, start, inner);
        each_isa(|isa| {
            let mut got = dst.clone();
            k::add_into_block(&mut got, &src, outer, full, start, inner);
            assert_close("large add_into_block", isa, &got, &want, 0.0, 0.0);
        });
    }
}

#[test]
fn isa_selection() {
    let all = k::available_isas();
    assert_eq!(*all.last().unwrap(), Isa::Portable);
    assert!(all.contains(&k::isa()));
    for isa in [Isa::Avx512, Isa::Avx2Fma, Isa::Portable] {
        let seen = k::with_isa(isa, k::isa);
        // An unsupported request is lowered, never honoured.
        assert!(all.contains(&seen));
        if all.contains(&isa) {
            assert_eq!(seen, isa);
        }
        // Nested overrides restore the outer one.
        k::with_isa(Isa::Portable, || {
            k::with_isa(isa, || ());
            assert_eq!(k::isa(), Isa::Portable);
        });
    }
    assert_eq!(Isa::from_name("AVX2"), Some(Isa::Avx2Fma));
    assert_eq!(Isa::from_name("avx512"), Some(Isa::Avx512));
    assert_eq!(Isa::from_name("portable"), Some(Isa::Portable));
    assert_eq!(Isa::from_name("sse"), None);
    // The override is per thread: another thread sees the process-wide choice.
    let outer = k::isa();
    k::with_isa(Isa::Portable, || {
        assert_eq!(std::thread::spawn(k::isa).join().unwrap(), outer);
    });
}
