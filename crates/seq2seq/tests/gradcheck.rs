//! Finite-difference gradient checks (tensor::gradcheck) of every layer at
//! tiny sizes, with respect to its inputs *and* every parameter: the layer is
//! rebuilt inside the checked function with the probed tensors swapped into
//! its parameter slots (`Module::parameters_mut`). Tolerance: the checker's
//! default (ε = 1e-2, |autograd - numeric| ≤ 2e-3 + 2e-2·|numeric|).

mod common;
use seq2seq::nn::*;
use tensor::gradcheck::{check, Tolerance};
use tensor::{Device, Result, Rng, Tensor};

/// Checks `run(layer, inputs)` by finite differences in `inputs` and in the
/// parameters of `make()` (which must build the same layer every call).
fn check_layer<M: Module>(
    name: &str,
    make: impl Fn() -> M,
    inputs: &[Tensor],
    run: impl Fn(&M, &[Tensor]) -> Result<Tensor>,
) {
    let n = inputs.len();
    let mut all: Vec<Tensor> = inputs.to_vec();
    all.extend(make().parameters());
    let f = |xs: &[Tensor]| {
        let mut layer = make();
        let slots = layer.parameters_mut();
        assert_eq!(slots.len(), xs.len() - n);
        for (slot, x) in slots.into_iter().zip(&xs[n..]) {
            *slot = x.clone();
        }
        run(&layer, &xs[..n])
    };
    if let Err(e) = check(f, &all, Tolerance::default()) {
        let names: Vec<String> = make()
            .named_parameters()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        panic!("{name}: {e} (inputs 0..{n}, then parameters {names:?})");
    }
}

fn x(shape: &[usize], seed: u64, d: &Device) -> Tensor {
    Tensor::rand(shape.to_vec(), -1.0, 1.0, &mut Rng::new(seed), d)
        .unwrap()
        .requires_grad_()
}

fn flat(parts: &[Tensor]) -> Result<Tensor> {
    Tensor::cat(
        &parts
            .iter()
            .map(|t| t.flatten())
            .collect::<Result<Vec<_>>>()?,
        0,
    )
}

fn rnn_cases(d: &Device) {
    // (layers, bidirectional, batch_first, lengths)
    let cases: [(usize, bool, bool, Option<Vec<usize>>); 3] = [
        (1, false, false, None),
        (2, true, true, None),
        (1, true, false, Some(vec![3, 1])),
    ];
    for (layers, bi, bf, lengths) in cases {
        let cfg = RnnConfig::new(3, 2)
            .num_layers(layers)
            .bidirectional(bi)
            .batch_first(bf);
        let dirs = cfg.directions();
        let x_shape = if bf { [2, 3, 3] } else { [3, 2, 3] }; // B = 2, T = 3
        let inputs = [
            x(&x_shape, 1, d),
            x(&[layers * dirs, 2, 2], 2, d),
            x(&[layers * dirs, 2, 2], 3, d),
        ];
        let lens = lengths.as_deref();
        let what = format!("{cfg:?} lengths {lengths:?}");
        check_layer(
            &format!("RNN {what}"),
            || RNN::new(cfg.clone(), &mut Rng::new(4), d).unwrap(),
            &inputs[..2],
            |m, xs| {
                let (out, h) = m.forward(&xs[0], Some(&xs[1]), lens, &mut Ctx::eval())?;
                flat(&[out, h])
            },
        );
        check_layer(
            &format!("GRU {what}"),
            || GRU::new(cfg.clone(), &mut Rng::new(5), d).unwrap(),
            &inputs[..2],
            |m, xs| {
                let (out, h) = m.forward(&xs[0], Some(&xs[1]), lens, &mut Ctx::eval())?;
                flat(&[out, h])
            },
        );
        check_layer(
            &format!("LSTM {what}"),
            || LSTM::new(cfg.clone(), &mut Rng::new(6), d).unwrap(),
            &inputs,
            |m, xs| {
                let (out, (h, c)) =
                    m.forward(&xs[0], Some((&xs[1], &xs[2])), lens, &mut Ctx::eval())?;
                flat(&[out, h, c])
            },
        );
    }
}

fn attention_cases(d: &Device) {
    let mask = Tensor::from_vec(vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [2, 3], d).unwrap();
    for score in [Score::Bahdanau, Score::Dot, Score::General, Score::Concat] {
        for query in [vec![2, 3], vec![2, 2, 3]] {
            let inputs = [x(&query, 10, d), x(&[2, 3, 3], 11, d)];
            check_layer(
                &format!("{score:?} {query:?}"),
                || Attention::new(score, 3, 3, 2, &mut Rng::new(12), d).unwrap(),
                &inputs,
                |m, xs| {
                    let out = m.forward(&xs[0], &xs[1], Some(&mask))?;
                    flat(&[out.context, out.weights])
                },
            );
        }
    }
}

