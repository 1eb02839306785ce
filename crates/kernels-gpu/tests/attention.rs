//! Fused attention against the composed reference: matmul, mask, softmax,
//! dropout, matmul — forward (output, lse, weights) and backward (dq, dk,
//! dv), for both rungs (row and blocked kernels), both head layouts, with
//! and without dropout.

mod common;

use common::{assert_close, data, down, out, up};
use kernels_cpu::reference;
use kernels_gpu::{
    attention_backward, attention_forward, Attention, AttentionDropout, AttentionKernel, HeadLayout,
};

/// The dropout factors M [batch, tq, tk] the kernels must draw (1 without dropout).
fn dropout_factors(a: &Attention) -> Vec<f32> {
    let mut m = vec![1.0; a.batch * a.tq * a.tk];
    if let Some(drop) = a.dropout {
        kernels_cpu::dropout_mask(drop.seed, drop.offset, drop.p, &mut m);
    }
    m
}

/// Scores S = scale·Q Kᵀ + bias + causal mask, then P = softmax(S), O = (P ∘ M) V.
/// Returns (P, O); all operands in the split layout.
fn reference_forward(
    a: &Attention,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    bias: Option<&[f32]>,
) -> (Vec<f32>, Vec<f32>) {
    let (b, tq, tk) = (a.batch, a.tq, a.tk);
    let mut s = vec![0.0; b * tq * tk];
    reference::sgemm_batched(
        b,
        false,
        true,
        tq,
        tk,
        a.d,
        a.scale,
        q,
        a.d,
        tq * a.d,
        k,
        a.d,
        tk * a.d,
        0.0,
        &mut s,
        tk,
        tq * tk,
    );
    for z in 0..b {
        for i in 0..tq {
            for j in 0..tk {
                let e = &mut s[(z * tq + i) * tk + j];
                if let Some(bias) = bias {
                    *e += bias[(z / a.heads) * tk + j];
                }
                if a.causal && j > i + (tk - tq) {
                    *e = f32::NEG_INFINITY;
                }
            }
        }
    }
    let mut p = vec![0.0; s.len()];
    reference::softmax(&s, b * tq, tk, &mut p);
    let dropped: Vec<f32> = p
        .iter()
        .zip(dropout_factors(a))
        .map(|(p, m)| p * m)
        .collect();
    let mut o = vec![0.0; b * tq * a.dv];
    reference::sgemm_batched(
        b,
        false,
        false,
        tq,
        a.dv,
        tk,
        1.0,
        &dropped,
        tk,
        tq * tk,
        v,
        a.dv,
        tk * a.dv,
        0.0,
        &mut o,
        a.dv,
        tq * a.dv,
    );
    (p, o)
}

/// dV = (P ∘ M)ᵀ dO, dP = M ∘ (dO Vᵀ), dS = softmax_backward(P, dP),
/// dQ = scale dS K, dK = scale dSᵀ Q.
fn reference_backward(
    a: &Attention,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    p: &[f32],
    d_o: &[f32],
) -> [Vec<f32>; 3] {
    let (b, tq, tk, d, dv) = (a.batch, a.tq, a.tk, a.d, a.dv);
    let m = dropout_factors(a);
    let dropped: Vec<f32> = p.iter().zip(&m).map(|(p, m)| p * m).collect();
    let mut g_v = vec![0.0; b * tk * dv];
    reference::sgemm_batched(
        b,
        true,
        false,
        tk,
        dv,
        tq,
        1.0,
        &dropped,
        tk,
        tq * tk,
        d_o,
        dv,
        tq * dv,
        0.0,
        &mut g_v,
        dv,
        tk * dv,
    );
    let mut g_p = vec![0.0; b * tq * tk];
    reference::sgemm_batched(
        b,
        false,
        true,
        tq,
        tk,
        dv,
        1.0,
        d_o,
        dv,
        tq * dv,
        v,
        dv,
        tk * dv,
        0.0,
        &mut g_p,
        tk,
        tq * tk,
    );
    g_p.iter_mut().zip(&m).for_each(|(g, m)| *g *= m);
    let mut g_s = vec![0.0; g_p.len()];
    reference::softmax_backward(p, &g_p, b * tq, tk, &mut g_s);
    let mut g_q = vec![0.0; b * tq * d];
    reference::sgemm_batched(
        b,
        false,
        false,
        tq,
        d,
        tk,
        a.scale,
        &g_s,
        tk,
        tq * tk,
        k,
        d,
        tk * d,
        0.0,
        &mut g_q,
        d,
        tq * d,
    );
    let mut g_k = vec![0.0; b * tk * d];
    reference::sgemm_batched(
        b,
        true,
        false,
        tk,
        d,
        tq,
        a.scale,
        &g_s,
        tk,
        tq * tk,
        q,
        d,
        tq * d,
        0.0,
        &mut g_k,
        d,
        tk * d,
    );
    [g_q, g_k, g_v]
}

