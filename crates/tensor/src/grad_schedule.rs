//! The host's way of handing gradients on: the walk of autograd.rs with
//! three kinds of work moved or merged, each where an op's [`GradForm`]
//! says its gradient allows it. Values are the plain walk's up to the
//! order of additions (tests below compare the two).
//!
//! 1. **Parameter gradients beside the walk.** The gradient of a parameter
//!    used once in the graph feeds nothing else in the walk: only `.grad()`
//!    and the optimizer read it. When it is a product or a tensor of its
//!    own (a Linear layer's ∂W = Gᵀ X and ∂b = Σ G) and the output
//!    gradient is large ([`DEFER_MIN`]), it runs as a task in the rayon
//!    pool on one thread (`kernels_cpu::serially`) while the walk goes on:
//!    an idle worker picks it up between the walk's own kernels.
//! 2. **One product for a recurrent weight's many uses.** A weight used at
//!    every step of a recurrence gets `Gₜᵀ Xₜ` per step: 64-row products,
//!    each too shallow for the GEMM's rate and each on the walk's path.
//!    But Σₜ Gₜᵀ Xₜ = [G₁; G₂; …]ᵀ [X₁; X₂; …]: the factors of the uses are
//!    stacked by rows and, every [`STACK_ROWS`] rows and at the last use,
//!    one task runs their product.
//! 3. **Sums in place.** A running sum only the walk holds is added into,
//!    not replaced by a new tensor; a matmul writes its gradient product
//!    into it with β = 1; a slice's gradient is added into its block of
//!    the input's sum instead of being padded with zeros first.
//!
//! Task results are added in the order the walk handed them off, so a
//! gradient does not depend on which thread finished first.

use crate::autograd::{self, GradSums, Node};
use crate::{backend, Device, Error, Result, Tensor, TensorId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How an input's gradient is formed (`BackwardOp::grad_form`).
pub(crate) enum GradForm {
    /// Only the op's `backward` gives it.
    FromBackward,
    /// `op(x)·op(y)`, each `op` a transpose when its flag is set; then
    /// summed down to the input's shape.
    Product {
        x: Tensor,
        y: Tensor,
        trans: (bool, bool),
    },
    /// This tensor, summed down to the input's shape (a bias: G itself).
    Ready(Tensor),
    /// The output's gradient in the block that starts at `start` along
    /// `axis`, zero elsewhere (`narrow`).
    Block { axis: usize, start: usize },
}

impl GradForm {
    /// `(l, r)` when the form is `lᵀ r` of row-stacked factors: `l`
    /// `[rows, p]`, `r` `[rows, q]`.
    fn factors(&self) -> Option<(&Tensor, &Tensor)> {
        match self {
            GradForm::Product {
                x,
                y,
                trans: (true, false),
            } if x.rank() == 2 && y.rank() == 2 && x.dims()[0] == y.dims()[0] => Some((x, y)),
            _ => None,
        }
    }
}

/// Output gradients (in elements) from which a parameter's gradient is
/// worth a task of its own: 64K, a 256 KiB tensor.
const DEFER_MIN: usize = 1 << 16;

/// Rows of stacked factors from which their product runs: deep enough for
/// the GEMM to reach its large-product rate.
const STACK_ROWS: usize = 256;

/// Parameter gradients handed to tasks so far (tests check the path runs).
#[cfg(test)]
static TASKS: AtomicUsize = AtomicUsize::new(0);

/// The walk of autograd.rs over `order` from `root`, with this module's
/// [`Host`] sums; then the tasks' gradients, in hand-off order. On the GPU
/// only the sums in place apply (3. above): its kernels are recorded into
/// one queue, so a task beside the walk would gain nothing, while each sum
/// in place saves a dispatch and a buffer.
pub(crate) fn run(order: &[Tensor], root: &Tensor, seed: Tensor) -> Result<()> {
    let beside_walk = seed.device() == Device::Cpu;
    let uses = leaf_uses(order);
    let tasks = Tasks::default();
    rayon::in_place_scope(|scope| {
        let mut host = Host {
            sums: HashMap::new(),
            stacks: HashMap::new(),
            uses: &uses,
            beside_walk,
            scope,
            tasks: &tasks,
        };
        autograd::walk(order, root, seed, &mut host)?;
        // Uses the walk never reached (their branch got no gradient) leave
        // factors behind.
        for stack in host.stacks.values_mut() {
            stack.flush(scope, &tasks);
        }
        Ok::<_, Error>(())
    })?;
    let mut results = tasks.done.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|r| r.0);
    for (_, leaf, grad) in results {
        add_to_leaf(&leaf, grad?)?;
    }
    Ok(())
}

