//! The portable versions of kernels that have faster ones for optional
//! adapter features: with `S2S_GPU_FEATURES=none` the device is created
//! without subgroups or shader-f16, so the row kernels reduce with a
//! workgroup tree and 16-bit weights are unpacked from 32-bit words, and the
//! same checks as tests/rows.rs and tests/half.rs must hold. One test
//! in its own binary, since the device is created once per process (the
//! whole suite runs this way too: `S2S_GPU_FEATURES=none cargo test -p
//! kernels-gpu`, as scripts/gpu-check.sh does).

mod common;

use common::{half_checks, row_checks};

#[test]
fn the_row_kernels_without_subgroups_match_the_reference() {
    // Before anything creates the device: no other test shares this process.
    unsafe { std::env::set_var("S2S_GPU_FEATURES", "none") };
    let Some(ctx) = common::gpu() else { return };
    assert!(
        !ctx.has_subgroups(),
        "S2S_GPU_FEATURES=none must leave subgroups off"
    );
    assert!(
        !ctx.has_f16(),
        "S2S_GPU_FEATURES=none must leave shader-f16 off"
    );
    row_checks::softmax_family();
    row_checks::softmax_of_a_masked_row();
    row_checks::layer_norm_family();
    row_checks::cross_entropy_family();
    half_checks::conversion();
    half_checks::linear();
}
