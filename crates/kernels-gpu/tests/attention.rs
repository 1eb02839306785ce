//! Fused attention against the composed reference: matmul, mask, softmax,
//! matmul — forward (output, lse, weights) and backward (dq, dk, dv).

mod common;

use common::{assert_close, data, down, out, up};
use kernels_cpu::reference;
use kernels_gpu::{attention_backward, attention_forward, Attention};

/// Scores S = scale·Q Kᵀ + bias + causal mask, then P = softmax(S), O = P V.
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
    let mut o = vec![0.0; b * tq * a.dv];
    reference::sgemm_batched(
        b,
        false,
        false,
        tq,
        a.dv,
        tk,
        1.0,
        &p,
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

/// dV = Pᵀ dO, dP = dO Vᵀ, dS = softmax_backward(P, dP), dQ = scale dS K, dK = scale dSᵀ Q.
fn reference_backward(
    a: &Attention,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    p: &[f32],
    d_o: &[f32],
) -> [Vec<f32>; 3] {
    let (b, tq, tk, d, dv) = (a.batch, a.tq, a.tk, a.d, a.dv);
    let mut g_v = vec![0.0; b * tk * dv];
    reference::sgemm_batched(
        b,
        true,
        false,
        tk,
        dv,
        tq,
        1.0,
        p,
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

#[test]
fn fused_attention_matches_the_composed_reference() {
    let Some(_) = common::gpu() else { return };
    // (batch·heads, heads, tq, tk, d, dv, causal, key padding)
    let cases = [
        (1, 1, 1, 1, 1, 1, false, false),
        (2, 1, 7, 7, 16, 16, true, false),
        (4, 2, 5, 67, 8, 12, false, true),
        (2, 2, 65, 65, 64, 64, true, true),
        (1, 1, 3, 130, 100, 7, false, false),
        (3, 3, 9, 13, 5, 129, true, true),
    ];
    for (batch, heads, tq, tk, d, dv, causal, padded) in cases {
        let a = Attention {
            batch,
            heads,
            tq,
            tk,
            d,
            dv,
            scale: 1.0 / (d as f32).sqrt(),
            causal,
        };
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
        let (p, o) = reference_forward(&a, &q, &k, &v, bias.as_deref());
        let what = format!("{a:?} padded={padded}");

        let (gq, gk, gv) = (up(&q), up(&k), up(&v));
        let gbias = bias.as_deref().map(up);
        let (go, glse, gw) = (out(o.len()), out(batch * tq), out(p.len()));
        attention_forward(&a, &gq, &gk, &gv, gbias.as_ref(), &go, &glse, Some(&gw)).unwrap();
        assert_close(&format!("{what} output"), &down(&go), &o, 1e-5);
        assert_close(&format!("{what} weights"), &down(&gw), &p, 1e-5);

        let [want_q, want_k, want_v] = reference_backward(&a, &q, &k, &v, &p, &d_o);
        let (dq, dk, dv_out) = (out(want_q.len()), out(want_k.len()), out(want_v.len()));
        attention_backward(
            &a,
            &gq,
            &gk,
            &gv,
            gbias.as_ref(),
            &go,
            &glse,
            &up(&d_o),
            &dq,
            &dk,
            &dv_out,
        )
        .unwrap();
        assert_close(&format!("{what} dq"), &down(&dq), &want_q, 1e-4);
        assert_close(&format!("{what} dk"), &down(&dk), &want_k, 1e-4);
        assert_close(&format!("{what} dv"), &down(&dv_out), &want_v, 1e-5);
    }
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
    };
    let x = out(16);
    let e = attention_forward(&a, &x, &x.clone(), &x.clone(), None, &out(3), &out(3), None)
        .unwrap_err();
    assert!(e.to_string().contains("not a multiple of heads"), "{e}");
}
