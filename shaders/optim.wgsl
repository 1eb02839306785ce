// optim.wgsl — optimizer steps with torch.optim semantics, in place.
//
// What (element-wise over the parameters):
//   Adam:  g ← g + wd·p (L2);   AdamW: p ← p·(1 - lr·wd) (decoupled)
//          m ← m + (1-β1)(g - m);   v ← β2·v + (1-β2)·g²
//          p ← p - (lr/bc1) · m / (√v / √bc2 + eps)
//   SGD:   g ← g + wd·p;  buf ← g (first step) or momentum·buf + (1-dampening)·g;
//          g ← g + momentum·buf (nesterov) or buf;  p ← p - lr·g
// The bias corrections bc1 = 1-β1^t, bc2 = 1-β2^t are computed on the host in
// f64, as torch does, and arrive as step_size = lr/bc1 and inv_bc2 = 1/√bc2.
// fma() is used where the CPU kernel uses mul_add, so both round alike.
// Layout: flat arrays; p, m, v (and buf) are read and written in place.
// Tiling: none — one invocation per parameter, memory-bound.

struct Params {
    n: u32,
    flags: u32,        // Adam: bit 0 decoupled, bit 1 L2; SGD: bit 0 first step, bit 1 nesterov
    lr: f32,
    weight_decay: f32,
    beta1: f32,        // SGD: momentum
    beta2: f32,        // SGD: dampening
    eps: f32,
    step_size: f32,
    inv_bc2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;

fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn adam_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.n) { return; }
    var pv = param[i];
    var gv = g[i];
    if ((p.flags & 2u) != 0u) { gv = fma(p.weight_decay, pv, gv); }
    if ((p.flags & 1u) != 0u) { pv = pv * (1.0 - p.lr * p.weight_decay); }
    let mv = fma(1.0 - p.beta1, gv - m[i], m[i]);
    let vv = fma(1.0 - p.beta2, gv * gv, p.beta2 * v[i]);
    let denom = sqrt(vv) * p.inv_bc2 + p.eps;
    m[i] = mv;
    v[i] = vv;
    param[i] = fma(-p.step_size, mv / denom, pv);
}

// ---- SGD: g -> param, (buf) ----

@group(0) @binding(3) var<storage, read_write> buf: array<f32>;

fn sgd_direction(i: u32) -> f32 {
    var d = g[i];
    if (p.weight_decay != 0.0) { d = fma(p.weight_decay, param[i], d); }
    return d;
}

@compute @workgroup_size(WG)
fn sgd_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.n) { return; }
    param[i] = fma(-p.lr, sgd_direction(i), param[i]);
}

@compute @workgroup_size(WG)
fn sgd_step_momentum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i >= p.n) { return; }
    var d = sgd_direction(i);
    let momentum = p.beta1;
    let keep = 1.0 - p.beta2;
    var b = d;
    if ((p.flags & 1u) == 0u) { b = fma(keep, d, momentum * buf[i]); }
    buf[i] = b;
    d = select(b, fma(momentum, b, d), (p.flags & 2u) != 0u);
    param[i] = fma(-p.lr, d, param[i]);
}
