//! Forward values against hand-computed numbers, fused ops against their
//! compositions, and the error messages users see.

mod common;
use common::*;
use tensor::{no_grad, Device, Rng, Tensor};

#[test]
fn broadcasting_arithmetic() {
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t(&[10.0, 20.0, 30.0], &[3]);
    assert_eq!(
        a.add(&b).unwrap().to_vec(),
        vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]
    );
    let c = t(&[2.0, 4.0], &[2, 1]);
    assert_eq!(
        a.div(&c).unwrap().to_vec(),
        vec![0.5, 1.0, 1.5, 1.0, 1.25, 1.5]
    );
}

#[test]
fn matmul_with_transposes() {
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2]);
    assert_eq!(a.matmul(&b).unwrap().to_vec(), vec![4.0, 5.0, 10.0, 11.0]);
    // a·aᵀ without materialising the transpose
    assert_eq!(
        a.matmul_t(&a, false, true).unwrap().to_vec(),
        vec![14.0, 32.0, 32.0, 77.0]
    );
    assert_eq!(a.matmul_t(&a, true, false).unwrap().dims(), &[3, 3]);
}

#[test]
fn reductions_and_argmax() {
    let x = t(&[1.0, 5.0, 3.0, 4.0, 2.0, 6.0], &[2, 3]);
    assert_eq!(x.sum(&[0], false).unwrap().to_vec(), vec![5.0, 7.0, 9.0]);
    assert_eq!(x.mean(&[1], true).unwrap().dims(), &[2, 1]);
    assert_eq!(x.max(&[1], false).unwrap().to_vec(), vec![5.0, 6.0]);
    assert_eq!(x.argmax(-1, false).unwrap().to_vec(), vec![1.0, 2.0]);
    assert_eq!(x.sum_all().unwrap().item().unwrap(), 21.0);
}

#[test]
fn softmax_matches_its_definition() {
    let x = t(&[1.0, 2.0, 3.0], &[1, 3]);
    let e: Vec<f32> = [1.0f32, 2.0, 3.0].iter().map(|v| v.exp()).collect();
    let s: f32 = e.iter().sum();
    let want: Vec<f32> = e.iter().map(|v| v / s).collect();
    assert_close(&x.softmax(-1).unwrap().to_vec(), &want, 1e-6);
    let logs: Vec<f32> = want.iter().map(|v| v.ln()).collect();
    assert_close(&x.log_softmax(-1).unwrap().to_vec(), &logs, 1e-6);
    // huge logits do not overflow
    let big = t(&[1000.0, 1000.0], &[1, 2]);
    assert_eq!(big.softmax(-1).unwrap().to_vec(), vec![0.5, 0.5]);
}

#[test]
fn fused_layer_norm_equals_composition() {
    let x = param(&[5, 9], -3.0, 3.0, 1);
    let g = param(&[9], 0.5, 1.5, 2);
    let b = param(&[9], -1.0, 1.0, 3);
    let fused = x.layer_norm(Some(&g), Some(&b), 1e-5).unwrap();
    let composed = x.layer_norm_reference(Some(&g), Some(&b), 1e-5).unwrap();
    assert_close(&fused.to_vec(), &composed.to_vec(), 1e-5);
    fused.sum_all().unwrap().backward().unwrap();
    let (gx, gg) = (x.grad().unwrap().to_vec(), g.grad().unwrap().to_vec());
    x.zero_grad();
    g.zero_grad();
    composed.sum_all().unwrap().backward().unwrap();
    assert_close(&gx, &x.grad().unwrap().to_vec(), 1e-4);
    assert_close(&gg, &g.grad().unwrap().to_vec(), 1e-4);
}

#[test]
fn fused_cross_entropy_equals_composition() {
    let logits = param(&[6, 11], -3.0, 3.0, 4);
    let targets = t(&[3.0, 0.0, 10.0, 0.0, 7.0, 1.0], &[6]);
    for smoothing in [0.0, 0.2] {
        let fused = logits.cross_entropy(&targets, 0, smoothing).unwrap();
        let composed = logits
            .cross_entropy_reference(&targets, 0, smoothing)
            .unwrap();
        assert_close(&fused.to_vec(), &composed.to_vec(), 1e-5);
    }
    // every row ignored: zero, not NaN
    let all_pad = t(&[0.0; 6], &[6]);
    assert_eq!(
        logits
            .cross_entropy(&all_pad, 0, 0.0)
            .unwrap()
            .item()
            .unwrap(),
        0.0
    );
}

