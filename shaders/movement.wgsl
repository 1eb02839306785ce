// movement.wgsl — strided_copy: gather a strided view into contiguous memory.
//
// What: dst[i] = src[Σ_d coord_d(i) · stride_d], where coord(i) are the
// row-major coordinates of i in `shape` (rank ≤ 8). This is how transposes,
// permutes, slices and broadcasts become contiguous tensors.
// Layout: dst contiguous in `shape`; src anywhere, through element strides.
// The launcher merges dimensions that are already contiguous, so a plain copy
// has rank 1.
// Tiling: none — one invocation per output element, consecutive invocations
// write consecutive addresses (coalesced writes; reads follow the view).

struct Params {
    n: u32,
    rank: u32,
    shape: array<vec4<u32>, 2>,
    strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn strided_copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if (i >= p.n) { return; }
    var rem = i;
    var offset = 0u;
    for (var k = 0u; k < p.rank; k++) {
        let d = p.rank - 1u - k;
        let size = p.shape[d / 4u][d % 4u];
        offset += (rem % size) * p.strides[d / 4u][d % 4u];
        rem = rem / size;
    }
    dst[i] = src[offset];
}
