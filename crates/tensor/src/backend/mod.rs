//! Where ops meet devices: the [`Backend`] trait.
//!
//! A backend owns one kind of buffer (`Buf`: a locked host `Vec` for
//! [`Cpu`], a wgpu buffer for [`Gpu`]) and runs kernels on it. The trait has
//! two halves:
//!
//! - **required primitives** — element-wise maps, strided copies, products,
//!   reductions, softmax, layer norm, the loss, indexing, random fills and
//!   the optimizer updates. A new device implements these and nothing else.
//! - **provided fused ops** — Linear with its bias, the GRU cell and its
//!   gradients, the LSTM cell and its gradients, the additive attention
//!   score and its gradients, per-head
//!   products, a product added into a gradient sum, a block added into a
//!   slice's gradient, dropout. Each default body is the composed form,
//!   written once in primitives (composed.rs); a backend overrides the ones
//!   it has a faster kernel for. The CPU overrides all but the LSTM cell
//!   with its fused kernels; the GPU runs the composed forms, so the same op, the same
//!   saved workspace and the same backward run on both devices.
//!
//! Ops in `ops/` call the free functions at the bottom of this file, which
//! pick the backend from the storages' device. Ops check devices first, so
//! the buffers a backend receives are always its own.

mod composed;
mod cpu;
mod gpu;
#[cfg(test)]
mod gpu_tests;
#[cfg(test)]
mod tests;

pub(crate) use cpu::Cpu;
pub(crate) use gpu::Gpu;

use crate::storage::{HostBuf, Storage};
use crate::{Device, Error, Result, Tensor};
pub(crate) use kernels_cpu::{AdamParams, Additive, HeadMats};
pub use kernels_cpu::{BinaryOp, ReduceOp, SelectCat, UnaryOp};
use kernels_gpu::{GpuBuffer, GpuError};

/// The settings of one SGD update (PyTorch's `torch.optim.SGD`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SgdParams {
    pub lr: f32,
    pub momentum: f32,
    pub dampening: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
    /// The momentum buffer starts as the first gradient.
    pub first_step: bool,
}

/// A product's sizes: `batch` products `op(A)·op(B)` of `m × k` by `k × n`,
/// each operand `stride` floats after the previous (0 reuses one matrix).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gemm {
    pub batch: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    pub stride_a: usize,
    pub stride_b: usize,
}

impl Gemm {
    /// The leading dimensions of A and B stored row-major as `op` says.
    pub fn ld(&self) -> (usize, usize) {
        let lda = if self.trans_a { self.m } else { self.k };
        let ldb = if self.trans_b { self.k } else { self.n };
        (lda, ldb)
    }
}

/// Per-head products `C_bh = alpha · op(A_bh) · op(B_bh)` for `seqs`
/// sequences of `heads` heads, each operand laid out as its [`HeadMats`]
/// says (kernels-cpu gemm/heads.rs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Heads {
    pub seqs: usize,
    pub heads: usize,
    pub trans: (bool, bool),
    /// `[m, n, k]` of one head's product.
    pub mnk: [usize; 3],
    pub alpha: f32,
    pub a: HeadMats,
    pub b: HeadMats,
    pub c: HeadMats,
}

/// `(gx, ggamma, gbeta)` of a layer norm.
pub(crate) type NormGrads<B> = (B, Option<B>, Option<B>);

/// A compute device: the primitives it must implement and the fused ops it
/// may override.
pub(crate) trait Backend: Sized {
    /// A contiguous f32 buffer on this device.
    type Buf;

    // ------------------------------------------------------------- memory

    fn len(&self, x: &Self::Buf) -> usize;
    /// A buffer holding `host`.
    fn upload(&self, host: &[f32]) -> Result<Self::Buf>;
    fn filled(&self, value: f32, n: usize) -> Result<Self::Buf>;
    /// Writes `src` over `dst` (same length; they may be the same buffer).
    fn copy_into(&self, src: &Self::Buf, dst: &Self::Buf) -> Result<()>;

    // --------------------------------------------------------- elementwise

