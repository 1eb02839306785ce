//! A parameter arena: every parameter of a model in one GPU allocation, so
//! that an optimizer step is one kernel over all of them instead of one per
//! parameter (a Transformer has about a hundred).
//!
//! [`pack_parameters`] moves the parameters into the arena: each becomes a
//! view of its own range, starting at a multiple of the adapter's offset
//! alignment, the gaps between ranges zero. An optimizer that finds its
//! parameters laid out this way ([`Arena::of`]) keeps its moments in arenas
//! of the same layout, gathers the gradients into a gradient arena with one
//! copy command each (no kernel), and updates everything in one dispatch.
//! The update of each element is the same arithmetic as the per-parameter
//! kernel's, so the results are bit-identical; the gaps stay zero (a zero
//! gradient, moment and weight is a fixed point of Adam and SGD).
//!
//! On the host nothing changes: the CPU kernels gain nothing from one
//! allocation, and a parameter there is not packed.

use crate::storage::Storage;
use crate::{backend, Device, Error, Result, Tensor, TensorId};
use kernels_gpu::GpuBuffer;
use std::collections::HashMap;
use std::sync::Arc;

/// Moves the parameters in `slots` into one GPU allocation, replacing each
/// slot with a view of its range (values, shapes and `requires_grad` kept; a
/// tensor in several slots, as tied weights are, stays one tensor). Slots on
/// the host are left as they are. Packing forgets gradients, so it belongs
/// before training starts.
pub fn pack_parameters(mut slots: Vec<&mut Tensor>) -> Result<()> {
    let on_gpu = !slots.is_empty() && slots.iter().all(|t| t.device() == Device::Gpu);
    if !on_gpu {
        return Ok(());
    }
    let align = GpuBuffer::view_alignment().map_err(backend::gpu_err)?;
    let mut starts: HashMap<TensorId, usize> = HashMap::new();
    let mut end = 0;
    for t in slots.iter().filter(|t| t.numel() > 0) {
        starts.entry(t.id()).or_insert_with(|| {
            let start = end;
            end = (start + t.numel()).next_multiple_of(align);
            start
        });
    }
    if end == 0 {
        return Ok(());
    }
    let arena = GpuBuffer::zeros(end).map_err(backend::gpu_err)?;
    let mut packed: HashMap<TensorId, Tensor> = HashMap::new();
    for slot in slots.iter_mut() {
        let Some(&start) = starts.get(&slot.id()) else {
            continue;
        };
        let moved = match packed.get(&slot.id()) {
            Some(moved) => moved.clone(),
            None => {
                let view = arena.view(start, slot.numel()).map_err(backend::gpu_err)?;
                view.copy_from(slot.storage().gpu()?)
                    .map_err(backend::gpu_err)?;
                let t = Tensor::from_storage(Arc::new(Storage::Gpu(view)), slot.shape().clone());
                let t = if slot.requires_grad() {
                    t.requires_grad_()
                } else {
                    t
                };
                packed.insert(slot.id(), t.clone());
                t
            }
        };
        **slot = moved;
    }
    Ok(())
}

/// The layout of parameters packed by [`pack_parameters`], as an optimizer
/// sees it: the whole arena and each parameter's range.
pub(crate) struct Arena {
    params: GpuBuffer,
    ranges: Vec<(usize, usize)>,
}

impl Arena {
    /// The arena `params` fill exactly (each range once, in any order, with
    /// only alignment gaps between them), or `None`: parameters that are not
    /// all views of one allocation, or that share it with others an update
    /// over the whole allocation would touch.
    pub(crate) fn of(params: &[Tensor]) -> Option<Arena> {
        let buffers: Vec<&GpuBuffer> = params
            .iter()
            .map(|p| p.storage().gpu().ok())
            .collect::<Option<_>>()?;
        let whole = buffers.first()?.allocation();
        if buffers.iter().any(|b| !GpuBuffer::same_buffer(b, &whole)) {
            return None;
        }
        let align = GpuBuffer::view_alignment().ok()?;
        let ranges: Vec<(usize, usize)> = buffers.iter().map(|b| (b.offset(), b.len())).collect();
        let mut sorted = ranges.clone();
        sorted.sort_unstable();
        let mut expected = 0;
        for &(start, len) in &sorted {
            if start != expected || len == 0 {
                return None;
            }
            expected = (start + len).next_multiple_of(align);
        }
        (expected == whole.len()).then_some(Arena {
            params: whole,
            ranges,
        })
    }

