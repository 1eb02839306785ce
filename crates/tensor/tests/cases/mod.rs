//! The op cases every gradient and device test walks through: each family
//! calls `run(name, f, inputs)` for small inputs chosen so that f is smooth
//! within a finite-difference step (no kinks, no ties).
#![allow(dead_code)]

use crate::common::*;
use tensor::{HeadAttention, Result, Rng, Tensor};

/// What a test does with one case.
pub type Run<'a> = &'a mut dyn FnMut(&str, &dyn Fn(&[Tensor]) -> Result<Tensor>, Vec<Tensor>);

pub fn unary(run: Run) {
    let x = param(&[3, 5], -2.0, 2.0, 1);
    let pos = param(&[3, 5], 0.3, 2.0, 2);
    let nz = param_away(&[3, 5], -2.0, 2.0, 3, &[0.0], 0.2);
    run("neg", &|x| x[0].neg(), vec![x.clone()]);
    run("exp", &|x| x[0].exp(), vec![x.clone()]);
    run("log", &|x| x[0].log(), vec![pos.clone()]);
    run("sqrt", &|x| x[0].sqrt(), vec![pos.clone()]);
    run("tanh", &|x| x[0].tanh(), vec![x.clone()]);
    run("sigmoid", &|x| x[0].sigmoid(), vec![x.clone()]);
    run("relu", &|x| x[0].relu(), vec![nz.clone()]);
    run("gelu", &|x| x[0].gelu(), vec![x.clone()]);
    run("silu", &|x| x[0].silu(), vec![x.clone()]);
    run("abs", &|x| x[0].abs(), vec![nz.clone()]);
    run("recip", &|x| x[0].recip(), vec![nz.clone()]);
    run("square", &|x| x[0].square(), vec![x.clone()]);
    run("powf 3", &|x| x[0].powf(3.0), vec![x.clone()]);
    run("powf 0.5", &|x| x[0].powf(0.5), vec![pos.clone()]);
    let c = param_away(&[3, 5], -2.0, 2.0, 4, &[-0.5, 0.5], 0.05);
    run("clamp", &|x| x[0].clamp(-0.5, 0.5), vec![c]);
    run("add_scalar", &|x| x[0].add_scalar(1.5), vec![x.clone()]);
    run("mul_scalar", &|x| x[0].mul_scalar(-0.7), vec![x.clone()]);
}

pub fn binary(run: Run) {
    let shapes: [(&[usize], &[usize]); 5] = [
        (&[3, 4], &[3, 4]),
        (&[3, 4], &[4]),
        (&[2, 1, 3], &[4, 1]),
        (&[2, 3], &[]),
        (&[1], &[2, 3]),
    ];
    for (i, (sa, sb)) in shapes.iter().enumerate() {
        let a = param(sa, -1.0, 1.0, 10 + i as u64);
        let b = param_away(sb, 0.5, 1.5, 20 + i as u64, &[], 0.0);
        run("add", &|x| x[0].add(&x[1]), vec![a.clone(), b.clone()]);
        run("sub", &|x| x[0].sub(&x[1]), vec![a.clone(), b.clone()]);
        run("mul", &|x| x[0].mul(&x[1]), vec![a.clone(), b.clone()]);
        run("div", &|x| x[0].div(&x[1]), vec![a.clone(), b.clone()]);
    }
    // max/min need inputs that never tie within ε.
    let a = t(&[0.1, 0.9, -0.4, 0.6, -1.0, 0.3], &[2, 3]).requires_grad_();
    let b = t(&[0.5, 0.2, 0.0], &[3]).requires_grad_();
    run(
        "maximum",
        &|x| x[0].maximum(&x[1]),
        vec![a.clone(), b.clone()],
    );
    run("minimum", &|x| x[0].minimum(&x[1]), vec![a, b]);
}