    fn unary(&self, op: UnaryOp, x: &Self::Buf) -> Result<Self::Buf>;
    /// `op(a, b)` over `out_shape`, each operand read through its strides
    /// (0 along a broadcast axis).
    fn binary(
        &self,
        op: BinaryOp,
        a: (&Self::Buf, &[usize]),
        b: (&Self::Buf, &[usize]),
        out_shape: &[usize],
    ) -> Result<Self::Buf>;
    /// `cond != 0 ? a : b`, element by element.
    fn where_select(&self, cond: &Self::Buf, a: &Self::Buf, b: &Self::Buf) -> Result<Self::Buf>;

    // ------------------------------------------------------------ movement

    /// Gathers the strided view (`offset`, `shape`, `strides`) of `x` into a
    /// new contiguous buffer: transpose, permute, narrow and broadcast.
    fn strided_copy(
        &self,
        x: &Self::Buf,
        offset: usize,
        shape: &[usize],
        strides: &[usize],
    ) -> Result<Self::Buf>;
    /// Concatenates `[outer, len_i, inner]` views along their middle axis.
    fn cat(&self, parts: &[(&Self::Buf, usize)], outer: usize, inner: usize) -> Result<Self::Buf>;

    // ---------------------------------------------------------- reductions

    /// `[outer, len, inner]` → `[outer, inner]`.
    fn reduce(
        &self,
        op: ReduceOp,
        x: &Self::Buf,
        outer: usize,
        len: usize,
        inner: usize,
    ) -> Result<Self::Buf>;
    fn argmax(&self, x: &Self::Buf, outer: usize, len: usize, inner: usize) -> Result<Self::Buf>;
    /// `(values, indices)` `[rows, k]` of the k best entries of each row of
    /// `cols` (kernels_cpu::topk_rows: higher first, lower index on ties).
    fn topk_rows(&self, x: &Self::Buf, cols: usize, k: usize) -> Result<(Self::Buf, Self::Buf)>;
    /// Σ x², brought to the host (gradient clipping needs the number).
    fn sum_squares(&self, x: &Self::Buf) -> Result<f32>;

    // --------------------------------------------- softmax, norm and loss

    fn softmax(&self, x: &Self::Buf, rows: usize, cols: usize, log: bool) -> Result<Self::Buf>;
    fn softmax_backward(
        &self,
        y: &Self::Buf,
        gy: &Self::Buf,
        rows: usize,
        cols: usize,
        log: bool,
    ) -> Result<Self::Buf>;
    /// `(y, mean, rstd)` of each of `rows` rows of `cols` features.
    fn layer_norm(
        &self,
        x: &Self::Buf,
        affine: (Option<&Self::Buf>, Option<&Self::Buf>),
        rows: usize,
        cols: usize,
        eps: f32,
    ) -> Result<(Self::Buf, Self::Buf, Self::Buf)>;
    /// `(gx, ggamma, gbeta)`: ggamma when gamma is given, gbeta when asked.
    #[allow(clippy::too_many_arguments)]
    fn layer_norm_backward(
        &self,
        x: &Self::Buf,
        gamma: Option<&Self::Buf>,
        stats: (&Self::Buf, &Self::Buf),
        gy: &Self::Buf,
        rows: usize,
        cols: usize,
        with_beta: bool,
    ) -> Result<NormGrads<Self::Buf>>;
    /// `(per-row loss, per-row log-sum-exp, counted rows)`; the count stays
    /// a one-element buffer on the device so the mean needs no sync.
    fn cross_entropy(
        &self,
        logits: &Self::Buf,
        targets: &Self::Buf,
        rows_cols: (usize, usize),
        ignore_index: i64,
        smoothing: f32,
    ) -> Result<(Self::Buf, Self::Buf, Self::Buf)>;
    #[allow(clippy::too_many_arguments)]
    fn cross_entropy_backward(
        &self,
        logits: &Self::Buf,
        targets: &Self::Buf,
        lse: &Self::Buf,
        gloss: &Self::Buf,
        rows_cols: (usize, usize),
        ignore_index: i64,
        smoothing: f32,
    ) -> Result<Self::Buf>;

    // ------------------------------------------------------------ indexing

