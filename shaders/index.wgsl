// index.wgsl — index_select and its gradient index_add (embedding gather and scatter-add).
//
// What, with x viewed as [outer, len, inner] and m ids:
//   index_select: out[o, j, i] = x[o, ids[j], i]
//   index_add:    gx[o, ids[j], i] += grad[o, j, i]   for j = 0, 1, …, m-1 in order
// An embedding lookup is index_select with outer = 1, len = vocab, inner = dim.
// Layout: all contiguous; ids are exact integers stored as f32. Ids are
// checked by the caller; out-of-range ids read 0 and add nowhere.
//
// Tiling and the scatter-add without float atomics: WGSL has no atomic f32
// add, and repeated ids (a token appearing twice in a batch) make several j
// write the same row. We link equal ids instead of sorting them:
// * `index_links` (one invocation per j): next[j] = the first k > j with
//   ids[k] == ids[j] (or m), and head[j] = 1 when no k < j has the same id.
//   Every invocation scans the ids, O(m²) comparisons on ids alone (a few
//   million for a batch of a few thousand tokens; the ids stay in cache).
// * `index_add` (one invocation per (o, j, i)): only heads work; a head walks
//   its chain j → next[j] → … adding grad rows in increasing j, so each
//   destination has exactly one writer and the sums come out in the same
//   order as the CPU's sequential loop — bit-for-bit equal, deterministic.
// This costs O(m²) id comparisons but O(m · inner) float work, against
// O(vocab · m · inner) for "one invocation per table element scanning ids".

struct Params {
    outer: u32,
    len: u32,
    inner: u32,
    m: u32,       // number of ids
}

@group(0) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;

fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

// ---- index_select: x, ids -> out ----

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn index_select(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let e = flat_index(wid, nwg, lid);
    if (e >= p.outer * p.m * p.inner) { return; }
    let i = e % p.inner;
    let j = (e / p.inner) % p.m;
    let o = e / (p.inner * p.m);
    let id = u32(ids[j]);
    out[e] = select(0.0, x[(o * p.len + id) * p.inner + i], id < p.len);
}

// ---- index_links: ids -> links (pairs of u32: next, head) ----

@group(0) @binding(1) var<storage, read> link_ids: array<f32>;
@group(0) @binding(2) var<storage, read_write> links: array<u32>;

@compute @workgroup_size(WG)
fn index_links(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let j = flat_index(wid, nwg, lid);
    if (j >= p.m) { return; }
    let id = link_ids[j];
    var head = 1u;
    for (var k = 0u; k < j; k++) {
        if (link_ids[k] == id) { head = 0u; break; }
    }
    var next = p.m;
    for (var k = j + 1u; k < p.m; k++) {
        if (link_ids[k] == id) { next = k; break; }
    }
    links[2u * j] = next;
    links[2u * j + 1u] = head;
}

// ---- index_add: grad, ids, links -> gx (accumulated in place) ----

@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> add_ids: array<f32>;
@group(0) @binding(3) var<storage, read> add_links: array<u32>;
@group(0) @binding(4) var<storage, read_write> gx: array<f32>;

@compute @workgroup_size(WG)
fn index_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let e = flat_index(wid, nwg, lid);
    if (e >= p.outer * p.m * p.inner) { return; }
    let i = e % p.inner;
    let j = (e / p.inner) % p.m;
    let o = e / (p.inner * p.m);
    let id = u32(add_ids[j]);
    if (add_links[2u * j + 1u] == 0u || id >= p.len) { return; }
    let dst = (o * p.len + id) * p.inner + i;
    var acc = gx[dst];
    var k = j;
    loop {
        acc += grad[(o * p.m + k) * p.inner + i];
        k = add_links[2u * k];
        if (k >= p.m) { break; }
    }
    gx[dst] = acc;
}
