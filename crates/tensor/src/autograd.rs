//! Reverse-mode automatic differentiation.
//!
//! Every op that sees an input requiring grad records a [`Node`]: the
//! [`BackwardOp`] that knows its derivative and the input tensors. `backward`
//! walks these nodes from the loss in reverse topological order, asks each op
//! for the gradients of its inputs, reduces broadcast gradients back to the
//! input's shape (here, and only here), and accumulates them: in a map for
//! intermediate tensors (adding in place into a sum only the walk holds,
//! adding a slice's gradient straight into its block, and letting a matmul
//! write its gradient product into the sum), in `.grad()` for leaves. The
//! backward rules are written in tensor ops, so they run on whatever device
//! the tensors are on.
//! See docs/autograd.md for a worked example.

use crate::{backend, Device, Error, Result, Tensor, TensorId};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

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

    /// `Some((axis, start))` when the op's output is the block of its one
    /// input that starts at `start` along `axis` (`narrow`): the input's
    /// gradient is then the output's gradient in that block and zero
    /// elsewhere, and autograd adds it straight into the block of the
    /// input's running sum instead of calling `backward` for the padded,
    /// full-size tensor (on the host; the GPU takes the `backward` path).
    fn block_of_input(&self) -> Option<(usize, usize)> {
        None
    }

    /// `backward` for the inputs with `wanted[i]` set; the others' entries
    /// may be `None`. Ops whose input gradients cost separate work (matmul:
    /// one product each) skip the unwanted ones.
    fn backward_wanted(
        &self,
        inputs: &[Tensor],
        output: &Tensor,
        grad: &Tensor,
        _wanted: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        self.backward(inputs, output, grad)
    }

    /// True when each input's gradient is separate work that needs only the
    /// op's inputs and the output's gradient (a product per input: matmul,
    /// Linear): autograd may then compute a parameter's gradient on another
    /// thread while the walk goes on (see `run_backward`).
    fn grads_independent(&self) -> bool {
        false
    }

    /// `Some((l, r))` when input `i`'s gradient is the product `lᵀ·r` of
    /// two factors stacked by rows, `l` `[rows, p]` and `r` `[rows, q]`
    /// (a weight shared by the rows of the input: a Linear layer's ∂W =
    /// Gᵀ X). Autograd stacks the factors of a parameter's uses and runs
    /// one product for many (see `run_backward`). The default is `None`.
    fn grad_factors(
        &self,
        _i: usize,
        _inputs: &[Tensor],
        _grad: &Tensor,
    ) -> Result<Option<(Tensor, Tensor)>> {
        Ok(None)
    }

    /// Adds input `i`'s gradient into `sum` in place and returns true, where
    /// the op can do that more cheaply than producing the gradient and
    /// adding it (matmul writes its product into the sum). `sum` is a host
    /// tensor of the input's shape that only autograd holds. The default
    /// returns false and touches nothing.
    fn add_input_grad(
        &self,
        _i: usize,
        _inputs: &[Tensor],
        _output: &Tensor,
        _grad: &Tensor,
        _sum: &Tensor,
    ) -> Result<bool> {
        Ok(false)
    }
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

/// Output gradients (in elements) from which a parameter's gradient is
/// worth a task of its own: 64K, a 256 KiB tensor.
const DEFER_MIN: usize = 1 << 16;

/// Rows of stacked factors (see [`Stack`]) from which their product runs,
/// while the walk goes on: deep enough for the GEMM to reach its
/// large-product rate (384, the GEMM's deepest block, measured no better).
const STACK_ROWS: usize = 256;

