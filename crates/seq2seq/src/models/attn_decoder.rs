//! The attention decoder's step (see attn.rs for the equations): Bahdanau
//! attends with the previous state, then recurs; Luong recurs, then attends
//! with the new state and combines, feeding h̃_t to the next step.
//!
//! Shapes: y_t `[B, E]`, states `[B, Hd]`, memory `[B, S, Hk]`, mask
//! `[B, S]`, features o_t `[B, Hd]`, weights α_t `[B, S]`.

use super::attn::AttnSeq2Seq;
use super::config::ScoreKind;
use super::recurrent::RnnState;
use crate::nn::{Ctx, Keys};
use tensor::{Result, Tensor};

/// What changes from one decoder step to the next.
#[derive(Clone)]
pub struct DecoderState {
    pub rnn: RnnState,
    /// Luong's input feeding: h̃_{t-1} `[B, Hd]`.
    pub feed: Option<Tensor>,
}

/// The decoder state with what stays fixed for a source: the attention
/// keys and the padding mask.
pub struct AttnState {
    pub keys: Keys,
    /// 1 at padded source positions `[B, S]`.
    pub mask: Tensor,
    pub dec: DecoderState,
}

impl AttnState {
    pub(super) fn keys_clone(&self) -> Keys {
        Keys {
            memory: self.keys.memory.clone(),
            projected: self.keys.projected.clone(),
        }
    }

    /// Rows `rows` of every tensor, for beam search.
    pub(super) fn select(&self, rows: &Tensor) -> Result<AttnState> {
        let pick = |t: &Tensor| t.index_select(0, rows);
        Ok(AttnState {
            keys: Keys {
                memory: pick(&self.keys.memory)?,
                projected: self.keys.projected.as_ref().map(pick).transpose()?,
            },
            mask: pick(&self.mask)?,
            dec: DecoderState {
                rnn: self.dec.rnn.map(pick)?,
                feed: self.dec.feed.as_ref().map(pick).transpose()?,
            },
        })
    }
}

impl AttnSeq2Seq {
    /// One step from the embedded previous token `y` `[B, E]` → (features
    /// o_t `[B, Hd]`, attention α_t `[B, S]`, next state).
    pub(super) fn decode_step(
        &self,
        y: &Tensor,
        st: &AttnState,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, Tensor, DecoderState)> {
        let dec = &st.dec;
        let attend = |q: &Tensor| self.attention.attend(q, &st.keys, Some(&st.mask));
        if self.config.score == ScoreKind::Bahdanau {
            // c_t = Attn(s_{t-1}, h)
            let a = attend(dec.rnn.top())?; // c [B, Hk], α [B, S]
                                            // s_t = Dec([E y_{t-1}; c_t], s_{t-1})
            let x = Tensor::cat(&[y.clone(), a.context.clone()], -1)?; // [B, E + Hk]
            let (s, rnn) = self.decoder.step(&x, &dec.rnn, ctx)?; // [B, Hd]
                                                                  // o_t = W_pre [E y_{t-1}; s_t; c_t]
            let cat = Tensor::cat(&[y.clone(), s, a.context], -1)?; // [B, E + Hd + Hk]
            let o = self.combine.forward(&self.dropout.forward(&cat, ctx)?)?; // [B, Hd]
            return Ok((o, a.weights, DecoderState { rnn, feed: None }));
        }
        // s_t = Dec([E y_{t-1}; h̃_{t-1}], s_{t-1})   (or Dec(E y_{t-1}, s_{t-1}))
        let x = match &dec.feed {
            Some(f) => Tensor::cat(&[y.clone(), f.clone()], -1)?, // [B, E + Hd]
            None => y.clone(),
        };
        let (s, rnn) = self.decoder.step(&x, &dec.rnn, ctx)?; // [B, Hd]
                                                              // c_t = Attn(s_t, h)
        let a = attend(&s)?;
        // h̃_t = tanh(W_c [c_t; s_t])
        let o = self
            .combine
            .forward(&Tensor::cat(&[a.context, s], -1)?)?
            .tanh()?; // [B, Hd]
        let feed = dec.feed.as_ref().map(|_| o.clone());
        Ok((o, a.weights, DecoderState { rnn, feed }))
    }

    /// Runs the step over the target inputs `y` `[B, T, E]` → (features
    /// `[B, T, Hd]`, attention `[B, T, S]`). In training with teacher
    /// forcing below 1, each step feeds the model's own previous prediction
    /// with probability 1 - ratio (one coin per step for the whole batch).
    pub(super) fn unroll(
        &self,
        y: &Tensor,
        mut st: AttnState,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, Tensor)> {
        let t_len = y.dims()[1];
        let sampling = ctx.train && self.config.teacher_forcing < 1.0;
        let gold = super::recurrent::unbind(y, 1)?; // T × [B, E]
        let (mut features, mut weights) = (Vec::new(), Vec::new());
        let mut prediction: Option<Tensor> = None;
        for (t, gold_t) in gold.into_iter().enumerate() {
            let y_t = match prediction.take() {
                Some(p) if ctx.rng.uniform() >= self.config.teacher_forcing as f64 => {
                    self.dropout.forward(&self.tgt_embed.forward(&p)?, ctx)?
                }
                _ => gold_t,
            };
            let (o, w, dec) = self.decode_step(&y_t, &st, ctx)?;
            if sampling && t + 1 < t_len {
                prediction = Some(self.generator.forward(&o)?.argmax(-1, false)?.detach());
            }
            features.push(o);
            weights.push(w);
            st.dec = dec;
        }
        Ok((Tensor::stack(&features, 1)?, Tensor::stack(&weights, 1)?))
    }

    /// Luong without input feeding under teacher forcing: the decoder as
    /// one sequence, then attention for all T queries at once.
    pub(super) fn luong_all_steps(
        &self,
        y: &Tensor,
        st: &AttnState,
        ctx: &mut Ctx,
    ) -> Result<Tensor> {
        let (s, _) = self
            .decoder
            .forward(&y.transpose(0, 1)?, Some(&st.dec.rnn), None, ctx)?; // [T, B, Hd]
        let s = s.transpose(0, 1)?; // [B, T, Hd]
        let a = self.attention.attend(&s, &st.keys, Some(&st.mask))?; // c [B, T, Hk]
                                                                      // h̃_t = tanh(W_c [c_t; s_t])
        self.combine
            .forward(&Tensor::cat(&[a.context, s], -1)?)?
            .tanh() // [B, T, Hd]
    }
}
