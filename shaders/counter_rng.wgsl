// counter_rng.wgsl — the counter-based generator of kernels-cpu's rng.rs, in WGSL.
//
// Not a kernel family of its own: pipelines.rs appends this file to every
// shader that draws random numbers (random.wgsl, attention_blocked.wgsl), so
// the hash is written once and a dropout mask drawn inside attention is the
// mask dropout_mask would store. The algorithm is normative in rng.rs:
//   mix(x)  = lowbias32: x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16
//   hash    = mix(mix(mix(mix(seed_lo ^ 0x9e3779b9) ^ seed_hi) ^ c_hi) ^ c_lo)
//   u       = f32(hash >> 8) · 2^-24 ∈ [0, 1)     (exact: the same bits as the CPU)
// The 64-bit seed travels as (lo, hi) u32 halves, a counter as (hi, lo);
// offset + i is a 64-bit add done with an explicit carry (WGSL has no u64).

fn rng_mix32(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

// seed = (lo, hi); c = (hi, lo).
fn rng_hash32(seed: vec2<u32>, c: vec2<u32>) -> u32 {
    var h = rng_mix32(seed.x ^ 0x9e3779b9u);
    h = rng_mix32(h ^ seed.y);
    h = rng_mix32(h ^ c.x);
    return rng_mix32(h ^ c.y);
}

fn rng_uniform01(seed: vec2<u32>, c: vec2<u32>) -> f32 {
    return f32(rng_hash32(seed, c) >> 8u) * (1.0 / 16777216.0);
}

// offset + i as (hi, lo), offset = (lo, hi), with the carry out of the low half.
fn rng_counter(offset: vec2<u32>, i: u32) -> vec2<u32> {
    let lo = offset.x + i;
    let carry = select(0u, 1u, lo < i);
    return vec2<u32>(offset.y + carry, lo);
}
