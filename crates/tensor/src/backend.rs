//! The one place where ops meet devices. Each function takes storages and
//! sizes, runs the matching kernel on the storages' device — `kernels-cpu` on
//! host slices, `kernels-gpu` launchers on GPU buffers — and returns new
//! storage. Ops in `ops/` never touch memory themselves, so a backward rule
//! written in tensor ops runs on whatever device its tensors live on.

use crate::host_pool;
use crate::storage::Storage;
use crate::{Device, Error, Result, Tensor};
use kernels_cpu as cpu;
pub use kernels_cpu::{BinaryOp, ReduceOp, UnaryOp};
use kernels_gpu::{self as gpu, GpuBuffer, GpuError};

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

/// Ops check devices before they get here; reaching this is a bug in an op.
fn mixed(op: &'static str) -> Error {
    Error::invalid(
        op,
        "internal error: storages on different devices reached the backend",
    )
}

/// Takes `n` host outputs from the buffer cache (host_pool.rs; contents
/// unspecified), runs `f`, which must write every element.
fn cpu_out(n: usize, f: impl FnOnce(&mut [f32])) -> Storage {
    let mut out = host_pool::take(n);
    f(&mut out);
    Storage::cpu(out)
}

/// Like `cpu_out`, for kernels that add into their output.
fn cpu_zeroed(n: usize, f: impl FnOnce(&mut [f32])) -> Storage {
    let mut out = host_pool::take_zeroed(n);
    f(&mut out);
    Storage::cpu(out)
}

/// Allocates `n` device outputs (contents unspecified), runs the launcher `f` on them.
fn gpu_out(
    n: usize,
    f: impl FnOnce(&GpuBuffer) -> std::result::Result<(), GpuError>,
) -> Result<Storage> {
    let out = GpuBuffer::uninit(n).map_err(gpu_err)?;
    f(&out).map_err(gpu_err)?;
    Ok(Storage::Gpu(out))
}

/// Like `gpu_out`, for kernels that add into their output.
fn gpu_zeroed(
    n: usize,
    f: impl FnOnce(&GpuBuffer) -> std::result::Result<(), GpuError>,
) -> Result<Storage> {
    let out = GpuBuffer::zeros(n).map_err(gpu_err)?;
    f(&out).map_err(gpu_err)?;
    Ok(Storage::Gpu(out))
}

pub(crate) fn to_device(src: &Storage, device: &Device) -> Result<Storage> {
    match device {
        Device::Cpu => Ok(Storage::cpu(src.to_vec())),
        Device::Gpu => {
            let host = src.to_vec();
            Ok(Storage::Gpu(GpuBuffer::from_slice(&host).map_err(gpu_err)?))
        }
    }
}

/// Writes `src` over `dst` (same length, same device).
pub(crate) fn copy_into(src: &Storage, dst: &Storage) -> Result<()> {
    match (src, dst) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let values = src.to_vec(); // src and dst may be the same buffer
            dst.cpu_write().copy_from_slice(&values);
            Ok(())
        }
        (Storage::Gpu(s), Storage::Gpu(d)) => {
            if GpuBuffer::same_buffer(s, d) {
                return Ok(());
            }
            gpu::strided_copy(s, &[s.len()], &[1], d).map_err(gpu_err)
        }
        _ => Err(mixed("copy_from")),
    }
}

pub(crate) fn filled(value: f32, n: usize, device: Device) -> Result<Storage> {
    match device {
        // Through the buffer cache: a fresh `vec![0.0; n]` of a large n is
        // `calloc`ed pages that fault on first touch, every step.
        Device::Cpu => Ok(cpu_out(n, |out| out.fill(value))),
        Device::Gpu => Ok(Storage::Gpu(GpuBuffer::filled(n, value).map_err(gpu_err)?)),
    }
}

// ------------------------------------------------------------- elementwise

pub(crate) fn unary(op: UnaryOp, x: &Storage) -> Result<Storage> {
    match x {
        Storage::Cpu(_) => {
            let x = x.cpu_read();
            Ok(cpu_out(x.len(), |out| cpu::unary(op, &x, out)))
        }
        Storage::Gpu(x) => gpu_out(x.len(), |out| gpu::unary(op, x, out)),
    }
}

