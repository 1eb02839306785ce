// topk.wgsl — the k largest entries of each row, best first: what beam
// search needs from a step's [R, V] log-probabilities, so that it reads
// back R · k candidates instead of R · V numbers.
//
// What: for each row r of x [rows, cols], values[r, j] and indices[r, j]
// (j < k) are the j-th entry of the row in the order "higher value first,
// lower index on ties" — the order of the host's beam search. A non-finite
// entry (NaN, ±∞) ranks below every finite one and is returned as NONE, a
// finite sentinel (WGSL promises nothing about infinities).
// Layout: row-major x; values and indices [rows, k], indices as f32 (exact
// below 2^24, like every index tensor of the engine).
// Tiling: one 256-invocation workgroup per row (the grid wraps past 65 535
// rows). k rounds; in round j every invocation finds the best entry of its
// strided slice of the row that ranks below round j-1's pick, then a tree
// reduction in workgroup memory picks the best of those. No list of
// chosen entries is kept: the order is total, so "below the last pick" is
// exactly "not chosen yet". Work is k · cols / 256 per invocation, small
// for a beam's k.

struct Params {
    rows: u32,
    cols: u32,
    k: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> top_values: array<f32>;
@group(0) @binding(3) var<storage, read_write> top_indices: array<f32>;

const WGT: u32 = 256u;
const NONE: f32 = -3.0e38;
const NO_INDEX: u32 = 0xffffffffu;

var<workgroup> pick_v: array<f32, WGT>;
var<workgroup> pick_i: array<u32, WGT>;

// Tested on the bits: compilers may assume values are never NaN.
fn finite_or_none(v: f32) -> f32 {
    return select(v, NONE, (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u);
}

// Whether entry (v, i) ranks above entry (w, j).
fn above(v: f32, i: u32, w: f32, j: u32) -> bool {
    return v > w || (v == w && i < j);
}

@compute @workgroup_size(WGT)
fn topk_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;   // the same in the whole workgroup
    if (row >= p.rows) { return; }
    let base = row * p.cols;
    var last_v = 0.0;
    var last_i = NO_INDEX;
    for (var j = 0u; j < p.k; j++) {
        var best_v = NONE;
        var best_i = NO_INDEX;
        for (var c = lid; c < p.cols; c += WGT) {
            let v = finite_or_none(x[base + c]);
            let unpicked = j == 0u || above(last_v, last_i, v, c);
            if (unpicked && (best_i == NO_INDEX || above(v, c, best_v, best_i))) {
                best_v = v;
                best_i = c;
            }
        }
        pick_v[lid] = best_v;
        pick_i[lid] = best_i;
        workgroupBarrier();
        for (var s = WGT / 2u; s > 0u; s >>= 1u) {
            if (lid < s) {
                let ov = pick_v[lid + s];
                let oi = pick_i[lid + s];
                if (oi != NO_INDEX && (pick_i[lid] == NO_INDEX || above(ov, oi, pick_v[lid], pick_i[lid]))) {
                    pick_v[lid] = ov;
                    pick_i[lid] = oi;
                }
            }
            workgroupBarrier();
        }
        last_v = pick_v[0];
        last_i = pick_i[0];
        if (lid == 0u) {
            top_values[row * p.k + j] = last_v;
            top_indices[row * p.k + j] = f32(last_i);
        }
        workgroupBarrier(); // pick_* is overwritten next round
    }
}
