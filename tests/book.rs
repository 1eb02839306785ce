//! The book (docs/, rendered by mdBook) quotes real code, and this test keeps
//! every quote true. The rule, for every markdown page under docs/:
//!
//! * A fenced block whose first line is `// <path>` (a file of the
//!   repository, from its root) is a quote of that file. Its lines must be
//!   lines of the file, consecutive and in order, up to one indentation
//!   prefix per run of lines; a line `// …` stands for any number of skipped
//!   source lines.
//! * A block written for the page (an example, a sketch, an outline) starts
//!   with a line `// example` (optionally `// example: what it shows`) and
//!   is not checked.
//! * Every ```` ```rust ```` and ```` ```wgsl ```` block is one or the other:
//!   code without a source line is an error, so a quote cannot lose its file.
//!
//! Also: SUMMARY.md lists every page, and every page it lists exists.

use std::path::{Path, PathBuf};

/// A block line that stands for any number of skipped source lines.
const ELISION: &str = "// …";
/// The first line of a block written for the page.
const EXAMPLE: &str = "// example";
/// Languages whose blocks must say where their code comes from.
const CODE: &[&str] = &["rust", "wgsl"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every markdown page under docs/ except mdBook's output, sorted, as paths
/// relative to docs/.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let name = rel.join(path.file_name().unwrap());
            if path.is_dir() {
                if name != Path::new("book") {
                    walk(&path, &name, out);
                }
            } else if path.extension().is_some_and(|x| x == "md") {
                out.push(name);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo().join("docs"), Path::new(""), &mut out);
    out.sort();
    out
}

/// A fenced block of a page.
#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// The info string's first word: `rust` of ```` ```rust,ignore ````.
    lang: String,
    /// The lines between the fences, less the fence's own indentation.
    lines: Vec<String>,
}

/// The info string of a fence line (`rust` of ```` ```rust ````, empty for a
/// closing fence), or None for any other line. As in CommonMark, the info
/// string of a backtick fence holds no backtick, so ```` ```rust ```` inside
/// a sentence is not one.
fn fence(line: &str) -> Option<&str> {
    let info = line
        .trim_start()
        .strip_prefix("```")?
        .trim_start_matches('`');
    (!info.contains('`')).then(|| info.trim())
}

fn blocks(text: &str) -> Vec<Block> {
    let mut found = Vec::new();
    // (the block so far, the fence's indentation)
    let mut open: Option<(Block, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let fence = fence(line);
        match (&mut open, fence) {
            (None, Some(info)) => {
                let lang = info
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .next()
                    .unwrap_or("")
                    .to_string();
                let block = Block {
                    line: i + 1,
                    lang,
                    lines: Vec::new(),
                };
                open = Some((block, indent));
            }
            (Some(_), Some("")) => found.push(open.take().unwrap().0),
            (Some((block, indent)), _) => {
                let cut = line.len() - line.trim_start().len();
                block.lines.push(line[cut.min(*indent)..].to_string());
            }
            (None, None) => {}
        }
    }
    if let Some((block, _)) = open {
        panic!("the block opened at line {} is never closed", block.line);
    }
    found
}

/// What a block claims to be.
#[derive(Debug, PartialEq)]
enum Kind<'a> {
    Quote(&'a str),
    Example,
    /// Code that names no source.
    Unnamed,
    /// Not code (a shell session, output, a formula).
    Other,
}

fn kind(block: &Block) -> Kind<'_> {
    let first = block.lines.first().map(|l| l.trim()).unwrap_or("");
    if first == EXAMPLE || first.starts_with("// example:") {
        return Kind::Example;
    }
    if let Some(path) = first.strip_prefix("// ") {
        let path = path.trim();
        let looks_like_a_path = !path.contains(char::is_whitespace)
            && path.contains('/')
            && path.rsplit('/').next().is_some_and(|f| f.contains('.'));
        if looks_like_a_path {
            return Kind::Quote(path);
        }
    }
    if CODE.contains(&block.lang.as_str()) {
        Kind::Unnamed
    } else {
        Kind::Other
    }
}

/// Finds `run` as consecutive lines of `source` at or after `from`, every
/// line with the same extra indentation; returns the line after the match.
fn find_run(source: &[&str], run: &[String], from: usize) -> Option<usize> {
    let first = run.first()?;
    (from..source.len()).find_map(|i| {
        let indent = source[i].strip_suffix(first.as_str())?;
        if !indent.chars().all(char::is_whitespace) {
            return None;
        }
        let all = run.iter().enumerate().all(|(j, want)| {
            let got = source.get(i + j).copied().unwrap_or("\u{0}");
            (want.trim().is_empty() && got.trim().is_empty())
                || got.strip_prefix(indent) == Some(want.as_str())
        });
        all.then_some(i + run.len())
    })
}

