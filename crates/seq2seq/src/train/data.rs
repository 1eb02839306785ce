//! From a data description to numbered examples: read (or generate) the
//! sentence pairs, split them, learn the tokenizers and vocabularies on the
//! training side, and number every sentence.
//!
//! The description ([`DataConfig`]) is saved in the checkpoint, so a
//! resumed run rebuilds exactly the same examples; the tokenizers and
//! vocabularies are saved too, and a resumed run uses the saved ones.

pub use super::lexicon::Lexicon;
use crate::data::{
    generate_dates, read_parallel, read_tsv, split_by_seed, Bpe, DataError, DateTaskConfig,
    Example, Normalization, Pair, ReadOptions, Side, Splits, Tokenizer, TsvColumns, TutorialFilter,
    Vocab,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where the sentence pairs come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DataSource {
    /// The built-in task: dates written many ways → ISO dates (data/dates.rs).
    Dates(DateTaskConfig),
    /// One tab-separated file (Tatoeba / manythings), split by seed.
    Tsv {
        path: PathBuf,
        /// Translate column 1 → column 0 instead of 0 → 1.
        reverse: bool,
        /// Keep only the PyTorch tutorial's short "i am / he is …" pairs.
        tutorial_filter: bool,
        valid_fraction: f64,
        test_fraction: f64,
    },
    /// Moses-style parallel files (Multi30k): one sentence per line.
    Parallel {
        train_src: PathBuf,
        train_tgt: PathBuf,
        valid_src: PathBuf,
        valid_tgt: PathBuf,
        /// Held-out test files; the validation files are used when absent.
        test: Option<(PathBuf, PathBuf)>,
    },
}

impl DataSource {
    /// The corpus files read (none for the generated dates task).
    pub fn files(&self) -> Vec<&PathBuf> {
        match self {
            DataSource::Dates(_) => vec![],
            DataSource::Tsv { path, .. } => vec![path],
            DataSource::Parallel {
                train_src,
                train_tgt,
                valid_src,
                valid_tgt,
                test,
            } => {
                let mut files = vec![train_src, train_tgt, valid_src, valid_tgt];
                if let Some((s, t)) = test {
                    files.extend([s, t]);
                }
                files
            }
        }
    }

    /// Makes every file path absolute (against the current directory), so
    /// that a run saved with them resumes from any directory.
    pub fn make_absolute(&mut self) {
        let fix = |p: &mut PathBuf| {
            if let Ok(abs) = std::path::absolute(&*p) {
                *p = abs;
            }
        };
        match self {
            DataSource::Dates(_) => {}
            DataSource::Tsv { path, .. } => fix(path),
            DataSource::Parallel {
                train_src,
                train_tgt,
                valid_src,
                valid_tgt,
                test,
            } => {
                for p in [train_src, train_tgt, valid_src, valid_tgt] {
                    fix(p);
                }
                if let Some((s, t)) = test {
                    fix(s);
                    fix(t);
                }
            }
        }
    }
}

/// Token granularity before the vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenizerKind {
    Char,
    Word,
}

/// The whole data description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataConfig {
    pub source: DataSource,
    pub normalization: Normalization,
    pub lowercase: bool,
    pub skip_bad_lines: bool,
    pub tokenizer: TokenizerKind,
    /// BPE merges learned on the training side (0: no BPE).
    pub bpe_merges: usize,
    /// A tokenizer made elsewhere (a Hugging Face `tokenizer.json` or a
    /// SentencePiece `.model`) for
    /// both sides, instead of learning one; read once, then saved with the run.
    #[serde(default)]
    pub tokenizer_file: Option<PathBuf>,
    pub min_freq: usize,
    pub max_vocab: Option<usize>,
    /// One vocabulary (and BPE) for both sides, for shared embeddings.
    pub joint_vocab: bool,
    /// Training pairs with more tokens than this on either side are dropped.
    pub max_len: Option<usize>,
    /// Seed of the train/valid/test split of a single-file corpus.
    pub split_seed: u64,
}