pub fn matmul(run: Run) {
    for ta in [false, true] {
        for tb in [false, true] {
            let (m, k, n) = (3, 4, 5);
            let a = param(&if ta { [k, m] } else { [m, k] }, -1.0, 1.0, 30);
            let b = param(&if tb { [n, k] } else { [k, n] }, -1.0, 1.0, 31);
            run(
                "matmul_t",
                &move |x| x[0].matmul_t(&x[1], ta, tb),
                vec![a.clone(), b.clone()],
            );
            let ab = param(&if ta { [2, k, m] } else { [2, m, k] }, -1.0, 1.0, 32);
            let bb = param(&if tb { [2, n, k] } else { [2, k, n] }, -1.0, 1.0, 33);
            run(
                "batched",
                &move |x| x[0].matmul_t(&x[1], ta, tb),
                vec![ab.clone(), bb.clone()],
            );
            run(
                "batched x shared",
                &move |x| x[0].matmul_t(&x[1], ta, tb),
                vec![ab.clone(), b.clone()],
            );
            run(
                "shared x batched",
                &move |x| x[0].matmul_t(&x[1], ta, tb),
                vec![a.clone(), bb.clone()],
            );
            // Each operand used by three products, as a weight is at every
            // step of a recurrence: the later gradients are added straight
            // into the running sum (autograd's in-place path), where shapes
            // allow it.
            let thrice = move |x: &[Tensor]| -> Result<Tensor> {
                let p1 = x[0].matmul_t(&x[1], ta, tb)?;
                let p2 = x[0].tanh()?.matmul_t(&x[1], ta, tb)?;
                let p3 = x[0].matmul_t(&x[1].square()?, ta, tb)?;
                p1.add(&p2.mul_scalar(2.0)?)?.mul(&p3)
            };
            for (name, inputs) in [
                ("used thrice", vec![a.clone(), b.clone()]),
                ("batched, used thrice", vec![ab.clone(), bb.clone()]),
                ("batched x shared, used thrice", vec![ab.clone(), b.clone()]),
                ("shared x batched, used thrice", vec![a.clone(), bb.clone()]),
            ] {
                run(name, &thrice, inputs);
            }
        }
    }
    // x Wᵀ + b as one op (the bias added in the GEMM's write-back on the
    // host), on 2-D and 3-D inputs; its weight also used a second time.
    let w = param(&[5, 4], -1.0, 1.0, 36);
    let bias = param(&[5], -1.0, 1.0, 37);
    for x in [
        param(&[3, 4], -1.0, 1.0, 38),
        param(&[2, 3, 4], -1.0, 1.0, 39),
    ] {
        run(
            "linear",
            &|x| x[0].linear(&x[1], &x[2]),
            vec![x.clone(), w.clone(), bias.clone()],
        );
        run(
            "linear, weight used twice",
            &|x| {
                x[0].linear(&x[1], &x[2])?
                    .mul(&x[0].tanh()?.linear(&x[1], &x[2])?)
            },
            vec![x, w.clone(), bias.clone()],
        );
    }
    let a = param(&[2, 3, 2, 4], -1.0, 1.0, 34);
    let w = param(&[5, 4], -1.0, 1.0, 35);
    run(
        "linear on 4-d input",
        &|x| x[0].matmul_t(&x[1], false, true),
        vec![a, w],
    );
}

pub fn reduce(run: Run) {
    let x = param(&[2, 3, 4], -1.0, 1.0, 40);
    for keep in [false, true] {
        run("sum 0", &|x| x[0].sum(&[0], keep), vec![x.clone()]);
        run("sum -1", &|x| x[0].sum(&[-1], keep), vec![x.clone()]);
        run("sum 0,2", &|x| x[0].sum(&[0, 2], keep), vec![x.clone()]);
        // adjacent axes: one reduction over the merged run
        run("sum 0,1", &|x| x[0].sum(&[0, 1], keep), vec![x.clone()]);
        run("mean 1,2", &|x| x[0].mean(&[1, 2], keep), vec![x.clone()]);
        run("max 0,1", &|x| x[0].max(&[0, 1], keep), vec![x.clone()]);
        run("mean 1", &|x| x[0].mean(&[1], keep), vec![x.clone()]);
        run("max 1", &|x| x[0].max(&[1], keep), vec![x.clone()]);
        run("min 2", &|x| x[0].min(&[2], keep), vec![x.clone()]);
    }
    run("sum_all", &|x| x[0].sum_all(), vec![x.clone()]);
    run("mean_all", &|x| x[0].mean_all(), vec![x.clone()]);
}

