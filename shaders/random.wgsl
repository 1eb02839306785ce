// random.wgsl — counter-based random fills, bit-identical to kernels-cpu's rng.rs.
//
// What: element i of a fill is a pure function of (seed, offset + i):
//   mix(x)  = lowbias32: x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16
//   hash    = mix(mix(mix(mix(seed_lo ^ 0x9e3779b9) ^ seed_hi) ^ c_hi) ^ c_lo)
//   u       = f32(hash >> 8) · 2^-24 ∈ [0, 1)     (exact: the same bits as the CPU)
//   fill_uniform: lo + (hi - lo) · u
//   dropout_mask: 0 if u < p else 1/(1-p)
//   dropout_apply: x · dropout_mask (the mask is never stored)
//   fill_normal: Box–Muller on the aligned pair c & ~1 (see rng.rs); equal to
//                the CPU up to the accuracy of WGSL's log, cos and sin.
// The 64-bit seed and counter travel as u32 halves; c = offset + i is a
// 64-bit add done with an explicit carry, since WGSL has no u64.
// Layout: one flat output array.
// Tiling: none — one invocation per element, no memory reads at all.

struct Params {
    n: u32,
    seed_lo: u32,
    seed_hi: u32,
    offset_lo: u32,
    offset_hi: u32,
    a: f32,   // lo | mean | p
    b: f32,   // hi | std  | 1/(1-p)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

fn mix32(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

// c = (hi, lo) halves of the 64-bit counter.
fn hash32(c: vec2<u32>) -> u32 {
    var h = mix32(p.seed_lo ^ 0x9e3779b9u);
    h = mix32(h ^ p.seed_hi);
    h = mix32(h ^ c.x);
    return mix32(h ^ c.y);
}

fn uniform01(c: vec2<u32>) -> f32 {
    return f32(hash32(c) >> 8u) * (1.0 / 16777216.0);
}

// offset + i as (hi, lo), with the carry out of the low half.
fn counter(i: u32) -> vec2<u32> {
    let lo = p.offset_lo + i;
    let carry = select(0u, 1u, lo < i);
    return vec2<u32>(p.offset_hi + carry, lo);
}

fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn fill_uniform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.n) { return; }
    out[i] = p.a + (p.b - p.a) * uniform01(counter(i));
}

@compute @workgroup_size(WG)
fn dropout_mask(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.n) { return; }
    out[i] = select(p.b, 0.0, uniform01(counter(i)) < p.a);
}

// ---- dropout_apply: drop_x -> drop_out ----

@group(0) @binding(1) var<storage, read> drop_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> drop_out: array<f32>;

@compute @workgroup_size(WG)
fn dropout_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.n) { return; }
    drop_out[i] = drop_x[i] * select(p.b, 0.0, uniform01(counter(i)) < p.a);
}

const TAU: f32 = 6.28318530717958648;

@compute @workgroup_size(WG)
fn fill_normal(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.n) { return; }
    let c = counter(i);
    let pair = vec2<u32>(c.x, c.y & ~1u);
    let u1 = uniform01(pair);
    let u2 = uniform01(vec2<u32>(c.x, pair.y | 1u));
    let r = sqrt(-2.0 * log(1.0 - u1));
    let theta = TAU * u2;
    out[i] = p.a + p.b * select(r * cos(theta), r * sin(theta), (c.y & 1u) == 1u);
}
