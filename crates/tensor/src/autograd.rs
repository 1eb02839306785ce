//! Reverse-mode automatic differentiation: the walk.
//!
//! Every op that sees an input requiring grad records a [`Node`] on its
//! output: the [`BackwardOp`] that knows its derivative, and the inputs.
//! `backward` lists the tensors between the loss and the leaves in
//! topological order, seeds ∂L/∂L = 1, and walks the list backwards: each
//! tensor's gradient, summed over its uses, is handed to its node's
//! `backward`, whose input gradients are summed down to each input's shape
//! (undoing broadcasting, here and only here) and added to that input's
//! running sum; a leaf's sum lands in its `.grad()`.
//!
//! That is the whole algorithm, and [`Plain`] is it, line for line. On the
//! host the same walk runs with a faster way to hand gradients on
//! (grad_schedule.rs: parameter gradients beside the walk, one product for
//! a recurrent weight's many uses, sums built in place); the values are
//! the same up to the order of additions. See docs/autograd.md.

use crate::grad_schedule::{self, GradForm};
use crate::{Error, Result, Tensor, TensorId};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

/// The derivative of one op. `inputs` are the tensors the op consumed (in the
/// order it recorded them), `output` the tensor it produced, `grad` the
/// gradient of the loss with respect to `output`. Returns one gradient per
/// input (`None` where an input gets none, e.g. an integer index), shaped like
/// the output's broadcast of that input: autograd sums it down to the input's
/// own shape.
pub(crate) trait BackwardOp: Send + Sync {
    fn name(&self) -> &'static str;
    fn backward(
        &self,
        inputs: &[Tensor],
        output: &Tensor,
        grad: &Tensor,
    ) -> Result<Vec<Option<Tensor>>>;

    /// The one optional hook: the form of input `i`'s gradient, where the
    /// op knows one the host scheduler can use better than a finished
    /// tensor (a product it may run elsewhere or add into a sum, a block
    /// of a slice). Only grad_schedule.rs asks; the default is "from
    /// `backward`".
    fn grad_form(&self, _i: usize, _inputs: &[Tensor], _grad: &Tensor) -> Result<GradForm> {
        Ok(GradForm::FromBackward)
    }
}

/// A recorded op application.
pub(crate) struct Node {
    pub(crate) op: Box<dyn BackwardOp>,
    pub(crate) inputs: Vec<Tensor>,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    static PLAIN_WALK: Cell<bool> = const { Cell::new(false) };
}

/// Whether ops on this thread currently record the tape.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Runs `f` with the tape off (inference, optimizer updates, backward itself).
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _restore = Restore(&GRAD_ENABLED, GRAD_ENABLED.with(|g| g.replace(false)));
    f()
}

/// Runs `f` with every backward in it taking the plain walk, also on the
/// host: the reference the scheduled walk is tested against.
pub fn plain_walk<R>(f: impl FnOnce() -> R) -> R {
    let _restore = Restore(&PLAIN_WALK, PLAIN_WALK.with(|p| p.replace(true)));
    f()
}

/// Puts a thread-local flag back when dropped (also on unwinding).
struct Restore(&'static std::thread::LocalKey<Cell<bool>>, bool);

impl Drop for Restore {
    fn drop(&mut self) {
        self.0.with(|flag| flag.set(self.1));
    }
}

impl Tensor {
    /// Back-propagates from this scalar: adds d(self)/d(leaf) into the
    /// `.grad()` of every leaf that requires grad. Calling it twice adds twice
    /// (gradient accumulation); `zero_grad` clears.
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(Error::Autograd(format!(
                "can only start from a one-element tensor (a loss), got shape {}",
                self.shape()
            )));
        }
        if !self.requires_grad() {
            return Err(Error::Autograd(
                "this tensor does not require grad: no parameter took part in computing it".into(),
            ));
        }
        let seed = Tensor::ones(self.shape().clone(), &self.device())?;
        self.backward_with(seed)
    }

    /// Back-propagates a given output gradient (same shape as `self`).
    pub fn backward_with(&self, grad: Tensor) -> Result<()> {
        if grad.shape() != self.shape() {
            return Err(Error::shapes("backward", self.shape(), grad.shape()));
        }
        let order = topological_order(self);
        no_grad(|| match PLAIN_WALK.with(|p| p.get()) {
            true => walk(&order, self, grad, &mut Plain::default()),
            false => grad_schedule::run(&order, self, grad),
        })
    }
}

