//! `GpuBuffer`: an f32 storage buffer on the device, and the pool it returns to.
//!
//! Creating a wgpu buffer costs a driver allocation, and a training step
//! creates and drops hundreds of activations of the same few sizes, so freed
//! buffers go back to a pool keyed by *size class* and are handed out again.
//! Set `S2S_GPU_NO_POOL=1` to turn reuse off when hunting a bug.
//!
//! One subtlety makes reuse safe. `Queue::write_buffer` (our upload) runs
//! before the command buffer of the *next* submit, so a buffer dropped while
//! the current, not yet submitted, batch still reads it must not be uploaded
//! into until that batch is submitted. Dropped buffers therefore wait in a
//! `pending` list, which the recorder releases into `free` after each submit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::context::{context, GpuContext};
use crate::error::GpuError;

/// Smallest allocation: tiny buffers (scalars, counters) all share one class.
const MIN_CLASS_BYTES: u64 = 256;

/// The size class of a request: rounded up to a quarter of its power of two,
/// so at most 25% is wasted while sizes that differ a little still share.
pub(crate) fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(MIN_CLASS_BYTES);
    let octave = 63 - bytes.leading_zeros(); // floor(log2(bytes))
    let step = 1u64 << (octave - 2);
    bytes.div_ceil(step) * step
}

pub(crate) struct BufferPool {
    inner: Mutex<PoolLists>,
    reuse: bool,
}

#[derive(Default)]
struct PoolLists {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    pending: Vec<(u64, wgpu::Buffer)>,
}

impl BufferPool {
    pub(crate) fn new() -> Self {
        let disabled = std::env::var("S2S_GPU_NO_POOL").is_ok_and(|v| v == "1");
        BufferPool {
            inner: Mutex::default(),
            reuse: !disabled,
        }
    }

    fn take(&self, ctx: &GpuContext, class: u64) -> wgpu::Buffer {
        if let Some(buffer) = self
            .inner
            .lock()
            .unwrap()
            .free
            .get_mut(&class)
            .and_then(Vec::pop)
        {
            return buffer;
        }
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("s2s f32 storage"),
            size: class,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn give_back(&self, class: u64, buffer: wgpu::Buffer) {
        if self.reuse {
            self.inner.lock().unwrap().pending.push((class, buffer));
        }
        // Without reuse, dropping the handle frees it once the GPU is done.
    }

    /// Called by the recorder right after a submit: buffers dropped before it
    /// are now safe to upload into.
    pub(crate) fn release_pending(&self) {
        let mut lists = self.inner.lock().unwrap();
        let pending = std::mem::take(&mut lists.pending);
        for (class, buffer) in pending {
            lists.free.entry(class).or_default().push(buffer);
        }
    }

    /// Number of idle buffers (free or pending), for tests and diagnostics.
    pub(crate) fn idle_count(&self) -> usize {
        let lists = self.inner.lock().unwrap();
        lists.pending.len() + lists.free.values().map(Vec::len).sum::<usize>()
    }

    /// Idle buffers of one size class.
    pub(crate) fn idle_in_class(&self, class: u64) -> usize {
        let lists = self.inner.lock().unwrap();
        let pending = lists.pending.iter().filter(|(c, _)| *c == class).count();
        pending + lists.free.get(&class).map_or(0, Vec::len)
    }

    /// Frees every idle buffer (e.g. after evaluation, before training).
    pub(crate) fn trim(&self) {
        let mut lists = self.inner.lock().unwrap();
        lists.free.clear();
    }
}

/// An f32 storage buffer on the device, or a view of a range of one
/// ([`GpuBuffer::view`]). Cloning is cheap (an `Arc`); the memory goes back
/// to the pool when the last clone or view drops.
///
/// Launchers take `&GpuBuffer` for outputs too: the GPU writes them, the host
/// never does, so Rust's `&mut` would protect nothing here.
#[derive(Clone)]
pub struct GpuBuffer {
    inner: Arc<Allocation>,
    /// First element of the view, in floats (0 for a whole allocation).
    offset: usize,
    len: usize,
}

struct Allocation {
    ctx: &'static GpuContext,
    /// `Some` until drop hands it back to the pool.
    buffer: Option<wgpu::Buffer>,
    len: usize,
    class: u64,
}

impl Drop for Allocation {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            self.ctx.pool.give_back(self.class, buffer);
        }
    }
}