pub(crate) fn binary(
    op: BinaryOp,
    a: &Storage,
    a_strides: &[usize],
    b: &Storage,
    b_strides: &[usize],
    out_shape: &[usize],
) -> Result<Storage> {
    let n = out_shape.iter().product();
    match (a, b) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (a, b) = (a.cpu_read(), b.cpu_read());
            Ok(cpu_out(n, |out| {
                cpu::binary(op, &a, a_strides, &b, b_strides, out_shape, out)
            }))
        }
        (Storage::Gpu(a), Storage::Gpu(b)) => gpu_out(n, |out| {
            gpu::binary(op, a, a_strides, b, b_strides, out_shape, out)
        }),
        _ => Err(mixed("binary")),
    }
}

pub(crate) fn where_select(cond: &Storage, a: &Storage, b: &Storage) -> Result<Storage> {
    match (cond, a, b) {
        (Storage::Cpu(_), Storage::Cpu(_), Storage::Cpu(_)) => {
            let (c, a, b) = (cond.cpu_read(), a.cpu_read(), b.cpu_read());
            Ok(cpu_out(c.len(), |out| cpu::where_select(&c, &a, &b, out)))
        }
        (Storage::Gpu(c), Storage::Gpu(a), Storage::Gpu(b)) => {
            gpu_out(c.len(), |out| gpu::where_select(c, a, b, out))
        }
        _ => Err(mixed("where")),
    }
}

// ---------------------------------------------------------------- movement

/// Gathers the strided view (`offset`, `shape`, `strides`) of `x` into a new
/// contiguous buffer: transpose, permute, narrow and broadcast all end here.
pub(crate) fn strided_copy(
    x: &Storage,
    offset: usize,
    shape: &[usize],
    strides: &[usize],
) -> Result<Storage> {
    let n = shape.iter().product();
    match x {
        Storage::Cpu(_) => {
            let x = x.cpu_read();
            Ok(cpu_out(n, |out| {
                if n > 0 {
                    cpu::strided_copy(&x[offset..], shape, strides, out)
                }
            }))
        }
        Storage::Gpu(x) => {
            let contiguous = crate::Shape::new(shape).strides();
            gpu_out(n, |out| {
                gpu::copy_view(x, offset, strides, shape, out, 0, &contiguous)
            })
        }
    }
}

/// Concatenates along the middle axis of `[outer, len_i, inner]` views.
pub(crate) fn cat(parts: &[(&Storage, usize)], outer: usize, inner: usize) -> Result<Storage> {
    let total: usize = parts.iter().map(|(_, len)| len).sum();
    let row = total * inner;
    match parts.first().map(|(s, _)| s.device()) {
        Some(Device::Gpu) => {
            let out = GpuBuffer::uninit(outer * row).map_err(gpu_err)?;
            let mut start = 0;
            for (s, len) in parts {
                let Storage::Gpu(src) = s else {
                    return Err(mixed("cat"));
                };
                let chunk = len * inner;
                // Part i lands in columns start..start+chunk of each output row.
                gpu::copy_view(src, 0, &[chunk, 1], &[outer, chunk], &out, start, &[row, 1])
                    .map_err(gpu_err)?;
                start += chunk;
            }
            Ok(Storage::Gpu(out))
        }
        _ => {
            let mut out = host_pool::take(outer * row); // the parts cover every column
            let mut start = 0;
            for (s, len) in parts {
                if !matches!(s, Storage::Cpu(_)) {
                    return Err(mixed("cat"));
                }
                let chunk = len * inner;
                let src = s.cpu_read();
                for o in 0..outer {
                    out[o * row + start..o * row + start + chunk]
                        .copy_from_slice(&src[o * chunk..(o + 1) * chunk]);
                }
                start += chunk;
            }
            Ok(Storage::cpu(out))
        }
    }
}

