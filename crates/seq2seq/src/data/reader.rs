//! Readers for parallel corpora: tab-separated pairs and Moses-style files.
//!
//! Two layouts cover the corpora people train on:
//!
//! * **Tab-separated pairs**, one pair per line, as distributed by
//!   manythings.org/anki from Tatoeba: `english<TAB>french`, sometimes with a
//!   third column of attribution, which we ignore. [`TsvColumns`] says which
//!   column is the source and which the target, so one file serves both
//!   directions.
//! * **Moses-style parallel files** (Koehn et al. 2007), as in Multi30k:
//!   two files, one sentence per line, line i of one translating line i of
//!   the other.
//!
//! A corpus is user input. Every line is checked (valid UTF-8, the right
//! number of columns, no empty side) and a bad line is either an error that
//! names the file and 1-based line, or — with `skip_bad_lines` — skipped and
//! counted in the [`ReadSummary`]. Files may end with or without a final
//! newline, may use CRLF line ends and may start with a UTF-8 byte-order
//! mark.

use super::error::{BadLine, DataError, Result, Side};
use super::normalize::{py_strip, Normalization};
use std::fmt;
use std::path::{Path, PathBuf};

/// One sentence and its translation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Pair {
    pub src: String,
    pub tgt: String,
}

impl Pair {
    pub fn new(src: impl Into<String>, tgt: impl Into<String>) -> Pair {
        Pair {
            src: src.into(),
            tgt: tgt.into(),
        }
    }
}

/// Which tab-separated columns hold the source and the target (0-based;
/// only the first two columns hold sentences).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsvColumns {
    pub src: usize,
    pub tgt: usize,
}

impl TsvColumns {
    /// Column 0 → column 1 (for manythings' eng-fra.txt: English → French).
    pub const FORWARD: TsvColumns = TsvColumns { src: 0, tgt: 1 };
    /// Column 1 → column 0 (the tutorial's `reverse=True`: French → English).
    pub const REVERSE: TsvColumns = TsvColumns { src: 1, tgt: 0 };
}

/// How sentences are cleaned and how bad lines are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    pub normalization: Normalization,
    pub lowercase: bool,
    /// Skip (and count) malformed lines instead of failing on the first.
    pub skip_bad_lines: bool,
}

/// What a reader did: lines seen, pairs kept, lines skipped and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub lines: usize,
    pub pairs: usize,
    pub skipped_column_count: usize,
    pub skipped_invalid_utf8: usize,
    pub skipped_empty_side: usize,
    /// The first few skipped lines, as "file:line: reason" messages.
    pub examples: Vec<String>,
}

/// How many skipped-line messages a summary keeps.
const MAX_EXAMPLES: usize = 10;

impl ReadSummary {
    /// Lines skipped for any reason.
    pub fn skipped(&self) -> usize {
        self.skipped_column_count + self.skipped_invalid_utf8 + self.skipped_empty_side
    }

    fn skip(&mut self, error: DataError) {
        if let DataError::Malformed { reason, .. } = &error {
            match reason {
                BadLine::ColumnCount { .. } => self.skipped_column_count += 1,
                BadLine::InvalidUtf8 { .. } => self.skipped_invalid_utf8 += 1,
                BadLine::EmptySide { .. } => self.skipped_empty_side += 1,
            }
        }
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(error.to_string());
        }
    }
}

impl fmt::Display for ReadSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "read {} lines, kept {} pairs", self.lines, self.pairs)?;
        if self.skipped() > 0 {
            write!(
                f,
                ", skipped {} ({} wrong column count, {} invalid UTF-8, {} empty side)",
                self.skipped(),
                self.skipped_column_count,
                self.skipped_invalid_utf8,
                self.skipped_empty_side
            )?;
        }
        Ok(())
    }
}

/// Sentence pairs read from files, with the reader's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corpus {
    pub pairs: Vec<Pair>,
    pub summary: ReadSummary,
}

/// Splits file contents into lines: LF or CRLF ends, optional final newline,
/// optional byte-order mark.
fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| DataError::io(path, e))
}

fn malformed(path: &Path, line: usize, reason: BadLine) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        line,
        reason,
    }
}

fn decode<'a>(path: &Path, line: usize, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        malformed(
            path,
            line,
            BadLine::InvalidUtf8 {
                byte: e.valid_up_to(),
            },
        )
    })
}