pub fn softmax(run: Run) {
    let x = param(&[3, 7], -2.0, 2.0, 50);
    run("softmax -1", &|x| x[0].softmax(-1), vec![x.clone()]);
    run("softmax 0", &|x| x[0].softmax(0), vec![x.clone()]);
    run("log_softmax -1", &|x| x[0].log_softmax(-1), vec![x.clone()]);
    let x3 = param(&[2, 3, 4], -2.0, 2.0, 51);
    run("log_softmax 1", &|x| x[0].log_softmax(1), vec![x3]);
}

pub fn layer_norm(run: Run) {
    let x = param(&[4, 6], -2.0, 2.0, 60);
    let g = param(&[6], 0.5, 1.5, 61);
    let b = param(&[6], -0.5, 0.5, 62);
    run(
        "layer_norm affine",
        &|x| x[0].layer_norm(Some(&x[1]), Some(&x[2]), 1e-5),
        vec![x.clone(), g.clone(), b],
    );
    run(
        "layer_norm weight only",
        &|x| x[0].layer_norm(Some(&x[1]), None, 1e-5),
        vec![x.clone(), g],
    );
    run(
        "layer_norm plain",
        &|x| x[0].layer_norm(None, None, 1e-5),
        vec![x],
    );
}

pub fn cross_entropy(run: Run) {
    let logits = param(&[5, 7], -2.0, 2.0, 70);
    let targets = t(&[1.0, 0.0, 6.0, 0.0, 3.0], &[5]);
    for smoothing in [0.0, 0.1] {
        run(
            "cross_entropy",
            &|x| x[0].cross_entropy(&x[1], 0, smoothing),
            vec![logits.clone(), targets.clone()],
        );
        run(
            "cross_entropy no ignore",
            &|x| x[0].cross_entropy(&x[1], -100, smoothing),
            vec![logits.clone(), targets.clone()],
        );
    }
}

pub fn index(run: Run) {
    let table = param(&[6, 4], -1.0, 1.0, 80);
    let ids = t(&[1.0, 3.0, 1.0, 0.0, 5.0, 0.0], &[2, 3]);
    run(
        "embedding",
        &|x| x[0].embedding(&x[1], None),
        vec![table.clone(), ids.clone()],
    );
    // With a padding index the pad row deliberately gets no gradient (PyTorch's
    // rule, not calculus), so check the other rows numerically and the pad row by value.
    run(
        "embedding padding unused",
        &|x| x[0].embedding(&x[1], Some(2)),
        vec![table.clone(), ids.clone()],
    );
    let x = param(&[3, 5, 2], -1.0, 1.0, 81);
    let pick = t(&[4.0, 0.0, 4.0], &[3]);
    run(
        "index_select",
        &|x| x[0].index_select(1, &x[1]),
        vec![x.clone(), pick],
    );
    // With a gradient recorded, select_cat is index_select then cat.
    let past = param(&[3, 2, 4, 2], -1.0, 1.0, 84);
    let new = param(&[4, 2, 1, 2], -1.0, 1.0, 85);
    let beams = t(&[2.0, 0.0, 0.0, 1.0], &[4]);
    run(
        "select_cat",
        &|x| x[0].select_cat(Some(&x[2]), &x[1], 2),
        vec![past, new, beams],
    );
    let cond = t(&[1.0, 0.0, 0.0, 1.0, 1.0], &[5, 1]);
    let y = param(&[5, 2], -1.0, 1.0, 82);
    let a = param(&[5, 2], -1.0, 1.0, 83);
    run(
        "where",
        &|x| Tensor::where_cond(&x[0], &x[1], &x[2]),
        vec![cond.clone(), a, y.clone()],
    );
    run(
        "masked_fill",
        &|x| x[0].masked_fill(&x[1], -3.0),
        vec![y, cond],
    );
}

