//! The Transformer encoder–decoder (Vaswani et al. 2017, "Attention Is All
//! You Need", §3.1), `torch.nn.TransformerEncoder`, `torch.nn.TransformerDecoder`
//! and `torch.nn.Transformer`: stacks of the layers in transformer_layer.rs.
//!
//! ```text
//!   m = LN_enc(Encoder_N(… Encoder_1(x)))              the memory
//!   y = LN_dec(Decoder_N(… Decoder_1(y, m) …, m))      every decoder layer attends to m
//! ```
//!
//! Shapes: source x and memory m `[B, S, E]`, target y `[B, T, E]` with
//! `batch_first` (else `[S, B, E]`, `[T, B, E]`, PyTorch's default). B batch,
//! S source length, T target length, E model size (`d_model`).
//!
//! Conventions: PyTorch's names — `layers.{i}.` inside a stack, `norm.` for
//! its final LayerNorm, `encoder.` / `decoder.` in [`Transformer`], which
//! always has both final norms, as `torch.nn.Transformer` builds them (they
//! matter for pre-norm, whose layers leave their output unnormalised).
//! Initialisation: PyTorch's per-layer defaults, then xavier_uniform on every
//! matrix for [`Transformer`], as its `_reset_parameters`. The embeddings,
//! positional encoding and output projection belong to the model, not here.

use super::multihead_attention::Masks;
use super::transformer_layer::{
    norm, DecoderLayerCache, TransformerDecoderLayer, TransformerEncoderLayer,
};
use super::{Ctx, LayerNorm, Module, Params};
use tensor::{init, Device, Result, Rng, Tensor};

/// The feed-forward nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Relu,
    /// Exact (erf) GELU, PyTorch's `"gelu"`.
    Gelu,
}

/// `torch.nn.Transformer`'s arguments.
#[derive(Clone, Debug)]
pub struct TransformerConfig {
    pub d_model: usize,
    pub nhead: usize,
    pub num_encoder_layers: usize,
    pub num_decoder_layers: usize,
    pub dim_feedforward: usize,
    pub dropout: f32,
    pub activation: Activation,
    pub layer_norm_eps: f32,
    pub batch_first: bool,
    pub norm_first: bool,
}

impl Default for TransformerConfig {
    /// PyTorch's defaults (the base model of Vaswani et al.).
    fn default() -> Self {
        TransformerConfig {
            d_model: 512,
            nhead: 8,
            num_encoder_layers: 6,
            num_decoder_layers: 6,
            dim_feedforward: 2048,
            dropout: 0.1,
            activation: Activation::Relu,
            layer_norm_eps: 1e-5,
            batch_first: false,
            norm_first: false,
        }
    }
}

/// `torch.nn.TransformerEncoder`: N encoder layers and an optional final norm.
#[derive(Clone)]
pub struct TransformerEncoder {
    pub layers: Vec<TransformerEncoderLayer>,
    pub norm: Option<LayerNorm>,
}

impl TransformerEncoder {
    pub fn new(
        c: &TransformerConfig,
        num_layers: usize,
        final_norm: bool,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        Ok(TransformerEncoder {
            layers: (0..num_layers)
                .map(|_| TransformerEncoderLayer::new(c, rng, device))
                .collect::<Result<_>>()?,
            norm: final_norm.then(|| norm(c, device)).transpose()?,
        })
    }

    pub fn forward(&self, src: &Tensor, mask: &Masks, ctx: &mut Ctx) -> Result<Tensor> {
        let mut x = src.clone();
        for layer in &self.layers {
            x = layer.forward(&x, mask, ctx)?;
        }
        self.norm.as_ref().map_or(Ok(x.clone()), |n| n.forward(&x))
    }
}

/// `torch.nn.TransformerDecoder`: N decoder layers and an optional final norm.
#[derive(Clone)]
pub struct TransformerDecoder {
    pub layers: Vec<TransformerDecoderLayer>,
    pub norm: Option<LayerNorm>,
}

