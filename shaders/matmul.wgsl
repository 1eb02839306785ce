// matmul.wgsl — batched GEMM, C = alpha · op(A) · op(B) + beta · C, as a ladder of versions.
//
// What: for each batch z, C_z (m × n) = alpha · op(A_z) (m × k) · op(B_z) (k × n)
// + beta · C_z, where op transposes when trans_a / trans_b is set. With
// beta = 0, C is not read (it may hold garbage), as in BLAS. With has_bias,
// every rung adds bias[col] in its store (the epilogue), so Linear's
// x Wᵀ + b is one dispatch.
// Layout: row-major with row strides lda, ldb, ldc; A is stored k × m when
// trans_a (so attention's Q·Kᵀ never materialises Kᵀ); matrix z of A starts at
// z · stride_a (stride 0 broadcasts one matrix to every batch). The batch is
// the z workgroup index. With heads > 1 the batch is two-level, z = seq ·
// heads + head, and matrix z of A starts at seq · stride_a + head · head_a:
// attention's per-head products read each head where the projections left it
// (a column block of [B, T, H·d]) and write it where the next op wants it,
// with no gather or scatter around the GEMM.
//
// The ladder, kept side by side so that each step's gain can be measured:
// 1. `matmul_naive` — one invocation per C element, a dot product of length
//    k straight from global memory. Every A and B value is fetched by m or n
//    invocations: memory traffic 2·m·n·k floats.
// 2. `matmul_tiled` — a TILE × TILE workgroup stages TILE × TILE tiles of A
//    and B in workgroup (shared) memory, then each invocation does TILE
//    multiply-adds from there. Global traffic drops by a factor TILE. The big
//    win on real GPUs; on a CPU emulation (lavapipe) the CPU caches already
//    did most of that and the two barriers per tile are expensive, so it
//    gains little there (docs/kernels/matmul-gpu.md has the measured ladder).
// 3. `matmul_blocked` — register blocking: each invocation computes an 8 × 8
//    block of C as four 4 × 4 matrices, so every loaded value of A is used
//    8 times and of B 8 times from registers. The 4 × 4 × 4 step is a
//    `mat4x4 * mat4x4`, which drivers map to fused multiply-adds.
// 4. `matmul_blocked_vec4` — the same, but A and B are read as vec4<f32>
//    (four floats per load along the contiguous direction of each stored
//    matrix). Needs that direction's size, its leading dimension and the
//    batch stride to be multiples of 4; the launcher checks and otherwise
//    uses version 3.
// 5. `matmul_tiled_blocked` — rungs 2 and 3 together, for real GPUs: a
//    64 × 64 block of C per 16 × 16 workgroup, operand tiles staged in
//    workgroup memory with loads coalesced in either layout, and a 4 × 4
//    block of C per invocation accumulated from registers.
// Tile and block shapes are `override` constants (TILE, BX, BY); rung 5's
// are constants (RB, RK), since its load mapping is written for them.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    trans_a: u32,
    trans_b: u32,
    lda: u32,
    ldb: u32,
    ldc: u32,
    stride_a: u32,
    stride_b: u32,
    stride_c: u32,
    alpha: f32,
    beta: f32,
    has_bias: u32,
    heads: u32,   // 1 for a plain batch
    head_a: u32,
    head_b: u32,
    head_c: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;  // [n]; a dummy when !has_bias
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

override TILE: u32 = 16u;  // matmul_tiled: workgroup is TILE × TILE, tiles are TILE × TILE
override BX: u32 = 8u;     // matmul_blocked*: workgroup is BX × BY invocations,
override BY: u32 = 8u;     //   each computing 8 × 8 outputs

// Where matrix z of an operand starts (see the header for the two-level batch).
fn start(z: u32, stride: u32, head: u32) -> u32 {
    return (z / p.heads) * stride + (z % p.heads) * head;
}

// op(A)[row, kk] and op(B)[kk, col] of the matrix starting at `base`.
fn load_a(base: u32, row: u32, kk: u32) -> f32 {
    if (p.trans_a != 0u) { return a[base + kk * p.lda + row]; }
    return a[base + row * p.lda + kk];
}

fn load_b(base: u32, kk: u32, col: u32) -> f32 {
    if (p.trans_b != 0u) { return b[base + col * p.ldb + kk]; }
    return b[base + kk * p.ldb + col];
}

