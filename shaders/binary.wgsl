// binary.wgsl — broadcasting binary ops (add … le) and where_select.
//
// What: out[i] = a[ia(i)] ∘ b[ib(i)] for every element i of the broadcast
// output, one entry point per op; comparisons give 1.0 / 0.0.
// Layout: `out` is contiguous in the broadcast shape (rank ≤ 8, row-major).
// a and b are read through element strides aligned to that shape, with
// stride 0 on broadcast dimensions: ia(i) = Σ_d coord_d(i) · a_stride_d.
// The launcher first merges dimensions that are contiguous in a, b and out
// alike, so the common cases (same shape; bias over rows) have rank 1 or 2
// and the index loop below runs once or twice.
// Tiling: none — one invocation per output element, memory-bound; WG is an
// `override` (default 256). Broadcast reads hit the same addresses across a
// workgroup, which caches serve.

struct Params {
    n: u32,
    rank: u32,
    shape: array<vec4<u32>, 2>,      // 8 dims, outermost first
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

// (ia, ib) for output element i: peel coordinates off from the innermost dim.
fn offsets(i: u32) -> vec2<u32> {
    var rem = i;
    var ia = 0u;
    var ib = 0u;
    for (var k = 0u; k < p.rank; k++) {
        let d = p.rank - 1u - k;
        let size = p.shape[d / 4u][d % 4u];
        let coord = rem % size;
        rem = rem / size;
        ia += coord * p.a_strides[d / 4u][d % 4u];
        ib += coord * p.b_strides[d / 4u][d % 4u];
    }
    return vec2<u32>(ia, ib);
}

fn operands(i: u32) -> vec2<f32> {
    let o = offsets(i);
    return vec2<f32>(a[o.x], b[o.y]);
}

@compute @workgroup_size(WG)
fn binary_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = v.x + v.y; }
}

@compute @workgroup_size(WG)
fn binary_sub(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = v.x - v.y; }
}

@compute @workgroup_size(WG)
fn binary_mul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = v.x * v.y; }
}

@compute @workgroup_size(WG)
fn binary_div(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = v.x / v.y; }
}

@compute @workgroup_size(WG)
fn binary_max(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = max(v.x, v.y); }
}

@compute @workgroup_size(WG)
fn binary_min(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = min(v.x, v.y); }
}

@compute @workgroup_size(WG)
fn binary_eq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = select(0.0, 1.0, v.x == v.y); }
}

@compute @workgroup_size(WG)
fn binary_gt(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = select(0.0, 1.0, v.x > v.y); }
}

@compute @workgroup_size(WG)
fn binary_ge(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = select(0.0, 1.0, v.x >= v.y); }
}

@compute @workgroup_size(WG)
fn binary_lt(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = select(0.0, 1.0, v.x < v.y); }
}

@compute @workgroup_size(WG)
fn binary_le(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { let v = operands(i); out[i] = select(0.0, 1.0, v.x <= v.y); }
}

// ---- where_select: four same-length flat arrays (only p.n is used) ----

@group(0) @binding(1) var<storage, read> cond: array<f32>;
@group(0) @binding(2) var<storage, read> if_true: array<f32>;
@group(0) @binding(3) var<storage, read> if_false: array<f32>;
@group(0) @binding(4) var<storage, read_write> chosen: array<f32>;

// chosen[i] = cond[i] != 0 ? if_true[i] : if_false[i]
@compute @workgroup_size(WG)
fn where_select(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wid, nwg, lid);
    if (i < p.n) { chosen[i] = select(if_false[i], if_true[i], cond[i] != 0.0); }
}
