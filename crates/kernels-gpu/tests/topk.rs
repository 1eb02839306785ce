//! `topk_rows` against a host reference with the same order (higher value
//! first, lower index on ties, non-finite last): rows of one entry, primes,
//! more entries than a workgroup, many ties, NaN and -∞, k from 1 to the
//! whole row.

mod common;

use common::{data, down, out, up};
use kernels_gpu::{topk_rows, TOPK_NONE};

/// The host's answer: stable sort by value (descending), non-finite as NONE.
fn reference(row: &[f32], k: usize) -> (Vec<f32>, Vec<f32>) {
    let key = |v: f32| if v.is_finite() { v } else { TOPK_NONE };
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| key(row[b]).total_cmp(&key(row[a])).then(a.cmp(&b)));
    let top = &order[..k];
    (
        top.iter().map(|&i| key(row[i])).collect(),
        top.iter().map(|&i| i as f32).collect(),
    )
}

#[test]
fn topk_matches_the_host_order_with_ties_and_non_finite_entries() {
    let Some(_) = common::gpu() else { return };
    for (rows, cols, k) in [
        (1, 1, 1),
        (3, 7, 3),
        (2, 257, 10),
        (5, 5000, 10),
        (4, 13, 13),
        (70_000, 3, 2),
    ] {
        let mut x = data(rows * cols, (rows * 31 + cols) as u64, -4.0, 4.0);
        for (i, v) in x.iter_mut().enumerate() {
            match i % 11 {
                0 => *v = (*v).round(), // ties
                3 => *v = -1.0,
                5 if i % 7 == 0 => *v = f32::NAN,
                6 if i % 5 == 0 => *v = f32::NEG_INFINITY,
                _ => {}
            }
        }
        let (values, indices) = (out(rows * k), out(rows * k));
        topk_rows(&up(&x), (rows, cols), k, &values, &indices).unwrap();
        let (got_v, got_i) = (down(&values), down(&indices));
        for r in 0..rows {
            let (want_v, want_i) = reference(&x[r * cols..(r + 1) * cols], k);
            let at = r * k..(r + 1) * k;
            assert_eq!(
                got_i[at.clone()],
                want_i[..],
                "indices, row {r} of {rows}x{cols}, k {k}"
            );
            assert_eq!(
                got_v[at],
                want_v[..],
                "values, row {r} of {rows}x{cols}, k {k}"
            );
        }
    }
}

#[test]
fn topk_refuses_k_outside_the_row() {
    let Some(_) = common::gpu() else { return };
    let (x, v, i) = (up(&[1.0, 2.0]), out(3), out(3));
    let e = topk_rows(&x, (1, 2), 3, &v, &i).unwrap_err().to_string();
    assert!(e.contains("1 ≤ k ≤ 2"), "{e}");
    assert!(topk_rows(&x, (1, 2), 0, &v, &i).is_err());
}
