//! Reference elementwise ops: one scalar formula per op, broadcasting by
//! unravelling every output index. The unary formulas live next to their
//! fast twins in the op table of `src/elementwise.rs`, written independently.

use crate::{BinaryOp, UnaryOp};

/// The scalar definition of each unary op: its `exact` formula in the op
/// table (`src/elementwise.rs`), evaluated in f64 and rounded once.
pub fn unary_scalar(op: UnaryOp, x: f32) -> f32 {
    op.exact(f64::from(x)) as f32
}

/// The scalar definition of each binary op.
pub fn binary_scalar(op: BinaryOp, a: f32, b: f32) -> f32 {
    let flag = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Max => a.max(b),
        BinaryOp::Min => a.min(b),
        BinaryOp::Eq => flag(a == b),
        BinaryOp::Gt => flag(a > b),
        BinaryOp::Ge => flag(a >= b),
        BinaryOp::Lt => flag(a < b),
        BinaryOp::Le => flag(a <= b),
    }
}

pub fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len());
    for (o, &v) in out.iter_mut().zip(x) {
        *o = unary_scalar(op, v);
    }
}

/// Offset of the element with multi-index `idx` under `strides`.
fn offset(idx: &[usize], strides: &[usize]) -> usize {
    idx.iter().zip(strides).map(|(i, s)| i * s).sum()
}

/// Row-major multi-index of flat position `flat` in `shape`.
pub(crate) fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    idx
}

pub fn binary(
    op: BinaryOp,
    a: &[f32],
    a_strides: &[usize],
    b: &[f32],
    b_strides: &[usize],
    out_shape: &[usize],
    out: &mut [f32],
) {
    assert_eq!(out.len(), out_shape.iter().product::<usize>());
    for (i, o) in out.iter_mut().enumerate() {
        let idx = unravel(i, out_shape);
        *o = binary_scalar(op, a[offset(&idx, a_strides)], b[offset(&idx, b_strides)]);
    }
}

pub fn where_select(cond: &[f32], a: &[f32], b: &[f32], out: &mut [f32]) {
    for i in 0..out.len() {
        out[i] = if cond[i] != 0.0 { a[i] } else { b[i] };
    }
}

pub(crate) fn strided_offset(idx: &[usize], strides: &[usize]) -> usize {
    offset(idx, strides)
}
