//! Every fused op the GPU backend overrides against the trait's composed
//! default, both run on the GPU on the same buffers: the composed form is
//! the definition (and is itself held to the CPU kernels and PyTorch
//! elsewhere), so the fused shader must agree with it. Sizes include 1,
//! primes and counts that leave a workgroup partly idle.

use super::composed;
use super::gpu::Gpu;
use super::*;
use kernels_gpu::GpuBuffer;

fn ready() -> bool {
    kernels_gpu::gpu_ready_for_tests()
}

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0
        })
        .collect()
}

fn buf(n: usize, seed: u64) -> GpuBuffer {
    Gpu.upload(&random(n, seed)).unwrap()
}

fn assert_close(what: &str, fused: &GpuBuffer, composed: &GpuBuffer) {
    assert_within(what, fused, composed, 1e-5);
}

fn assert_within(what: &str, fused: &GpuBuffer, composed: &GpuBuffer, rel: f32) {
    let (f, c) = (fused.to_vec().unwrap(), composed.to_vec().unwrap());
    assert_eq!(f.len(), c.len(), "{what}: lengths differ");
    for (i, (a, b)) in f.iter().zip(&c).enumerate() {
        let tol = rel * (1.0 + a.abs().max(b.abs()));
        assert!(
            (a - b).abs() <= tol,
            "{what}: element {i}: fused {a} vs composed {b}"
        );
    }
}

/// (rows, hidden): one unit, primes, and more units than one workgroup holds.
const CELLS: [(usize, usize); 5] = [(1, 1), (3, 7), (5, 16), (2, 33), (7, 61)];

#[test]
fn gpu_gru_cell_and_its_gradients_match_the_composed_form() {
    if !ready() {
        return;
    }
    for (i, &size) in CELLS.iter().enumerate() {
        let (rows, hidden) = size;
        let seed = 10 * i as u64;
        let (gi, gh, h) = (
            buf(rows * 3 * hidden, seed),
            buf(rows * 3 * hidden, seed + 1),
            buf(rows * hidden, seed + 2),
        );
        let fused = Gpu.gru_cell(&gi, &gh, &h, size).unwrap();
        let reference = composed::gru_cell(&Gpu, &gi, &gh, &h, size).unwrap();
        assert_close(&format!("gru h' {size:?}"), &fused.0, &reference.0);
        assert_close(&format!("gru ws {size:?}"), &fused.1, &reference.1);
        let g = buf(rows * hidden, seed + 3);
        let fused = Gpu.gru_cell_backward(&fused.1, &h, &g, size).unwrap();
        let reference = composed::gru_cell_backward(&Gpu, &reference.1, &h, &g, size).unwrap();
        assert_close(&format!("gru d_gi {size:?}"), &fused.0, &reference.0);
        assert_close(&format!("gru d_gh {size:?}"), &fused.1, &reference.1);
        assert_close(&format!("gru d_h {size:?}"), &fused.2, &reference.2);
    }
}

#[test]
fn gpu_lstm_cell_and_its_gradients_match_the_composed_form() {
    if !ready() {
        return;
    }
    for (i, &size) in CELLS.iter().enumerate() {
        let (rows, hidden) = size;
        let seed = 100 + 10 * i as u64;
        let (gates, c) = (buf(rows * 4 * hidden, seed), buf(rows * hidden, seed + 1));
        let fused = Gpu.lstm_cell(&gates, &c, size).unwrap();
        let reference = composed::lstm_cell(&Gpu, &gates, &c, size).unwrap();
        assert_close(&format!("lstm [h' | c'] {size:?}"), &fused.0, &reference.0);
        assert_close(&format!("lstm ws {size:?}"), &fused.1, &reference.1);
        let g = buf(rows * 2 * hidden, seed + 2);
        let fused = Gpu.lstm_cell_backward(&fused.1, &c, &g, size).unwrap();
        let reference = composed::lstm_cell_backward(&Gpu, &reference.1, &c, &g, size).unwrap();
        assert_close(&format!("lstm d_gates {size:?}"), &fused.0, &reference.0);
        assert_close(&format!("lstm d_c {size:?}"), &fused.1, &reference.1);
    }
}

