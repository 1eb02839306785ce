//! Layers, one file each, and the two things they share:
//!
//! - [`Module`]: a layer lists its parameters once, in `visit`, under
//!   PyTorch's `state_dict` names (`weight_ih_l0`,
//!   `layers.0.self_attn.in_proj_weight`, …), which gives saving, loading
//!   (with an error that lists missing, unexpected and mis-shaped tensors),
//!   the parameter list for an optimizer and the slots to replace them in:
//!
//! ```text
//! impl Module for MultiheadAttention {
//!     fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
//!         p.tensor("in_proj_weight", &mut self.in_proj_weight);
//!         p.optional("in_proj_bias", &mut self.in_proj_bias);
//!         p.module("out_proj", &mut self.out_proj); // out_proj.weight, out_proj.bias
//!     }
//! }
//! ```
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
/// loading, saving and optimizing need). A module lists its parameters once,
/// in [`Module::visit`]; names, values and slots all come from that list.
///
/// A module is `Clone`, and a clone shares its parameters: a [`Tensor`] is
/// a handle, so the clone's tensors are the module's own (the same ids,
/// the same storage).
pub trait Module: Clone {
    /// Hands every parameter slot to `p` once, in a fixed order, under its
    /// name within this module; sub-modules through [`Params::module`] and
    /// its kin, which put PyTorch's `state_dict` prefixes in front.
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>);

    /// Every parameter under its PyTorch `state_dict` name, in a fixed order.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        // the walk hands out `&mut` slots; a clone's slots hold this module's tensors
        let mut module = self.clone();
        let mut named = Vec::new();
        module.visit(&mut Params::new(&mut |name, t: &mut Tensor| {
            named.push((name, t.clone()))
        }));
        named
    }

    /// Every parameter slot, in the order of [`Module::named_parameters`]:
    /// assigning to one replaces the parameter (weight tying, a gradient
    /// check's probes, moving a model between devices).
    fn parameters_mut(&mut self) -> Vec<&mut Tensor> {
        let mut slots = Vec::new();
        self.visit(&mut Params::new(&mut |_, t| slots.push(t)));
        slots
    }

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

/// The walk [`Module::visit`] takes: it names each parameter as PyTorch's
/// `state_dict` does (a sub-module's prefix, `layers.0.self_attn.`, and for
/// the recurrent layers a suffix, `_l1_reverse`) and hands the slot on.
pub struct Params<'a, 'f> {
    prefix: String,
    suffix: String,
    each: &'f mut dyn FnMut(String, &'a mut Tensor),
}

impl<'a, 'f> Params<'a, 'f> {
    /// A walk that calls `each(name, slot)` for every parameter.
    pub fn new(each: &'f mut dyn FnMut(String, &'a mut Tensor)) -> Self {
        Params {
            prefix: String::new(),
            suffix: String::new(),
            each,
        }
    }

    /// The parameter `name`.
    pub fn tensor(&mut self, name: &str, t: &'a mut Tensor) {
        (self.each)(format!("{}{name}{}", self.prefix, self.suffix), t);
    }

    /// The parameter `name` when it exists (a bias that can be switched off).
    pub fn optional(&mut self, name: &str, t: &'a mut Option<Tensor>) {
        if let Some(t) = t {
            self.tensor(name, t);
        }
    }

    /// The parameters of `child` under `name.`: `out_proj.weight`.
    pub fn module<M: Module>(&mut self, name: &str, child: &'a mut M) {
        let len = self.prefix.len();
        self.prefix.push_str(name);
        self.prefix.push('.');
        child.visit(self);
        self.prefix.truncate(len);
    }

    /// [`Params::module`] for a sub-module that may be absent.
    pub fn optional_module<M: Module>(&mut self, name: &str, child: &'a mut Option<M>) {
        if let Some(child) = child {
            self.module(name, child);
        }
    }

    /// A list of sub-modules, under `name.0.`, `name.1.`, … (`layers.0.norm1.weight`).
    pub fn modules<M: Module>(&mut self, name: &str, children: &'a mut [M]) {
        for (i, child) in children.iter_mut().enumerate() {
            self.module(&format!("{name}.{i}"), child);
        }
    }

    /// The parameters of `child` with `suffix` after each name: PyTorch's
    /// recurrent layers name their cells' tensors `weight_ih_l0`, `bias_hh_l1_reverse`.
    pub fn suffixed<M: Module>(&mut self, suffix: &str, child: &'a mut M) {
        let outer = std::mem::replace(&mut self.suffix, suffix.to_string());
        child.visit(self);
        self.suffix = outer;
    }
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
