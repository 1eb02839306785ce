//! Errors of the engine. Every message names the operation and the shapes or
//! devices at fault, so a user can find the line that caused it.

use crate::{Device, Shape};

/// Everything that can go wrong in a tensor operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two shapes that had to agree did not.
    #[error("{op}: shapes {lhs} and {rhs} are incompatible{detail}")]
    ShapeMismatch {
        op: &'static str,
        lhs: Shape,
        rhs: Shape,
        detail: String,
    },
    /// A shape was wrong on its own (e.g. a reshape with the wrong element count).
    #[error("{op}: {msg} (shape {shape})")]
    BadShape {
        op: &'static str,
        shape: Shape,
        msg: String,
    },
    /// An axis outside `-rank..rank`.
    #[error("{op}: axis {axis} is out of range for shape {shape} (rank {rank})", rank = shape.rank())]
    AxisOutOfRange {
        op: &'static str,
        axis: isize,
        shape: Shape,
    },
    /// Tensors on different devices met in one op.
    #[error(
        "{op}: tensors are on different devices ({lhs} and {rhs}); move one with .to(&device)"
    )]
    DeviceMismatch {
        op: &'static str,
        lhs: Device,
        rhs: Device,
    },
    /// An index (token id, gather index) outside its range.
    #[error("{op}: index {index} is out of range 0..{size}")]
    IndexOutOfRange {
        op: &'static str,
        index: f64,
        size: usize,
    },
    /// A bad argument that is not a shape (a probability outside [0, 1), say).
    #[error("{op}: {msg}")]
    InvalidArgument { op: &'static str, msg: String },
    /// backward() was called on something it cannot start from.
    #[error("backward: {0}")]
    Autograd(String),
    /// The requested device cannot be used.
    #[error("device {device}: {msg}")]
    Device { device: Device, msg: String },
    /// Reading or writing a tensor file failed.
    #[error("{path}: {msg}")]
    Io { path: String, msg: String },
}

/// The result type of every fallible tensor operation.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn shapes(op: &'static str, lhs: &Shape, rhs: &Shape) -> Self {
        Error::ShapeMismatch {
            op,
            lhs: lhs.clone(),
            rhs: rhs.clone(),
            detail: String::new(),
        }
    }

    pub(crate) fn shapes_because(
        op: &'static str,
        lhs: &Shape,
        rhs: &Shape,
        detail: impl Into<String>,
    ) -> Self {
        Error::ShapeMismatch {
            op,
            lhs: lhs.clone(),
            rhs: rhs.clone(),
            detail: format!(": {}", detail.into()),
        }
    }

    pub(crate) fn bad_shape(op: &'static str, shape: &Shape, msg: impl Into<String>) -> Self {
        Error::BadShape {
            op,
            shape: shape.clone(),
            msg: msg.into(),
        }
    }

    pub(crate) fn invalid(op: &'static str, msg: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            msg: msg.into(),
        }
    }
}
