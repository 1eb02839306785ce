//! RNN, GRU and LSTM (cells and full layers) against PyTorch: one and two
//! layers, uni- and bidirectional, batch-first, initial states, and padded
//! batches (PyTorch's oracle: pack_padded_sequence → layer →
//! pad_packed_sequence). Tolerances: common::FORWARD and common::GRADIENT.

mod common;
use common::*;
use seq2seq::nn::{Ctx, GRUCell, LSTMCell, Module, RNNCell, RnnConfig, GRU, LSTM, RNN};
use tensor::{Device, Rng};

fn config(fx: &Fixture) -> RnnConfig {
    RnnConfig::new(fx.usize("input_size"), fx.usize("hidden_size"))
        .num_layers(fx.usize("num_layers"))
        .bidirectional(fx.flag("bidirectional"))
        .batch_first(fx.flag("batch_first"))
}

fn rnn(device: &Device, case: &str) {
    let fx = Fixture::load(&format!("rnn_{case}"), device);
    let layer = RNN::new(config(&fx), &mut Rng::new(0), device).unwrap();
    layer.load_state_dict(&fx.state_dict()).unwrap();
    let (x, h0) = (fx.input("x"), fx.maybe_input("h0"));
    let (out, h_n) = layer
        .forward(&x, h0.as_ref(), fx.lengths().as_deref(), &mut Ctx::eval())
        .unwrap();
    let mut inputs = vec![("x", &x)];
    inputs.extend(h0.as_ref().map(|h| ("h0", h)));
    fx.check(&layer, &[("output", &out), ("h_n", &h_n)], &inputs);
}

fn gru(device: &Device, case: &str) {
    let fx = Fixture::load(&format!("gru_{case}"), device);
    let layer = GRU::new(config(&fx), &mut Rng::new(0), device).unwrap();
    layer.load_state_dict(&fx.state_dict()).unwrap();
    let (x, h0) = (fx.input("x"), fx.maybe_input("h0"));
    let (out, h_n) = layer
        .forward(&x, h0.as_ref(), fx.lengths().as_deref(), &mut Ctx::eval())
        .unwrap();
    let mut inputs = vec![("x", &x)];
    inputs.extend(h0.as_ref().map(|h| ("h0", h)));
    fx.check(&layer, &[("output", &out), ("h_n", &h_n)], &inputs);
}

fn lstm(device: &Device, case: &str) {
    let fx = Fixture::load(&format!("lstm_{case}"), device);
    let layer = LSTM::new(config(&fx), &mut Rng::new(0), device).unwrap();
    layer.load_state_dict(&fx.state_dict()).unwrap();
    let (x, h0, c0) = (fx.input("x"), fx.maybe_input("h0"), fx.maybe_input("c0"));
    let state = h0.as_ref().zip(c0.as_ref());
    let (out, (h_n, c_n)) = layer
        .forward(&x, state, fx.lengths().as_deref(), &mut Ctx::eval())
        .unwrap();
    let mut inputs = vec![("x", &x)];
    inputs.extend(h0.as_ref().map(|h| ("h0", h)));
    inputs.extend(c0.as_ref().map(|c| ("c0", c)));
    fx.check(
        &layer,
        &[("output", &out), ("h_n", &h_n), ("c_n", &c_n)],
        &inputs,
    );
}

on_devices! {
    rnn_cell => |d| {
        let fx = Fixture::load("rnn_cell", d);
        let cell = RNNCell::new(4, 3, true, &mut Rng::new(0), d).unwrap();
        cell.load_state_dict(&fx.state_dict()).unwrap();
        let (x, h) = (fx.input("x"), fx.input("h"));
        let h1 = cell.forward(&x, Some(&h)).unwrap();
        fx.check(&cell, &[("h", &h1)], &[("x", &x), ("h", &h)]);
    };
    gru_cell => |d| {
        let fx = Fixture::load("gru_cell", d);
        let cell = GRUCell::new(4, 3, true, &mut Rng::new(0), d).unwrap();
        cell.load_state_dict(&fx.state_dict()).unwrap();
        let (x, h) = (fx.input("x"), fx.input("h"));
        let h1 = cell.forward(&x, Some(&h)).unwrap();
        fx.check(&cell, &[("h", &h1)], &[("x", &x), ("h", &h)]);
    };
    lstm_cell => |d| {
        let fx = Fixture::load("lstm_cell", d);
        let cell = LSTMCell::new(4, 3, true, &mut Rng::new(0), d).unwrap();
        cell.load_state_dict(&fx.state_dict()).unwrap();
        let (x, h, c) = (fx.input("x"), fx.input("h"), fx.input("c"));
        let (h1, c1) = cell.forward(&x, Some((&h, &c))).unwrap();
        fx.check(&cell, &[("h", &h1), ("c", &c1)], &[("x", &x), ("h", &h), ("c", &c)]);
    };

    rnn_one_layer => |d| rnn(d, "l1_uni");
    rnn_bidirectional => |d| rnn(d, "l1_bi");
    rnn_two_layers_initial_state => |d| rnn(d, "l2_uni_h0");
    rnn_two_layers_bidirectional_batch_first => |d| rnn(d, "l2_bi_bf_h0");
    rnn_bidirectional_padded => |d| rnn(d, "l1_bi_pad");
    rnn_two_layers_bidirectional_padded_batch_first => |d| rnn(d, "l2_bi_pad_bf_h0");
    rnn_two_layers_padded => |d| rnn(d, "l2_uni_pad");

    gru_one_layer => |d| gru(d, "l1_uni");
    gru_bidirectional => |d| gru(d, "l1_bi");
    gru_two_layers_initial_state => |d| gru(d, "l2_uni_h0");
    gru_two_layers_bidirectional_batch_first => |d| gru(d, "l2_bi_bf_h0");
    gru_bidirectional_padded => |d| gru(d, "l1_bi_pad");
    gru_two_layers_bidirectional_padded_batch_first => |d| gru(d, "l2_bi_pad_bf_h0");
    gru_two_layers_padded => |d| gru(d, "l2_uni_pad");

    lstm_one_layer => |d| lstm(d, "l1_uni");
    lstm_bidirectional => |d| lstm(d, "l1_bi");
    lstm_two_layers_initial_state => |d| lstm(d, "l2_uni_h0");
    lstm_two_layers_bidirectional_batch_first => |d| lstm(d, "l2_bi_bf_h0");
    lstm_bidirectional_padded => |d| lstm(d, "l1_bi_pad");
    lstm_two_layers_bidirectional_padded_batch_first => |d| lstm(d, "l2_bi_pad_bf_h0");
    lstm_two_layers_padded => |d| lstm(d, "l2_uni_pad");
}
