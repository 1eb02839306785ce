//! Puts the git revision of the source into `S2S_GIT_REV` for
//! `s2s --version`. A build from a tarball or without git installed gets
//! "unknown" rather than failing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    let rev = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=S2S_GIT_REV={rev}");

    // Without a rerun-if-changed line cargo reruns this on any change in the
    // package; with these, only when the revision can have moved: HEAD itself
    // (a checkout), the branch it points to (a commit), or the packed refs.
    println!("cargo:rerun-if-changed=build.rs");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let absolute = |p: String| -> PathBuf { root.join(p) };
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]).map(absolute) {
        let head = git_dir.join("HEAD");
        if head.exists() {
            println!("cargo:rerun-if-changed={}", head.display());
        }
        // A worktree keeps its HEAD in its own git dir, the refs in the common one.
        let common = git(&["rev-parse", "--git-common-dir"])
            .map(absolute)
            .unwrap_or(git_dir);
        let mut watched = vec![common.join("packed-refs")];
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watched.push(common.join(branch));
        }
        for path in watched.iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
