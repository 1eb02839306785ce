//! Layers, one file each, and the two things they share:
//!
//! - [`Module`]: a layer lists its parameters under PyTorch's `state_dict`
//!   names (`weight_ih_l0`, `layers.0.self_attn.in_proj_weight`, …), which
//!   gives saving, loading (with an error that lists missing, unexpected and
//!   mis-shaped tensors) and the parameter list for an optimizer.
//! - [`Ctx`]: the per-call context of layers that behave differently in
//!   training — today only dropout. It carries `train` and the [`Rng`] the
//!   dropout masks are drawn from, and is passed `&mut` to `forward`:
//!
//! ```
//! use seq2seq::nn::{Ctx, Dropout};
//! use tensor::{Device, Rng, Tensor};
//! let x = Tensor::ones([2, 3], &Device::Cpu).unwrap();
//! let drop = Dropout::new(0.5);
//! let mut ctx = Ctx::train(Rng::new(7)); // training: masks drawn from the stream
//! let _y = drop.forward(&x, &mut ctx).unwrap();
//! let y = drop.forward(&x, &mut Ctx::eval()).unwrap(); // evaluation: identity
//! assert_eq!(y.to_vec(), x.to_vec());
//! ```
//!
//! Why a context rather than a `train` flag stored in each layer (PyTorch's
//! `module.train()`): the layers stay immutable (`&self` forward, shareable
//! across threads), the one random stream is explicit, so a checkpoint saves
//! it (`Rng` is two integers) and a resumed run draws the same masks, and a
//! layer without dropout simply takes no context.

mod attention;
mod dropout;
mod embedding;
mod gru;
mod layer_norm;
mod linear;
mod lstm;
mod multihead_attention;
mod positional;
mod recurrent;
mod rnn;
mod scaled_dot_product;
mod transformer;
mod transformer_layer;

pub use attention::{Attention, AttentionOutput, Keys, Score};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use gru::{GRUCell, GRUKind, GRU};
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use lstm::{LSTMCell, LSTMKind, LSTM};
pub use multihead_attention::{causal_mask, KeyValue, Masks, MultiheadAttention, Weights};
pub use positional::PositionalEncoding;
pub use recurrent::{Kind, RNNBase, RNNCellBase, RnnConfig};
pub use rnn::{RNNCell, RNNKind, RNN};
pub use transformer::{
    Activation, Transformer, TransformerConfig, TransformerDecoder, TransformerEncoder,
};
pub use transformer_layer::{
    DecoderLayerCache, Parts, TransformerDecoderLayer, TransformerEncoderLayer,
};

use std::fmt;
use std::path::Path;
use tensor::{Rng, Shape, Tensor};

/// What a forward pass needs to know beyond its inputs: training or
/// evaluation, and the random stream dropout draws from.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// Training mode: dropout is active.
    pub train: bool,
    /// The stream dropout masks come from (advanced by every mask drawn).
    pub rng: Rng,
}

impl Ctx {
    /// Evaluation: dropout is the identity; the stream is never touched.
    pub fn eval() -> Ctx {
        Ctx {
            train: false,
            rng: Rng::new(0),
        }
    }

    /// Training, drawing dropout masks from `rng`.
    pub fn train(rng: Rng) -> Ctx {
        Ctx { train: true, rng }
    }
}

/// A layer with named parameters (PyTorch's `nn.Module`, reduced to what
/// loading, saving and optimizing need).
pub trait Module {
    /// Every parameter under its PyTorch `state_dict` name, in a fixed order.
    fn named_parameters(&self) -> Vec<(String, Tensor)>;

    /// Every parameter slot, in the order of [`Module::named_parameters`]:
    /// assigning to one replaces the parameter (weight tying, a gradient
    /// check's probes, moving a model between devices).
    fn parameters_mut(&mut self) -> Vec<&mut Tensor>;

