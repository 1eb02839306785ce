// additive.wgsl — Bahdanau's additive attention score and its gradients,
// one dispatch each, where the composed form runs three forward (broadcast
// add, tanh, a one-column product) and about nine backward.
//
// What (Bahdanau, Cho & Bengio 2014, appendix eq. 6):
//   e[b,t,s] = Σ_a v[a] · tanh(q[b,t,a] + k[b,s,a])
// and, from g = ∂L/∂e with u = tanh(q + k) recomputed rather than stored,
//   d[b,t,s,a] = g[b,t,s] · v[a] · (1 − u²)
//   ∂q[b,t,a] = Σ_s d      ∂k[b,s,a] = Σ_t d      ∂v[a] = Σ_{b,t,s} g · u
// Layout (row-major): q [B, Tq, A], k [B, S, A], v [A], e and g [B, Tq, S].
// Tiling: none. The forward gives each invocation one score and walks its
// A-long dot product; the backward gives each invocation one output element
// (of ∂q, then ∂k, then ∂v, in one flat range) and walks the axis it sums,
// so every sum runs in a fixed order and nothing needs atomics. The [B, Tq,
// S, A] tensor of the composed form is never written.

struct Params {
    batch: u32,
    tq: u32,
    s: u32,
    a: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;

fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

// tanh through exp(-2|v|), which never overflows (see elementwise.wgsl).
fn tanh_stable(v: f32) -> f32 {
    let e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
}

// ---- forward: q, k, v -> e ----

@group(0) @binding(1) var<storage, read> fq: array<f32>;
@group(0) @binding(2) var<storage, read> fk: array<f32>;
@group(0) @binding(3) var<storage, read> fv: array<f32>;
@group(0) @binding(4) var<storage, read_write> fe: array<f32>;

@compute @workgroup_size(WG)
fn additive_score(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid); // (b, t, s)
    if (i >= p.batch * p.tq * p.s) { return; }
    let s = i % p.s;
    let bt = i / p.s;
    let b = bt / p.tq;
    let q0 = bt * p.a;
    let k0 = (b * p.s + s) * p.a;
    var acc = 0.0;
    for (var j = 0u; j < p.a; j++) {
        acc = fma(fv[j], tanh_stable(fq[q0 + j] + fk[k0 + j]), acc);
    }
    fe[i] = acc;
}

// ---- backward: q, k, v, g -> ∂q, ∂k, ∂v ----

@group(0) @binding(1) var<storage, read> bq: array<f32>;
@group(0) @binding(2) var<storage, read> bk: array<f32>;
@group(0) @binding(3) var<storage, read> bv: array<f32>;
@group(0) @binding(4) var<storage, read> bg: array<f32>;
@group(0) @binding(5) var<storage, read_write> dq: array<f32>;
@group(0) @binding(6) var<storage, read_write> dk: array<f32>;
@group(0) @binding(7) var<storage, read_write> dv: array<f32>;

// ∂(q + k) at (b, t, s, j) without the factor g · v[j]: 1 − u².
fn one_minus_u2(b: u32, t: u32, s: u32, j: u32) -> f32 {
    let u = tanh_stable(bq[(b * p.tq + t) * p.a + j] + bk[(b * p.s + s) * p.a + j]);
    return 1.0 - u * u;
}

@compute @workgroup_size(WG)
fn additive_score_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    let nq = p.batch * p.tq * p.a;
    let nk = p.batch * p.s * p.a;
    if (i < nq) {
        // ∂q[b, t, j] = v[j] Σ_s g[b,t,s] (1 − u²)
        let j = i % p.a;
        let bt = i / p.a;
        let b = bt / p.tq;
        let t = bt % p.tq;
        var acc = 0.0;
        for (var s = 0u; s < p.s; s++) {
            acc = fma(bg[bt * p.s + s], one_minus_u2(b, t, s, j), acc);
        }
        dq[i] = acc * bv[j];
    } else if (i < nq + nk) {
        // ∂k[b, s, j] = v[j] Σ_t g[b,t,s] (1 − u²)
        let r = i - nq;
        let j = r % p.a;
        let bs = r / p.a;
        let b = bs / p.s;
        let s = bs % p.s;
        var acc = 0.0;
        for (var t = 0u; t < p.tq; t++) {
            acc = fma(bg[(b * p.tq + t) * p.s + s], one_minus_u2(b, t, s, j), acc);
        }
        dk[r] = acc * bv[j];
    } else if (i < nq + nk + p.a) {
        // ∂v[j] = Σ_{b,t,s} g[b,t,s] u
        let j = i - nq - nk;
        var acc = 0.0;
        for (var bt = 0u; bt < p.batch * p.tq; bt++) {
            let b = bt / p.tq;
            let qv = bq[bt * p.a + j];
            for (var s = 0u; s < p.s; s++) {
                let u = tanh_stable(qv + bk[(b * p.s + s) * p.a + j]);
                acc = fma(bg[bt * p.s + s], u, acc);
            }
        }
        dv[j] = acc;
    }
}