fn store_c(base: u32, row: u32, col: u32, acc: f32) {
    let i = base + row * p.ldc + col;
    var out = p.alpha * acc;
    if (p.has_bias != 0u) { out += bias[col]; }
    if (p.beta != 0.0) { out += p.beta * c[i]; }
    c[i] = out;
}

// ---- 1. naive ----

@compute @workgroup_size(16, 16)
fn matmul_naive(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.y;
    let col = gid.x;
    let z = gid.z;
    if (row >= p.m || col >= p.n) { return; }
    let base_a = start(z, p.stride_a, p.head_a);
    let base_b = start(z, p.stride_b, p.head_b);
    var acc = 0.0;
    for (var kk = 0u; kk < p.k; kk++) {
        acc = fma(load_a(base_a, row, kk), load_b(base_b, kk, col), acc);
    }
    store_c(start(z, p.stride_c, p.head_c), row, col, acc);
}

// ---- 2. shared-memory tiles ----

var<workgroup> tile_a: array<f32, TILE * TILE>;   // tile_a[r * TILE + q] = op(A)[row0 + r, k0 + q]
var<workgroup> tile_b: array<f32, TILE * TILE>;   // tile_b[q * TILE + s] = op(B)[k0 + q, col0 + s]

@compute @workgroup_size(TILE, TILE)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = wid.y * TILE + lid.y;
    let col = wid.x * TILE + lid.x;
    let z = wid.z;
    let base_a = start(z, p.stride_a, p.head_a);
    let base_b = start(z, p.stride_b, p.head_b);
    var acc = 0.0;
    for (var k0 = 0u; k0 < p.k; k0 += TILE) {
        // Each invocation stages one value of each tile (zero past the edges,
        // so the inner loop needs no bounds checks).
        let ka = k0 + lid.x;
        var va = 0.0;
        if (row < p.m && ka < p.k) { va = load_a(base_a, row, ka); }
        tile_a[lid.y * TILE + lid.x] = va;
        let kb = k0 + lid.y;
        var vb = 0.0;
        if (kb < p.k && col < p.n) { vb = load_b(base_b, kb, col); }
        tile_b[lid.y * TILE + lid.x] = vb;
        workgroupBarrier();
        for (var q = 0u; q < TILE; q++) {
            acc = fma(tile_a[lid.y * TILE + q], tile_b[q * TILE + lid.x], acc);
        }
        workgroupBarrier(); // the tiles are overwritten next round
    }
    if (row < p.m && col < p.n) { store_c(start(z, p.stride_c, p.head_c), row, col, acc); }
}

// ---- 3. register-blocked, scalar loads ----
//
// A 4 × 4 block of op(A) at (r, kk) is a mat4x4 whose column q is
// op(A)[r..r+4, kk+q]; a block of op(B) at (kk, c) has column j =
// op(B)[kk..kk+4, c+j]. Then (Ablk * Bblk) column j = Σ_q op(A)[r.., kk+q] ·
// op(B)[kk+q, c+j]: exactly the 4 × 4 block of the product.

fn a_at(base: u32, row: u32, kk: u32) -> f32 {
    if (row >= p.m || kk >= p.k) { return 0.0; }
    return load_a(base, row, kk);
}

fn b_at(base: u32, kk: u32, col: u32) -> f32 {
    if (kk >= p.k || col >= p.n) { return 0.0; }
    return load_b(base, kk, col);
}

fn a_block(base: u32, r: u32, kk: u32) -> mat4x4<f32> {
    var blk: mat4x4<f32>;
    for (var q = 0u; q < 4u; q++) {
        blk[q] = vec4<f32>(a_at(base, r, kk + q), a_at(base, r + 1u, kk + q), a_at(base, r + 2u, kk + q), a_at(base, r + 3u, kk + q));
    }
    return blk;
}

fn b_block(base: u32, kk: u32, col: u32) -> mat4x4<f32> {
    var blk: mat4x4<f32>;
    for (var j = 0u; j < 4u; j++) {
        blk[j] = vec4<f32>(b_at(base, kk, col + j), b_at(base, kk + 1u, col + j), b_at(base, kk + 2u, col + j), b_at(base, kk + 3u, col + j));
    }
    return blk;
}

