// attention.wgsl — fused scaled-dot-product attention, forward and backward.
//
// What, for each of B = batch · heads independent problems:
//   S = scale · Q Kᵀ + bias (+ causal mask),   P = softmax_rows(S),   O = P V
// with Q [B, Tq, D], K [B, Tk, D], V [B, Tk, Dv], O [B, Tq, Dv] contiguous.
// `bias` is an additive key mask [B / heads, Tk] shared by the heads of one
// batch row (0 to keep a key, -inf for padding); the causal mask lets query
// i see keys j ≤ i + (Tk - Tq). lse[b, i] = log Σ_j exp(S_ij) is saved for
// the backward, and the optional weights pass writes P itself.
//
// Why fused (FlashAttention's idea): the Tq × Tk score matrix is never
// stored. One workgroup owns one query row; it walks the keys in tiles of
// RW, one key per invocation, and keeps an *online softmax*: the running
// maximum m, the running sum l = Σ exp(S - m) and the running output
// o = Σ exp(S - m) v. When a tile raises the maximum to m', the old sums are
// rescaled by exp(m - m') before the tile's terms are added, so at the end
// o / l is exactly softmax(S) V. Each invocation owns output columns
// d = lid, lid + RW, … (up to 8 of them: Dv ≤ 8·RW) in registers; the tile's
// probabilities are shared through workgroup memory.
// Tiling note: every query row re-reads K and V from global memory; a real-GPU
// version would also block several query rows per workgroup and stage K/V
// tiles in shared memory. On lavapipe the caches already serve those reads.
//
// Backward (FlashAttention-2), with dO given and δ_i = dO_i · O_i:
//   P_ij = exp(S_ij - lse_i),  dP_ij = dO_i · V_j,  dS_ij = P_ij (dP_ij - δ_i)
//   dQ_i = scale Σ_j dS_ij K_j      — one workgroup per query row
//   dV_j = Σ_i P_ij dO_i,  dK_j = scale Σ_i dS_ij Q_i   — one workgroup per key row
// Each output row has exactly one writer, so no atomics are needed; the
// price is recomputing P in both kernels.

struct Params {
    batch: u32,     // B = batch · heads
    tq: u32,
    tk: u32,
    d: u32,
    dv: u32,
    heads: u32,
    scale: f32,
    flags: u32,     // bit 0: causal, bit 1: bias given
}

@group(0) @binding(0) var<uniform> p: Params;

override RW: u32 = 64u;    // invocations per workgroup = keys (or queries) per tile
const MAX_COLS: u32 = 8u;  // output columns per invocation: D, Dv ≤ MAX_COLS · RW

var<workgroup> row_shared: array<f32, 512>;     // the workgroup's own Q (or K) row
var<workgroup> row2_shared: array<f32, 512>;    // its dO (or V) row
var<workgroup> tile_p: array<f32, RW>;          // per-tile probabilities
var<workgroup> tile_ds: array<f32, RW>;         // per-tile dS (backward)
var<workgroup> partial: array<f32, RW>;

// A masked score: finite, below any real score (WGSL promises nothing about
// infinities, so the kernels never make one). A score that is -∞ in the data
// (a key bias of -∞ for padding) compares below it too, so `<= MASKED`
// means "masked" either way.
const MASKED: f32 = -3.0e38;

fn wg_max(lid: u32, v: f32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var half = RW / 2u; half > 0u; half /= 2u) {
        if (lid < half) { partial[lid] = max(partial[lid], partial[lid + half]); }
        workgroupBarrier();
    }
    let result = partial[0];
    workgroupBarrier();
    return result;
}

fn wg_sum(lid: u32, v: f32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var half = RW / 2u; half > 0u; half /= 2u) {
        if (lid < half) { partial[lid] += partial[lid + half]; }
        workgroupBarrier();
    }
    let result = partial[0];
    workgroupBarrier();
    return result;
}

// May query i see key j?
fn allowed(i: u32, j: u32) -> bool {
    if ((p.flags & 1u) == 0u) { return true; }
    return j <= i + (p.tk - p.tq); // tk ≥ tq is checked by the launcher
}

// ---- forward: q, k, v, bias -> o, lse ----

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

