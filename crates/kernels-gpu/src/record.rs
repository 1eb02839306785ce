//! Recording dispatches and submitting them in batches.
//!
//! A dispatch costs ~20 µs on lavapipe inside a shared compute pass, ~80 µs
//! with a pass of its own and ~100 µs with a submit-and-wait, so launchers do
//! not submit: they append to one long-lived compute pass. The batch is
//! submitted when it reaches [`MAX_BATCH`] dispatches or when the host reads a
//! buffer back (the only point where the host waits).
//!
//! Each dispatch gets its small parameter block (sizes, strides, scalars) in a
//! 256-byte slot of one uniform buffer. The slots are staged on the host and
//! written with a single `write_buffer` just before the submit, which wgpu
//! orders before the batch's commands; the next batch may then reuse the same
//! uniform buffer because queue operations run in order.
//!
//! Binding convention, shared by every shader: `@binding(0)` is the parameter
//! block, then the inputs in order, then the outputs in order.

use crate::buffer::GpuBuffer;
use crate::context::GpuContext;
use crate::error::GpuError;
use crate::pipelines::PipelineKey;

/// Dispatches per submit. Large enough that submits are rare, small enough
/// that the GPU starts working while the host is still recording.
pub(crate) const MAX_BATCH: usize = 128;

/// Bytes of parameters one dispatch may have.
pub(crate) const PARAMS_BYTES: usize = 256;

pub(crate) struct Recorder {
    encoder: Option<wgpu::CommandEncoder>,
    pass: Option<wgpu::ComputePass<'static>>,
    /// Host copy of this batch's parameter slots.
    staged: Vec<u8>,
    slot_bytes: usize,
    params: wgpu::Buffer,
    dispatches: usize,
    /// While a `time_gpu` scope is open: the query set each new pass writes
    /// its begin and end timestamps to.
    pub(crate) timing: Option<TimedPasses>,
}

/// Timestamp pairs of the compute passes recorded inside `time_gpu`.
pub(crate) struct TimedPasses {
    pub query_set: wgpu::QuerySet,
    /// Passes that got a (begin, end) pair.
    pub used: u32,
    pub capacity: u32,
    /// More passes than pairs: the timing is incomplete.
    pub overflowed: bool,
}

impl Recorder {
    pub(crate) fn new(device: &wgpu::Device, limits: &wgpu::Limits) -> Self {
        let slot_bytes = PARAMS_BYTES.max(limits.min_uniform_buffer_offset_alignment as usize);
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("s2s dispatch parameters"),
            size: (slot_bytes * MAX_BATCH) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Recorder {
            encoder: None,
            pass: None,
            staged: Vec::with_capacity(slot_bytes * MAX_BATCH),
            slot_bytes,
            params,
            dispatches: 0,
            timing: None,
        }
    }

    pub(crate) fn encoder(&mut self, ctx: &GpuContext) -> &mut wgpu::CommandEncoder {
        self.encoder.get_or_insert_with(|| {
            ctx.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("s2s batch"),
                })
        })
    }

    fn pass(&mut self, ctx: &GpuContext) -> &mut wgpu::ComputePass<'static> {
        if self.pass.is_none() {
            self.encoder(ctx);
            let encoder = self.encoder.as_mut().unwrap();
            let timestamp_writes = match self.timing.as_mut() {
                Some(t) if t.used < t.capacity => {
                    t.used += 1;
                    Some(wgpu::ComputePassTimestampWrites {
                        query_set: &t.query_set,
                        beginning_of_pass_write_index: Some(2 * (t.used - 1)),
                        end_of_pass_write_index: Some(2 * t.used - 1),
                    })
                }
                Some(t) => {
                    t.overflowed = true;
                    None
                }
                None => None,
            };
            let pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("s2s kernels"),
                    timestamp_writes,
                })
                // The pass lives next to its encoder in this struct; we end it
                // (drop it) before touching the encoder again.
                .forget_lifetime();
            self.pass = Some(pass);
        }
        self.pass.as_mut().unwrap()
    }

    /// Ends the open compute pass, so that copies can be recorded.
    pub(crate) fn end_pass(&mut self) {
        self.pass = None;
    }

    /// Submits everything recorded so far; returns the submission to wait on.
    pub(crate) fn flush(&mut self, ctx: &GpuContext) -> Option<wgpu::SubmissionIndex> {
        self.end_pass();
        let encoder = self.encoder.take()?;
        if !self.staged.is_empty() {
            ctx.queue.write_buffer(&self.params, 0, &self.staged);
            crate::counters::up(self.staged.len());
        }
        let index = ctx.queue.submit([encoder.finish()]);
        crate::counters::submit();
        self.staged.clear();
        self.dispatches = 0;
        ctx.pool.release_pending();
        Some(index)
    }
}

