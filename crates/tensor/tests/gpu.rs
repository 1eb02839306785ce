//! The GPU path against the CPU path: every op case of `cases.rs`, forward and
//! backward, and a small model trained 50 steps on each device from one seed.
//!
//! Without a GPU adapter these tests print why and pass — unless
//! `S2S_REQUIRE_GPU=1` (CI), where a missing adapter fails them.

mod cases;
mod common;
use tensor::optim::{Adam, AdamConfig, Optimizer};
use tensor::{init, Device, Result, Rng, Tensor};

/// Runs `f` on `device`: its output and the gradient of Σ out ⊙ W for every input.
fn run_on(
    device: &Device,
    f: &dyn Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
) -> (Vec<f32>, Vec<Option<Vec<f32>>>) {
    let leaves: Vec<Tensor> = inputs
        .iter()
        .map(|t| {
            let moved = t.detach().to(device).unwrap();
            if t.requires_grad() {
                moved.requires_grad_()
            } else {
                moved
            }
        })
        .collect();
    let out = f(&leaves).unwrap();
    assert_eq!(out.device(), *device, "output left the device");
    let w = Tensor::rand(out.shape().clone(), -1.0, 1.0, &mut Rng::new(99), device).unwrap();
    let values = out.to_vec();
    if leaves.iter().any(|l| l.requires_grad()) {
        out.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
    }
    let grads = leaves
        .iter()
        .map(|l| l.grad().map(|g| g.to_vec()))
        .collect();
    (values, grads)
}

fn close(name: &str, what: &str, gpu: &[f32], cpu: &[f32]) {
    assert_eq!(gpu.len(), cpu.len(), "{name} {what}: lengths differ");
    for (i, (g, c)) in gpu.iter().zip(cpu).enumerate() {
        let ok = (g - c).abs() <= 1e-4 * (1.0 + c.abs()) || (g.is_nan() && c.is_nan());
        assert!(
            ok,
            "{name} {what}: element {i} is {g} on the GPU, {c} on the CPU"
        );
    }
}

fn parity(name: &str, f: &dyn Fn(&[Tensor]) -> Result<Tensor>, inputs: Vec<Tensor>) {
    let (cpu_out, cpu_grads) = run_on(&Device::Cpu, f, &inputs);
    let (gpu_out, gpu_grads) = run_on(&Device::Gpu, f, &inputs);
    close(name, "output", &gpu_out, &cpu_out);
    for (i, (g, c)) in gpu_grads.iter().zip(&cpu_grads).enumerate() {
        match (g, c) {
            (Some(g), Some(c)) => close(name, &format!("gradient {i}"), g, c),
            (None, None) => {}
            _ => panic!("{name}: gradient {i} exists on one device only"),
        }
    }
}

macro_rules! parity_tests {
    ($($test:ident => $family:ident),* $(,)?) => {$(
        #[test]
        fn $test() {
            if kernels_gpu::gpu_ready_for_tests() {
                cases::$family(&mut |name, f, inputs| parity(name, f, inputs));
            }
        }
    )*};
}

parity_tests! {
    unary_ops_match_cpu => unary,
    binary_ops_match_cpu => binary,
    matmul_matches_cpu => matmul,
    reductions_match_cpu => reduce,
    softmax_matches_cpu => softmax,
    layer_norm_matches_cpu => layer_norm,
    cross_entropy_matches_cpu => cross_entropy,
    indexing_matches_cpu => index,
    movement_matches_cpu => movement,
    recurrent_cells_match_cpu => recurrent,
    dropout_matches_cpu => dropout,
    fused_attention_matches_composed => attention,
    head_products_match_cpu => heads,
}

/// The fused form draws its dropout mask inside the kernels, the composed
/// form through `dropout`: both must take the same counters from the stream,
/// or a GPU run and a CPU run from one seed would part ways after it.
#[test]
fn head_attention_takes_the_counters_dropout_would() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let spec = tensor::HeadAttention {
        heads: 4,
        scale: 0.5,
        causal: true,
        key_bias: None,
    };
    let mut offsets = Vec::new();
    for device in [Device::Cpu, Device::Gpu] {
        let x = Tensor::rand([3, 19, 32], -1.0, 1.0, &mut Rng::new(1), &device).unwrap();
        let mut rng = Rng::new(3);
        x.head_attention(&x, &x, &spec, Some((0.1, &mut rng)))
            .unwrap();
        offsets.push(rng.offset);
    }
    assert_eq!(offsets[0], offsets[1]);
    let weights = 3 * 4 * 19 * 19; // [B, H, L, S], an even count
    assert_eq!(offsets[0], weights, "one counter per weight");
}

