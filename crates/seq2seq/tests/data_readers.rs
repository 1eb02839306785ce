//! Corpus readers on tiny temporary files: every malformed-input case is an
//! error naming file and line, or, with `skip_bad_lines`, a counted skip.

use seq2seq::data::{
    parse_tsv, read_parallel, read_tsv, BadLine, DataError, Normalization, Pair, ReadOptions, Side,
    TsvColumns,
};
use std::path::{Path, PathBuf};

/// Writes `bytes` to a fresh file in this process's temp directory.
fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("s2s-data-readers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

const STRICT: ReadOptions = ReadOptions {
    normalization: Normalization::Nfc,
    lowercase: false,
    skip_bad_lines: false,
};
const SKIP: ReadOptions = ReadOptions {
    normalization: Normalization::Nfc,
    lowercase: false,
    skip_bad_lines: true,
};

/// Asserts `err` is a malformed-line error at `path:line` for `reason`,
/// and that its message says so.
fn assert_malformed(err: DataError, path: &Path, line: usize, reason: BadLine) {
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}:{line}: ", path.display())),
        "message: {message}"
    );
    match err {
        DataError::Malformed {
            path: p,
            line: l,
            reason: r,
        } => assert_eq!((p.as_path(), l, r), (path, line, reason)),
        other => panic!("expected a malformed-line error, got {other:?}"),
    }
}

#[test]
fn good_tsv_with_two_or_three_columns() {
    let path = temp_file(
        "good.tsv",
        b"Go.\tVa !\nHi.\tSalut !\tCC-BY 2.0 (France) Attribution: tatoeba.org\n",
    );
    let corpus = read_tsv(&path, TsvColumns::FORWARD, &STRICT).unwrap();
    assert_eq!(
        corpus.pairs,
        vec![Pair::new("Go.", "Va !"), Pair::new("Hi.", "Salut !")]
    );
    assert_eq!(
        (
            corpus.summary.lines,
            corpus.summary.pairs,
            corpus.summary.skipped()
        ),
        (2, 2, 0)
    );
    let reversed = read_tsv(&path, TsvColumns::REVERSE, &STRICT).unwrap();
    assert_eq!(reversed.pairs[0], Pair::new("Va !", "Go."));
}

#[test]
fn crlf_bom_and_missing_final_newline_are_fine() {
    let path = temp_file("crlf.tsv", b"\xEF\xBB\xBFa\tb\r\nc\td");
    let corpus = read_tsv(&path, TsvColumns::FORWARD, &STRICT).unwrap();
    assert_eq!(corpus.pairs, vec![Pair::new("a", "b"), Pair::new("c", "d")]);
}

#[test]
fn wrong_column_count_names_file_and_line() {
    let path = temp_file("columns.tsv", b"a\tb\njust one column\n");
    let err = read_tsv(&path, TsvColumns::FORWARD, &STRICT).unwrap_err();
    assert_malformed(
        err,
        &path,
        2,
        BadLine::ColumnCount {
            found: 1,
            expected: "2 or 3",
        },
    );
    let path = temp_file("columns4.tsv", b"a\tb\tc\td\n");
    let err = read_tsv(&path, TsvColumns::FORWARD, &STRICT).unwrap_err();
    assert_malformed(
        err,
        &path,
        1,
        BadLine::ColumnCount {
            found: 4,
            expected: "2 or 3",
        },
    );
}

#[test]
fn blank_line_is_a_wrong_column_count() {
    let path = temp_file("blank.tsv", b"a\tb\n\nc\td\n");
    let err = read_tsv(&path, TsvColumns::FORWARD, &STRICT).unwrap_err();
    assert_malformed(
        err,
        &path,
        2,
        BadLine::ColumnCount {
            found: 1,
            expected: "2 or 3",
        },
    );
}

#[test]
fn invalid_utf8_names_file_line_and_byte() {
    let path = temp_file("utf8.tsv", b"a\tb\nc\td\ncaf\xE9\tcoffee\n");
    let err = read_tsv(&path, TsvColumns::FORWARD, &STRICT).unwrap_err();
    assert_malformed(err, &path, 3, BadLine::InvalidUtf8 { byte: 3 });
}

#[test]
fn empty_sides_name_the_side() {
    let path = temp_file("empty_src.tsv", b"\tBonjour\n");
    let err = read_tsv(&path, TsvColumns::FORWARD, &STRICT).unwrap_err();
    assert_malformed(err, &path, 1, BadLine::EmptySide { side: Side::Source });
    let path = temp_file("empty_tgt.tsv", b"Hello\tBonjour\nHi\t   \n");
    let err = read_tsv(&path, TsvColumns::FORWARD, &STRICT).unwrap_err();
    assert!(
        err.to_string().ends_with("the target sentence is empty"),
        "{err}"
    );
    assert_malformed(err, &path, 2, BadLine::EmptySide { side: Side::Target });
    // Reversed, the empty column 1 is now the source.
    let err = read_tsv(&path, TsvColumns::REVERSE, &STRICT).unwrap_err();
    assert_malformed(err, &path, 2, BadLine::EmptySide { side: Side::Source });
}

