//! A training step on the GPU waits for the device once per step, however
//! many parameters it clips: one test in its own binary, because the GPU
//! cost counters are process-wide.

use tensor::optim::{clip_grad_norm, Adam, AdamConfig, Optimizer};
use tensor::{Device, Rng, Tensor};

#[test]
fn clipping_many_parameters_waits_once() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let gpu = Device::Gpu;
    let mut rng = Rng::new(3);
    let params: Vec<Tensor> = (0..12)
        .map(|i| {
            Tensor::randn([3 + i, 5], 0.0, 1.0, &mut rng, &gpu)
                .unwrap()
                .requires_grad_()
        })
        .collect();
    let mut opt = Adam::new(params.clone(), AdamConfig::default()).unwrap();
    let step = |opt: &mut Adam| {
        opt.zero_grad();
        let mut loss = params[0].square().unwrap().sum_all().unwrap();
        for p in &params[1..] {
            loss = loss.add(&p.square().unwrap().sum_all().unwrap()).unwrap();
        }
        loss.backward().unwrap();
        let norm = clip_grad_norm(opt.params(), 0.5).unwrap();
        opt.step().unwrap();
        norm
    };
    step(&mut opt); // warm-up: pipelines, pooled buffers
    let before = kernels_gpu::counts();
    let norm = step(&mut opt);
    let spent = kernels_gpu::counts() - before;
    assert!(
        norm.is_finite() && norm > 0.5,
        "the gradients were clipped: {norm}"
    );
    assert_eq!(
        spent.host_waits, 1,
        "one read of all twelve sums: {spent:?}"
    );
    assert_eq!(spent.bytes_down, 12 * 4, "{spent:?}");
}
