//! The GPU backend: the WGSL shaders of `kernels-gpu` on wgpu buffers. It
//! implements the primitives and overrides the fused ops that have a fused
//! shader (Linear with its bias, the recurrent cells, the additive score,
//! attention's per-head products, dropout, in-place gradient sums, narrow's
//! backward and its first block); the others run as the trait's composed defaults.

use super::{gpu_err, Backend, Gemm, Heads, NormGrads, SgdParams};
use crate::Result;
use kernels_cpu::{AdamParams, Additive, BinaryOp, ReduceOp, UnaryOp};
use kernels_gpu::{self as gpu, GpuBuffer, GpuError};

pub(crate) struct Gpu;

/// Allocates `n` outputs (contents unspecified) and runs the launcher `f` on them.
fn out(
    n: usize,
    f: impl FnOnce(&GpuBuffer) -> std::result::Result<(), GpuError>,
) -> Result<GpuBuffer> {
    let out = GpuBuffer::uninit(n).map_err(gpu_err)?;
    f(&out).map_err(gpu_err)?;
    Ok(out)
}

/// Like `out`, for kernels that add into their output.
fn zeroed(
    n: usize,
    f: impl FnOnce(&GpuBuffer) -> std::result::Result<(), GpuError>,
) -> Result<GpuBuffer> {
    let out = GpuBuffer::zeros(n).map_err(gpu_err)?;
    f(&out).map_err(gpu_err)?;
    Ok(out)
}

