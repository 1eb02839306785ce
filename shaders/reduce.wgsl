// reduce.wgsl — reductions along the middle axis of x viewed as [outer, len, inner].
//
// What: out[o, i] = R_l x[o, l, i] for R in {sum, mean, max, min} (op code
// 0..3 in the parameters), argmax (first maximum wins, index as f32), and the
// whole-array sums behind sum_all / sum_squares.
// Layout: x contiguous [outer, len, inner]; out contiguous [outer, inner].
// Tiling, two shapes of the same reduction:
// * `*_lanes`: one invocation per output, looping over len. Neighbouring
//   invocations read neighbouring `i`, so when inner > 1 the reads coalesce;
//   it is also right for short rows, where a workgroup per row would idle.
// * `*_rows` (inner == 1, long rows): one workgroup per output row. Each of the
//   RW invocations folds a strided slice of the row, then a tree reduction in
//   workgroup memory combines the RW partial results in log2(RW) steps.
// * `reduce_lanes_split` + `reduce_lanes_finish` (few outputs, long runs, as
//   a bias gradient: a sum down thousands of rows into a few hundred
//   columns): `*_lanes` would give the GPU a handful of workgroups, each
//   walking every row. Split instead: workgroup (g, q) folds chunk q of the
//   run for its lanes into partial[q, o]; the finish pass folds the partials
//   of each output in chunk order (so the result is deterministic).
// * `sum_chunks`: each workgroup sums one CHUNK-long slice into a partial
//   result; the launcher repeats it on the partials until one value is left
//   (two passes for up to CHUNK² elements). The tree order is also more
//   accurate than one long running sum. The last pass writes at out[outer],
//   so the squared norms of many parameters can land in one buffer.

struct Params {
    outer: u32,
    len: u32,
    inner: u32,
    op: u32,     // 0 sum, 1 mean, 2 max, 3 min; for sum_chunks: 1 = square first
    chunk: u32,  // reduce_lanes_split: entries of `len` each workgroup folds
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;   // invocations per workgroup for *_lanes
override RW: u32 = 64u;    // invocations per workgroup for *_rows, a power of two
override CHUNK: u32 = 4096u; // elements per workgroup in sum_chunks

// Where to start a reduction that `at` (an element of the reduced run)
// belongs to: 0 for sums; for max and min the element itself, which leaves
// the result unchanged whatever else is combined with it. So no ±∞ is
// needed (WGSL promises nothing about infinities), and a run of -∞ still
// reduces to -∞. Max and min are never asked of an empty run.
fn start_value(op: u32, at: u32) -> f32 {
    if (op >= 2u) { return x[at]; }
    return 0.0;
}

fn combine(op: u32, acc: f32, v: f32) -> f32 {
    switch op {
        case 2u: { return max(acc, v); }
        case 3u: { return min(acc, v); }
        default: { return acc + v; }
    }
}

fn finish(op: u32, acc: f32) -> f32 {
    return select(acc, acc / f32(p.len), op == 1u);
}

// ---- one invocation per output ----

@compute @workgroup_size(WG)
fn reduce_lanes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let o = (wid.x + wid.y * nwg.x) * WG + lid;
    if (o >= p.outer * p.inner) { return; }
    let base = (o / p.inner) * p.len * p.inner + o % p.inner;
    var acc = start_value(p.op, base);
    for (var l = 0u; l < p.len; l++) {
        acc = combine(p.op, acc, x[base + l * p.inner]);
    }
    out[o] = finish(p.op, acc);
}

// Pass 1 of the split reduction: `out` holds [chunks, outer * inner]
// partial results, unfinished (a mean's partial is a sum).
@compute @workgroup_size(WG)
fn reduce_lanes_split(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let lanes = p.outer * p.inner;
    let lane_groups = (lanes + WG - 1u) / WG;
    let g = wid.x + wid.y * nwg.x;
    let q = g / lane_groups;
    let o = (g % lane_groups) * WG + lid;
    let start = q * p.chunk;
    if (o >= lanes || start >= p.len) { return; }
    let end = min(start + p.chunk, p.len);
    let base = (o / p.inner) * p.len * p.inner + o % p.inner;
    var acc = start_value(p.op, base + start * p.inner);
    for (var l = start; l < end; l++) {
        acc = combine(p.op, acc, x[base + l * p.inner]);
    }
    out[q * lanes + o] = acc;
}

