//! Every fused op of the host backend against the trait's composed default,
//! run on the same host buffers: the default is what a backend without a
//! fused kernel (the GPU today) computes, so the two must agree. Sizes
//! include 1, primes and widths that are not multiples of a SIMD register.

use super::composed;
use super::*;
use kernels_cpu::{Additive, HeadMats};

fn host(n: usize, seed: u64) -> HostBuf {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let data = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect();
    HostBuf::new(data)
}

fn assert_close(what: &str, fused: &HostBuf, composed: &HostBuf) {
    let (f, c) = (fused.read(), composed.read());
    assert_eq!(f.len(), c.len(), "{what}: lengths differ");
    for (i, (a, b)) in f.iter().zip(c.iter()).enumerate() {
        let tol = 1e-5 * (1.0 + a.abs().max(b.abs()));
        assert!(
            (a - b).abs() <= tol,
            "{what}: element {i}: fused {a} vs composed {b}"
        );
    }
}

const SHAPES: [(usize, usize, usize); 4] = [(1, 1, 1), (3, 5, 7), (17, 2, 33), (4, 13, 16)];

#[test]
fn linear_adds_the_bias_as_the_composed_form_does() {
    for (i, &(rows, out_f, in_f)) in SHAPES.iter().enumerate() {
        let seed = i as u64 * 10;
        let (x, w, b) = (
            host(rows * in_f, seed),
            host(out_f * in_f, seed + 1),
            host(out_f, seed + 2),
        );
        let sizes = [rows, out_f, in_f];
        let fused = Cpu.linear(&x, &w, &b, sizes).unwrap();
        let reference = composed::linear(&Cpu, &x, &w, &b, sizes).unwrap();
        assert_close(&format!("linear {sizes:?}"), &fused, &reference);
    }
}

#[test]
fn matmul_add_accumulates_as_the_composed_form_does() {
    for (i, &(m, n, k)) in SHAPES.iter().enumerate() {
        for (trans_a, trans_b) in [(false, false), (true, false), (false, true)] {
            let batch = 1 + i % 3;
            let g = Gemm {
                batch,
                m,
                n,
                k,
                trans_a,
                trans_b,
                stride_a: m * k,
                stride_b: k * n,
            };
            let seed = i as u64 * 7;
            let (a, b) = (host(batch * m * k, seed), host(batch * k * n, seed + 1));
            let (fused, reference) = (host(batch * m * n, seed + 2), host(batch * m * n, seed + 2));
            Cpu.matmul_add(&a, &b, g, &fused).unwrap();
            composed::matmul_add(&Cpu, &a, &b, g, &reference).unwrap();
            assert_close(&format!("matmul_add {g:?}"), &fused, &reference);
        }
    }
}

#[test]
fn add_into_block_touches_only_its_block() {
    for &(outer, full, inner) in &SHAPES {
        for (start, len) in [(0, full), (0, 1.min(full)), (full / 2, full - full / 2)] {
            let src = host(outer * len * inner, 3);
            let (fused, reference) = (host(outer * full * inner, 4), host(outer * full * inner, 4));
            Cpu.add_into_block(&fused, &src, (outer, full, inner), start)
                .unwrap();
            composed::add_into_block(&Cpu, &reference, &src, (outer, full, inner), start).unwrap();
            let what = format!("add_into_block {outer}x{full}x{inner} at {start}+{len}");
            assert_close(&what, &fused, &reference);
        }
    }
}

