//! A batch as the models see it: device tensors, plus the source lengths on
//! the host (the recurrent layers and source reversal plan with them; they
//! come from the batch, so reading them costs no device round trip).

use crate::data::Batch;
use tensor::{Device, Result, Tensor};

/// The source side of a batch.
#[derive(Clone)]
pub struct Source {
    /// Token ids `[B, S]`, padded with `<pad>`.
    pub ids: Tensor,
    /// Real length of each row (host).
    pub lens: Vec<usize>,
    /// 1 at padded positions, 0 at real tokens `[B, S]` (attention's mask
    /// convention).
    pub pad_mask: Tensor,
}

/// The target side of a batch under teacher forcing.
#[derive(Clone)]
pub struct Target {
    /// Decoder inputs `<bos> y` `[B, T]`.
    pub input: Tensor,
    /// Gold outputs `y <eos>` `[B, T]`, `<pad>` after the end.
    pub output: Tensor,
}

impl Source {
    /// Uploads the source of `batch`.
    pub fn from_batch(batch: &Batch, device: &Device) -> Result<Source> {
        let pad: Vec<f32> = batch.src_mask.iter().map(|m| 1.0 - m).collect();
        Ok(Source {
            ids: batch.src_tensor(device)?,
            lens: batch.src_lens.clone(),
            pad_mask: Tensor::from_vec(pad, [batch.rows, batch.src_len], device)?,
        })
    }

    /// Sources from id lists (decoding user input).
    pub fn from_ids(rows: &[Vec<u32>], device: &Device) -> Result<Source> {
        let width = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut ids = vec![0.0; rows.len() * width];
        let mut pad = vec![1.0; rows.len() * width];
        for (r, row) in rows.iter().enumerate() {
            for (t, &id) in row.iter().enumerate() {
                ids[r * width + t] = id as f32;
                pad[r * width + t] = 0.0;
            }
        }
        Ok(Source {
            ids: Tensor::from_vec(ids, [rows.len(), width], device)?,
            lens: rows.iter().map(|r| r.len().max(1)).collect(),
            pad_mask: Tensor::from_vec(pad, [rows.len(), width], device)?,
        })
    }

    /// B.
    pub fn rows(&self) -> usize {
        self.ids.dims()[0]
    }

    /// The ids with each row's real tokens reversed in place, padding left
    /// at the end: "a b c <pad>" → "c b a <pad>" (Sutskever et al. §3.3).
    pub fn reversed(&self) -> Result<Source> {
        let (b, s) = (self.ids.dims()[0], self.ids.dims()[1]);
        let mut order = Vec::with_capacity(b * s);
        for (row, &n) in self.lens.iter().enumerate() {
            order.extend((0..s).map(|t| (row * s + if t < n { n - 1 - t } else { t }) as f32));
        }
        let order = Tensor::from_vec(order, [b * s], &self.ids.device())?;
        Ok(Source {
            ids: self
                .ids
                .reshape([b * s])?
                .index_select(0, &order)?
                .reshape([b, s])?,
            lens: self.lens.clone(),
            pad_mask: self.pad_mask.clone(),
        })
    }
}

impl Target {
    /// Uploads the target of `batch`.
    pub fn from_batch(batch: &Batch, device: &Device) -> Result<Target> {
        Ok(Target {
            input: batch.tgt_in_tensor(device)?,
            output: batch.tgt_out_tensor(device)?,
        })
    }
}
