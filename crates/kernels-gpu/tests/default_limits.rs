//! Portability: the kernels that use workgroup memory or many bindings run,
//! and agree with the reference, on a device created with WebGPU's default
//! limits (16 KiB of workgroup memory, 256 invocations, 8 storage buffers
//! per stage) rather than everything the adapter offers. One test in its
//! own binary, since the device is created once per process. The whole
//! kernel suite runs this way too: `S2S_GPU_LIMITS=default cargo test -p
//! kernels-gpu` (scripts/gpu-check.sh does).

mod common;

use common::{assert_close, data, down, out, up};
use kernels_cpu::reference;
use kernels_gpu::{gemm_with, Gemm, MatmulKernel};

#[test]
fn the_kernels_fit_webgpus_default_limits() {
    // Before anything creates the device: no other test shares this process.
    unsafe { std::env::set_var("S2S_GPU_LIMITS", "default") };
    let Some(ctx) = common::gpu() else { return };
    let defaults = wgpu::Limits::default();
    assert_eq!(
        ctx.limits().max_compute_workgroup_storage_size,
        defaults.max_compute_workgroup_storage_size
    );
    assert_eq!(
        ctx.limits().max_storage_buffers_per_shader_stage,
        defaults.max_storage_buffers_per_shader_stage
    );
    assert_eq!(
        ctx.limits().max_compute_invocations_per_workgroup,
        defaults.max_compute_invocations_per_workgroup
    );

    let (m, n, k) = (67, 65, 33);
    let (a, b) = (data(m * k, 1, -1.0, 1.0), data(k * n, 2, -1.0, 1.0));
    let mut want = vec![0.0; m * n];
    reference::sgemm(false, false, m, n, k, 1.0, &a, k, &b, n, 0.0, &mut want, n);
    let g = Gemm {
        batch: 1,
        trans_a: false,
        trans_b: false,
        m,
        n,
        k,
        alpha: 1.0,
        lda: k,
        stride_a: 0,
        ldb: n,
        stride_b: 0,
        beta: 0.0,
        ldc: n,
        stride_c: 0,
    };
    for kernel in MatmulKernel::ALL {
        if kernel == MatmulKernel::BlockedVec4 && !g.vec4_aligned() {
            continue;
        }
        let c = out(m * n);
        gemm_with(kernel, &g, &up(&a), &up(&b), &c).unwrap();
        assert_close(&format!("{kernel:?}"), &down(&c), &want, 1e-4);
    }

    let (rows, cols) = (7, 1000);
    let x = data(rows * cols, 3, -4.0, 4.0);
    let mut want = vec![0.0; rows * cols];
    reference::softmax(&x, rows, cols, &mut want);
    let y = out(rows * cols);
    kernels_gpu::softmax(&up(&x), rows, cols, &y).unwrap();
    assert_close("softmax", &down(&y), &want, 1e-5);
}