impl std::fmt::Debug for GpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            0 => write!(f, "GpuBuffer(len = {})", self.len),
            at => write!(f, "GpuBuffer(len = {}, view at {at})", self.len),
        }
    }
}

impl GpuBuffer {
    /// A buffer of `len` f32 whose contents are unspecified (possibly a
    /// previous user's data): for outputs a kernel overwrites entirely.
    pub fn uninit(len: usize) -> Result<Self, GpuError> {
        let ctx = context()?;
        let bytes = (len as u64) * 4;
        let class = allocation_size(ctx, bytes, len)?;
        let buffer = ctx.pool.take(ctx, class);
        Ok(GpuBuffer {
            inner: Arc::new(Allocation {
                ctx,
                buffer: Some(buffer),
                len,
                class,
            }),
            offset: 0,
            len,
        })
    }

    /// A buffer of `len` zeros.
    pub fn zeros(len: usize) -> Result<Self, GpuError> {
        Self::filled(len, 0.0)
    }

    /// A buffer of `len` copies of `value`, filled on the device.
    pub fn filled(len: usize, value: f32) -> Result<Self, GpuError> {
        let out = Self::uninit(len)?;
        crate::launch::elementwise::fill(&out, value)?;
        Ok(out)
    }

    /// Upload host data. The copy is staged now and lands on the device before
    /// any dispatch recorded after this call.
    pub fn from_slice(data: &[f32]) -> Result<Self, GpuError> {
        let out = Self::uninit(data.len())?;
        if !data.is_empty() {
            let ctx = out.inner.ctx;
            ctx.queue
                .write_buffer(out.raw(), 0, bytemuck::cast_slice(data));
            crate::counters::up(std::mem::size_of_val(data));
        }
        Ok(out)
    }

    /// Overwrite the buffer's first `data.len()` floats from the host. Work
    /// recorded so far is submitted first, so it still sees the old contents
    /// (an upload is staged to run before the *next* submit).
    pub fn write(&self, data: &[f32]) -> Result<(), GpuError> {
        if data.len() > self.len() {
            return Err(GpuError::invalid(
                "GpuBuffer::write",
                format!(
                    "{} floats do not fit in a buffer of {}",
                    data.len(),
                    self.len()
                ),
            ));
        }
        if data.is_empty() {
            return Ok(());
        }
        let ctx = self.inner.ctx;
        ctx.recorder.lock().unwrap().flush(ctx);
        ctx.queue
            .write_buffer(self.raw(), self.byte_offset(), bytemuck::cast_slice(data));
        crate::counters::up(std::mem::size_of_val(data));
        Ok(())
    }

    /// A new buffer holding a copy of this one (copied on the device).
    pub fn duplicate(&self) -> Result<GpuBuffer, GpuError> {
        let copy = GpuBuffer::uninit(self.len())?;
        crate::launch::strided_copy(self, &[self.len()], &[1], &copy)?;
        Ok(copy)
    }