    /// Rows `ids` of a `[_, dim]` table.
    fn gather_rows(&self, table: &Self::Buf, dim: usize, ids: &Self::Buf) -> Result<Self::Buf>;
    /// The table gradient: `rows` rows, each the sum of the `grad` rows of its ids.
    fn scatter_add_rows(
        &self,
        grad: &Self::Buf,
        dim: usize,
        ids: &Self::Buf,
        rows: usize,
    ) -> Result<Self::Buf>;
    /// `[outer, len, inner]` → `[outer, ids, inner]`.
    fn index_select(
        &self,
        x: &Self::Buf,
        sizes: (usize, usize, usize),
        ids: &Self::Buf,
    ) -> Result<Self::Buf>;
    /// The gradient of `index_select`: `[outer, ids, inner]` → `[outer, len, inner]`.
    fn index_add(
        &self,
        grad: &Self::Buf,
        sizes: (usize, usize, usize),
        ids: &Self::Buf,
    ) -> Result<Self::Buf>;

    // -------------------------------------------------------------- matmul

    /// `batch · m · n` floats: the products `op(A)·op(B)`.
    fn matmul(&self, a: &Self::Buf, b: &Self::Buf, g: Gemm) -> Result<Self::Buf>;

    // -------------------------------------------------------------- random

    fn uniform(&self, seed: u64, offset: u64, lo: f32, hi: f32, n: usize) -> Result<Self::Buf>;
    fn normal(&self, seed: u64, offset: u64, mean: f32, std: f32, n: usize) -> Result<Self::Buf>;
    /// `0` or `1 / (1 - p)` for each element, from the stream `(seed, offset)`.
    fn dropout_mask(&self, seed: u64, offset: u64, p: f32, n: usize) -> Result<Self::Buf>;

    // ---------------------------------------------------------- optimizers

    /// One Adam/AdamW update of `p` in place, with its moments `m` and `v`.
    fn adam_step(
        &self,
        p: &Self::Buf,
        g: &Self::Buf,
        moments: (&Self::Buf, &Self::Buf),
        hp: &AdamParams,
    ) -> Result<()>;
    fn sgd_step(
        &self,
        p: &Self::Buf,
        g: &Self::Buf,
        momentum_buf: Option<&Self::Buf>,
        hp: &SgdParams,
    ) -> Result<()>;

    // ====================================================== provided fused ops

    /// `x Wᵀ + b`: `x` `[rows, in]`, `W` `[out, in]`, `b` `[out]`.
    fn linear(
        &self,
        x: &Self::Buf,
        w: &Self::Buf,
        b: &Self::Buf,
        rows_out_in: [usize; 3],
    ) -> Result<Self::Buf> {
        composed::linear(self, x, w, b, rows_out_in)
    }

    /// `dst += op(A)·op(B)` in place (a gradient sum no tensor shares).
    fn matmul_add(&self, a: &Self::Buf, b: &Self::Buf, g: Gemm, dst: &Self::Buf) -> Result<()> {
        composed::matmul_add(self, a, b, g, dst)
    }

    /// `dst[:, start..start + len, :] += src` in place, for `dst` viewed as
    /// `[outer, full, inner]` and `src` as `[outer, len, inner]`.
    fn add_into_block(
        &self,
        dst: &Self::Buf,
        src: &Self::Buf,
        (outer, full, inner): (usize, usize, usize),
        start: usize,
    ) -> Result<()> {
        composed::add_into_block(self, dst, src, (outer, full, inner), start)
    }

    /// A new `[outer, full, inner]` buffer holding `src` `[outer, len,
    /// inner]` at `start` along the middle axis and zero elsewhere: the
    /// first gradient that reaches a narrowed tensor.
    fn pad_block(
        &self,
        src: &Self::Buf,
        (outer, full, inner): (usize, usize, usize),
        start: usize,
    ) -> Result<Self::Buf> {
        let dst = self.filled(0.0, outer * full * inner)?;
        self.add_into_block(&dst, src, (outer, full, inner), start)?;
        Ok(dst)
    }

