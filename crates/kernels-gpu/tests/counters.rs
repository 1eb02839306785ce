//! The cost counters count what the GPU path does: one test in its own
//! binary, because the counters are process-wide.

use kernels_gpu::{counts, GpuBuffer, UnaryOp};

#[test]
fn uploads_dispatches_and_read_backs_are_counted_exactly() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    // Settle the context and anything it uploads when it is created.
    let warm = GpuBuffer::from_slice(&[1.0]).unwrap();
    warm.to_vec().unwrap();

    let before = counts();
    let x = GpuBuffer::from_slice(&vec![0.5; 1000]).unwrap();
    let (y, z) = (
        GpuBuffer::uninit(1000).unwrap(),
        GpuBuffer::uninit(1000).unwrap(),
    );
    kernels_gpu::unary(UnaryOp::Exp, &x, &y).unwrap();
    kernels_gpu::unary(UnaryOp::Neg, &y, &z).unwrap();
    let recorded = counts() - before;
    assert_eq!(recorded.dispatches, 2, "{recorded:?}");
    assert_eq!(recorded.bind_groups, 2, "{recorded:?}");
    assert_eq!(
        recorded.submits, 0,
        "recording must not submit: {recorded:?}"
    );
    assert_eq!(recorded.host_waits, 0, "{recorded:?}");
    assert_eq!(
        recorded.bytes_up, 4000,
        "only the upload so far: {recorded:?}"
    );

    let values = z.to_vec().unwrap();
    assert!((values[0] + 0.5f32.exp()).abs() < 1e-5);
    let spent = counts() - before;
    assert_eq!(spent.host_waits, 1, "one read-back, one wait: {spent:?}");
    assert_eq!(spent.submits, 1, "{spent:?}");
    assert_eq!(spent.bytes_down, 4000, "{spent:?}");
    assert!(
        spent.bytes_up > 4000,
        "the two dispatches' parameter blocks go up at the submit: {spent:?}"
    );
}
