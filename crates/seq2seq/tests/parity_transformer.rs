//! Positional encoding and the Transformer against PyTorch: encoder and
//! decoder layers post-norm and pre-norm with ReLU and GELU, key padding and
//! causal masks; the full `nn.Transformer` (2 + 2 layers) post- and
//! pre-norm; a sequence-first encoder stack with a final norm. Tolerances:
//! common::FORWARD and common::GRADIENT.

mod common;
use common::*;
use seq2seq::nn::{
    causal_mask, Activation, Ctx, Masks, Module, PositionalEncoding, Transformer,
    TransformerConfig, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
};
use tensor::{Device, Rng};

fn config(fx: &Fixture) -> TransformerConfig {
    TransformerConfig {
        d_model: fx.usize("d_model"),
        nhead: fx.usize("nhead"),
        dim_feedforward: fx.usize("dim_feedforward"),
        dropout: 0.0,
        activation: if fx.meta("activation") == "gelu" {
            Activation::Gelu
        } else {
            Activation::Relu
        },
        norm_first: fx.flag("norm_first"),
        batch_first: fx.meta.get("batch_first").is_none_or(|v| v == "1"),
        num_encoder_layers: fx
            .meta
            .get("num_encoder_layers")
            .map_or(0, |v| v.parse().unwrap()),
        num_decoder_layers: fx
            .meta
            .get("num_decoder_layers")
            .map_or(0, |v| v.parse().unwrap()),
        ..Default::default()
    }
}

fn encoder_layer(device: &Device, case: &str) {
    let fx = Fixture::load(&format!("enc_layer_{case}"), device);
    let layer = TransformerEncoderLayer::new(&config(&fx), &mut Rng::new(0), device).unwrap();
    layer.load_state_dict(&fx.state_dict()).unwrap();
    let (src, kpm) = (fx.input("src"), fx.input("src_key_padding_mask"));
    let masks = Masks {
        key_padding_mask: Some(&kpm),
        ..Default::default()
    };
    let y = layer.forward(&src, &masks, &mut Ctx::eval()).unwrap();
    fx.check(&layer, &[("output", &y)], &[("src", &src)]);
}

fn decoder_layer(device: &Device, case: &str, causal_by_flag: bool) {
    let fx = Fixture::load(&format!("dec_layer_{case}"), device);
    let layer = TransformerDecoderLayer::new(&config(&fx), &mut Rng::new(0), device).unwrap();
    layer.load_state_dict(&fx.state_dict()).unwrap();
    let (tgt, mem) = (fx.input("tgt"), fx.input("memory"));
    let (tkpm, mkpm) = (
        fx.input("tgt_key_padding_mask"),
        fx.input("memory_key_padding_mask"),
    );
    let causal = causal_mask(tgt.dims()[1], tgt.dims()[1], device).unwrap();
    let tgt_mask = match causal_by_flag {
        true => Masks {
            key_padding_mask: Some(&tkpm),
            causal: true,
            ..Default::default()
        },
        false => Masks {
            key_padding_mask: Some(&tkpm),
            attn_mask: Some(&causal),
            causal: false,
        },
    };
    let mem_mask = Masks {
        key_padding_mask: Some(&mkpm),
        ..Default::default()
    };
    let y = layer
        .forward(&tgt, &mem, &tgt_mask, &mem_mask, &mut Ctx::eval())
        .unwrap();
    fx.check(
        &layer,
        &[("output", &y)],
        &[("tgt", &tgt), ("memory", &mem)],
    );
}

fn transformer(device: &Device, case: &str) {
    let fx = Fixture::load(&format!("transformer_{case}"), device);
    let model = Transformer::new(config(&fx), &mut Rng::new(0), device).unwrap();
    model.load_state_dict(&fx.state_dict()).unwrap();
    let (src, tgt) = (fx.input("src"), fx.input("tgt"));
    let (skpm, tkpm) = (
        fx.input("src_key_padding_mask"),
        fx.input("tgt_key_padding_mask"),
    );
    let src_mask = Masks {
        key_padding_mask: Some(&skpm),
        ..Default::default()
    };
    let tgt_mask = Masks {
        key_padding_mask: Some(&tkpm),
        causal: true,
        ..Default::default()
    };
    let y = model
        .forward(
            &src,
            &tgt,
            &src_mask,
            &tgt_mask,
            &src_mask,
            &mut Ctx::eval(),
        )
        .unwrap();
    fx.check(&model, &[("output", &y)], &[("src", &src), ("tgt", &tgt)]);
}

on_devices! {
    encoder_layer_post_norm_relu => |d| encoder_layer(d, "post_relu");
    encoder_layer_post_norm_gelu => |d| encoder_layer(d, "post_gelu");
    encoder_layer_pre_norm_relu => |d| encoder_layer(d, "pre_relu");
    encoder_layer_pre_norm_gelu => |d| encoder_layer(d, "pre_gelu");
    decoder_layer_post_norm_relu => |d| decoder_layer(d, "post_relu", true);
    decoder_layer_post_norm_gelu => |d| decoder_layer(d, "post_gelu", true);
    decoder_layer_pre_norm_relu => |d| decoder_layer(d, "pre_relu", true);
    decoder_layer_pre_norm_gelu => |d| decoder_layer(d, "pre_gelu", false);
    transformer_post_norm_relu => |d| transformer(d, "post_relu");
    transformer_pre_norm_gelu => |d| transformer(d, "pre_gelu");
    encoder_stack_sequence_first_final_norm => |d| {
        let fx = Fixture::load("encoder_l2_seqfirst", d);
        let enc = TransformerEncoder::new(&config(&fx), 2, true, &mut Rng::new(0), d).unwrap();
        enc.load_state_dict(&fx.state_dict()).unwrap();
        let (src, kpm) = (fx.input("src"), fx.input("src_key_padding_mask"));
        let masks = Masks { key_padding_mask: Some(&kpm), ..Default::default() };
        let y = enc.forward(&src, &masks, &mut Ctx::eval()).unwrap();
        fx.check(&enc, &[("output", &y)], &[("src", &src)]);
    };
    positional_encoding_table => |d| {
        let fx = Fixture::load("positional", d);
        let want = fx.output("pe");
        let pe = PositionalEncoding::table(want.dims()[0], want.dims()[1], d).unwrap();
        assert_close("positional encoding", &pe, &want, FORWARD);
    };
}

#[test]
fn positional_encoding_adds_the_table_along_time() {
    let d = Device::Cpu;
    let pe = PositionalEncoding::new(4, 10, 0.0, true, &d).unwrap();
    let x = tensor::Tensor::zeros([2, 3, 4], &d).unwrap();
    let y = pe.forward(&x, &mut Ctx::eval()).unwrap().to_vec();
    let table = pe.pe.to_vec();
    assert_eq!(&y[..12], &table[..12]);
    assert_eq!(&y[12..], &table[..12]);
    let seq_first = PositionalEncoding::new(4, 10, 0.0, false, &d).unwrap();
    let y = seq_first
        .forward(
            &tensor::Tensor::zeros([3, 2, 4], &d).unwrap(),
            &mut Ctx::eval(),
        )
        .unwrap()
        .to_vec();
    assert_eq!(&y[..4], &y[4..8]); // both batch entries of step 0
    assert_eq!(&y[8..12], &table[4..8]);
}