    /// The parameters alone, for an optimizer.
    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    /// Copies `state` into the parameters, by name. Strict, as PyTorch's
    /// default: every parameter must be present with its shape and nothing
    /// else may be; otherwise nothing is copied and the error lists all three
    /// kinds of misfit at once.
    fn load_state_dict(&self, state: &[(String, Tensor)]) -> Result<(), StateDictError> {
        let params = self.named_parameters();
        let mut err = StateDictError::default();
        for (name, p) in &params {
            match state.iter().find(|(n, _)| n == name) {
                None => err.missing.push(name.clone()),
                Some((_, t)) if t.shape() != p.shape() => {
                    err.mismatched
                        .push((name.clone(), p.shape().clone(), t.shape().clone()))
                }
                Some(_) => {}
            }
        }
        for (name, _) in state {
            if !params.iter().any(|(n, _)| n == name) {
                err.unexpected.push(name.clone());
            }
        }
        if !err.is_empty() {
            return Err(err);
        }
        for (name, p) in &params {
            let (_, t) = state
                .iter()
                .find(|(n, _)| n == name)
                .expect("checked above");
            p.copy_from(&t.to(&p.device())?)?;
        }
        Ok(())
    }

    /// Loads a safetensors file written by
    /// `safetensors.torch.save_file(module.state_dict(), path)`.
    fn load_safetensors(&self, path: &Path) -> Result<(), StateDictError> {
        let device = self
            .parameters()
            .first()
            .map(|t| t.device())
            .unwrap_or_default();
        let loaded = tensor::io::load(path, &device)?;
        self.load_state_dict(&loaded.tensors)
    }

    /// Writes the parameters as safetensors, loadable by PyTorch's
    /// `module.load_state_dict(safetensors.torch.load_file(path))`.
    fn save_safetensors(&self, path: &Path) -> tensor::Result<()> {
        tensor::io::save(path, &self.named_parameters(), None)
    }
}

/// `child`'s parameters with `prefix.` in front of each name (PyTorch's
/// naming of sub-modules: `out_proj.weight`, `layers.0.norm1.bias`).
pub fn prefixed(prefix: &str, child: &dyn Module) -> Vec<(String, Tensor)> {
    child
        .named_parameters()
        .into_iter()
        .map(|(n, t)| (format!("{prefix}.{n}"), t))
        .collect()
}

/// Why a `state_dict` does not fit a module: every missing, unexpected and
/// mis-shaped tensor is listed, or the file could not be read.
#[derive(Debug, Default)]
pub struct StateDictError {
    /// Parameters of the module absent from the state.
    pub missing: Vec<String>,
    /// Tensors in the state the module has no parameter for.
    pub unexpected: Vec<String>,
    /// `(name, the module's shape, the state's shape)`.
    pub mismatched: Vec<(String, Shape, Shape)>,
    /// Reading the file or copying failed.
    pub io: Option<Box<tensor::Error>>,
}

impl StateDictError {
    fn is_empty(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.mismatched.is_empty()
            && self.io.is_none()
    }
}

impl From<tensor::Error> for StateDictError {
    fn from(e: tensor::Error) -> Self {
        StateDictError {
            io: Some(Box::new(e)),
            ..Default::default()
        }
    }
}

impl fmt::Display for StateDictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.io {
            return write!(f, "cannot load state_dict: {e}");
        }
        write!(f, "state_dict does not fit the module:")?;
        if !self.missing.is_empty() {
            write!(f, " missing {:?};", self.missing)?;
        }
        if !self.unexpected.is_empty() {
            write!(f, " unexpected {:?};", self.unexpected)?;
        }
        for (name, want, got) in &self.mismatched {
            write!(f, " {name:?} has shape {got}, the module expects {want};")?;
        }
        Ok(())
    }
}

impl std::error::Error for StateDictError {}

/// `tensor::Error::InvalidArgument` for a layer's own checks.
pub(crate) fn invalid(op: &'static str, msg: impl Into<String>) -> tensor::Error {
    tensor::Error::InvalidArgument {
        op,
        msg: msg.into(),
    }
}
