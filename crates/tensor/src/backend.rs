//! The one place where ops meet devices. Each function takes storages and
//! sizes, runs the matching kernel on the storages' device, and returns new
//! storage. Ops in `ops/` never touch host memory themselves, so adding a
//! device means adding a match arm here and nothing else.

use crate::storage::Storage;
use crate::{Device, Error, Result, Tensor};
use kernels_cpu as cpu;
pub use kernels_cpu::{BinaryOp, ReduceOp, UnaryOp};

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

pub(crate) fn to_device(src: &Storage, device: &Device) -> Result<Storage> {
    match device {
        Device::Cpu => Ok(Storage::cpu(src.to_vec())),
        Device::Gpu => Err(Error::Device {
            device: Device::Gpu,
            msg: "this build has no GPU backend yet; use --device cpu".into(),
        }),
    }
}

/// Writes `src` over `dst` (same length).
pub(crate) fn copy_into(src: &Storage, dst: &Storage) -> Result<()> {
    match (src, dst) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let values = src.to_vec(); // src and dst may be the same buffer
            dst.cpu_write().copy_from_slice(&values);
            Ok(())
        }
    }
}

/// Allocates `n` outputs, fills them with `f`, wraps them as CPU storage.
fn cpu_out(n: usize, f: impl FnOnce(&mut [f32])) -> Storage {
    let mut out = vec![0.0; n];
    f(&mut out);
    Storage::cpu(out)
}

pub(crate) fn filled(value: f32, n: usize, device: Device) -> Result<Storage> {
    match device {
        Device::Cpu => Ok(Storage::cpu(vec![value; n])),
        Device::Gpu => to_device(&Storage::cpu(vec![value; n]), &device),
    }
}

// ------------------------------------------------------------- elementwise

pub(crate) fn unary(op: UnaryOp, x: &Storage) -> Result<Storage> {
    match x {
        Storage::Cpu(_) => {
            let x = x.cpu_read();
            Ok(cpu_out(x.len(), |out| cpu::unary(op, &x, out)))
        }
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
    match (a, b) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (a, b) = (a.cpu_read(), b.cpu_read());
            let n = out_shape.iter().product();
            Ok(cpu_out(n, |out| {
                cpu::binary(op, &a, a_strides, &b, b_strides, out_shape, out)
            }))
        }
    }
}

pub(crate) fn where_select(cond: &Storage, a: &Storage, b: &Storage) -> Result<Storage> {
    match (cond, a, b) {
        (Storage::Cpu(_), Storage::Cpu(_), Storage::Cpu(_)) => {
            let (c, a, b) = (cond.cpu_read(), a.cpu_read(), b.cpu_read());
            Ok(cpu_out(c.len(), |out| cpu::where_select(&c, &a, &b, out)))
        }
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
    match x {
        Storage::Cpu(_) => {
            let x = x.cpu_read();
            let n = shape.iter().product();
            Ok(cpu_out(n, |out| {
                if n > 0 {
                    cpu::strided_copy(&x[offset..], shape, strides, out)
                }
            }))
        }
    }
}

/// Concatenates along the middle axis of `[outer, len_i, inner]` views.
pub(crate) fn cat(parts: &[(&Storage, usize)], outer: usize, inner: usize) -> Result<Storage> {
    let total: usize = parts.iter().map(|(_, len)| len).sum();
    let row = total * inner;
    let mut out = vec![0.0; outer * row];
    let mut start = 0;
    for (s, len) in parts {
        let chunk = len * inner;
        match s {
            Storage::Cpu(_) => {
                let src = s.cpu_read();
                for o in 0..outer {
                    out[o * row + start..o * row + start + chunk]
                        .copy_from_slice(&src[o * chunk..(o + 1) * chunk]);
                }
            }
        }
        start += chunk;
    }
    Ok(Storage::cpu(out))
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
    }
}

/// Σ x² over all elements, on the host (used by gradient clipping).
pub(crate) fn sum_squares(x: &Storage) -> Result<f32> {
    match x {
        Storage::Cpu(_) => Ok(cpu::sum_squares(&x.cpu_read())),
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
            let mut y = vec![0.0; rows * cols];
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
    }
}

/// Returns (gx, ggamma, gbeta); the last two only when gamma is given.
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
            let (x, mean, rstd, gy) = (x.cpu_read(), mean.cpu_read(), rstd.cpu_read(), gy.cpu_read());
            let g = gamma.map(|g| g.cpu_read());
            let mut gx = vec![0.0; rows * cols];
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
    }
}