/// `dst[:, start..start + len, :] += src` in place, for `dst` viewed as
/// `[outer, full, inner]` and `src` as `[outer, len, inner]`: autograd's
/// running gradient sums (kernels-cpu accumulate.rs says why). Host only:
/// on the GPU autograd adds out of place.
pub(crate) fn add_into_block(
    dst: &Storage,
    src: &Storage,
    outer: usize,
    full: usize,
    start: usize,
    inner: usize,
) -> Result<()> {
    match (dst, src) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let src = src.cpu_read();
            cpu::add_into_block(&mut dst.cpu_write(), &src, outer, full, start, inner);
            Ok(())
        }
        _ => Err(Error::invalid(
            "add_into_block",
            "internal error: in-place gradient sums are host-only",
        )),
    }
}

/// `n` host zeros from the buffer cache (a running gradient sum to add into).
pub(crate) fn cpu_zeros(n: usize) -> Storage {
    cpu_zeroed(n, |_| ())
}

// -------------------------------------------------------------- reductions

pub(crate) fn reduce(
    op: ReduceOp,
    x: &Storage,
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<Storage> {
    match x {
        Storage::Cpu(_) => {
            let x = x.cpu_read();
            Ok(cpu_out(outer * inner, |out| {
                cpu::reduce(op, &x, outer, len, inner, out)
            }))
        }
        Storage::Gpu(x) => gpu_out(outer * inner, |out| {
            gpu::reduce(op, x, outer, len, inner, out)
        }),
    }
}

pub(crate) fn argmax(x: &Storage, outer: usize, len: usize, inner: usize) -> Result<Storage> {
    match x {
        Storage::Cpu(_) => {
            let x = x.cpu_read();
            Ok(cpu_out(outer * inner, |out| {
                cpu::argmax(&x, outer, len, inner, out)
            }))
        }
        Storage::Gpu(x) => gpu_out(outer * inner, |out| gpu::argmax(x, outer, len, inner, out)),
    }
}

/// Σ x² over all elements, brought to the host (gradient clipping needs the number).
pub(crate) fn sum_squares(x: &Storage) -> Result<f32> {
    match x {
        Storage::Cpu(_) => Ok(cpu::sum_squares(&x.cpu_read())),
        Storage::Gpu(x) => {
            let out = gpu_out(1, |out| gpu::sum_squares(x, out))?;
            Ok(out.try_to_vec()?[0])
        }
    }
}

// ----------------------------------------------------------------- softmax

pub(crate) fn softmax(x: &Storage, rows: usize, cols: usize, log: bool) -> Result<Storage> {
    match x {
        Storage::Cpu(_) => {
            let x = x.cpu_read();
            Ok(cpu_out(rows * cols, |out| {
                if log {
                    cpu::log_softmax(&x, rows, cols, out)
                } else {
                    cpu::softmax(&x, rows, cols, out)
                }
            }))
        }
        Storage::Gpu(x) => gpu_out(rows * cols, |out| {
            if log {
                gpu::log_softmax(x, rows, cols, out)
            } else {
                gpu::softmax(x, rows, cols, out)
            }
        }),
    }
}

pub(crate) fn softmax_backward(
    y: &Storage,
    gy: &Storage,
    rows: usize,
    cols: usize,
    log: bool,
) -> Result<Storage> {
    match (y, gy) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (y, gy) = (y.cpu_read(), gy.cpu_read());
            Ok(cpu_out(rows * cols, |gx| {
                if log {
                    cpu::log_softmax_backward(&y, &gy, rows, cols, gx)
                } else {
                    cpu::softmax_backward(&y, &gy, rows, cols, gx)
                }
            }))
        }
        (Storage::Gpu(y), Storage::Gpu(gy)) => gpu_out(rows * cols, |gx| {
            if log {
                gpu::log_softmax_backward(y, gy, rows, cols, gx)
            } else {
                gpu::softmax_backward(y, gy, rows, cols, gx)
            }
        }),
        _ => Err(mixed("softmax backward")),
    }
}

// -------------------------------------------------------------- layer norm