// Pass 2: here `x` is pass 1's [chunks, outer * inner] partials and `len`
// the original run length (a mean divides by it).
@compute @workgroup_size(WG)
fn reduce_lanes_finish(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let lanes = p.outer * p.inner;
    let o = (wid.x + wid.y * nwg.x) * WG + lid;
    if (o >= lanes) { return; }
    let chunks = (p.len + p.chunk - 1u) / p.chunk;
    var acc = x[o];
    for (var q = 1u; q < chunks; q++) {
        acc = combine(p.op, acc, x[q * lanes + o]);
    }
    out[o] = finish(p.op, acc);
}

@compute @workgroup_size(WG)
fn argmax_lanes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let o = (wid.x + wid.y * nwg.x) * WG + lid;
    if (o >= p.outer * p.inner) { return; }
    let base = (o / p.inner) * p.len * p.inner + o % p.inner;
    var best = x[base];
    var best_at = 0u;
    for (var l = 1u; l < p.len; l++) {
        let v = x[base + l * p.inner];
        if (v > best) { best = v; best_at = l; } // strict: the first maximum wins
    }
    out[o] = f32(best_at);
}

// ---- one workgroup per row (inner == 1) ----

var<workgroup> partial: array<f32, RW>;
var<workgroup> partial_at: array<u32, RW>;

@compute @workgroup_size(RW)
fn reduce_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.outer) { return; } // uniform: the whole workgroup leaves
    var acc = start_value(p.op, row * p.len);
    for (var l = lid; l < p.len; l += RW) {
        acc = combine(p.op, acc, x[row * p.len + l]);
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var half = RW / 2u; half > 0u; half /= 2u) {
        if (lid < half) { partial[lid] = combine(p.op, partial[lid], partial[lid + half]); }
        workgroupBarrier();
    }
    if (lid == 0u) { out[row] = finish(p.op, partial[0]); }
}

@compute @workgroup_size(RW)
fn argmax_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.outer) { return; }
    var best = 0.0;            // unread while best_at says "none yet"
    var best_at = 0xffffffffu; // "none yet": loses every tie below
    for (var l = lid; l < p.len; l += RW) {
        let v = x[row * p.len + l];
        if (v > best || best_at == 0xffffffffu) { best = v; best_at = l; }
    }
    partial[lid] = best;
    partial_at[lid] = best_at;
    workgroupBarrier();
    for (var half = RW / 2u; half > 0u; half /= 2u) {
        if (lid < half) {
            let v = partial[lid + half];
            let at = partial_at[lid + half];
            // Larger value wins; on a tie the smaller index (the first maximum).
            let better = at != 0xffffffffu && (partial_at[lid] == 0xffffffffu || v > partial[lid] || (v == partial[lid] && at < partial_at[lid]));
            if (better) { partial[lid] = v; partial_at[lid] = at; }
        }
        workgroupBarrier();
    }
    if (lid == 0u) { out[row] = f32(select(partial_at[0], 0u, partial_at[0] == 0xffffffffu)); }
}

// ---- whole-array sums: x has `len` elements; workgroup g sums its chunk ----

@compute @workgroup_size(RW)
fn sum_chunks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + wid.y * nwg.x;
    let start = g * CHUNK;
    if (g > 0u && start >= p.len) { return; } // group 0 always writes (0 for empty x)
    let end = min(start + CHUNK, p.len);
    var acc = 0.0;
    for (var i = start + lid; i < end; i += RW) {
        let v = x[i];
        acc += select(v, v * v, p.op == 1u);
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var half = RW / 2u; half > 0u; half /= 2u) {
        if (lid < half) { partial[lid] += partial[lid + half]; }
        workgroupBarrier();
    }
    if (lid == 0u) { out[p.outer + g] = partial[0]; } // outer: where the result goes
}
