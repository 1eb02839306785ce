// random.wgsl — counter-based random fills, bit-identical to kernels-cpu's rng.rs.
//
// What: element i of a fill is a pure function of (seed, offset + i), through
// u = uniform(seed, offset + i) ∈ [0, 1) of counter_rng.wgsl (appended):
//   fill_uniform: lo + (hi - lo) · u
//   dropout_mask: 0 if u < p else 1/(1-p)
//   dropout_apply: x · dropout_mask (the mask is never stored)
//   fill_normal: Box–Muller on the aligned pair c & ~1 (see rng.rs); equal to
//                the CPU up to the accuracy of WGSL's log, cos and sin.
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

// The generator itself is counter_rng.wgsl, appended to this file.
fn uniform01(c: vec2<u32>) -> f32 {
    return rng_uniform01(vec2<u32>(p.seed_lo, p.seed_hi), c);
}

fn counter(i: u32) -> vec2<u32> {
    return rng_counter(vec2<u32>(p.offset_lo, p.offset_hi), i);
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