// ------------------------------------------------------------ cross entropy

/// Returns (per-row loss, per-row log-sum-exp, number of counted rows).
pub(crate) fn cross_entropy(
    logits: &Storage,
    targets: &Storage,
    rows: usize,
    cols: usize,
    ignore_index: i64,
    smoothing: f32,
) -> Result<(Storage, Storage, usize)> {
    match (logits, targets) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (x, t) = (logits.cpu_read(), targets.cpu_read());
            let mut loss = vec![0.0; rows];
            let mut lse = vec![0.0; rows];
            let count =
                cpu::cross_entropy(&x, &t, rows, cols, ignore_index, smoothing, &mut loss, &mut lse);
            Ok((Storage::cpu(loss), Storage::cpu(lse), count))
        }
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
            let (x, t, l, g) = (logits.cpu_read(), targets.cpu_read(), lse.cpu_read(), gloss.cpu_read());
            Ok(cpu_out(rows * cols, |gx| {
                cpu::cross_entropy_backward(&x, &t, &l, &g, rows, cols, ignore_index, smoothing, gx)
            }))
        }
    }
}

// ------------------------------------------------------------------ indexing

pub(crate) fn gather_rows(table: &Storage, dim: usize, ids: &Storage) -> Result<Storage> {
    match (table, ids) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (t, i) = (table.cpu_read(), ids.cpu_read());
            Ok(cpu_out(i.len() * dim, |out| cpu::gather_rows(&t, dim, &i, out)))
        }
    }
}

pub(crate) fn scatter_add_rows(grad: &Storage, dim: usize, ids: &Storage, rows: usize) -> Result<Storage> {
    match (grad, ids) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (g, i) = (grad.cpu_read(), ids.cpu_read());
            Ok(cpu_out(rows * dim, |out| cpu::scatter_add_rows(&g, dim, &i, out)))
        }
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
            Ok(cpu_out(outer * len * inner, |gx| {
                cpu::index_add(&g, outer, len, inner, &i, gx)
            }))
        }
    }
}

// ------------------------------------------------------------------- matmul

/// Batched `op(A)·op(B)`; a batch stride of 0 reuses one matrix for every batch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    a: &Storage,
    b: &Storage,
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    stride_a: usize,
    stride_b: usize,
) -> Result<Storage> {
    let lda = if trans_a { m } else { k };
    let ldb = if trans_b { k } else { n };
    match (a, b) {
        (Storage::Cpu(_), Storage::Cpu(_)) => {
            let (a, b) = (a.cpu_read(), b.cpu_read());
            Ok(cpu_out(batch * m * n, |c| {
                cpu::sgemm_batched(
                    batch, trans_a, trans_b, m, n, k, 1.0, &a, lda, stride_a, &b, ldb, stride_b,
                    0.0, c, n, m * n,
                )
            }))
        }
    }
}

// ------------------------------------------------------------------- random

pub(crate) fn uniform(seed: u64, offset: u64, lo: f32, hi: f32, n: usize, device: Device) -> Result<Storage> {
    let s = cpu_out(n, |out| cpu::fill_uniform(seed, offset, lo, hi, out));
    move_to(s, device)
}

pub(crate) fn normal(seed: u64, offset: u64, mean: f32, std: f32, n: usize, device: Device) -> Result<Storage> {
    let s = cpu_out(n, |out| cpu::fill_normal(seed, offset, mean, std, out));
    move_to(s, device)
}

pub(crate) fn dropout_mask(seed: u64, offset: u64, p: f32, n: usize, device: Device) -> Result<Storage> {
    let s = cpu_out(n, |out| cpu::dropout_mask(seed, offset, p, out));
    move_to(s, device)
}

fn move_to(s: Storage, device: Device) -> Result<Storage> {
    match device {
        Device::Cpu => Ok(s),
        Device::Gpu => to_device(&s, &device),
    }
}

// --------------------------------------------------------------- optimizers

/// One Adam/AdamW update of `p` in place, with its moments `m` and `v`.
pub(crate) fn adam_step(p: &Storage, g: &Storage, m: &Storage, v: &Storage, hp: &cpu::AdamParams) -> Result<()> {
    match p {
        Storage::Cpu(_) => {
            let g = g.cpu_read();
            cpu::adam_step(&mut p.cpu_write(), &g, &mut m.cpu_write(), &mut v.cpu_write(), hp);
            Ok(())
        }
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
    }
}
