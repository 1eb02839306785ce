//! The fused ops of [`Backend`] written in its primitives: the default body
//! of each provided method, and the definition a fused kernel must match.
//! Each runs on any backend, one primitive per equation; a backend with a
//! faster kernel overrides the method (backend/cpu.rs).

use super::{Backend, BinaryOp, Gemm, Heads, ReduceOp, SelectCat, UnaryOp};
use crate::{Error, Result};
use kernels_cpu::Additive;

/// Element-wise maps over contiguous buffers of `n` floats, named so the
/// composed bodies read as their equations.
struct Ew<'a, B: Backend> {
    b: &'a B,
    n: usize,
}

impl<B: Backend> Ew<'_, B> {
    fn op(&self, op: BinaryOp, x: &B::Buf, y: &B::Buf) -> Result<B::Buf> {
        self.b.binary(op, (x, &[1]), (y, &[1]), &[self.n])
    }
    fn add(&self, x: &B::Buf, y: &B::Buf) -> Result<B::Buf> {
        self.op(BinaryOp::Add, x, y)
    }
    fn sub(&self, x: &B::Buf, y: &B::Buf) -> Result<B::Buf> {
        self.op(BinaryOp::Sub, x, y)
    }
    fn mul(&self, x: &B::Buf, y: &B::Buf) -> Result<B::Buf> {
        self.op(BinaryOp::Mul, x, y)
    }
    fn sigmoid(&self, x: &B::Buf) -> Result<B::Buf> {
        self.b.unary(UnaryOp::Sigmoid, x)
    }
    fn tanh(&self, x: &B::Buf) -> Result<B::Buf> {
        self.b.unary(UnaryOp::Tanh, x)
    }
    /// `1 − x²`, the derivative of tanh at its output `x`.
    fn one_minus_square(&self, x: &B::Buf) -> Result<B::Buf> {
        let one = self.b.filled(1.0, 1)?;
        let sq = self.b.unary(UnaryOp::Square, x)?;
        self.b
            .binary(BinaryOp::Sub, (&one, &[0]), (&sq, &[1]), &[self.n])
    }
    /// `x (1 − x)`, the derivative of σ at its output `x`.
    fn sigmoid_slope(&self, x: &B::Buf) -> Result<B::Buf> {
        self.sub(x, &self.b.unary(UnaryOp::Square, x)?)
    }
}

pub(super) fn linear<B: Backend>(
    b: &B,
    x: &B::Buf,
    w: &B::Buf,
    bias: &B::Buf,
    [rows, out_f, in_f]: [usize; 3],
) -> Result<B::Buf> {
    let gemm = Gemm {
        batch: 1,
        m: rows,
        n: out_f,
        k: in_f,
        trans_a: false,
        trans_b: true,
        stride_a: 0,
        stride_b: 0,
    };
    let xw = b.matmul(x, w, gemm)?; // x Wᵀ
    b.binary(
        BinaryOp::Add,
        (&xw, &[out_f, 1]),
        (bias, &[0, 1]),
        &[rows, out_f],
    )
}

pub(super) fn matmul_add<B: Backend>(
    b: &B,
    x: &B::Buf,
    y: &B::Buf,
    g: Gemm,
    dst: &B::Buf,
) -> Result<()> {
    let product = b.matmul(x, y, g)?;
    let sum = Ew { b, n: b.len(dst) }.add(dst, &product)?;
    b.copy_into(&sum, dst)
}

pub(super) fn add_into_block<B: Backend>(
    b: &B,
    dst: &B::Buf,
    src: &B::Buf,
    (outer, full, inner): (usize, usize, usize),
    start: usize,
) -> Result<()> {
    if outer * inner == 0 {
        return Ok(());
    }
    let len = b.len(src) / (outer * inner);
    let row = full * inner;
    // dst = cat(before, block + src, after) along the middle axis.
    let view = |from: usize, cols: usize| {
        b.strided_copy(dst, from * inner, &[outer, cols * inner], &[row, 1])
    };
    let block = view(start, len)?;
    let sum = Ew { b, n: b.len(src) }.add(&block, src)?;
    let before = (start > 0).then(|| view(0, start)).transpose()?;
    let rest = full - start - len;
    let after = (rest > 0).then(|| view(start + len, rest)).transpose()?;
    let mut parts = Vec::with_capacity(3);
    parts.extend(before.as_ref().map(|p| (p, start)));
    parts.push((&sum, len));
    parts.extend(after.as_ref().map(|p| (p, rest)));
    let whole = b.cat(&parts, outer, inner)?;
    b.copy_into(&whole, dst)
}