/// Parameter gradients handed to tasks so far (tests check the path runs).
#[cfg(test)]
static DEFERRED_TASKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The gradient of a parameter that is used once in the graph does not feed
/// anything else in the walk: only `.grad()` and the optimizer read it. When
/// its op computes it as separate work (`grads_independent`: the ∂W and ∂b
/// of a Linear layer), it runs as a task in the rayon pool, on one thread
/// (`kernels_cpu::serially`), while the walk goes on, and is stored after
/// the walk. An idle worker picks such tasks up between the walk's own
/// kernels, and the walk's products, no longer split with a busy worker,
/// skip the fork and join: +2–3% on the Transformer training step, ±1% on
/// the GRU one (A/B in one process). Values do not change: the same product
/// computes the same gradient (no kernel's result depends on the thread
/// count), and a parameter used once has exactly one contribution.
///
/// A parameter used at every step of a recurrence (a GRU's W_hh) gets one
/// `Gₜᵀ Xₜ` per step instead: 64-row products (batch 64), each too shallow
/// for the GEMM to reach its rate, each on the walk's path. Where its op
/// gives the gradient as such a product of row-stacked factors
/// (`grad_factors`), the walk collects the factors of the parameter's uses
/// and, once they reach [`STACK_ROWS`] rows or the last use, hands one task
/// the product of the stacked factors, `[G₁; G₂; …]ᵀ [X₁; X₂; …]` = Σₜ Gₜᵀ Xₜ.
/// The sum is the same up to rounding (another order of the same terms);
/// the tasks' results are added in the order the walk made them, so the
/// gradient does not depend on which thread finished first.
fn run_backward(root: &Tensor, seed: Tensor) -> Result<()> {
    let order = topological_order(root);
    let uses = leaf_uses(&order);
    let deferred = Deferred::default();
    rayon::in_place_scope(|scope| walk(&order, (root.id(), seed), &uses, scope, &deferred))?;
    let mut results = deferred
        .done
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|r| r.0);
    for (_, leaf, grad) in results {
        accumulate_leaf(&leaf, grad?)?;
    }
    Ok(())
}

/// How many times each leaf requiring grad is an input of a node (a node
/// using it twice counts twice).
fn leaf_uses(order: &[Tensor]) -> HashMap<TensorId, usize> {
    let mut uses: HashMap<TensorId, usize> = HashMap::new();
    for t in order {
        if let Some(node) = &t.0.node {
            for input in &node.inputs {
                if input.0.node.is_none() && input.requires_grad() {
                    *uses.entry(input.id()).or_default() += 1;
                }
            }
        }
    }
    uses
}

/// Parameter gradients computed by tasks beside the walk, each with the
/// sequence number of its hand-off (the order they are added in).
#[derive(Default)]
struct Deferred {
    next: std::sync::atomic::AtomicUsize,
    done: std::sync::Mutex<Vec<(usize, Tensor, Result<Tensor>)>>,
}

impl Deferred {
    /// Runs `grad` (the gradient of `leaf`) as a task in `scope`, on one
    /// thread and without a tape.
    fn spawn<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        leaf: Tensor,
        grad: impl FnOnce() -> Result<Tensor> + Send + 's,
    ) {
        let seq = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        #[cfg(test)]
        DEFERRED_TASKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        scope.spawn(move |_| {
            // The task runs on any thread: its ops must not record a tape
            // there either.
            let g = kernels_cpu::serially(|| no_grad(grad));
            let mut d = self.done.lock().unwrap_or_else(|e| e.into_inner());
            d.push((seq, leaf, g));
        });
    }
}

/// The gradient factors collected for one parameter: its gradient is
/// `Σ lᵢᵀ rᵢ` over the pairs, `lᵢ` `[rowsᵢ, p]`, `rᵢ` `[rowsᵢ, q]`.
struct Stack {
    leaf: Tensor,
    left: Vec<Tensor>,
    right: Vec<Tensor>,
    rows: usize,
    /// Uses of the leaf the walk has passed (stacked or not).
    seen: usize,
}