    /// The per-head products of `h` (`seqs · h.c.per_seq` floats).
    fn head_product(&self, h: &Heads, a: &Self::Buf, b: &Self::Buf) -> Result<Self::Buf> {
        composed::head_product(self, h, a, b)
    }

    /// `(values, indices)` `[rows, k]` of the k best entries of each row of
    /// `log_softmax(x)` (`x` `[rows, cols]`): `topk_rows` of `softmax(x,
    /// log)`, same bits, without keeping the `[rows, cols]` distribution
    /// (beam search's candidates).
    fn log_softmax_topk(
        &self,
        x: &Self::Buf,
        rows: usize,
        cols: usize,
        k: usize,
    ) -> Result<(Self::Buf, Self::Buf)> {
        composed::log_softmax_topk(self, x, rows, cols, k)
    }

    /// `cat([past[ids], new])` along the `len` axis (kernels_cpu::select_cat):
    /// the rows `ids` of `past` (`None`: all, in order), each followed by
    /// its rows of `new`. A decoder cache after a beam step, in one copy.
    fn select_cat(
        &self,
        past: &Self::Buf,
        ids: Option<&Self::Buf>,
        new: &Self::Buf,
        sizes: SelectCat,
    ) -> Result<Self::Buf> {
        composed::select_cat(self, past, ids, new, sizes)
    }

    /// `e[b,t,s] = vᵀ tanh(q[b,t] + k[b,s])` (ops/additive.rs).
    fn additive_score(
        &self,
        sizes: Additive,
        q: &Self::Buf,
        k: &Self::Buf,
        v: &Self::Buf,
    ) -> Result<Self::Buf> {
        composed::additive_score(self, sizes, q, k, v)
    }

    /// `(dq, dk, dv)` of the additive score for the output gradient `g`.
    fn additive_score_backward(
        &self,
        sizes: Additive,
        (q, k, v): (&Self::Buf, &Self::Buf, &Self::Buf),
        g: &Self::Buf,
    ) -> Result<(Self::Buf, Self::Buf, Self::Buf)> {
        composed::additive_score_backward(self, sizes, (q, k, v), g)
    }

    /// One GRU step from the gate pre-activations (ops/rnn.rs): `(h', ws)`,
    /// the workspace `[rows, 4H]` holding `r, z, n, gh_n` for the backward.
    fn gru_cell(
        &self,
        gi: &Self::Buf,
        gh: &Self::Buf,
        h: &Self::Buf,
        (rows, hidden): (usize, usize),
    ) -> Result<(Self::Buf, Self::Buf)> {
        composed::gru_cell(self, gi, gh, h, (rows, hidden))
    }

    /// `(d_gi, d_gh, d_h)` of the GRU step for the gradient `g` of `h'`.
    fn gru_cell_backward(
        &self,
        ws: &Self::Buf,
        h: &Self::Buf,
        g: &Self::Buf,
        (rows, hidden): (usize, usize),
    ) -> Result<(Self::Buf, Self::Buf, Self::Buf)> {
        composed::gru_cell_backward(self, ws, h, g, (rows, hidden))
    }

    /// Σ x² of each buffer, brought to the host together: gradient
    /// clipping's per-parameter sums. By default one read per buffer; a
    /// device where a read is a round trip overrides it with one read.
    fn sum_squares_each(&self, xs: &[&Self::Buf]) -> Result<Vec<f32>> {
        xs.iter().map(|x| self.sum_squares(x)).collect()
    }

    /// One LSTM step from the summed gate pre-activations `gates` `[rows,
    /// 4H]` (order i, f, g, o, as PyTorch) and the cell state `c` `[rows, H]`:
    /// `(hc, ws)`, `hc` = `[h' | c']` `[rows, 2H]` and the workspace `[rows,
    /// 5H]` holding `i, f, g, o, tanh c'` for the backward.
    fn lstm_cell(
        &self,
        gates: &Self::Buf,
        c: &Self::Buf,
        (rows, hidden): (usize, usize),
    ) -> Result<(Self::Buf, Self::Buf)> {
        composed::lstm_cell(self, gates, c, (rows, hidden))
    }