#[test]
fn gradients_accumulate_and_no_grad_records_nothing() {
    let x = t(&[1.0, 2.0], &[2]).requires_grad_();
    for _ in 0..2 {
        x.mul_scalar(3.0)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
    }
    assert_eq!(x.grad().unwrap().to_vec(), vec![6.0, 6.0]);
    let y = no_grad(|| x.exp().unwrap());
    assert!(!y.requires_grad());
    assert!(!x.detach().requires_grad());
    assert!(y.sum_all().unwrap().backward().is_err());
}

#[test]
fn deep_graphs_do_not_overflow_the_stack() {
    // An unrolled recurrence 20 000 ops deep: backward and drop must be iterative.
    let w = t(&[0.999], &[1]).requires_grad_();
    let mut h = t(&[1.0], &[1]);
    for _ in 0..20_000 {
        h = h.mul(&w).unwrap();
    }
    h.sum_all().unwrap().backward().unwrap();
    assert!(w.grad().unwrap().item().unwrap().is_finite());
}

#[test]
fn random_streams_are_reproducible() {
    let a = Tensor::randn([100], 0.0, 1.0, &mut Rng::new(5), &Device::Cpu).unwrap();
    let b = Tensor::randn([100], 0.0, 1.0, &mut Rng::new(5), &Device::Cpu).unwrap();
    assert_eq!(a.to_vec(), b.to_vec());
    let mut rng = Rng::new(5);
    let first = Tensor::rand([10], 0.0, 1.0, &mut rng, &Device::Cpu).unwrap();
    let second = Tensor::rand([10], 0.0, 1.0, &mut rng, &Device::Cpu).unwrap();
    assert_ne!(first.to_vec(), second.to_vec());
    let x = Tensor::ones([1000], &Device::Cpu).unwrap();
    let kept = x.dropout(0.25, true, &mut rng).unwrap().to_vec();
    let zeros = kept.iter().filter(|&&v| v == 0.0).count();
    assert!(
        (150..350).contains(&zeros),
        "{zeros} of 1000 dropped at p = 0.25"
    );
    assert!(kept
        .iter()
        .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
    assert_eq!(
        x.dropout(0.25, false, &mut rng).unwrap().to_vec(),
        x.to_vec()
    );
}

#[test]
fn errors_name_the_op_and_shapes() {
    let a = t(&[0.0; 6], &[2, 3]);
    let b = t(&[0.0; 8], &[2, 4]);
    let msg = |r: tensor::Result<Tensor>| r.unwrap_err().to_string();
    assert!(msg(a.add(&b)).contains("add: shapes [2, 3] and [2, 4]"));
    assert!(msg(a.matmul(&b)).contains("matmul: shapes [2, 3] and [2, 4]"));
    assert!(msg(a.reshape([4, 2])).contains("reshape: shapes [2, 3] and [4, 2]"));
    assert!(msg(a.sum(&[2], false)).contains("sum: axis 2 is out of range for shape [2, 3]"));
    assert!(msg(a.softmax(-3)).contains("softmax: axis -3"));
    assert!(msg(Tensor::cat(&[a.clone(), b.clone()], 0)).contains("cat: shapes [2, 3] and [2, 4]"));
    assert!(msg(a.narrow(1, 2, 2)).contains("narrow"));
    let table = t(&[0.0; 6], &[3, 2]);
    assert!(msg(table.embedding(&t(&[3.0], &[1]), None))
        .contains("embedding: index 3 is out of range 0..3"));
    assert!(
        msg(a.cross_entropy(&t(&[0.0, 5.0], &[2]), -100, 0.0)).contains("cross_entropy: index 5")
    );
    assert!(msg(Tensor::from_vec(vec![1.0; 5], [2, 3], &Device::Cpu))
        .contains("5 values given for 6 elements"));
    assert!(msg(a.dropout(1.5, true, &mut Rng::new(0))).contains("dropout: probability 1.5"));
    assert!(msg(a.permute(&[0, 0])).contains("permute"));
}
