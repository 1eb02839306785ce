// lstm_cell.wgsl — one LSTM step and its backward, fused: one invocation per
// (row, unit) instead of a dispatch per gate slice, activation and product.
//
// What (Hochreiter & Schmidhuber 1997; PyTorch's gate order i, f, g, o), from
// the summed pre-activations a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh:
//   i = σ(a_i),  f = σ(a_f),  g = tanh(a_g),  o = σ(a_o)
//   c' = f ⊙ c + i ⊙ g
//   h' = o ⊙ tanh(c')
// The workspace keeps i, f, g, o, tanh c' for the backward; with ∂h', ∂c'_out
// the two halves of the output gradient:
//   ∂c' = ∂c'_out + ∂h' ⊙ o ⊙ (1 − tanh² c')
//   ∂a_i = ∂c' ⊙ g ⊙ i (1 − i),  ∂a_f = ∂c' ⊙ c ⊙ f (1 − f)
//   ∂a_g = ∂c' ⊙ i ⊙ (1 − g²),   ∂a_o = ∂h' ⊙ tanh c' ⊙ o (1 − o)
//   ∂c = ∂c' ⊙ f
// Layout (row-major, H = hidden): a, ∂a [rows, 4H]; c, ∂c [rows, H];
// hc = [h' | c'] and its gradient [rows, 2H]; ws [rows, 5H].
// Tiling: none — memory-bound, one read and one write per value.
// Both entry points bind three inputs then two outputs; the forward's third
// input is c again (read twice, harmlessly) so the bindings agree.

struct Params {
    rows: u32,
    hidden: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> in0: array<f32>;        // a   | ws
@group(0) @binding(2) var<storage, read> in1: array<f32>;        // c   | c
@group(0) @binding(3) var<storage, read> in2: array<f32>;        // c   | [∂h' | ∂c'_out]
@group(0) @binding(4) var<storage, read_write> out0: array<f32>; // hc  | ∂a
@group(0) @binding(5) var<storage, read_write> out1: array<f32>; // ws  | ∂c

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
fn lstm_cell(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid);
    let hdim = p.hidden;
    if (idx >= p.rows * hdim) { return; }
    let row = idx / hdim;
    let j = idx % hdim;
    let a = row * 4u * hdim + j;
    let i = sigmoid(in0[a]);
    let f = sigmoid(in0[a + hdim]);
    let g = tanh_stable(in0[a + 2u * hdim]);
    let o = sigmoid(in0[a + 3u * hdim]);
    // in1 and in2 are the same c; reading one keeps both in the interface.
    let c = select(in1[idx], in2[idx], hdim == 0u);
    let c_next = f * c + i * g;
    let tanh_c = tanh_stable(c_next);
    let hc = row * 2u * hdim + j;
    out0[hc] = o * tanh_c;
    out0[hc + hdim] = c_next;
    let w = row * 5u * hdim + j;
    out1[w] = i;
    out1[w + hdim] = f;
    out1[w + 2u * hdim] = g;
    out1[w + 3u * hdim] = o;
    out1[w + 4u * hdim] = tanh_c;
}

@compute @workgroup_size(WG)
fn lstm_cell_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid);
    let hdim = p.hidden;
    if (idx >= p.rows * hdim) { return; }
    let row = idx / hdim;
    let j = idx % hdim;
    let w = row * 5u * hdim + j;
    let i = in0[w];
    let f = in0[w + hdim];
    let g = in0[w + 2u * hdim];
    let o = in0[w + 3u * hdim];
    let tanh_c = in0[w + 4u * hdim];
    let c = in1[idx];
    let hc = row * 2u * hdim + j;
    let dh = in2[hc];
    let dc = in2[hc + hdim] + dh * o * (1.0 - tanh_c * tanh_c);
    let a = row * 4u * hdim + j;
    out0[a] = dc * g * (i - i * i);
    out0[a + hdim] = dc * c * (f - f * f);
    out0[a + 2u * hdim] = dc * i * (1.0 - g * g);
    out0[a + 3u * hdim] = dh * tanh_c * (o - o * o);
    out1[idx] = dc * f;
}