#[test]
fn head_products_match_the_gathered_batch_in_every_layout() {
    for (i, &(seqs, heads, d)) in [(1, 1, 1), (2, 3, 5), (3, 2, 8)].iter().enumerate() {
        let (l, s) = (7 - i, 2 + 3 * i);
        let seed = 40 + i as u64;
        // The four products of attention: scores, mix and their gradients.
        let cases = [
            (
                (false, true),
                [l, s, d],
                0.5,
                HeadMats::merged(l, heads, d),
                HeadMats::merged(s, heads, d),
                HeadMats::split(l, heads, s),
            ),
            (
                (false, false),
                [l, d, s],
                1.0,
                HeadMats::split(l, heads, s),
                HeadMats::merged(s, heads, d),
                HeadMats::merged(l, heads, d),
            ),
            (
                (true, false),
                [s, d, l],
                0.5,
                HeadMats::split(l, heads, s),
                HeadMats::merged(l, heads, d),
                HeadMats::merged(s, heads, d),
            ),
            (
                (false, true),
                [l, s, d],
                1.0,
                HeadMats::merged(l, heads, d),
                HeadMats::merged(s, heads, d),
                HeadMats::split(l, heads, s),
            ),
        ];
        for (trans, mnk, alpha, a, b, c) in cases {
            let h = Heads {
                seqs,
                heads,
                trans,
                mnk,
                alpha,
                a,
                b,
                c,
            };
            let (x, y) = (
                host(seqs * a.per_seq, seed),
                host(seqs * b.per_seq, seed + 1),
            );
            let fused = Cpu.head_product(&h, &x, &y).unwrap();
            let reference = composed::head_product(&Cpu, &h, &x, &y).unwrap();
            assert_close(&format!("head_product {h:?}"), &fused, &reference);
        }
    }
}

#[test]
fn additive_score_and_its_gradients_match_the_composed_form() {
    for (i, &(batch, tq, s)) in SHAPES.iter().enumerate() {
        let a = [1, 5, 16, 9][i];
        let z = Additive { batch, tq, s, a };
        let seed = 60 + i as u64;
        let (q, k, v) = (
            host(batch * tq * a, seed),
            host(batch * s * a, seed + 1),
            host(a, seed + 2),
        );
        let fused = Cpu.additive_score(z, &q, &k, &v).unwrap();
        let reference = composed::additive_score(&Cpu, z, &q, &k, &v).unwrap();
        assert_close(&format!("additive_score {z:?}"), &fused, &reference);
        let g = host(batch * tq * s, seed + 3);
        let fused = Cpu.additive_score_backward(z, (&q, &k, &v), &g).unwrap();
        let reference = composed::additive_score_backward(&Cpu, z, (&q, &k, &v), &g).unwrap();
        assert_close("additive dq", &fused.0, &reference.0);
        assert_close("additive dk", &fused.1, &reference.1);
        assert_close("additive dv", &fused.2, &reference.2);
    }
}

#[test]
fn gru_cell_and_its_gradients_match_the_composed_form() {
    for (i, &(rows, hidden)) in [(1, 1), (3, 7), (5, 16), (2, 33)].iter().enumerate() {
        let seed = 80 + i as u64;
        let (gi, gh, h) = (
            host(rows * 3 * hidden, seed),
            host(rows * 3 * hidden, seed + 1),
            host(rows * hidden, seed + 2),
        );
        let fused = Cpu.gru_cell(&gi, &gh, &h, (rows, hidden)).unwrap();
        let reference = composed::gru_cell(&Cpu, &gi, &gh, &h, (rows, hidden)).unwrap();
        assert_close("gru h'", &fused.0, &reference.0);
        assert_close("gru workspace", &fused.1, &reference.1);
        let g = host(rows * hidden, seed + 3);
        let fused = Cpu
            .gru_cell_backward(&fused.1, &h, &g, (rows, hidden))
            .unwrap();
        let reference =
            composed::gru_cell_backward(&Cpu, &reference.1, &h, &g, (rows, hidden)).unwrap();
        assert_close("gru d_gi", &fused.0, &reference.0);
        assert_close("gru d_gh", &fused.1, &reference.1);
        assert_close("gru d_h", &fused.2, &reference.2);
    }
}

/// The trait's default `dropout_apply` (mask, then multiply) against the
/// host's one-pass kernel that never stores the mask.
#[test]
fn dropout_apply_draws_the_mask_it_would_store() {
    for n in [1, 7, 64, 1001] {
        let x = host(n, 5);
        let fused = Cpu.dropout_apply(9, 123, 0.3, &x).unwrap();
        let mask = Cpu.dropout_mask(9, 123, 0.3, n).unwrap();
        let reference = Cpu
            .binary(BinaryOp::Mul, (&x, &[1]), (&mask, &[1]), &[n])
            .unwrap();
        assert_close(&format!("dropout {n}"), &fused, &reference);
    }
}