    /// A zeroed arena of the same layout (for gradients and moments).
    pub(crate) fn zeros_like(&self) -> Result<GpuBuffer> {
        GpuBuffer::zeros(self.params.len()).map_err(backend::gpu_err)
    }

    /// Parameter `i`'s range of `arena` as a tensor shaped like `like`.
    pub(crate) fn slot(&self, arena: &GpuBuffer, i: usize, like: &Tensor) -> Result<Tensor> {
        let (start, len) = self.ranges[i];
        let view = arena.view(start, len).map_err(backend::gpu_err)?;
        Ok(Tensor::from_storage(
            Arc::new(Storage::Gpu(view)),
            like.shape().clone(),
        ))
    }

    /// Copies each parameter's gradient into its range of `grads`, or
    /// returns false (copying nothing) when some parameter has none: the
    /// update over the whole arena would then move it, where an optimizer
    /// must leave a parameter without a gradient alone.
    pub(crate) fn gather_grads(&self, params: &[Tensor], grads: &GpuBuffer) -> Result<bool> {
        let gs: Vec<Tensor> = match params.iter().map(Tensor::grad).collect() {
            Some(gs) => gs,
            None => return Ok(false),
        };
        for (g, &(start, len)) in gs.iter().zip(&self.ranges) {
            let src = g.storage().gpu()?;
            if GpuBuffer::same_buffer(src, grads) && src.offset() == start && src.len() == len {
                continue; // already there (clipping left it in place)
            }
            if src.len() != len {
                return Err(Error::invalid(
                    "optimizer step",
                    format!(
                        "a gradient of {} floats for a parameter of {len}",
                        src.len()
                    ),
                ));
            }
            let dst = grads.view(start, len).map_err(backend::gpu_err)?;
            dst.copy_from(src).map_err(backend::gpu_err)?;
        }
        Ok(true)
    }

    /// The whole parameter arena as one storage, for the update kernel.
    pub(crate) fn params(&self) -> Storage {
        Storage::Gpu(self.params.clone())
    }
}

#[cfg(test)]
mod tests_support {
    use crate::{Device, Tensor};

    /// Parameters of awkward sizes (1, primes, more than one alignment
    /// block) with smooth, distinct values.
    pub fn params(device: &Device) -> Vec<Tensor> {
        [vec![1], vec![7, 3], vec![130], vec![2, 2, 5]]
            .into_iter()
            .enumerate()
            .map(|(k, dims)| {
                let n: usize = dims.iter().product();
                let data = (0..n).map(|i| ((i * 7 + k) as f32 * 0.3).sin()).collect();
                Tensor::from_vec(data, dims, device)
                    .unwrap()
                    .requires_grad_()
            })
            .collect()
    }

