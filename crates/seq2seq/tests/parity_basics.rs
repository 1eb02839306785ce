//! Linear, Embedding, LayerNorm and PositionalEncoding against PyTorch
//! (fixtures from tests/fixtures/gen_layers.py). Tolerances: common::FORWARD
//! and common::GRADIENT.

mod common;
use common::*;
use seq2seq::nn::{Embedding, LayerNorm, Linear, Module};
use tensor::{Device, Rng};

fn linear(device: &Device, name: &str) {
    let fx = Fixture::load(name, device);
    let layer = Linear::new(4, 3, fx.flag("bias"), &mut Rng::new(0), device).unwrap();
    layer.load_state_dict(&fx.state_dict()).unwrap();
    let x = fx.input("x");
    let y = layer.forward(&x).unwrap();
    fx.check(&layer, &[("y", &y)], &[("x", &x)]);
}

on_devices! {
    linear_with_bias => |d| linear(d, "linear_bias1");
    linear_without_bias => |d| linear(d, "linear_bias0");
    embedding_with_padding_idx => |d| {
        let fx = Fixture::load("embedding_pad0", d);
        let emb = Embedding::new(7, 4, Some(fx.usize("padding_idx")), &mut Rng::new(0), d).unwrap();
        emb.load_state_dict(&fx.state_dict()).unwrap();
        let y = emb.forward(&fx.input("ids")).unwrap();
        fx.check(&emb, &[("y", &y)], &[]);
    };
    layer_norm => |d| {
        let fx = Fixture::load("layer_norm", d);
        let ln = LayerNorm::new(5, d).unwrap();
        ln.load_state_dict(&fx.state_dict()).unwrap();
        let x = fx.input("x");
        let y = ln.forward(&x).unwrap();
        fx.check(&ln, &[("y", &y)], &[("x", &x)]);
    };
}

#[test]
fn embedding_padding_row_starts_at_zero() {
    let emb = Embedding::new(5, 3, Some(2), &mut Rng::new(1), &Device::Cpu).unwrap();
    let w = emb.weight.to_vec();
    assert_eq!(&w[6..9], &[0.0; 3]);
    assert!(w[..6].iter().any(|&v| v != 0.0));
}