impl DataConfig {
    /// Checks the sizes a state.json may hold (it is read back on resume
    /// and by eval), naming the field and the range, before any pair is
    /// generated or read.
    pub fn validate(&self) -> Result<(), String> {
        let within = |field: &str, v: usize, min: usize, max: usize| match (min..=max).contains(&v)
        {
            true => Ok(()),
            false => Err(format!("data.{field} is {v}, outside {min}..={max}")),
        };
        match &self.source {
            DataSource::Dates(d) => {
                within("source.train", d.train, 1, 1 << 24)?;
                within("source.valid", d.valid, 1, 1 << 22)?;
                within("source.test", d.test, 1, 1 << 22)?;
            }
            DataSource::Tsv {
                valid_fraction,
                test_fraction,
                ..
            } => {
                let (v, t) = (*valid_fraction, *test_fraction);
                if !(v > 0.0 && t >= 0.0 && v + t < 1.0) {
                    return Err(format!(
                        "data.source fractions valid {v} and test {t} do not leave training pairs \
                         (need valid > 0, test >= 0, valid + test < 1)"
                    ));
                }
            }
            DataSource::Parallel { .. } => {}
        }
        within("bpe_merges", self.bpe_merges, 0, 1 << 20)?;
        within("min_freq", self.min_freq, 1, usize::MAX)?;
        if let Some(m) = self.max_vocab {
            within("max_vocab", m, Vocab::SPECIALS.len() + 1, 1 << 24)?;
        }
        if let Some(m) = self.max_len {
            within("max_len", m, 1, 1 << 16)?;
        }
        Ok(())
    }

    /// The built-in dates task with its defaults: characters in, characters out.
    pub fn dates(task: DateTaskConfig) -> DataConfig {
        DataConfig {
            source: DataSource::Dates(task),
            normalization: Normalization::Nfc,
            lowercase: false,
            skip_bad_lines: false,
            tokenizer: TokenizerKind::Char,
            bpe_merges: 0,
            tokenizer_file: None,
            min_freq: 1,
            max_vocab: None,
            joint_vocab: false,
            max_len: None,
            split_seed: 0,
        }
    }
}

/// Everything the trainer needs from the data.
pub struct TaskData {
    pub lexicon: Lexicon,
    pub train: Vec<Example>,
    pub valid: Vec<Example>,
    /// The pairs of `valid` as text, in the same order: the references of
    /// validation BLEU.
    pub valid_pairs: Vec<Pair>,
    /// Held-out pairs for exact-match accuracy.
    pub test: Vec<Pair>,
    /// What was read, for the user: lines, pairs, skipped lines.
    pub summary: String,
}

/// Reads or generates the pairs, split three ways.
fn load_pairs(cfg: &DataConfig) -> Result<(Splits<Pair>, String), DataError> {
    let opts = ReadOptions {
        normalization: cfg.normalization,
        lowercase: cfg.lowercase,
        skip_bad_lines: cfg.skip_bad_lines,
    };
    Ok(match &cfg.source {
        DataSource::Dates(task) => {
            let s = generate_dates(task)?;
            let msg = format!("dates task (seed {}): generated", task.seed);
            (s, msg)
        }
        DataSource::Tsv {
            path,
            reverse,
            tutorial_filter,
            valid_fraction,
            test_fraction,
        } => {
            let cols = if *reverse {
                TsvColumns::REVERSE
            } else {
                TsvColumns::FORWARD
            };
            let corpus = read_tsv(path, cols, &opts)?;
            let mut pairs = corpus.pairs;
            let mut msg = format!("{}: {}", path.display(), corpus.summary);
            if *tutorial_filter {
                let english = if *reverse { Side::Target } else { Side::Source };
                pairs = TutorialFilter::pytorch(english).apply(&pairs);
                msg += &format!("; tutorial filter kept {}", pairs.len());
            }
            (
                split_by_seed(&pairs, *valid_fraction, *test_fraction, cfg.split_seed)?,
                msg,
            )
        }
        DataSource::Parallel {
            train_src,
            train_tgt,
            valid_src,
            valid_tgt,
            test,
        } => {
            let train = read_parallel(train_src, train_tgt, &opts)?;
            let valid = read_parallel(valid_src, valid_tgt, &opts)?;
            let test = match test {
                Some((s, t)) => read_parallel(s, t, &opts)?.pairs,
                None => valid.pairs.clone(),
            };
            let msg = format!("train {}; valid {}", train.summary, valid.summary);
            (
                Splits {
                    train: train.pairs,
                    valid: valid.pairs,
                    test,
                },
                msg,
            )
        }
    })
}