    /// Read the buffer back: submits all recorded work and waits for it.
    /// This is the only place the host waits for the GPU.
    pub fn to_vec(&self) -> Result<Vec<f32>, GpuError> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        crate::record::read_back(self.inner.ctx, self.raw(), self.byte_offset(), self.len)
    }

    /// Number of f32 elements (of the view).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when both handles refer to the same device memory: the same
    /// allocation, whatever ranges of it they view. (wgpu tracks a buffer's
    /// use per buffer, not per range, so two views of one allocation may
    /// not be bound as one kernel's input and output.)
    pub fn same_buffer(a: &GpuBuffer, b: &GpuBuffer) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// Offsets of views, in floats, must be multiples of this: the
    /// adapter's `min_storage_buffer_offset_alignment` (256 bytes on most
    /// GPUs and in WebGPU's defaults, so 64 floats).
    pub fn view_alignment() -> Result<usize, GpuError> {
        let bytes = context()?.limits.min_storage_buffer_offset_alignment as usize;
        Ok(bytes.div_ceil(4).max(1))
    }

    /// The `len` floats from `offset` (relative to this view) as a buffer
    /// of their own, sharing this one's memory: writes through either are
    /// seen by both. Kernels bind exactly that range.
    pub fn view(&self, offset: usize, len: usize) -> Result<GpuBuffer, GpuError> {
        let align = Self::view_alignment()?;
        let at = self.offset + offset;
        if offset + len > self.len || !at.is_multiple_of(align) || len == 0 {
            return Err(GpuError::invalid(
                "GpuBuffer::view",
                format!(
                    "a view of {len} floats at {offset} of a buffer of {} (a view must be \
                     non-empty, inside the buffer and start at a multiple of {align} floats)",
                    self.len
                ),
            ));
        }
        Ok(GpuBuffer {
            inner: self.inner.clone(),
            offset: at,
            len,
        })
    }

    /// The whole allocation this buffer views.
    pub fn allocation(&self) -> GpuBuffer {
        GpuBuffer {
            inner: self.inner.clone(),
            offset: 0,
            len: self.inner.len,
        }
    }

    /// Where this view starts inside the allocation, in floats.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Copies `src` into this buffer with the queue's copy command (no
    /// kernel, no bind group): the way to gather many small buffers into
    /// one allocation. Both must have the same length and be different
    /// allocations (WebGPU does not copy a buffer into itself).
    pub fn copy_from(&self, src: &GpuBuffer) -> Result<(), GpuError> {
        if src.len != self.len || GpuBuffer::same_buffer(src, self) {
            return Err(GpuError::invalid(
                "GpuBuffer::copy_from",
                format!(
                    "copying {} floats into {} (lengths must match, allocations differ)",
                    src.len, self.len
                ),
            ));
        }
        if self.is_empty() {
            return Ok(());
        }
        let ctx = self.inner.ctx;
        let mut rec = ctx.recorder.lock().unwrap();
        rec.end_pass();
        rec.encoder(ctx).copy_buffer_to_buffer(
            src.raw(),
            src.byte_offset(),
            self.raw(),
            self.byte_offset(),
            (self.len * 4) as u64,
        );
        crate::counters::copy();
        Ok(())
    }

    /// The range kernels bind: exactly the view (a whole allocation binds
    /// whole, its size class included).
    pub(crate) fn binding(&self) -> wgpu::BindingResource<'_> {
        if self.offset == 0 && self.len == self.inner.len {
            return self.raw().as_entire_binding();
        }
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.raw(),
            offset: self.byte_offset(),
            size: wgpu::BufferSize::new((self.len * 4) as u64),
        })
    }

    fn byte_offset(&self) -> u64 {
        (self.offset * 4) as u64
    }

    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        self.inner
            .buffer
            .as_ref()
            .expect("a live GpuBuffer owns its buffer")
    }
}

/// Idle buffers held by the pool (for tests and the benchmark report).
pub fn pooled_buffer_count() -> usize {
    context().map_or(0, |ctx| ctx.pool.idle_count())
}

/// Idle pooled buffers that a request for `len` floats could reuse.
pub fn pooled_buffers_for_len(len: usize) -> usize {
    context().map_or(0, |ctx| ctx.pool.idle_in_class(size_class(len as u64 * 4)))
}

/// Release every idle pooled buffer back to the driver.
pub fn trim_pool() {
    if let Ok(ctx) = context() {
        ctx.pool.trim();
    }
}

/// The number of bytes to allocate for a request, or the limit it breaks.
fn allocation_size(ctx: &GpuContext, bytes: u64, elements: usize) -> Result<u64, GpuError> {
    let limits = [
        (
            ctx.limits.max_storage_buffer_binding_size,
            "max_storage_buffer_binding_size",
        ),
        (ctx.limits.max_buffer_size, "max_buffer_size"),
    ];
    let mut ceiling = u64::MAX;
    for (limit, limit_name) in limits {
        if bytes > limit {
            return Err(GpuError::BufferTooLarge {
                bytes,
                elements,
                limit,
                limit_name,
            });
        }
        ceiling = ceiling.min(limit);
    }
    // Near the limit, the rounded-up class may not fit while the request does.
    Ok(size_class(bytes).min(ceiling / 16 * 16).max(bytes))
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_waste_at_most_a_quarter() {
        assert_eq!(size_class(0), 256);
        assert_eq!(size_class(4), 256);
        assert_eq!(size_class(257), 320);
        assert_eq!(size_class(1 << 20), 1 << 20);
        for bytes in [300u64, 1000, 4097, 123_457, 9_999_999] {
            let class = size_class(bytes);
            assert!(class >= bytes && class as f64 <= bytes as f64 * 1.25 + 1.0);
            assert_eq!(class % 16, 0);
        }
    }
}
