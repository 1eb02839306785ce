//! `topk_rows` and `log_softmax_topk` against the sorting reference, under
//! every ISA: rows of 1, primes and non-multiples of the vector width,
//! values drawn from a few levels (ties) with non-finite entries mixed in.
//! The fused kernel must give exactly the bits of `log_softmax` followed by
//! `topk_rows`, so beam search picks the same candidates either way.

mod common;

use common::*;
use kernels_cpu::{self as k, reference as r};
use proptest::prelude::*;

/// `(rows, cols, k, data)`: entries from a coarse grid (many ties), some
/// NaN or ±∞ when `specials`.
fn case(specials: bool) -> impl Strategy<Value = (usize, usize, usize, Vec<f32>)> {
    (1usize..6, prop_oneof![3 => dim(), 1 => 64usize..700]).prop_flat_map(move |(rows, cols)| {
        // one entry in nine is NaN, +∞ or -∞ when `specials`
        let special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        let entry = (0usize..27, -40i32..40).prop_map(move |(pick, level)| match pick {
            0..3 if specials => special[pick],
            _ => level as f32 * 0.25,
        });
        (
            Just(rows),
            Just(cols),
            1usize..=cols.min(12),
            prop::collection::vec(entry, rows * cols),
        )
    })
}

fn run(
    f: fn(&[f32], usize, usize, &mut [f32], &mut [f32]),
    x: &[f32],
    cols: usize,
    k: usize,
) -> (Vec<f32>, Vec<f32>) {
    let n = x.len() / cols * k;
    let (mut v, mut i) = (vec![f32::NAN; n], vec![f32::NAN; n]);
    f(x, cols, k, &mut v, &mut i);
    (v, i)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn topk_matches_the_sorted_rows((_rows, cols, kk, x) in case(true)) {
        let want = run(r::topk_rows, &x, cols, kk);
        each_isa(|isa| {
            let got = run(k::topk_rows, &x, cols, kk);
            assert_eq!(got.1, want.1, "indices under {isa:?}");
            assert_eq!(bits(&got.0), bits(&want.0), "values under {isa:?}");
        });
    }

    #[test]
    fn log_softmax_topk_is_log_softmax_then_topk((rows, cols, kk, x) in case(false)) {
        each_isa(|isa| {
            let mut ls = vec![0.0; x.len()];
            k::log_softmax(&x, rows, cols, &mut ls);
            let want = run(k::topk_rows, &ls, cols, kk);
            let got = run(k::log_softmax_topk, &x, cols, kk);
            assert_eq!(got.1, want.1, "indices under {isa:?}");
            assert_eq!(bits(&got.0), bits(&want.0), "values under {isa:?}");
        });
    }
}

/// Rows long and many enough to be split across threads give the bits of
/// one thread.
#[test]
fn threads_do_not_change_the_result() {
    let (rows, cols, kk) = (97, 5003, 10);
    let x = det_floats(rows * cols, 3, -8.0, 8.0);
    let pick = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| run(k::log_softmax_topk, &x, cols, kk))
    };
    let one = pick(1);
    assert_eq!(one, pick(3));
    let mut ls = vec![0.0; x.len()];
    k::log_softmax(&x, rows, cols, &mut ls);
    assert_eq!(one, run(k::topk_rows, &ls, cols, kk));
}
