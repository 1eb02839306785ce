//! The context, buffers, the pool and read-back, without any kernel maths.

mod common;

use kernels_gpu::GpuBuffer;

#[test]
fn upload_and_read_back_round_trip() {
    let Some(_) = common::gpu() else { return };
    for n in [0usize, 1, 7, 256, 1000, 65_537] {
        let host = common::data(n, n as u64, -3.0, 3.0);
        let buffer = GpuBuffer::from_slice(&host).unwrap();
        assert_eq!(buffer.len(), n);
        assert_eq!(buffer.to_vec().unwrap(), host);
    }
}

#[test]
fn fill_and_scale() {
    let Some(_) = common::gpu() else { return };
    let b = GpuBuffer::filled(1001, 2.5).unwrap();
    kernels_gpu::scale(&b, -2.0).unwrap();
    assert!(b.to_vec().unwrap().iter().all(|&v| v == -5.0));
}

#[test]
fn adapters_are_listed() {
    let Some(ctx) = common::gpu() else { return };
    let all = kernels_gpu::adapters();
    assert!(!all.is_empty());
    eprintln!("adapter in use: {:?}", ctx.adapter());
}

#[test]
fn a_buffer_beyond_the_adapter_limit_is_an_error_naming_both() {
    let Some(ctx) = common::gpu() else { return };
    let limit = ctx
        .limits()
        .max_storage_buffer_binding_size
        .min(ctx.limits().max_buffer_size);
    let elements = (limit / 4 + 1) as usize;
    let e = GpuBuffer::uninit(elements).unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains(&format!("{} bytes", elements as u64 * 4)),
        "{message}"
    );
    assert!(message.contains(&limit.to_string()), "{message}");
}

#[test]
fn dropped_buffers_are_reused() {
    let Some(ctx) = common::gpu() else { return };
    if std::env::var("S2S_GPU_NO_POOL").is_ok_and(|v| v == "1") {
        return;
    }
    // A size class no other test uses, so tests running in parallel do not interfere.
    let n = 777_777;
    drop(GpuBuffer::zeros(n).unwrap());
    ctx.synchronize();
    assert_eq!(kernels_gpu::pooled_buffers_for_len(n), 1);
    let again = GpuBuffer::from_slice(&vec![1.0; n]).unwrap();
    assert_eq!(
        kernels_gpu::pooled_buffers_for_len(n),
        0,
        "the idle buffer was not reused"
    );
    assert!(again.to_vec().unwrap().iter().all(|&v| v == 1.0));
}

#[test]
fn grids_past_65535_workgroups_wrap_into_y() {
    let Some(_) = common::gpu() else { return };
    // 70 000 rows of one workgroup each, and 2^24 + 3 elements at 256 per group.
    let rows = 70_000;
    let x = common::data(rows * 2, 1, -1.0, 1.0);
    let y = common::out(rows * 2);
    kernels_gpu::softmax(&common::up(&x), rows, 2, &y).unwrap();
    let mut want = vec![0.0; rows * 2];
    kernels_cpu::reference::softmax(&x, rows, 2, &mut want);
    common::assert_close("softmax, 70000 rows", &common::down(&y), &want, 1e-6);

    let n = (1 << 24) + 3;
    let big = GpuBuffer::filled(n, 2.0).unwrap();
    kernels_gpu::scale(&big, 0.5).unwrap();
    let back = big.to_vec().unwrap();
    assert!(back.iter().all(|&v| v == 1.0));
}

#[test]
fn the_no_adapter_error_says_what_to_install() {
    let e = kernels_gpu::GpuError::NoAdapter {
        detail: "none found".into(),
    };
    let message = e.to_string();
    assert!(message.contains("mesa-vulkan-drivers"), "{message}");
    assert!(message.contains("--device cpu"), "{message}");
}

#[test]
fn gpu_work_can_be_timed() {
    let Some(ctx) = common::gpu() else { return };
    let x = GpuBuffer::filled(1 << 20, 1.0).unwrap();
    kernels_gpu::scale(&x, 1.0).unwrap(); // warm up: JIT-compile the pipeline
    let ((), timing) = kernels_gpu::time_gpu(|| {
        for _ in 0..10 {
            kernels_gpu::scale(&x, 1.0)?;
        }
        Ok(())
    })
    .unwrap();
    eprintln!(
        "10 scales of 2^20 floats: {timing:?} on {}",
        ctx.adapter().name
    );
    assert!(timing.elapsed.as_nanos() > 0);
    if ctx.adapter().timestamp_queries {
        assert_eq!(timing.method, kernels_gpu::TimingMethod::TimestampQueries);
    }
}

#[test]
fn write_does_not_reach_back_into_recorded_work() {
    let Some(_) = common::gpu() else { return };
    let x = common::up(&[1.0, 2.0, 3.0]);
    let y = common::out(3);
    // Recorded, not yet submitted: must see x = [1, 2, 3].
    kernels_gpu::unary(kernels_gpu::UnaryOp::MulScalar(10.0), &x, &y).unwrap();
    x.write(&[7.0, 8.0]).unwrap();
    let copy = x.duplicate().unwrap();
    assert_eq!(common::down(&y), vec![10.0, 20.0, 30.0]);
    assert_eq!(common::down(&copy), vec![7.0, 8.0, 3.0]);
    assert!(x.write(&[0.0; 4]).is_err());
}
