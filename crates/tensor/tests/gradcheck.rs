//! A finite-difference gradient check for every differentiable op.
//! Each `check` compares autograd with central differences (see tensor::gradcheck).

mod cases;
mod common;
use common::*;
use tensor::gradcheck::{check, Tolerance};
use tensor::{Result, Tensor};

fn ok(name: &str, f: &dyn Fn(&[Tensor]) -> Result<Tensor>, inputs: Vec<Tensor>) {
    if let Err(e) = check(f, &inputs, Tolerance::default()) {
        panic!("gradient of {name} is wrong: {e}");
    }
}

#[test]
fn unary_ops() {
    cases::unary(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn binary_ops_with_broadcasting() {
    cases::binary(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn matmul_all_transposes_and_batches() {
    cases::matmul(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn reductions() {
    cases::reduce(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn softmax_family() {
    cases::softmax(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn layer_norm_with_and_without_affine() {
    cases::layer_norm(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn cross_entropy_with_padding_and_smoothing() {
    cases::cross_entropy(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn indexing_ops() {
    cases::index(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn movement_ops() {
    cases::movement(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn dropout_masks_its_gradient() {
    cases::dropout(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn attention_fused_and_composed() {
    cases::attention(&mut |name, f, inputs| ok(name, f, inputs));
}

#[test]
fn the_padding_row_of_an_embedding_gets_no_gradient() {
    let table = param(&[6, 4], -1.0, 1.0, 80);
    let ids = t(&[1.0, 3.0, 1.0, 0.0, 5.0, 0.0], &[2, 3]);
    let out = table.embedding(&ids, Some(0)).unwrap();
    out.sum_all().unwrap().backward().unwrap();
    let g = table.grad().unwrap().to_vec();
    assert!(
        g[..4].iter().all(|&v| v == 0.0),
        "pad row got gradient {:?}",
        &g[..4]
    );
    assert_eq!(g[4..8], [2.0; 4]); // row 1 is looked up twice
}

#[test]
fn a_broken_gradient_is_caught() {
    // The checker itself must fail on a wrong derivative: tanh's forward with
    // a backward that is off by a factor (built from ops: y = tanh(x) + 0.1·x,
    // but detached in the second term, so autograd misses 0.1).
    let x = param(&[3], -1.0, 1.0, 110);
    let wrong = check(
        |x| x[0].tanh()?.add(&x[0].detach().mul_scalar(0.1)?),
        &[x],
        Tolerance::default(),
    );
    assert!(
        wrong.is_err(),
        "the gradient check accepted a wrong gradient"
    );
}
