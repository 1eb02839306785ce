//! Linear with 16-bit weights against the reference, on the device as the
//! adapter offers it (lavapipe has `shader-f16`, so the weights are read as
//! f16 here; tests/features_off.rs runs the same checks on 32-bit words).

mod common;

use common::half_checks;

#[test]
fn the_conversion_rounds_to_the_nearest_half() {
    half_checks::conversion();
}

#[test]
fn linear_with_half_weights_matches_the_reference_on_rounded_weights() {
    half_checks::linear();
}

#[test]
fn too_few_halves_are_refused() {
    half_checks::refusal();
}