/// Where the walk leaves gradients: the running sum of each tensor over its
/// uses, and how a node hands its gradient on to its inputs.
pub(crate) trait GradSums {
    /// Adds `g` (shaped like `t`) to `t`'s running sum.
    fn add(&mut self, t: &Tensor, g: Tensor) -> Result<()>;
    /// Removes and returns `t`'s sum: every use of `t` is behind the walk.
    fn take(&mut self, t: &Tensor) -> Option<Tensor>;
    /// Gives each input of `node` (which made `t`) its share of `grad`.
    fn propagate(&mut self, t: &Tensor, node: &Node, grad: Tensor) -> Result<()>;
    /// Adds a leaf's finished gradient to its `.grad()`.
    fn leaf(&mut self, t: &Tensor, grad: Tensor) -> Result<()>;
}

/// The reverse sweep over `order` (inputs before outputs) from `root`.
pub(crate) fn walk(
    order: &[Tensor],
    root: &Tensor,
    seed: Tensor,
    sums: &mut impl GradSums,
) -> Result<()> {
    sums.add(root, seed)?;
    for t in order.iter().rev() {
        let Some(grad) = sums.take(t) else {
            continue; // no path from the root reached it (its branch got no gradient)
        };
        match &t.0.node {
            Some(node) => sums.propagate(t, node, grad)?,
            None => sums.leaf(t, grad)?,
        }
    }
    Ok(())
}

/// The textbook accumulation: call `backward`, undo broadcasting, add.
#[derive(Default)]
struct Plain(HashMap<TensorId, Tensor>);

impl GradSums for Plain {
    fn add(&mut self, t: &Tensor, g: Tensor) -> Result<()> {
        let total = match self.0.remove(&t.id()) {
            Some(sum) => sum.add(&g)?,
            None => g,
        };
        self.0.insert(t.id(), total);
        Ok(())
    }

    fn take(&mut self, t: &Tensor) -> Option<Tensor> {
        self.0.remove(&t.id())
    }

    fn propagate(&mut self, t: &Tensor, node: &Node, grad: Tensor) -> Result<()> {
        let grads = node.op.backward(&node.inputs, t, &grad)?;
        debug_assert_eq!(grads.len(), node.inputs.len(), "{}", node.op.name());
        for (input, g) in node.inputs.iter().zip(grads) {
            if let (Some(g), true) = (g, input.requires_grad()) {
                self.add(input, to_input_shape(node, input, g)?)?;
            }
        }
        Ok(())
    }

    fn leaf(&mut self, t: &Tensor, grad: Tensor) -> Result<()> {
        let total = match t.take_grad() {
            Some(prev) => prev.add(&grad)?,
            None => grad,
        };
        t.set_grad(Some(total));
        Ok(())
    }
}

/// Sums an input's gradient, shaped like the output's broadcast of the
/// input, down to the input's own shape.
pub(crate) fn to_input_shape(node: &Node, input: &Tensor, g: Tensor) -> Result<Tensor> {
    g.sum_to_shape(input.shape())
        .map_err(|e| Error::Autograd(format!("gradient of {} input: {e}", node.op.name())))
}

/// Every tensor that requires grad and leads to `root`, each after all of its
/// inputs. Iterative DFS: an unrolled RNN makes graphs thousands deep.
fn topological_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut visited: HashSet<TensorId> = HashSet::new();
    let mut stack: Vec<(Tensor, bool)> = vec![(root.clone(), false)];
    while let Some((t, inputs_done)) = stack.pop() {
        if inputs_done {
            order.push(t);
            continue;
        }
        if !visited.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(node) = &t.0.node {
            for input in &node.inputs {
                if input.requires_grad() && !visited.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}