/// `c = op(A)·op(B) + beta · c` for the backend's `Gemm` (C contiguous).
fn gemm(
    a: &GpuBuffer,
    b: &GpuBuffer,
    g: Gemm,
    beta: f32,
    c: &GpuBuffer,
) -> std::result::Result<(), GpuError> {
    let (lda, ldb) = g.ld();
    gpu::sgemm_batched(
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

fn alloc(n: usize) -> Result<GpuBuffer> {
    GpuBuffer::uninit(n).map_err(gpu_err)
}

impl Backend for Gpu {
    type Buf = GpuBuffer;

    fn len(&self, x: &GpuBuffer) -> usize {
        x.len()
    }

    fn upload(&self, host: &[f32]) -> Result<GpuBuffer> {
        GpuBuffer::from_slice(host).map_err(gpu_err)
    }

    fn filled(&self, value: f32, n: usize) -> Result<GpuBuffer> {
        GpuBuffer::filled(n, value).map_err(gpu_err)
    }

    fn copy_into(&self, src: &GpuBuffer, dst: &GpuBuffer) -> Result<()> {
        if GpuBuffer::same_buffer(src, dst) {
            return Ok(());
        }
        gpu::strided_copy(src, &[src.len()], &[1], dst).map_err(gpu_err)
    }

    fn unary(&self, op: UnaryOp, x: &GpuBuffer) -> Result<GpuBuffer> {
        out(x.len(), |o| gpu::unary(op, x, o))
    }

    fn binary(
        &self,
        op: BinaryOp,
        (a, a_strides): (&GpuBuffer, &[usize]),
        (b, b_strides): (&GpuBuffer, &[usize]),
        out_shape: &[usize],
    ) -> Result<GpuBuffer> {
        out(out_shape.iter().product(), |o| {
            gpu::binary(op, a, a_strides, b, b_strides, out_shape, o)
        })
    }

    fn where_select(&self, cond: &GpuBuffer, a: &GpuBuffer, b: &GpuBuffer) -> Result<GpuBuffer> {
        out(cond.len(), |o| gpu::where_select(cond, a, b, o))
    }

    fn strided_copy(
        &self,
        x: &GpuBuffer,
        offset: usize,
        shape: &[usize],
        strides: &[usize],
    ) -> Result<GpuBuffer> {
        let contiguous = crate::Shape::new(shape).strides();
        out(shape.iter().product(), |o| {
            gpu::copy_view(x, offset, strides, shape, o, 0, &contiguous)
        })
    }

    fn cat(&self, parts: &[(&GpuBuffer, usize)], outer: usize, inner: usize) -> Result<GpuBuffer> {
        let row: usize = parts.iter().map(|(_, len)| len * inner).sum();
        let o = alloc(outer * row)?;
        let mut start = 0;
        for (src, len) in parts {
            let chunk = len * inner;
            // Part i lands in columns start..start+chunk of each output row.
            gpu::copy_view(src, 0, &[chunk, 1], &[outer, chunk], &o, start, &[row, 1])
                .map_err(gpu_err)?;
            start += chunk;
        }
        Ok(o)
    }

    fn reduce(
        &self,
        op: ReduceOp,
        x: &GpuBuffer,
        outer: usize,
        len: usize,
        inner: usize,
    ) -> Result<GpuBuffer> {
        out(outer * inner, |o| gpu::reduce(op, x, outer, len, inner, o))
    }

    fn topk_rows(&self, x: &GpuBuffer, cols: usize, k: usize) -> Result<(GpuBuffer, GpuBuffer)> {
        let n = x.len() / cols * k;
        let (values, indices) = (alloc(n)?, alloc(n)?);
        gpu::topk_rows(x, (x.len() / cols, cols), k, &values, &indices).map_err(gpu_err)?;
        Ok((values, indices))
    }

    fn argmax(&self, x: &GpuBuffer, outer: usize, len: usize, inner: usize) -> Result<GpuBuffer> {
        out(outer * inner, |o| gpu::argmax(x, outer, len, inner, o))
    }

    fn sum_squares(&self, x: &GpuBuffer) -> Result<f32> {
        let total = out(1, |o| gpu::sum_squares(x, o))?;
        Ok(total.to_vec().map_err(gpu_err)?[0])
    }

    /// Every sum into its own slot of one buffer, read back once: a step
    /// that clips waits for the device once, not once per parameter.
    fn sum_squares_each(&self, xs: &[&GpuBuffer]) -> Result<Vec<f32>> {
        if xs.is_empty() {
            return Ok(Vec::new());
        }
        let sums = alloc(xs.len())?;
        for (i, x) in xs.iter().enumerate() {
            gpu::sum_squares_at(x, &sums, i).map_err(gpu_err)?;
        }
        sums.to_vec().map_err(gpu_err)
    }

    fn softmax(&self, x: &GpuBuffer, rows: usize, cols: usize, log: bool) -> Result<GpuBuffer> {
        out(rows * cols, |o| match log {
            true => gpu::log_softmax(x, rows, cols, o),
            false => gpu::softmax(x, rows, cols, o),
        })
    }

    fn softmax_backward(
        &self,
        y: &GpuBuffer,
        gy: &GpuBuffer,
        rows: usize,
        cols: usize,
        log: bool,
    ) -> Result<GpuBuffer> {
        out(rows * cols, |gx| match log {
            true => gpu::log_softmax_backward(y, gy, rows, cols, gx),
            false => gpu::softmax_backward(y, gy, rows, cols, gx),
        })
    }

    fn layer_norm(
        &self,
        x: &GpuBuffer,
        (gamma, beta): (Option<&GpuBuffer>, Option<&GpuBuffer>),
        rows: usize,
        cols: usize,
        eps: f32,
    ) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer)> {
        let (y, mean, rstd) = (alloc(rows * cols)?, alloc(rows)?, alloc(rows)?);
        gpu::layer_norm(x, gamma, beta, rows, cols, eps, &y, &mean, &rstd).map_err(gpu_err)?;
        Ok((y, mean, rstd))
    }

    fn layer_norm_backward(
        &self,
        x: &GpuBuffer,
        gamma: Option<&GpuBuffer>,
        (mean, rstd): (&GpuBuffer, &GpuBuffer),
        gy: &GpuBuffer,
        rows: usize,
        cols: usize,
        with_beta: bool,
    ) -> Result<NormGrads<GpuBuffer>> {
        let gx = alloc(rows * cols)?;
        let gg = gamma.map(|_| alloc(cols)).transpose()?;
        let gb = with_beta.then(|| alloc(cols)).transpose()?;
        gpu::layer_norm_backward(
            x,
            gamma,
            mean,
            rstd,
            gy,
            rows,
            cols,
            &gx,
            gg.as_ref(),
            gb.as_ref(),
        )
        .map_err(gpu_err)?;
        Ok((gx, gg, gb))
    }

    fn cross_entropy(
        &self,
        logits: &GpuBuffer,
        targets: &GpuBuffer,
        (rows, cols): (usize, usize),
        ignore_index: i64,
        smoothing: f32,
    ) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer)> {
        let (loss, lse, counted, count) = (alloc(rows)?, alloc(rows)?, alloc(rows)?, alloc(1)?);
        gpu::cross_entropy(
            logits,
            targets,
            rows,
            cols,
            ignore_index,
            smoothing,
            &loss,
            &lse,
            &counted,
        )
        .map_err(gpu_err)?;
        // `counted` marks each row 1 or 0; their sum divides the mean.
        gpu::sum_all(&counted, &count).map_err(gpu_err)?;
        Ok((loss, lse, count))
    }

    fn cross_entropy_backward(
        &self,
        logits: &GpuBuffer,
        targets: &GpuBuffer,
        lse: &GpuBuffer,
        gloss: &GpuBuffer,
        (rows, cols): (usize, usize),
        ignore_index: i64,
        smoothing: f32,
    ) -> Result<GpuBuffer> {
        out(rows * cols, |gx| {
            gpu::cross_entropy_backward(
                logits,
                targets,
                lse,
                gloss,
                rows,
                cols,
                ignore_index,
                smoothing,
                gx,
            )
        })
    }

    fn gather_rows(&self, table: &GpuBuffer, dim: usize, ids: &GpuBuffer) -> Result<GpuBuffer> {
        out(ids.len() * dim, |o| gpu::gather_rows(table, dim, ids, o))
    }

    fn scatter_add_rows(
        &self,
        grad: &GpuBuffer,
        dim: usize,
        ids: &GpuBuffer,
        rows: usize,
    ) -> Result<GpuBuffer> {
        zeroed(rows * dim, |o| gpu::scatter_add_rows(grad, dim, ids, o))
    }

    fn index_select(
        &self,
        x: &GpuBuffer,
        (outer, len, inner): (usize, usize, usize),
        ids: &GpuBuffer,
    ) -> Result<GpuBuffer> {
        out(outer * ids.len() * inner, |o| {
            gpu::index_select(x, outer, len, inner, ids, o)
        })
    }

    fn index_add(
        &self,
        grad: &GpuBuffer,
        (outer, len, inner): (usize, usize, usize),
        ids: &GpuBuffer,
    ) -> Result<GpuBuffer> {
        zeroed(outer * len * inner, |gx| {
            gpu::index_add(grad, outer, len, inner, ids, gx)
        })
    }

    fn matmul(&self, a: &GpuBuffer, b: &GpuBuffer, g: Gemm) -> Result<GpuBuffer> {
        out(g.batch * g.m * g.n, |c| gemm(a, b, g, 0.0, c))
    }

    fn uniform(&self, seed: u64, offset: u64, lo: f32, hi: f32, n: usize) -> Result<GpuBuffer> {
        out(n, |o| gpu::fill_uniform(seed, offset, lo, hi, o))
    }

    fn normal(&self, seed: u64, offset: u64, mean: f32, std: f32, n: usize) -> Result<GpuBuffer> {
        out(n, |o| gpu::fill_normal(seed, offset, mean, std, o))
    }

    fn dropout_mask(&self, seed: u64, offset: u64, p: f32, n: usize) -> Result<GpuBuffer> {
        out(n, |o| gpu::dropout_mask(seed, offset, p, o))
    }

    fn adam_step(
        &self,
        p: &GpuBuffer,
        g: &GpuBuffer,
        (m, v): (&GpuBuffer, &GpuBuffer),
        hp: &AdamParams,
    ) -> Result<()> {
        gpu::adam_step(p, g, m, v, hp).map_err(gpu_err)
    }

    fn sgd_step(
        &self,
        p: &GpuBuffer,
        g: &GpuBuffer,
        momentum_buf: Option<&GpuBuffer>,
        hp: &SgdParams,
    ) -> Result<()> {
        gpu::sgd_step(
            p,
            g,
            momentum_buf,
            hp.lr,
            hp.momentum,
            hp.dampening,
            hp.weight_decay,
            hp.nesterov,
            hp.first_step,
        )
        .map_err(gpu_err)
    }
    // ============================================================ fused ops

    /// The bias is added in the GEMM's store: one dispatch, not two.
    fn linear(
        &self,
        x: &GpuBuffer,
        w: &GpuBuffer,
        b: &GpuBuffer,
        rows_out_in: [usize; 3],
    ) -> Result<GpuBuffer> {
        let [rows, out_f, _] = rows_out_in;
        out(rows * out_f, |o| gpu::linear(x, w, b, rows_out_in, o))
    }

    /// One GEMM with beta = 1 writes the sum in place: no product buffer,
    /// no add, no copy back.
    fn matmul_add(&self, a: &GpuBuffer, b: &GpuBuffer, g: Gemm, dst: &GpuBuffer) -> Result<()> {
        gemm(a, b, g, 1.0, dst).map_err(gpu_err)
    }

    /// One pass adding `src` onto its block of each row of `dst`.
    fn add_into_block(
        &self,
        dst: &GpuBuffer,
        src: &GpuBuffer,
        (outer, full, inner): (usize, usize, usize),
        start: usize,
    ) -> Result<()> {
        if outer * inner == 0 {
            return Ok(());
        }
        let chunk = src.len() / outer;
        let (row, at) = (full * inner, start * inner);
        gpu::add_view(src, 0, &[chunk, 1], &[outer, chunk], dst, at, &[row, 1]).map_err(gpu_err)
    }

    /// One pass writing the block and the zeros around it: no fill first.
    fn pad_block(
        &self,
        src: &GpuBuffer,
        (outer, full, inner): (usize, usize, usize),
        start: usize,
    ) -> Result<GpuBuffer> {
        let n = outer * full * inner;
        out(n, |o| gpu::pad_block(src, (outer, full, inner), start, o))
    }

    /// One pass, the mask drawn in the kernel: no mask buffer, no multiply.
    fn dropout_apply(&self, seed: u64, offset: u64, p: f32, x: &GpuBuffer) -> Result<GpuBuffer> {
        out(x.len(), |o| gpu::dropout_apply(seed, offset, p, x, o))
    }

    /// One GEMM over the two-level (sequence, head) batch: each head read
    /// where the projections left it and written where the next op reads
    /// it, the scale in the store; no gather, scatter or scaling pass.
    fn head_product(&self, h: &Heads, a: &GpuBuffer, b: &GpuBuffer) -> Result<GpuBuffer> {
        let [m, n, k] = h.mnk;
        let g = gpu::Gemm {
            batch: h.seqs * h.heads,
            trans_a: h.trans.0,
            trans_b: h.trans.1,
            m,
            n,
            k,
            alpha: h.alpha,
            lda: h.a.ld,
            stride_a: h.a.per_seq,
            ldb: h.b.ld,
            stride_b: h.b.per_seq,
            beta: 0.0,
            ldc: h.c.ld,
            stride_c: h.c.per_seq,
        };
        let split = gpu::HeadSplit {
            heads: h.heads,
            head_a: h.a.per_head,
            head_b: h.b.per_head,
            head_c: h.c.per_head,
        };
        out(h.seqs * h.c.per_seq, |c| {
            gpu::sgemm_heads(&g, split, a, b, c)
        })
    }

    /// One dispatch each way (shaders/additive.wgsl); the `[B, Tq, S, A]`
    /// tanh of the composed form is never written.
    fn additive_score(
        &self,
        sizes: Additive,
        q: &GpuBuffer,
        k: &GpuBuffer,
        v: &GpuBuffer,
    ) -> Result<GpuBuffer> {
        let e = alloc(sizes.batch * sizes.tq * sizes.s)?;
        gpu::additive_score(sizes, q, k, v, &e).map_err(gpu_err)?;
        Ok(e)
    }

    fn additive_score_backward(
        &self,
        sizes: Additive,
        (q, k, v): (&GpuBuffer, &GpuBuffer, &GpuBuffer),
        g: &GpuBuffer,
    ) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer)> {
        let Additive { batch, tq, s, a } = sizes;
        let (dq, dk, dv) = (alloc(batch * tq * a)?, alloc(batch * s * a)?, alloc(a)?);
        gpu::additive_score_backward(sizes, (q, k, v), g, (&dq, &dk, &dv)).map_err(gpu_err)?;
        Ok((dq, dk, dv))
    }

    fn gru_cell(
        &self,
        gi: &GpuBuffer,
        gh: &GpuBuffer,
        h: &GpuBuffer,
        (rows, hidden): (usize, usize),
    ) -> Result<(GpuBuffer, GpuBuffer)> {
        let (h_next, ws) = (alloc(rows * hidden)?, alloc(rows * 4 * hidden)?);
        gpu::gru_cell(gi, gh, h, (rows, hidden), &h_next, &ws).map_err(gpu_err)?;
        Ok((h_next, ws))
    }

    fn gru_cell_backward(
        &self,
        ws: &GpuBuffer,
        h: &GpuBuffer,
        g: &GpuBuffer,
        (rows, hidden): (usize, usize),
    ) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer)> {
        let gates = rows * 3 * hidden;
        let (d_gi, d_gh, d_h) = (alloc(gates)?, alloc(gates)?, alloc(rows * hidden)?);
        gpu::gru_cell_backward(ws, h, g, (rows, hidden), (&d_gi, &d_gh, &d_h)).map_err(gpu_err)?;
        Ok((d_gi, d_gh, d_h))
    }

    fn lstm_cell(
        &self,
        gates: &GpuBuffer,
        c: &GpuBuffer,
        (rows, hidden): (usize, usize),
    ) -> Result<(GpuBuffer, GpuBuffer)> {
        let (hc, ws) = (alloc(rows * 2 * hidden)?, alloc(rows * 5 * hidden)?);
        gpu::lstm_cell(gates, c, (rows, hidden), &hc, &ws).map_err(gpu_err)?;
        Ok((hc, ws))
    }

    fn lstm_cell_backward(
        &self,
        ws: &GpuBuffer,
        c: &GpuBuffer,
        g: &GpuBuffer,
        (rows, hidden): (usize, usize),
    ) -> Result<(GpuBuffer, GpuBuffer)> {
        let (d_gates, d_c) = (alloc(rows * 4 * hidden)?, alloc(rows * hidden)?);
        gpu::lstm_cell_backward(ws, c, g, (rows, hidden), (&d_gates, &d_c)).map_err(gpu_err)?;
        Ok((d_gates, d_c))
    }
}