/// `x` from the split layout `[seqs·heads, rows, width]` to the merged
/// `[seqs, rows, heads·width]` (or back, with `back`).
fn relayout(x: &[f32], heads: usize, rows: usize, width: usize, back: bool) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    for z in 0..x.len() / (rows * width) {
        let (seq, h) = (z / heads, z % heads);
        for r in 0..rows {
            for c in 0..width {
                let split = (z * rows + r) * width + c;
                let merged = ((seq * rows + r) * heads + h) * width + c;
                if back {
                    y[split] = x[merged];
                } else {
                    y[merged] = x[split];
                }
            }
        }
    }
    y
}

#[test]
fn fused_attention_matches_the_composed_reference() {
    let Some(_) = common::gpu() else { return };
    // (batch·heads, heads, tq, tk, d, dv, causal, key padding): sizes 1,
    // primes and non-multiples of the 16-row blocks and 8-row tiles.
    let cases = [
        (1, 1, 1, 1, 1, 1, false, false),
        (2, 1, 7, 7, 16, 16, true, false),
        (4, 2, 5, 67, 8, 12, false, true),
        (2, 2, 65, 65, 64, 64, true, true),
        (1, 1, 3, 130, 100, 7, false, false),
        (3, 3, 9, 13, 5, 129, true, true),
        (6, 3, 33, 47, 32, 32, true, true),
        (4, 4, 17, 17, 13, 13, true, false),
        (2, 1, 31, 11, 64, 1, false, true),
    ];
    let drops = [
        None,
        Some(AttentionDropout {
            p: 0.3,
            seed: 0x5eed_0000_0001,
            offset: (1 << 32) - 100, // the counter's carry into the high half
        }),
    ];
    let mut blocked_runs = 0;
    for (batch, heads, tq, tk, d, dv, causal, padded) in cases {
        for kernel in [AttentionKernel::Rows, AttentionKernel::Blocked] {
            for layout in [HeadLayout::Split, HeadLayout::Merged] {
                for dropout in drops {
                    let a = Attention {
                        batch,
                        heads,
                        tq,
                        tk,
                        d,
                        dv,
                        scale: 1.0 / (d as f32).sqrt(),
                        causal,
                        layout,
                        dropout,
                        kernel,
                    };
                    let blocked = kernel == AttentionKernel::Blocked;
                    let rows_can = layout == HeadLayout::Split && dropout.is_none();
                    let blocked_can = d.max(dv) <= kernels_gpu::BLOCKED_MAX_HEAD_DIM;
                    if (blocked && !blocked_can) || (!blocked && !rows_can) {
                        continue;
                    }
                    blocked_runs += blocked as usize;
                    check_case(&a, padded);
                }
            }
        }
    }
    assert!(blocked_runs >= 28, "only {blocked_runs} blocked cases ran");
}

