// half_native.wgsl — read 16-bit floats as f16 (the `shader-f16` feature).
//
// Appended to linear_half.wgsl (with `enable f16;` put in front of both)
// where the device has `shader-f16`: the same bytes as half_packed.wgsl's
// words, declared as array<f16>, so each weight is one 16-bit load.

@group(0) @binding(2) var<storage, read> w: array<f16>;

fn w_at(e: u32) -> f32 {
    return f32(w[e]);
}