pub fn movement(run: Run) {
    let x = param(&[2, 3, 4], -1.0, 1.0, 90);
    run("reshape", &|x| x[0].reshape([4, 6]), vec![x.clone()]);
    run("transpose", &|x| x[0].transpose(0, 2), vec![x.clone()]);
    run("permute", &|x| x[0].permute(&[1, 2, 0]), vec![x.clone()]);
    // moving only a dimension of size 1: the buffer is shared
    let heads = param(&[2, 1, 3, 2], -1.0, 1.0, 92);
    run(
        "permute of a size-1 dimension",
        &|x| x[0].permute(&[0, 2, 1, 3])?.mul_scalar(2.0),
        vec![heads],
    );
    run("narrow", &|x| x[0].narrow(1, 1, 2), vec![x.clone()]);
    run("unsqueeze", &|x| x[0].unsqueeze(1), vec![x.clone()]);
    let row = param(&[1, 4], -1.0, 1.0, 91);
    run("broadcast_to", &|x| x[0].broadcast_to([3, 4]), vec![row]);
    let y = param(&[2, 1, 4], -1.0, 1.0, 92);
    run(
        "cat",
        &|x| Tensor::cat(&[x[0].clone(), x[1].clone()], 1),
        vec![x.clone(), y],
    );
    let z = param(&[2, 3, 4], -1.0, 1.0, 93);
    run(
        "stack",
        &|x| Tensor::stack(&[x[0].clone(), x[1].clone()], 2),
        vec![x.clone(), z],
    );
    run(
        "split",
        &|x| {
            let p = x[0].split(&[1, 3], 2)?;
            p[0].mul_scalar(2.0)?
                .sum(&[2], false)?
                .add(&p[1].sum(&[2], false)?)
        },
        vec![x.clone()],
    );
    run(
        "chunk",
        &|x| {
            let p = x[0].chunk(2, 2)?;
            p[0].mul(&p[1])
        },
        vec![x],
    );
}

pub fn dropout(run: Run) {
    let x = param(&[4, 8], -1.0, 1.0, 100);
    run(
        "dropout",
        &|x| x[0].dropout(0.3, true, &mut Rng::new(9)),
        vec![x],
    );
}

pub fn attention(run: Run) {
    let q = param(&[2, 2, 3, 4], -1.0, 1.0, 120);
    let k = param(&[2, 2, 5, 4], -1.0, 1.0, 121);
    let v = param(&[2, 2, 5, 3], -1.0, 1.0, 122);
    let scale = 0.5;
    run(
        "attention",
        &|x| Tensor::attention(&x[0], &x[1], &x[2], None, false, scale),
        vec![q.clone(), k.clone(), v.clone()],
    );
    // Sequence 0 masks its last two keys, sequence 1 none.
    let ninf = f32::NEG_INFINITY;
    let bias = t(
        &[0.0, 0.0, 0.0, ninf, ninf, 0.0, 0.0, 0.0, 0.0, 0.0],
        &[2, 5],
    );
    run(
        "attention key padding",
        &|x| Tensor::attention(&x[0], &x[1], &x[2], Some(&x[3]), false, scale),
        vec![q.clone(), k.clone(), v.clone(), bias.clone()],
    );
    run(
        "attention causal tq < tk",
        &|x| Tensor::attention(&x[0], &x[1], &x[2], Some(&x[3]), true, scale),
        vec![q.clone(), k.clone(), v.clone(), bias],
    );
    let s = param(&[3, 4, 6], -1.0, 1.0, 123);
    run(
        "self-attention causal [B, T, D]",
        &|x| Tensor::attention(&x[0], &x[0], &x[0], None, true, 0.4),
        vec![s],
    );

    // Heads side by side (Q [B, L, H·d], K and V [B, S, H·d]), H = 2, d = 3;
    // on the GPU these run the blocked kernels in the merged layout.
    fn spec(causal: bool, key_bias: Option<&Tensor>) -> HeadAttention<'_> {
        HeadAttention {
            heads: 2,
            scale: 0.6,
            causal,
            key_bias,
        }
    }
    let hq = param(&[2, 3, 6], -1.0, 1.0, 124);
    let hk = param(&[2, 5, 6], -1.0, 1.0, 125);
    let hv = param(&[2, 5, 6], -1.0, 1.0, 126);
    run(
        "head_attention",
        &|x| x[0].head_attention(&x[1], &x[2], &spec(false, None), None),
        vec![hq.clone(), hk.clone(), hv.clone()],
    );
    let bias = t(
        &[0.0, 0.0, 0.0, ninf, ninf, 0.0, 0.0, 0.0, 0.0, 0.0],
        &[2, 5],
    );
    run(
        "head_attention key padding, dropout",
        &|x| {
            let dropout = Some((0.3, &mut Rng::new(5)));
            x[0].head_attention(&x[1], &x[2], &spec(false, Some(&x[3])), dropout)
        },
        vec![hq, hk, hv, bias],
    );
    // L = S = 17: two 16-row blocks, the second holding one row.
    let hs = param(&[2, 17, 8], -1.0, 1.0, 127);
    run(
        "head_attention causal self, dropout",
        &|x| {
            let dropout = Some((0.25, &mut Rng::new(6)));
            x[0].head_attention(&x[0], &x[0], &spec(true, None), dropout)
        },
        vec![hs],
    );
}

