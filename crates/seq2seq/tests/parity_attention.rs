//! Bahdanau and Luong attention, and multi-head attention, against PyTorch:
//! every score, with and without a source padding mask, one query step and
//! a sequence of them; MHA self- and cross-attention with each mask, causal,
//! weights averaged or per head, batch-first or not. Tolerances:
//! common::FORWARD and common::GRADIENT.

mod common;
use common::*;
use seq2seq::nn::{causal_mask, Attention, Ctx, Masks, Module, MultiheadAttention, Score, Weights};
use tensor::{Device, Rng};

fn attention(device: &Device, score: Score, case: &str) {
    let name = format!("attn_{}_{case}", format!("{score:?}").to_lowercase());
    let fx = Fixture::load(&name, device);
    let (hq, hk, a) = (
        fx.usize("query_size"),
        fx.usize("key_size"),
        fx.usize("attn_size"),
    );
    let attn = Attention::new(score, hq, hk, a, &mut Rng::new(0), device).unwrap();
    attn.load_state_dict(&fx.state_dict()).unwrap();
    let (q, m, mask) = (
        fx.input("query"),
        fx.input("memory"),
        fx.maybe_input("mask"),
    );
    let out = attn.forward(&q, &m, mask.as_ref()).unwrap();
    fx.check(
        &attn,
        &[("context", &out.context), ("weights", &out.weights)],
        &[("query", &q), ("memory", &m)],
    );
}

fn mha(device: &Device, case: &str) {
    let fx = Fixture::load(&format!("mha_{case}"), device);
    let m = MultiheadAttention::new(
        fx.usize("embed_dim"),
        fx.usize("num_heads"),
        0.0,
        true,
        fx.flag("batch_first"),
        &mut Rng::new(0),
        device,
    )
    .unwrap();
    m.load_state_dict(&fx.state_dict()).unwrap();
    let q = fx.input("query");
    let (k, v) = match fx.flag("self_attn") {
        true => (q.clone(), q.clone()),
        false => (fx.input("key"), fx.input("value")),
    };
    let (kpm, am) = (
        fx.maybe_input("key_padding_mask"),
        fx.maybe_input("attn_mask"),
    );
    let masks = Masks {
        attn_mask: am.as_ref(),
        key_padding_mask: kpm.as_ref(),
        causal: fx.flag("causal"),
    };
    let weights = if fx.flag("average_weights") {
        Weights::Averaged
    } else {
        Weights::PerHead
    };
    let (out, w) = m
        .forward(&q, &k, &v, &masks, weights, &mut Ctx::eval())
        .unwrap();
    let w = w.unwrap();
    let mut inputs = vec![("query", &q)];
    if !fx.flag("self_attn") {
        inputs.extend([("key", &k), ("value", &v)]);
    }
    fx.check(&m, &[("output", &out), ("weights", &w)], &inputs);
    // Without weights, the heads take the engine's attention op where the masks allow.
    let (q, k, v) = (q.detach(), k.detach(), v.detach());
    let (q, k, v) = match fx.flag("self_attn") {
        true => (q.clone(), q.clone(), q),
        false => (q, k, v),
    };
    let (out, none) = m
        .forward(&q, &k, &v, &masks, Weights::None, &mut Ctx::eval())
        .unwrap();
    assert!(none.is_none());
    assert_close(
        &format!("{case} without weights"),
        &out,
        &fx.output("output"),
        FORWARD,
    );
}

on_devices! {
    bahdanau => |d| attention(d, Score::Bahdanau, "nomask_step");
    bahdanau_sequence => |d| attention(d, Score::Bahdanau, "nomask_seq");
    bahdanau_masked => |d| attention(d, Score::Bahdanau, "mask_step");
    bahdanau_masked_sequence => |d| attention(d, Score::Bahdanau, "mask_seq");
    luong_dot => |d| attention(d, Score::Dot, "nomask_step");
    luong_dot_sequence => |d| attention(d, Score::Dot, "nomask_seq");
    luong_dot_masked => |d| attention(d, Score::Dot, "mask_step");
    luong_dot_masked_sequence => |d| attention(d, Score::Dot, "mask_seq");
    luong_general => |d| attention(d, Score::General, "nomask_step");
    luong_general_sequence => |d| attention(d, Score::General, "nomask_seq");
    luong_general_masked => |d| attention(d, Score::General, "mask_step");
    luong_general_masked_sequence => |d| attention(d, Score::General, "mask_seq");
    luong_concat => |d| attention(d, Score::Concat, "nomask_step");
    luong_concat_sequence => |d| attention(d, Score::Concat, "nomask_seq");
    luong_concat_masked => |d| attention(d, Score::Concat, "mask_step");
    luong_concat_masked_sequence => |d| attention(d, Score::Concat, "mask_seq");

    mha_self_attention => |d| mha(d, "self_plain");
    mha_key_padding_per_head_weights => |d| mha(d, "self_kpm_perhead");
    mha_causal_sequence_first => |d| mha(d, "self_causal");
    mha_attn_mask_and_key_padding => |d| mha(d, "self_attnmask_kpm");
    mha_cross_attention_key_padding => |d| mha(d, "cross_kpm");
    mha_cross_attention_attn_mask_sequence_first => |d| mha(d, "cross_attnmask_seqfirst");
}

#[test]
fn causal_flag_equals_causal_attn_mask() {
    let d = Device::Cpu;
    let fx = Fixture::load("mha_self_causal", &d);
    let m = MultiheadAttention::new(8, 2, 0.0, true, false, &mut Rng::new(0), &d).unwrap();
    m.load_state_dict(&fx.state_dict()).unwrap();
    let q = fx.input("query").detach();
    let mask = causal_mask(q.dims()[0], q.dims()[0], &d).unwrap();
    let by_mask = Masks {
        attn_mask: Some(&mask),
        ..Default::default()
    };
    let (a, _) = m
        .forward(&q, &q, &q, &by_mask, Weights::None, &mut Ctx::eval())
        .unwrap();
    assert_close("attn_mask = causal", &a, &fx.output("output"), FORWARD);
}

#[test]
fn precomputed_keys_give_the_same_attention() {
    let d = Device::Cpu;
    for score in [Score::Bahdanau, Score::Dot, Score::General, Score::Concat] {
        let name = format!("attn_{}_mask_seq", format!("{score:?}").to_lowercase());
        let fx = Fixture::load(&name, &d);
        let attn = Attention::new(score, 4, 4, 6, &mut Rng::new(0), &d).unwrap();
        attn.load_state_dict(&fx.state_dict()).unwrap();
        let keys = attn.project_keys(&fx.input("memory")).unwrap();
        let mask = fx.input("mask");
        let q = fx.input("query");
        for t in 0..q.dims()[1] {
            let step = attn
                .attend(
                    &q.narrow(1, t, 1).unwrap().squeeze(1).unwrap(),
                    &keys,
                    Some(&mask),
                )
                .unwrap();
            let want = fx
                .output("context")
                .narrow(1, t, 1)
                .unwrap()
                .squeeze(1)
                .unwrap();
            assert_close(&format!("{name} step {t}"), &step.context, &want, FORWARD);
        }
    }
}
