//! Reference reductions, softmax, layer norm and cross-entropy, accumulated in
//! `f64` straight from the defining formulas.

use crate::ReduceOp;

pub fn reduce(op: ReduceOp, x: &[f32], outer: usize, len: usize, inner: usize, out: &mut [f32]) {
    assert_eq!(x.len(), outer * len * inner);
    assert_eq!(out.len(), outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let vals = (0..len).map(|l| x[(o * len + l) * inner + i]);
            out[o * inner + i] = match op {
                ReduceOp::Sum => vals.map(|v| v as f64).sum::<f64>() as f32,
                ReduceOp::Mean => (vals.map(|v| v as f64).sum::<f64>() / len as f64) as f32,
                ReduceOp::Max => vals.fold(f32::NEG_INFINITY, f32::max),
                ReduceOp::Min => vals.fold(f32::INFINITY, f32::min),
            };
        }
    }
}

pub fn argmax(x: &[f32], outer: usize, len: usize, inner: usize, out: &mut [f32]) {
    assert_eq!(out.len(), outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0;
            for l in 1..len {
                if x[(o * len + l) * inner + i] > x[(o * len + best) * inner + i] {
                    best = l;
                }
            }
            out[o * inner + i] = best as f32;
        }
    }
}

pub fn sum_all(x: &[f32]) -> f32 {
    x.iter().map(|&v| v as f64).sum::<f64>() as f32
}

pub fn sum_squares(x: &[f32]) -> f32 {
    x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() as f32
}

/// `ln sum_j e^{x_j}`, shifted by the max for stability.
fn logsumexp(row: &[f32]) -> f64 {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln()
}

pub fn softmax(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let lse = logsumexp(row);
        for j in 0..cols {
            out[r * cols + j] = (row[j] as f64 - lse).exp() as f32;
        }
    }
}

pub fn log_softmax(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let lse = logsumexp(row);
        for j in 0..cols {
            out[r * cols + j] = (row[j] as f64 - lse) as f32;
        }
    }
}

pub fn softmax_backward(y: &[f32], gy: &[f32], rows: usize, cols: usize, gx: &mut [f32]) {
    for r in 0..rows {
        let range = r * cols..(r + 1) * cols;
        let dot: f64 = range.clone().map(|i| gy[i] as f64 * y[i] as f64).sum();
        for i in range {
            gx[i] = (y[i] as f64 * (gy[i] as f64 - dot)) as f32;
        }
    }
}

