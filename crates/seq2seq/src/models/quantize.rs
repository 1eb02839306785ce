//! Int8 inference for whole models: [`Model::quantize_int8`] gives every
//! Linear product of a decoding step an int8 copy of its weight
//! (docs/kernels/int8.md), so that translation runs the int8 GEMM.
//!
//! Which products: in the Transformer, all of them — the attention input
//! and output projections, both feed-forward layers of every encoder and
//! decoder layer, and the generator. In the recurrent models, the Linear
//! layers around the recurrence (generator, and the attention model's
//! bridge and combine); the GRU/LSTM gates run in fused cell kernels and
//! the attention scores read their weights directly, so those stay f32.
//!
//! The f32 weights remain the parameters (checkpoints and training are
//! unchanged); a quantized model is for decoding only: its int8 products
//! refuse tensors that need gradients, and host tensors only.

use super::{AttnSeq2Seq, Model, RnnSeq2Seq, TransformerSeq2Seq};
use crate::nn::{Linear, Module, TransformerDecoderLayer, TransformerEncoderLayer};
use tensor::{Device, Error, Result};

impl Model {
    /// Quantizes the model's Linear products to int8 (see the module
    /// header); returns how many weight matrices were quantized.
    pub fn quantize_int8(&mut self) -> Result<usize> {
        if let Some(p) = self.parameters().iter().find(|p| p.device() != Device::Cpu) {
            return Err(Error::InvalidArgument {
                op: "quantize_int8",
                msg: format!(
                    "int8 inference runs on the CPU only; the model's parameters are on the {} \
                     (load it with --device cpu)",
                    p.device()
                ),
            });
        }
        match self {
            Model::Rnn(m) => m.quantize_int8(),
            Model::Attn(m) => m.quantize_int8(),
            Model::Transformer(m) => m.quantize_int8(),
        }
    }
}

fn linears(layers: &mut [&mut Linear]) -> Result<usize> {
    for l in layers.iter_mut() {
        l.quantize_int8()?;
    }
    Ok(layers.len())
}

impl RnnSeq2Seq {
    pub fn quantize_int8(&mut self) -> Result<usize> {
        linears(&mut [&mut self.generator])
    }
}

impl AttnSeq2Seq {
    pub fn quantize_int8(&mut self) -> Result<usize> {
        linears(&mut [&mut self.bridge, &mut self.combine, &mut self.generator])
    }
}

impl TransformerEncoderLayer {
    pub fn quantize_int8(&mut self) -> Result<usize> {
        self.self_attn.quantize_int8()?;
        Ok(2 + linears(&mut [&mut self.parts.linear1, &mut self.parts.linear2])?)
    }
}

impl TransformerDecoderLayer {
    pub fn quantize_int8(&mut self) -> Result<usize> {
        self.self_attn.quantize_int8()?;
        self.multihead_attn.quantize_int8()?;
        Ok(4 + linears(&mut [&mut self.parts.linear1, &mut self.parts.linear2])?)
    }
}

impl TransformerSeq2Seq {
    pub fn quantize_int8(&mut self) -> Result<usize> {
        let mut n = linears(&mut [&mut self.generator])?;
        for layer in &mut self.transformer.encoder.layers {
            n += layer.quantize_int8()?;
        }
        for layer in &mut self.transformer.decoder.layers {
            n += layer.quantize_int8()?;
        }
        Ok(n)
    }
}
