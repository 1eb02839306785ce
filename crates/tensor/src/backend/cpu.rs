//! The host backend: `kernels-cpu` (SIMD + rayon) on locked `Vec`s. It
//! overrides every fused op of the trait it has a kernel for (all but the
//! LSTM cell), because on the host a pass over memory costs more than the
//! arithmetic it feeds.

use super::{Backend, Gemm, Heads, NormGrads, SelectCat, SgdParams};
use crate::host_pool;
use crate::storage::HostBuf;
use crate::Result;
use kernels_cpu::{self as cpu, AdamParams, Additive, BinaryOp, ReduceOp, UnaryOp};

pub(crate) struct Cpu;

/// Takes `n` floats from the buffer cache (host_pool.rs; contents
/// unspecified) and runs `f`, which must write every element.
fn out(n: usize, f: impl FnOnce(&mut [f32])) -> HostBuf {
    let mut out = host_pool::take(n);
    f(&mut out);
    HostBuf::new(out)
}

/// Like `out`, for kernels that add into their output.
fn zeroed(n: usize, f: impl FnOnce(&mut [f32])) -> HostBuf {
    let mut out = host_pool::take_zeroed(n);
    f(&mut out);
    HostBuf::new(out)
}

fn product(a: &[f32], b: &[f32], g: Gemm, beta: f32, c: &mut [f32]) {
    let (lda, ldb) = g.ld();
    cpu::sgemm_batched(
        g.batch,
        g.trans_a,
        g.trans_b,
        g.m,
        g.n,
        g.k,
        1.0,
        a,
        lda,
        g.stride_a,
        b,
        ldb,
        g.stride_b,
        beta,
        c,
        g.n,
        g.m * g.n,
    )
}

impl Backend for Cpu {
    type Buf = HostBuf;

    fn len(&self, x: &HostBuf) -> usize {
        x.read().len()
    }

    fn upload(&self, host: &[f32]) -> Result<HostBuf> {
        Ok(out(host.len(), |o| o.copy_from_slice(host)))
    }

    fn filled(&self, value: f32, n: usize) -> Result<HostBuf> {
        // Through the buffer cache: a fresh `vec![0.0; n]` of a large n is
        // `calloc`ed pages that fault on first touch, every step.
        Ok(out(n, |o| o.fill(value)))
    }

    fn copy_into(&self, src: &HostBuf, dst: &HostBuf) -> Result<()> {
        if std::ptr::eq(src, dst) {
            return Ok(());
        }
        dst.write().copy_from_slice(&src.read());
        Ok(())
    }

    fn unary(&self, op: UnaryOp, x: &HostBuf) -> Result<HostBuf> {
        let x = x.read();
        Ok(out(x.len(), |o| cpu::unary(op, &x, o)))
    }

    fn binary(
        &self,
        op: BinaryOp,
        (a, a_strides): (&HostBuf, &[usize]),
        (b, b_strides): (&HostBuf, &[usize]),
        out_shape: &[usize],
    ) -> Result<HostBuf> {
        let (a, b) = (a.read(), b.read());
        let n = out_shape.iter().product();
        Ok(out(n, |o| {
            cpu::binary(op, &a, a_strides, &b, b_strides, out_shape, o)
        }))
    }

    fn where_select(&self, cond: &HostBuf, a: &HostBuf, b: &HostBuf) -> Result<HostBuf> {
        let (c, a, b) = (cond.read(), a.read(), b.read());
        Ok(out(c.len(), |o| cpu::where_select(&c, &a, &b, o)))
    }

    fn strided_copy(
        &self,
        x: &HostBuf,
        offset: usize,
        shape: &[usize],
        strides: &[usize],
    ) -> Result<HostBuf> {
        let x = x.read();
        let n = shape.iter().product();
        Ok(out(n, |o| {
            if n > 0 {
                cpu::strided_copy(&x[offset..], shape, strides, o)
            }
        }))
    }

    fn cat(&self, parts: &[(&HostBuf, usize)], outer: usize, inner: usize) -> Result<HostBuf> {
        let row: usize = parts.iter().map(|(_, len)| len * inner).sum();
        // The parts cover every column of every row.
        Ok(out(outer * row, |o| {
            let mut start = 0;
            for (s, len) in parts {
                let chunk = len * inner;
                let src = s.read();
                for r in 0..outer {
                    o[r * row + start..r * row + start + chunk]
                        .copy_from_slice(&src[r * chunk..(r + 1) * chunk]);
                }
                start += chunk;
            }
        }))
    }

    fn reduce(
        &self,
        op: ReduceOp,
        x: &HostBuf,
        outer: usize,
        len: usize,
        inner: usize,
    ) -> Result<HostBuf> {
        let x = x.read();
        Ok(out(outer * inner, |o| {
            cpu::reduce(op, &x, outer, len, inner, o)
        }))
    }