/// Returns (y, mean, rstd).
pub(crate) fn layer_norm(
    x: &Storage,
    gamma: Option<&Storage>,
    beta: Option<&Storage>,
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<(Storage, Storage, Storage)> {
    match x {
        Storage::Cpu(_) => {
            let x = x.cpu_read();
            let g = gamma.map(|g| g.cpu_read());
            let b = beta.map(|b| b.cpu_read());
            let mut y = host_pool::take(rows * cols);
            let mut mean = vec![0.0; rows];
            let mut rstd = vec![0.0; rows];
            cpu::layer_norm(
                &x,
                g.as_deref().map(|v| v.as_slice()),
                b.as_deref().map(|v| v.as_slice()),
                rows,
                cols,
                eps,
                &mut y,
                &mut mean,
                &mut rstd,
            );
            Ok((Storage::cpu(y), Storage::cpu(mean), Storage::cpu(rstd)))
        }
        Storage::Gpu(x) => {
            let (g, b) = (
                gamma.map(Storage::gpu).transpose()?,
                beta.map(Storage::gpu).transpose()?,
            );
            let alloc = |n| GpuBuffer::uninit(n).map_err(gpu_err);
            let (y, mean, rstd) = (alloc(rows * cols)?, alloc(rows)?, alloc(rows)?);
            gpu::layer_norm(x, g, b, rows, cols, eps, &y, &mean, &rstd).map_err(gpu_err)?;
            Ok((Storage::Gpu(y), Storage::Gpu(mean), Storage::Gpu(rstd)))
        }
    }
}

/// Returns (gx, ggamma, gbeta); ggamma only when gamma is given, gbeta when asked.
#[allow(clippy::too_many_arguments)]
pub(crate) fn layer_norm_backward(
    x: &Storage,
    gamma: Option<&Storage>,
    mean: &Storage,
    rstd: &Storage,
    gy: &Storage,
    rows: usize,
    cols: usize,
    with_beta: bool,
) -> Result<(Storage, Option<Storage>, Option<Storage>)> {
    match x {
        Storage::Cpu(_) => {
            let (x, mean, rstd, gy) = (
                x.cpu_read(),
                mean.cpu_read(),
                rstd.cpu_read(),
                gy.cpu_read(),
            );
            let g = gamma.map(|g| g.cpu_read());
            let mut gx = host_pool::take(rows * cols);
            let mut gg = gamma.map(|_| vec![0.0; cols]);
            let mut gb = with_beta.then(|| vec![0.0; cols]);
            cpu::layer_norm_backward(
                &x,
                g.as_deref().map(|v| v.as_slice()),
                &mean,
                &rstd,
                &gy,
                rows,
                cols,
                &mut gx,
                gg.as_deref_mut(),
                gb.as_deref_mut(),
            );
            Ok((Storage::cpu(gx), gg.map(Storage::cpu), gb.map(Storage::cpu)))
        }
        Storage::Gpu(x) => {
            let g = gamma.map(Storage::gpu).transpose()?;
            let alloc = |n| GpuBuffer::uninit(n).map_err(gpu_err);
            let gx = alloc(rows * cols)?;
            let gg = gamma.map(|_| alloc(cols)).transpose()?;
            let gb = with_beta.then(|| alloc(cols)).transpose()?;
            gpu::layer_norm_backward(
                x,
                g,
                mean.gpu()?,
                rstd.gpu()?,
                gy.gpu()?,
                rows,
                cols,
                &gx,
                gg.as_ref(),
                gb.as_ref(),
            )
            .map_err(gpu_err)?;
            Ok((Storage::Gpu(gx), gg.map(Storage::Gpu), gb.map(Storage::Gpu)))
        }
    }
}

// ------------------------------------------------------------ cross entropy

/// Returns (per-row loss, per-row log-sum-exp, number of counted rows as a
/// one-element storage — kept on the device so the mean needs no sync).
pub(crate) fn cross_entropy(
    logits: &Storage,
    targets: &Storage,
    rows: usize,
    cols: usize,
    ignore_index: i64,
    smoothing: f32,
) -> Result<(Storage, Storage, Storage)> {
    match (logits, targets) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (x, t) = (logits.cpu_read(), targets.cpu_read());
            let mut loss = vec![0.0; rows];
            let mut lse = vec![0.0; rows];
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
                Storage::cpu(loss),
                Storage::cpu(lse),
                Storage::cpu(vec![count as f32]),
            ))
        }
        (Storage::Gpu(x), Storage::Gpu(t)) => {
            let alloc = |n| GpuBuffer::uninit(n).map_err(gpu_err);
            let (loss, lse, counted, count) = (alloc(rows)?, alloc(rows)?, alloc(rows)?, alloc(1)?);
            gpu::cross_entropy(
                x,
                t,
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
            Ok((Storage::Gpu(loss), Storage::Gpu(lse), Storage::Gpu(count)))
        }
        _ => Err(mixed("cross_entropy")),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn cross_entropy_backward(
    logits: &Storage,
    targets: &Storage,
    lse: &Storage,
    gloss: &Storage,
    rows: usize,
    cols: usize,
    ignore_index: i64,
    smoothing: f32,
) -> Result<Storage> {
    match logits {
        Storage::Cpu(_) => {
            let (x, t, l, g) = (
                logits.cpu_read(),
                targets.cpu_read(),
                lse.cpu_read(),
                gloss.cpu_read(),
            );
            Ok(cpu_out(rows * cols, |gx| {
                cpu::cross_entropy_backward(&x, &t, &l, &g, rows, cols, ignore_index, smoothing, gx)
            }))
        }
        Storage::Gpu(x) => {
            let (t, l, g) = (targets.gpu()?, lse.gpu()?, gloss.gpu()?);
            gpu_out(rows * cols, |gx| {
                gpu::cross_entropy_backward(x, t, l, g, rows, cols, ignore_index, smoothing, gx)
            })
        }
    }
}

// ------------------------------------------------------------------ indexing

pub(crate) fn gather_rows(table: &Storage, dim: usize, ids: &Storage) -> Result<Storage> {
    match (table, ids) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (t, i) = (table.cpu_read(), ids.cpu_read());
            Ok(cpu_out(i.len() * dim, |out| {
                cpu::gather_rows(&t, dim, &i, out)
            }))
        }
        (Storage::Gpu(t), Storage::Gpu(i)) => {
            gpu_out(i.len() * dim, |out| gpu::gather_rows(t, dim, i, out))
        }
        _ => Err(mixed("embedding")),
    }
}

