// softmax.wgsl — softmax and log-softmax along rows, forward and backward.
//
// What (x is rows × cols, along the last axis):
//   softmax:      y_j = exp(x_j - m) / Σ_k exp(x_k - m),   m = max_k x_k
//   log_softmax:  y_j = x_j - m - log Σ_k exp(x_k - m)
//   backward:     gx_j = y_j (gy_j - Σ_k gy_k y_k)          (softmax)
//                 gx_j = gy_j - exp(y_j) Σ_k gy_k           (log-softmax)
// Subtracting the row maximum keeps exp from overflowing.
// Layout: contiguous rows of `cols` floats.
// Tiling: one workgroup per row. The RW invocations stride through the row
// (invocation t reads t, t+RW, …: neighbours read neighbours), keep a private
// partial max or sum, and combine the partials with `wg_max` / `wg_sum`: a
// tree in workgroup memory (reduce_tree.wgsl, log2 RW barriers) or, where the
// adapter has them, subgroup operations (reduce_subgroup.wgsl, two); one of
// the two files is appended to this one. The row is read from
// global memory twice (max, then exp-sum) and once more to write: rows are
// short enough to stay in cache, so recomputing beats storing exp(x - m).
// A row whose entries are all -inf (fully masked) gives NaN, as on the CPU
// and in torch.

struct Params {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override RW: u32 = 64u;   // invocations per row, a power of two

// Row max and Σ exp(x - max), shared by both forward kernels.
fn row_stats(row: u32, lane: Lane) -> vec2<f32> {
    let lid = lane.lid;
    let base = row * p.cols;
    // Started from the row's first entry, not -∞ (WGSL has no infinities to
    // rely on): the max is the same.
    var m = x[base];
    for (var j = lid; j < p.cols; j += RW) { m = max(m, x[base + j]); }
    m = wg_max(lane, m);
    var s = 0.0;
    for (var j = lid; j < p.cols; j += RW) { s += exp(x[base + j] - m); }
    s = wg_sum(lane, s);
    return vec2<f32>(m, s);
}

@compute @workgroup_size(RW)
fn softmax_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lane: Lane) {
    let lid = lane.lid;
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) { return; } // uniform: the whole workgroup leaves
    let stats = row_stats(row, lane);
    let inv = 1.0 / stats.y;
    let base = row * p.cols;
    for (var j = lid; j < p.cols; j += RW) { y[base + j] = exp(x[base + j] - stats.x) * inv; }
}

@compute @workgroup_size(RW)
fn log_softmax_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lane: Lane) {
    let lid = lane.lid;
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) { return; }
    let stats = row_stats(row, lane);
    let shift = stats.x + log(stats.y);
    let base = row * p.cols;
    for (var j = lid; j < p.cols; j += RW) { y[base + j] = x[base + j] - shift; }
}

// ---- backward: inputs y (the forward output) and gy, output gx ----

@group(0) @binding(1) var<storage, read> fy: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;

@compute @workgroup_size(RW)
fn softmax_backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lane: Lane) {
    let lid = lane.lid;
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) { return; }
    let base = row * p.cols;
    var dot = 0.0;
    for (var j = lid; j < p.cols; j += RW) { dot += gy[base + j] * fy[base + j]; }
    dot = wg_sum(lane, dot);
    for (var j = lid; j < p.cols; j += RW) { gx[base + j] = fy[base + j] * (gy[base + j] - dot); }
}

@compute @workgroup_size(RW)
fn log_softmax_backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lane: Lane) {
    let lid = lane.lid;
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) { return; }
    let base = row * p.cols;
    var total = 0.0;
    for (var j = lid; j < p.cols; j += RW) { total += gy[base + j]; }
    total = wg_sum(lane, total);
    for (var j = lid; j < p.cols; j += RW) { gx[base + j] = gy[base + j] - exp(fy[base + j]) * total; }
}