/// A parameter block built word by word, matching a WGSL `struct Params` of
/// `u32`/`i32`/`f32` fields (and `vec4<u32>` arrays, see [`Params::u32x8`]).
#[derive(Default)]
pub(crate) struct Params {
    words: Vec<u32>,
}

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn u32(mut self, v: u32) -> Self {
        self.words.push(v);
        self
    }

    pub fn usize(self, v: usize) -> Self {
        self.u32(v as u32)
    }

    pub fn i32(self, v: i32) -> Self {
        self.u32(v as u32)
    }

    pub fn f32(self, v: f32) -> Self {
        self.u32(v.to_bits())
    }

    /// Eight u32 as two `vec4<u32>` (arrays in uniform memory need a 16-byte
    /// stride, so shapes and strides travel as `array<vec4<u32>, 2>`).
    /// Pads to a 16-byte boundary first, as WGSL aligns the array.
    pub fn u32x8(mut self, values: &[usize]) -> Self {
        while !self.words.len().is_multiple_of(4) {
            self.words.push(0);
        }
        for i in 0..8 {
            self.words.push(values.get(i).map_or(0, |&v| v as u32));
        }
        self
    }
}

/// Workgroup counts for `groups` workgroups laid out in 1-D. Past the
/// per-dimension limit (65 535) the grid wraps into y; shaders compute the
/// linear id as `wid.x + wid.y * nwg.x` and skip ids past their range.
pub(crate) fn grid(ctx: &GpuContext, groups: usize) -> [u32; 3] {
    let max = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let groups = groups.max(1);
    if groups <= max {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(max);
        [groups.div_ceil(y) as u32, y as u32, 1]
    }
}

/// Records one dispatch of `key` with the given parameters, inputs and
/// outputs (bound in that order after the parameter block).
pub(crate) fn dispatch(
    ctx: &GpuContext,
    key: &PipelineKey,
    params: Params,
    inputs: &[&GpuBuffer],
    outputs: &[&GpuBuffer],
    groups: [u32; 3],
) -> Result<(), GpuError> {
    // wgpu rejects a buffer bound writable twice, or both read and written in
    // one dispatch; say so in our words instead of letting validation panic.
    for (i, out) in outputs.iter().enumerate() {
        let clash = inputs
            .iter()
            .chain(&outputs[..i])
            .any(|b| GpuBuffer::same_buffer(b, out));
        if clash {
            return Err(GpuError::invalid(
                key.entry,
                "an output buffer is also bound as another input or output; \
                 GPU kernels do not run in place unless the launcher says so",
            ));
        }
    }
    if groups.contains(&0) {
        return Ok(()); // nothing to do (an empty tensor)
    }
    let compiled = ctx.pipelines.get(ctx, key);
    let mut bytes: Vec<u8> = bytemuck::cast_slice(&params.words).to_vec();
    assert!(
        bytes.len() <= PARAMS_BYTES,
        "{}: parameter block too large",
        key.entry
    );

    let mut rec = ctx.recorder.lock().unwrap();
    if rec.dispatches == MAX_BATCH {
        rec.flush(ctx);
    }
    let offset = rec.staged.len();
    bytes.resize(rec.slot_bytes, 0);
    rec.staged.extend_from_slice(&bytes);

    let mut entries = vec![wgpu::BindGroupEntry {
        binding: 0,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &rec.params,
            offset: offset as u64,
            size: wgpu::BufferSize::new(PARAMS_BYTES as u64),
        }),
    }];
    for (i, buffer) in inputs.iter().chain(outputs).enumerate() {
        entries.push(wgpu::BindGroupEntry {
            binding: 1 + i as u32,
            resource: buffer.binding(),
        });
    }
    crate::counters::bind_group();
    let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(key.entry),
        layout: &compiled.layout,
        entries: &entries,
    });

    let pass = rec.pass(ctx);
    pass.set_pipeline(&compiled.pipeline);
    pass.set_bind_group(0, &bind_group, &[]);
    pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
    crate::counters::dispatch(key.entry);
    rec.dispatches += 1;
    Ok(())
}

/// Copies `len` floats of `buffer` to the host, submitting pending work.
pub(crate) fn read_back(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    byte_offset: u64,
    len: usize,
) -> Result<Vec<f32>, GpuError> {
    let bytes = (len * 4) as u64;
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("s2s read-back"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let index = {
        let mut rec = ctx.recorder.lock().unwrap();
        rec.end_pass();
        rec.encoder(ctx)
            .copy_buffer_to_buffer(buffer, byte_offset, &staging, 0, bytes);
        rec.flush(ctx).expect("the encoder holds the copy")
    };

    map_and_read(ctx, &staging, index)
}

/// Waits for submission `index`, maps `staging` (a MAP_READ buffer the
/// submission copied into) and returns its contents as `T`s: the one way the
/// host reads anything back from the device, data and timestamps alike.
pub(crate) fn map_and_read<T: bytemuck::Pod>(
    ctx: &GpuContext,
    staging: &wgpu::Buffer,
    index: wgpu::SubmissionIndex,
) -> Result<Vec<T>, GpuError> {
    crate::counters::host_wait();
    crate::counters::down(staging.size() as usize);
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |result| {
        let _ = sender.send(result);
    });
    ctx.device
        .poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: None,
        })
        .map_err(|e| GpuError::ReadBack(e.to_string()))?;
    receiver
        .recv()
        .map_err(|e| GpuError::ReadBack(e.to_string()))?
        .map_err(|e| GpuError::ReadBack(e.to_string()))?;
    let data = {
        let view = staging
            .get_mapped_range(..)
            .map_err(|e| GpuError::ReadBack(e.to_string()))?;
        bytemuck::cast_slice::<u8, T>(&view).to_vec()
    };
    staging.unmap();
    Ok(data)
}