impl TransformerDecoder {
    pub fn new(
        c: &TransformerConfig,
        num_layers: usize,
        final_norm: bool,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        Ok(TransformerDecoder {
            layers: (0..num_layers)
                .map(|_| TransformerDecoderLayer::new(c, rng, device))
                .collect::<Result<_>>()?,
            norm: final_norm.then(|| norm(c, device)).transpose()?,
        })
    }

    pub fn forward(
        &self,
        tgt: &Tensor,
        memory: &Tensor,
        tgt_mask: &Masks,
        memory_mask: &Masks,
        ctx: &mut Ctx,
    ) -> Result<Tensor> {
        let mut y = tgt.clone();
        for layer in &self.layers {
            y = layer.forward(&y, memory, tgt_mask, memory_mask, ctx)?;
        }
        self.norm.as_ref().map_or(Ok(y.clone()), |n| n.forward(&y))
    }

    /// Incremental decoding: every layer's cache before the first step
    /// (the memory `[B, S, E]`, batch-first, projected once per layer).
    pub fn start(&self, memory: &Tensor) -> Result<Vec<DecoderLayerCache>> {
        self.layers.iter().map(|l| l.start(memory)).collect()
    }

    /// One target position `y` `[B, 1, E]` (batch-first) through every
    /// layer and the final norm → (output `[B, 1, E]`, each layer's
    /// cross-attention weights `[B, h, 1, S]` (none unless `weights`), the
    /// new caches).
    pub fn step(
        &self,
        y: &Tensor,
        caches: &[DecoderLayerCache],
        memory_padding: Option<&Tensor>,
        weights: bool,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, Vec<Tensor>, Vec<DecoderLayerCache>)> {
        let mut y = y.clone();
        let (mut maps, mut next) = (Vec::new(), Vec::new());
        for (layer, cache) in self.layers.iter().zip(caches) {
            let (out, w, c) = layer.step(&y, cache, memory_padding, weights, ctx)?;
            y = out;
            maps.extend(w);
            next.push(c);
        }
        let y = self
            .norm
            .as_ref()
            .map_or(Ok(y.clone()), |n| n.forward(&y))?;
        Ok((y, maps, next))
    }
}

impl Module for TransformerEncoder {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.modules("layers", &mut self.layers);
        p.optional_module("norm", &mut self.norm);
    }
}

impl Module for TransformerDecoder {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.modules("layers", &mut self.layers);
        p.optional_module("norm", &mut self.norm);
    }
}

/// `torch.nn.Transformer`: encoder and decoder stacks, each with a final norm.
#[derive(Clone)]
pub struct Transformer {
    pub encoder: TransformerEncoder,
    pub decoder: TransformerDecoder,
    pub config: TransformerConfig,
}

impl Transformer {
    /// Built as `torch.nn.Transformer`: xavier_uniform on every matrix.
    pub fn new(config: TransformerConfig, rng: &mut Rng, device: &Device) -> Result<Self> {
        let t = Transformer {
            encoder: TransformerEncoder::new(
                &config,
                config.num_encoder_layers,
                true,
                rng,
                device,
            )?,
            decoder: TransformerDecoder::new(
                &config,
                config.num_decoder_layers,
                true,
                rng,
                device,
            )?,
            config,
        };
        for p in t.parameters().iter().filter(|p| p.rank() > 1) {
            p.copy_from(&init::xavier_uniform(p.shape().clone(), 1.0, rng, device)?)?;
        }
        Ok(t)
    }

    /// `src` `[B, S, E]`, `tgt` `[B, T, E]` → `[B, T, E]`. `memory_mask`
    /// usually repeats the source's key padding mask.
    pub fn forward(
        &self,
        src: &Tensor,
        tgt: &Tensor,
        src_mask: &Masks,
        tgt_mask: &Masks,
        memory_mask: &Masks,
        ctx: &mut Ctx,
    ) -> Result<Tensor> {
        // m = Encoder(x)
        let memory = self.encoder.forward(src, src_mask, ctx)?; // [B, S, E]

        // y = Decoder(y, m)
        let y = self
            .decoder
            .forward(tgt, &memory, tgt_mask, memory_mask, ctx)?; // [B, T, E]
        Ok(y)
    }
}

impl Module for Transformer {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.module("encoder", &mut self.encoder);
        p.module("decoder", &mut self.decoder);
    }
}
