//! `s2s completions SHELL`, `s2s --version` and `s2s bench --help` as a
//! user runs them.

mod common;
use common::*;

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = s2s(&["completions", shell]);
        let (stdout, stderr) = text(&o);
        assert!(o.status.success(), "{shell}: {stderr}");
        for word in ["train", "translate", "average", "completions"] {
            assert!(stdout.contains(word), "{shell} completions lack {word}");
        }
        // Options of a subcommand are completed too.
        assert!(stdout.contains("overwrite"), "{shell}: no --overwrite");
    }
    let (bash, _) = text(&s2s(&["completions", "bash"]));
    assert!(bash.contains("complete -F _s2s"), "{bash}");
    let (fish, _) = text(&s2s(&["completions", "fish"]));
    assert!(fish.contains("complete -c s2s"), "{fish}");
    let (zsh, _) = text(&s2s(&["completions", "zsh"]));
    assert!(zsh.starts_with("#compdef s2s"), "{zsh}");
}

#[test]
fn an_unknown_shell_is_refused_naming_the_ones_there_are() {
    let o = s2s(&["completions", "tcsh"]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("tcsh"), "{stderr}");
    assert!(stderr.contains("bash") && stderr.contains("zsh") && stderr.contains("fish"));
}

#[test]
fn version_names_the_package_version_and_a_revision() {
    let o = s2s(&["--version"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let want = format!("s2s {} (", env!("CARGO_PKG_VERSION"));
    assert!(stdout.starts_with(&want), "{stdout}");
    // The revision: a short commit hash, or "unknown" outside a git checkout.
    let rev = stdout
        .trim()
        .strip_prefix(&want)
        .unwrap()
        .strip_suffix(')')
        .unwrap();
    assert!(
        rev == "unknown" || (rev.len() >= 7 && rev.chars().all(|c| c.is_ascii_hexdigit())),
        "{rev:?}"
    );
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(g) = git.ok().filter(|g| g.status.success()) {
        let head = String::from_utf8_lossy(&g.stdout).trim().to_string();
        assert_eq!(rev, head, "built from another revision than HEAD");
    }
}

#[test]
fn bench_help_describes_each_benchmark_family() {
    let o = s2s(&["bench", "--help"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    for family in [
        "peak:",
        "matmul (alias gemm):",
        "softmax, layer_norm:",
        "add:",
        "adam:",
        "copy:",
        "train-step:",
    ] {
        assert!(stdout.contains(family), "no {family} in\n{stdout}");
    }
}
