//! Gathers and atomic-free scatter-adds, optimizer steps and the
//! counter-based random fills against the kernels-cpu reference.

mod common;

use common::{assert_close, data, down, out, up};
use kernels_cpu::reference;
use kernels_gpu::AdamParams;

/// Ids in 0..vocab with many repeats (the case the scatter-add must get right).
fn ids(m: usize, vocab: usize, seed: u64) -> Vec<f32> {
    data(m, seed, 0.0, vocab as f32)
        .iter()
        .map(|v| v.floor().min(vocab as f32 - 1.0))
        .collect()
}

#[test]
fn gather_and_scatter_add_rows() {
    let Some(_) = common::gpu() else { return };
    for (vocab, dim, m) in [
        (1, 1, 1),
        (5, 3, 17),
        (97, 64, 300),
        (1000, 31, 2),
        (3, 257, 1000),
    ] {
        let table = data(vocab * dim, 1, -1.0, 1.0);
        let id = ids(m, vocab, 2 + m as u64);
        let mut want = vec![0.0; m * dim];
        reference::gather_rows(&table, dim, &id, &mut want);
        let o = out(m * dim);
        let gid = up(&id);
        kernels_gpu::gather_rows(&up(&table), dim, &gid, &o).unwrap();
        assert_eq!(down(&o), want, "gather {vocab}x{dim} m={m}");

        let grad = data(m * dim, 3, -1.0, 1.0);
        let mut tg = data(vocab * dim, 4, -1.0, 1.0); // accumulates onto existing values
        let gtg = up(&tg);
        reference::scatter_add_rows(&grad, dim, &id, &mut tg);
        kernels_gpu::scatter_add_rows(&up(&grad), dim, &gid, &gtg).unwrap();
        // Same order of additions as the sequential reference: bit-exact.
        assert_eq!(down(&gtg), tg, "scatter_add {vocab}x{dim} m={m}");
    }
}

#[test]
fn index_select_and_index_add_along_a_middle_axis() {
    let Some(_) = common::gpu() else { return };
    for (outer, len, inner, m) in [(1, 1, 1, 1), (3, 7, 5, 11), (2, 64, 1, 129), (5, 2, 33, 3)] {
        let x = data(outer * len * inner, 1, -1.0, 1.0);
        let id = ids(m, len, 9);
        let mut want = vec![0.0; outer * m * inner];
        reference::index_select(&x, outer, len, inner, &id, &mut want);
        let o = out(outer * m * inner);
        let gid = up(&id);
        kernels_gpu::index_select(&up(&x), outer, len, inner, &gid, &o).unwrap();
        assert_eq!(down(&o), want, "index_select");

        let grad = data(outer * m * inner, 2, -1.0, 1.0);
        let mut gx = vec![0.0; outer * len * inner];
        let ggx = up(&gx);
        reference::index_add(&grad, outer, len, inner, &id, &mut gx);
        kernels_gpu::index_add(&up(&grad), outer, len, inner, &gid, &ggx).unwrap();
        assert_eq!(down(&ggx), gx, "index_add");
    }
}

#[test]
fn adam_and_adamw_steps() {
    let Some(_) = common::gpu() else { return };
    for n in [1, 7, 1000, 4099] {
        for (decoupled, weight_decay) in [(false, 0.0), (false, 0.01), (true, 0.1)] {
            let hp = AdamParams {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay,
                decoupled,
                step: 1,
            };
            let (mut p, g) = (data(n, 1, -1.0, 1.0), data(n, 2, -1.0, 1.0));
            let (mut m, mut v) = (data(n, 3, -0.1, 0.1), data(n, 4, 0.0, 0.01));
            let (gp, gm, gv) = (up(&p), up(&m), up(&v));
            let gg = up(&g);
            for step in 1..=3 {
                let hp = AdamParams { step, ..hp };
                reference::adam_step(&mut p, &g, &mut m, &mut v, &hp);
                kernels_gpu::adam_step(&gp, &gg, &gm, &gv, &hp).unwrap();
            }
            let what = format!("adam n={n} decoupled={decoupled} wd={weight_decay}");
            assert_close(&what, &down(&gp), &p, 1e-6);
            assert_close(&what, &down(&gm), &m, 1e-6);
            assert_close(&what, &down(&gv), &v, 1e-6);
        }
    }
}

