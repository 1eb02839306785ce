//! Errors of the data pipeline.
//!
//! A corpus is user input, so nothing here panics on it: every problem comes
//! back as a [`DataError`] whose message names the file and, where there is
//! one, the 1-based line, so a user can open the file at that line and see
//! what is wrong.

use std::fmt;
use std::path::PathBuf;

/// Why one line of a corpus cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadLine {
    /// A tab-separated line without the expected number of fields.
    ColumnCount {
        found: usize,
        expected: &'static str,
    },
    /// Bytes that are not UTF-8; `byte` is the offset within the line.
    InvalidUtf8 { byte: usize },
    /// The source or target sentence is empty (or only white space).
    EmptySide { side: Side },
}

/// Which half of a sentence pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Side {
    Source,
    Target,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Target => "target",
        })
    }
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadLine::ColumnCount { found, expected } => {
                write!(
                    f,
                    "found {found} tab-separated field(s), expected {expected}"
                )
            }
            BadLine::InvalidUtf8 { byte } => write!(f, "invalid UTF-8 at byte {byte} of the line"),
            BadLine::EmptySide { side } => write!(f, "the {side} sentence is empty"),
        }
    }
}

/// Everything that can go wrong while reading, building or saving data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}:{line}: {reason}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        reason: BadLine,
    },

    #[error("{} has {src_lines} lines but {} has {tgt_lines}; parallel files must have one sentence per line each",
            src.display(), tgt.display())]
    LineCountMismatch {
        src: PathBuf,
        src_lines: usize,
        tgt: PathBuf,
        tgt_lines: usize,
    },

    #[error("{}: {message}", path.display())]
    BadFile { path: PathBuf, message: String },

    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        DataError::BadFile {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Shorthand used throughout `seq2seq::data`.
pub type Result<T> = std::result::Result<T, DataError>;
