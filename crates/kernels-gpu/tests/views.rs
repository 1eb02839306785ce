//! Views of one allocation (`GpuBuffer::view`), the parameter arena's
//! building block: a kernel bound to a view reads and writes exactly its
//! range, read-back and upload address it, copies gather into it, and what
//! wgpu would reject is refused with a clear error first.

mod common;

use common::{down, up};
use kernels_gpu::{GpuBuffer, UnaryOp};

#[test]
fn kernels_read_and_write_only_their_view() {
    let Some(_) = common::gpu() else { return };
    let align = GpuBuffer::view_alignment().unwrap();
    let whole = up(&vec![1.0; 3 * align]);
    let middle = whole.view(align, 5).unwrap();
    kernels_gpu::fill(&middle, 7.0).unwrap();
    kernels_gpu::scale(&middle, 2.0).unwrap();
    let all = down(&whole);
    for (i, &v) in all.iter().enumerate() {
        let want = if (align..align + 5).contains(&i) {
            14.0
        } else {
            1.0
        };
        assert_eq!(v, want, "element {i}");
    }
    assert_eq!(down(&middle), vec![14.0; 5]);

    middle.write(&[-1.0, 4.0]).unwrap();
    assert_eq!(down(&middle), [-1.0, 4.0, 14.0, 14.0, 14.0]);
    let out = GpuBuffer::uninit(5).unwrap();
    kernels_gpu::unary(UnaryOp::Neg, &middle, &out).unwrap();
    assert_eq!(down(&out), [1.0, -4.0, -14.0, -14.0, -14.0]);
    assert_eq!(middle.offset(), align);
    assert_eq!(middle.allocation().len(), 3 * align);
}

#[test]
fn copies_gather_into_views_and_bad_views_are_refused() {
    let Some(_) = common::gpu() else { return };
    let align = GpuBuffer::view_alignment().unwrap();
    let arena = GpuBuffer::zeros(2 * align).unwrap();
    let (a, b) = (up(&[1.0, 2.0, 3.0]), up(&[4.0]));
    arena.view(0, 3).unwrap().copy_from(&a).unwrap();
    arena.view(align, 1).unwrap().copy_from(&b).unwrap();
    let all = down(&arena);
    assert_eq!(&all[..4], [1.0, 2.0, 3.0, 0.0]);
    assert_eq!(all[align], 4.0);

    let misaligned = arena.view(1, 2).unwrap_err().to_string();
    assert!(misaligned.contains("multiple of"), "{misaligned}");
    assert!(arena.view(align, align + 1).is_err(), "past the end");
    assert!(arena.view(0, 0).is_err(), "empty");
    let within = arena
        .view(0, 1)
        .unwrap()
        .copy_from(&arena.view(align, 1).unwrap());
    assert!(within.is_err(), "WebGPU does not copy a buffer into itself");
    assert!(
        arena.view(0, 2).unwrap().copy_from(&b).is_err(),
        "lengths differ"
    );
    // A view and its allocation are one buffer to the clash check.
    let clash = kernels_gpu::unary(
        UnaryOp::Neg,
        &arena.view(0, 3).unwrap(),
        &arena.view(align, 3).unwrap(),
    );
    assert!(clash.is_err());
}