    fn topk_rows(&self, x: &HostBuf, cols: usize, k: usize) -> Result<(HostBuf, HostBuf)> {
        let x = x.read();
        let n = x.len() / cols * k;
        let (mut values, mut indices) = (vec![0.0; n], vec![0.0; n]);
        cpu::topk_rows(&x, cols, k, &mut values, &mut indices);
        Ok((HostBuf::new(values), HostBuf::new(indices)))
    }

    fn argmax(&self, x: &HostBuf, outer: usize, len: usize, inner: usize) -> Result<HostBuf> {
        let x = x.read();
        Ok(out(outer * inner, |o| {
            cpu::argmax(&x, outer, len, inner, o)
        }))
    }

    fn sum_squares(&self, x: &HostBuf) -> Result<f32> {
        Ok(cpu::sum_squares(&x.read()))
    }

    fn softmax(&self, x: &HostBuf, rows: usize, cols: usize, log: bool) -> Result<HostBuf> {
        let x = x.read();
        Ok(out(rows * cols, |o| match log {
            true => cpu::log_softmax(&x, rows, cols, o),
            false => cpu::softmax(&x, rows, cols, o),
        }))
    }

    fn softmax_backward(
        &self,
        y: &HostBuf,
        gy: &HostBuf,
        rows: usize,
        cols: usize,
        log: bool,
    ) -> Result<HostBuf> {
        let (y, gy) = (y.read(), gy.read());
        Ok(out(rows * cols, |gx| match log {
            true => cpu::log_softmax_backward(&y, &gy, rows, cols, gx),
            false => cpu::softmax_backward(&y, &gy, rows, cols, gx),
        }))
    }

    fn layer_norm(
        &self,
        x: &HostBuf,
        (gamma, beta): (Option<&HostBuf>, Option<&HostBuf>),
        rows: usize,
        cols: usize,
        eps: f32,
    ) -> Result<(HostBuf, HostBuf, HostBuf)> {
        let x = x.read();
        let (g, b) = (gamma.map(HostBuf::read), beta.map(HostBuf::read));
        let mut y = host_pool::take(rows * cols);
        let (mut mean, mut rstd) = (vec![0.0; rows], vec![0.0; rows]);
        cpu::layer_norm(
            &x,
            g.as_deref().map(Vec::as_slice),
            b.as_deref().map(Vec::as_slice),
            rows,
            cols,
            eps,
            &mut y,
            &mut mean,
            &mut rstd,
        );
        Ok((HostBuf::new(y), HostBuf::new(mean), HostBuf::new(rstd)))
    }

    fn layer_norm_backward(
        &self,
        x: &HostBuf,
        gamma: Option<&HostBuf>,
        (mean, rstd): (&HostBuf, &HostBuf),
        gy: &HostBuf,
        rows: usize,
        cols: usize,
        with_beta: bool,
    ) -> Result<NormGrads<HostBuf>> {
        let (x, mean, rstd, gy) = (x.read(), mean.read(), rstd.read(), gy.read());
        let g = gamma.map(HostBuf::read);
        let mut gx = host_pool::take(rows * cols);
        let mut gg = gamma.map(|_| vec![0.0; cols]);
        let mut gb = with_beta.then(|| vec![0.0; cols]);
        cpu::layer_norm_backward(
            &x,
            g.as_deref().map(Vec::as_slice),
            &mean,
            &rstd,
            &gy,
            rows,
            cols,
            &mut gx,
            gg.as_deref_mut(),
            gb.as_deref_mut(),
        );
        Ok((HostBuf::new(gx), gg.map(HostBuf::new), gb.map(HostBuf::new)))
    }

    fn cross_entropy(
        &self,
        logits: &HostBuf,
        targets: &HostBuf,
        (rows, cols): (usize, usize),
        ignore_index: i64,
        smoothing: f32,
    ) -> Result<(HostBuf, HostBuf, HostBuf)> {
        let (x, t) = (logits.read(), targets.read());
        let (mut loss, mut lse) = (vec![0.0; rows], vec![0.0; rows]);
        let count = cpu::cross_entropy(
            &x,
            &t,
            rows,
            cols,
            ignore_index,
            smoothing,
            &mut loss,
            &mut lse,
        );
        Ok((
            HostBuf::new(loss),
            HostBuf::new(lse),
            HostBuf::new(vec![count as f32]),
        ))
    }