pub(crate) fn scatter_add_rows(
    grad: &Storage,
    dim: usize,
    ids: &Storage,
    rows: usize,
) -> Result<Storage> {
    match (grad, ids) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (g, i) = (grad.cpu_read(), ids.cpu_read());
            Ok(cpu_zeroed(rows * dim, |out| {
                cpu::scatter_add_rows(&g, dim, &i, out)
            }))
        }
        (Storage::Gpu(g), Storage::Gpu(i)) => {
            gpu_zeroed(rows * dim, |out| gpu::scatter_add_rows(g, dim, i, out))
        }
        _ => Err(mixed("embedding backward")),
    }
}

pub(crate) fn index_select(
    x: &Storage,
    outer: usize,
    len: usize,
    inner: usize,
    ids: &Storage,
) -> Result<Storage> {
    match (x, ids) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (x, i) = (x.cpu_read(), ids.cpu_read());
            Ok(cpu_out(outer * i.len() * inner, |out| {
                cpu::index_select(&x, outer, len, inner, &i, out)
            }))
        }
        (Storage::Gpu(x), Storage::Gpu(i)) => gpu_out(outer * i.len() * inner, |out| {
            gpu::index_select(x, outer, len, inner, i, out)
        }),
        _ => Err(mixed("index_select")),
    }
}

pub(crate) fn index_add(
    grad: &Storage,
    outer: usize,
    len: usize,
    inner: usize,
    ids: &Storage,
) -> Result<Storage> {
    match (grad, ids) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (g, i) = (grad.cpu_read(), ids.cpu_read());
            Ok(cpu_zeroed(outer * len * inner, |gx| {
                cpu::index_add(&g, outer, len, inner, &i, gx)
            }))
        }
        (Storage::Gpu(g), Storage::Gpu(i)) => gpu_zeroed(outer * len * inner, |gx| {
            gpu::index_add(g, outer, len, inner, i, gx)
        }),
        _ => Err(mixed("index_select backward")),
    }
}

// ------------------------------------------------------------------- matmul