    /// `(d_gates, d_c)` of the LSTM step for the gradient `g` of `[h' | c']`.
    fn lstm_cell_backward(
        &self,
        ws: &Self::Buf,
        c: &Self::Buf,
        g: &Self::Buf,
        (rows, hidden): (usize, usize),
    ) -> Result<(Self::Buf, Self::Buf)> {
        composed::lstm_cell_backward(self, ws, c, g, (rows, hidden))
    }

    /// `x · mask` for the dropout mask of `(seed, offset, p)`.
    fn dropout_apply(&self, seed: u64, offset: u64, p: f32, x: &Self::Buf) -> Result<Self::Buf> {
        let n = self.len(x);
        let mask = self.dropout_mask(seed, offset, p, n)?;
        self.binary(BinaryOp::Mul, (x, &[1]), (&mask, &[1]), &[n])
    }
}

// ============================================================== dispatch

/// A backend's buffer inside a [`Storage`].
pub(crate) trait OnDevice: Sized {
    fn of(s: &Storage) -> Result<&Self>;
    fn into_storage(self) -> Storage;
}

impl OnDevice for HostBuf {
    fn of(s: &Storage) -> Result<&Self> {
        match s {
            Storage::Cpu(b) => Ok(b),
            Storage::Gpu(_) => Err(mixed()),
        }
    }
    fn into_storage(self) -> Storage {
        Storage::Cpu(self)
    }
}

impl OnDevice for GpuBuffer {
    fn of(s: &Storage) -> Result<&Self> {
        match s {
            Storage::Gpu(b) => Ok(b),
            Storage::Cpu(_) => Err(mixed()),
        }
    }
    fn into_storage(self) -> Storage {
        Storage::Gpu(self)
    }
}

/// Ops check devices before they reach a backend; reaching this is a bug in an op.
fn mixed() -> Error {
    Error::invalid(
        "backend",
        "internal error: a storage reached the backend of another device",
    )
}

fn buf<B: OnDevice>(s: &Storage) -> Result<&B> {
    B::of(s)
}

fn opt<B: OnDevice>(s: Option<&Storage>) -> Result<Option<&B>> {
    s.map(B::of).transpose()
}

/// A backend's results as storages.
pub(crate) trait Lift {
    type Out;
    fn lift(self) -> Self::Out;
}

impl Lift for HostBuf {
    type Out = Storage;
    fn lift(self) -> Storage {
        self.into_storage()
    }
}

impl Lift for GpuBuffer {
    type Out = Storage;
    fn lift(self) -> Storage {
        self.into_storage()
    }
}

impl Lift for () {
    type Out = ();
    fn lift(self) {}
}

impl Lift for f32 {
    type Out = f32;
    fn lift(self) -> f32 {
        self
    }
}

impl Lift for Vec<f32> {
    type Out = Vec<f32>;
    fn lift(self) -> Vec<f32> {
        self
    }
}

impl<A: Lift> Lift for Option<A> {
    type Out = Option<A::Out>;
    fn lift(self) -> Self::Out {
        self.map(A::lift)
    }
}

impl<A: Lift, B: Lift> Lift for (A, B) {
    type Out = (A::Out, B::Out);
    fn lift(self) -> Self::Out {
        (self.0.lift(), self.1.lift())
    }
}

impl<A: Lift, B: Lift, C: Lift> Lift for (A, B, C) {
    type Out = (A::Out, B::Out, C::Out);
    fn lift(self) -> Self::Out {
        (self.0.lift(), self.1.lift(), self.2.lift())
    }
}

/// Runs `$call` on the backend of `$device`, bound to `$b`, and wraps its
/// buffers back into storages.
macro_rules! on {
    ($device:expr, |$b:ident| $call:expr) => {
        match $device {
            Device::Cpu => {
                let $b = &Cpu;
                $call.map(Lift::lift)
            }
            Device::Gpu => {
                let $b = &Gpu;
                $call.map(Lift::lift)
            }
        }
    };
}

pub(crate) fn check_same_device(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.device() != b.device() {
        return Err(Error::DeviceMismatch {
            op,
            lhs: a.device(),
            rhs: b.device(),
        });
    }
    Ok(())
}

