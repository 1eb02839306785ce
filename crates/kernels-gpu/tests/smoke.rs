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
