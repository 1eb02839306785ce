//! Named tensors to and from safetensors files — the format PyTorch users
//! already have (`safetensors.torch.save_file(model.state_dict(), path)`).
//!
//! Writes are atomic: the bytes go to `NAME.tmp` beside the target, are
//! flushed to disk, then renamed over it, so a crash at any moment leaves
//! either the old file or the new one, never half of one.

use crate::{Device, Error, Result, Tensor};
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

fn io_err(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        msg: msg.to_string(),
    }
}

/// Saves `tensors` (copied to the host) with optional string metadata.
pub fn save(
    path: impl AsRef<Path>,
    tensors: &[(String, Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let path = path.as_ref();
    let mut seen = std::collections::HashSet::new();
    let mut host = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        if !seen.insert(name.as_str()) {
            return Err(io_err(path, format!("tensor name {name:?} appears twice")));
        }
        let bytes: Vec<u8> = t.to_vec().iter().flat_map(|v| v.to_le_bytes()).collect();
        host.push((name.clone(), t.dims().to_vec(), bytes));
    }
    let views = host
        .iter()
        .map(|(name, shape, bytes)| {
            safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| io_err(path, format!("tensor {name:?}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, metadata).map_err(|e| io_err(path, e))?;
    write_atomic(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path, format!("cannot write: {e}"))
    })
}

/// A loaded file: tensors sorted by name, and the metadata.
pub struct Loaded {
    pub tensors: Vec<(String, Tensor)>,
    pub metadata: HashMap<String, String>,
}

impl Loaded {
    /// The tensor called `name`, or an error naming it and the file.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// Loads every tensor onto `device`. Only f32 tensors are accepted; anything
/// else (a missing file, a truncated one, another dtype) is an error naming
/// the file and, where there is one, the tensor.
pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Loaded> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_err(path, format!("cannot read: {e}")))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| io_err(path, format!("not a valid safetensors file ({e:?})")))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| io_err(path, format!("not a valid safetensors file ({e:?})")))?;
    let mut tensors = Vec::new();
    for (name, view) in st.iter() {
        if view.dtype() != Dtype::F32 {
            return Err(io_err(
                path,
                format!("tensor {name:?} has dtype {:?}; s2s reads F32 only (convert with .float() before saving)", view.dtype()),
            ));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let t = Tensor::from_vec(data, view.shape().to_vec(), device)
            .map_err(|e| io_err(path, format!("tensor {name:?}: {e}")))?;
        tensors.push((name.to_string(), t));
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Loaded {
        tensors,
        metadata: meta.metadata().clone().unwrap_or_default(),
    })
}