// S_ij from the shared Q row, with masks applied (MASKED when masked).
fn score(z: u32, i: u32, j: u32) -> f32 {
    if (j >= p.tk || !allowed(i, j)) { return MASKED; }
    let krow = (z * p.tk + j) * p.d;
    var s = 0.0;
    for (var c = 0u; c < p.d; c++) { s = fma(row_shared[c], k[krow + c], s); }
    s *= p.scale;
    if ((p.flags & 2u) != 0u) { s += bias[(z / p.heads) * p.tk + j]; }
    return s;
}

@compute @workgroup_size(RW)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;      // = z · tq + i
    if (row >= p.batch * p.tq) { return; } // uniform: the whole workgroup leaves
    let z = row / p.tq;
    let i = row % p.tq;
    for (var c = lid; c < p.d; c += RW) { row_shared[c] = q[row * p.d + c]; }
    workgroupBarrier();

    var m = MASKED;
    var l = 0.0;
    var acc: array<f32, MAX_COLS>;
    for (var j0 = 0u; j0 < p.tk; j0 += RW) {
        let s = score(z, i, j0 + lid);
        let m_new = max(m, wg_max(lid, s));
        // While every key so far is masked, m_new is MASKED and exp(s - m_new)
        // would be 1: masked keys weigh 0, and the (still zero) sums keep.
        let pj = select(exp(s - m_new), 0.0, s <= MASKED);
        tile_p[lid] = pj;
        let correction = select(exp(m - m_new), 1.0, m_new <= MASKED); // 0 on the first unmasked tile
        l = l * correction + wg_sum(lid, pj); // wg_sum's barriers publish tile_p
        let count = min(RW, p.tk - j0);
        for (var r = 0u; r < MAX_COLS; r++) {
            let c = lid + r * RW;
            if (c < p.dv) {
                var t_acc = acc[r] * correction;
                for (var t = 0u; t < count; t++) {
                    t_acc = fma(tile_p[t], v[(z * p.tk + j0 + t) * p.dv + c], t_acc);
                }
                acc[r] = t_acc;
            }
        }
        m = m_new;
        workgroupBarrier(); // tile_p is rewritten by the next tile
    }
    let inv_l = 1.0 / l; // a fully masked row gives 0 · inf = NaN, as softmax does
    for (var r = 0u; r < MAX_COLS; r++) {
        let c = lid + r * RW;
        if (c < p.dv) { o[row * p.dv + c] = acc[r] * inv_l; }
    }
    if (lid == 0u) { lse[row] = m + log(l); }
}

// ---- weights: q, k, bias, lse -> w = P (B × Tq × Tk) ----

@group(0) @binding(3) var<storage, read> w_bias: array<f32>;
@group(0) @binding(4) var<storage, read> w_lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> w: array<f32>;

@compute @workgroup_size(RW)
fn attention_weights(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.batch * p.tq) { return; }
    let z = row / p.tq;
    let i = row % p.tq;
    for (var c = lid; c < p.d; c += RW) { row_shared[c] = q[row * p.d + c]; }
    workgroupBarrier();
    let shift = w_lse[row];
    for (var j = lid; j < p.tk; j += RW) {
        var s = MASKED;
        if (allowed(i, j)) {
            let krow = (z * p.tk + j) * p.d;
            s = 0.0;
            for (var c = 0u; c < p.d; c++) { s = fma(row_shared[c], k[krow + c], s); }
            s *= p.scale;
            if ((p.flags & 2u) != 0u) { s += w_bias[(z / p.heads) * p.tk + j]; }
        }
        // 0 where masked; NaN for a row masked whole (its lse is -∞), as the
        // softmax gives: shift - shift is 0 for a finite shift, NaN otherwise.
        w[row * p.tk + j] = select(exp(s - shift), shift - shift, s <= MASKED);
    }
}

// ---- backward 1: o, do, lse -> stats = (lse_i, δ_i) pairs ----

@group(0) @binding(1) var<storage, read> st_o: array<f32>;
@group(0) @binding(2) var<storage, read> st_do: array<f32>;
@group(0) @binding(3) var<storage, read> st_lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(RW)
fn attention_backward_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.batch * p.tq) { return; }
    var s = 0.0;
    for (var c = lid; c < p.dv; c += RW) { s = fma(st_o[row * p.dv + c], st_do[row * p.dv + c], s); }
    let delta = wg_sum(lid, s);
    if (lid == 0u) {
        stats[2u * row] = st_lse[row];
        stats[2u * row + 1u] = delta;
    }
}

