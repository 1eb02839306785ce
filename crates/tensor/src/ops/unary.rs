//! Pointwise maths of one tensor: y = f(x), dy/dx = f'(x).
//!
//! Adding a unary op touches four places: the `UnaryOp` variant and CPU
//! closure in kernels-cpu, its WGSL entry in shaders/unary.wgsl, the public
//! method and gradient below, and a line in tests/gradcheck.rs.

use crate::autograd::BackwardOp;
use crate::backend::{self, UnaryOp};
use crate::{Result, Tensor};

struct Unary(UnaryOp);

impl BackwardOp for Unary {
    fn name(&self) -> &'static str {
        "unary"
    }

    fn backward(&self, inputs: &[Tensor], y: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let gx = match self.0 {
            // d(-x) = -1
            UnaryOp::Neg => g.neg()?,
            // d eˣ = eˣ = y
            UnaryOp::Exp => g.mul(y)?,
            // d ln x = 1/x
            UnaryOp::Log => g.div(x)?,
            // d √x = 1 / (2√x)
            UnaryOp::Sqrt => g.div(&y.mul_scalar(2.0)?)?,
            // d tanh = 1 - tanh²
            UnaryOp::Tanh => g.mul(&y.square()?.neg()?.add_scalar(1.0)?)?,
            // d σ = σ (1 - σ)
            UnaryOp::Sigmoid => g.mul(&y.mul(&y.neg()?.add_scalar(1.0)?)?)?,
            // d relu = [x > 0]
            UnaryOp::Relu => g.mul(&x.map(UnaryOp::Step)?)?,
            // d gelu = Φ(x) + x φ(x)
            UnaryOp::Gelu => g.mul(&x.map(UnaryOp::GeluGrad)?)?,
            // d |x| = sign(x)  (0 at 0, as PyTorch)
            UnaryOp::Abs => g.mul(&x.map(UnaryOp::Step)?.sub(&x.neg()?.map(UnaryOp::Step)?)?)?,
            // d (1/x) = -1/x² = -y²
            UnaryOp::Recip => g.mul(&y.square()?.neg()?)?,
            // d x² = 2x
            UnaryOp::Square => g.mul(&x.mul_scalar(2.0)?)?,
            // d xᵖ = p xᵖ⁻¹
            UnaryOp::Powf(p) => g.mul(&x.powf(p - 1.0)?.mul_scalar(p)?)?,
            // d clamp = [lo ≤ x ≤ hi]
            UnaryOp::Clamp(lo, hi) => g.mul(&x.map(UnaryOp::InRange(lo, hi))?)?,
            UnaryOp::AddScalar(_) => g.clone(),
            UnaryOp::MulScalar(s) => g.mul_scalar(s)?,
            // Indicator functions are flat almost everywhere.
            UnaryOp::Step | UnaryOp::InRange(..) | UnaryOp::GeluGrad => return Ok(vec![None]),
        };
        Ok(vec![Some(gx)])
    }
}

impl Tensor {
    /// Applies a pointwise op. Public methods below name each one.
    pub fn map(&self, op: UnaryOp) -> Result<Tensor> {
        let storage = backend::unary(op, self.storage())?;
        Ok(Tensor::from_op(
            storage,
            self.shape().clone(),
            Unary(op),
            vec![self.clone()],
        ))
    }

    pub fn neg(&self) -> Result<Tensor> {
        self.map(UnaryOp::Neg)
    }
    pub fn exp(&self) -> Result<Tensor> {
        self.map(UnaryOp::Exp)
    }
    pub fn log(&self) -> Result<Tensor> {
        self.map(UnaryOp::Log)
    }
    pub fn sqrt(&self) -> Result<Tensor> {
        self.map(UnaryOp::Sqrt)
    }
    pub fn tanh(&self) -> Result<Tensor> {
        self.map(UnaryOp::Tanh)
    }
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.map(UnaryOp::Sigmoid)
    }
    pub fn relu(&self) -> Result<Tensor> {
        self.map(UnaryOp::Relu)
    }
    /// GELU, the exact erf form (PyTorch's default `approximate='none'`).
    pub fn gelu(&self) -> Result<Tensor> {
        self.map(UnaryOp::Gelu)
    }
    pub fn abs(&self) -> Result<Tensor> {
        self.map(UnaryOp::Abs)
    }
    pub fn recip(&self) -> Result<Tensor> {
        self.map(UnaryOp::Recip)
    }
    pub fn square(&self) -> Result<Tensor> {
        self.map(UnaryOp::Square)
    }
    /// xᵖ for a scalar exponent.
    pub fn powf(&self, p: f32) -> Result<Tensor> {
        self.map(UnaryOp::Powf(p))
    }
    /// min(max(x, lo), hi).
    pub fn clamp(&self, lo: f32, hi: f32) -> Result<Tensor> {
        if lo > hi {
            return Err(crate::Error::invalid(
                "clamp",
                format!("lower bound {lo} is above upper bound {hi}"),
            ));
        }
        self.map(UnaryOp::Clamp(lo, hi))
    }
    pub fn add_scalar(&self, s: f32) -> Result<Tensor> {
        self.map(UnaryOp::AddScalar(s))
    }
    pub fn mul_scalar(&self, s: f32) -> Result<Tensor> {
        self.map(UnaryOp::MulScalar(s))
    }
}