/// Batched `op(A)·op(B)`; a batch stride of 0 reuses one matrix for every
/// batch. Into a new buffer (returned), or added into `add_into` (a host
/// buffer no operand shares), which then returns `None`.
pub(crate) fn matmul(
    a: &Storage,
    b: &Storage,
    [batch, m, n, k]: [usize; 4],
    (trans_a, trans_b): (bool, bool),
    (stride_a, stride_b): (usize, usize),
    add_into: Option<&Storage>,
) -> Result<Option<Storage>> {
    let lda = if trans_a { m } else { k };
    let ldb = if trans_b { k } else { n };
    match (a, b, add_into) {
        (Storage::Cpu(_), Storage::Cpu(_), dst) => {
            let (a, b) = (a.cpu_read(), b.cpu_read());
            // C = op(A)·op(B) (+ C when adding into `dst`).
            let product = |beta: f32, c: &mut [f32]| {
                cpu::sgemm_batched(
                    batch,
                    trans_a,
                    trans_b,
                    m,
                    n,
                    k,
                    1.0,
                    &a,
                    lda,
                    stride_a,
                    &b,
                    ldb,
                    stride_b,
                    beta,
                    c,
                    n,
                    m * n,
                )
            };
            match dst {
                None => Ok(Some(cpu_out(batch * m * n, |c| product(0.0, c)))),
                Some(dst @ Storage::Cpu(_)) => {
                    product(1.0, &mut dst.cpu_write());
                    Ok(None)
                }
                Some(Storage::Gpu(_)) => Err(mixed("matmul")),
            }
        }
        (Storage::Gpu(a), Storage::Gpu(b), None) => Ok(Some(gpu_out(batch * m * n, |c| {
            gpu::sgemm_batched(
                batch,
                trans_a,
                trans_b,
                m,
                n,
                k,
                1.0,
                a,
                lda,
                stride_a,
                b,
                ldb,
                stride_b,
                0.0,
                c,
                n,
                m * n,
            )
        })?)),
        (_, _, Some(_)) => Err(Error::invalid(
            "matmul",
            "internal error: products add in place into host buffers only",
        )),
        _ => Err(mixed("matmul")),
    }
}

/// Per-head products `C_bh = alpha op(A_bh) op(B_bh)` of host operands, each
/// laid out as its `HeadMats` says (see `kernels_cpu::sgemm_heads`); C is a
/// new buffer of `seqs * lc.per_seq` floats. `None` for GPU storages (the
/// caller composes the op there).
#[allow(clippy::too_many_arguments)]
pub(crate) fn head_product(
    (seqs, heads): (usize, usize),
    trans: (bool, bool),
    mnk: [usize; 3],
    alpha: f32,
    (a, la): (&Storage, cpu::HeadMats),
    (b, lb): (&Storage, cpu::HeadMats),
    lc: cpu::HeadMats,
) -> Result<Option<Storage>> {
    match (a, b) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (a, b) = (a.cpu_read(), b.cpu_read());
            Ok(Some(cpu_out(seqs * lc.per_seq, |c| {
                cpu::sgemm_heads(seqs, heads, trans, mnk, alpha, (&a, la), (&b, lb), (c, lc))
            })))
        }
        (Storage::Gpu(_), Storage::Gpu(_)) => Ok(None),
        _ => Err(mixed("head product")),
    }
}

/// `x Wᵀ + b` on the host as one GEMM whose write-back adds the bias (`x`
/// `[rows, in]`, `W` `[out, in]`, `b` `[out]`). `None` for GPU storages:
/// there the op is a product and an add (ops/matmul.rs).
pub(crate) fn linear(
    x: &Storage,
    w: &Storage,
    b: &Storage,
    [rows, out_f, in_f]: [usize; 3],
) -> Result<Option<Storage>> {
    match (x, w, b) {
        (Storage::Cpu(_), Storage::Cpu(_), Storage::Cpu(_)) => {
            let (x, w, b) = (x.cpu_read(), w.cpu_read(), b.cpu_read());
            Ok(Some(cpu_out(rows * out_f, |c| {
                cpu::sgemm_bias(
                    false, true, rows, out_f, in_f, 1.0, &x, in_f, &w, in_f, &b, c, out_f,
                )
            })))
        }
        (Storage::Gpu(_), Storage::Gpu(_), Storage::Gpu(_)) => Ok(None),
        _ => Err(mixed("linear")),
    }
}

