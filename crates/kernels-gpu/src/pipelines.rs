//! The WGSL sources and the cache of compiled compute pipelines.
//!
//! Each kernel family is one file under `shaders/`, compiled into the binary
//! with `include_str!`; the families that draw random numbers get
//! `counter_rng.wgsl` appended, so the generator is written once. A pipeline is (module, entry point, override
//! constants); compiling one costs the driver from milliseconds to hundreds of
//! milliseconds (lavapipe JIT-compiles to machine code), so each is built once
//! per process and cached under exactly that key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::context::GpuContext;

/// One WGSL file: a family of kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shader {
    Elementwise,
    Binary,
    Movement,
    Reduce,
    Softmax,
    LayerNorm,
    CrossEntropy,
    Index,
    Matmul,
    Optim,
    Random,
    Attention,
    AttentionBlocked,
    GruCell,
    LstmCell,
    Additive,
    TopK,
}

impl Shader {
    pub const ALL: [Shader; 17] = [
        Shader::Elementwise,
        Shader::Binary,
        Shader::Movement,
        Shader::Reduce,
        Shader::Softmax,
        Shader::LayerNorm,
        Shader::CrossEntropy,
        Shader::Index,
        Shader::Matmul,
        Shader::Optim,
        Shader::Random,
        Shader::Attention,
        Shader::AttentionBlocked,
        Shader::GruCell,
        Shader::LstmCell,
        Shader::Additive,
        Shader::TopK,
    ];

    /// The file name under `shaders/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Shader::Elementwise => "elementwise.wgsl",
            Shader::Binary => "binary.wgsl",
            Shader::Movement => "movement.wgsl",
            Shader::Reduce => "reduce.wgsl",
            Shader::Softmax => "softmax.wgsl",
            Shader::LayerNorm => "layer_norm.wgsl",
            Shader::CrossEntropy => "cross_entropy.wgsl",
            Shader::Index => "index.wgsl",
            Shader::Matmul => "matmul.wgsl",
            Shader::Optim => "optim.wgsl",
            Shader::Random => "random.wgsl",
            Shader::Attention => "attention.wgsl",
            Shader::AttentionBlocked => "attention_blocked.wgsl",
            Shader::GruCell => "gru_cell.wgsl",
            Shader::LstmCell => "lstm_cell.wgsl",
            Shader::Additive => "additive.wgsl",
            Shader::TopK => "topk.wgsl",
        }
    }

    /// The WGSL source, embedded at compile time.
    pub fn source(self) -> &'static str {
        match self {
            Shader::Elementwise => include_str!("../../../shaders/elementwise.wgsl"),
            Shader::Binary => include_str!("../../../shaders/binary.wgsl"),
            Shader::Movement => include_str!("../../../shaders/movement.wgsl"),
            Shader::Reduce => include_str!("../../../shaders/reduce.wgsl"),
            Shader::Softmax => include_str!("../../../shaders/softmax.wgsl"),
            Shader::LayerNorm => include_str!("../../../shaders/layer_norm.wgsl"),
            Shader::CrossEntropy => include_str!("../../../shaders/cross_entropy.wgsl"),
            Shader::Index => include_str!("../../../shaders/index.wgsl"),
            Shader::Matmul => include_str!("../../../shaders/matmul.wgsl"),
            Shader::Optim => include_str!("../../../shaders/optim.wgsl"),
            Shader::Random => concat!(
                include_str!("../../../shaders/random.wgsl"),
                include_str!("../../../shaders/counter_rng.wgsl")
            ),
            Shader::Attention => include_str!("../../../shaders/attention.wgsl"),
            Shader::AttentionBlocked => concat!(
                include_str!("../../../shaders/attention_blocked.wgsl"),
                include_str!("../../../shaders/counter_rng.wgsl")
            ),
            Shader::GruCell => include_str!("../../../shaders/gru_cell.wgsl"),
            Shader::LstmCell => include_str!("../../../shaders/lstm_cell.wgsl"),
            Shader::Additive => include_str!("../../../shaders/additive.wgsl"),
            Shader::TopK => include_str!("../../../shaders/topk.wgsl"),
        }
    }
}

/// Identifies one compiled pipeline. Override constants are kept as
/// (name, value) pairs with the value's bits, so the key is hashable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PipelineKey {
    pub shader: Shader,
    pub entry: &'static str,
    pub constants: Vec<(&'static str, u64)>,
}

impl PipelineKey {
    pub fn new(shader: Shader, entry: &'static str) -> Self {
        PipelineKey {
            shader,
            entry,
            constants: Vec::new(),
        }
    }

    /// Sets a WGSL `override` constant (all ours are integers: tile sizes and
    /// the unary op's number).
    pub fn constant(mut self, name: &'static str, value: u32) -> Self {
        self.constants.push((name, f64::from(value).to_bits()));
        self
    }
}

/// A compiled pipeline with its bind-group layout (derived from the shader).
pub(crate) struct Compiled {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

#[derive(Default)]
pub(crate) struct PipelineCache {
    modules: Mutex<HashMap<Shader, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<PipelineKey, Arc<Compiled>>>,
}

impl PipelineCache {
    pub fn get(&self, ctx: &GpuContext, key: &PipelineKey) -> Arc<Compiled> {
        if let Some(found) = self.pipelines.lock().unwrap().get(key) {
            return found.clone();
        }
        // Compile outside the map's lock: another thread may compile the same
        // key meanwhile, which only wastes a little time.
        let module = self.module(ctx, key.shader);
        let constants: Vec<(&str, f64)> = key
            .constants
            .iter()
            .map(|&(name, bits)| (name, f64::from_bits(bits)))
            .collect();
        let pipeline = ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(key.entry),
                layout: None, // derived from the shader's bindings
                module: &module,
                entry_point: Some(key.entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    // Every kernel writes its workgroup memory before reading it.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        let layout = pipeline.get_bind_group_layout(0);
        let compiled = Arc::new(Compiled { pipeline, layout });
        self.pipelines
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_insert(compiled)
            .clone()
    }

    fn module(&self, ctx: &GpuContext, shader: Shader) -> wgpu::ShaderModule {
        let mut modules = self.modules.lock().unwrap();
        modules
            .entry(shader)
            .or_insert_with(|| {
                ctx.device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(shader.file_name()),
                        source: wgpu::ShaderSource::Wgsl(shader.source().into()),
                    })
            })
            .clone()
    }
}
