//! The process-wide GPU context: one adapter, one device, one queue.
//!
//! wgpu devices are expensive to create (the driver loads, shaders compile per
//! device), and buffers from one device cannot be used on another, so the
//! process owns exactly one, created the first time anything asks for it.
//! [`context`] returns it, or the reason there is none; that reason is computed
//! once and returned to every later caller too.

use std::sync::{Mutex, OnceLock};

use crate::buffer::BufferPool;
use crate::error::GpuError;
use crate::pipelines::PipelineCache;
use crate::record::Recorder;

/// A readable summary of one adapter, for `s2s devices` and for choosing a path.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterSummary {
    pub name: String,
    /// "Vulkan", "Metal", "Dx12", …
    pub backend: String,
    /// "DiscreteGpu", "IntegratedGpu", "Cpu" (lavapipe), …
    pub device_type: String,
    pub driver: String,
    /// True when the adapter is a CPU emulation such as lavapipe or WARP:
    /// correct, but its timings say nothing about GPU speed.
    pub is_cpu_emulation: bool,
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_storage_buffers_per_shader_stage: u32,
    pub timestamp_queries: bool,
    /// The adapter offers subgroup operations (`wgpu::Features::SUBGROUP`).
    pub subgroups: bool,
    /// The adapter offers 16-bit floats in shaders (`shader-f16`).
    pub shader_f16: bool,
    pub subgroup_min_size: u32,
    pub subgroup_max_size: u32,
}

impl AdapterSummary {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        AdapterSummary {
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            is_cpu_emulation: info.device_type == wgpu::DeviceType::Cpu,
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            timestamp_queries: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
            subgroups: adapter.features().contains(wgpu::Features::SUBGROUP),
            shader_f16: adapter.features().contains(wgpu::Features::SHADER_F16),
            subgroup_min_size: info.subgroup_min_size,
            subgroup_max_size: info.subgroup_max_size,
        }
    }
}

/// Everything the launchers need: the device, its queue, the buffer pool, the
/// pipeline cache and the command recorder that batches dispatches.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) limits: wgpu::Limits,
    features: wgpu::Features,
    summary: AdapterSummary,
    pub(crate) pool: BufferPool,
    pub(crate) pipelines: PipelineCache,
    pub(crate) recorder: Mutex<Recorder>,
}

impl GpuContext {
    /// The adapter this context runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// The device's limits (we request everything the adapter offers).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// True when the device was created with subgroup operations, so the row
    /// kernels reduce with them (`S2S_GPU_FEATURES=none` turns them off).
    pub fn has_subgroups(&self) -> bool {
        self.features.contains(wgpu::Features::SUBGROUP)
    }

    /// True when the device was created with `shader-f16`.
    pub fn has_f16(&self) -> bool {
        self.features.contains(wgpu::Features::SHADER_F16)
    }

    /// Submit every recorded dispatch and wait until the GPU has run them.
    /// Only benchmarks and tests need this: reading a buffer back already waits.
    pub fn synchronize(&self) {
        let submitted = self.recorder.lock().unwrap().flush(self);
        if let Some(index) = submitted {
            crate::counters::host_wait();
            let _ = self.device.poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: None,
            });
        }
    }
}

static CONTEXT: OnceLock<Result<GpuContext, GpuError>> = OnceLock::new();

/// The process-wide GPU context, created on first use.
pub fn context() -> Result<&'static GpuContext, GpuError> {
    match CONTEXT.get_or_init(create_context) {
        Ok(ctx) => Ok(ctx),
        Err(e) => Err(e.clone()),
    }
}

/// True when the process's adapter is a CPU emulation (lavapipe reports
/// `DeviceType::Cpu`); false when it is a real GPU or when there is none.
pub fn is_cpu_emulation() -> bool {
    context().is_ok_and(|ctx| ctx.summary.is_cpu_emulation)
}

/// Every adapter wgpu can see, best first as wgpu orders them; empty when
/// there is no driver. Does not create a device.
pub fn adapters() -> Vec<AdapterSummary> {
    let instance = new_instance();
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(AdapterSummary::of)
        .collect()
}

fn new_instance() -> wgpu::Instance {
    // `_from_env` honours WGPU_BACKEND, WGPU_DEBUG etc., handy for debugging.
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

fn create_context() -> Result<GpuContext, GpuError> {
    let instance = new_instance();
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    };
    let adapter = pollster::block_on(instance.request_adapter(&options)).map_err(|e| {
        GpuError::NoAdapter {
            detail: e.to_string(),
        }
    })?;
    let summary = AdapterSummary::of(&adapter);

    // Ask for every limit the adapter has: the defaults (e.g. 128 MiB storage
    // bindings, 8 storage buffers per stage) are lower than most drivers offer.
    // S2S_GPU_LIMITS=default asks for WebGPU's defaults instead, so that a
    // test run proves every kernel fits any conforming device.
    let limits = match std::env::var("S2S_GPU_LIMITS").as_deref() {
        Ok("default") => wgpu::Limits::default(),
        Ok("adapter") | Err(_) => adapter.limits(),
        Ok(other) => {
            return Err(GpuError::DeviceRequest {
                adapter: summary.name.clone(),
                detail: format!("S2S_GPU_LIMITS={other}: expected `default` or `adapter`"),
            })
        }
    };
    // The shader features are taken where the adapter has them, so kernels
    // can pick their faster versions; S2S_GPU_FEATURES=none leaves them off,
    // so that a test run proves the portable versions on the same adapter.
    let shader_features = match std::env::var("S2S_GPU_FEATURES").as_deref() {
        Ok("none") => wgpu::Features::empty(),
        Ok("adapter") | Err(_) => wgpu::Features::SUBGROUP | wgpu::Features::SHADER_F16,
        Ok(other) => {
            return Err(GpuError::DeviceRequest {
                adapter: summary.name.clone(),
                detail: format!("S2S_GPU_FEATURES={other}: expected `none` or `adapter`"),
            })
        }
    };
    let features = adapter.features() & (wgpu::Features::TIMESTAMP_QUERY | shader_features);
    let descriptor = wgpu::DeviceDescriptor {
        label: Some("s2s"),
        required_features: features,
        required_limits: limits.clone(),
        ..Default::default()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&descriptor)).map_err(|e| {
        GpuError::DeviceRequest {
            adapter: summary.name.clone(),
            detail: e.to_string(),
        }
    })?;

    let recorder = Recorder::new(&device, &limits);
    Ok(GpuContext {
        device,
        queue,
        limits,
        features,
        summary,
        pool: BufferPool::new(),
        pipelines: PipelineCache::default(),
        recorder: Mutex::new(recorder),
    })
}
