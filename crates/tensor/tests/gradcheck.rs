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
fn recurrent_cells() {
    cases::recurrent(&mut |name, f, inputs| ok(name, f, inputs));
}

/// The fused GRU cell gives the composed cell's values and gradients.
#[test]
fn gru_cell_fused_equals_composed() {
    let gi = common::param(&[7, 3 * 19], -2.0, 2.0, 80);
    let gh = common::param(&[7, 3 * 19], -2.0, 2.0, 81);
    let h = common::param(&[7, 19], -1.0, 1.0, 82);
    let run = |fused: bool| {
        for t in [&gi, &gh, &h] {
            t.zero_grad();
        }
        let y = match fused {
            true => Tensor::gru_cell(&gi, &gh, &h).unwrap(),
            false => Tensor::gru_cell_composed(&gi, &gh, &h).unwrap(),
        };
        // A weighted sum, so every element's gradient differs.
        let w = common::param(&[7, 19], -1.0, 1.0, 83).detach();
        y.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
        let grads: Vec<Vec<f32>> = [&gi, &gh, &h]
            .iter()
            .map(|t| t.grad().unwrap().to_vec())
            .collect();
        (y.to_vec(), grads)
    };
    let (y1, g1) = run(true);
    let (y2, g2) = run(false);
    let close = |a: &[f32], b: &[f32], what: &str| {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 + 1e-5 * y.abs(),
                "{what}[{i}]: fused {x} vs composed {y}"
            );
        }
    };
    close(&y1, &y2, "h'");
    for (i, (a, b)) in g1.iter().zip(&g2).enumerate() {
        close(a, b, ["d gi", "d gh", "d h"][i]);
    }
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