impl Stack {
    /// Hands the product of the stacked factors to a task; empties the stack.
    fn flush<'s>(&mut self, scope: &rayon::Scope<'s>, deferred: &'s Deferred) {
        if self.left.is_empty() {
            return;
        }
        let (left, right) = (
            std::mem::take(&mut self.left),
            std::mem::take(&mut self.right),
        );
        self.rows = 0;
        let leaf = self.leaf.clone();
        let shape = leaf.shape().clone();
        deferred.spawn(scope, leaf, move || {
            let stacked = |parts: Vec<Tensor>| match parts.len() {
                1 => Ok(parts.into_iter().next().expect("one part")),
                _ => Tensor::cat(&parts, 0),
            };
            stacked(left)?
                .matmul_t(&stacked(right)?, true, false)?
                .reshape(shape)
        });
    }
}

/// The reverse walk of [`run_backward`]; parameter gradients it hands to
/// `scope` land in `deferred`.
fn walk<'s>(
    order: &'s [Tensor],
    (root, seed): (TensorId, Tensor),
    uses: &HashMap<TensorId, usize>,
    scope: &rayon::Scope<'s>,
    deferred: &'s Deferred,
) -> Result<()> {
    let mut sums = GradSums::default();
    let mut stacks: HashMap<TensorId, Stack> = HashMap::new();
    sums.0.insert(root, seed);
    for t in order.iter().rev() {
        let Some(grad) = sums.0.remove(&t.id()) else {
            continue; // no path from the root reached it (its branch got no gradient)
        };
        let Some(node) = &t.0.node else {
            accumulate_leaf(t, grad)?;
            continue;
        };
        if let (Some((axis, start)), Device::Cpu) = (node.op.block_of_input(), grad.device()) {
            sums.add_block(&node.inputs[0], &grad, axis, start)?;
            continue;
        }
        let mut wanted: Vec<bool> = node.inputs.iter().map(Tensor::requires_grad).collect();
        let on_host = grad.device() == Device::Cpu;
        for (i, input) in node.inputs.iter().enumerate() {
            let n_uses = match (
                input.0.node.is_none() && wanted[i] && on_host,
                uses.get(&input.id()),
            ) {
                (true, Some(&n)) => n,
                _ => continue,
            };
            if n_uses == 1 && node.op.grads_independent() && grad.numel() >= DEFER_MIN {
                wanted[i] = false;
                let (grad, input) = (grad.clone(), input.clone());
                let mut only = vec![false; node.inputs.len()];
                only[i] = true;
                deferred.spawn(scope, input.clone(), move || {
                    let g = node.op.backward_wanted(&node.inputs, t, &grad, &only)?;
                    let g = g.into_iter().nth(i).flatten().ok_or_else(|| {
                        Error::Autograd(format!("{} gave no gradient", node.op.name()))
                    })?;
                    g.sum_to_shape(input.shape())
                });
                continue;
            }
            if n_uses == 1 {
                continue;
            }
            let stack = stacks.entry(input.id()).or_insert_with(|| Stack {
                leaf: input.clone(),
                left: Vec::new(),
                right: Vec::new(),
                rows: 0,
                seen: 0,
            });
            stack.seen += 1;
            if let Some((l, r)) = node.op.grad_factors(i, &node.inputs, &grad)? {
                wanted[i] = false;
                stack.rows += l.dims()[0];
                stack.left.push(l);
                stack.right.push(r);
            }
            if stack.rows >= STACK_ROWS || stack.seen == n_uses {
                stack.flush(scope, deferred);
            }
        }
        for (i, input) in node.inputs.iter().enumerate() {
            if wanted[i]
                && sums.add_in_place(input, |sum| {
                    node.op.add_input_grad(i, &node.inputs, t, &grad, sum)
                })?
            {
                wanted[i] = false;
            }
        }
        let input_grads = node.op.backward_wanted(&node.inputs, t, &grad, &wanted)?;
        debug_assert_eq!(input_grads.len(), node.inputs.len(), "{}", node.op.name());
        for ((input, g), wanted) in node.inputs.iter().zip(input_grads).zip(wanted) {
            let Some(g) = g else { continue };
            if !wanted {
                continue;
            }
            let g = g.sum_to_shape(input.shape()).map_err(|e| {
                Error::Autograd(format!("gradient of {} input: {e}", node.op.name()))
            })?;
            sums.add(input, g)?;
        }
    }
    // Uses the walk never reached (their branch got no gradient) leave
    // factors behind.
    for stack in stacks.values_mut() {
        stack.flush(scope, deferred);
    }
    Ok(())
}

