// attention_blocked.wgsl — scaled-dot-product attention for training: query-blocked, dropout inside.
//
// What (the same as attention.wgsl, plus dropout on the weights), for each of
// B = batch · heads problems z:
//   S = scale · Q Kᵀ + bias (+ causal mask),  P = softmax_rows(S),  O = (P ∘ M) V
// M is inverted dropout drawn from the counter-based generator
// (counter_rng.wgsl, appended): M_ij = 0 if u(seed, offset + (z·Tq + i)·Tk + j)
// < p else 1/(1-p) — exactly the mask `dropout` would draw on the weights
// [B, heads, Tq, Tk], so this kernel and the composed form agree.
//
// Layouts (flag bit 2): "split", one [Tq, D] matrix per problem
// ([B·heads, T, D], as attention.wgsl), or "merged", the heads side by side in
// the features ([B, T, heads·D], as the projections write them), so training
// reads Q, K, V and writes O, dQ, dK, dV in place, with no head copies.
//
// Why blocked: attention.wgsl gives one query row a workgroup, and every row
// re-reads all of K and V from global memory. Here a workgroup owns BQ = 16
// query rows and walks the keys in tiles of BK = 8: each K/V tile is loaded
// into workgroup memory once, coalesced, and serves all 16 rows, cutting the
// K/V traffic 16-fold. 128 invocations = 16 rows × 8 keys: invocation (r, t)
// scores query r against key t of the tile, and owns output columns
// t, t + 8, …, t + 56 of row r (D, Dv ≤ BD = 64). The online softmax is
// attention.wgsl's: running max m, sum l and output o, rescaled by
// exp(m - m') when a tile raises the maximum. The dropout mask multiplies the
// probabilities that enter o, not those that enter l (dropout acts after the
// softmax's normalisation). A causal block stops at the last key its last
// row may see.
//
// Backward (FlashAttention-2, Dao 2023), with δ_i = dO_i · O_i — which is
// Σ_j P_ij dP_ij even with dropout, since O already holds the mask:
//   dV_j = Σ_i P_ij M_ij dO_i,   dP_ij = M_ij (dO_i · V_j),   dS_ij = P_ij (dP_ij - δ_i)
//   dQ_i = scale Σ_j dS_ij K_j   — a workgroup per 16 query rows, K/V tiles of 8
//   dK_j = scale Σ_i dS_ij Q_i   — a workgroup per 16 key rows, Q/dO tiles of 8
// P is recomputed from the saved lse, so nothing Tq × Tk is ever stored; each
// output row has one writer, so no atomics.
// Limits: every kernel within WebGPU's defaults (128 invocations, ≤ 13.1 KiB
// of workgroup memory, ≤ 8 storage buffers).

