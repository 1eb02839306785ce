//! Reverse-mode automatic differentiation.
//!
//! Every op that sees an input requiring grad records a [`Node`]: the
//! [`BackwardOp`] that knows its derivative and the input tensors. `backward`
//! walks these nodes from the loss in reverse topological order, asks each op
//! for the gradients of its inputs, reduces broadcast gradients back to the
//! input's shape (here, and only here), and accumulates them: in a map for
//! intermediate tensors, in `.grad()` for leaves. The backward rules are
//! written in tensor ops, so they run on whatever device the tensors are on.
//! See docs/autograd.md for a worked example.

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
}

/// A recorded op application.
pub(crate) struct Node {
    pub(crate) op: Box<dyn BackwardOp>,
    pub(crate) inputs: Vec<Tensor>,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on this thread currently record the tape.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Runs `f` with the tape off (inference, optimizer updates, backward itself).
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(GRAD_ENABLED.with(|g| g.replace(false)));
    f()
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
        no_grad(|| run_backward(self, grad))
    }
}

fn run_backward(root: &Tensor, seed: Tensor) -> Result<()> {
    let order = topological_order(root);
    let mut grads: HashMap<TensorId, Tensor> = HashMap::new();
    grads.insert(root.id(), seed);
    for t in order.iter().rev() {
        let Some(grad) = grads.remove(&t.id()) else {
            continue; // no path from the root reached it (its branch got no gradient)
        };
        let Some(node) = &t.0.node else {
            accumulate_leaf(t, grad)?;
            continue;
        };
        let input_grads = node.op.backward(&node.inputs, t, &grad)?;
        debug_assert_eq!(input_grads.len(), node.inputs.len(), "{}", node.op.name());
        for (input, g) in node.inputs.iter().zip(input_grads) {
            let Some(g) = g else { continue };
            if !input.requires_grad() {
                continue;
            }
            let g = g.sum_to_shape(input.shape()).map_err(|e| {
                Error::Autograd(format!("gradient of {} input: {e}", node.op.name()))
            })?;
            match grads.remove(&input.id()) {
                Some(prev) => grads.insert(input.id(), prev.add(&g)?),
                None => grads.insert(input.id(), g),
            };
        }
    }
    Ok(())
}

fn accumulate_leaf(leaf: &Tensor, grad: Tensor) -> Result<()> {
    let total = match leaf.grad() {
        Some(prev) => prev.add(&grad)?,
        None => grad,
    };
    leaf.set_grad(Some(total));
    Ok(())
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
