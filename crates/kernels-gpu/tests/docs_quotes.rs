//! The kernel chapters in docs/kernels/: README.md links every chapter,
//! and every chapter but the CPU GEMM one quotes code (a fenced block whose
//! first line is `// <source path>`). Whether each quote still matches its
//! source is checked for the whole book by `tests/book.rs` at the
//! repository root. Needs no GPU adapter.

use std::path::{Path, PathBuf};

/// Chapters that explain without quoting (the GEMM chapter draws its loops).
const UNQUOTED: &[&str] = &["gemm.md"];

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

/// Whether a chapter has a block that quotes a source file.
fn quotes_code(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines.windows(2).any(|w| {
        w[0].starts_with("```")
            && (w[1].starts_with("// crates/") || w[1].starts_with("// shaders/"))
    })
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
        if !UNQUOTED.contains(&name.as_str()) {
            assert!(
                quotes_code(text),
                "docs/kernels/{name} quotes no code (a block starting `// <source path>`)"
            );
        }
    }
}

#[test]
fn a_quote_is_recognised() {
    assert!(quotes_code(
        "```wgsl\n// shaders/softmax.wgsl\nstruct Params {\n```\n"
    ));
    assert!(!quotes_code("```text\nnot a quote\n```\n"));
}