/// Learns tokenizers and vocabularies from the training pairs.
/// `given`: a tokenizer read from a file, used for both sides.
fn learn_lexicon(cfg: &DataConfig, train: &[Pair], given: Option<Tokenizer>) -> Lexicon {
    let base = match cfg.tokenizer {
        TokenizerKind::Char => Tokenizer::Char,
        TokenizerKind::Word => Tokenizer::Word,
    };
    let words = |side: Side| -> Vec<Vec<String>> {
        let text = |p: &Pair| {
            if side == Side::Source {
                p.src.clone()
            } else {
                p.tgt.clone()
            }
        };
        train.iter().map(|p| base.encode(&text(p))).collect()
    };
    let (src_words, tgt_words) = (words(Side::Source), words(Side::Target));
    let bpe =
        |sents: &[Vec<String>]| Tokenizer::Bpe(Bpe::learn_from_sentences(sents, cfg.bpe_merges, 2));
    let use_bpe = cfg.bpe_merges > 0 && cfg.tokenizer == TokenizerKind::Word;
    let (src_tok, tgt_tok) = match (given, use_bpe, cfg.joint_vocab) {
        (Some(tok), _, _) => (tok.clone(), tok),
        (None, false, _) => (base.clone(), base),
        (None, true, false) => (bpe(&src_words), bpe(&tgt_words)),
        (None, true, true) => {
            let joint = bpe(&[src_words.clone(), tgt_words.clone()].concat());
            (joint.clone(), joint)
        }
    };
    let tokens = |tok: &Tokenizer, side: Side| -> Vec<Vec<String>> {
        let text = |p: &Pair| {
            if side == Side::Source {
                p.src.clone()
            } else {
                p.tgt.clone()
            }
        };
        train.iter().map(|p| tok.encode(&text(p))).collect()
    };
    let (src_tokens, tgt_tokens) = (
        tokens(&src_tok, Side::Source),
        tokens(&tgt_tok, Side::Target),
    );
    let (src_vocab, tgt_vocab) = if cfg.joint_vocab {
        let v = Vocab::build(
            &[src_tokens, tgt_tokens].concat(),
            cfg.min_freq,
            cfg.max_vocab,
        );
        (v.clone(), v)
    } else {
        (
            Vocab::build(&src_tokens, cfg.min_freq, cfg.max_vocab),
            Vocab::build(&tgt_tokens, cfg.min_freq, cfg.max_vocab),
        )
    };
    Lexicon {
        src_tokenizer: src_tok,
        tgt_tokenizer: tgt_tok,
        src_vocab,
        tgt_vocab,
    }
}

impl TaskData {
    /// Prepares the data; with `lexicon` (a resumed run) the saved
    /// tokenizers and vocabularies are used instead of learning new ones.
    pub fn prepare(cfg: &DataConfig, lexicon: Option<Lexicon>) -> Result<TaskData, DataError> {
        let (splits, summary) = load_pairs(cfg)?;
        if splits.train.is_empty() || splits.valid.is_empty() {
            let msg = format!(
                "need training and validation pairs, got {} and {} ({summary})",
                splits.train.len(),
                splits.valid.len()
            );
            return Err(DataError::Invalid(msg));
        }
        let lexicon = match lexicon {
            Some(lexicon) => lexicon,
            None => {
                let given = match &cfg.tokenizer_file {
                    Some(path) => Some(Tokenizer::from_file(path)?),
                    None => None,
                };
                learn_lexicon(cfg, &splits.train, given)
            }
        };
        let fits = |e: &Example| {
            cfg.max_len
                .is_none_or(|m| e.src.len() <= m && e.tgt.len() <= m)
        };
        let train: Vec<Example> = splits
            .train
            .iter()
            .map(|p| lexicon.example(p))
            .filter(fits)
            .collect();
        // Validation obeys the same cap: one overlong pair there would make
        // a batch as large as one in training.
        let (valid, valid_pairs): (Vec<Example>, Vec<Pair>) = splits
            .valid
            .iter()
            .map(|p| (lexicon.example(p), p.clone()))
            .filter(|(e, _)| fits(e))
            .unzip();
        let summary = format!(
            "{summary}; {} train / {} valid / {} test pairs; vocab {} → {}",
            train.len(),
            valid.len(),
            splits.test.len(),
            lexicon.src_vocab.len(),
            lexicon.tgt_vocab.len()
        );
        Ok(TaskData {
            lexicon,
            train,
            valid,
            valid_pairs,
            test: splits.test,
            summary,
        })
    }
}
