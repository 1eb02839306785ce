//! `manifest.json`: the size and checksum of every file of a checkpoint,
//! written last when the checkpoint is staged and verified first when it
//! is loaded. A bit flipped on disk, a truncated copy or a file swapped in
//! from another checkpoint is then an error naming the file, instead of
//! weights that load and translate garbage.
//!
//! The checksum is FNV-1a (64 bits). Each byte's step `h ← (h ⊕ b)·p` is a
//! bijection of `h`, so any change confined to one byte always changes the
//! result; it guards against damage, not against tampering.

use super::error::{Result, TrainError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The manifest's own file name.
pub const MANIFEST: &str = "manifest.json";
const FORMAT: &str = "s2s-checkpoint-manifest";

/// One file's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub bytes: u64,
    /// FNV-1a 64 of the contents, as 16 hex digits.
    pub fnv1a64: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    files: BTreeMap<String, Entry>,
}

/// FNV-1a 64 of everything `reader` yields.
pub fn fnv1a64(mut reader: impl Read) -> std::io::Result<u64> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(h);
        }
        for &b in &buf[..n] {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn entry(path: &Path) -> Result<Entry> {
    let err = |e: std::io::Error| TrainError::checkpoint(path, format!("cannot read: {e}"));
    let file = std::fs::File::open(path).map_err(err)?;
    let bytes = file.metadata().map_err(err)?.len();
    let hash = fnv1a64(std::io::BufReader::new(file)).map_err(err)?;
    Ok(Entry {
        bytes,
        fnv1a64: format!("{hash:016x}"),
    })
}

/// Records every regular file of `dir` (but the manifest) in `dir/manifest.json`.
pub fn write(dir: &Path) -> Result<()> {
    let mut files = BTreeMap::new();
    let listing = std::fs::read_dir(dir)
        .map_err(|e| TrainError::checkpoint(dir, format!("cannot list: {e}")))?;
    for item in listing {
        let path = item
            .map_err(|e| TrainError::checkpoint(dir, format!("cannot list: {e}")))?
            .path();
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        match name {
            Some(name) if path.is_file() && name != MANIFEST => {
                files.insert(name, entry(&path)?);
            }
            _ => {}
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        files,
    };
    let path = dir.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| TrainError::checkpoint(&path, format!("cannot serialize: {e}")))?;
    tensor::io::write_atomic(&path, (text + "\n").as_bytes())?;
    Ok(())
}

/// Checks every file `dir/manifest.json` records: present, of the recorded
/// size, with the recorded checksum. A checkpoint without a manifest
/// (written before manifests existed, or by hand) is accepted as it is;
/// its files are still checked one by one as they load.
pub fn verify(dir: &Path) -> Result<()> {
    let path = dir.join(MANIFEST);
    if !path.is_file() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| TrainError::checkpoint(&path, format!("cannot read: {e}")))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| TrainError::checkpoint(&path, format!("damaged (not a manifest: {e})")))?;
    if manifest.format != FORMAT {
        let msg = format!(
            "damaged (format {:?}, expected {FORMAT:?})",
            manifest.format
        );
        return Err(TrainError::checkpoint(&path, msg));
    }
    for (name, want) in &manifest.files {
        if name.contains(['/', '\\']) || name == ".." {
            let msg = format!("damaged (names {name:?}, which is not a file of the checkpoint)");
            return Err(TrainError::checkpoint(&path, msg));
        }
        let file = dir.join(name);
        if !file.is_file() {
            return Err(TrainError::checkpoint(
                &file,
                "missing, though manifest.json records it: the checkpoint is incomplete",
            ));
        }
        let got = entry(&file)?;
        if got.bytes != want.bytes {
            let msg = format!(
                "{} bytes where manifest.json records {}: the file is truncated or damaged",
                got.bytes, want.bytes
            );
            return Err(TrainError::checkpoint(&file, msg));
        }
        if got.fnv1a64 != want.fnv1a64 {
            return Err(TrainError::checkpoint(
                &file,
                "checksum mismatch, the file is damaged",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_reference_values() {
        assert_eq!(fnv1a64(&b""[..]).unwrap(), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(&b"a"[..]).unwrap(), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(&b"foobar"[..]).unwrap(), 0x8594_4171_f739_67e8);
    }
}