fn non_empty<'a>(path: &Path, line: usize, text: &'a str, side: Side) -> Result<&'a str> {
    if py_strip(text).is_empty() {
        return Err(malformed(path, line, BadLine::EmptySide { side }));
    }
    Ok(text)
}

/// Runs `parse` on every line, collecting pairs or skipping bad lines.
fn collect_pairs(
    paths: &[&Path],
    lines: usize,
    opts: &ReadOptions,
    mut parse: impl FnMut(usize) -> Result<(String, String)>,
) -> Result<Corpus> {
    let mut summary = ReadSummary {
        lines,
        ..Default::default()
    };
    let mut pairs = Vec::with_capacity(lines);
    for i in 0..lines {
        match parse(i + 1) {
            Ok((src, tgt)) => pairs.push(Pair {
                src: opts.normalization.apply(&src, opts.lowercase),
                tgt: opts.normalization.apply(&tgt, opts.lowercase),
            }),
            Err(e @ DataError::Malformed { .. }) if opts.skip_bad_lines => summary.skip(e),
            Err(e) => return Err(e),
        }
    }
    summary.pairs = pairs.len();
    if pairs.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let msg = format!("no usable sentence pairs ({summary})");
        return Err(DataError::bad_file(PathBuf::from(names.join(" + ")), msg));
    }
    Ok(Corpus { pairs, summary })
}

/// Reads a tab-separated file of 2 or 3 columns.
pub fn read_tsv(path: impl AsRef<Path>, columns: TsvColumns, opts: &ReadOptions) -> Result<Corpus> {
    let path = path.as_ref();
    parse_tsv(&read_bytes(path)?, path, columns, opts)
}

/// Parses tab-separated contents already in memory; `path` names them in
/// errors.
pub fn parse_tsv(
    bytes: &[u8],
    path: &Path,
    columns: TsvColumns,
    opts: &ReadOptions,
) -> Result<Corpus> {
    if columns.src > 1 || columns.tgt > 1 || columns.src == columns.tgt {
        let msg =
            format!("source and target must be columns 0 and 1 in some order, not {columns:?}");
        return Err(DataError::Invalid(msg));
    }
    let lines = split_lines(bytes);
    collect_pairs(&[path], lines.len(), opts, |n| {
        let text = decode(path, n, lines[n - 1])?;
        let fields: Vec<&str> = text.split('\t').collect();
        if fields.len() != 2 && fields.len() != 3 {
            return Err(malformed(
                path,
                n,
                BadLine::ColumnCount {
                    found: fields.len(),
                    expected: "2 or 3",
                },
            ));
        }
        let src = non_empty(path, n, fields[columns.src], Side::Source)?;
        let tgt = non_empty(path, n, fields[columns.tgt], Side::Target)?;
        Ok((src.to_string(), tgt.to_string()))
    })
}

/// Reads Moses-style parallel files: line i of `src_path` translates to
/// line i of `tgt_path`. Different line counts are always an error, since
/// no line can be trusted to be aligned then.
pub fn read_parallel(
    src_path: impl AsRef<Path>,
    tgt_path: impl AsRef<Path>,
    opts: &ReadOptions,
) -> Result<Corpus> {
    let (src_path, tgt_path) = (src_path.as_ref(), tgt_path.as_ref());
    let (src_bytes, tgt_bytes) = (read_bytes(src_path)?, read_bytes(tgt_path)?);
    let (src_lines, tgt_lines) = (split_lines(&src_bytes), split_lines(&tgt_bytes));
    if src_lines.len() != tgt_lines.len() {
        return Err(DataError::LineCountMismatch {
            src: src_path.to_path_buf(),
            src_lines: src_lines.len(),
            tgt: tgt_path.to_path_buf(),
            tgt_lines: tgt_lines.len(),
        });
    }
    collect_pairs(&[src_path, tgt_path], src_lines.len(), opts, |n| {
        let src = decode(src_path, n, src_lines[n - 1])?;
        let tgt = decode(tgt_path, n, tgt_lines[n - 1])?;
        let src = non_empty(src_path, n, src, Side::Source)?;
        let tgt = non_empty(tgt_path, n, tgt, Side::Target)?;
        Ok((src.to_string(), tgt.to_string()))
    })
}
