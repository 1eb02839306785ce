//! Length-bucketed, padded mini-batches.
//!
//! Sentences differ in length, but a batch is a rectangle: shorter rows are
//! filled with `<pad>` (id 0) and a mask says which positions are real, so
//! attention never looks at padding and the loss never counts it. Putting
//! sentences of similar length together keeps the padding small — the usual
//! "bucketing" of NMT toolkits:
//!
//! 1. shuffle all examples with the epoch's `Rng`, then sort them by
//!    (source length, target length) — stable, so equal lengths stay in
//!    random order;
//! 2. cut the sorted list into batches of at most N sentences, or of at
//!    most N tokens counting padding (rows × longest side);
//! 3. shuffle the order of the batches.
//!
//! Every example lands in exactly one batch per epoch (an example longer
//! than the token budget gets a batch of its own), and the plan is a pure
//! function of the `Rng` state, so a resumed run sees the same batches.
//!
//! A batch of B sentences holds, row-major, as f32 ids (the tensor engine's
//! one dtype): `src` [B, S] (the source, then `<eos>` if asked), the decoder
//! input `tgt_in` [B, T] = `<bos> y`, and the target `tgt_out` [B, T] =
//! `y <eos>` — the decoder learns to predict token t+1 from tokens ≤ t.

use super::error::{DataError, Result};
use super::reader::Pair;
use super::tokenizer::Tokenizer;
use super::vocab::Vocab;
use tensor::{Device, Rng, Tensor};

/// One sentence pair as ids, without `<bos>`/`<eos>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub src: Vec<u32>,
    pub tgt: Vec<u32>,
}

impl Example {
    /// Tokenizes and numbers one sentence pair with each side's tokenizer
    /// and vocabulary.
    pub fn from_pair(pair: &Pair, src: (&Tokenizer, &Vocab), tgt: (&Tokenizer, &Vocab)) -> Example {
        Example {
            src: src.1.encode(&src.0.encode(&pair.src)),
            tgt: tgt.1.encode(&tgt.0.encode(&pair.tgt)),
        }
    }
}

/// How big a batch may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BatchSize {
    /// At most this many sentence pairs.
    Sentences(usize),
    /// At most this many token positions, padding included, on the longer side.
    Tokens(usize),
}

/// A padded batch (see the module docs for the layout).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Which examples, in row order.
    pub indices: Vec<usize>,
    /// Rows (B), padded source length (S), padded target length (T).
    pub rows: usize,
    pub src_len: usize,
    pub tgt_len: usize,
    pub src: Vec<f32>,
    pub src_lens: Vec<usize>,
    /// 1.0 at real source tokens, 0.0 at padding.
    pub src_mask: Vec<f32>,
    pub tgt_in: Vec<f32>,
    pub tgt_out: Vec<f32>,
    /// Lengths of `y <eos>` (equal to those of `<bos> y`).
    pub tgt_lens: Vec<usize>,
    pub tgt_mask: Vec<f32>,
}

/// Writes `ids` into row `row` of a [rows, width] matrix and its mask.
fn fill_row(
    ids: impl Iterator<Item = u32>,
    row: usize,
    width: usize,
    data: &mut [f32],
    mask: &mut [f32],
) {
    for (t, id) in ids.enumerate() {
        data[row * width + t] = id as f32;
        mask[row * width + t] = 1.0;
    }
}

impl Batch {
    /// Pads the examples at `indices` into one batch.
    pub fn collate(examples: &[Example], indices: &[usize], src_eos: bool) -> Batch {
        let src_lens: Vec<usize> = indices
            .iter()
            .map(|&i| examples[i].src.len() + src_eos as usize)
            .collect();
        let tgt_lens: Vec<usize> = indices.iter().map(|&i| examples[i].tgt.len() + 1).collect();
        let rows = indices.len();
        let src_len = src_lens.iter().copied().max().unwrap_or(0);
        let tgt_len = tgt_lens.iter().copied().max().unwrap_or(0);
        let pad = Vocab::PAD as f32;
        let mut b = Batch {
            indices: indices.to_vec(),
            rows,
            src_len,
            tgt_len,
            src: vec![pad; rows * src_len],
            src_lens,
            src_mask: vec![0.0; rows * src_len],
            tgt_in: vec![pad; rows * tgt_len],
            tgt_out: vec![pad; rows * tgt_len],
            tgt_lens,
            tgt_mask: vec![0.0; rows * tgt_len],
        };
        let mut scratch = vec![0.0; rows * tgt_len];
        for (row, &i) in indices.iter().enumerate() {
            let ex = &examples[i];
            let eos = src_eos.then_some(Vocab::EOS);
            fill_row(
                ex.src.iter().copied().chain(eos),
                row,
                src_len,
                &mut b.src,
                &mut b.src_mask,
            );
            let bos = std::iter::once(Vocab::BOS);
            fill_row(
                bos.chain(ex.tgt.iter().copied()),
                row,
                tgt_len,
                &mut b.tgt_in,
                &mut scratch,
            );
            let eos = std::iter::once(Vocab::EOS);
            fill_row(
                ex.tgt.iter().copied().chain(eos),
                row,
                tgt_len,
                &mut b.tgt_out,
                &mut b.tgt_mask,
            );
        }
        b
    }