    fn cross_entropy_backward(
        &self,
        logits: &HostBuf,
        targets: &HostBuf,
        lse: &HostBuf,
        gloss: &HostBuf,
        (rows, cols): (usize, usize),
        ignore_index: i64,
        smoothing: f32,
    ) -> Result<HostBuf> {
        let (x, t, l, g) = (logits.read(), targets.read(), lse.read(), gloss.read());
        Ok(out(rows * cols, |gx| {
            cpu::cross_entropy_backward(&x, &t, &l, &g, rows, cols, ignore_index, smoothing, gx)
        }))
    }

    fn gather_rows(&self, table: &HostBuf, dim: usize, ids: &HostBuf) -> Result<HostBuf> {
        let (t, i) = (table.read(), ids.read());
        Ok(out(i.len() * dim, |o| cpu::gather_rows(&t, dim, &i, o)))
    }

    fn scatter_add_rows(
        &self,
        grad: &HostBuf,
        dim: usize,
        ids: &HostBuf,
        rows: usize,
    ) -> Result<HostBuf> {
        let (g, i) = (grad.read(), ids.read());
        Ok(zeroed(rows * dim, |o| {
            cpu::scatter_add_rows(&g, dim, &i, o)
        }))
    }

    fn index_select(
        &self,
        x: &HostBuf,
        (outer, len, inner): (usize, usize, usize),
        ids: &HostBuf,
    ) -> Result<HostBuf> {
        let (x, i) = (x.read(), ids.read());
        Ok(out(outer * i.len() * inner, |o| {
            cpu::index_select(&x, outer, len, inner, &i, o)
        }))
    }

    fn index_add(
        &self,
        grad: &HostBuf,
        (outer, len, inner): (usize, usize, usize),
        ids: &HostBuf,
    ) -> Result<HostBuf> {
        let (g, i) = (grad.read(), ids.read());
        Ok(zeroed(outer * len * inner, |gx| {
            cpu::index_add(&g, outer, len, inner, &i, gx)
        }))
    }

    fn matmul(&self, a: &HostBuf, b: &HostBuf, g: Gemm) -> Result<HostBuf> {
        let (a, b) = (a.read(), b.read());
        Ok(out(g.batch * g.m * g.n, |c| product(&a, &b, g, 0.0, c)))
    }

    fn uniform(&self, seed: u64, offset: u64, lo: f32, hi: f32, n: usize) -> Result<HostBuf> {
        Ok(out(n, |o| cpu::fill_uniform(seed, offset, lo, hi, o)))
    }

    fn normal(&self, seed: u64, offset: u64, mean: f32, std: f32, n: usize) -> Result<HostBuf> {
        Ok(out(n, |o| cpu::fill_normal(seed, offset, mean, std, o)))
    }

    fn dropout_mask(&self, seed: u64, offset: u64, p: f32, n: usize) -> Result<HostBuf> {
        Ok(out(n, |o| cpu::dropout_mask(seed, offset, p, o)))
    }

    fn adam_step(
        &self,
        p: &HostBuf,
        g: &HostBuf,
        (m, v): (&HostBuf, &HostBuf),
        hp: &AdamParams,
    ) -> Result<()> {
        let g = g.read();
        cpu::adam_step(&mut p.write(), &g, &mut m.write(), &mut v.write(), hp);
        Ok(())
    }

    fn sgd_step(
        &self,
        p: &HostBuf,
        g: &HostBuf,
        momentum_buf: Option<&HostBuf>,
        hp: &SgdParams,
    ) -> Result<()> {
        let g = g.read();
        let mut b = momentum_buf.map(HostBuf::write);
        cpu::sgd_step(
            &mut p.write(),
            &g,
            b.as_deref_mut().map(Vec::as_mut_slice),
            hp.lr,
            hp.momentum,
            hp.dampening,
            hp.weight_decay,
            hp.nesterov,
            hp.first_step,
        );
        Ok(())
    }

    // ------------------------------------------------- fused overrides

    /// One GEMM whose write-back adds the bias: no second pass over the output.
    fn linear(
        &self,
        x: &HostBuf,
        w: &HostBuf,
        b: &HostBuf,
        [rows, out_f, in_f]: [usize; 3],
    ) -> Result<HostBuf> {
        let (x, w, b) = (x.read(), w.read(), b.read());
        Ok(out(rows * out_f, |c| {
            cpu::sgemm_bias(
                false, true, rows, out_f, in_f, 1.0, &x, in_f, &w, in_f, &b, c, out_f,
            )
        }))
    }

    /// The GEMM's `beta = 1` adds into the sum as it writes.
    fn matmul_add(&self, a: &HostBuf, b: &HostBuf, g: Gemm, dst: &HostBuf) -> Result<()> {
        let (a, b) = (a.read(), b.read());
        product(&a, &b, g, 1.0, &mut dst.write());
        Ok(())
    }

