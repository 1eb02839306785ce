//! A fused step equals its equations: `GRUCell::forward` runs the fused
//! `Tensor::gru_cell`, `GRUCell::step_composed` writes the four equations as
//! tensor ops. Random weights and inputs, three steps chained (so the
//! gradient also flows back through h), with and without biases: the values
//! and the gradients of every parameter and input agree, on the CPU and on
//! the GPU. (The LSTM and RNN steps are already their equations.)

mod common;
use common::*;
use seq2seq::nn::{GRUCell, Module};
use tensor::{Device, Rng, Tensor};

/// Three steps from `h0` through `step`, and the loss Σ h_t ⊙ w_t.
fn unrolled(
    step: impl Fn(&Tensor, &Tensor) -> Tensor,
    xs: &[Tensor],
    h0: &Tensor,
    ws: &[Tensor],
) -> (Vec<Tensor>, Tensor) {
    let mut h = h0.clone();
    let mut hs = Vec::new();
    let mut loss = Tensor::scalar(0.0, &h0.device()).unwrap();
    for (x, w) in xs.iter().zip(ws) {
        h = step(x, &h);
        loss = loss.add(&h.mul(w).unwrap().sum_all().unwrap()).unwrap();
        hs.push(h.clone());
    }
    (hs, loss)
}

/// The gradients of the cell's parameters, then of `leaves`, cleared after.
fn grads(cell: &GRUCell, leaves: &[&Tensor]) -> Vec<(String, Tensor)> {
    let mut g: Vec<(String, Tensor)> = (cell.named_parameters().into_iter())
        .map(|(n, p)| (n, p.grad().expect("a parameter gradient")))
        .collect();
    g.extend(
        (leaves.iter().enumerate())
            .map(|(i, t)| (format!("input {i}"), t.grad().expect("an input gradient"))),
    );
    for p in cell.parameters().iter().chain(leaves.iter().copied()) {
        p.zero_grad();
    }
    g
}

fn gru_fused_equals_composed(device: &Device, bias: bool) {
    let (b, i, h) = (3, 5, 4);
    let mut rng = Rng::new(17);
    let cell = GRUCell::new(i, h, bias, &mut rng, device).unwrap();
    let rand =
        |shape: [usize; 2], rng: &mut Rng| Tensor::rand(shape, -1.0, 1.0, rng, device).unwrap();
    let xs: Vec<Tensor> = (0..3)
        .map(|_| rand([b, i], &mut rng).requires_grad_())
        .collect();
    let h0 = rand([b, h], &mut rng).requires_grad_();
    let ws: Vec<Tensor> = (0..3).map(|_| rand([b, h], &mut rng)).collect();
    let leaves: Vec<&Tensor> = xs.iter().chain([&h0]).collect();

    let (fused, loss) = unrolled(|x, h| cell.forward(x, Some(h)).unwrap(), &xs, &h0, &ws);
    loss.backward().unwrap();
    let fused_grads = grads(&cell, &leaves);

    let (composed, loss) = unrolled(|x, h| cell.step_composed(x, h).unwrap(), &xs, &h0, &ws);
    loss.backward().unwrap();
    let composed_grads = grads(&cell, &leaves);

    for (t, (f, c)) in fused.iter().zip(&composed).enumerate() {
        assert_close(&format!("GRU h_{} (bias {bias})", t + 1), f, c, FORWARD);
    }
    assert_eq!(fused_grads.len(), if bias { 4 } else { 2 } + 4);
    for ((name, f), (_, c)) in fused_grads.iter().zip(&composed_grads) {
        assert_close(&format!("GRU d/d {name} (bias {bias})"), f, c, GRADIENT);
    }
}

on_devices! {
    gru_step_with_bias => |d| gru_fused_equals_composed(d, true);
    gru_step_without_bias => |d| gru_fused_equals_composed(d, false);
}