fn mha_cases(d: &Device) {
    let kpm = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [2, 4], d).unwrap();
    let make = |bf: bool| {
        move || MultiheadAttention::new(4, 2, 0.0, true, bf, &mut Rng::new(20), d).unwrap()
    };
    let q = x(&[2, 3, 4], 21, d);
    let kv = [x(&[2, 4, 4], 22, d), x(&[2, 4, 4], 23, d)];
    check_layer(
        "MHA self causal",
        make(true),
        std::slice::from_ref(&q),
        |m, xs| {
            let masks = Masks {
                causal: true,
                ..Default::default()
            };
            let (y, w) = m.forward(
                &xs[0],
                &xs[0],
                &xs[0],
                &masks,
                Weights::PerHead,
                &mut Ctx::eval(),
            )?;
            flat(&[y, w.unwrap()])
        },
    );
    check_layer(
        "MHA cross key padding",
        make(true),
        &[q.clone(), kv[0].clone(), kv[1].clone()],
        |m, xs| {
            let masks = Masks {
                key_padding_mask: Some(&kpm),
                ..Default::default()
            };
            let (y, w) = m.forward(
                &xs[0],
                &xs[1],
                &xs[2],
                &masks,
                Weights::Averaged,
                &mut Ctx::eval(),
            )?;
            flat(&[y, w.unwrap()])
        },
    );
}

fn transformer_cases(d: &Device) {
    let cfg = |norm_first| TransformerConfig {
        d_model: 4,
        nhead: 2,
        dim_feedforward: 6,
        dropout: 0.0,
        activation: Activation::Gelu,
        batch_first: true,
        norm_first,
        num_encoder_layers: 1,
        num_decoder_layers: 1,
        ..Default::default()
    };
    let kpm = Tensor::from_vec(vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0], [2, 3], d).unwrap();
    let (src, tgt) = (x(&[2, 3, 4], 30, d), x(&[2, 2, 4], 31, d));
    for norm_first in [false, true] {
        let c = cfg(norm_first);
        check_layer(
            &format!("encoder layer norm_first={norm_first}"),
            || TransformerEncoderLayer::new(&c, &mut Rng::new(32), d).unwrap(),
            std::slice::from_ref(&src),
            |m, xs| {
                m.forward(
                    &xs[0],
                    &Masks {
                        key_padding_mask: Some(&kpm),
                        ..Default::default()
                    },
                    &mut Ctx::eval(),
                )
            },
        );
        check_layer(
            &format!("decoder layer norm_first={norm_first}"),
            || TransformerDecoderLayer::new(&c, &mut Rng::new(33), d).unwrap(),
            &[tgt.clone(), src.clone()],
            |m, xs| {
                let tgt_mask = Masks {
                    causal: true,
                    ..Default::default()
                };
                m.forward(
                    &xs[0],
                    &xs[1],
                    &tgt_mask,
                    &Masks {
                        key_padding_mask: Some(&kpm),
                        ..Default::default()
                    },
                    &mut Ctx::eval(),
                )
            },
        );
    }
    let c = TransformerConfig {
        activation: Activation::Relu,
        ..cfg(false)
    };
    check_layer(
        "transformer",
        || Transformer::new(c.clone(), &mut Rng::new(34), d).unwrap(),
        &[src.clone(), tgt.clone()],
        |m, xs| {
            let tgt_mask = Masks {
                causal: true,
                ..Default::default()
            };
            m.forward(
                &xs[0],
                &xs[1],
                &Masks::default(),
                &tgt_mask,
                &Masks::default(),
                &mut Ctx::eval(),
            )
        },
    );
}

on_devices! {
    linear => |d| {
        check_layer("Linear", || Linear::new(3, 2, true, &mut Rng::new(1), d).unwrap(), &[x(&[2, 2, 3], 2, d)], |m, xs| m.forward(&xs[0]));
    };
    layer_norm => |d| {
        let make = || {
            let mut ln = LayerNorm::new(4, d).unwrap();
            ln.weight = x(&[4], 3, d);
            ln.bias = x(&[4], 4, d);
            ln
        };
        check_layer("LayerNorm", make, &[x(&[3, 4], 5, d)], |m, xs| m.forward(&xs[0]));
    };
    embedding => |d| {
        let ids = Tensor::from_vec(vec![1.0, 3.0, 1.0, 2.0], [2, 2], d).unwrap();
        check_layer("Embedding", || Embedding::new(4, 3, None, &mut Rng::new(6), d).unwrap(), &[], |m, _| m.forward(&ids));
    };
    cells => |d| {
        let (xi, h, c) = (x(&[2, 3], 7, d), x(&[2, 2], 8, d), x(&[2, 2], 9, d));
        check_layer("RNNCell", || RNNCell::new(3, 2, true, &mut Rng::new(1), d).unwrap(), &[xi.clone(), h.clone()], |m, xs| m.forward(&xs[0], Some(&xs[1])));
        check_layer("GRUCell", || GRUCell::new(3, 2, true, &mut Rng::new(1), d).unwrap(), &[xi.clone(), h.clone()], |m, xs| m.forward(&xs[0], Some(&xs[1])));
        check_layer("LSTMCell", || LSTMCell::new(3, 2, true, &mut Rng::new(1), d).unwrap(), &[xi, h, c], |m, xs| {
            let (h, c) = m.forward(&xs[0], Some((&xs[1], &xs[2])))?;
            flat(&[h, c])
        });
    };
    recurrent_layers => rnn_cases;
    attention => attention_cases;
    multihead_attention => mha_cases;
    transformer => transformer_cases;
}