struct Params {
    batch: u32,     // B = batch · heads
    tq: u32,
    tk: u32,
    d: u32,
    dv: u32,
    heads: u32,
    scale: f32,
    flags: u32,     // bit 0: causal, bit 1: bias given, bit 2: merged layout, bit 3: dropout
    drop_p: f32,
    drop_scale: f32, // 1 / (1 - p)
    seed_lo: u32,
    seed_hi: u32,
    offset_lo: u32,
    offset_hi: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

const BQ: u32 = 16u;       // rows a workgroup owns
const BK: u32 = 8u;        // rows of the other operand per tile
const BD: u32 = 64u;       // largest head size
const COLS: u32 = 8u;      // BD / BK output columns per invocation
const WG: u32 = 128u;      // BQ · BK

// A masked score: finite, below any real score; a -∞ key bias from the data
// compares below it too (see attention.wgsl).
const MASKED: f32 = -3.0e38;

var<workgroup> own: array<f32, 1024>;      // BQ × BD: the block's own Q (or K) rows
var<workgroup> own2: array<f32, 1024>;     // BQ × BD: their dO (or V) rows
var<workgroup> tile_a: array<f32, 512>;    // BK × BD: the tile's K (or Q) rows
var<workgroup> tile_b: array<f32, 512>;    // BK × BD: its V (or dO) rows
var<workgroup> cell: array<f32, 128>;      // BQ × BK: scores, then probabilities
var<workgroup> cell2: array<f32, 128>;     // BQ × BK: dropped probabilities, or dS
var<workgroup> stat: array<f32, 16>;       // lse and δ of the tile's queries (dK/dV)

// First element of row `row` of problem z in an operand of `rows` rows of
// `width` features per head.
fn row_start(z: u32, row: u32, rows: u32, width: u32) -> u32 {
    if ((p.flags & 4u) != 0u) {
        return ((z / p.heads * rows + row) * p.heads + z % p.heads) * width;
    }
    return (z * rows + row) * width;
}

fn allowed(i: u32, j: u32) -> bool {
    if ((p.flags & 1u) == 0u) { return true; }
    return j <= i + (p.tk - p.tq);
}

// The dropout factor M_ij: 1 without dropout, else 0 or 1/(1-p).
fn keep(z: u32, i: u32, j: u32) -> f32 {
    if ((p.flags & 8u) == 0u) { return 1.0; }
    let c = rng_counter(vec2<u32>(p.offset_lo, p.offset_hi), (z * p.tq + i) * p.tk + j);
    let u = rng_uniform01(vec2<u32>(p.seed_lo, p.seed_hi), c);
    return select(p.drop_scale, 0.0, u < p.drop_p);
}

// How many of the `count` rows from `first` exist in an operand of `rows`.
// Tiles are staged with zeros past the end, so the arithmetic needs no
// bounds.
fn clamp_rows(first: u32, count: u32, rows: u32) -> u32 {
    return min(count, rows - min(first, rows));
}

// The last key row `i_last` may see, + 1 (the end of a causal block's walk).
fn key_end(i_last: u32) -> u32 {
    if ((p.flags & 1u) == 0u) { return p.tk; }
    return min(p.tk, i_last + (p.tk - p.tq) + 1u);
}

// ---- forward: q, k, v, bias -> o, lse ----

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

fn key_bias(z: u32, j: u32) -> f32 {
    if ((p.flags & 2u) == 0u) { return 0.0; }
    return bias[(z / p.heads) * p.tk + j];
}

// The block's (problem, first row) from the workgroup id; rows = Tq or Tk.
fn block_of(wid: vec3<u32>, nwg: vec3<u32>, rows: u32) -> vec2<u32> {
    let blocks = (rows + BQ - 1u) / BQ;
    let block = wid.x + wid.y * nwg.x;
    return vec2<u32>(block / blocks, (block % blocks) * BQ);
}

// The forward and dQ kernels stage the same operands: the block's Q rows
// into `own`, each tile's K and V rows into `tile_a` and `tile_b` (zeros
// past the end). Returns the tile's real keys.
fn stage_queries(z: u32, i0: u32, rows: u32, lid: u32) {
    for (var e = lid; e < BQ * p.d; e += WG) {
        let rr = e / p.d;
        let c = e % p.d;
        own[rr * BD + c] = select(0.0, q[row_start(z, i0 + rr, p.tq, p.d) + c], rr < rows);
    }
}

fn stage_keys(z: u32, j0: u32, lid: u32) -> u32 {
    let keys = clamp_rows(j0, BK, p.tk);
    for (var e = lid; e < BK * p.d; e += WG) {
        let u = e / p.d;
        let c = e % p.d;
        tile_a[u * BD + c] = select(0.0, k[row_start(z, j0 + u, p.tk, p.d) + c], u < keys);
    }
    for (var e = lid; e < BK * p.dv; e += WG) {
        let u = e / p.dv;
        let c = e % p.dv;
        tile_b[u * BD + c] = select(0.0, v[row_start(z, j0 + u, p.tk, p.dv) + c], u < keys);
    }
    return keys;
}

@compute @workgroup_size(WG)
fn attention_blocked_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let zb = block_of(wid, nwg, p.tq);
    let z = zb.x;
    let i0 = zb.y;
    if (z >= p.batch) { return; } // uniform: the whole workgroup leaves
    let r = lid / BK;
    let t = lid % BK;
    let i = i0 + r;
    let rows = clamp_rows(i0, BQ, p.tq);
    stage_queries(z, i0, rows, lid);

