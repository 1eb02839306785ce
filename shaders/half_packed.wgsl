// half_packed.wgsl — read 16-bit floats from 32-bit words (any adapter).
//
// Appended to linear_half.wgsl where the device lacks `shader-f16`: the
// weights are an array<u32>, two halves per word, and unpack2x16float (core
// WGSL) turns a word into both of its halves as f32.

@group(0) @binding(2) var<storage, read> w: array<u32>;

fn w_at(e: u32) -> f32 {
    return unpack2x16float(w[e / 2u])[e % 2u];
}