pub(crate) fn gpu_err(e: GpuError) -> Error {
    Error::Device {
        device: Device::Gpu,
        msg: e.to_string(),
    }
}

pub(crate) fn to_device(src: &Storage, device: &Device) -> Result<Storage> {
    let host = src.try_to_vec()?;
    on!(*device, |d| d.upload(&host))
}

pub(crate) fn copy_into(src: &Storage, dst: &Storage) -> Result<()> {
    on!(src.device(), |d| d.copy_into(buf(src)?, buf(dst)?))
}

pub(crate) fn filled(value: f32, n: usize, device: Device) -> Result<Storage> {
    on!(device, |d| d.filled(value, n))
}

pub(crate) fn unary(op: UnaryOp, x: &Storage) -> Result<Storage> {
    on!(x.device(), |d| d.unary(op, buf(x)?))
}

pub(crate) fn binary(
    op: BinaryOp,
    (a, a_strides): (&Storage, &[usize]),
    (b, b_strides): (&Storage, &[usize]),
    out_shape: &[usize],
) -> Result<Storage> {
    on!(a.device(), |d| d.binary(
        op,
        (buf(a)?, a_strides),
        (buf(b)?, b_strides),
        out_shape
    ))
}

pub(crate) fn where_select(cond: &Storage, a: &Storage, b: &Storage) -> Result<Storage> {
    on!(cond.device(), |d| d.where_select(
        buf(cond)?,
        buf(a)?,
        buf(b)?
    ))
}

pub(crate) fn strided_copy(
    x: &Storage,
    offset: usize,
    shape: &[usize],
    strides: &[usize],
) -> Result<Storage> {
    on!(x.device(), |d| d.strided_copy(
        buf(x)?,
        offset,
        shape,
        strides
    ))
}

pub(crate) fn cat(parts: &[(&Storage, usize)], outer: usize, inner: usize) -> Result<Storage> {
    let device = parts.first().map_or(Device::Cpu, |(s, _)| s.device());
    on!(device, |d| {
        let bufs = parts
            .iter()
            .map(|&(s, len)| Ok((buf(s)?, len)))
            .collect::<Result<Vec<_>>>()?;
        d.cat(&bufs, outer, inner)
    })
}

pub(crate) fn add_into_block(
    dst: &Storage,
    src: &Storage,
    (outer, full, inner): (usize, usize, usize),
    start: usize,
) -> Result<()> {
    on!(dst.device(), |d| d.add_into_block(
        buf(dst)?,
        buf(src)?,
        (outer, full, inner),
        start
    ))
}

pub(crate) fn pad_block(
    src: &Storage,
    (outer, full, inner): (usize, usize, usize),
    start: usize,
) -> Result<Storage> {
    on!(src.device(), |d| d.pad_block(
        buf(src)?,
        (outer, full, inner),
        start
    ))
}