// ------------------------------------------------------------------- random

pub(crate) fn uniform(
    seed: u64,
    offset: u64,
    lo: f32,
    hi: f32,
    n: usize,
    device: Device,
) -> Result<Storage> {
    match device {
        Device::Cpu => Ok(cpu_out(n, |out| {
            cpu::fill_uniform(seed, offset, lo, hi, out)
        })),
        Device::Gpu => gpu_out(n, |out| gpu::fill_uniform(seed, offset, lo, hi, out)),
    }
}

pub(crate) fn normal(
    seed: u64,
    offset: u64,
    mean: f32,
    std: f32,
    n: usize,
    device: Device,
) -> Result<Storage> {
    match device {
        Device::Cpu => Ok(cpu_out(n, |out| {
            cpu::fill_normal(seed, offset, mean, std, out)
        })),
        Device::Gpu => gpu_out(n, |out| gpu::fill_normal(seed, offset, mean, std, out)),
    }
}

pub(crate) fn dropout_mask(
    seed: u64,
    offset: u64,
    p: f32,
    n: usize,
    device: Device,
) -> Result<Storage> {
    match device {
        Device::Cpu => Ok(cpu_out(n, |out| cpu::dropout_mask(seed, offset, p, out))),
        Device::Gpu => gpu_out(n, |out| gpu::dropout_mask(seed, offset, p, out)),
    }
}

/// `x * mask` for the dropout mask of `(seed, offset, p)`: one fused pass on
/// the host (the mask is never stored); on the GPU the mask is drawn, then
/// multiplied.
pub(crate) fn dropout_apply(seed: u64, offset: u64, p: f32, x: &Storage) -> Result<Storage> {
    match x {
        Storage::Cpu(_) => {
            let x = x.cpu_read();
            Ok(cpu_out(x.len(), |out| {
                cpu::dropout_apply(seed, offset, p, &x, out)
            }))
        }
        Storage::Gpu(xg) => {
            let n = xg.len();
            let mask = dropout_mask(seed, offset, p, n, Device::Gpu)?;
            binary(BinaryOp::Mul, x, &[1], &mask, &[1], &[n])
        }
    }
}

// --------------------------------------------------------------- optimizers