// Writes the 4 × 4 block `blk` (column j = C[r.., c+j]) with bounds checks.
fn store_block(base: u32, r: u32, col: u32, blk: mat4x4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        for (var i = 0u; i < 4u; i++) {
            if (r + i < p.m && col + j < p.n) { store_c(base, r + i, col + j, blk[j][i]); }
        }
    }
}

@compute @workgroup_size(BX, BY)
fn matmul_blocked(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r0 = (wid.y * BY + lid.y) * 8u;
    let c0 = (wid.x * BX + lid.x) * 8u;
    let z = wid.z;
    if (r0 >= p.m || c0 >= p.n) { return; }
    let base_a = start(z, p.stride_a, p.head_a);
    let base_b = start(z, p.stride_b, p.head_b);
    var acc00 = mat4x4<f32>();
    var acc01 = mat4x4<f32>();
    var acc10 = mat4x4<f32>();
    var acc11 = mat4x4<f32>();
    for (var kk = 0u; kk < p.k; kk += 4u) {
        let a0 = a_block(base_a, r0, kk);
        let a1 = a_block(base_a, r0 + 4u, kk);
        let b0 = b_block(base_b, kk, c0);
        let b1 = b_block(base_b, kk, c0 + 4u);
        acc00 += a0 * b0;
        acc01 += a0 * b1;
        acc10 += a1 * b0;
        acc11 += a1 * b1;
    }
    let base_c = start(z, p.stride_c, p.head_c);
    store_block(base_c, r0, c0, acc00);
    store_block(base_c, r0, c0 + 4u, acc01);
    store_block(base_c, r0 + 4u, c0, acc10);
    store_block(base_c, r0 + 4u, c0 + 4u, acc11);
}

// ---- 4. register-blocked, vec4 loads ----
//
// The same buffers seen as vec4: element e of `a` is lane e % 4 of a4[e / 4].
// Untransposed A is contiguous along k, so one load gives op(A)[row,
// kk..kk+4] — a *row* of the block, hence the transpose; transposed A is
// contiguous along m and one load gives a column directly. Likewise for B.

@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;

fn a_block4(base: u32, r: u32, kk: u32) -> mat4x4<f32> {
    var blk: mat4x4<f32>;
    if (p.trans_a != 0u) {
        // Stored k × m; m % 4 == 0, so r..r+4 is wholly in or out of range.
        if (r < p.m) {
            for (var q = 0u; q < 4u; q++) {
                if (kk + q < p.k) { blk[q] = a4[(base + (kk + q) * p.lda + r) / 4u]; }
            }
        }
        return blk;
    }
    // Stored m × k; k % 4 == 0, so kk..kk+4 is in range.
    for (var i = 0u; i < 4u; i++) {
        if (r + i < p.m) { blk[i] = a4[(base + (r + i) * p.lda + kk) / 4u]; }
    }
    return transpose(blk);
}

fn b_block4(base: u32, kk: u32, col: u32) -> mat4x4<f32> {
    var blk: mat4x4<f32>;
    if (p.trans_b != 0u) {
        // Stored n × k; k % 4 == 0: column j is one load along k.
        for (var j = 0u; j < 4u; j++) {
            if (col + j < p.n) { blk[j] = b4[(base + (col + j) * p.ldb + kk) / 4u]; }
        }
        return blk;
    }
    // Stored k × n; n % 4 == 0: row q is one load along n.
    if (col < p.n) {
        for (var q = 0u; q < 4u; q++) {
            if (kk + q < p.k) { blk[q] = b4[(base + (kk + q) * p.ldb + col) / 4u]; }
        }
    }
    return transpose(blk);
}

