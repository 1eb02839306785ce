//! `Tensor`: a cheap-to-clone handle to f32 storage, a shape, and — when it
//! requires grad — the op that produced it. See docs/architecture.md.

use crate::autograd::{self, BackwardOp, Node};
use crate::storage::Storage;
use crate::{Device, Error, Result, Shape};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Unique identity of a tensor, used by the autograd walk.
pub type TensorId = u64;

fn next_id() -> TensorId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An n-dimensional array of f32, contiguous and row-major.
///
/// Cloning copies a pointer. Ops return new tensors; only optimizers write
/// into an existing one (its parameters), through [`Tensor::update_`].
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) id: TensorId,
    pub(crate) storage: Arc<Storage>,
    pub(crate) shape: Shape,
    pub(crate) requires_grad: bool,
    /// The op that made this tensor and its inputs; `None` for leaves and for
    /// anything computed while gradients were off.
    pub(crate) node: Option<Node>,
    /// Accumulated gradient of a leaf that requires grad.
    pub(crate) grad: Mutex<Option<Tensor>>,
}

impl Tensor {
    // ---------------------------------------------------------------- creation

    pub(crate) fn from_storage(storage: Arc<Storage>, shape: Shape) -> Tensor {
        Tensor(Arc::new(Inner {
            id: next_id(),
            storage,
            shape,
            requires_grad: false,
            node: None,
            grad: Mutex::new(None),
        }))
    }

    /// The result of an op: records `op` and `inputs` on the tape when
    /// gradients are on and some input requires them.
    pub(crate) fn from_op(
        storage: Storage,
        shape: impl Into<Shape>,
        op: impl BackwardOp + 'static,
        inputs: Vec<Tensor>,
    ) -> Tensor {
        Tensor::from_op_shared(Arc::new(storage), shape, op, inputs)
    }

    /// Like `from_op`, for views that reuse an input's buffer (reshape).
    pub(crate) fn from_op_shared(
        storage: Arc<Storage>,
        shape: impl Into<Shape>,
        op: impl BackwardOp + 'static,
        inputs: Vec<Tensor>,
    ) -> Tensor {
        let track = autograd::is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
        let node = track.then(|| Node {
            op: Box::new(op),
            inputs,
        });
        Tensor(Arc::new(Inner {
            id: next_id(),
            storage,
            shape: shape.into(),
            requires_grad: track,
            node,
            grad: Mutex::new(None),
        }))
    }