/// The running gradient of every tensor between the loss and the leaves,
/// summed over its uses as the walk reaches them.
#[derive(Default)]
struct GradSums(HashMap<TensorId, Tensor>);

impl GradSums {
    /// Adds `g` (shaped like `input`) to `input`'s sum.
    fn add(&mut self, input: &Tensor, g: Tensor) -> Result<()> {
        let total = match self.0.remove(&input.id()) {
            None => g,
            Some(sum) if owned_host_buffer(&sum) => {
                let n = sum.numel();
                backend::add_into_block(sum.storage(), g.storage(), 1, n, 0, 1)?;
                sum
            }
            Some(sum) => sum.add(&g)?,
        };
        self.0.insert(input.id(), total);
        Ok(())
    }

    /// Lets `add` (an op's `add_input_grad`) add into `input`'s sum in place,
    /// when there is a sum only the walk holds; returns what `add` returned,
    /// or false when there is no such sum.
    fn add_in_place(
        &mut self,
        input: &Tensor,
        add: impl FnOnce(&Tensor) -> Result<bool>,
    ) -> Result<bool> {
        match self.0.get(&input.id()) {
            Some(sum) if owned_host_buffer(sum) => add(sum),
            _ => Ok(false),
        }
    }

    /// Adds `g` into the block of `input`'s sum that starts at `start` along
    /// `axis` (host tensors only): `g` has `input`'s shape except along `axis`.
    fn add_block(&mut self, input: &Tensor, g: &Tensor, axis: usize, start: usize) -> Result<()> {
        if !input.requires_grad() {
            return Ok(());
        }
        let dims = input.dims();
        let sum = match self.0.remove(&input.id()) {
            Some(sum) if owned_host_buffer(&sum) => sum,
            // Shared with another tensor: start a buffer of our own.
            Some(sum) => sum.add(&Tensor::zeros(input.shape().clone(), &Device::Cpu)?)?,
            None => Tensor::from_storage(
                Arc::new(backend::cpu_zeros(input.numel())),
                input.shape().clone(),
            ),
        };
        let outer = dims[..axis].iter().product();
        let inner = dims[axis + 1..].iter().product();
        backend::add_into_block(sum.storage(), g.storage(), outer, dims[axis], start, inner)?;
        self.0.insert(input.id(), sum);
        Ok(())
    }
}

/// True when nothing but the caller holds this host tensor or its buffer,
/// so adding into it in place changes no value anyone else can see. (An
/// op's backward may hand the same gradient tensor to several inputs, and
/// a reshape shares its input's buffer.)
fn owned_host_buffer(t: &Tensor) -> bool {
    t.device() == Device::Cpu
        && Arc::strong_count(&t.0) == 1
        && Arc::strong_count(&t.0.storage) == 1
}

