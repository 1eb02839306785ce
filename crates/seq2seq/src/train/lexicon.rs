//! The text side of a model: how each language is cut into tokens and
//! numbered. Learned on the training data (data.rs), saved in every
//! checkpoint, and used again to translate.

use crate::data::{Example, Pair, Tokenizer, Vocab};

/// The text side of the data: tokenizers and vocabularies.
#[derive(Clone, Debug, PartialEq)]
pub struct Lexicon {
    pub src_tokenizer: Tokenizer,
    pub tgt_tokenizer: Tokenizer,
    pub src_vocab: Vocab,
    pub tgt_vocab: Vocab,
}

impl Lexicon {
    /// Source text → ids, with the `<eos>` every source carries.
    pub fn encode_source(&self, text: &str) -> Vec<u32> {
        let mut ids = self.src_vocab.encode(&self.src_tokenizer.encode(text));
        ids.push(Vocab::EOS);
        ids
    }

    /// Target text → ids (no `<bos>`/`<eos>`).
    pub fn encode_target(&self, text: &str) -> Vec<u32> {
        self.tgt_vocab.encode(&self.tgt_tokenizer.encode(text))
    }

    /// Target ids → text.
    pub fn decode_target(&self, ids: &[u32]) -> String {
        self.tgt_tokenizer.decode(&self.tgt_vocab.decode(ids))
    }

    pub(super) fn example(&self, p: &Pair) -> Example {
        Example::from_pair(
            p,
            (&self.src_tokenizer, &self.src_vocab),
            (&self.tgt_tokenizer, &self.tgt_vocab),
        )
    }
}