    var m = MASKED;
    var l = 0.0;
    var acc: array<f32, COLS>;
    let end = key_end(i0 + rows - 1u);
    for (var j0 = 0u; j0 < end; j0 += BK) {
        workgroupBarrier(); // the last tile's reads are done (and `own` is written)
        let keys = stage_keys(z, j0, lid);
        workgroupBarrier();

        let j = j0 + t;
        var s = MASKED;
        if (r < rows && t < keys && allowed(i, j)) {
            var sdot = 0.0;
            for (var c = 0u; c < p.d; c++) { sdot = fma(own[r * BD + c], tile_a[t * BD + c], sdot); }
            s = sdot * p.scale + key_bias(z, j);
        }
        cell[lid] = s;
        workgroupBarrier();
        var tile_max = MASKED;
        for (var u = 0u; u < BK; u++) { tile_max = max(tile_max, cell[r * BK + u]); }
        let m_new = max(m, tile_max);
        // While every key so far is masked, m_new is MASKED: masked keys weigh
        // 0 and the (still zero) sums keep.
        let pj = select(exp(s - m_new), 0.0, s <= MASKED);
        let correction = select(exp(m - m_new), 1.0, m_new <= MASKED);
        var kept = 0.0;
        if (pj != 0.0) { kept = pj * keep(z, i, j); }
        workgroupBarrier(); // every row maximum is read before `cell` is reused
        cell[lid] = pj;
        cell2[lid] = kept;
        workgroupBarrier();

        var tile_sum = 0.0;
        for (var u = 0u; u < BK; u++) { tile_sum += cell[r * BK + u]; }
        l = l * correction + tile_sum;
        for (var x = 0u; x < COLS; x++) {
            let c = t + x * BK;
            if (c < p.dv) {
                var a = acc[x] * correction;
                for (var u = 0u; u < BK; u++) { a = fma(cell2[r * BK + u], tile_b[u * BD + c], a); }
                acc[x] = a;
            }
        }
        m = m_new;
    }
    if (r < rows) {
        let inv_l = 1.0 / l; // a fully masked row gives 0 · inf = NaN, as softmax does
        let out = row_start(z, i, p.tq, p.dv);
        for (var x = 0u; x < COLS; x++) {
            let c = t + x * BK;
            if (c < p.dv) { o[out + c] = acc[x] * inv_l; }
        }
        if (t == 0u) { lse[z * p.tq + i] = m + log(l); }
    }
}

// ---- backward 1: o, do, lse -> stats = (lse_i, δ_i) pairs, one invocation per query row ----

@group(0) @binding(1) var<storage, read> st_o: array<f32>;
@group(0) @binding(2) var<storage, read> st_do: array<f32>;
@group(0) @binding(3) var<storage, read> st_lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(WG)
fn attention_blocked_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = (wid.x + wid.y * nwg.x) * WG + lid; // = z · tq + i
    if (row >= p.batch * p.tq) { return; }
    let at = row_start(row / p.tq, row % p.tq, p.tq, p.dv);
    var delta = 0.0;
    for (var c = 0u; c < p.dv; c++) { delta = fma(st_o[at + c], st_do[at + c], delta); }
    stats[2u * row] = st_lse[row];
    stats[2u * row + 1u] = delta;
}

// ---- backward 2: q, k, v, bias, do, stats -> dq (a workgroup per 16 query rows) ----

@group(0) @binding(5) var<storage, read> b_do: array<f32>;
@group(0) @binding(6) var<storage, read> b_stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;

@compute @workgroup_size(WG)
fn attention_blocked_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let zb = block_of(wid, nwg, p.tq);
    let z = zb.x;
    let i0 = zb.y;
    if (z >= p.batch) { return; }
    let r = lid / BK;
    let t = lid % BK;
    let i = i0 + r;
    let rows = clamp_rows(i0, BQ, p.tq);
    stage_queries(z, i0, rows, lid);
    for (var e = lid; e < BQ * p.dv; e += WG) {
        let rr = e / p.dv;
        let c = e % p.dv;
        own2[rr * BD + c] = select(0.0, b_do[row_start(z, i0 + rr, p.tq, p.dv) + c], rr < rows);
    }
    var lse_i = 0.0;
    var delta_i = 0.0;
    if (r < rows) {
        lse_i = b_stats[2u * (z * p.tq + i)];
        delta_i = b_stats[2u * (z * p.tq + i) + 1u];
    }

    var acc: array<f32, COLS>;
    let end = key_end(i0 + rows - 1u);
    for (var j0 = 0u; j0 < end; j0 += BK) {
        workgroupBarrier();
        let keys = stage_keys(z, j0, lid);
        workgroupBarrier();

        let j = j0 + t;
        var ds = 0.0;
        if (r < rows && t < keys && allowed(i, j)) {
            var sdot = 0.0;
            for (var c = 0u; c < p.d; c++) { sdot = fma(own[r * BD + c], tile_a[t * BD + c], sdot); }
            let s = sdot * p.scale + key_bias(z, j);
            if (s > MASKED) {
                let pij = exp(s - lse_i);
                var dp = 0.0;
                for (var c = 0u; c < p.dv; c++) { dp = fma(own2[r * BD + c], tile_b[t * BD + c], dp); }
                ds = pij * (dp * keep(z, i, j) - delta_i);
            }
        }
        cell2[lid] = ds;
        workgroupBarrier();
        for (var x = 0u; x < COLS; x++) {
            let c = t + x * BK;
            if (c < p.d) {
                var a = acc[x];
                for (var u = 0u; u < BK; u++) { a = fma(cell2[r * BK + u], tile_a[u * BD + c], a); }
                acc[x] = a;
            }
        }
    }
    if (r < rows) {
        let out = row_start(z, i, p.tq, p.d);
        for (var x = 0u; x < COLS; x++) {
            let c = t + x * BK;
            if (c < p.d) { dq[out + c] = acc[x] * p.scale; }
        }
    }
}

