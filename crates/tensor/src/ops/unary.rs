//! Pointwise maths of one tensor: y = f(x), dy/dx = f'(x).
//!
//! Each op is one row of the `UnaryOp` table in kernels-cpu's
//! `src/elementwise.rs` (its SIMD formula and its f64 definition) and one
//! `case` in shaders/elementwise.wgsl; this file holds its public method and
//! its gradient rule. docs/architecture.md walks through all five places of
//! one op. Some `UnaryOp`s are derivative kernels only (the relu step,
//! gelu's derivative, clamp's indicator): backward rules use them through
//! `derivative`, and no public method reaches them, so no user can build a
//! graph through an op without a gradient rule.

use crate::autograd::BackwardOp;
use crate::backend::{self, UnaryOp};
use crate::{Error, Result, Tensor};

/// A derivative kernel applied to `x` inside a backward rule: a plain
/// tensor, recorded on no tape (backward runs without one).
fn derivative(x: &Tensor, op: UnaryOp) -> Result<Tensor> {
    let storage = backend::unary(op, x.storage())?;
    Ok(Tensor::from_storage(
        std::sync::Arc::new(storage),
        x.shape().clone(),
    ))
}

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
            UnaryOp::Relu => g.mul(&derivative(x, UnaryOp::Step)?)?,
            // d gelu = Φ(x) + x φ(x)
            UnaryOp::Gelu => g.mul(&derivative(x, UnaryOp::GeluGrad)?)?,
            // d |x| = sign(x)  (0 at 0, as PyTorch)
            UnaryOp::Abs => {
                g.mul(&derivative(x, UnaryOp::Step)?.sub(&derivative(&x.neg()?, UnaryOp::Step)?)?)?
            }
            // d (1/x) = -1/x² = -y²
            UnaryOp::Recip => g.mul(&y.square()?.neg()?)?,
            // d x² = 2x
            UnaryOp::Square => g.mul(&x.mul_scalar(2.0)?)?,
            // d xᵖ = p xᵖ⁻¹
            UnaryOp::Powf(p) => g.mul(&x.powf(p - 1.0)?.mul_scalar(p)?)?,
            // d clamp = [lo ≤ x ≤ hi]
            UnaryOp::Clamp(lo, hi) => g.mul(&derivative(x, UnaryOp::InRange(lo, hi))?)?,
            UnaryOp::AddScalar(_) => g.clone(),
            UnaryOp::MulScalar(s) => g.mul_scalar(s)?,
            // d silu = σ + x σ (1 - σ) = σ + y (1 - σ)
            UnaryOp::Silu => {
                let sig = x.sigmoid()?;
                g.mul(&sig.add(&y.mul(&sig.neg()?.add_scalar(1.0)?)?)?)?
            }
            UnaryOp::Step | UnaryOp::InRange(..) | UnaryOp::GeluGrad => {
                return Err(Error::Autograd(format!(
                    "{:?} is a derivative kernel, not an op with a gradient rule",
                    self.0
                )))
            }
        };
        Ok(vec![Some(gx)])
    }
}

impl Tensor {
    /// Applies a pointwise op that has a gradient rule (the methods below
    /// name each one).
    pub(crate) fn map(&self, op: UnaryOp) -> Result<Tensor> {
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
    /// SiLU (swish), x·σ(x).
    pub fn silu(&self) -> Result<Tensor> {
        self.map(UnaryOp::Silu)
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