#[test]
fn sgd_steps_with_and_without_momentum() {
    let Some(_) = common::gpu() else { return };
    let n = 1001;
    // (momentum, dampening, weight_decay, nesterov)
    for (momentum, dampening, wd, nesterov) in [
        (0.0, 0.0, 0.0, false),
        (0.0, 0.0, 0.1, false),
        (0.9, 0.1, 0.01, false),
        (0.9, 0.0, 0.0, true),
    ] {
        let (mut p, g) = (data(n, 1, -1.0, 1.0), data(n, 2, -1.0, 1.0));
        let mut buf = vec![0.0; n];
        let (gp, gb, gg) = (up(&p), up(&buf), up(&g));
        for step in 0..3 {
            let first = step == 0;
            reference::sgd_step(
                &mut p,
                &g,
                Some(&mut buf),
                0.1,
                momentum,
                dampening,
                wd,
                nesterov,
                first,
            );
            kernels_gpu::sgd_step(
                &gp,
                &gg,
                Some(&gb),
                0.1,
                momentum,
                dampening,
                wd,
                nesterov,
                first,
            )
            .unwrap();
        }
        assert_close(
            &format!("sgd m={momentum} nesterov={nesterov}"),
            &down(&gp),
            &p,
            1e-6,
        );
    }
}

#[test]
fn random_fills_match_the_cpu_bit_for_bit() {
    let Some(_) = common::gpu() else { return };
    // Offsets near 2^32 exercise the carry into the counter's high half.
    for (seed, offset, n) in [
        (0u64, 0u64, 1usize),
        (42, 0, 1000),
        (7, (1 << 32) - 5, 17),
        (u64::MAX, 12_345, 4099),
    ] {
        let mut want = vec![0.0; n];
        let o = out(n);
        reference::fill_uniform(seed, offset, -2.0, 3.0, &mut want);
        kernels_gpu::fill_uniform(seed, offset, -2.0, 3.0, &o).unwrap();
        assert_close("fill_uniform", &down(&o), &want, 1e-7);

        reference::dropout_mask(seed, offset, 0.3, &mut want);
        kernels_gpu::dropout_mask(seed, offset, 0.3, &o).unwrap();
        assert_eq!(down(&o), want, "dropout_mask seed={seed} offset={offset}");

        let x = data(n, seed ^ 5, -3.0, 3.0);
        let mut want_x = vec![0.0; n];
        kernels_cpu::dropout_apply(seed, offset, 0.3, &x, &mut want_x);
        kernels_gpu::dropout_apply(seed, offset, 0.3, &up(&x), &o).unwrap();
        assert_eq!(
            down(&o),
            want_x,
            "dropout_apply seed={seed} offset={offset}"
        );

        // Normals agree up to the GPU's log/cos/sin accuracy.
        reference::fill_normal(seed, offset, 1.0, 2.0, &mut want);
        kernels_gpu::fill_normal(seed, offset, 1.0, 2.0, &o).unwrap();
        assert_close("fill_normal", &down(&o), &want, 1e-4);
    }
}

#[test]
fn uniform_bits_are_exact() {
    let Some(_) = common::gpu() else { return };
    // lo = 0, hi = 1: the stored value is the uniform itself, exactly.
    let n = 5000;
    let mut want = vec![0.0; n];
    reference::fill_uniform(123, 456, 0.0, 1.0, &mut want);
    let o = out(n);
    kernels_gpu::fill_uniform(123, 456, 0.0, 1.0, &o).unwrap();
    assert_eq!(down(&o), want);
}

#[test]
fn global_norm_clipping_stays_on_the_device() {
    let Some(_) = common::gpu() else { return };
    let grads = [
        data(1000, 1, -1.0, 1.0),
        data(7, 2, -3.0, 3.0),
        data(0, 3, 0.0, 1.0),
        data(5000, 4, -0.1, 0.1),
    ];
    let total: f32 = grads.iter().map(|g| reference::sum_squares(g)).sum();
    for max_norm in [0.5f32, 1e6] {
        let gpu: Vec<_> = grads.iter().map(|g| up(g)).collect();
        let norms = out(grads.len());
        for (i, g) in gpu.iter().enumerate() {
            kernels_gpu::sum_squares_at(g, &norms, i).unwrap();
        }
        let total_sq = out(1);
        kernels_gpu::sum_all(&norms, &total_sq).unwrap();
        for g in &gpu {
            kernels_gpu::clip_by_global_norm(g, &total_sq, max_norm).unwrap();
        }
        assert_close("total", &down(&total_sq), &[total], 1e-5);
        let coef = (max_norm / (total.sqrt() + 1e-6)).min(1.0);
        for (g, host) in gpu.iter().zip(&grads) {
            let want: Vec<f32> = host.iter().map(|v| v * coef).collect();
            assert_close(
                &format!("clipped, max_norm {max_norm}"),
                &down(g),
                &want,
                1e-5,
            );
        }
    }
}