// ---- backward 3: q, k, v, bias, do, stats -> dk, dv (a workgroup per 16 key rows) ----

@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;

@compute @workgroup_size(WG)
fn attention_blocked_dkv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let zb = block_of(wid, nwg, p.tk);
    let z = zb.x;
    let j0 = zb.y;
    if (z >= p.batch) { return; }
    let r = lid / BK; // key row of the block
    let t = lid % BK; // query of the tile
    let j = j0 + r;
    let keys = clamp_rows(j0, BQ, p.tk);
    for (var e = lid; e < BQ * p.d; e += WG) {
        let rr = e / p.d;
        let c = e % p.d;
        own[rr * BD + c] = select(0.0, k[row_start(z, j0 + rr, p.tk, p.d) + c], rr < keys);
    }
    for (var e = lid; e < BQ * p.dv; e += WG) {
        let rr = e / p.dv;
        let c = e % p.dv;
        own2[rr * BD + c] = select(0.0, v[row_start(z, j0 + rr, p.tk, p.dv) + c], rr < keys);
    }
    let bias_j = select(0.0, key_bias(z, j), r < keys);

    // Causal: query i sees key j when i ≥ j - (tk - tq), so the block's first
    // key bounds the first query that matters.
    var start = 0u;
    if ((p.flags & 1u) != 0u) {
        let shift = p.tk - p.tq;
        start = (max(j0, shift) - shift) / BK * BK;
    }
    var acc_k: array<f32, COLS>;
    var acc_v: array<f32, COLS>;
    for (var i0 = start; i0 < p.tq; i0 += BK) {
        workgroupBarrier();
        let queries = clamp_rows(i0, BK, p.tq);
        for (var e = lid; e < BK * p.d; e += WG) {
            let u = e / p.d;
            let c = e % p.d;
            tile_a[u * BD + c] = select(0.0, q[row_start(z, i0 + u, p.tq, p.d) + c], u < queries);
        }
        for (var e = lid; e < BK * p.dv; e += WG) {
            let u = e / p.dv;
            let c = e % p.dv;
            tile_b[u * BD + c] = select(0.0, b_do[row_start(z, i0 + u, p.tq, p.dv) + c], u < queries);
        }
        if (lid < 2u * BK) {
            let u = lid / 2u;
            stat[lid] = select(0.0, b_stats[2u * (z * p.tq + i0 + u) + lid % 2u], u < queries);
        }
        workgroupBarrier();

        let i = i0 + t;
        var pm = 0.0;
        var ds = 0.0;
        if (r < keys && t < queries && allowed(i, j)) {
            var sdot = 0.0;
            for (var c = 0u; c < p.d; c++) { sdot = fma(tile_a[t * BD + c], own[r * BD + c], sdot); }
            let s = sdot * p.scale + bias_j;
            if (s > MASKED) {
                let pij = exp(s - stat[2u * t]);
                var dp = 0.0;
                for (var c = 0u; c < p.dv; c++) { dp = fma(tile_b[t * BD + c], own2[r * BD + c], dp); }
                let m_ij = keep(z, i, j);
                pm = pij * m_ij;
                ds = pij * (dp * m_ij - stat[2u * t + 1u]);
            }
        }
        cell[lid] = pm;
        cell2[lid] = ds;
        workgroupBarrier();
        for (var x = 0u; x < COLS; x++) {
            let c = t + x * BK;
            if (c < p.dv) {
                var a = acc_v[x];
                for (var u = 0u; u < BK; u++) { a = fma(cell[r * BK + u], tile_b[u * BD + c], a); }
                acc_v[x] = a;
            }
            if (c < p.d) {
                var a = acc_k[x];
                for (var u = 0u; u < BK; u++) { a = fma(cell2[r * BK + u], tile_a[u * BD + c], a); }
                acc_k[x] = a;
            }
        }
    }
    if (r < keys) {
        let at_k = row_start(z, j, p.tk, p.d);
        let at_v = row_start(z, j, p.tk, p.dv);
        for (var x = 0u; x < COLS; x++) {
            let c = t + x * BK;
            if (c < p.d) { dk[at_k + c] = acc_k[x] * p.scale; }
            if (c < p.dv) { dv[at_v + c] = acc_v[x]; }
        }
    }
}