/// One (sizes, rung, layout, dropout) case against the reference.
fn check_case(a: &Attention, padded: bool) {
    let (batch, heads, tq, tk, d, dv) = (a.batch, a.heads, a.tq, a.tk, a.d, a.dv);
    let q = data(batch * tq * d, 1, -2.0, 2.0);
    let k = data(batch * tk * d, 2, -2.0, 2.0);
    let v = data(batch * tk * dv, 3, -1.0, 1.0);
    let d_o = data(batch * tq * dv, 4, -1.0, 1.0);
    // Sequence s has its last s keys padded (never all of them).
    let bias: Option<Vec<f32>> = padded.then(|| {
        (0..batch / heads)
            .flat_map(|s| {
                (0..tk).map(move |j| {
                    if j + s >= tk && j > 0 {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
            })
            .collect()
    });
    let (p, o) = reference_forward(a, &q, &k, &v, bias.as_deref());
    let [want_q, want_k, want_v] = reference_backward(a, &q, &k, &v, &p, &d_o);
    let what = format!("{a:?} padded={padded}");

    // The GPU sees every operand in the case's layout; results come back split.
    let merged = a.layout == HeadLayout::Merged;
    let to = |x: &[f32], rows, width| match merged {
        true => relayout(x, heads, rows, width, false),
        false => x.to_vec(),
    };
    let back = |x: Vec<f32>, rows, width| match merged {
        true => relayout(&x, heads, rows, width, true),
        false => x,
    };
    let (gq, gk, gv) = (up(&to(&q, tq, d)), up(&to(&k, tk, d)), up(&to(&v, tk, dv)));
    let gbias = bias.as_deref().map(up);
    let (go, glse) = (out(o.len()), out(batch * tq));
    // The weights pass exists for the split layout without dropout only.
    let gw = (!merged && a.dropout.is_none()).then(|| out(p.len()));
    attention_forward(a, &gq, &gk, &gv, gbias.as_ref(), &go, &glse, gw.as_ref()).unwrap();
    assert_close(
        &format!("{what} output"),
        &back(down(&go), tq, dv),
        &o,
        1e-5,
    );
    if let Some(gw) = gw {
        assert_close(&format!("{what} weights"), &down(&gw), &p, 1e-5);
    }

    let (dq, dk, dv_out) = (out(want_q.len()), out(want_k.len()), out(want_v.len()));
    attention_backward(
        a,
        &gq,
        &gk,
        &gv,
        gbias.as_ref(),
        &go,
        &glse,
        &up(&to(&d_o, tq, dv)),
        &dq,
        &dk,
        &dv_out,
    )
    .unwrap();
    assert_close(
        &format!("{what} dq"),
        &back(down(&dq), tq, d),
        &want_q,
        1e-4,
    );
    assert_close(
        &format!("{what} dk"),
        &back(down(&dk), tk, d),
        &want_k,
        1e-4,
    );
    assert_close(
        &format!("{what} dv"),
        &back(down(&dv_out), tk, dv),
        &want_v,
        1e-5,
    );
}

#[test]
fn attention_rejects_bad_sizes() {
    let Some(_) = common::gpu() else { return };
    let a = Attention {
        batch: 3,
        heads: 2,
        tq: 1,
        tk: 1,
        d: 1,
        dv: 1,
        scale: 1.0,
        causal: false,
        ..Attention::default()
    };
    let x = out(16);
    let e = attention_forward(&a, &x, &x.clone(), &x.clone(), None, &out(3), &out(3), None)
        .unwrap_err();
    assert!(e.to_string().contains("not a multiple of heads"), "{e}");

    let ok = Attention { batch: 2, ..a };
    let (q, o, lse) = (out(2), out(2), out(2));
    let run = |a: Attention| attention_forward(&a, &q, &q, &q, None, &o, &lse, None).unwrap_err();
    let rows_merged = Attention {
        kernel: AttentionKernel::Rows,
        layout: HeadLayout::Merged,
        ..ok
    };
    assert!(run(rows_merged).to_string().contains("split layout"));
    let wide = Attention {
        d: 65,
        dv: 65,
        dropout: Some(AttentionDropout {
            p: 0.1,
            seed: 1,
            offset: 0,
        }),
        ..ok
    };
    let (q, o) = (out(2 * 65), out(2 * 65));
    let e = attention_forward(&wide, &q, &q, &q, None, &o, &lse, None).unwrap_err();
    assert!(e.to_string().contains("up to 64"), "{e}");
    let certain = Attention {
        dropout: Some(AttentionDropout {
            p: 1.0,
            seed: 1,
            offset: 0,
        }),
        ..ok
    };
    assert!(run(certain).to_string().contains("outside [0, 1)"));
}