    pub fn grads_for(params: &[Tensor], step: usize) {
        for (k, p) in params.iter().enumerate() {
            let data = (0..p.numel())
                .map(|i| ((i + 3 * k + 11 * step) as f32 * 0.7).cos())
                .collect();
            let g = Tensor::from_vec(data, p.shape().clone(), &p.device()).unwrap();
            p.set_grad(Some(g));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;
    use crate::optim::{Adam, AdamConfig, Optimizer};

    #[test]
    fn packing_keeps_values_and_ties_in_one_allocation() -> Result<()> {
        if !kernels_gpu::gpu_ready_for_tests() {
            return Ok(());
        }
        let mut ps = params(&Device::Gpu);
        ps.push(ps[1].clone()); // a tied weight: two slots, one tensor
        let before: Vec<Vec<f32>> = ps.iter().map(Tensor::to_vec).collect();
        let mut slots = ps.clone();
        pack_parameters(slots.iter_mut().collect())?;
        for (t, want) in slots.iter().zip(&before) {
            assert_eq!(&t.to_vec(), want);
            assert!(t.requires_grad());
        }
        assert_eq!(
            slots[1].id(),
            slots[4].id(),
            "a tied weight stays one tensor"
        );
        let arena = Arena::of(&slots[..4]).expect("the packed parameters fill one arena");
        assert_eq!(arena.ranges.len(), 4);
        assert!(
            Arena::of(&slots[..3]).is_none(),
            "a subset must not update the rest"
        );
        assert!(
            Arena::of(&ps).is_none(),
            "unpacked parameters are separate buffers"
        );
        Ok(())
    }

    /// One dispatch over the arena gives bit for bit what one dispatch per
    /// parameter gives, with either weight decay; a parameter without a
    /// gradient falls back to the per-parameter path and is left alone; the
    /// moments round-trip through `state` / `load_state`.
    #[test]
    fn adam_over_an_arena_equals_adam_per_parameter() -> Result<()> {
        if !kernels_gpu::gpu_ready_for_tests() {
            return Ok(());
        }
        for config in [
            AdamConfig {
                weight_decay: 0.1,
                ..AdamConfig::default()
            },
            AdamConfig::adamw(3e-3),
        ] {
            let plain = params(&Device::Gpu);
            let mut packed = params(&Device::Gpu);
            pack_parameters(packed.iter_mut().collect())?;
            let mut each = Adam::new(plain.clone(), config.clone())?;
            let mut flat = Adam::new(packed.clone(), config.clone())?;
            assert!(flat.is_flat() && !each.is_flat());
            for step in 0..3 {
                grads_for(&plain, step);
                grads_for(&packed, step);
                each.step()?;
                let before = kernels_gpu::thread_dispatches();
                flat.step()?;
                let spent = kernels_gpu::thread_dispatches() - before;
                assert_eq!(spent, 1, "one kernel for the lot");
            }
            for (a, b) in plain.iter().zip(&packed) {
                assert_eq!(a.to_vec(), b.to_vec(), "{config:?}");
            }
            let state = flat.state();
            for ((_, a), (_, b)) in each.state().iter().zip(&state) {
                assert_eq!(a.to_vec(), b.to_vec());
            }

            // No gradient for parameter 2: it stays put, the rest move alike.
            grads_for(&plain, 3);
            grads_for(&packed, 3);
            plain[2].set_grad(None);
            packed[2].set_grad(None);
            let held = packed[2].to_vec();
            each.step()?;
            flat.step()?;
            assert_eq!(packed[2].to_vec(), held);
            for (a, b) in plain.iter().zip(&packed) {
                assert_eq!(a.to_vec(), b.to_vec());
            }

            let mut again = Adam::new(packed.clone(), config)?;
            again.load_state(&state, 3)?;
            for ((_, a), (_, b)) in again.state().iter().zip(&state) {
                assert_eq!(a.to_vec(), b.to_vec());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod clip_tests {
    use super::tests_support::*;
    use crate::optim::{clip_grad_norm, Adam, AdamConfig, Optimizer};
    use crate::{Device, Result};

    /// Clipping a packed model's gradients on the device gives the host's
    /// norm and the host's clipped update (to rounding: the sums run in
    /// another order), and leaves `grad()` holding the clipped values.
    #[test]
    fn adam_clips_its_arena_on_the_device_as_the_host_does() -> Result<()> {
        if !kernels_gpu::gpu_ready_for_tests() {
            return Ok(());
        }
        let plain = params(&Device::Gpu);
        let mut packed = params(&Device::Gpu);
        super::pack_parameters(packed.iter_mut().collect())?;
        let mut each = Adam::new(plain.clone(), AdamConfig::default())?;
        let mut flat = Adam::new(packed.clone(), AdamConfig::default())?;
        for (step, max_norm) in [(0, 0.5), (1, 100.0)] {
            grads_for(&plain, step);
            grads_for(&packed, step);
            let host = clip_grad_norm(each.params(), max_norm)?;
            let device = flat.clip_grad_norm(max_norm)?.item()?;
            assert!(
                (host - device).abs() <= 1e-5 * host,
                "norm {host} vs {device}"
            );
            for (a, b) in plain.iter().zip(&packed) {
                close(&a.grad().unwrap().to_vec(), &b.grad().unwrap().to_vec());
            }
            each.step()?;
            flat.step()?;
            for (a, b) in plain.iter().zip(&packed) {
                close(&a.to_vec(), &b.to_vec());
            }
        }
        Ok(())
    }

    fn close(a: &[f32], b: &[f32]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{x} vs {y}");
        }
    }
}
