//! Int8 inference: `y = x Wᵀ + b` with W quantized once to int8 per output
//! row and x quantized per row at each call (kernels-cpu `quant/`,
//! docs/kernels/int8.md).
//!
//! Inference only, on the host only: the op records nothing on the tape
//! and refuses inputs that would need a gradient (quantization's rounding
//! has none worth following) and GPU tensors (there is no int8 shader).

use crate::storage::{HostBuf, Storage};
use crate::{autograd, Device, Error, Result, Tensor};
use kernels_cpu::QuantizedMatrix;
use std::sync::Arc;

/// A Linear weight `[O, I]` quantized for int8 inference; cheap to clone.
#[derive(Clone, Debug)]
pub struct QuantizedWeight(Arc<QuantizedMatrix>);

impl QuantizedWeight {
    /// Quantizes a host weight `[O, I]` (one scale per output row).
    pub fn quantize(weight: &Tensor) -> Result<QuantizedWeight> {
        let op = "QuantizedWeight::quantize";
        if weight.device() != Device::Cpu {
            return Err(Error::invalid(
                op,
                format!(
                    "int8 inference runs on the CPU only; the weight {} is on the {}",
                    weight.shape(),
                    weight.device()
                ),
            ));
        }
        let [rows, cols] = weight.dims() else {
            return Err(Error::bad_shape(
                op,
                weight.shape(),
                "expected a matrix [out, in]",
            ));
        };
        if *cols > kernels_cpu::INT8_MAX_DEPTH {
            return Err(Error::bad_shape(
                op,
                weight.shape(),
                format!(
                    "{cols} input features; int8 sums stay exact up to {}",
                    kernels_cpu::INT8_MAX_DEPTH
                ),
            ));
        }
        let data = weight.to_vec();
        Ok(QuantizedWeight(Arc::new(QuantizedMatrix::quantize(
            &data, *rows, *cols,
        ))))
    }

    /// Output features O.
    pub fn out_features(&self) -> usize {
        self.0.rows()
    }

    /// Input features I.
    pub fn in_features(&self) -> usize {
        self.0.cols()
    }

    /// The packed matrix (for kernels and tests).
    pub fn matrix(&self) -> &QuantizedMatrix {
        &self.0
    }
}

impl Tensor {
    /// `x Wᵀ + b` through int8 for `x` `[..., I]`, `w` `[O, I]`, `bias`
    /// `[O]` → `[..., O]`. Host tensors only; an error when gradients are
    /// on and an input needs one (run it under [`no_grad`](crate::no_grad)).
    pub fn linear_int8(&self, w: &QuantizedWeight, bias: Option<&Tensor>) -> Result<Tensor> {
        let op = "linear_int8";
        for t in std::iter::once(self).chain(bias) {
            if t.device() != Device::Cpu {
                return Err(Error::invalid(
                    op,
                    format!(
                        "int8 inference runs on the CPU only; got a tensor {} on the {}",
                        t.shape(),
                        t.device()
                    ),
                ));
            }
            if autograd::is_grad_enabled() && t.requires_grad() {
                return Err(Error::invalid(
                    op,
                    format!(
                        "int8 is for inference only and has no gradient, but the tensor {} requires one \
                         (quantize a model for translating, not for training; decode under no_grad)",
                        t.shape()
                    ),
                ));
            }
        }
        let (in_f, out_f) = (w.in_features(), w.out_features());
        if self.rank() < 1 || self.dims()[self.rank() - 1] != in_f {
            return Err(Error::bad_shape(
                op,
                self.shape(),
                format!("expected x [..., {in_f}] for a weight [{out_f}, {in_f}]"),
            ));
        }
        if let Some(b) = bias {
            if b.dims() != [out_f] {
                return Err(Error::bad_shape(
                    op,
                    b.shape(),
                    format!("expected a bias [{out_f}] for a weight [{out_f}, {in_f}]"),
                ));
            }
        }
        let rows = self.numel() / in_f.max(1);
        let mut y = crate::host_pool::take(rows * out_f);
        {
            let x = self.storage().cpu_read();
            let b = bias.map(|b| b.storage().cpu_read());
            kernels_cpu::linear_int8(
                &x[..rows * in_f],
                rows,
                w.matrix(),
                b.as_deref().map(|b| &b[..]),
                &mut y,
            );
        }
        let mut dims = self.dims().to_vec();
        *dims.last_mut().expect("rank >= 1") = out_f;
        Ok(Tensor::from_storage(
            Arc::new(Storage::Cpu(HostBuf::new(y))),
            dims.into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::no_grad;

    fn tensor(n: usize, dims: &[usize], seed: u32) -> Tensor {
        let data = (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect();
        Tensor::from_vec(data, dims.to_vec(), &Device::Cpu).unwrap()
    }

    #[test]
    fn matches_the_reference_and_keeps_leading_dimensions() {
        let (i, o) = (37, 19);
        let x = tensor(2 * 5 * i, &[2, 5, i], 1);
        let w = tensor(o * i, &[o, i], 2);
        let b = tensor(o, &[o], 3);
        let q = QuantizedWeight::quantize(&w).unwrap();
        let y = x.linear_int8(&q, Some(&b)).unwrap();
        assert_eq!(y.dims(), [2, 5, o]);
        let mut want = vec![0.0; 10 * o];
        kernels_cpu::reference::linear_int8(
            &x.to_vec(),
            10,
            i,
            &w.to_vec(),
            o,
            Some(&b.to_vec()),
            &mut want,
        );
        assert_eq!(y.to_vec(), want);
        let f32_y = x.linear(&w, &b).unwrap().to_vec();
        let worst = f32_y
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 0.05, "int8 vs f32: {worst}");
    }

    #[test]
    fn refuses_gradients_and_wrong_shapes() {
        let w = tensor(6, &[3, 2], 1);
        let q = QuantizedWeight::quantize(&w).unwrap();
        let x = tensor(4, &[2, 2], 2).requires_grad_();
        let err = x.linear_int8(&q, None).unwrap_err().to_string();
        assert!(err.contains("inference only"), "{err}");
        // Under no_grad the same call is fine.
        assert_eq!(no_grad(|| x.linear_int8(&q, None)).unwrap().dims(), [2, 3]);
        let err = tensor(3, &[1, 3], 3)
            .linear_int8(&q, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("[..., 2]") && err.contains("[1, 3]"), "{err}");
        let err = tensor(2, &[1, 2], 3)
            .linear_int8(&q, Some(&tensor(2, &[2], 4)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bias [3]"), "{err}");
        let err = QuantizedWeight::quantize(&tensor(3, &[3], 5))
            .unwrap_err()
            .to_string();
        assert!(err.contains("[out, in]"), "{err}");
    }
}