    /// Real (non-padding) target tokens: what a per-token loss averages over.
    pub fn target_tokens(&self) -> usize {
        self.tgt_lens.iter().sum()
    }

    /// `src` as a [B, S] tensor.
    pub fn src_tensor(&self, device: &Device) -> tensor::Result<Tensor> {
        Tensor::from_slice(&self.src, vec![self.rows, self.src_len], device)
    }

    /// `src_mask` as a [B, S] tensor.
    pub fn src_mask_tensor(&self, device: &Device) -> tensor::Result<Tensor> {
        Tensor::from_slice(&self.src_mask, vec![self.rows, self.src_len], device)
    }

    /// `tgt_in` as a [B, T] tensor.
    pub fn tgt_in_tensor(&self, device: &Device) -> tensor::Result<Tensor> {
        Tensor::from_slice(&self.tgt_in, vec![self.rows, self.tgt_len], device)
    }

    /// `tgt_out` as a [B, T] tensor.
    pub fn tgt_out_tensor(&self, device: &Device) -> tensor::Result<Tensor> {
        Tensor::from_slice(&self.tgt_out, vec![self.rows, self.tgt_len], device)
    }

    /// `tgt_mask` as a [B, T] tensor.
    pub fn tgt_mask_tensor(&self, device: &Device) -> tensor::Result<Tensor> {
        Tensor::from_slice(&self.tgt_mask, vec![self.rows, self.tgt_len], device)
    }
}

/// Plans and builds the batches of a data set.
#[derive(Debug, Clone)]
pub struct Batcher {
    examples: Vec<Example>,
    size: BatchSize,
    src_eos: bool,
}

/// The `Rng` for shuffling epoch `epoch` of a run seeded with `seed`: its
/// own seed (so data order does not share numbers with weight init) and a
/// counter range per epoch, so any epoch can be replayed on its own.
pub fn epoch_rng(seed: u64, epoch: u64) -> Rng {
    Rng {
        seed: seed ^ 0x5EED_DA7A_0000_0000,
        offset: epoch << 40,
    }
}

impl Batcher {
    /// `src_eos` appends `<eos>` to every source sentence.
    pub fn new(examples: Vec<Example>, size: BatchSize, src_eos: bool) -> Result<Batcher> {
        if matches!(size, BatchSize::Sentences(0) | BatchSize::Tokens(0)) {
            return Err(DataError::Invalid(format!(
                "batch size must be positive, got {size:?}"
            )));
        }
        Ok(Batcher {
            examples,
            size,
            src_eos,
        })
    }

    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    /// Padded lengths of example `i`: (source, target).
    fn lengths(&self, i: usize) -> (usize, usize) {
        let ex = &self.examples[i];
        (ex.src.len() + self.src_eos as usize, ex.tgt.len() + 1)
    }

    /// The batches of one epoch, as lists of example indices.
    pub fn plan(&self, rng: &mut Rng) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..self.examples.len()).collect();
        rng.shuffle(&mut order);
        order.sort_by_key(|&i| self.lengths(i)); // stable: ties stay shuffled

        let mut batches = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        let mut longest = 0;
        for i in order {
            let (s, t) = self.lengths(i);
            let fits = match self.size {
                BatchSize::Sentences(n) => current.len() < n,
                BatchSize::Tokens(n) => (current.len() + 1) * longest.max(s).max(t) <= n,
            };
            if !fits && !current.is_empty() {
                batches.push(std::mem::take(&mut current));
                longest = 0;
            }
            current.push(i);
            longest = longest.max(s).max(t);
        }
        if !current.is_empty() {
            batches.push(current);
        }
        rng.shuffle(&mut batches);
        batches
    }

    /// The padded batch of the given examples.
    pub fn batch(&self, indices: &[usize]) -> Batch {
        Batch::collate(&self.examples, indices, self.src_eos)
    }

    /// All batches of one epoch, built lazily.
    pub fn epoch<'a>(&'a self, rng: &mut Rng) -> impl Iterator<Item = Batch> + 'a {
        self.plan(rng).into_iter().map(move |ix| self.batch(&ix))
    }
}
