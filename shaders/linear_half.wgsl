// linear_half.wgsl — y = x Wᵀ + b with the weights W stored as 16-bit floats.
//
// What: for x (m × k, f32) and W (n × k, binary16, as torch.nn.Linear's
// weight [out, in]), y[i, j] = Σ_q x[i, q] · W[j, q] (+ bias[j]), summed in
// f32. Half-precision storage halves the bytes a weight-bound product reads
// (decoding one sentence at a time reads every weight per token and does
// little arithmetic with each), and f32 accumulation keeps the sum as
// accurate as the f32 kernel's but for the weights' own rounding (a relative
// 2⁻¹¹ per weight).
// Layout: x, y, bias row-major f32; W row-major halves, two per 32-bit word,
// element e in the low 16 bits of word e / 2 when e is even (little-endian,
// the byte layout of array<f16>). `to_half` writes that layout from f32.
// Reading W comes in two versions, appended to this file: `half_packed.wgsl`
// unpacks 32-bit words with unpack2x16float (core WGSL, every adapter);
// `half_native.wgsl` declares W as array<f16> (the `shader-f16` feature,
// `enable f16;` prepended) and converts each half with f32().
// Tiling: a TILE × TILE workgroup computes a TILE × TILE block of y,
// staging TILE × TILE tiles of x and of W (converted to f32 on load) in
// workgroup memory; both tiles are read along k, the contiguous direction of
// both operands, so neighbouring invocations load neighbouring elements.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,   // bit 0: bias given
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// binding 2: the weights, declared by the appended reader with `fn w_at`.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

override TILE: u32 = 16u;

var<workgroup> tile_x: array<f32, TILE * TILE>;   // tile_x[r * TILE + q] = x[row0 + r, k0 + q]
var<workgroup> tile_w: array<f32, TILE * TILE>;   // tile_w[s * TILE + q] = W[col0 + s, k0 + q]

@compute @workgroup_size(TILE, TILE)
fn linear_half(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    var acc = 0.0;
    for (var k0 = 0u; k0 < p.k; k0 += TILE) {
        let q = k0 + lid.x;
        let xr = row0 + lid.y;
        let wr = col0 + lid.y;
        var xv = 0.0;
        if (xr < p.m && q < p.k) { xv = x[xr * p.k + q]; }
        tile_x[lid.y * TILE + lid.x] = xv;
        var wv = 0.0;
        if (wr < p.n && q < p.k) { wv = w_at(wr * p.k + q); }
        tile_w[lid.y * TILE + lid.x] = wv;
        workgroupBarrier();
        for (var t = 0u; t < TILE; t++) {
            acc += tile_x[lid.y * TILE + t] * tile_w[lid.x * TILE + t];
        }
        workgroupBarrier();
    }
    let row = row0 + lid.y;
    let col = col0 + lid.x;
    if (row < p.m && col < p.n) {
        if ((p.flags & 1u) != 0u) { acc += bias[col]; }
        y[row * p.n + col] = acc;
    }
}

// ---- f32 -> packed halves: halves[e / 2] holds elements e and e + 1 ----

@group(0) @binding(2) var<storage, read_write> halves: array<u32>;

@compute @workgroup_size(256)
fn to_half(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let count = p.m;   // to_half takes the number of floats in `m`
    if (2u * i >= count) { return; }
    var hi = 0.0;
    if (2u * i + 1u < count) { hi = x[2u * i + 1u]; }
    halves[i] = pack2x16float(vec2<f32>(x[2u * i], hi));
}
