//! The Transformer translation model (Vaswani et al. 2017, §3): embeddings
//! scaled by √d plus sinusoidal positions, `nn::Transformer`, and a linear
//! layer to the target vocabulary.
//!
//! ```text
//!   x = PE(√d · E_src x);   y = PE(√d · E_tgt y_<t)
//!   m = Encoder(x, key padding of x)
//!   o = Decoder(y, m, causal, key padding of x)
//!   p(y_t | y_<t, x) = softmax(W_out o_t + b_out)      W_out = E_tgt when tied (§3.4)
//! ```
//!
//! Shapes: source `[B, S]`, target `[B, T]`, model size d, logits
//! `[B, T, V]`. Options: one table for both sides (`share_embeddings`, needs
//! a joint vocabulary) and the output projection tied to the target table
//! (`tie_output`, Press & Wolf 2017). Embeddings start at N(0, 1/d) (as
//! fairseq), so √d · E has unit scale and a tied output starts small.
//!
//! Incremental decoding ([`Seq2Seq::step`]) runs one position per step:
//! the state holds, for every decoder layer, the keys and values of its
//! self-attention over the positions so far (one position appended per
//! step) and those of its cross-attention over the memory (computed once,
//! in [`Seq2Seq::start`]). No past position is recomputed, and step t gives
//! the logits `forward` gives at position t. [`Seq2Seq::reorder`] (beam
//! search) records which rows of the self-attention caches the beams
//! continue, and the next step picks them as it appends its position (one
//! copy of the cache per step, `Tensor::select_cat`); the memory's keys and
//! values are gathered again only when a row's source changes. Each step
//! also returns the
//! cross-attention weights of every layer, `[B, h, S]`, named
//! `decoder.layers.{l}.multihead_attn`.
//!
//! Parameter names: `src_embed.weight`, `tgt_embed.weight` (absent when
//! shared), `transformer.encoder.*`, `transformer.decoder.*` (PyTorch's
//! `nn.Transformer` names), `generator.weight` (absent when tied),
//! `generator.bias`.

use super::config::TransformerSeq2SeqConfig;
use super::{Seq2Seq, Source, Step, Target};
use crate::data::Vocab;
use crate::nn::{
    invalid, Activation, Ctx, DecoderLayerCache, Embedding, KeyValue, Linear, Masks, Module,
    Params, PositionalEncoding, Transformer, TransformerConfig,
};
use std::sync::Arc;
use tensor::{Device, Result, Rng, Tensor};

/// The Transformer encoder–decoder with embeddings and generator.
#[derive(Clone)]
pub struct TransformerSeq2Seq {
    pub config: TransformerSeq2SeqConfig,
    pub src_embed: Embedding,
    /// `None` when the source table is shared.
    pub tgt_embed: Option<Embedding>,
    pub positional: PositionalEncoding,
    pub transformer: Transformer,
    /// d → V; its weight is the target table's when tied.
    pub generator: Linear,
}

/// What the decoder keeps between steps: every layer's key/value cache,
/// the source padding, and how many positions have been decoded.
#[derive(Clone)]
pub struct TransformerState {
    /// One per decoder layer (nn/transformer_layer.rs).
    pub layers: Vec<DecoderLayerCache>,
    /// 1 at padded source positions `[B, S]`.
    pub mask: Tensor,
    /// Positions decoded so far: the next one's index into the positional table.
    pub position: usize,
    /// The source row (of [`Seq2Seq::start`]'s batch) behind each row.
    sources: Vec<usize>,
    /// The source row behind each row of the layers' memory and of `mask`:
    /// one per sentence when every sentence has the same number of rows
    /// next to each other (beam search's beams), else one per row.
    memory_rows: Vec<usize>,
    /// The memory's keys and values per layer, and the mask, as
    /// [`Seq2Seq::start`] made them: one row per source.
    encoded: Arc<(Vec<KeyValue>, Tensor)>,
}

