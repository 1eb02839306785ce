//! The kernel chapters in docs/kernels/ quote real code. A fenced block whose
//! info string names a source file — ```` ```wgsl file=shaders/softmax.wgsl ````
//! or ```` ```rust file=crates/tensor/src/ops/attention.rs ```` — must match
//! that file: every non-empty line of the block, trimmed, is a line of the
//! file, trimmed, and the lines appear in the file in the block's order. A
//! line `// …` inside a block stands for skipped source lines. So a quote
//! cannot drift from the code: change one and this test names the block.
//!
//! docs/architecture.md names the quoted file on the block's first line
//! instead, as a comment (`// crates/kernels-cpu/src/elementwise.rs`); its
//! blocks whose first line names an existing file are checked the same way.
//!
//! `gemm.md` (the CPU GEMM chapter) is checked by its own author, not here.
//! Also: README.md links every chapter, and every chapter quotes some code.
//! Needs no GPU adapter.

use std::path::{Path, PathBuf};

/// Chapters this test leaves to their own checks.
const NOT_OURS: &[&str] = &["gemm.md"];

/// A block line that stands for any number of skipped source lines.
const ELISION: &str = "// …";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every markdown file of docs/kernels/, sorted, as (file name, text).
fn chapters() -> Vec<(String, String)> {
    let dir = repo().join("docs/kernels");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, text)
        })
        .collect()
}

/// A fenced block that quotes a file.
struct Quote {
    /// 1-based line of the opening fence in the chapter.
    line: usize,
    /// The `file=` path, relative to the repository root.
    file: String,
    lines: Vec<String>,
}

/// The fenced blocks of a chapter whose info string has `file=<path>`.
fn quotes(text: &str) -> Vec<Quote> {
    let mut found = Vec::new();
    // (opening line, the quoted file if any, lines so far)
    let mut open: Option<(usize, Option<String>, Vec<String>)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                let file = info
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix("file="))
                    .map(str::to_string);
                open = Some((i + 1, file, Vec::new()));
            }
            (Some(_), Some(_)) => {
                let (line, file, lines) = open.take().unwrap();
                if let Some(file) = file {
                    found.push(Quote { line, file, lines });
                }
            }
            (Some((_, _, lines)), None) => lines.push(line.to_string()),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a fenced block is never closed");
    found
}

/// The blocks whose first line is a comment naming a file of the repository
/// (`// path` or `# path`), quoting that file with the rest of their lines.
fn path_comment_quotes(text: &str) -> Vec<Quote> {
    let mut found = Vec::new();
    // (opening line, lines so far)
    let mut open: Option<(usize, Vec<String>)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match (&mut open, fence) {
            (None, true) => open = Some((i + 1, Vec::new())),
            (Some(_), true) => {
                let (line, mut lines) = open.take().unwrap();
                let first = lines.first().map(|l| l.trim().to_string());
                let file = first.as_deref().and_then(|l| {
                    let path = l.strip_prefix("// ").or_else(|| l.strip_prefix("# "))?;
                    repo().join(path).is_file().then(|| path.to_string())
                });
                if let Some(file) = file {
                    lines.remove(0);
                    found.push(Quote { line, file, lines });
                }
            }
            (Some((_, lines)), false) => lines.push(line.to_string()),
            (None, false) => {}
        }
    }
    found
}

#[test]
fn architecture_quotes_match_the_source() {
    let text = std::fs::read_to_string(repo().join("docs/architecture.md")).unwrap();
    let found = path_comment_quotes(&text);
    assert!(!found.is_empty(), "docs/architecture.md quotes no code");
    let failures: Vec<String> = found
        .iter()
        .filter_map(|q| {
            check(q)
                .err()
                .map(|why| format!("docs/architecture.md:{} ({}): {why}", q.line, q.file))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "quoted block(s) no longer match the code; update the docs:\n{}",
        failures.join("\n")
    );
}

/// Checks one quote against its file; returns what is wrong, if anything.
fn check(quote: &Quote) -> Result<(), String> {
    let path = repo().join(&quote.file);
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", quote.file))?;
    let source: Vec<&str> = source.lines().map(str::trim).collect();
    let mut at = 0;
    let mut matched = 0;
    for want in quote.lines.iter().map(|l| l.trim()) {
        if want.is_empty() || want == ELISION {
            continue;
        }
        match source[at..].iter().position(|got| *got == want) {
            Some(offset) => {
                at += offset + 1;
                matched += 1;
            }
            None if source.contains(&want) => {
                return Err(format!(
                    "`{want}` is in {} but not after the block's previous lines",
                    quote.file
                ))
            }
            None => return Err(format!("`{want}` is not a line of {}", quote.file)),
        }
    }
    if matched == 0 {
        return Err("the block quotes nothing".to_string());
    }
    Ok(())
}

#[test]
fn quoted_code_matches_the_source() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, text) in chapters() {
        if NOT_OURS.contains(&name.as_str()) {
            continue;
        }
        for quote in quotes(&text) {
            checked += 1;
            if let Err(why) = check(&quote) {
                failures.push(format!(
                    "docs/kernels/{name}:{} (file={}): {why}",
                    quote.line, quote.file
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} quoted block(s) no longer match the code; update the docs:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 0, "no quoted blocks found in docs/kernels/");
}

#[test]
fn every_chapter_quotes_code_and_is_linked_from_the_index() {
    let chapters = chapters();
    let index = &chapters
        .iter()
        .find(|(name, _)| name == "README.md")
        .expect("docs/kernels/README.md")
        .1;
    for (name, text) in &chapters {
        if name == "README.md" {
            continue;
        }
        assert!(
            index.contains(&format!("({name})")),
            "docs/kernels/README.md does not link {name}"
        );
        if !NOT_OURS.contains(&name.as_str()) {
            assert!(
                !quotes(text).is_empty(),
                "docs/kernels/{name} quotes no code (a block with `file=<path>`)"
            );
        }
    }
}

/// The checker itself: a drifted quote must fail, or the test above proves nothing.
#[test]
fn a_drifted_quote_is_caught() {
    let text =
        "intro\n```wgsl file=shaders/softmax.wgsl\nstruct Params {\n    rows: u32,\n// …\n}\n```\n";
    let found = quotes(text);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 2);
    check(&found[0]).unwrap();

    let drifted = text.replace("rows: u32", "rows: u64");
    assert!(check(&quotes(&drifted)[0]).is_err());
    let reordered = "```wgsl file=shaders/softmax.wgsl\n    rows: u32,\nstruct Params {\n```\n";
    assert!(check(&quotes(reordered)[0]).is_err());
    let missing = "```rust file=no/such/file.rs\nfn main() {}\n```\n";
    assert!(check(&quotes(missing)[0]).is_err());
    assert!(quotes("```text\nnot a quote\n```\n").is_empty());

    // The first-line form of docs/architecture.md.
    let text = "```wgsl\n// shaders/softmax.wgsl\nstruct Params {\n    rows: u32,\n```\n";
    let found = path_comment_quotes(text);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].file, "shaders/softmax.wgsl");
    check(&found[0]).unwrap();
    let drifted = path_comment_quotes(&text.replace("rows: u32", "rows: u64"));
    assert!(check(&drifted[0]).is_err());
    assert!(path_comment_quotes("```rust\n// not a file\nfn f() {}\n```\n").is_empty());
}
