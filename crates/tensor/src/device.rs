//! Where a tensor's numbers live. Every op dispatches on the device of its
//! inputs (see `backend.rs`); mixing devices in one op is an error.

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
