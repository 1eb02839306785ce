//! The `Module` contract: PyTorch's state_dict names, loading with a full
//! list of misfits, safetensors round trips; training vs evaluation; and the
//! errors bad input gets (never a panic).

mod common;
use seq2seq::nn::*;
use tensor::{Device, Rng, Tensor};

const CPU: Device = Device::Cpu;

fn names(m: &impl Module) -> Vec<String> {
    m.named_parameters().into_iter().map(|(n, _)| n).collect()
}

/// `parameters_mut` must walk the same tensors in the same order as `named_parameters`.
fn slots_match<M: Module>(mut m: M) {
    let ids: Vec<_> = m.parameters().iter().map(|t| t.id()).collect();
    let slot_ids: Vec<_> = m.parameters_mut().iter().map(|t| t.id()).collect();
    assert_eq!(ids, slot_ids);
}

#[test]
fn parameter_names_are_pytorch_state_dict_names() {
    let rng = &mut Rng::new(0);
    let gru = GRU::new(
        RnnConfig::new(3, 2).num_layers(2).bidirectional(true),
        rng,
        &CPU,
    )
    .unwrap();
    let n = names(&gru);
    assert_eq!(n.len(), 16);
    assert_eq!(
        &n[..4],
        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    );
    assert_eq!(n[4], "weight_ih_l0_reverse");
    assert_eq!(n[15], "bias_hh_l1_reverse");
    let lstm = LSTM::new(RnnConfig::new(3, 2).bias(false), rng, &CPU).unwrap();
    assert_eq!(names(&lstm), ["weight_ih_l0", "weight_hh_l0"]);
    assert_eq!(lstm.cells[0].weight_ih.dims(), [8, 3]);
    let mha = MultiheadAttention::new(4, 2, 0.0, true, true, rng, &CPU).unwrap();
    assert_eq!(
        names(&mha),
        [
            "in_proj_weight",
            "in_proj_bias",
            "out_proj.weight",
            "out_proj.bias"
        ]
    );
    let cfg = TransformerConfig {
        d_model: 4,
        nhead: 2,
        num_encoder_layers: 1,
        num_decoder_layers: 1,
        dim_feedforward: 6,
        ..Default::default()
    };
    let t = Transformer::new(cfg.clone(), rng, &CPU).unwrap();
    let n = names(&t);
    for want in [
        "encoder.layers.0.self_attn.in_proj_weight",
        "encoder.layers.0.linear1.weight",
        "encoder.layers.0.norm2.bias",
        "encoder.norm.weight",
        "decoder.layers.0.multihead_attn.out_proj.bias",
        "decoder.layers.0.norm3.weight",
        "decoder.norm.bias",
    ] {
        assert!(n.iter().any(|x| x == want), "{want} missing from {n:?}");
    }
    assert_eq!(n.len(), 12 + 2 + 18 + 2); // encoder layer, encoder.norm, decoder layer, decoder.norm
    slots_match(gru);
    slots_match(lstm);
    slots_match(mha);
    slots_match(t);
    slots_match(Attention::new(Score::Concat, 3, 3, 2, rng, &CPU).unwrap());
}

#[test]
fn a_misfitting_state_dict_lists_every_problem_and_copies_nothing() {
    let rng = &mut Rng::new(1);
    let gru = GRU::new(RnnConfig::new(3, 2), rng, &CPU).unwrap();
    let before = gru.cells[0].weight_hh.to_vec();
    let mut state = gru.named_parameters();
    state.retain(|(n, _)| n != "bias_hh_l0");
    state[0].1 = Tensor::zeros([6, 4], &CPU).unwrap(); // weight_ih_l0 mis-shaped
    state[1].1 = Tensor::zeros([6, 2], &CPU).unwrap(); // weight_hh_l0 fits
    state.push(("weight_ih_l1".into(), Tensor::zeros([6, 2], &CPU).unwrap()));
    let err = gru.load_state_dict(&state).unwrap_err();
    assert_eq!(err.missing, ["bias_hh_l0"]);
    assert_eq!(err.unexpected, ["weight_ih_l1"]);
    assert_eq!(err.mismatched.len(), 1);
    let msg = err.to_string();
    for part in [
        "bias_hh_l0",
        "weight_ih_l1",
        "\"weight_ih_l0\" has shape [6, 4], the module expects [6, 3]",
    ] {
        assert!(msg.contains(part), "{msg}");
    }
    assert_eq!(
        gru.cells[0].weight_hh.to_vec(),
        before,
        "nothing may be copied from a misfitting state"
    );
}

