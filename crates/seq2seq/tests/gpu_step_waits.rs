//! A training step on the GPU waits for the device once, for the loss it
//! logs: the forward, the backward, gradient clipping and the Adam step of
//! every model family are recorded and submitted without a read-back, and
//! the parameters are packed so that clipping and Adam are a few kernels. One test in its own binary, because
//! the GPU cost counters are process-wide.

mod train_support;

use seq2seq::models::{CellKind, Model, ModelConfig, ScoreKind, Source, Target};
use seq2seq::nn::{Ctx, Module};
use tensor::optim::{Adam, AdamConfig, Optimizer};
use tensor::{Device, Rng, Tensor};
use train_support::{attn, rnn, transformer};

/// Uniform ids in [4, vocab) `[rows, cols]` (never a special token).
fn ids(rows: usize, cols: usize, vocab: usize, rng: &mut Rng, device: &Device) -> Tensor {
    let u = Tensor::rand([rows, cols], 0.0, 1.0, rng, &Device::Cpu).unwrap();
    let ids = u
        .to_vec()
        .iter()
        .map(|u| 4.0 + (u * (vocab - 4) as f32).floor())
        .collect();
    Tensor::from_vec(ids, [rows, cols], device).unwrap()
}

/// Each family with dropout on, so the step draws its masks on the device too.
fn families(v_src: usize, v_tgt: usize) -> Vec<(&'static str, ModelConfig)> {
    let mut all = vec![
        ("sutskever lstm", rnn(CellKind::Lstm, true)(v_src, v_tgt)),
        (
            "bahdanau gru",
            attn(CellKind::Gru, ScoreKind::Bahdanau, false)(v_src, v_tgt),
        ),
        (
            "luong lstm, input feeding",
            attn(CellKind::Lstm, ScoreKind::General, true)(v_src, v_tgt),
        ),
        ("transformer", transformer(v_src, v_tgt)),
    ];
    for (_, config) in &mut all {
        match config {
            ModelConfig::Rnn(c) => c.dropout = 0.1,
            ModelConfig::Attn(c) => c.dropout = 0.1,
            ModelConfig::Transformer(c) => c.dropout = 0.1,
        }
    }
    all
}

#[test]
fn a_training_step_of_each_family_waits_once_for_its_loss_and_norm() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let gpu = Device::Gpu;
    let (v_src, v_tgt, rows, s, t) = (23, 19, 6, 7, 5);
    for (name, config) in families(v_src, v_tgt) {
        let mut rng = Rng::new(5);
        let model = Model::new(&config, &mut rng, &gpu).unwrap();
        let mut opt = Adam::new(model.parameters(), AdamConfig::default()).unwrap();
        assert!(opt.is_flat(), "{name}: the parameters share one allocation");
        let src = Source {
            ids: ids(rows, s, v_src, &mut rng, &gpu),
            lens: vec![s; rows],
            pad_mask: Tensor::zeros([rows, s], &gpu).unwrap(),
        };
        let gold = ids(rows, t + 1, v_tgt, &mut rng, &gpu);
        let tgt = Target {
            input: gold.narrow(1, 0, t).unwrap(),
            output: gold.narrow(1, 1, t).unwrap(),
        };
        let mut ctx = Ctx::train(Rng::new(9));
        let mut step = || {
            opt.zero_grad();
            let loss = model.loss(&src, &tgt, 0.1, &mut ctx).unwrap();
            loss.backward().unwrap();
            let norm = opt.clip_grad_norm(1.0).unwrap();
            opt.step().unwrap();
            (loss, norm)
        };
        step().0.item().unwrap(); // warm-up: pipelines, pooled buffers
        let before = kernels_gpu::counts();
        let (loss, norm) = step();
        let recorded = kernels_gpu::counts() - before;
        let both = Tensor::cat(&[loss.reshape([1]).unwrap(), norm], 0).unwrap();
        let [value, norm] = both.try_to_vec().unwrap()[..] else {
            panic!("two values")
        };
        let spent = kernels_gpu::counts() - before;
        assert_eq!(
            recorded.host_waits, 0,
            "{name}: the step itself never waits"
        );
        assert_eq!(
            spent.host_waits, 1,
            "{name}: one wait, for the loss and the norm"
        );
        assert!(value.is_finite() && value > 0.0, "{name}: loss {value}");
        assert!(
            norm.is_finite() && norm > 0.0,
            "{name}: gradient norm {norm}"
        );
        let params = model.parameters().len() as u64;
        assert_eq!(
            recorded.copies, params,
            "{name}: each gradient copied once: {recorded:?}"
        );
    }
}