#[test]
fn gpu_matmul_add_accumulates_as_the_composed_form_does() {
    if !ready() {
        return;
    }
    for (i, &(m, n, k)) in [(1, 1, 1), (3, 5, 7), (17, 2, 33), (13, 70, 16)]
        .iter()
        .enumerate()
    {
        for (trans_a, trans_b) in [(false, false), (true, false), (false, true), (true, true)] {
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
            let seed = 200 + i as u64;
            let (a, b) = (buf(batch * m * k, seed), buf(batch * k * n, seed + 1));
            let (fused, reference) = (buf(batch * m * n, seed + 2), buf(batch * m * n, seed + 2));
            Gpu.matmul_add(&a, &b, g, &fused).unwrap();
            composed::matmul_add(&Gpu, &a, &b, g, &reference).unwrap();
            assert_close(&format!("matmul_add {g:?}"), &fused, &reference);
        }
    }
}

#[test]
fn gpu_add_into_block_touches_only_its_block() {
    if !ready() {
        return;
    }
    for &(outer, full, inner) in &[(1, 1, 1), (3, 5, 7), (17, 2, 33), (4, 13, 16)] {
        for (start, len) in [
            (0, full),
            (0, 1),
            (full / 2, full - full / 2),
            (full - 1, 1),
        ] {
            let src = buf(outer * len * inner, 3);
            let (fused, reference) = (buf(outer * full * inner, 4), buf(outer * full * inner, 4));
            Gpu.add_into_block(&fused, &src, (outer, full, inner), start)
                .unwrap();
            composed::add_into_block(&Gpu, &reference, &src, (outer, full, inner), start).unwrap();
            let what = format!("add_into_block {outer}x{full}x{inner} at {start}+{len}");
            assert_close(&what, &fused, &reference);
        }
    }
}

#[test]
fn gpu_linear_adds_the_bias_as_the_composed_form_does() {
    if !ready() {
        return;
    }
    for (i, &sizes) in [[1, 1, 1], [3, 5, 7], [17, 2, 33], [70, 13, 16]]
        .iter()
        .enumerate()
    {
        let [rows, out_f, in_f] = sizes;
        let seed = 300 + 3 * i as u64;
        let (x, w, b) = (
            buf(rows * in_f, seed),
            buf(out_f * in_f, seed + 1),
            buf(out_f, seed + 2),
        );
        let fused = Gpu.linear(&x, &w, &b, sizes).unwrap();
        let reference = composed::linear(&Gpu, &x, &w, &b, sizes).unwrap();
        assert_close(&format!("linear {sizes:?}"), &fused, &reference);
    }
}

#[test]
fn gpu_additive_score_and_its_gradients_match_the_composed_form() {
    if !ready() {
        return;
    }
    // (batch, tq, s, a): ones, primes, one query step (the decoder's case),
    // and more ∂q + ∂k + ∂v elements than one workgroup holds.
    let sizes = [(1, 1, 1, 1), (2, 3, 5, 7), (3, 1, 11, 64), (2, 4, 9, 37)];
    for (i, &(batch, tq, s, a)) in sizes.iter().enumerate() {
        let z = Additive { batch, tq, s, a };
        let seed = 300 + 10 * i as u64;
        let (q, k, v) = (
            buf(batch * tq * a, seed),
            buf(batch * s * a, seed + 1),
            buf(a, seed + 2),
        );
        let fused = Gpu.additive_score(z, &q, &k, &v).unwrap();
        let reference = composed::additive_score(&Gpu, z, &q, &k, &v).unwrap();
        // Sums of up to A tanh terms, each computed by a different formula.
        assert_within(&format!("additive e {z:?}"), &fused, &reference, 1e-4);
        let g = buf(batch * tq * s, seed + 3);
        let fused = Gpu.additive_score_backward(z, (&q, &k, &v), &g).unwrap();
        let reference = composed::additive_score_backward(&Gpu, z, (&q, &k, &v), &g).unwrap();
        assert_within(&format!("additive dq {z:?}"), &fused.0, &reference.0, 1e-4);
        assert_within(&format!("additive dk {z:?}"), &fused.1, &reference.1, 1e-4);
        assert_within(&format!("additive dv {z:?}"), &fused.2, &reference.2, 1e-4);
    }
}