impl TransformerSeq2Seq {
    pub fn new(config: TransformerSeq2SeqConfig, rng: &mut Rng, device: &Device) -> Result<Self> {
        let c = &config;
        let d = c.d_model;
        let embed = |v: usize, rng: &mut Rng| -> Result<Embedding> {
            let e = Embedding::new(v, d, Some(Vocab::PAD as usize), rng, device)?;
            e.weight
                .copy_from(&e.weight.detach().mul_scalar((d as f32).powf(-0.5))?)?;
            Ok(e)
        };
        let src_embed = embed(c.src_vocab, rng)?;
        let tgt_embed = match c.share_embeddings {
            true => None,
            false => Some(embed(c.tgt_vocab, rng)?),
        };
        let tc = TransformerConfig {
            d_model: d,
            nhead: c.nhead,
            num_encoder_layers: c.num_encoder_layers,
            num_decoder_layers: c.num_decoder_layers,
            dim_feedforward: c.dim_feedforward,
            dropout: c.dropout,
            activation: Activation::Relu,
            layer_norm_eps: 1e-5,
            batch_first: true,
            norm_first: c.norm_first,
        };
        let transformer = Transformer::new(tc, rng, device)?;
        let mut generator = Linear::new(d, c.tgt_vocab, true, rng, device)?;
        if c.tie_output {
            let table = tgt_embed.as_ref().unwrap_or(&src_embed);
            generator.weight = table.weight.clone();
        }
        Ok(TransformerSeq2Seq {
            positional: PositionalEncoding::new(d, c.max_len, c.dropout, true, device)?,
            src_embed,
            tgt_embed,
            transformer,
            generator,
            config,
        })
    }

    /// One decoder step; the cross-attention weights of every layer when
    /// `weights`, else none (the heads then go through the fused kernel).
    fn step_with(
        &self,
        state: &TransformerState,
        prev: &Tensor,
        weights: bool,
    ) -> Result<Step<TransformerState>> {
        let ctx = &mut Ctx::eval();
        let t = state.position;
        let table = &self.positional.pe; // [max_len, d]
        if t >= table.dims()[0] {
            let msg = format!(
                "decoding step {} is past the positional table of {} positions (config max_len)",
                t + 1,
                table.dims()[0]
            );
            return Err(invalid("TransformerSeq2Seq::step", msg));
        }
        // y_t = √d · E prev + PE[t]
        let scale = (self.config.d_model as f32).sqrt();
        let y = self
            .target_table()
            .forward(&prev.unsqueeze(1)?)? // [B, 1, d]
            .mul_scalar(scale)?
            .add(&table.narrow(0, t, 1)?)?; // [B, 1, d]
        let (o, weights, layers) =
            self.transformer
                .decoder
                .step(&y, &state.layers, Some(&state.mask), weights, ctx)?; // o: [B, 1, d]
        let logits = self.generator.forward(&o.squeeze(1)?)?; // [B, V]
        let attention = weights
            .into_iter()
            .enumerate()
            .map(|(l, w)| Ok((format!("decoder.layers.{l}.multihead_attn"), w.squeeze(2)?))) // [B, h, S]
            .collect::<Result<Vec<_>>>()?;
        Ok(Step {
            logits,
            attention,
            state: TransformerState {
                layers,
                mask: state.mask.clone(),
                position: t + 1,
                sources: state.sources.clone(),
                memory_rows: state.memory_rows.clone(),
                encoded: state.encoded.clone(),
            },
        })
    }

    fn target_table(&self) -> &Embedding {
        self.tgt_embed.as_ref().unwrap_or(&self.src_embed)
    }

    /// PE(√d · E ids): `[B, L]` → `[B, L, d]`.
    fn embed(&self, table: &Embedding, ids: &Tensor, ctx: &mut Ctx) -> Result<Tensor> {
        let scale = (self.config.d_model as f32).sqrt();
        let x = table.forward(ids)?.mul_scalar(scale)?;
        self.positional.forward(&x, ctx)
    }

    fn encode(&self, src: &Source, ctx: &mut Ctx) -> Result<Tensor> {
        let x = self.embed(&self.src_embed, &src.ids, ctx)?; // [B, S, d]
        let masks = Masks {
            key_padding_mask: Some(&src.pad_mask),
            ..Default::default()
        };
        self.transformer.encoder.forward(&x, &masks, ctx) // [B, S, d]
    }

    fn decode(
        &self,
        memory: &Tensor,
        mask: &Tensor,
        ids: &Tensor,
        ctx: &mut Ctx,
    ) -> Result<Tensor> {
        let y = self.embed(self.target_table(), ids, ctx)?; // [B, T, d]
        let causal = Masks {
            causal: true,
            ..Default::default()
        };
        let memory_mask = Masks {
            key_padding_mask: Some(mask),
            ..Default::default()
        };
        let o = self
            .transformer
            .decoder
            .forward(&y, memory, &causal, &memory_mask, ctx)?; // [B, T, d]
        self.generator.forward(&o) // [B, T, V]
    }
}

impl Seq2Seq for TransformerSeq2Seq {
    type State = TransformerState;

    fn forward(&self, src: &Source, target: &Target, ctx: &mut Ctx) -> Result<Tensor> {
        let memory = self.encode(src, ctx)?;
        self.decode(&memory, &src.pad_mask, &target.input, ctx)
    }

