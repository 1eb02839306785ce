//! Greedy decoding: at every step, the single most likely next token.
//!
//! ```text
//!   y_0 = <bos>;   y_t = argmax_v p(v | y_<t, x)   until <eos> or max_len
//! ```
//!
//! The argmax stays on the device and feeds the next step directly; the
//! host looks at the tokens only every [`CHECK_EVERY`] steps, to stop once
//! every row has written `<eos>`.

use crate::data::Vocab;
use crate::models::{Seq2Seq, Source};
use tensor::{no_grad, Result, Tensor};

/// Steps between checks for "every row has finished".
pub const CHECK_EVERY: usize = 8;

/// Decodes every source row; returns the token ids of each, without `<eos>`.
pub fn greedy<M: Seq2Seq>(model: &M, src: &Source, max_len: usize) -> Result<Vec<Vec<u32>>> {
    no_grad(|| {
        let b = src.rows();
        let mut state = model.start(src)?;
        let mut prev = Tensor::full(Vocab::BOS as f32, [b], &src.ids.device())?; // [B]
        let mut outputs: Vec<Tensor> = Vec::with_capacity(max_len);
        for t in 0..max_len {
            let step = model.step_logits(&state, &prev)?;
            prev = step.logits.argmax(-1, false)?; // [B]
            outputs.push(prev.clone());
            state = step.state;
            if (t + 1) % CHECK_EVERY == 0 && all_finished(&outputs, b)? {
                break;
            }
        }
        let ids = match outputs.is_empty() {
            true => vec![],
            false => Tensor::stack(&outputs, 1)?.try_to_vec()?, // [B, steps]
        };
        let steps = outputs.len();
        Ok((0..b)
            .map(|r| {
                ids[r * steps..(r + 1) * steps]
                    .iter()
                    .map(|&v| v as u32)
                    .take_while(|&v| v != Vocab::EOS)
                    .collect()
            })
            .collect())
    })
}

/// Has every row produced `<eos>` somewhere in `outputs` (each `[B]`)?
fn all_finished(outputs: &[Tensor], b: usize) -> Result<bool> {
    let ids = Tensor::stack(outputs, 1)?.try_to_vec()?; // [B, steps]
    let steps = outputs.len();
    Ok((0..b).all(|r| {
        ids[r * steps..(r + 1) * steps]
            .iter()
            .any(|&v| v as u32 == Vocab::EOS)
    }))
}