    /// One pass over the block (kernels-cpu accumulate.rs says why in place).
    fn add_into_block(
        &self,
        dst: &HostBuf,
        src: &HostBuf,
        (outer, full, inner): (usize, usize, usize),
        start: usize,
    ) -> Result<()> {
        let src = src.read();
        cpu::add_into_block(&mut dst.write(), &src, outer, full, start, inner);
        Ok(())
    }

    /// Reads each head where it lies: no copies between head layouts.
    fn head_product(&self, h: &Heads, a: &HostBuf, b: &HostBuf) -> Result<HostBuf> {
        let (a, b) = (a.read(), b.read());
        Ok(out(h.seqs * h.c.per_seq, |c| {
            cpu::sgemm_heads(
                h.seqs,
                h.heads,
                h.trans,
                h.mnk,
                h.alpha,
                (&a, h.a),
                (&b, h.b),
                (c, h.c),
            )
        }))
    }

    /// Never writes the `[B, Tq, S, A]` tanh (kernels-cpu additive.rs).
    fn log_softmax_topk(
        &self,
        x: &HostBuf,
        rows: usize,
        cols: usize,
        k: usize,
    ) -> Result<(HostBuf, HostBuf)> {
        let x = x.read();
        let (mut values, mut indices) = (host_pool::take(rows * k), host_pool::take(rows * k));
        cpu::log_softmax_topk(&x, cols, k, &mut values, &mut indices);
        Ok((HostBuf::new(values), HostBuf::new(indices)))
    }

    fn select_cat(
        &self,
        past: &HostBuf,
        ids: Option<&HostBuf>,
        new: &HostBuf,
        s: SelectCat,
    ) -> Result<HostBuf> {
        let (past, new) = (past.read(), new.read());
        let ids = ids.map(HostBuf::read);
        let n = s.picked * s.outer * (s.len + s.extra) * s.inner;
        let ids = ids.as_ref().map(|g| g.as_slice());
        Ok(out(n, |o| cpu::select_cat(&past, ids, &new, s, o)))
    }

    fn additive_score(
        &self,
        sizes: Additive,
        q: &HostBuf,
        k: &HostBuf,
        v: &HostBuf,
    ) -> Result<HostBuf> {
        let (q, k, v) = (q.read(), k.read(), v.read());
        let n = sizes.batch * sizes.tq * sizes.s;
        Ok(out(n, |e| cpu::additive_score(sizes, &q, &k, &v, e)))
    }

    fn additive_score_backward(
        &self,
        sizes: Additive,
        (q, k, v): (&HostBuf, &HostBuf, &HostBuf),
        g: &HostBuf,
    ) -> Result<(HostBuf, HostBuf, HostBuf)> {
        let (q, k, v, g) = (q.read(), k.read(), v.read(), g.read());
        let mut dq = host_pool::take(q.len());
        let mut dk = host_pool::take(k.len());
        let dv = out(v.len(), |dv| {
            cpu::additive_score_backward(sizes, &q, &k, &v, &g, &mut dq, &mut dk, dv)
        });
        Ok((HostBuf::new(dq), HostBuf::new(dk), dv))
    }

    /// The four gate equations in one pass (kernels-cpu gru_cell.rs).
    fn gru_cell(
        &self,
        gi: &HostBuf,
        gh: &HostBuf,
        h: &HostBuf,
        (rows, hidden): (usize, usize),
    ) -> Result<(HostBuf, HostBuf)> {
        let (gi, gh, h) = (gi.read(), gh.read(), h.read());
        let mut ws = host_pool::take(rows * 4 * hidden);
        let h_next = out(rows * hidden, |o| {
            cpu::gru_cell(&gi, &gh, &h, rows, hidden, o, &mut ws)
        });
        Ok((h_next, HostBuf::new(ws)))
    }

    fn gru_cell_backward(
        &self,
        ws: &HostBuf,
        h: &HostBuf,
        g: &HostBuf,
        (rows, hidden): (usize, usize),
    ) -> Result<(HostBuf, HostBuf, HostBuf)> {
        let (ws, h, g) = (ws.read(), h.read(), g.read());
        let mut d_gi = host_pool::take(rows * 3 * hidden);
        let mut d_gh = host_pool::take(rows * 3 * hidden);
        let d_h = out(rows * hidden, |d_h| {
            cpu::gru_cell_backward(&ws, &h, &g, rows, hidden, &mut d_gi, &mut d_gh, d_h)
        });
        Ok((HostBuf::new(d_gi), HostBuf::new(d_gh), d_h))
    }

    /// The mask is drawn as it is applied, never stored.
    fn dropout_apply(&self, seed: u64, offset: u64, p: f32, x: &HostBuf) -> Result<HostBuf> {
        let x = x.read();
        Ok(out(x.len(), |o| cpu::dropout_apply(seed, offset, p, &x, o)))
    }
}