pub(super) fn head_product<B: Backend>(
    b: &B,
    h: &Heads,
    a: &B::Buf,
    bm: &B::Buf,
) -> Result<B::Buf> {
    let [m, n, k] = h.mnk;
    let (ta, tb) = h.trans;
    let (ra, ca) = if ta { (k, m) } else { (m, k) };
    let (rb, cb) = if tb { (n, k) } else { (k, n) };
    // Each operand's matrices gathered into one contiguous batch, [seqs, heads, rows, cols].
    let gather = |x: &B::Buf, l: kernels_cpu::HeadMats, (r, c): (usize, usize)| {
        b.strided_copy(
            x,
            0,
            &[h.seqs, h.heads, r, c],
            &[l.per_seq, l.per_head, l.ld, 1],
        )
    };
    let (a, bm) = (gather(a, h.a, (ra, ca))?, gather(bm, h.b, (rb, cb))?);
    let gemm = Gemm {
        batch: h.seqs * h.heads,
        m,
        n,
        k,
        trans_a: ta,
        trans_b: tb,
        stride_a: ra * ca,
        stride_b: rb * cb,
    };
    let mut c = b.matmul(&a, &bm, gemm)?;
    if h.alpha != 1.0 {
        let alpha = b.filled(h.alpha, 1)?;
        c = b.binary(BinaryOp::Mul, (&c, &[1]), (&alpha, &[0]), &[b.len(&c)])?;
    }
    // Scatter [seqs, heads, m, n] into C's layout: read C's axes in the
    // order they are laid out in the output, which makes the output contiguous.
    let mut axes = [
        (h.seqs, h.c.per_seq, h.heads * m * n),
        (h.heads, h.c.per_head, m * n),
        (m, h.c.ld, n),
        (n, 1, 1),
    ]
    .into_iter()
    .filter(|&(size, _, _)| size > 1)
    .collect::<Vec<_>>();
    axes.sort_by_key(|axis| std::cmp::Reverse(axis.1));
    let mut expected = 1;
    for &(size, stride, _) in axes.iter().rev() {
        if stride != expected {
            return Err(Error::invalid(
                "head product",
                "internal error: the output head layout is not dense",
            ));
        }
        expected *= size;
    }
    if axes.is_empty() {
        axes.push((1, 1, 1));
    }
    let shape: Vec<usize> = axes.iter().map(|a| a.0).collect();
    let strides: Vec<usize> = axes.iter().map(|a| a.2).collect();
    b.strided_copy(&c, 0, &shape, &strides)
}

/// `tanh(q[b,t] + k[b,s])`, `[B, Tq, S, A]`.
fn additive_tanh<B: Backend>(b: &B, z: Additive, q: &B::Buf, k: &B::Buf) -> Result<B::Buf> {
    let (tq, s, a) = (z.tq, z.s, z.a);
    let sum = b.binary(
        BinaryOp::Add,
        (q, &[tq * a, a, 0, 1]),
        (k, &[s * a, 0, a, 1]),
        &[z.batch, tq, s, a],
    )?;
    b.unary(UnaryOp::Tanh, &sum)
}

/// The k best of `log_softmax(x)`: the distribution, then its top k.
pub(super) fn log_softmax_topk<B: Backend>(
    b: &B,
    x: &B::Buf,
    rows: usize,
    cols: usize,
    k: usize,
) -> Result<(B::Buf, B::Buf)> {
    let log_p = b.softmax(x, rows, cols, true)?;
    b.topk_rows(&log_p, cols, k)
}

/// `cat([past[ids], new])`: an `index_select` of whole rows, then a `cat`
/// along the `len` axis.
pub(super) fn select_cat<B: Backend>(
    b: &B,
    past: &B::Buf,
    ids: Option<&B::Buf>,
    new: &B::Buf,
    s: SelectCat,
) -> Result<B::Buf> {
    let picked;
    let past = match ids {
        Some(ids) => {
            picked = b.index_select(past, (1, s.rows, s.outer * s.len * s.inner), ids)?;
            &picked
        }
        None => past,
    };
    b.cat(
        &[(past, s.len), (new, s.extra)],
        s.picked * s.outer,
        s.inner,
    )
}