/// Embedding → linear → GELU → layer norm → dropout → linear → cross-entropy,
/// trained with AdamW: every kind of op a translation model's step uses.
fn train_losses(device: &Device, steps: usize) -> Vec<f32> {
    let (vocab, dim, hidden, classes, batch) = (11, 8, 16, 5, 12);
    let mut rng = Rng::new(2024);
    let emb = init::normal([vocab, dim], 0.0, 1.0, &mut rng, device).unwrap();
    let w1 = init::linear_uniform([hidden, dim], dim, &mut rng, device).unwrap();
    let b1 = init::linear_uniform([hidden], dim, &mut rng, device).unwrap();
    let gamma = Tensor::ones([hidden], device).unwrap().requires_grad_();
    let beta = Tensor::zeros([hidden], device).unwrap().requires_grad_();
    let w2 = init::linear_uniform([classes, hidden], hidden, &mut rng, device).unwrap();
    let params = vec![
        emb.clone(),
        w1.clone(),
        b1.clone(),
        gamma.clone(),
        beta.clone(),
        w2.clone(),
    ];
    let mut opt = Adam::new(params, AdamConfig::adamw(0.01)).unwrap();
    let ids: Vec<f32> = (0..batch).map(|i| ((i * 7 + 3) % vocab) as f32).collect();
    let targets: Vec<f32> = (0..batch)
        .map(|i| {
            if i % 4 == 0 {
                0.0
            } else {
                ((i * 3) % classes) as f32
            }
        })
        .collect();
    let ids = Tensor::from_vec(ids, [batch], device).unwrap();
    let targets = Tensor::from_vec(targets, [batch], device).unwrap();
    let mut losses = Vec::new();
    for _ in 0..steps {
        opt.zero_grad();
        let h = emb.embedding(&ids, Some(0)).unwrap();
        let h = h
            .matmul_t(&w1, false, true)
            .unwrap()
            .add(&b1)
            .unwrap()
            .gelu()
            .unwrap();
        let h = h.layer_norm(Some(&gamma), Some(&beta), 1e-5).unwrap();
        let h = h.dropout(0.1, true, &mut rng).unwrap();
        let logits = h.matmul_t(&w2, false, true).unwrap();
        let loss = logits.cross_entropy(&targets, 0, 0.1).unwrap();
        loss.backward().unwrap();
        tensor::optim::clip_grad_norm(opt.params(), 1.0).unwrap();
        opt.step().unwrap();
        losses.push(loss.item().unwrap());
    }
    losses
}

#[test]
fn a_model_trains_to_the_same_losses_on_both_devices() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let cpu = train_losses(&Device::Cpu, 50);
    let gpu = train_losses(&Device::Gpu, 50);
    // Tolerance: f32 sums in a different order drift apart slowly over 50
    // Adam steps; 1e-3 relative is far below any real divergence.
    for (step, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
        assert!(
            (g - c).abs() <= 1e-3 * c.abs().max(1.0),
            "step {step}: GPU loss {g}, CPU loss {c}"
        );
    }
    assert!(
        cpu[49] < cpu[0] * 0.5,
        "the model did not learn: {} → {}",
        cpu[0],
        cpu[49]
    );
}

#[test]
fn mixing_devices_is_an_error_naming_both() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let a = Tensor::ones([2], &Device::Cpu).unwrap();
    let b = Tensor::ones([2], &Device::Gpu).unwrap();
    let e = a.add(&b).unwrap_err().to_string();
    assert!(
        e.contains("add") && e.contains("cpu") && e.contains("gpu"),
        "{e}"
    );
}

#[test]
fn a_tensor_too_big_for_the_adapter_is_an_error_naming_the_limit() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let limit = kernels_gpu::context().unwrap().adapter().max_buffer_size;
    let elements = (limit / 4 + 1) as usize;
    let e = Tensor::zeros([elements], &Device::Gpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("exceeds") && e.contains("bytes"), "{e}");
}

/// `topk` returns the same candidates on both devices, ties and non-finite
/// entries included, and refuses a k the rows cannot give.
#[test]
fn topk_agrees_on_both_devices() -> Result<()> {
    if !kernels_gpu::gpu_ready_for_tests() {
        return Ok(());
    }
    let mut x = Tensor::rand([3, 4, 37], -2.0, 2.0, &mut Rng::new(4), &Device::Cpu)?.to_vec();
    for (i, v) in x.iter_mut().enumerate() {
        match i % 9 {
            0 => *v = v.round(),
            4 => *v = f32::NAN,
            7 => *v = f32::NEG_INFINITY,
            _ => {}
        }
    }
    for k in [1, 5, 37] {
        let on = |d: &Device| -> Result<(Vec<f32>, Vec<f32>)> {
            let (v, i) = Tensor::from_vec(x.clone(), [3, 4, 37], d)?.topk(k)?;
            assert_eq!(v.dims(), [3, 4, k]);
            Ok((v.to_vec(), i.to_vec()))
        };
        assert_eq!(on(&Device::Cpu)?, on(&Device::Gpu)?, "k = {k}");
    }
    let t = Tensor::zeros([2, 3], &Device::Gpu)?;
    assert!(t.topk(4).unwrap_err().to_string().contains("1 ≤ k"));
    Ok(())
}
