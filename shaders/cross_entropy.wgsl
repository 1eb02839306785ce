// cross_entropy.wgsl — smoothed cross-entropy over logits rows, forward and backward.
//
// What (row r, target t = targets[r], eps = label smoothing):
//   lse = log Σ_j exp(x_j)                    (stably: max + log Σ exp(x - max))
//   loss = (1 - eps) (lse - x_t) + eps (lse - mean_j x_j)
//   gx_j = gloss_r (exp(x_j - lse) - (1 - eps)[j == t] - eps / cols)
// Rows whose target equals ignore_index get loss 0, gradient 0 and
// counted = 0 (else 1): the mean loss is Σ loss / Σ counted, both on the GPU.
// Layout: logits and gx rows × cols contiguous; targets, loss, lse, counted,
// gloss one value per row; targets hold exact integers as f32.
// Tiling: forward is one workgroup per row with the workgroup reductions of
// softmax.wgsl (three over the row: max, Σ exp, Σ x). The backward is
// elementwise: one invocation per logit, rereading the saved lse instead of
// a softmax matrix.

struct Params {
    rows: u32,
    cols: u32,
    ignore_index: i32,
    smoothing: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

override RW: u32 = 64u;   // invocations per row, a power of two
override WG: u32 = 256u;  // invocations per workgroup, backward

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> counted: array<f32>;

@compute @workgroup_size(RW)
fn cross_entropy_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, lane: Lane) {
    let lid = lane.lid;
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) { return; } // uniform: the whole workgroup leaves
    let base = row * p.cols;
    var m = logits[base]; // the row's first entry, not -∞: the max is the same
    for (var j = lid; j < p.cols; j += RW) { m = max(m, logits[base + j]); }
    m = wg_max(lane, m);
    var s = 0.0;
    var sx = 0.0;
    for (var j = lid; j < p.cols; j += RW) {
        let v = logits[base + j];
        s += exp(v - m);
        sx += v;
    }
    let lse = m + log(wg_sum(lane, s));
    let mean_x = wg_sum(lane, sx) / f32(p.cols);
    if (lid == 0u) {
        let t = i32(targets[row]);
        lse_out[row] = lse;
        if (t == p.ignore_index) {
            loss[row] = 0.0;
            counted[row] = 0.0;
        } else {
            let eps = p.smoothing;
            loss[row] = (1.0 - eps) * (lse - logits[base + u32(t)]) + eps * (lse - mean_x);
            counted[row] = 1.0;
        }
    }
}

@group(0) @binding(3) var<storage, read> lse_in: array<f32>;
@group(0) @binding(4) var<storage, read> gloss: array<f32>;
@group(0) @binding(5) var<storage, read_write> gx: array<f32>;

@compute @workgroup_size(WG)
fn cross_entropy_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if (i >= p.rows * p.cols) { return; }
    let row = i / p.cols;
    let j = i % p.cols;
    let t = i32(targets[row]);
    if (t == p.ignore_index) { gx[i] = 0.0; return; }
    let eps = p.smoothing;
    let hit = select(0.0, 1.0 - eps, u32(t) == j);
    gx[i] = gloss[row] * (exp(logits[i] - lse_in[row]) - hit - eps / f32(p.cols));
}