/// Every per-head product attention makes, forward and backward (ops/heads.rs):
/// merged heads in and split out, split in and merged out, a transposed split
/// operand, with a scale; sizes with one head, one row, primes.
#[test]
fn gpu_head_products_match_the_composed_form() {
    if !ready() {
        return;
    }
    use kernels_cpu::HeadMats;
    for (i, &(seqs, heads, l, s, d)) in [(1, 1, 1, 1, 1), (2, 3, 5, 7, 3), (3, 2, 9, 13, 8)]
        .iter()
        .enumerate()
    {
        let (q_l, kv_s) = (HeadMats::merged(l, heads, d), HeadMats::merged(s, heads, d));
        let p_ls = HeadMats::split(l, heads, s);
        let forms = [
            (
                "scores Q Kᵀ",
                (false, true),
                [l, s, d],
                0.4,
                q_l,
                kv_s,
                p_ls,
            ),
            ("mix P V", (false, false), [l, d, s], 1.0, p_ls, kv_s, q_l),
            ("∂P = G Vᵀ", (false, true), [l, s, d], 1.0, q_l, kv_s, p_ls),
            (
                "∂K = s Gᵀ Q",
                (true, false),
                [s, d, l],
                0.4,
                p_ls,
                q_l,
                kv_s,
            ),
        ];
        for (j, (what, trans, mnk, alpha, a, b, c)) in forms.into_iter().enumerate() {
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
            let seed = 100 * i as u64 + 10 * j as u64;
            let (x, y) = (buf(seqs * a.per_seq, seed), buf(seqs * b.per_seq, seed + 1));
            let fused = Gpu.head_product(&h, &x, &y).unwrap();
            let composed = composed::head_product(&Gpu, &h, &x, &y).unwrap();
            assert_close(&format!("{what} {h:?}"), &fused, &composed);
        }
    }
}

/// Dropout drawn inside the multiply equals the mask drawn, then multiplied,
/// bit for bit (the counter-based generator makes both the same numbers).
#[test]
fn gpu_dropout_apply_equals_mask_times_input() {
    if !ready() {
        return;
    }
    for (n, offset) in [(1, 0), (257, 3), (4099, (1 << 32) - 7)] {
        let x = buf(n, n as u64);
        let fused = Gpu.dropout_apply(9, offset, 0.25, &x).unwrap();
        let mask = Gpu.dropout_mask(9, offset, 0.25, n).unwrap();
        let composed = Gpu
            .binary(BinaryOp::Mul, (&x, &[1]), (&mask, &[1]), &[n])
            .unwrap();
        assert_eq!(
            fused.to_vec().unwrap(),
            composed.to_vec().unwrap(),
            "n = {n}"
        );
    }
}

/// The first block of a narrowed tensor's gradient, written with its zeros
/// in one pass, equals zeros with the block added in.
#[test]
fn gpu_pad_block_equals_zeros_plus_the_block() {
    if !ready() {
        return;
    }
    // (outer, full, inner, start, len): blocks at either end, in the middle, whole.
    for (i, &(outer, full, inner, start, len)) in [
        (1, 1, 1, 0, 1),
        (3, 7, 5, 0, 2),
        (2, 13, 1, 11, 2),
        (5, 9, 33, 4, 3),
        (4, 3, 2, 0, 3),
    ]
    .iter()
    .enumerate()
    {
        let src = buf(outer * len * inner, 300 + i as u64);
        let fused = Gpu.pad_block(&src, (outer, full, inner), start).unwrap();
        let composed = Gpu.filled(0.0, outer * full * inner).unwrap();
        Gpu.add_into_block(&composed, &src, (outer, full, inner), start)
            .unwrap();
        let what = format!("pad_block {:?}", (outer, full, inner, start, len));
        assert_eq!(
            fused.to_vec().unwrap(),
            composed.to_vec().unwrap(),
            "{what}"
        );
    }
}