/// How many times each leaf requiring grad is an input of a node (a node
/// using it twice counts twice).
fn leaf_uses(order: &[Tensor]) -> HashMap<TensorId, usize> {
    let mut uses: HashMap<TensorId, usize> = HashMap::new();
    for node in order.iter().filter_map(|t| t.0.node.as_ref()) {
        for input in &node.inputs {
            if input.0.node.is_none() && input.requires_grad() {
                *uses.entry(input.id()).or_default() += 1;
            }
        }
    }
    uses
}

/// Parameter gradients computed beside the walk, each with the sequence
/// number of its hand-off.
#[derive(Default)]
struct Tasks {
    next: AtomicUsize,
    done: Mutex<Vec<(usize, Tensor, Result<Tensor>)>>,
}

impl Tasks {
    /// Runs `grad` (the gradient of `leaf`) in `scope`, on one thread and
    /// without a tape.
    fn spawn<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        leaf: Tensor,
        grad: impl FnOnce() -> Result<Tensor> + Send + 's,
    ) {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        #[cfg(test)]
        TASKS.fetch_add(1, Ordering::Relaxed);
        scope.spawn(move |_| {
            // The task runs on any thread: its ops must not record a tape there.
            let g = kernels_cpu::serially(|| autograd::no_grad(grad));
            let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
            done.push((seq, leaf, g));
        });
    }
}

