// layer_norm.wgsl — layer normalisation over the last axis, forward and backward.
//
// What (per row of `cols` values, as torch.nn.LayerNorm):
//   mean = Σ x / cols,  var = Σ (x - mean)² / cols (biased),  rstd = 1/√(var + eps)
//   y = (x - mean) · rstd · gamma + beta       (gamma = 1, beta = 0 when absent)
// Backward, with xhat = (x - mean) · rstd and g = gy · gamma:
//   gx = rstd · (g - mean(g) - xhat · mean(g · xhat))
//   ggamma_c = Σ_rows gy · xhat,   gbeta_c = Σ_rows gy
// Layout: x, y, gy, gx are contiguous rows × cols; gamma, beta, ggamma, gbeta
// hold cols; mean and rstd hold one value per row (saved for the backward).
// Tiling: the per-row kernels run one workgroup per row with the workgroup
// reductions of softmax.wgsl (tree or subgroup, appended), two passes for
// the variance so that a large mean does not cancel it away. The parameter gradients are sums down the
// columns: one invocation per column walking the rows, which reads a full
// row of neighbours per step (coalesced) and needs no atomics.

struct Params {
    rows: u32,
    cols: u32,
    eps: f32,
    flags: u32,   // bit 0: gamma given, bit 1: beta given
    chunk: u32,   // layer_norm_params_split: rows each workgroup folds
}

@group(0) @binding(0) var<uniform> p: Params;

override RW: u32 = 64u;   // invocations per row, a power of two
override WG: u32 = 256u;  // invocations per workgroup, column kernel

// ---- forward: x, gamma, beta -> y, mean, rstd ----

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd_out: array<f32>;

@compute @workgroup_size(RW)
fn layer_norm_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lane: Lane) {
    let lid = lane.lid;
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) { return; } // uniform: the whole workgroup leaves
    let base = row * p.cols;
    let n = f32(max(p.cols, 1u));
    var s = 0.0;
    for (var j = lid; j < p.cols; j += RW) { s += x[base + j]; }
    let mean = wg_sum(lane, s) / n;
    var sq = 0.0;
    for (var j = lid; j < p.cols; j += RW) { let d = x[base + j] - mean; sq += d * d; }
    let rstd = 1.0 / sqrt(wg_sum(lane, sq) / n + p.eps);
    let has_gamma = (p.flags & 1u) != 0u;
    let has_beta = (p.flags & 2u) != 0u;
    for (var j = lid; j < p.cols; j += RW) {
        var v = (x[base + j] - mean) * rstd;
        if (has_gamma) { v *= gamma[j]; }
        if (has_beta) { v += beta[j]; }
        y[base + j] = v;
    }
    if (lid == 0u) { mean_out[row] = mean; rstd_out[row] = rstd; }
}

// ---- backward, input gradient: x, gamma, mean, rstd, gy -> gx ----

@group(0) @binding(3) var<storage, read> mean_in: array<f32>;
@group(0) @binding(4) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(5) var<storage, read> gy: array<f32>;
@group(0) @binding(6) var<storage, read_write> gx: array<f32>;

@compute @workgroup_size(RW)
fn layer_norm_backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lane: Lane) {
    let lid = lane.lid;
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) { return; }
    let base = row * p.cols;
    let mean = mean_in[row];
    let rstd = rstd_in[row];
    let has_gamma = (p.flags & 1u) != 0u;
    var sg = 0.0;
    var sgx = 0.0;
    for (var j = lid; j < p.cols; j += RW) {
        let g = select(gy[base + j], gy[base + j] * gamma[j], has_gamma);
        sg += g;
        sgx += g * (x[base + j] - mean) * rstd;
    }
    let n = f32(max(p.cols, 1u));
    let mean_g = wg_sum(lane, sg) / n;
    let mean_gx = wg_sum(lane, sgx) / n;
    for (var j = lid; j < p.cols; j += RW) {
        let g = select(gy[base + j], gy[base + j] * gamma[j], has_gamma);
        let xhat = (x[base + j] - mean) * rstd;
        gx[base + j] = rstd * (g - mean_g - xhat * mean_gx);
    }
}

// ---- backward, parameter gradients: x, mean, rstd, gy -> ggamma, gbeta ----

@group(0) @binding(2) var<storage, read> mean_p: array<f32>;
@group(0) @binding(3) var<storage, read> rstd_p: array<f32>;
@group(0) @binding(4) var<storage, read> gy_p: array<f32>;
@group(0) @binding(5) var<storage, read_write> ggamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> gbeta: array<f32>;

@compute @workgroup_size(WG)
fn layer_norm_backward_params(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = (wid.x + wid.y * nwg.x) * WG + lid;
    if (c >= p.cols) { return; }
    var sgamma = 0.0;
    var sbeta = 0.0;
    for (var r = 0u; r < p.rows; r++) {
        let g = gy_p[r * p.cols + c];
        sgamma += g * (x[r * p.cols + c] - mean_p[r]) * rstd_p[r];
        sbeta += g;
    }
    ggamma[c] = sgamma;
    gbeta[c] = sbeta;
}

// ---- the same sums split over chunks of rows (many rows, few columns) ----

// Pass 1: part[q, 0, c] = Σ_{r in chunk q} gy · xhat, part[q, 1, c] = Σ gy.
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

@compute @workgroup_size(WG)
fn layer_norm_params_split(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let col_groups = (p.cols + WG - 1u) / WG;
    let g = wid.x + wid.y * nwg.x;
    let q = g / col_groups;
    let c = (g % col_groups) * WG + lid;
    let start = q * p.chunk;
    if (c >= p.cols || start >= p.rows) { return; }
    let end = min(start + p.chunk, p.rows);
    var sgamma = 0.0;
    var sbeta = 0.0;
    for (var r = start; r < end; r++) {
        let g = gy_p[r * p.cols + c];
        sgamma += g * (x[r * p.cols + c] - mean_p[r]) * rstd_p[r];
        sbeta += g;
    }
    part[(2u * q) * p.cols + c] = sgamma;
    part[(2u * q + 1u) * p.cols + c] = sbeta;
}

// Pass 2: ggamma_c = Σ_q part[q, 0, c], gbeta_c = Σ_q part[q, 1, c].
@group(0) @binding(1) var<storage, read> part_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> ggamma_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> gbeta_out: array<f32>;

@compute @workgroup_size(WG)
fn layer_norm_params_finish(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = (wid.x + wid.y * nwg.x) * WG + lid;
    if (c >= p.cols) { return; }
    let chunks = (p.rows + p.chunk - 1u) / p.chunk;
    var sgamma = 0.0;
    var sbeta = 0.0;
    for (var q = 0u; q < chunks; q++) {
        sgamma += part_in[(2u * q) * p.cols + c];
        sbeta += part_in[(2u * q + 1u) * p.cols + c];
    }
    ggamma_out[c] = sgamma;
    gbeta_out[c] = sbeta;
}