pub fn recurrent(run: Run) {
    // B = 3, H = 5 (odd, below a vector width); gates in a range where σ and
    // tanh are far from flat.
    let gi = param(&[3, 15], -1.5, 1.5, 70);
    let gh = param(&[3, 15], -1.5, 1.5, 71);
    let h = param(&[3, 5], -1.0, 1.0, 72);
    run(
        "gru_cell fused",
        &|x| Tensor::gru_cell(&x[0], &x[1], &x[2]),
        vec![gi.clone(), gh.clone(), h.clone()],
    );
    run(
        "gru_cell composed",
        &|x| Tensor::gru_cell_composed(&x[0], &x[1], &x[2]),
        vec![gi, gh, h],
    );
    // The LSTM step: B = 3, H = 5; its output is [h' | c'].
    let gates = param(&[3, 20], -1.5, 1.5, 77);
    let c = param(&[3, 5], -1.0, 1.0, 78);
    run(
        "lstm_cell fused",
        &|x| Tensor::lstm_cell(&x[0], &x[1]),
        vec![gates.clone(), c.clone()],
    );
    run(
        "lstm_cell composed",
        &|x| Tensor::lstm_cell_composed(&x[0], &x[1]),
        vec![gates, c],
    );
    // Bahdanau's additive score: B = 2, Tq = 3, S = 4, A = 5; v as a
    // vector and as the [1, A] weight of a Linear(A → 1).
    let q = param(&[2, 3, 5], -1.0, 1.0, 73);
    let k = param(&[2, 4, 5], -1.0, 1.0, 74);
    for v in [param(&[5], -1.0, 1.0, 75), param(&[1, 5], -1.0, 1.0, 76)] {
        run(
            "additive_score fused",
            &|x| Tensor::additive_score(&x[0], &x[1], &x[2]),
            vec![q.clone(), k.clone(), v.clone()],
        );
        run(
            "additive_score composed",
            &|x| Tensor::additive_score_composed(&x[0], &x[1], &x[2]),
            vec![q.clone(), k.clone(), v],
        );
    }
}

/// Per-head attention products on `[B, T, H·d]` tensors (3 heads of width 2,
/// 4 queries, 5 keys), alone and chained as attention uses them.
pub fn heads(run: Run) {
    let q = param(&[2, 4, 6], -1.0, 1.0, 130);
    let k = param(&[2, 5, 6], -1.0, 1.0, 131);
    let v = param(&[2, 5, 6], -1.0, 1.0, 132);
    let p = param(&[2, 3, 4, 5], -1.0, 1.0, 133);
    run(
        "head_scores",
        &|x| x[0].head_scores(&x[1], 3, 0.7),
        vec![q.clone(), k.clone()],
    );
    run("head_mix", &|x| x[0].head_mix(&x[1]), vec![p, v.clone()]);
    run(
        "head_scores -> softmax -> head_mix",
        &|x| {
            x[0].head_scores(&x[1], 3, 0.7)?
                .softmax(-1)?
                .head_mix(&x[2])
        },
        vec![q, k, v],
    );
}