/// Adds `grad` to the gradient stored on `leaf`: in place when nothing else
/// holds the stored one (a parameter whose gradient arrives in several
/// parts: the stacked products of a recurrent weight), else into a new
/// tensor, so a gradient the caller kept from an earlier backward keeps
/// its value.
fn accumulate_leaf(leaf: &Tensor, grad: Tensor) -> Result<()> {
    let total = match leaf.take_grad() {
        Some(prev) if owned_host_buffer(&prev) && grad.device() == Device::Cpu => {
            let n = prev.numel();
            backend::add_into_block(prev.storage(), grad.storage(), 1, n, 0, 1)?;
            prev
        }
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

#[cfg(test)]
mod tests {
    use crate::{Device, Result, Tensor};

    fn leaf(rows: usize, cols: usize) -> Tensor {
        let data = (0..rows * cols).map(|i| 0.25 * i as f32 - 1.0).collect();
        Tensor::from_vec(data, [rows, cols], &Device::Cpu)
            .unwrap()
            .requires_grad_()
    }

    /// Slices of one tensor, plus another use of it: each slice's gradient
    /// lands in its own block of the one running sum, overlaps add up.
    #[test]
    fn slice_gradients_add_into_their_blocks() -> Result<()> {
        let x = leaf(3, 4);
        let a = x.narrow(1, 0, 2)?; // columns 0, 1
        let b = x.narrow(1, 1, 3)?; // columns 1, 2, 3
        let loss = a
            .square()?
            .sum_all()?
            .add(&b.mul_scalar(3.0)?.sum_all()?)?
            .add(&x.mul_scalar(2.0)?.sum_all()?)?;
        loss.backward()?;
        let xs = x.to_vec();
        let want: Vec<f32> = (0..12)
            .map(|i| {
                let col = i % 4;
                let from_a = if col < 2 { 2.0 * xs[i] } else { 0.0 };
                let from_b = if col >= 1 { 3.0 } else { 0.0 };
                from_a + from_b + 2.0
            })
            .collect();
        assert_eq!(x.grad().unwrap().to_vec(), want);
        Ok(())
    }

    /// A second backward without `zero_grad` adds into the stored gradient
    /// (in place when only the parameter holds it), but never into a
    /// gradient the caller kept from the first one; the seed handed to the
    /// first backward is not the stored gradient's buffer either.
    #[test]
    fn a_kept_gradient_keeps_its_value_across_backwards() -> Result<()> {
        let x = leaf(2, 3);
        let seed = || Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3], &Device::Cpu);
        let s1 = seed()?;
        x.mul_scalar(1.0)?.backward_with(s1.clone())?;
        let kept = x.grad().unwrap();
        x.mul_scalar(1.0)?.backward_with(seed()?)?;
        assert_eq!(kept.to_vec(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(s1.to_vec(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        drop(kept);
        x.mul_scalar(1.0)?.backward_with(seed()?)?; // in place now
        assert_eq!(
            x.grad().unwrap().to_vec(),
            [3.0, 6.0, 9.0, 12.0, 15.0, 18.0]
        );
        assert_eq!(s1.to_vec(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        Ok(())
    }

    /// A running sum may share its buffer with a tensor someone else holds
    /// (here the caller's output gradient, through `add`'s backward, which
    /// hands it on to both inputs, and `reshape`'s, which keeps its buffer):
    /// adding into it in place would change the caller's tensor. Both orders
    /// of the two uses of `h`, so that either is walked first.
    #[test]
    fn a_shared_gradient_is_never_added_into_in_place() -> Result<()> {
        for swap in [false, true] {
            let x = leaf(2, 3);
            let h = x.mul_scalar(1.0)?;
            let direct = h.reshape([6])?;
            let scaled = h.mul_scalar(10.0)?.reshape([6])?;
            let y = if swap {
                scaled.add(&direct)?
            } else {
                direct.add(&scaled)?
            };
            let seed = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [6], &Device::Cpu)?;
            y.backward_with(seed.clone())?;
            assert_eq!(seed.to_vec(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "swap {swap}");
            assert_eq!(
                x.grad().unwrap().to_vec(),
                [11.0, 22.0, 33.0, 44.0, 55.0, 66.0],
                "swap {swap}"
            );
        }
        Ok(())
    }

    /// A parameter of shape `dims` with smooth, distinct values.
    /// The stored gradient of each tensor, as host vectors.
    fn grads_of(ts: &[Tensor]) -> Vec<Vec<f32>> {
        ts.iter().map(|t| t.grad().unwrap().to_vec()).collect()
    }

    fn param(dims: &[usize], seed: f32) -> Tensor {
        let len = dims.iter().product::<usize>();
        let data = (0..len).map(|k| (k as f32 * 0.37 + seed).sin()).collect();
        Tensor::from_vec(data, dims.to_vec(), &Device::Cpu)
            .unwrap()
            .requires_grad_()
    }

    /// Parameters used once get their gradients from tasks beside the walk
    /// (when the product is large enough); used twice, from the walk itself.
    /// The values must be the same.
    #[test]
    fn deferred_parameter_gradients_equal_the_walks() -> Result<()> {
        let (n, i, o) = (300, 64, 512);
        assert!(
            n * o >= super::DEFER_MIN,
            "the output gradient must be large enough to defer"
        );
        let grads = |twice: bool| -> Result<Vec<Vec<f32>>> {
            let (x, w, b) = (param(&[n, i], 0.1), param(&[o, i], 0.2), param(&[o], 0.3));
            let mut loss = x.linear(&w, &b)?.tanh()?.sum_all()?;
            if twice {
                // A second use of every parameter keeps its gradient in the walk.
                let zero = x.sum_all()?.add(&w.sum_all()?)?.add(&b.sum_all()?)?;
                loss = loss.add(&zero.mul_scalar(0.0)?)?;
            }
            loss.backward()?;
            Ok(grads_of(&[x, w, b]))
        };
        let before = super::DEFERRED_TASKS.load(std::sync::atomic::Ordering::Relaxed);
        let deferred = grads(false)?;
        let after = super::DEFERRED_TASKS.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            after - before >= 3,
            "x, W and b should each have been a task"
        );
        let walked = grads(true)?;
        for (name, (d, w)) in ["x", "W", "b"].iter().zip(deferred.iter().zip(&walked)) {
            assert_eq!(d, w, "gradient of {name}");
        }
        Ok(())
    }
    /// A parameter used at several steps (a recurrent weight) gets one
    /// product of its stacked factors per STACK_ROWS rows instead of one
    /// per use; the same gradient, up to rounding, as through the walk
    /// (where each use reaches the leaf through an identity op, so none is
    /// stacked). Linear and both matmul layouts of a shared matrix, mixed
    /// with a use that gives no factors.
    #[test]
    fn stacked_parameter_gradients_equal_the_walks() -> Result<()> {
        let (rows, i, o, steps) = (100, 24, 40, 5);
        let grads = |stacked: bool| -> Result<Vec<Vec<f32>>> {
            let (w, b, u, v) = (
                param(&[o, i], 0.2),
                param(&[o], 0.3),
                param(&[o, o], 0.4),
                param(&[o, o], 0.5),
            );
            // Through an identity op the leaf is no longer the Linear's input.
            let use_of = |p: &Tensor| match stacked {
                true => Ok(p.clone()),
                false => p.mul_scalar(1.0),
            };
            let mut h = param(&[rows, i], 0.1);
            let mut loss = w.sum_all()?.mul_scalar(0.5)?; // a use with no factors
            for _ in 0..steps {
                let y = h.linear(&use_of(&w)?, &b)?.tanh()?; // [rows, o]
                let y = y
                    .reshape([4, rows / 4, o])?
                    .matmul_t(&use_of(&u)?, false, true)?;
                let y = y.matmul(&use_of(&v)?)?.reshape([rows, o])?.tanh()?;
                loss = loss.add(&y.sum_all()?)?;
                h = y.narrow(1, 0, i)?;
            }
            loss.backward()?;
            Ok(grads_of(&[w, b, u, v]))
        };
        let before = super::DEFERRED_TASKS.load(std::sync::atomic::Ordering::Relaxed);
        let stacked = grads(true)?;
        let after = super::DEFERRED_TASKS.load(std::sync::atomic::Ordering::Relaxed);
        // 5 uses of 100 rows: a product at 300 rows and one at the last use,
        // for each of W, U and V (other tests may run tasks meanwhile).
        assert!(after - before >= 6, "the stacked products should be tasks");
        let walked = grads(false)?;
        for (name, (s, w)) in ["W", "b", "U", "V"].iter().zip(stacked.iter().zip(&walked)) {
            let scale = w.iter().fold(1.0f32, |m, x| m.max(x.abs()));
            for (k, (x, y)) in s.iter().zip(w).enumerate() {
                assert!((x - y).abs() <= 1e-5 * scale, "{name}[{k}]: {x} vs {y}");
            }
        }
        Ok(())
    }
}
