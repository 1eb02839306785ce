// elementwise.wgsl — unary maths, fill and in-place scale on flat f32 arrays.
//
// What: y[i] = f(x[i]) for every i < n, one entry point per unary op (so that
// adding an op is one short function here), plus `fill` (y[i] = a),
// `scale` (x[i] *= a, in place) and `clip_by_norm` (gradient clipping by a
// global norm that stays on the device).
// Layout: flat, contiguous arrays of n floats; the op's scalars (a, b) travel
// in the parameter block.
// Tiling: none is needed — each element is read once and written once, so the
// kernel is bound by memory bandwidth and the only choice is the workgroup
// size WG (an `override`, 256 by default: a multiple of every subgroup size).
// Past 65 535 workgroups the grid wraps into y, hence `flat_index`.

struct Params {
    n: u32,
    a: f32,   // Powf exponent, Clamp/InRange low bound, AddScalar/MulScalar, fill value
    b: f32,   // Clamp/InRange high bound
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG: u32 = 256u;

fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): WGSL has no erf, and
// this is as accurate as f32 needs for GELU.
fn erf_approx(v: f32) -> f32 {
    let s = sign(v);
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return s * (1.0 - poly * exp(-a * a));
}

// tanh through exp(-2|v|), which never overflows (a naive (e^2v-1)/(e^2v+1)
// gives inf/inf = NaN for large v on some drivers).
fn tanh_stable(v: f32) -> f32 {
    let e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
}

fn sigmoid(v: f32) -> f32 {
    // exp(-v) overflows to inf for v < -88, and 1/(1+inf) = 0 as wanted.
    return 1.0 / (1.0 + exp(-v));
}

// x^p with the C library's conventions: x^0 = 1, and negative x allowed for
// integer exponents (WGSL's pow is undefined for x < 0).
fn powf(v: f32, e: f32) -> f32 {
    if (e == 0.0) { return 1.0; }
    if (v == 0.0) { return select(0.0, bitcast<f32>(0x7f800000u), e < 0.0); }
    let magnitude = exp2(e * log2(abs(v)));
    if (v > 0.0) { return magnitude; }
    if (floor(e) != e) { return bitcast<f32>(0x7fc00000u); } // NaN, as powf does
    let odd = abs(e % 2.0) == 1.0;
    return select(magnitude, -magnitude, odd);
}

const FRAC_1_SQRT_2: f32 = 0.70710678118654752;
const FRAC_1_SQRT_2PI: f32 = 0.39894228040143268;

// One entry point per op: the body is the one line that differs.
@compute @workgroup_size(WG)
fn unary_neg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = -x[i]; }
}

@compute @workgroup_size(WG)
fn unary_exp(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = exp(x[i]); }
}

@compute @workgroup_size(WG)
fn unary_log(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = log(x[i]); }
}

@compute @workgroup_size(WG)
fn unary_sqrt(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = sqrt(x[i]); }
}

@compute @workgroup_size(WG)
fn unary_tanh(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = tanh_stable(x[i]); }
}

@compute @workgroup_size(WG)
fn unary_sigmoid(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = sigmoid(x[i]); }
}

@compute @workgroup_size(WG)
fn unary_relu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    // NaN stays NaN, as on the CPU and in PyTorch: WGSL leaves max(NaN, 0)
    // to the implementation, and may fold `v != v` away, so test the bits.
    if (i < p.n) {
        let v = x[i];
        let nan = (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
        y[i] = select(0.0, v, v > 0.0 || nan);
    }
}

// GELU, exact form: x * Φ(x) with Φ(x) = (1 + erf(x/√2)) / 2 (torch default).
@compute @workgroup_size(WG)
fn unary_gelu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) {
        let v = x[i];
        y[i] = 0.5 * v * (1.0 + erf_approx(v * FRAC_1_SQRT_2));
    }
}

// d gelu / dx = Φ(x) + x φ(x), φ the standard normal density.
@compute @workgroup_size(WG)
fn unary_gelu_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) {
        let v = x[i];
        y[i] = 0.5 * (1.0 + erf_approx(v * FRAC_1_SQRT_2)) + v * FRAC_1_SQRT_2PI * exp(-0.5 * v * v);
    }
}

@compute @workgroup_size(WG)
fn unary_abs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = abs(x[i]); }
}

@compute @workgroup_size(WG)
fn unary_recip(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = 1.0 / x[i]; }
}

@compute @workgroup_size(WG)
fn unary_square(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = x[i] * x[i]; }
}

// 1 where x > 0: the derivative of relu.
@compute @workgroup_size(WG)
fn unary_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = select(0.0, 1.0, x[i] > 0.0); }
}

@compute @workgroup_size(WG)
fn unary_powf(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = powf(x[i], p.a); }
}

@compute @workgroup_size(WG)
fn unary_clamp(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = min(max(x[i], p.a), p.b); }
}

// 1 where lo <= x <= hi: the derivative of clamp.
@compute @workgroup_size(WG)
fn unary_in_range(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = select(0.0, 1.0, x[i] >= p.a && x[i] <= p.b); }
}

@compute @workgroup_size(WG)
fn unary_add_scalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = x[i] + p.a; }
}

@compute @workgroup_size(WG)
fn unary_mul_scalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = x[i] * p.a; }
}

// ---- entry points with one buffer (binding 1), written in place ----

@group(0) @binding(1) var<storage, read_write> dst: array<f32>;

// dst[i] = a
@compute @workgroup_size(WG)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { dst[i] = p.a; }
}

// dst[i] *= a
@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { dst[i] = dst[i] * p.a; }
}

// ---- gradient clipping: x[0] = Σ of all squared gradients, y the gradient ----

// y[i] *= min(1, a / (sqrt(x[0]) + 1e-6)), torch.nn.utils.clip_grad_norm_'s
// coefficient, computed on the device so clipping needs no read-back.
@compute @workgroup_size(WG)
fn clip_by_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = y[i] * min(1.0, p.a / (sqrt(x[0]) + 1e-6)); }
}
