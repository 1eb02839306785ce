//! Pointwise maths of two tensors with NumPy broadcasting.
//!
//! The gradients below are written at the *output's* shape; autograd sums
//! them back down to each input's shape (the one place broadcasting is undone).

use crate::autograd::BackwardOp;
use crate::backend::{self, BinaryOp};
use crate::{Result, Shape, Tensor};

struct Binary(BinaryOp);

impl BackwardOp for Binary {
    fn name(&self) -> &'static str {
        "binary"
    }

    fn backward(&self, inputs: &[Tensor], y: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let (ga, gb) = match self.0 {
            // d(a+b) = (1, 1)
            BinaryOp::Add => (g.clone(), g.clone()),
            // d(a-b) = (1, -1)
            BinaryOp::Sub => (g.clone(), g.neg()?),
            // d(ab) = (b, a)
            BinaryOp::Mul => (g.mul(b)?, g.mul(a)?),
            // d(a/b) = (1/b, -a/b²) = (1/b, -y/b)
            BinaryOp::Div => {
                let ga = g.div(b)?;
                (ga.clone(), ga.mul(y)?.neg()?)
            }
            // the gradient goes to the input that won; ties go to a
            BinaryOp::Max => {
                let a_wins = a.compare(BinaryOp::Ge, b)?;
                (g.mul(&a_wins)?, g.mul(&a_wins.neg()?.add_scalar(1.0)?)?)
            }
            BinaryOp::Min => {
                let a_wins = a.compare(BinaryOp::Le, b)?;
                (g.mul(&a_wins)?, g.mul(&a_wins.neg()?.add_scalar(1.0)?)?)
            }
            // Comparisons are piecewise constant.
            _ => return Ok(vec![None, None]),
        };
        Ok(vec![Some(ga), Some(gb)])
    }
}

impl Tensor {
    /// Applies a broadcasting binary op.
    pub fn zip(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        let name = op_name(op);
        backend::check_same_device(name, self, other)?;
        let out = Shape::broadcast(name, self.shape(), other.shape())?;
        let storage = backend::binary(
            op,
            (self.storage(), &self.shape().broadcast_strides(&out)),
            (other.storage(), &other.shape().broadcast_strides(&out)),
            out.dims(),
        )?;
        Ok(Tensor::from_op(
            storage,
            out,
            Binary(op),
            vec![self.clone(), other.clone()],
        ))
    }

    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.zip(BinaryOp::Add, other)
    }
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.zip(BinaryOp::Sub, other)
    }
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.zip(BinaryOp::Mul, other)
    }
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.zip(BinaryOp::Div, other)
    }
    /// Elementwise maximum.
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.zip(BinaryOp::Max, other)
    }
    /// Elementwise minimum.
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.zip(BinaryOp::Min, other)
    }

    /// A 0/1 mask from a comparison (`Eq`, `Gt`, `Ge`, `Lt`, `Le`); not differentiable.
    pub fn compare(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        crate::autograd::no_grad(|| self.zip(op, other))
    }
    pub fn eq_mask(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(BinaryOp::Eq, other)
    }
    pub fn gt_mask(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(BinaryOp::Gt, other)
    }
    pub fn lt_mask(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(BinaryOp::Lt, other)
    }
}

fn op_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "add",
        BinaryOp::Sub => "sub",
        BinaryOp::Mul => "mul",
        BinaryOp::Div => "div",
        BinaryOp::Max => "maximum",
        BinaryOp::Min => "minimum",
        BinaryOp::Eq => "eq",
        BinaryOp::Gt => "gt",
        BinaryOp::Ge => "ge",
        BinaryOp::Lt => "lt",
        BinaryOp::Le => "le",
    }
}