    fn start(&self, src: &Source) -> Result<TransformerState> {
        let memory = self.encode(src, &mut Ctx::eval())?; // [B, S, d]
        let layers = self.transformer.decoder.start(&memory)?;
        let encoded = (
            layers.iter().map(|c| c.memory.clone()).collect(),
            src.pad_mask.clone(),
        );
        Ok(TransformerState {
            layers,
            mask: src.pad_mask.clone(),
            position: 0,
            sources: (0..src.rows()).collect(),
            memory_rows: (0..src.rows()).collect(),
            encoded: Arc::new(encoded),
        })
    }

    fn step(&self, state: &TransformerState, prev: &Tensor) -> Result<Step<TransformerState>> {
        self.step_with(state, prev, true)
    }

    fn step_logits(
        &self,
        state: &TransformerState,
        prev: &Tensor,
    ) -> Result<Step<TransformerState>> {
        self.step_with(state, prev, false)
    }

    fn max_decode_len(&self) -> Option<usize> {
        Some(self.config.max_len)
    }

    /// Picks rows of the self-attention caches. The memory's keys and
    /// values depend only on the source, so they are kept one row per
    /// sentence whenever the rows come in equal runs per sentence (beam
    /// search's beams; the cross-attention then shares each memory row
    /// among its run), and gathered again from the ones [`Seq2Seq::start`]
    /// computed only when the sentences behind them change (one finished).
    fn reorder(&self, state: &TransformerState, rows: &Tensor) -> Result<TransformerState> {
        let picked = rows.try_to_vec()?;
        let mut sources = Vec::with_capacity(picked.len());
        for &r in &picked {
            let Some(&s) = state.sources.get(r as usize) else {
                let msg = format!("row {r} of a state with {} rows", state.sources.len());
                return Err(invalid("TransformerSeq2Seq::reorder", msg));
            };
            sources.push(s);
        }
        let memory_rows = shared_runs(&sources).unwrap_or_else(|| sources.clone());
        let (memory, mask) = match memory_rows == state.memory_rows {
            true => (
                state.layers.iter().map(|c| c.memory.clone()).collect(),
                state.mask.clone(),
            ),
            false => {
                let n = memory_rows.len();
                let ids = memory_rows.iter().map(|&s| s as f32).collect();
                let ids = Tensor::from_vec(ids, [n], &rows.device())?;
                let (kv, mask) = &*state.encoded;
                let memory = kv
                    .iter()
                    .map(|m| m.select(&ids))
                    .collect::<Result<Vec<_>>>()?;
                (memory, mask.index_select(0, &ids)?)
            }
        };
        let layers = state
            .layers
            .iter()
            .zip(memory)
            .map(|(c, memory)| c.reorder(rows, memory))
            .collect::<Result<_>>()?;
        Ok(TransformerState {
            layers,
            mask,
            position: state.position,
            sources,
            memory_rows,
            encoded: state.encoded.clone(),
        })
    }
}

/// The source of each run when `sources` is runs of one length, one run
/// per source (`[4, 4, 7, 7, 9, 9]` → `[4, 7, 9]`); `None` otherwise.
fn shared_runs(sources: &[usize]) -> Option<Vec<usize>> {
    let first = sources.first()?;
    let g = sources.iter().take_while(|&s| s == first).count();
    if !sources.len().is_multiple_of(g) {
        return None;
    }
    let runs: Vec<usize> = sources.chunks(g).map(|run| run[0]).collect();
    let uniform = sources
        .chunks(g)
        .all(|run| run.iter().all(|&s| s == run[0]));
    let mut sorted = runs.clone();
    sorted.sort_unstable();
    let distinct = sorted.windows(2).all(|w| w[0] != w[1]);
    (uniform && distinct).then_some(runs)
}

impl Module for TransformerSeq2Seq {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.module("src_embed", &mut self.src_embed);
        p.optional_module("tgt_embed", &mut self.tgt_embed);
        p.module("transformer", &mut self.transformer);
        if self.config.tie_output {
            // the weight is the embedding's, listed once under its name there
            p.optional("generator.bias", &mut self.generator.bias);
        } else {
            p.module("generator", &mut self.generator);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shared_runs;

    #[test]
    fn equal_runs_share_their_memory_row() {
        assert_eq!(shared_runs(&[4, 4, 7, 7, 9, 9]), Some(vec![4, 7, 9]));
        assert_eq!(shared_runs(&[0, 1, 2]), Some(vec![0, 1, 2]));
        assert_eq!(shared_runs(&[3, 3, 3]), Some(vec![3]));
        assert_eq!(shared_runs(&[4, 4, 7, 9, 9]), None, "unequal runs");
        assert_eq!(shared_runs(&[4, 4, 7, 7, 4, 4]), None, "a source twice");
        assert_eq!(shared_runs(&[4, 4, 7, 9]), None, "a run of two sources");
        assert_eq!(shared_runs(&[]), None);
    }
}