#[test]
fn safetensors_round_trip_and_pytorch_file() {
    let dir = std::env::temp_dir().join(format!("s2s-module-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lstm.safetensors");
    let cfg = RnnConfig::new(3, 2).bidirectional(true);
    let a = LSTM::new(cfg.clone(), &mut Rng::new(2), &CPU).unwrap();
    a.save_safetensors(&path).unwrap();
    let b = LSTM::new(cfg, &mut Rng::new(3), &CPU).unwrap();
    assert_ne!(a.parameters()[0].to_vec(), b.parameters()[0].to_vec());
    b.load_safetensors(&path).unwrap();
    for (x, y) in a.parameters().iter().zip(b.parameters()) {
        assert_eq!(x.to_vec(), y.to_vec());
    }
    // A PyTorch state_dict written by gen_layers.py (param.* renamed as PyTorch saves them).
    let fx = common::Fixture::load("transformer_pre_gelu", &CPU);
    let torch_file = dir.join("torch.safetensors");
    tensor::io::save(&torch_file, &fx.state_dict(), None).unwrap();
    let cfg = TransformerConfig {
        d_model: 8,
        nhead: 2,
        num_encoder_layers: 2,
        num_decoder_layers: 2,
        dim_feedforward: 12,
        norm_first: true,
        ..Default::default()
    };
    let t = Transformer::new(cfg, &mut Rng::new(4), &CPU).unwrap();
    t.load_safetensors(&torch_file).unwrap();
    let small = GRU::new(RnnConfig::new(3, 2), &mut Rng::new(5), &CPU).unwrap();
    let err = small.load_safetensors(&torch_file).unwrap_err();
    assert_eq!(err.missing.len(), 4);
    assert_eq!(err.unexpected.len(), fx.state_dict().len());
    assert!(small
        .load_safetensors(&dir.join("absent.safetensors"))
        .unwrap_err()
        .to_string()
        .contains("absent.safetensors"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dropout_acts_in_training_only() {
    let rng = &mut Rng::new(6);
    let x = Tensor::rand([5, 2, 3], -1.0, 1.0, rng, &CPU).unwrap();
    let gru = GRU::new(RnnConfig::new(3, 4).num_layers(2).dropout(0.5), rng, &CPU).unwrap();
    let eval1 = gru
        .forward(&x, None, None, &mut Ctx::eval())
        .unwrap()
        .0
        .to_vec();
    let eval2 = gru
        .forward(&x, None, None, &mut Ctx::eval())
        .unwrap()
        .0
        .to_vec();
    assert_eq!(eval1, eval2);
    let mut ctx = Ctx::train(Rng::new(1));
    let train1 = gru.forward(&x, None, None, &mut ctx).unwrap().0.to_vec();
    let train2 = gru.forward(&x, None, None, &mut ctx).unwrap().0.to_vec();
    assert_ne!(train1, eval1);
    assert_ne!(train1, train2, "the stream advances between calls");
    let again = gru
        .forward(&x, None, None, &mut Ctx::train(Rng::new(1)))
        .unwrap()
        .0
        .to_vec();
    assert_eq!(again, train1, "the same stream gives the same masks");
    // One layer: inter-layer dropout has nothing to act on.
    let one = GRU::new(RnnConfig::new(3, 4).dropout(0.5), rng, &CPU).unwrap();
    let (a, b) = (
        one.forward(&x, None, None, &mut Ctx::eval())
            .unwrap()
            .0
            .to_vec(),
        one.forward(&x, None, None, &mut Ctx::train(Rng::new(2)))
            .unwrap()
            .0
            .to_vec(),
    );
    assert_eq!(a, b);
    let cfg = TransformerConfig {
        d_model: 4,
        nhead: 2,
        dim_feedforward: 6,
        dropout: 0.3,
        batch_first: true,
        ..Default::default()
    };
    let enc = TransformerEncoderLayer::new(&cfg, rng, &CPU).unwrap();
    let src = Tensor::rand([2, 3, 4], -1.0, 1.0, rng, &CPU).unwrap();
    let e = enc
        .forward(&src, &Masks::default(), &mut Ctx::eval())
        .unwrap()
        .to_vec();
    let t = enc
        .forward(&src, &Masks::default(), &mut Ctx::train(Rng::new(3)))
        .unwrap()
        .to_vec();
    assert_ne!(e, t);
}

#[test]
fn padded_steps_keep_the_state_and_output_zero() {
    let rng = &mut Rng::new(7);
    let lstm = LSTM::new(RnnConfig::new(2, 3).batch_first(true), rng, &CPU).unwrap();
    let x = Tensor::rand([2, 4, 2], -1.0, 1.0, rng, &CPU).unwrap();
    let (out, (h, _)) = lstm
        .forward(&x, None, Some(&[4, 2]), &mut Ctx::eval())
        .unwrap();
    let (out, h) = (out.to_vec(), h.to_vec());
    assert!(
        out[12 + 6..].iter().all(|&v| v == 0.0),
        "steps 2, 3 of sequence 1 are padding"
    );
    assert_eq!(
        &h[3..6],
        &out[12 + 3..12 + 6],
        "h_n of sequence 1 is its step-1 output"
    );
    // The same sequence alone, unpadded, gives the same numbers.
    let alone = x.narrow(0, 1, 1).unwrap().narrow(1, 0, 2).unwrap();
    let (o2, _) = lstm.forward(&alone, None, None, &mut Ctx::eval()).unwrap();
    common::assert_close(
        "padded vs alone",
        &Tensor::from_vec(out[12..18].to_vec(), [1, 2, 3], &CPU).unwrap(),
        &o2,
        common::FORWARD,
    );
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let rng = &mut Rng::new(8);
    let gru = GRU::new(RnnConfig::new(3, 2).num_layers(2), rng, &CPU).unwrap();
    let x = Tensor::zeros([4, 2, 3], &CPU).unwrap();
    let ctx = &mut Ctx::eval();
    let msg = |r: tensor::Result<(Tensor, Tensor)>| r.expect_err("must fail").to_string();
    assert!(
        msg(gru.forward(&Tensor::zeros([4, 2, 5], &CPU).unwrap(), None, None, ctx))
            .contains("I = 3")
    );
    assert!(msg(gru.forward(&x, None, Some(&[4]), ctx)).contains("lengths"));
    assert!(msg(gru.forward(&x, None, Some(&[4, 0]), ctx)).contains("lengths"));
    assert!(msg(gru.forward(&x, None, Some(&[4, 5]), ctx)).contains("lengths"));
    assert!(msg(gru.forward(
        &x,
        Some(&Tensor::zeros([1, 2, 2], &CPU).unwrap()),
        None,
        ctx
    ))
    .contains("initial state"));
    assert!(
        msg(gru.forward(&Tensor::zeros([0, 2, 3], &CPU).unwrap(), None, None, ctx))
            .contains("no steps")
    );
    assert!(GRU::new(RnnConfig::new(3, 2).dropout(1.0), rng, &CPU).is_err());
    assert!(MultiheadAttention::new(5, 2, 0.0, true, true, rng, &CPU).is_err());
    let mha = MultiheadAttention::new(4, 2, 0.0, true, true, rng, &CPU).unwrap();
    let q = Tensor::zeros([2, 3, 4], &CPU).unwrap();
    let bad = Tensor::zeros([3, 2], &CPU).unwrap();
    for masks in [
        Masks {
            attn_mask: Some(&bad),
            ..Default::default()
        },
        Masks {
            key_padding_mask: Some(&bad),
            ..Default::default()
        },
    ] {
        assert!(mha.forward(&q, &q, &q, &masks, Weights::None, ctx).is_err());
    }
    assert!(Attention::new(Score::Dot, 3, 4, 2, rng, &CPU).is_err());
    assert!(Embedding::new(3, 2, Some(3), rng, &CPU).is_err());
    let emb = Embedding::new(3, 2, None, rng, &CPU).unwrap();
    assert!(emb
        .forward(&Tensor::from_vec(vec![3.0], [1], &CPU).unwrap())
        .is_err());
}

/// The models' names are their checkpoints' keys: a saved run loads only
/// while these stay as they are.
#[test]
fn model_parameter_names_are_the_checkpoint_names() {
    use seq2seq::models::*;
    let rng = &mut Rng::new(0);
    let model = |c: ModelConfig, rng: &mut Rng| Model::new(&c, rng, &CPU).unwrap();
    let rnn = model(
        ModelConfig::Rnn(RnnSeq2SeqConfig {
            cell: CellKind::Lstm,
            src_vocab: 5,
            tgt_vocab: 6,
            embed_size: 3,
            hidden_size: 4,
            num_layers: 1,
            dropout: 0.0,
            reverse_source: true,
            teacher_forcing: 1.0,
        }),
        rng,
    );
    let cell = |p: &str, s: &str| {
        ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map(|w| format!("{p}.{w}_l0{s}"))
    };
    let mut want = vec!["src_embed.weight".to_string(), "tgt_embed.weight".into()];
    want.extend(cell("encoder", ""));
    want.extend(cell("decoder", ""));
    want.extend(["generator.weight".into(), "generator.bias".into()]);
    assert_eq!(names(&rnn), want);

    let attn = model(
        ModelConfig::Attn(AttnConfig {
            cell: CellKind::Gru,
            score: ScoreKind::Bahdanau,
            src_vocab: 5,
            tgt_vocab: 6,
            embed_size: 3,
            hidden_size: 4,
            num_layers: 1,
            bidirectional: true,
            attn_size: 4,
            dropout: 0.0,
            input_feeding: false,
            teacher_forcing: 1.0,
        }),
        rng,
    );
    let mut want = vec!["src_embed.weight".to_string(), "tgt_embed.weight".into()];
    want.extend(cell("encoder", ""));
    want.extend(cell("encoder", "_reverse"));
    want.extend(["bridge.weight", "bridge.bias"].map(String::from));
    want.extend(
        ["query_layer", "key_layer", "energy_layer"].map(|l| format!("attention.{l}.weight")),
    );
    want.extend(cell("decoder", ""));
    want.extend(["pre_output.weight", "generator.weight", "generator.bias"].map(String::from));
    assert_eq!(names(&attn), want);

    // shared embeddings and a tied output: each tensor once, under the embedding's name
    let tied = model(
        ModelConfig::Transformer(TransformerSeq2SeqConfig {
            src_vocab: 7,
            tgt_vocab: 7,
            d_model: 4,
            nhead: 2,
            num_encoder_layers: 1,
            num_decoder_layers: 1,
            dim_feedforward: 6,
            dropout: 0.0,
            norm_first: true,
            share_embeddings: true,
            tie_output: true,
            max_len: 8,
        }),
        rng,
    );
    let n = names(&tied);
    assert_eq!(n.len(), 1 + 12 + 2 + 18 + 2 + 1);
    assert_eq!(n[0], "src_embed.weight");
    assert_eq!(
        n[1],
        "transformer.encoder.layers.0.self_attn.in_proj_weight"
    );
    assert_eq!(n[n.len() - 1], "generator.bias");
    assert!(!n
        .iter()
        .any(|x| x == "generator.weight" || x == "tgt_embed.weight"));
    slots_match(rnn);
    slots_match(attn);
    slots_match(tied);
}
