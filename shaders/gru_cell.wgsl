// gru_cell.wgsl — one GRU step and its backward, fused: every equation of
// the cell in one invocation per (row, unit), where the composed form runs
// about twenty dispatches (one per slice, sum, activation and product).
//
// What (Cho et al. 2014, PyTorch's gate order r, z, n):
//   r  = σ(gi_r + gh_r)
//   z  = σ(gi_z + gh_z)
//   n  = tanh(gi_n + r ⊙ gh_n)
//   h' = n + z ⊙ (h − n)              (= (1 − z) ⊙ n + z ⊙ h)
// `gi` = x W_ihᵀ + b_ih and `gh` = h W_hhᵀ + b_hh come from two GEMMs; the
// workspace keeps r, z, n, gh_n for the backward:
//   ∂h = g ⊙ z,  ∂n = g ⊙ (1 − z) ⊙ (1 − n²),  ∂r = ∂n ⊙ gh_n ⊙ r (1 − r),
//   ∂z = g ⊙ (h − n) ⊙ z (1 − z),  ∂gi = [∂r, ∂z, ∂n],  ∂gh = [∂r, ∂z, ∂n ⊙ r].
// Layout (row-major, H = hidden): gi, gh, ∂gi, ∂gh [rows, 3H]; h, h', g,
// ∂h [rows, H]; ws [rows, 4H].
// Tiling: none — each invocation reads its unit's gates once and writes its
// outputs once; the cell is bound by memory traffic, which fusing cuts from
// ~20 passes over [rows, H] to one.
// Both entry points bind three inputs then the outputs, so the bindings agree.

struct Params {
    rows: u32,
    hidden: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> in0: array<f32>;        // gi  | ws
@group(0) @binding(2) var<storage, read> in1: array<f32>;        // gh  | h
@group(0) @binding(3) var<storage, read> in2: array<f32>;        // h   | g
@group(0) @binding(4) var<storage, read_write> out0: array<f32>; // h'  | ∂gi
@group(0) @binding(5) var<storage, read_write> out1: array<f32>; // ws  | ∂gh
@group(0) @binding(6) var<storage, read_write> out2: array<f32>; //     | ∂h

override WG: u32 = 256u;

fn sigmoid(v: f32) -> f32 {
    return 1.0 / (1.0 + exp(-v));
}

// tanh through exp(-2|v|), which never overflows (see elementwise.wgsl).
fn tanh_stable(v: f32) -> f32 {
    let e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
}

fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn gru_cell(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    let hdim = p.hidden;
    if (i >= p.rows * hdim) { return; }
    let row = i / hdim;
    let j = i % hdim;
    let g3 = row * 3u * hdim + j;
    let r = sigmoid(in0[g3] + in1[g3]);
    let z = sigmoid(in0[g3 + hdim] + in1[g3 + hdim]);
    let gh_n = in1[g3 + 2u * hdim];
    let n = tanh_stable(in0[g3 + 2u * hdim] + r * gh_n);
    out0[i] = n + z * (in2[i] - n);
    let w4 = row * 4u * hdim + j;
    out1[w4] = r;
    out1[w4 + hdim] = z;
    out1[w4 + 2u * hdim] = n;
    out1[w4 + 3u * hdim] = gh_n;
}

@compute @workgroup_size(WG)
fn gru_cell_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid);
    let hdim = p.hidden;
    if (i >= p.rows * hdim) { return; }
    let row = i / hdim;
    let j = i % hdim;
    let w4 = row * 4u * hdim + j;
    let r = in0[w4];
    let z = in0[w4 + hdim];
    let n = in0[w4 + 2u * hdim];
    let gh_n = in0[w4 + 3u * hdim];
    let h = in1[i];
    let g = in2[i];
    let dh = g * z;
    let dn = (g - dh) * (1.0 - n * n);
    let dr = dn * gh_n * (r - r * r);
    let dz = g * (h - n) * (z - z * z);
    let g3 = row * 3u * hdim + j;
    out0[g3] = dr;
    out0[g3 + hdim] = dz;
    out0[g3 + 2u * hdim] = dn;
    out1[g3] = dr;
    out1[g3 + hdim] = dz;
    out1[g3 + 2u * hdim] = dn * r;
    out2[i] = dh;
}
