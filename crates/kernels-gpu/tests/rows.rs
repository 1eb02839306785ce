//! Reductions, softmax, layer norm and cross-entropy against the kernels-cpu
//! reference, on shapes that straddle the workgroup size.

mod common;

use common::{assert_close, data, down, out, row_checks, up, SIZES};
use kernels_cpu::reference;
use kernels_gpu::ReduceOp;

#[test]
fn reduce_and_argmax_along_each_axis() {
    let Some(_) = common::gpu() else { return };
    let shapes = [
        (1, 1, 1),
        (1, 7, 1),
        (3, 200, 1),
        (2, 31, 5),
        (4, 1, 9),
        (1, 1000, 3),
        (257, 3, 2),
        (2, 5000, 1),
        // Few outputs down long runs: the split lane kernel, with chunk
        // edges that do not divide the run.
        (1, 256, 7),
        (1, 1283, 513),
        (2, 20000, 3),
    ];
    for (outer, len, inner) in shapes {
        let n = outer * len * inner;
        // Rounded data makes ties for argmax (the first maximum must win).
        let x: Vec<f32> = data(n, n as u64, -8.0, 8.0)
            .iter()
            .map(|v| v.round())
            .collect();
        let gx = up(&x);
        for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min] {
            let mut want = vec![0.0; outer * inner];
            reference::reduce(op, &x, outer, len, inner, &mut want);
            let y = out(outer * inner);
            kernels_gpu::reduce(op, &gx, outer, len, inner, &y).unwrap();
            assert_close(
                &format!("{op:?} {outer}x{len}x{inner}"),
                &down(&y),
                &want,
                1e-6,
            );
        }
        let mut want = vec![0.0; outer * inner];
        reference::argmax(&x, outer, len, inner, &mut want);
        let y = out(outer * inner);
        kernels_gpu::argmax(&gx, outer, len, inner, &y).unwrap();
        assert_eq!(down(&y), want, "argmax {outer}x{len}x{inner}");
    }
}

#[test]
fn sum_all_and_sum_squares() {
    let Some(_) = common::gpu() else { return };
    for n in SIZES.into_iter().chain([0, 4096, 4097, 100_003]) {
        let x = data(n, n as u64, -1.0, 1.0);
        let gx = up(&x);
        let y = out(1);
        kernels_gpu::sum_all(&gx, &y).unwrap();
        let want = reference::sum_all(&x);
        assert_close(
            &format!("sum_all n={n}"),
            &down(&y),
            &[want],
            1e-5 * (n as f32).sqrt(),
        );
        kernels_gpu::sum_squares(&gx, &y).unwrap();
        let want = reference::sum_squares(&x);
        assert_close(&format!("sum_squares n={n}"), &down(&y), &[want], 1e-5);
    }
}

/// The row checks below run the subgroup versions of the kernels wherever the
/// adapter offers subgroups (lavapipe does): the device takes every feature it
/// is offered unless told otherwise.
#[test]
fn the_device_takes_subgroups_where_the_adapter_has_them() {
    let Some(ctx) = common::gpu() else { return };
    if std::env::var("S2S_GPU_FEATURES").as_deref() == Ok("none") {
        assert!(!ctx.has_subgroups() && !ctx.has_f16());
        return;
    }
    assert_eq!(ctx.has_subgroups(), ctx.adapter().subgroups);
    assert_eq!(ctx.has_f16(), ctx.adapter().shader_f16);
    println!(
        "row kernels reduce with {}",
        if ctx.has_subgroups() {
            "subgroup operations"
        } else {
            "a workgroup tree"
        }
    );
}

#[test]
fn softmax_and_log_softmax_forward_and_backward() {
    row_checks::softmax_family();
}

#[test]
fn softmax_of_a_fully_masked_row_is_nan_like_the_cpu() {
    row_checks::softmax_of_a_masked_row();
}

#[test]
fn layer_norm_forward_and_backward() {
    row_checks::layer_norm_family();
}

#[test]
fn cross_entropy_with_ignore_index_and_smoothing() {
    row_checks::cross_entropy_family();
}

/// Rows that hold -∞ (masked entries), wholly or in part: max, min and
/// argmax (lane and row kernels), softmax and cross-entropy agree with the
/// reference. The kernels start from a row's own entries, never from an
/// infinity of their own, so this is what shows they still handle one.
#[test]
fn reductions_and_softmax_over_rows_with_minus_infinity() {
    let Some(_) = common::gpu() else { return };
    for (outer, len, inner) in [(3, 5, 1), (2, 300, 1), (4, 7, 3)] {
        let n = outer * len * inner;
        let mut x = data(n, 7 + n as u64, -3.0, 3.0);
        for (i, v) in x.iter_mut().enumerate() {
            // the first run entirely -∞, and every third entry elsewhere
            if i < len * inner || i % 3 == 0 {
                *v = f32::NEG_INFINITY;
            }
        }
        let gx = up(&x);
        for op in [ReduceOp::Max, ReduceOp::Min] {
            let mut want = vec![0.0; outer * inner];
            reference::reduce(op, &x, outer, len, inner, &mut want);
            let y = out(outer * inner);
            kernels_gpu::reduce(op, &gx, outer, len, inner, &y).unwrap();
            assert_eq!(down(&y), want, "{op:?} {outer}x{len}x{inner}");
        }
        let mut want = vec![0.0; outer * inner];
        reference::argmax(&x, outer, len, inner, &mut want);
        let y = out(outer * inner);
        kernels_gpu::argmax(&gx, outer, len, inner, &y).unwrap();
        assert_eq!(down(&y), want, "argmax {outer}x{len}x{inner}");
        if inner == 1 {
            let mut want = vec![0.0; n];
            reference::softmax(&x, outer, len, &mut want);
            let y = out(n);
            kernels_gpu::softmax(&gx, outer, len, &y).unwrap();
            assert_close(&format!("softmax {outer}x{len}"), &down(&y), &want, 1e-6);
        }
    }
}
