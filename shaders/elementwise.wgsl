// elementwise.wgsl — unary maths, fill and in-place scale on flat f32 arrays.
//
// What: y[i] = f(x[i]) for every i < n, one entry point `unary` for every op
// (the override OP picks the op's `case`, so adding an op is one line here),
// plus `fill` (y[i] = a), `scale` (x[i] *= a, in place) and `clip_by_norm`
// (gradient clipping by a global norm that stays on the device).
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

// Which op `unary` computes: `UnaryOp::code()` of kernels-cpu, set when the
// pipeline is built, so the driver folds the switch and each op still gets a
// kernel with no branch on the op. A new op is one `case` here.
override OP: u32 = 0xffffffffu;

fn unary_op(v: f32) -> f32 {
    switch OP {
        case 0u: { return -v; }                           // Neg
        case 1u: { return exp(v); }                       // Exp
        case 2u: { return log(v); }                       // Log
        case 3u: { return sqrt(v); }                      // Sqrt
        case 4u: { return tanh_stable(v); }               // Tanh
        case 5u: { return sigmoid(v); }                   // Sigmoid
        case 6u: {                                        // Relu
            // NaN stays NaN, as on the CPU and in PyTorch: WGSL leaves
            // max(NaN, 0) to the implementation, and may fold `v != v` away,
            // so test the bits.
            let nan = (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
            return select(0.0, v, v > 0.0 || nan);
        }
        // Gelu, exact form: x Φ(x) with Φ(x) = (1 + erf(x/√2)) / 2 (torch default).
        case 7u: { return 0.5 * v * (1.0 + erf_approx(v * FRAC_1_SQRT_2)); }
        case 8u: { return abs(v); }                       // Abs
        case 9u: { return 1.0 / v; }                      // Recip
        case 10u: { return v * v; }                       // Square
        // GeluGrad, d gelu / dx = Φ(x) + x φ(x), φ the standard normal density.
        case 11u: { return 0.5 * (1.0 + erf_approx(v * FRAC_1_SQRT_2)) + v * FRAC_1_SQRT_2PI * exp(-0.5 * v * v); }
        case 12u: { return select(0.0, 1.0, v > 0.0); }   // Step, d relu
        case 13u: { return powf(v, p.a); }                // Powf
        case 14u: { return min(max(v, p.a), p.b); }       // Clamp
        case 15u: { return select(0.0, 1.0, v >= p.a && v <= p.b); } // InRange, d clamp
        case 16u: { return v + p.a; }                     // AddScalar
        case 17u: { return v * p.a; }                     // MulScalar
        case 18u: { return v * sigmoid(v); }              // Silu
        // An OP no case knows: NaN, so a missing case cannot pass for a result.
        default: { return bitcast<f32>(0x7fc00000u); }
    }
}

// y[i] = f(x[i]), f the op selected by OP.
@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { y[i] = unary_op(x[i]); }
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