/// The gradient factors collected for one parameter: its gradient is
/// `Σ lᵢᵀ rᵢ` over the pairs.
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
    fn flush<'s>(&mut self, scope: &rayon::Scope<'s>, tasks: &'s Tasks) {
        if self.left.is_empty() {
            return;
        }
        let (left, right) = (
            std::mem::take(&mut self.left),
            std::mem::take(&mut self.right),
        );
        self.rows = 0;
        let shape = self.leaf.shape().clone();
        tasks.spawn(scope, self.leaf.clone(), move || {
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

/// The running sums of the host walk, and its tasks.
struct Host<'a, 's> {
    sums: HashMap<TensorId, Tensor>,
    stacks: HashMap<TensorId, Stack>,
    uses: &'a HashMap<TensorId, usize>,
    /// Parameter gradients may run as tasks and stack (1. and 2. above).
    beside_walk: bool,
    scope: &'a rayon::Scope<'s>,
    tasks: &'s Tasks,
}

impl Host<'_, '_> {
    /// Takes a parameter's gradient off the walk where its form allows
    /// (a task, or factors on its stack); returns the form when the walk
    /// must still produce it.
    fn off_the_walk(
        &mut self,
        input: &Tensor,
        form: GradForm,
        grad: &Tensor,
    ) -> Result<Option<GradForm>> {
        let n_uses = match (input.0.node.is_none(), self.uses.get(&input.id())) {
            _ if !self.beside_walk => return Ok(Some(form)),
            (true, Some(&n)) => n,
            _ => return Ok(Some(form)),
        };
        if n_uses == 1 {
            if grad.numel() < DEFER_MIN {
                return Ok(Some(form));
            }
            let shape = input.shape().clone();
            let task: Box<dyn FnOnce() -> Result<Tensor> + Send> = match form {
                GradForm::Product { x, y, trans } => {
                    Box::new(move || x.matmul_t(&y, trans.0, trans.1)?.sum_to_shape(&shape))
                }
                GradForm::Ready(g) => Box::new(move || g.sum_to_shape(&shape)),
                other => return Ok(Some(other)),
            };
            self.tasks.spawn(self.scope, input.clone(), task);
            return Ok(None);
        }
        let stack = self.stacks.entry(input.id()).or_insert_with(|| Stack {
            leaf: input.clone(),
            left: Vec::new(),
            right: Vec::new(),
            rows: 0,
            seen: 0,
        });
        stack.seen += 1;
        let rest = match form.factors() {
            Some((l, r)) => {
                stack.rows += l.dims()[0];
                stack.left.push(l.clone());
                stack.right.push(r.clone());
                None
            }
            None => Some(form),
        };
        if stack.rows >= STACK_ROWS || stack.seen == n_uses {
            stack.flush(self.scope, self.tasks);
        }
        Ok(rest)
    }

    /// The running sum of `input` when only the walk holds it.
    fn owned_sum(&self, input: &Tensor) -> Option<&Tensor> {
        self.sums.get(&input.id()).filter(|s| owned_buffer(s))
    }

    /// Adds `g` into the block of `input`'s sum that starts at `start` along
    /// `axis`: `g` has `input`'s shape except along `axis`.
    fn add_block(&mut self, input: &Tensor, g: &Tensor, axis: usize, start: usize) -> Result<()> {
        let dims = input.dims();
        let outer = dims[..axis].iter().product();
        let inner = dims[axis + 1..].iter().product();
        let sum = match self.sums.remove(&input.id()) {
            Some(sum) if owned_buffer(&sum) => sum,
            // Shared with another tensor: start a buffer of our own.
            Some(sum) => sum.add(&Tensor::zeros(input.shape().clone(), &g.device())?)?,
            // The first block: written with its zeros around it in one pass.
            None => {
                let padded = backend::pad_block(g.storage(), (outer, dims[axis], inner), start)?;
                let sum = Tensor::from_storage(Arc::new(padded), input.shape().clone());
                self.sums.insert(input.id(), sum);
                return Ok(());
            }
        };
        backend::add_into_block(
            sum.storage(),
            g.storage(),
            (outer, dims[axis], inner),
            start,
        )?;
        self.sums.insert(input.id(), sum);
        Ok(())
    }
}

impl GradSums for Host<'_, '_> {
    fn add(&mut self, t: &Tensor, g: Tensor) -> Result<()> {
        let total = match self.sums.remove(&t.id()) {
            None => g,
            Some(sum) if owned_buffer(&sum) && sum.device() == g.device() => {
                let n = sum.numel();
                backend::add_into_block(sum.storage(), g.storage(), (1, n, 1), 0)?;
                sum
            }
            Some(sum) => sum.add(&g)?,
        };
        self.sums.insert(t.id(), total);
        Ok(())
    }

    fn take(&mut self, t: &Tensor) -> Option<Tensor> {
        self.sums.remove(&t.id())
    }

    fn propagate(&mut self, t: &Tensor, node: &Node, grad: Tensor) -> Result<()> {
        let mut forms = Vec::with_capacity(node.inputs.len());
        for (i, input) in node.inputs.iter().enumerate() {
            forms.push(match input.requires_grad() {
                true => {
                    self.off_the_walk(input, node.op.grad_form(i, &node.inputs, &grad)?, &grad)?
                }
                false => None,
            });
        }
        let mut from_backward: Option<Vec<Option<Tensor>>> = None;
        for (i, (input, form)) in node.inputs.iter().zip(forms).enumerate() {
            let g = match form {
                None => continue,
                Some(GradForm::Block { axis, start }) => {
                    self.add_block(input, &grad, axis, start)?;
                    continue;
                }
                Some(GradForm::Product { x, y, trans }) => {
                    if let Some(sum) = self.owned_sum(input) {
                        if x.matmul_add_into(&y, trans.0, trans.1, sum)? {
                            continue;
                        }
                    }
                    x.matmul_t(&y, trans.0, trans.1)?
                }
                Some(GradForm::Ready(g)) => g,
                Some(GradForm::FromBackward) => {
                    let all = match &mut from_backward {
                        Some(all) => all,
                        None => from_backward.insert(node.op.backward(&node.inputs, t, &grad)?),
                    };
                    match all.get_mut(i).and_then(Option::take) {
                        Some(g) => g,
                        None => continue,
                    }
                }
            };
            let g = autograd::to_input_shape(node, input, g)?;
            self.add(input, g)?;
        }
        Ok(())
    }

    fn leaf(&mut self, t: &Tensor, grad: Tensor) -> Result<()> {
        add_to_leaf(t, grad)
    }
}

/// True when nothing but the caller holds this tensor or its buffer, so
/// adding into it in place changes no value anyone else can see. (An op's
/// backward may hand the same gradient tensor to several inputs, and a
/// reshape shares its input's buffer.)
fn owned_buffer(t: &Tensor) -> bool {
    Arc::strong_count(&t.0) == 1 && Arc::strong_count(&t.0.storage) == 1
}

/// Adds `grad` to the gradient stored on `leaf`: in place when nothing else
/// holds the stored one (a recurrent weight's gradient arrives in parts),
/// else into a new tensor, so a gradient the caller kept from an earlier
/// backward keeps its value.
fn add_to_leaf(leaf: &Tensor, grad: Tensor) -> Result<()> {
    let total = match leaf.take_grad() {
        Some(prev) if owned_buffer(&prev) && grad.device() == prev.device() => {
            let n = prev.numel();
            backend::add_into_block(prev.storage(), grad.storage(), (1, n, 1), 0)?;
            prev
        }
        Some(prev) => prev.add(&grad)?,
        None => grad,
    };
    leaf.set_grad(Some(total));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::TASKS;
    use crate::autograd::plain_walk;
    use crate::{Device, Result, Tensor};
    use std::sync::atomic::Ordering;

    /// A parameter of shape `dims` with smooth, distinct values.
    fn param(dims: &[usize], seed: f32) -> Tensor {
        param_on(&Device::Cpu, dims, seed)
    }

    fn param_on(device: &Device, dims: &[usize], seed: f32) -> Tensor {
        let len = dims.iter().product::<usize>();
        let data = (0..len).map(|k| (k as f32 * 0.37 + seed).sin()).collect();
        Tensor::from_vec(data, dims.to_vec(), device)
            .unwrap()
            .requires_grad_()
    }

    /// The stored gradient of each tensor, as host vectors.
    fn grads_of(ts: &[Tensor]) -> Vec<Vec<f32>> {
        ts.iter().map(|t| t.grad().unwrap().to_vec()).collect()
    }

    /// `scheduled` within `tol` (relative to the largest value) of `plain`.
    fn assert_close(names: &[&str], scheduled: &[Vec<f32>], plain: &[Vec<f32>], tol: f32) {
        for (name, (s, p)) in names.iter().zip(scheduled.iter().zip(plain)) {
            let scale = p.iter().fold(1.0f32, |m, x| m.max(x.abs()));
            for (k, (x, y)) in s.iter().zip(p).enumerate() {
                assert!((x - y).abs() <= tol * scale, "{name}[{k}]: {x} vs {y}");
            }
        }
    }

    /// Slices of one tensor, plus another use of it: each slice's gradient
    /// lands in its own block of the one running sum, overlaps add up.
    #[test]
    fn slice_gradients_add_into_their_blocks() -> Result<()> {
        let x = param(&[3, 4], 0.0);
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
        let x = param(&[2, 3], 0.0);
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
            let x = param(&[2, 3], 0.0);
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

    /// Parameters used once get their gradients from tasks beside the walk
    /// (the product is large enough); the values are the plain walk's.
    #[test]
    fn task_gradients_equal_the_plain_walks() -> Result<()> {
        let (n, i, o) = (300, 64, 512);
        assert!(
            n * o >= super::DEFER_MIN,
            "the output gradient must be large enough"
        );
        let grads = || -> Result<Vec<Vec<f32>>> {
            let (x, w, b) = (param(&[n, i], 0.1), param(&[o, i], 0.2), param(&[o], 0.3));
            x.linear(&w, &b)?.tanh()?.sum_all()?.backward()?;
            Ok(grads_of(&[x, w, b]))
        };
        let before = TASKS.load(Ordering::Relaxed);
        let scheduled = grads()?;
        let after = TASKS.load(Ordering::Relaxed);
        assert!(
            after - before >= 3,
            "x, W and b should each have been a task"
        );
        let plain = plain_walk(grads)?;
        assert_eq!(scheduled, plain);
        Ok(())
    }

    /// A parameter used at several steps (a recurrent weight) gets one
    /// product of its stacked factors per STACK_ROWS rows instead of one
    /// per use: the plain walk's gradient up to rounding. Linear and both
    /// matmul layouts of a shared matrix, mixed with a use that gives no
    /// factors, and slices of the state.
    #[test]
    fn stacked_gradients_equal_the_plain_walks() -> Result<()> {
        let (rows, i, o, steps) = (100, 24, 40, 5);
        let grads = || -> Result<Vec<Vec<f32>>> {
            let (w, b, u, v) = (
                param(&[o, i], 0.2),
                param(&[o], 0.3),
                param(&[o, o], 0.4),
                param(&[o, o], 0.5),
            );
            let h0 = param(&[rows, i], 0.1);
            let mut h = h0.clone();
            let mut loss = w.sum_all()?.mul_scalar(0.5)?; // a use with no factors
            for _ in 0..steps {
                let y = h.linear(&w, &b)?.tanh()?; // [rows, o]
                let y = y.reshape([4, rows / 4, o])?.matmul_t(&u, false, true)?;
                let y = y.matmul(&v)?.reshape([rows, o])?.tanh()?;
                loss = loss.add(&y.sum_all()?)?;
                h = y.narrow(1, 0, i)?;
            }
            loss.backward()?;
            Ok(grads_of(&[w, b, u, v, h0]))
        };
        let before = TASKS.load(Ordering::Relaxed);
        let scheduled = grads()?;
        let after = TASKS.load(Ordering::Relaxed);
        // 5 uses of 100 rows: a product at 300 rows and one at the last use,
        // for each of W, U and V (other tests may run tasks meanwhile).
        assert!(after - before >= 6, "the stacked products should be tasks");
        let plain = plain_walk(grads)?;
        assert_close(&["W", "b", "U", "V", "h0"], &scheduled, &plain, 1e-5);
        Ok(())
    }

    /// On the GPU the sums are built in place (a matmul's gradient with
    /// β = 1, a slice's in its block, a repeated use added into): the plain
    /// walk's gradients up to rounding, in fewer dispatches; and a gradient
    /// shared with the caller's seed is still never written into.
    #[test]
    fn gpu_sums_in_place_equal_the_plain_walks() -> Result<()> {
        if !kernels_gpu::gpu_ready_for_tests() {
            return Ok(());
        }
        let gpu = Device::Gpu;
        let (rows, i, o, steps) = (12, 5, 7, 4);
        let grads = || -> Result<(Vec<Vec<f32>>, u64)> {
            let (w, b, u) = (
                param_on(&gpu, &[o, i], 0.2),
                param_on(&gpu, &[o], 0.3),
                param_on(&gpu, &[o, o], 0.4),
            );
            let h0 = param_on(&gpu, &[rows, i], 0.1);
            let mut h = h0.clone();
            let mut loss = w.sum_all()?.mul_scalar(0.5)?;
            for _ in 0..steps {
                let y = h
                    .linear(&w, &b)?
                    .tanh()?
                    .matmul_t(&u, false, true)?
                    .tanh()?;
                loss = loss.add(&y.narrow(1, 2, 3)?.sum_all()?)?;
                h = y.narrow(1, 0, i)?;
            }
            let before = kernels_gpu::thread_dispatches();
            loss.backward()?;
            let spent = kernels_gpu::thread_dispatches() - before;
            Ok((grads_of(&[w, b, u, h0]), spent))
        };
        let (scheduled, fewer) = grads()?;
        let (plain, more) = plain_walk(grads)?;
        assert_close(&["W", "b", "U", "h0"], &scheduled, &plain, 1e-5);
        assert!(fewer < more, "in place: {fewer} dispatches, plain: {more}");

        let x = param_on(&gpu, &[2, 3], 0.0);
        let h = x.mul_scalar(1.0)?;
        let y = h.reshape([6])?.add(&h.mul_scalar(10.0)?.reshape([6])?)?;
        let seed = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [6], &gpu)?;
        y.backward_with(seed.clone())?;
        assert_eq!(seed.to_vec(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(
            x.grad().unwrap().to_vec(),
            [11.0, 22.0, 33.0, 44.0, 55.0, 66.0]
        );
        Ok(())
    }
}
