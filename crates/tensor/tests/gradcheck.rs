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

/// Values and gradients of `f(inputs)`, weighted by fixed random weights
/// so that every element's gradient differs.
fn values_and_grads(
    f: &dyn Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
) -> (Vec<f32>, Vec<Vec<f32>>) {
    for t in inputs {
        t.zero_grad();
    }
    let y = f(inputs).unwrap();
    let w = common::param(y.dims(), -1.0, 1.0, 83).detach();
    y.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
    let grads = inputs.iter().map(|t| t.grad().unwrap().to_vec()).collect();
    (y.to_vec(), grads)
}

/// A fused op gives its composed definition's values and gradients.
fn fused_equals_composed(
    what: &str,
    fused: &dyn Fn(&[Tensor]) -> Result<Tensor>,
    composed: &dyn Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
) {
    let (y1, g1) = values_and_grads(fused, inputs);
    let (y2, g2) = values_and_grads(composed, inputs);
    let close = |a: &[f32], b: &[f32], part: &str| {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 + 1e-5 * y.abs(),
                "{what} {part}[{i}]: fused {x} vs composed {y}"
            );
        }
    };
    close(&y1, &y2, "value");
    for (i, (a, b)) in g1.iter().zip(&g2).enumerate() {
        close(a, b, &format!("gradient of input {i}"));
    }
}

#[test]
fn head_products() {
    cases::heads(&mut |name, f, inputs| ok(name, f, inputs));
}

/// The per-head products equal their definition by reshape, permute and
/// matmul, at a size where sequences run in parallel (16 sequences, 4
/// heads of width 9, 7 queries, 11 keys).
#[test]
fn head_products_equal_composed() {
    let split = |x: &Tensor| {
        let (b, t, e) = (x.dims()[0], x.dims()[1], x.dims()[2]);
        x.reshape([b, t, 4, e / 4]).unwrap().permute(&[0, 2, 1, 3])
    };
    let q = common::param(&[16, 7, 36], -2.0, 2.0, 134);
    let k = common::param(&[16, 11, 36], -2.0, 2.0, 135);
    let v = common::param(&[16, 11, 36], -2.0, 2.0, 136);
    fused_equals_composed(
        "head_scores",
        &|x| x[0].head_scores(&x[1], 4, 0.3),
        &|x| {
            split(&x[0])?
                .matmul_t(&split(&x[1])?, false, true)?
                .mul_scalar(0.3)
        },
        &[q.clone(), k.clone()],
    );
    let p = common::param(&[16, 4, 7, 11], -1.0, 1.0, 137);
    fused_equals_composed(
        "head_mix",
        &|x| x[0].head_mix(&x[1]),
        &|x| {
            x[0].matmul(&split(&x[1])?)?
                .permute(&[0, 2, 1, 3])?
                .reshape([16, 7, 36])
        },
        &[p, v],
    );
}

/// Shapes that do not fit are refused, naming them.
#[test]
fn head_products_name_bad_shapes() {
    let q = common::param(&[2, 4, 6], -1.0, 1.0, 138);
    let k = common::param(&[2, 5, 8], -1.0, 1.0, 139);
    let err = q.head_scores(&k, 2, 1.0).unwrap_err().to_string();
    assert!(
        err.contains("[2, 4, 6]") && err.contains("[2, 5, 8]"),
        "{err}"
    );
    let err = q.head_scores(&q, 4, 1.0).unwrap_err().to_string();
    assert!(err.contains("H = 4"), "{err}");
    let p = common::param(&[2, 3, 4, 5], -1.0, 1.0, 140);
    let err = p.head_mix(&q).unwrap_err().to_string();
    assert!(
        err.contains("[2, 3, 4, 5]") && err.contains("[2, 4, 6]"),
        "{err}"
    );
}

#[test]
fn gru_cell_fused_equals_composed() {
    let gi = common::param(&[7, 3 * 19], -2.0, 2.0, 80);
    let gh = common::param(&[7, 3 * 19], -2.0, 2.0, 81);
    let h = common::param(&[7, 19], -1.0, 1.0, 82);
    fused_equals_composed(
        "gru_cell",
        &|x| Tensor::gru_cell(&x[0], &x[1], &x[2]),
        &|x| Tensor::gru_cell_composed(&x[0], &x[1], &x[2]),
        &[gi, gh, h],
    );
}

#[test]
fn lstm_cell_fused_equals_composed() {
    let gates = common::param(&[7, 4 * 19], -2.0, 2.0, 90);
    let c = common::param(&[7, 19], -1.0, 1.0, 91);
    fused_equals_composed(
        "lstm_cell",
        &|x| Tensor::lstm_cell(&x[0], &x[1]),
        &|x| Tensor::lstm_cell_composed(&x[0], &x[1]),
        &[gates, c],
    );
}

/// Malformed shapes are refused with the shapes in the message.
#[test]
fn lstm_cell_names_bad_shapes() {
    let gates = common::param(&[2, 12], -1.0, 1.0, 92);
    let c = common::param(&[2, 4], -1.0, 1.0, 93);
    let err = Tensor::lstm_cell(&gates, &c).unwrap_err().to_string();
    assert!(err.contains("[2, 12]") && err.contains("[2, 4]"), "{err}");
}

/// At a size where the kernels vectorise and split the batch (A = 37, not
/// a multiple of any vector width).
#[test]
fn additive_score_fused_equals_composed() {
    let q = common::param(&[9, 2, 37], -2.0, 2.0, 84);
    let k = common::param(&[9, 11, 37], -2.0, 2.0, 85);
    let v = common::param(&[1, 37], -1.0, 1.0, 86);
    fused_equals_composed(
        "additive_score",
        &|x| Tensor::additive_score(&x[0], &x[1], &x[2]),
        &|x| Tensor::additive_score_composed(&x[0], &x[1], &x[2]),
        &[q, k, v],
    );
}

/// Malformed shapes are refused with the shapes in the message.
#[test]
fn additive_score_names_bad_shapes() {
    let q = common::param(&[2, 1, 4], -1.0, 1.0, 87);
    let k = common::param(&[2, 3, 5], -1.0, 1.0, 88);
    let v = common::param(&[4], -1.0, 1.0, 89);
    let err = Tensor::additive_score(&q, &k, &v).unwrap_err().to_string();
    assert!(
        err.contains("[2, 1, 4]") && err.contains("[2, 3, 5]"),
        "{err}"
    );
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