/// Checks a quote against its file; says what is wrong, if anything.
fn check(path: &str, lines: &[String]) -> Result<(), String> {
    let source = std::fs::read_to_string(repo().join(path)).map_err(|e| format!("{path}: {e}"))?;
    let source: Vec<&str> = source.lines().collect();
    let mut at = 0;
    let mut quoted = 0;
    for run in lines[1..].split(|l| l.trim() == ELISION) {
        // Blank lines around an elision belong to neither side.
        let start = run.iter().position(|l| !l.trim().is_empty());
        let end = run.iter().rposition(|l| !l.trim().is_empty());
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        let run = &run[start..=end];
        at = find_run(&source, run, at).ok_or_else(|| {
            let anywhere = find_run(&source, run, 0).is_some();
            format!(
                "these lines are {} {path}:\n{}",
                if anywhere {
                    "in, but not after the block's previous lines of,"
                } else {
                    "not consecutive lines of"
                },
                run.join("\n")
            )
        })?;
        quoted += 1;
    }
    if quoted == 0 {
        return Err("the block quotes nothing".to_string());
    }
    Ok(())
}

/// Every problem of one page's blocks, as "page:line: why".
fn problems(page: &str, text: &str) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    let mut quotes = 0;
    for block in blocks(text) {
        match kind(&block) {
            Kind::Quote(path) => {
                quotes += 1;
                if let Err(why) = check(path, &block.lines) {
                    problems.push(format!("{page}:{}: {why}", block.line));
                }
            }
            Kind::Unnamed => problems.push(format!(
                "{page}:{}: a ```{} block must start with `// <source path>` \
                 (a quote) or `{EXAMPLE}` (written for the page)",
                block.line, block.lang
            )),
            Kind::Example | Kind::Other => {}
        }
    }
    (problems, quotes)
}

#[test]
fn every_quoted_block_matches_its_source() {
    let mut all = Vec::new();
    let mut quotes = 0;
    for page in pages() {
        let text = std::fs::read_to_string(repo().join("docs").join(&page)).unwrap();
        let name = format!("docs/{}", page.display());
        let (problems, n) = problems(&name, &text);
        all.extend(problems);
        quotes += n;
    }
    assert!(
        all.is_empty(),
        "{} block(s) of the book do not match the code; update the page:\n{}",
        all.len(),
        all.join("\n\n")
    );
    assert!(quotes >= 50, "only {quotes} quoted blocks found in docs/");
}

#[test]
fn summary_lists_every_page() {
    let summary = std::fs::read_to_string(repo().join("docs/SUMMARY.md")).unwrap();
    let linked: Vec<&str> = summary
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .collect();
    for link in &linked {
        assert!(
            repo().join("docs").join(link).exists(),
            "SUMMARY.md links {link}, which does not exist"
        );
    }
    for page in pages() {
        let page = page.to_string_lossy().replace('\\', "/");
        if page != "SUMMARY.md" {
            assert!(
                linked.contains(&page.as_str()),
                "SUMMARY.md does not list docs/{page}"
            );
        }
    }
}

/// The checker itself: a drifted quote must fail, or the test above proves
/// nothing.
#[test]
fn a_drifted_quote_is_caught() {
    let page =
        "text\n```wgsl\n// shaders/softmax.wgsl\nstruct Params {\n    rows: u32,\n// …\n}\n```\n";
    assert_eq!(problems("page", page), (vec![], 1));

    let drifted = page.replace("rows: u32", "rows: u64");
    assert_eq!(problems("page", &drifted).0.len(), 1);
    let reordered =
        "```wgsl\n// shaders/softmax.wgsl\n    rows: u32,\n// …\nstruct Params {\n```\n";
    assert_eq!(problems("page", reordered).0.len(), 1);
    // A skipped line must be marked: without `// …` the lines must be adjacent.
    let gap = page.replace("// …\n", "");
    assert_eq!(problems("page", &gap).0.len(), 1);
    let missing = "```rust\n// no/such/file.rs\nfn main() {}\n```\n";
    assert_eq!(problems("page", missing).0.len(), 1);
    let unnamed = "```rust\nfn main() {}\n```\n";
    assert_eq!(problems("page", unnamed).0.len(), 1);

    let example = "```rust\n// example\nfn main() {}\n```\n";
    assert_eq!(problems("page", example), (vec![], 0));
    let shell = "```sh\ncargo test\n```\n";
    assert_eq!(problems("page", shell), (vec![], 0));
    // A block indented under a list item quotes the same lines.
    let prose = "```` ```text ````) are not code\n```sh\ncargo test\n```\n";
    assert_eq!(blocks(prose).len(), 1);
    let listed = "1. item\n   ```wgsl\n   // shaders/softmax.wgsl\n   struct Params {\n       rows: u32,\n   ```\n";
    assert_eq!(problems("page", listed), (vec![], 1));
}