// ---- backward 2: q, k, v, bias, do, stats -> dq (one workgroup per query row) ----

@group(0) @binding(5) var<storage, read> b_do: array<f32>;
@group(0) @binding(6) var<storage, read> b_stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;

@compute @workgroup_size(RW)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.batch * p.tq) { return; }
    let z = row / p.tq;
    let i = row % p.tq;
    for (var c = lid; c < p.d; c += RW) { row_shared[c] = q[row * p.d + c]; }
    for (var c = lid; c < p.dv; c += RW) { row2_shared[c] = b_do[row * p.dv + c]; }
    workgroupBarrier();
    let lse_i = b_stats[2u * row];
    let delta_i = b_stats[2u * row + 1u];
    var acc: array<f32, MAX_COLS>;
    for (var j0 = 0u; j0 < p.tk; j0 += RW) {
        let j = j0 + lid;
        var ds = 0.0;
        let s = score(z, i, j);
        if (s > MASKED) {
            let pj = exp(s - lse_i);
            var dp = 0.0;
            let vrow = (z * p.tk + j) * p.dv;
            for (var c = 0u; c < p.dv; c++) { dp = fma(row2_shared[c], v[vrow + c], dp); }
            ds = pj * (dp - delta_i);
        }
        tile_ds[lid] = ds;
        workgroupBarrier();
        let count = min(RW, p.tk - j0);
        for (var r = 0u; r < MAX_COLS; r++) {
            let c = lid + r * RW;
            if (c < p.d) {
                for (var t = 0u; t < count; t++) {
                    acc[r] = fma(tile_ds[t], k[(z * p.tk + j0 + t) * p.d + c], acc[r]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < MAX_COLS; r++) {
        let c = lid + r * RW;
        if (c < p.d) { dq[row * p.d + c] = acc[r] * p.scale; }
    }
}

// ---- backward 3: q, k, v, bias, do, stats -> dk, dv (one workgroup per key row) ----

@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;

@compute @workgroup_size(RW)
fn attention_backward_dkv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let key = wid.x + wid.y * nwg.x;      // = z · tk + j
    if (key >= p.batch * p.tk) { return; }
    let z = key / p.tk;
    let j = key % p.tk;
    for (var c = lid; c < p.d; c += RW) { row_shared[c] = k[key * p.d + c]; }
    for (var c = lid; c < p.dv; c += RW) { row2_shared[c] = v[key * p.dv + c]; }
    workgroupBarrier();
    var key_bias = 0.0;
    if ((p.flags & 2u) != 0u) { key_bias = bias[(z / p.heads) * p.tk + j]; }
    var acc_k: array<f32, MAX_COLS>;
    var acc_v: array<f32, MAX_COLS>;
    for (var i0 = 0u; i0 < p.tq; i0 += RW) {
        let i = i0 + lid;
        var pij = 0.0;
        var ds = 0.0;
        if (i < p.tq && allowed(i, j)) {
            let qi = z * p.tq + i;
            var s = 0.0;
            for (var c = 0u; c < p.d; c++) { s = fma(q[qi * p.d + c], row_shared[c], s); }
            s = s * p.scale + key_bias;
            if (s > MASKED) {
                pij = exp(s - b_stats[2u * qi]);
                var dp = 0.0;
                for (var c = 0u; c < p.dv; c++) { dp = fma(b_do[qi * p.dv + c], row2_shared[c], dp); }
                ds = pij * (dp - b_stats[2u * qi + 1u]);
            }
        }
        tile_p[lid] = pij;
        tile_ds[lid] = ds;
        workgroupBarrier();
        let count = min(RW, p.tq - i0);
        for (var r = 0u; r < MAX_COLS; r++) {
            let c = lid + r * RW;
            if (c < p.dv) {
                for (var t = 0u; t < count; t++) {
                    acc_v[r] = fma(tile_p[t], b_do[(z * p.tq + i0 + t) * p.dv + c], acc_v[r]);
                }
            }
            if (c < p.d) {
                for (var t = 0u; t < count; t++) {
                    acc_k[r] = fma(tile_ds[t], q[(z * p.tq + i0 + t) * p.d + c], acc_k[r]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < MAX_COLS; r++) {
        let c = lid + r * RW;
        if (c < p.d) { dk[key * p.d + c] = acc_k[r] * p.scale; }
        if (c < p.dv) { dv[key * p.dv + c] = acc_v[r]; }
    }
}