pub(super) fn additive_score<B: Backend>(
    b: &B,
    z: Additive,
    q: &B::Buf,
    k: &B::Buf,
    v: &B::Buf,
) -> Result<B::Buf> {
    let u = additive_tanh(b, z, q, k)?;
    // e = u vᵀ: [B·Tq·S, A] by [A, 1].
    let gemm = Gemm {
        batch: 1,
        m: z.batch * z.tq * z.s,
        n: 1,
        k: z.a,
        trans_a: false,
        trans_b: true,
        stride_a: 0,
        stride_b: 0,
    };
    b.matmul(&u, v, gemm)
}

pub(super) fn additive_score_backward<B: Backend>(
    b: &B,
    z: Additive,
    (q, k, v): (&B::Buf, &B::Buf, &B::Buf),
    g: &B::Buf,
) -> Result<(B::Buf, B::Buf, B::Buf)> {
    let rows = z.batch * z.tq * z.s;
    let ew = Ew { b, n: rows * z.a };
    let u = additive_tanh(b, z, q, k)?;
    // ∂u = g v, ∂(q + k) = ∂u ⊙ (1 − u²)
    let du = b.binary(BinaryOp::Mul, (g, &[1, 0]), (v, &[0, 1]), &[rows, z.a])?;
    let dsum = ew.mul(&du, &ew.one_minus_square(&u)?)?;
    // ∂q sums over the source positions, ∂k over the query steps.
    let dq = b.reduce(ReduceOp::Sum, &dsum, z.batch * z.tq, z.s, z.a)?;
    let dk = b.reduce(ReduceOp::Sum, &dsum, z.batch, z.tq, z.s * z.a)?;
    // ∂v = gᵀ u: [1, B·Tq·S] by [B·Tq·S, A].
    let gemm = Gemm {
        batch: 1,
        m: 1,
        n: z.a,
        k: rows,
        trans_a: false,
        trans_b: false,
        stride_a: 0,
        stride_b: 0,
    };
    let dv = b.matmul(g, &u, gemm)?;
    Ok((dq, dk, dv))
}

/// Gate block `j` of `width` blocks of `hidden` columns, `[rows, hidden]`.
fn block<B: Backend>(
    b: &B,
    x: &B::Buf,
    j: usize,
    width: usize,
    (rows, hidden): (usize, usize),
) -> Result<B::Buf> {
    b.strided_copy(x, j * hidden, &[rows, hidden], &[width * hidden, 1])
}

pub(super) fn gru_cell<B: Backend>(
    b: &B,
    gi: &B::Buf,
    gh: &B::Buf,
    h: &B::Buf,
    (rows, hidden): (usize, usize),
) -> Result<(B::Buf, B::Buf)> {
    let e = Ew {
        b,
        n: rows * hidden,
    };
    let gate = |x, j| block(b, x, j, 3, (rows, hidden));
    let r = e.sigmoid(&e.add(&gate(gi, 0)?, &gate(gh, 0)?)?)?; // r = σ(gi_r + gh_r)
    let z = e.sigmoid(&e.add(&gate(gi, 1)?, &gate(gh, 1)?)?)?; // z = σ(gi_z + gh_z)
    let gh_n = gate(gh, 2)?;
    let n = e.tanh(&e.add(&gate(gi, 2)?, &e.mul(&r, &gh_n)?)?)?; // n = tanh(gi_n + r ⊙ gh_n)
    let h_next = e.add(&n, &e.mul(&z, &e.sub(h, &n)?)?)?; // h' = n + z ⊙ (h − n)
    let ws = b.cat(
        &[(&r, hidden), (&z, hidden), (&n, hidden), (&gh_n, hidden)],
        rows,
        1,
    )?;
    Ok((h_next, ws))
}