pub(crate) fn reduce(
    op: ReduceOp,
    x: &Storage,
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<Storage> {
    on!(x.device(), |d| d.reduce(op, buf(x)?, outer, len, inner))
}

pub(crate) fn topk_rows(x: &Storage, cols: usize, k: usize) -> Result<(Storage, Storage)> {
    on!(x.device(), |d| d.topk_rows(buf(x)?, cols, k))
}

pub(crate) fn log_softmax_topk(
    x: &Storage,
    rows: usize,
    cols: usize,
    k: usize,
) -> Result<(Storage, Storage)> {
    on!(x.device(), |d| d.log_softmax_topk(buf(x)?, rows, cols, k))
}

pub(crate) fn select_cat(
    past: &Storage,
    ids: Option<&Storage>,
    new: &Storage,
    sizes: SelectCat,
) -> Result<Storage> {
    on!(past.device(), |d| {
        let ids = ids.map(buf).transpose()?;
        d.select_cat(buf(past)?, ids, buf(new)?, sizes)
    })
}

pub(crate) fn argmax(x: &Storage, outer: usize, len: usize, inner: usize) -> Result<Storage> {
    on!(x.device(), |d| d.argmax(buf(x)?, outer, len, inner))
}

pub(crate) fn softmax(x: &Storage, rows: usize, cols: usize, log: bool) -> Result<Storage> {
    on!(x.device(), |d| d.softmax(buf(x)?, rows, cols, log))
}

pub(crate) fn softmax_backward(
    y: &Storage,
    gy: &Storage,
    rows: usize,
    cols: usize,
    log: bool,
) -> Result<Storage> {
    on!(y.device(), |d| d.softmax_backward(
        buf(y)?,
        buf(gy)?,
        rows,
        cols,
        log
    ))
}

pub(crate) fn layer_norm(
    x: &Storage,
    (gamma, beta): (Option<&Storage>, Option<&Storage>),
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<(Storage, Storage, Storage)> {
    on!(x.device(), |d| d.layer_norm(
        buf(x)?,
        (opt(gamma)?, opt(beta)?),
        rows,
        cols,
        eps
    ))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn layer_norm_backward(
    x: &Storage,
    gamma: Option<&Storage>,
    (mean, rstd): (&Storage, &Storage),
    gy: &Storage,
    rows: usize,
    cols: usize,
    with_beta: bool,
) -> Result<NormGrads<Storage>> {
    on!(x.device(), |d| d.layer_norm_backward(
        buf(x)?,
        opt(gamma)?,
        (buf(mean)?, buf(rstd)?),
        buf(gy)?,
        rows,
        cols,
        with_beta
    ))
}

pub(crate) fn cross_entropy(
    logits: &Storage,
    targets: &Storage,
    rows_cols: (usize, usize),
    ignore_index: i64,
    smoothing: f32,
) -> Result<(Storage, Storage, Storage)> {
    on!(logits.device(), |d| d.cross_entropy(
        buf(logits)?,
        buf(targets)?,
        rows_cols,
        ignore_index,
        smoothing
    ))
}

pub(crate) fn cross_entropy_backward(
    (logits, targets): (&Storage, &Storage),
    lse: &Storage,
    gloss: &Storage,
    rows_cols: (usize, usize),
    ignore_index: i64,
    smoothing: f32,
) -> Result<Storage> {
    on!(logits.device(), |d| d.cross_entropy_backward(
        buf(logits)?,
        buf(targets)?,
        buf(lse)?,
        buf(gloss)?,
        rows_cols,
        ignore_index,
        smoothing
    ))
}

pub(crate) fn gather_rows(table: &Storage, dim: usize, ids: &Storage) -> Result<Storage> {
    on!(table.device(), |d| d.gather_rows(
        buf(table)?,
        dim,
        buf(ids)?
    ))
}

pub(crate) fn scatter_add_rows(
    grad: &Storage,
    dim: usize,
    ids: &Storage,
    rows: usize,
) -> Result<Storage> {
    on!(grad.device(), |d| d.scatter_add_rows(
        buf(grad)?,
        dim,
        buf(ids)?,
        rows
    ))
}

pub(crate) fn index_select(
    x: &Storage,
    sizes: (usize, usize, usize),
    ids: &Storage,
) -> Result<Storage> {
    on!(x.device(), |d| d.index_select(buf(x)?, sizes, buf(ids)?))
}

pub(crate) fn index_add(
    grad: &Storage,
    sizes: (usize, usize, usize),
    ids: &Storage,
) -> Result<Storage> {
    on!(grad.device(), |d| d.index_add(buf(grad)?, sizes, buf(ids)?))
}

pub(crate) fn matmul(a: &Storage, b: &Storage, g: Gemm) -> Result<Storage> {
    on!(a.device(), |d| d.matmul(buf(a)?, buf(b)?, g))
}

pub(crate) fn matmul_add(a: &Storage, b: &Storage, g: Gemm, dst: &Storage) -> Result<()> {
    on!(a.device(), |d| d.matmul_add(buf(a)?, buf(b)?, g, buf(dst)?))
}

pub(crate) fn head_product(h: &Heads, a: &Storage, b: &Storage) -> Result<Storage> {
    on!(a.device(), |d| d.head_product(h, buf(a)?, buf(b)?))
}

pub(crate) fn linear(
    x: &Storage,
    w: &Storage,
    b: &Storage,
    rows_out_in: [usize; 3],
) -> Result<Storage> {
    on!(x.device(), |d| d.linear(
        buf(x)?,
        buf(w)?,
        buf(b)?,
        rows_out_in
    ))
}

pub(crate) fn uniform(
    seed: u64,
    offset: u64,
    (lo, hi): (f32, f32),
    n: usize,
    device: Device,
) -> Result<Storage> {
    on!(device, |d| d.uniform(seed, offset, lo, hi, n))
}

pub(crate) fn normal(
    seed: u64,
    offset: u64,
    (mean, std): (f32, f32),
    n: usize,
    device: Device,
) -> Result<Storage> {
    on!(device, |d| d.normal(seed, offset, mean, std, n))
}

pub(crate) fn dropout_apply(seed: u64, offset: u64, p: f32, x: &Storage) -> Result<Storage> {
    on!(x.device(), |d| d.dropout_apply(seed, offset, p, buf(x)?))
}

pub(crate) fn adam_step(
    p: &Storage,
    g: &Storage,
    (m, v): (&Storage, &Storage),
    hp: &AdamParams,
) -> Result<()> {
    on!(p.device(), |d| d.adam_step(
        buf(p)?,
        buf(g)?,
        (buf(m)?, buf(v)?),
        hp
    ))
}

pub(crate) fn sgd_step(
    p: &Storage,
    g: &Storage,
    momentum_buf: Option<&Storage>,
    hp: &SgdParams,
) -> Result<()> {
    on!(p.device(), |d| d.sgd_step(
        buf(p)?,
        buf(g)?,
        opt(momentum_buf)?,
        hp
    ))
}

pub(crate) fn additive_score(
    sizes: Additive,
    q: &Storage,
    k: &Storage,
    v: &Storage,
) -> Result<Storage> {
    on!(q.device(), |d| d.additive_score(
        sizes,
        buf(q)?,
        buf(k)?,
        buf(v)?
    ))
}

pub(crate) fn additive_score_backward(
    sizes: Additive,
    (q, k, v): (&Storage, &Storage, &Storage),
    g: &Storage,
) -> Result<(Storage, Storage, Storage)> {
    on!(q.device(), |d| d.additive_score_backward(
        sizes,
        (buf(q)?, buf(k)?, buf(v)?),
        buf(g)?
    ))
}

pub(crate) fn gru_cell(
    gi: &Storage,
    gh: &Storage,
    h: &Storage,
    rows_hidden: (usize, usize),
) -> Result<(Storage, Storage)> {
    on!(gi.device(), |d| d.gru_cell(
        buf(gi)?,
        buf(gh)?,
        buf(h)?,
        rows_hidden
    ))
}

pub(crate) fn gru_cell_backward(
    ws: &Storage,
    h: &Storage,
    g: &Storage,
    rows_hidden: (usize, usize),
) -> Result<(Storage, Storage, Storage)> {
    on!(ws.device(), |d| d.gru_cell_backward(
        buf(ws)?,
        buf(h)?,
        buf(g)?,
        rows_hidden
    ))
}

pub(crate) fn lstm_cell(
    gates: &Storage,
    c: &Storage,
    rows_hidden: (usize, usize),
) -> Result<(Storage, Storage)> {
    on!(gates.device(), |d| d.lstm_cell(
        buf(gates)?,
        buf(c)?,
        rows_hidden
    ))
}

pub(crate) fn lstm_cell_backward(
    ws: &Storage,
    c: &Storage,
    g: &Storage,
    rows_hidden: (usize, usize),
) -> Result<(Storage, Storage)> {
    on!(ws.device(), |d| d.lstm_cell_backward(
        buf(ws)?,
        buf(c)?,
        buf(g)?,
        rows_hidden
    ))
}

/// Σ x² of each storage (all on one device), read back together.
pub(crate) fn sum_squares_each(xs: &[&Storage]) -> Result<Vec<f32>> {
    let Some(first) = xs.first() else {
        return Ok(Vec::new());
    };
    on!(first.device(), |d| {
        let bufs = xs.iter().map(|s| buf(s)).collect::<Result<Vec<_>>>()?;
        d.sum_squares_each(&bufs)
    })
}