    /// A tensor from host data; errors if `data.len()` differs from the shape's element count.
    pub fn from_vec(data: Vec<f32>, shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(Error::bad_shape(
                "from_vec",
                &shape,
                format!("{} values given for {} elements", data.len(), shape.numel()),
            ));
        }
        let t = Tensor::from_storage(Arc::new(Storage::cpu(data)), shape);
        t.to(device)
    }

    /// A tensor from a slice of host data.
    pub fn from_slice(data: &[f32], shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        Tensor::from_vec(data.to_vec(), shape, device)
    }

    /// A scalar (rank-0) tensor.
    pub fn scalar(value: f32, device: &Device) -> Result<Tensor> {
        Tensor::from_vec(vec![value], Shape::scalar(), device)
    }

    pub fn full(value: f32, shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        let storage = crate::backend::filled(value, shape.numel(), *device)?;
        Ok(Tensor::from_storage(Arc::new(storage), shape))
    }

    pub fn zeros(shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        Tensor::full(0.0, shape, device)
    }

    pub fn ones(shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        Tensor::full(1.0, shape, device)
    }

    pub fn zeros_like(&self) -> Result<Tensor> {
        Tensor::zeros(self.shape().clone(), &self.device())
    }

    pub fn ones_like(&self) -> Result<Tensor> {
        Tensor::ones(self.shape().clone(), &self.device())
    }

    /// `[start, start + step, ...)` below `end`, as a 1-D tensor.
    pub fn arange(start: f32, end: f32, step: f32, device: &Device) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || (end - start) / step < 0.0 {
            return Err(Error::invalid(
                "arange",
                format!("cannot step from {start} to {end} by {step}"),
            ));
        }
        let n = ((end - start) / step).ceil() as usize;
        let data: Vec<f32> = (0..n).map(|i| start + step * i as f32).collect();
        Tensor::from_vec(data, [n], device)
    }

    // --------------------------------------------------------------- accessors

    pub fn id(&self) -> TensorId {
        self.0.id
    }

    pub fn shape(&self) -> &Shape {
        &self.0.shape
    }

    pub fn dims(&self) -> &[usize] {
        self.0.shape.dims()
    }

    pub fn rank(&self) -> usize {
        self.0.shape.rank()
    }

    pub fn numel(&self) -> usize {
        self.0.shape.numel()
    }

    /// Size of one dimension; negative axes count from the end.
    pub fn dim(&self, axis: isize) -> Result<usize> {
        self.0.shape.dim(axis)
    }

    pub fn device(&self) -> Device {
        self.0.storage.device()
    }

    pub(crate) fn storage(&self) -> &Storage {
        &self.0.storage
    }

    /// Copies the values to the host. On the GPU this waits for every
    /// recorded kernel; a lost device panics (use `try_to_vec` to handle it).
    pub fn to_vec(&self) -> Vec<f32> {
        self.0.storage.to_vec()
    }

    /// Copies the values to the host, returning an error if the device fails.
    pub fn try_to_vec(&self) -> Result<Vec<f32>> {
        self.0.storage.try_to_vec()
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(Error::bad_shape(
                "item",
                self.shape(),
                "only a one-element tensor has an item",
            ));
        }
        Ok(self.try_to_vec()?[0])
    }

    // ---------------------------------------------------------------- autograd

    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    /// A leaf that shares this storage and requires grad: how parameters are made.
    pub fn requires_grad_(self) -> Tensor {
        Tensor(Arc::new(Inner {
            id: next_id(),
            storage: self.0.storage.clone(),
            shape: self.0.shape.clone(),
            requires_grad: true,
            node: None,
            grad: Mutex::new(None),
        }))
    }

    /// The same values, cut from the graph: no gradient flows through it.
    pub fn detach(&self) -> Tensor {
        Tensor::from_storage(self.0.storage.clone(), self.0.shape.clone())
    }

    /// The gradient accumulated in this leaf by `backward` calls, if any.
    pub fn grad(&self) -> Option<Tensor> {
        self.0
            .grad
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the stored gradient (used by clipping and tests).
    pub fn set_grad(&self, grad: Option<Tensor>) {
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = grad;
    }

    /// Removes the stored gradient and returns it (autograd adds into it).
    pub(crate) fn take_grad(&self) -> Option<Tensor> {
        self.0.grad.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Forgets the accumulated gradient.
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }

    /// True when the tensor was made by an op recorded on the tape.
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }

    // ------------------------------------------------------------ raw updates

    /// Overwrites the values in place with `values` of the same shape and
    /// device — the one mutation the engine allows, used to load weights.
    pub fn copy_from(&self, values: &Tensor) -> Result<()> {
        if values.shape() != self.shape() {
            return Err(Error::shapes("copy_from", self.shape(), values.shape()));
        }
        crate::backend::check_same_device("copy_from", self, values)?;
        crate::backend::copy_into(values.storage(), self.storage())
    }

    /// Whether two tensors share one buffer (after reshape or detach).
    pub fn same_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }

    // ---------------------------------------------------------------- devices

    /// The same values on `device` (this tensor itself when already there).
    /// The copy is a leaf: moving parameters, then training, is the way to
    /// train on another device.
    pub fn to(&self, device: &Device) -> Result<Tensor> {
        if self.device() == *device {
            return Ok(self.clone());
        }
        let storage = crate::backend::to_device(self.storage(), device)?;
        let t = Tensor::from_storage(Arc::new(storage), self.shape().clone());
        Ok(if self.requires_grad() && self.is_leaf() {
            t.requires_grad_()
        } else {
            t
        })
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 8;
        let data = self.to_vec();
        write!(f, "Tensor{} on {} ", self.shape(), self.device())?;
        if data.len() <= SHOWN {
            write!(f, "{data:?}")
        } else {
            write!(f, "{:?} …", &data[..SHOWN])
        }
    }
}

impl Drop for Inner {
    /// Frees a long chain of graph nodes iteratively: the default recursive
    /// drop would overflow the stack on an unrolled RNN of thousands of steps.
    fn drop(&mut self) {
        let Some(node) = self.node.take() else {
            return;
        };
        let mut stack = node.inputs;
        while let Some(t) = stack.pop() {
            if let Ok(mut inner) = Arc::try_unwrap(t.0) {
                if let Some(n) = inner.node.take() {
                    stack.extend(n.inputs);
                }
            }
        }
    }
}