pub(super) fn gru_cell_backward<B: Backend>(
    b: &B,
    ws: &B::Buf,
    h: &B::Buf,
    g: &B::Buf,
    (rows, hidden): (usize, usize),
) -> Result<(B::Buf, B::Buf, B::Buf)> {
    let e = Ew {
        b,
        n: rows * hidden,
    };
    let saved = |j| block(b, ws, j, 4, (rows, hidden));
    let (r, z, n, gh_n) = (saved(0)?, saved(1)?, saved(2)?, saved(3)?);
    let d_h = e.mul(g, &z)?; // ∂h = g ⊙ z
    let dn = e.mul(&e.sub(g, &d_h)?, &e.one_minus_square(&n)?)?; // ∂n = g ⊙ (1 − z) ⊙ (1 − n²)
    let dr = e.mul(&e.mul(&dn, &gh_n)?, &e.sigmoid_slope(&r)?)?; // ∂r = ∂n ⊙ gh_n ⊙ r (1 − r)
    let dz = e.mul(&e.mul(g, &e.sub(h, &n)?)?, &e.sigmoid_slope(&z)?)?; // ∂z = g ⊙ (h − n) ⊙ z (1 − z)
    let d_gh_n = e.mul(&dn, &r)?; // ∂gh_n = ∂n ⊙ r
    let d_gi = b.cat(&[(&dr, hidden), (&dz, hidden), (&dn, hidden)], rows, 1)?;
    let d_gh = b.cat(&[(&dr, hidden), (&dz, hidden), (&d_gh_n, hidden)], rows, 1)?;
    Ok((d_gi, d_gh, d_h))
}

pub(super) fn lstm_cell<B: Backend>(
    b: &B,
    gates: &B::Buf,
    c: &B::Buf,
    (rows, hidden): (usize, usize),
) -> Result<(B::Buf, B::Buf)> {
    let e = Ew {
        b,
        n: rows * hidden,
    };
    let gate = |j| block(b, gates, j, 4, (rows, hidden));
    let i = e.sigmoid(&gate(0)?)?; // i = σ(a_i)
    let f = e.sigmoid(&gate(1)?)?; // f = σ(a_f)
    let g = e.tanh(&gate(2)?)?; // g = tanh(a_g)
    let o = e.sigmoid(&gate(3)?)?; // o = σ(a_o)
    let c_next = e.add(&e.mul(&f, c)?, &e.mul(&i, &g)?)?; // c' = f ⊙ c + i ⊙ g
    let tanh_c = e.tanh(&c_next)?;
    let h_next = e.mul(&o, &tanh_c)?; // h' = o ⊙ tanh(c')
    let hc = b.cat(&[(&h_next, hidden), (&c_next, hidden)], rows, 1)?;
    let parts = [
        (&i, hidden),
        (&f, hidden),
        (&g, hidden),
        (&o, hidden),
        (&tanh_c, hidden),
    ];
    let ws = b.cat(&parts, rows, 1)?;
    Ok((hc, ws))
}

pub(super) fn lstm_cell_backward<B: Backend>(
    b: &B,
    ws: &B::Buf,
    c: &B::Buf,
    grad: &B::Buf,
    (rows, hidden): (usize, usize),
) -> Result<(B::Buf, B::Buf)> {
    let e = Ew {
        b,
        n: rows * hidden,
    };
    let saved = |j| block(b, ws, j, 5, (rows, hidden));
    let (i, f, g, o, tanh_c) = (saved(0)?, saved(1)?, saved(2)?, saved(3)?, saved(4)?);
    let (dh, dc_out) = (
        block(b, grad, 0, 2, (rows, hidden))?,
        block(b, grad, 1, 2, (rows, hidden))?,
    );
    let dc = e.add(
        &dc_out,
        &e.mul(&e.mul(&dh, &o)?, &e.one_minus_square(&tanh_c)?)?,
    )?; // ∂c' = ∂c'_out + ∂h' ⊙ o ⊙ (1 − tanh² c')
    let di = e.mul(&e.mul(&dc, &g)?, &e.sigmoid_slope(&i)?)?; // ∂a_i = ∂c' ⊙ g ⊙ i (1 − i)
    let df = e.mul(&e.mul(&dc, c)?, &e.sigmoid_slope(&f)?)?; // ∂a_f = ∂c' ⊙ c ⊙ f (1 − f)
    let dg = e.mul(&e.mul(&dc, &i)?, &e.one_minus_square(&g)?)?; // ∂a_g = ∂c' ⊙ i ⊙ (1 − g²)
    let d_o = e.mul(&e.mul(&dh, &tanh_c)?, &e.sigmoid_slope(&o)?)?; // ∂a_o = ∂h' ⊙ tanh c' ⊙ o (1 − o)
    let d_c = e.mul(&dc, &f)?; // ∂c = ∂c' ⊙ f
    let d_gates = b.cat(
        &[(&di, hidden), (&df, hidden), (&dg, hidden), (&d_o, hidden)],
        rows,
        1,
    )?;
    Ok((d_gates, d_c))
}