#[test]
fn skip_bad_lines_counts_every_kind() {
    let bytes = b"ok\tbien\none column\n\xFF\tx\n\tempty\nfine\tbon\ta third column\n";
    let corpus = parse_tsv(bytes, Path::new("mixed.tsv"), TsvColumns::FORWARD, &SKIP).unwrap();
    assert_eq!(
        corpus.pairs,
        vec![Pair::new("ok", "bien"), Pair::new("fine", "bon")]
    );
    let s = &corpus.summary;
    assert_eq!((s.lines, s.pairs, s.skipped()), (5, 2, 3));
    assert_eq!(
        (
            s.skipped_column_count,
            s.skipped_invalid_utf8,
            s.skipped_empty_side
        ),
        (1, 1, 1)
    );
    assert_eq!(
        s.examples[0],
        "mixed.tsv:2: found 1 tab-separated field(s), expected 2 or 3"
    );
    assert_eq!(
        s.to_string(),
        "read 5 lines, kept 2 pairs, skipped 3 (1 wrong column count, 1 invalid UTF-8, 1 empty side)"
    );
}

#[test]
fn a_corpus_with_nothing_usable_is_an_error() {
    let err = parse_tsv(b"bad\n", Path::new("bad.tsv"), TsvColumns::FORWARD, &SKIP).unwrap_err();
    assert!(
        err.to_string().contains("no usable sentence pairs"),
        "{err}"
    );
    let err = parse_tsv(b"", Path::new("empty.tsv"), TsvColumns::FORWARD, &STRICT).unwrap_err();
    assert!(err.to_string().starts_with("empty.tsv: "), "{err}");
}

#[test]
fn missing_file_and_bad_columns_are_errors() {
    let missing = std::env::temp_dir().join("s2s-no-such-file.tsv");
    let err = read_tsv(&missing, TsvColumns::FORWARD, &STRICT).unwrap_err();
    assert!(
        matches!(err, DataError::Io { .. }) && err.to_string().contains("s2s-no-such-file.tsv"),
        "{err}"
    );
    let err = parse_tsv(
        b"a\tb\n",
        Path::new("x"),
        TsvColumns { src: 0, tgt: 2 },
        &STRICT,
    )
    .unwrap_err();
    assert!(matches!(err, DataError::Invalid(_)));
}

#[test]
fn normalisation_and_lowercasing_apply_to_both_sides() {
    let opts = ReadOptions {
        lowercase: true,
        ..STRICT
    };
    let corpus = parse_tsv(
        "  E\u{301}T\u{c9} \tÇa va ?\n".as_bytes(),
        Path::new("x"),
        TsvColumns::FORWARD,
        &opts,
    )
    .unwrap();
    assert_eq!(corpus.pairs[0], Pair::new("\u{e9}t\u{e9}", "ça va ?"));
    let opts = ReadOptions {
        normalization: Normalization::Tutorial,
        ..STRICT
    };
    let corpus = parse_tsv(
        "I'm OK.\tÇa va\u{202f}!\n".as_bytes(),
        Path::new("x"),
        TsvColumns::FORWARD,
        &opts,
    )
    .unwrap();
    assert_eq!(corpus.pairs[0], Pair::new("i m ok", "ca va !"));
}

#[test]
fn parallel_files_read_line_by_line() {
    let src = temp_file("p.de", b"Ein Hund.\nZwei Katzen.\n");
    let tgt = temp_file("p.en", b"A dog.\nTwo cats.");
    let corpus = read_parallel(&src, &tgt, &STRICT).unwrap();
    assert_eq!(
        corpus.pairs,
        vec![
            Pair::new("Ein Hund.", "A dog."),
            Pair::new("Zwei Katzen.", "Two cats.")
        ]
    );
}

#[test]
fn parallel_line_count_mismatch_names_both_files() {
    let src = temp_file("m.de", b"a\nb\nc\n");
    let tgt = temp_file("m.en", b"a\nb\n");
    let err = read_parallel(&src, &tgt, &SKIP).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!("{} has 3 lines", src.display())),
        "{message}"
    );
    assert!(
        message.contains(&format!("{} has 2", tgt.display())),
        "{message}"
    );
}

#[test]
fn parallel_bad_lines_name_the_right_file() {
    let src = temp_file("b.de", b"eins\n\ndrei\n");
    let tgt = temp_file("b.en", b"one\ntwo\nth\xC3\n");
    let err = read_parallel(&src, &tgt, &STRICT).unwrap_err();
    assert_malformed(err, &src, 2, BadLine::EmptySide { side: Side::Source });
    let src_ok = temp_file("b2.de", b"eins\nzwei\ndrei\n");
    let err = read_parallel(&src_ok, &tgt, &STRICT).unwrap_err();
    assert_malformed(err, &tgt, 3, BadLine::InvalidUtf8 { byte: 2 });
    let corpus = read_parallel(&src, &tgt, &SKIP).unwrap();
    assert_eq!(corpus.pairs, vec![Pair::new("eins", "one")]);
    assert_eq!(
        (
            corpus.summary.skipped_empty_side,
            corpus.summary.skipped_invalid_utf8
        ),
        (1, 1)
    );
}