/// One Adam/AdamW update of `p` in place, with its moments `m` and `v`.
pub(crate) fn adam_step(
    p: &Storage,
    g: &Storage,
    m: &Storage,
    v: &Storage,
    hp: &cpu::AdamParams,
) -> Result<()> {
    match p {
        Storage::Cpu(_) => {
            let g = g.cpu_read();
            cpu::adam_step(
                &mut p.cpu_write(),
                &g,
                &mut m.cpu_write(),
                &mut v.cpu_write(),
                hp,
            );
            Ok(())
        }
        Storage::Gpu(p) => gpu::adam_step(p, g.gpu()?, m.gpu()?, v.gpu()?, hp).map_err(gpu_err),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn sgd_step(
    p: &Storage,
    g: &Storage,
    buf: Option<&Storage>,
    lr: f32,
    momentum: f32,
    dampening: f32,
    weight_decay: f32,
    nesterov: bool,
    first_step: bool,
) -> Result<()> {
    match p {
        Storage::Cpu(_) => {
            let g = g.cpu_read();
            let mut b = buf.map(|b| b.cpu_write());
            cpu::sgd_step(
                &mut p.cpu_write(),
                &g,
                b.as_deref_mut().map(|v| v.as_mut_slice()),
                lr,
                momentum,
                dampening,
                weight_decay,
                nesterov,
                first_step,
            );
            Ok(())
        }
        Storage::Gpu(p) => {
            let b = buf.map(Storage::gpu).transpose()?;
            gpu::sgd_step(
                p,
                g.gpu()?,
                b,
                lr,
                momentum,
                dampening,
                weight_decay,
                nesterov,
                first_step,
            )
            .map_err(gpu_err)
        }
    }
}

// ------------------------------------------------------------ recurrent cells

/// The fused additive attention score on the host. `None` for GPU storages:
/// there is no fused shader yet, so the op composes the score on the GPU
/// (ops/additive.rs).
pub(crate) fn additive_score(
    sizes: cpu::Additive,
    q: &Storage,
    k: &Storage,
    v: &Storage,
) -> Result<Option<Storage>> {
    match (q, k, v) {
        (Storage::Cpu(_), Storage::Cpu(_), Storage::Cpu(_)) => {
            let (q, k, v) = (q.cpu_read(), k.cpu_read(), v.cpu_read());
            let n = sizes.batch * sizes.tq * sizes.s;
            Ok(Some(cpu_out(n, |e| {
                cpu::additive_score(sizes, &q, &k, &v, e)
            })))
        }
        (Storage::Gpu(_), Storage::Gpu(_), Storage::Gpu(_)) => Ok(None),
        _ => Err(mixed("additive_score")),
    }
}

/// Gradients of the fused additive score on the host: `(dq, dk, dv)`.
pub(crate) fn additive_score_backward(
    sizes: cpu::Additive,
    q: &Storage,
    k: &Storage,
    v: &Storage,
    g: &Storage,
) -> Result<(Storage, Storage, Storage)> {
    match (q, k, v, g) {
        (Storage::Cpu(_), Storage::Cpu(_), Storage::Cpu(_), Storage::Cpu(_)) => {
            let (q, k, v, g) = (q.cpu_read(), k.cpu_read(), v.cpu_read(), g.cpu_read());
            let mut dq = host_pool::take(q.len());
            let mut dk = host_pool::take(k.len());
            let dv = cpu_out(v.len(), |dv| {
                cpu::additive_score_backward(sizes, &q, &k, &v, &g, &mut dq, &mut dk, dv)
            });
            Ok((Storage::cpu(dq), Storage::cpu(dk), dv))
        }
        _ => Err(mixed("additive_score backward")),
    }
}

/// The fused GRU cell on the host: `(h', workspace)`. `None` for GPU
/// storages: there is no fused shader yet, so the op composes the cell
/// from its element-wise ops on the GPU (ops/rnn.rs).
pub(crate) fn gru_cell(
    gi: &Storage,
    gh: &Storage,
    h: &Storage,
    rows: usize,
    hidden: usize,
) -> Result<Option<(Storage, Storage)>> {
    match (gi, gh, h) {
        (Storage::Cpu(_), Storage::Cpu(_), Storage::Cpu(_)) => {
            let (gi, gh, h) = (gi.cpu_read(), gh.cpu_read(), h.cpu_read());
            let mut ws = host_pool::take(rows * 4 * hidden);
            let out = cpu_out(rows * hidden, |out| {
                cpu::gru_cell(&gi, &gh, &h, rows, hidden, out, &mut ws)
            });
            Ok(Some((out, Storage::cpu(ws))))
        }
        (Storage::Gpu(_), Storage::Gpu(_), Storage::Gpu(_)) => Ok(None),
        _ => Err(mixed("gru_cell")),
    }
}

/// Gradients of the fused GRU cell on the host: `(d_gi, d_gh, d_h)`.
pub(crate) fn gru_cell_backward(
    ws: &Storage,
    h: &Storage,
    g: &Storage,
    rows: usize,
    hidden: usize,
) -> Result<(Storage, Storage, Storage)> {
    match (ws, h, g) {
        (Storage::Cpu(_), Storage::Cpu(_), Storage::Cpu(_)) => {
            let (ws, h, g) = (ws.cpu_read(), h.cpu_read(), g.cpu_read());
            let mut d_gi = host_pool::take(rows * 3 * hidden);
            let mut d_gh = host_pool::take(rows * 3 * hidden);
            let d_h = cpu_out(rows * hidden, |d_h| {
                cpu::gru_cell_backward(&ws, &h, &g, rows, hidden, &mut d_gi, &mut d_gh, d_h)
            });
            Ok((Storage::cpu(d_gi), Storage::cpu(d_gh), d_h))
        }
        _ => Err(mixed("gru_cell backward")),
    }
}