pub fn log_softmax_backward(y: &[f32], gy: &[f32], rows: usize, cols: usize, gx: &mut [f32]) {
    for r in 0..rows {
        let range = r * cols..(r + 1) * cols;
        let total: f64 = range.clone().map(|i| gy[i] as f64).sum();
        for i in range {
            gx[i] = (gy[i] as f64 - (y[i] as f64).exp() * total) as f32;
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn layer_norm(
    x: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    rows: usize,
    cols: usize,
    eps: f32,
    y: &mut [f32],
    mean: &mut [f32],
    rstd: &mut [f32],
) {
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let (mu, var) = if cols == 0 {
            (0.0, 0.0)
        } else {
            let mu = row.iter().map(|&v| v as f64).sum::<f64>() / cols as f64;
            let var = row.iter().map(|&v| (v as f64 - mu).powi(2)).sum::<f64>() / cols as f64;
            (mu, var)
        };
        let rs = 1.0 / (var + eps as f64).sqrt();
        mean[r] = mu as f32;
        rstd[r] = rs as f32;
        for j in 0..cols {
            let g = gamma.map_or(1.0, |g| g[j] as f64);
            let b = beta.map_or(0.0, |b| b[j] as f64);
            y[r * cols + j] = ((row[j] as f64 - mu) * rs * g + b) as f32;
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn layer_norm_backward(
    x: &[f32],
    gamma: Option<&[f32]>,
    mean: &[f32],
    rstd: &[f32],
    gy: &[f32],
    rows: usize,
    cols: usize,
    gx: &mut [f32],
    ggamma: Option<&mut [f32]>,
    gbeta: Option<&mut [f32]>,
) {
    let mut sum_gamma = vec![0.0f64; cols];
    let mut sum_beta = vec![0.0f64; cols];
    for r in 0..rows {
        let (mu, rs) = (mean[r] as f64, rstd[r] as f64);
        let xhat: Vec<f64> = (0..cols)
            .map(|j| (x[r * cols + j] as f64 - mu) * rs)
            .collect();
        let g: Vec<f64> = (0..cols)
            .map(|j| gy[r * cols + j] as f64 * gamma.map_or(1.0, |w| w[j] as f64))
            .collect();
        let mean_g = g.iter().sum::<f64>() / cols as f64;
        let mean_gx = g.iter().zip(&xhat).map(|(a, b)| a * b).sum::<f64>() / cols as f64;
        for j in 0..cols {
            gx[r * cols + j] = (rs * (g[j] - mean_g - xhat[j] * mean_gx)) as f32;
            sum_gamma[j] += gy[r * cols + j] as f64 * xhat[j];
            sum_beta[j] += gy[r * cols + j] as f64;
        }
    }
    if let Some(gg) = ggamma {
        for j in 0..cols {
            gg[j] = sum_gamma[j] as f32;
        }
    }
    if let Some(gb) = gbeta {
        for j in 0..cols {
            gb[j] = sum_beta[j] as f32;
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn cross_entropy(
    logits: &[f32],
    targets: &[f32],
    rows: usize,
    cols: usize,
    ignore_index: i64,
    smoothing: f32,
    loss: &mut [f32],
    lse: &mut [f32],
) -> usize {
    let eps = smoothing as f64;
    let mut counted = 0;
    for r in 0..rows {
        let row = &logits[r * cols..(r + 1) * cols];
        let l = logsumexp(row);
        lse[r] = l as f32;
        let t = targets[r] as i64;
        if t == ignore_index {
            loss[r] = 0.0;
            continue;
        }
        counted += 1;
        // -logp_j = lse - x_j
        let nll_t = l - row[t as usize] as f64;
        let mean_nll = row.iter().map(|&v| l - v as f64).sum::<f64>() / cols as f64;
        loss[r] = ((1.0 - eps) * nll_t + eps * mean_nll) as f32;
    }
    counted
}

#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_backward(
    logits: &[f32],
    targets: &[f32],
    lse: &[f32],
    gloss: &[f32],
    rows: usize,
    cols: usize,
    ignore_index: i64,
    smoothing: f32,
    gx: &mut [f32],
) {
    let eps = smoothing as f64;
    for r in 0..rows {
        let t = targets[r] as i64;
        for j in 0..cols {
            let i = r * cols + j;
            gx[i] = if t == ignore_index {
                0.0
            } else {
                let p = (logits[i] as f64 - lse[r] as f64).exp();
                let onehot = if j as i64 == t { 1.0 } else { 0.0 };
                (gloss[r] as f64 * (p - (1.0 - eps) * onehot - eps / cols as f64)) as f32
            };
        }
    }
}

/// The GRU cell (see `gru_cell.rs` for the equations), in f64.
pub fn gru_cell(
    gi: &[f32],
    gh: &[f32],
    h: &[f32],
    rows: usize,
    hidden: usize,
    out: &mut [f32],
    ws: &mut [f32],
) {
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    for b in 0..rows {
        for j in 0..hidden {
            let at = |v: &[f32], gate: usize| v[b * 3 * hidden + gate * hidden + j] as f64;
            let r = sig(at(gi, 0) + at(gh, 0));
            let z = sig(at(gi, 1) + at(gh, 1));
            let n = (at(gi, 2) + r * at(gh, 2)).tanh();
            let hv = h[b * hidden + j] as f64;
            out[b * hidden + j] = ((1.0 - z) * n + z * hv) as f32;
            let w = &mut ws[b * 4 * hidden..];
            w[j] = r as f32;
            w[hidden + j] = z as f32;
            w[2 * hidden + j] = n as f32;
            w[3 * hidden + j] = at(gh, 2) as f32;
        }
    }
}

/// Gradients of the GRU cell from its saved workspace, in f64.
#[allow(clippy::too_many_arguments)]
pub fn gru_cell_backward(
    ws: &[f32],
    h: &[f32],
    g: &[f32],
    rows: usize,
    hidden: usize,
    d_gi: &mut [f32],
    d_gh: &mut [f32],
    d_h: &mut [f32],
) {
    for b in 0..rows {
        for j in 0..hidden {
            let w = |k: usize| ws[b * 4 * hidden + k * hidden + j] as f64;
            let (r, z, n, ghn) = (w(0), w(1), w(2), w(3));
            let (gv, hv) = (g[b * hidden + j] as f64, h[b * hidden + j] as f64);
            let dn = gv * (1.0 - z) * (1.0 - n * n);
            let dr = dn * ghn * r * (1.0 - r);
            let dz = gv * (hv - n) * z * (1.0 - z);
            let at = |gate: usize| b * 3 * hidden + gate * hidden + j;
            d_gi[at(0)] = dr as f32;
            d_gi[at(1)] = dz as f32;
            d_gi[at(2)] = dn as f32;
            d_gh[at(0)] = dr as f32;
            d_gh[at(1)] = dz as f32;
            d_gh[at(2)] = (dn * r) as f32;
            d_h[b * hidden + j] = (gv * z) as f32;
        }
    }
}

/// Bahdanau's additive score `e[b,t,s] = Σ_a v[a] tanh(q[b,t,a] + k[b,s,a])`,
/// in f64.
pub fn additive_score(sz: crate::Additive, q: &[f32], k: &[f32], v: &[f32], e: &mut [f32]) {
    let crate::Additive { batch, tq, s, a } = sz;
    for b in 0..batch {
        for t in 0..tq {
            for si in 0..s {
                let mut acc = 0.0f64;
                for j in 0..a {
                    let pre = q[(b * tq + t) * a + j] as f64 + k[(b * s + si) * a + j] as f64;
                    acc += v[j] as f64 * pre.tanh();
                }
                e[(b * tq + t) * s + si] = acc as f32;
            }
        }
    }
}

/// Gradients of the additive score from `g = ∂L/∂e`, in f64:
/// `∂q[b,t] = Σ_s d`, `∂k[b,s] = Σ_t d`, `∂v = Σ g u`, with `u = tanh(q_t + k_s)`
/// and `d = g v (1 − u²)`.
#[allow(clippy::too_many_arguments)]
pub fn additive_score_backward(
    sz: crate::Additive,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    g: &[f32],
    dq: &mut [f32],
    dk: &mut [f32],
    dv: &mut [f32],
) {
    let crate::Additive { batch, tq, s, a } = sz;
    let mut sq = vec![0.0f64; dq.len()];
    let mut sk = vec![0.0f64; dk.len()];
    let mut sv = vec![0.0f64; a];
    for b in 0..batch {
        for t in 0..tq {
            for si in 0..s {
                let gts = g[(b * tq + t) * s + si] as f64;
                for j in 0..a {
                    let (iq, ik) = ((b * tq + t) * a + j, (b * s + si) * a + j);
                    let u = (q[iq] as f64 + k[ik] as f64).tanh();
                    let d = gts * v[j] as f64 * (1.0 - u * u);
                    sq[iq] += d;
                    sk[ik] += d;
                    sv[j] += gts * u;
                }
            }
        }
    }
    let out =
        |dst: &mut [f32], src: &[f64]| dst.iter_mut().zip(src).for_each(|(d, s)| *d = *s as f32);
    out(dq, &sq);
    out(dk, &sk);
    out(dv, &sv);
}
