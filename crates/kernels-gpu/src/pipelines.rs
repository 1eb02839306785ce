//! The WGSL sources and the cache of compiled compute pipelines.
//!
//! Each kernel family is one file under `shaders/`, compiled into the binary
//! with `include_str!`; the families that draw random numbers get
//! `counter_rng.wgsl` appended, so the generator is written once; the row
//! kernels (softmax, layer norm, cross-entropy) get their workgroup reductions
//! appended, a tree (`reduce_tree.wgsl`) or subgroup operations
//! (`reduce_subgroup.wgsl`) where the device has them. A pipeline is
//! (module, entry point, override constants); compiling one costs the driver from milliseconds to hundreds of
//! milliseconds (lavapipe JIT-compiles to machine code), so each is built once
//! per process and cached under exactly that key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::context::GpuContext;

/// A row-kernel file with the workgroup reductions it calls appended: the
/// tree in workgroup memory, or the subgroup version of the same functions.
macro_rules! with_tree {
    ($file:literal) => {
        concat!(
            include_str!(concat!("../../../shaders/", $file)),
            include_str!("../../../shaders/reduce_tree.wgsl")
        )
    };
}
macro_rules! with_subgroups {
    ($file:literal) => {
        concat!(
            include_str!(concat!("../../../shaders/", $file)),
            include_str!("../../../shaders/reduce_subgroup.wgsl")
        )
    };
}

/// One WGSL file (or, for the row kernels, a file and the reductions
/// appended to it): a family of kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shader {
    Elementwise,
    Binary,
    Movement,
    Reduce,
    Softmax,
    LayerNorm,
    CrossEntropy,
    /// The row kernels again, reducing with subgroup operations.
    SoftmaxSubgroup,
    LayerNormSubgroup,
    CrossEntropySubgroup,
    /// Linear with 16-bit weights, read from 32-bit words or (the
    /// `shader-f16` feature) as f16.
    LinearHalf,
    LinearHalfF16,
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
    pub const ALL: [Shader; 22] = [
        Shader::Elementwise,
        Shader::Binary,
        Shader::Movement,
        Shader::Reduce,
        Shader::Softmax,
        Shader::LayerNorm,
        Shader::CrossEntropy,
        Shader::SoftmaxSubgroup,
        Shader::LayerNormSubgroup,
        Shader::CrossEntropySubgroup,
        Shader::LinearHalf,
        Shader::LinearHalfF16,
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
            Shader::Softmax | Shader::SoftmaxSubgroup => "softmax.wgsl",
            Shader::LayerNorm | Shader::LayerNormSubgroup => "layer_norm.wgsl",
            Shader::CrossEntropy | Shader::CrossEntropySubgroup => "cross_entropy.wgsl",
            Shader::LinearHalf | Shader::LinearHalfF16 => "linear_half.wgsl",
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

    /// True for the modules that use subgroup operations: they compile only on
    /// a device created with `wgpu::Features::SUBGROUP`.
    pub fn needs_subgroups(self) -> bool {
        matches!(
            self,
            Shader::SoftmaxSubgroup | Shader::LayerNormSubgroup | Shader::CrossEntropySubgroup
        )
    }

    /// True for the modules that use 16-bit floats: they compile only on a
    /// device created with `wgpu::Features::SHADER_F16`.
    pub fn needs_f16(self) -> bool {
        self == Shader::LinearHalfF16
    }

    /// The version of a family this device runs: the row kernels reduce with
    /// subgroups where the device has them, 16-bit weights are read as f16
    /// where it has `shader-f16`; everything else has one version.
    pub(crate) fn for_device(self, ctx: &GpuContext) -> Shader {
        match self {
            Shader::Softmax if ctx.has_subgroups() => Shader::SoftmaxSubgroup,
            Shader::LayerNorm if ctx.has_subgroups() => Shader::LayerNormSubgroup,
            Shader::CrossEntropy if ctx.has_subgroups() => Shader::CrossEntropySubgroup,
            Shader::LinearHalf if ctx.has_f16() => Shader::LinearHalfF16,
            other => other,
        }
    }

    /// The WGSL source, embedded at compile time.
    pub fn source(self) -> &'static str {
        match self {
            Shader::Elementwise => include_str!("../../../shaders/elementwise.wgsl"),
            Shader::Binary => include_str!("../../../shaders/binary.wgsl"),
            Shader::Movement => include_str!("../../../shaders/movement.wgsl"),
            Shader::Reduce => include_str!("../../../shaders/reduce.wgsl"),
            Shader::Softmax => with_tree!("softmax.wgsl"),
            Shader::LayerNorm => with_tree!("layer_norm.wgsl"),
            Shader::CrossEntropy => with_tree!("cross_entropy.wgsl"),
            Shader::SoftmaxSubgroup => with_subgroups!("softmax.wgsl"),
            Shader::LayerNormSubgroup => with_subgroups!("layer_norm.wgsl"),
            Shader::CrossEntropySubgroup => with_subgroups!("cross_entropy.wgsl"),
            Shader::LinearHalf => concat!(
                include_str!("../../../shaders/linear_half.wgsl"),
                include_str!("../../../shaders/half_packed.wgsl")
            ),
            // `enable` must come before every declaration.
            Shader::LinearHalfF16 => concat!(
                "enable f16;\n",
                include_str!("../../../shaders/linear_half.wgsl"),
                include_str!("../../../shaders/half_native.wgsl")
            ),
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
