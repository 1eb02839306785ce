// movement.wgsl — copy_view and add_view: copy (or add) one strided view into another.
//
// What: for every coordinate c of `shape` (rank ≤ 8),
//   dst[dst_offset + Σ_d c_d · dst_stride_d] = src[src_offset + Σ_d c_d · src_stride_d].
// With a contiguous destination this gathers a view into a new tensor — how
// transposes, permutes, slices (src_offset) and broadcasts (stride 0) become
// contiguous. With a strided destination it writes a block into a larger
// tensor: concatenation places each part at its column offset in every row.
// Elements of dst outside the view are left untouched.
// `add_view` is the same walk with dst[...] += src[...]: narrow's backward
// adds a gradient block into a larger one in a single pass. Its destination
// view must not repeat an element (no stride 0), or two invocations race.
// Layout: both sides through element strides; the launcher first merges
// dimensions that are contiguous on both sides, so a plain copy has rank 1.
// Tiling: none — one invocation per element, consecutive invocations take
// consecutive coordinates (coalesced on whichever side is contiguous).

struct Params {
    n: u32,
    rank: u32,
    src_offset: u32,
    dst_offset: u32,
    shape: array<vec4<u32>, 2>,
    src_strides: array<vec4<u32>, 2>,
    dst_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

override WG: u32 = 256u;

// The (src, dst) element offsets of the i-th coordinate of the view.
fn view_offsets(i: u32) -> vec2<u32> {
    var rem = i;
    var at_src = p.src_offset;
    var at_dst = p.dst_offset;
    for (var k = 0u; k < p.rank; k++) {
        let d = p.rank - 1u - k;
        let size = p.shape[d / 4u][d % 4u];
        let c = rem % size;
        at_src += c * p.src_strides[d / 4u][d % 4u];
        at_dst += c * p.dst_strides[d / 4u][d % 4u];
        rem = rem / size;
    }
    return vec2<u32>(at_src, at_dst);
}

@compute @workgroup_size(WG)
fn copy_view(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if (i >= p.n) { return; }
    let at = view_offsets(i);
    dst[at.y] = src[at.x];
}

@compute @workgroup_size(WG)
fn add_view(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if (i >= p.n) { return; }
    let at = view_offsets(i);
    dst[at.y] += src[at.x];
}

// ---- pad_block: src [outer, len, inner] -> dst [outer, full, inner] ----
// dst is src placed at `start` along the middle axis and zero elsewhere, in
// one pass: the first gradient of a narrowed tensor, with no zero fill
// before it. One invocation per element of dst.

struct BlockParams {
    n: u32,      // outer · full · inner
    full: u32,
    inner: u32,
    start: u32,
    len: u32,
}

@group(0) @binding(0) var<uniform> bp: BlockParams;

@compute @workgroup_size(WG)
fn pad_block(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if (i >= bp.n) { return; }
    let j = i % bp.inner;
    let f = (i / bp.inner) % bp.full;
    let o = i / (bp.inner * bp.full);
    var v = 0.0;
    if (f >= bp.start && f < bp.start + bp.len) {
        v = src[(o * bp.len + f - bp.start) * bp.inner + j];
    }
    dst[i] = v;
}