@compute @workgroup_size(BX, BY)
fn matmul_blocked_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r0 = (wid.y * BY + lid.y) * 8u;
    let c0 = (wid.x * BX + lid.x) * 8u;
    let z = wid.z;
    if (r0 >= p.m || c0 >= p.n) { return; }
    let base_a = start(z, p.stride_a, p.head_a);
    let base_b = start(z, p.stride_b, p.head_b);
    var acc00 = mat4x4<f32>();
    var acc01 = mat4x4<f32>();
    var acc10 = mat4x4<f32>();
    var acc11 = mat4x4<f32>();
    for (var kk = 0u; kk < p.k; kk += 4u) {
        let a0 = a_block4(base_a, r0, kk);
        let a1 = a_block4(base_a, r0 + 4u, kk);
        let b0 = b_block4(base_b, kk, c0);
        let b1 = b_block4(base_b, kk, c0 + 4u);
        acc00 += a0 * b0;
        acc01 += a0 * b1;
        acc10 += a1 * b0;
        acc11 += a1 * b1;
    }
    let base_c = start(z, p.stride_c, p.head_c);
    store_block(base_c, r0, c0, acc00);
    store_block(base_c, r0, c0 + 4u, acc01);
    store_block(base_c, r0 + 4u, c0, acc10);
    store_block(base_c, r0 + 4u, c0 + 4u, acc11);
}

// ---- 5. shared-memory tiles + register blocking, for real GPUs ----
//
// A 16 × 16 workgroup owns a 64 × 64 block of C; each invocation computes
// a 4 × 4 sub-block from registers. Per K-step of 16 the workgroup stages a
// 64 × 16 tile of op(A) and a 16 × 64 tile of op(B) in workgroup memory
// (8.1 KiB, half of WebGPU's default 16 KiB), each invocation loading four
// values of each. The loads follow the *stored* layout: consecutive
// invocations read consecutive addresses whether or not the operand is
// transposed (coalesced: one memory transaction serves many invocations).
// The inner loop then reads 4 values of A and 4 of B from workgroup memory
// for 16 multiply-adds, against 2 reads per multiply-add in rung 2.

const RB: u32 = 64u;   // the workgroup's block of C is RB × RB
const RK: u32 = 16u;   // K-step
// Tile rows are RB + 1 long: when the loads walk down a tile's columns, the
// odd stride spreads consecutive invocations over distinct memory banks.
const RS: u32 = RB + 1u;

var<workgroup> rb_a: array<f32, RK * RS>;   // rb_a[q * RS + r] = op(A)[row0 + r, k0 + q]
var<workgroup> rb_b: array<f32, RK * RS>;   // rb_b[q * RS + s] = op(B)[k0 + q, col0 + s]

@compute @workgroup_size(16, 16)
fn matmul_tiled_blocked(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wid.y * RB;
    let col0 = wid.x * RB;
    let z = wid.z;
    let base_a = start(z, p.stride_a, p.head_a);
    let base_b = start(z, p.stride_b, p.head_b);
    let flat = lid.y * 16u + lid.x;   // 0..256
    var acc = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    for (var k0 = 0u; k0 < p.k; k0 += RK) {
        for (var i = 0u; i < 4u; i++) {
            let e = flat + i * 256u;   // 0..1024: one element of each tile
            // A: stored m × k reads along k (16 wide), stored k × m along m (64 wide).
            var r = e / RK;
            var q = e % RK;
            if (p.trans_a != 0u) { r = e % RB; q = e / RB; }
            var va = 0.0;
            if (row0 + r < p.m && k0 + q < p.k) { va = load_a(base_a, row0 + r, k0 + q); }
            rb_a[q * RS + r] = va;
            // B: stored k × n reads along n (64 wide), stored n × k along k (16 wide).
            var s = e % RB;
            var qb = e / RB;
            if (p.trans_b != 0u) { s = e / RK; qb = e % RK; }
            var vb = 0.0;
            if (k0 + qb < p.k && col0 + s < p.n) { vb = load_b(base_b, k0 + qb, col0 + s); }
            rb_b[qb * RS + s] = vb;
        }
        workgroupBarrier();
        for (var q = 0u; q < RK; q++) {
            let ar = q * RS + lid.y * 4u;
            let bc = q * RS + lid.x * 4u;
            let a = vec4<f32>(rb_a[ar], rb_a[ar + 1u], rb_a[ar + 2u], rb_a[ar + 3u]);
            let b = vec4<f32>(rb_b[bc], rb_b[bc + 1u], rb_b[bc + 2u], rb_b[bc + 3u]);
            acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
            acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
            acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
            acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
        }
        workgroupBarrier(); // the tiles are overwritten next round
    }
    let base_c = start(z, p.stride_c, p.head_c);
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + lid.y * 4u + i;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x * 4u + j;
            if (row < p.m && col < p.n) { store_c(base_c, row, col, acc[i][j]); }
        }
    }
}
