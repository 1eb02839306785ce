//! Where a tensor's numbers live. Every op dispatches on the device of its
//! inputs (see `backend/mod.rs`); mixing devices in one op is an error.

use std::fmt;

/// A compute device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    /// Host memory; kernels from `kernels-cpu` (SIMD + rayon).
    #[default]
    Cpu,
    /// The process's wgpu device; kernels are the WGSL shaders of `kernels-gpu`.
    Gpu,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Gpu => write!(f, "gpu"),
        }
    }
}

impl Device {
    /// Ok when the GPU path can run here; otherwise the reason, naming what to
    /// install (a Vulkan driver) and the `--device cpu` alternative.
    pub fn gpu_available() -> crate::Result<()> {
        kernels_gpu::context()
            .map(|_| ())
            .map_err(crate::backend::gpu_err)
    }

    /// `--device auto`: a real GPU when there is one; the CPU when there is
    /// none or when the only adapter is a CPU emulation such as lavapipe
    /// (which computes correctly but slower than our CPU kernels).
    pub fn auto() -> Device {
        match kernels_gpu::context() {
            Ok(ctx) if !ctx.adapter().is_cpu_emulation => Device::Gpu,
            _ => Device::Cpu,
        }
    }

    /// Parses `cpu`, `gpu` or `auto`, checking that a requested GPU exists.
    pub fn parse_choice(choice: &str) -> crate::Result<Device> {
        match choice {
            "auto" => Ok(Device::auto()),
            "cpu" => Ok(Device::Cpu),
            "gpu" => Device::gpu_available().map(|_| Device::Gpu),
            other => Err(crate::Error::invalid(
                "--device",
                format!("unknown device {other:?}: expected auto, cpu or gpu"),
            )),
        }
    }
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            other => Err(format!("unknown device {other:?}: expected cpu or gpu")),
        }
    }
}
