//! The one error type of the GPU path.
//!
//! Every failure a caller can provoke (no adapter, a tensor too big for the
//! adapter, buffers of the wrong length, one buffer bound as both input and
//! output) is a `GpuError`, never a wgpu panic: the launchers check their
//! arguments before anything reaches wgpu's validation layer.

/// What to tell a user who has no usable adapter.
pub const INSTALL_HINT: &str = "install a Vulkan driver (on Debian/Ubuntu: \
`apt-get install mesa-vulkan-drivers`, which provides the lavapipe software driver), \
or run on the CPU with `--device cpu`";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    /// No adapter at all, or none that gives us a device.
    #[error("no usable GPU adapter ({detail}); {hint}", hint = INSTALL_HINT)]
    NoAdapter { detail: String },

    /// The adapter exists but refused to create a device.
    #[error("the GPU adapter `{adapter}` refused to create a device: {detail}")]
    DeviceRequest { adapter: String, detail: String },

    /// A buffer larger than the adapter can bind or allocate.
    #[error(
        "a GPU buffer of {bytes} bytes ({elements} f32 elements) exceeds the adapter's \
         {limit_name} of {limit} bytes"
    )]
    BufferTooLarge {
        bytes: u64,
        elements: usize,
        limit: u64,
        limit_name: &'static str,
    },

    /// A launcher was given buffers or sizes that do not fit together.
    #[error("{op}: {detail}")]
    InvalidArgument { op: &'static str, detail: String },

    /// Mapping a buffer for read-back failed (device lost, usually).
    #[error("reading a GPU buffer back failed: {0}")]
    ReadBack(String),
}

impl GpuError {
    /// Shorthand used by the launchers' argument checks.
    pub(crate) fn invalid(op: &'static str, detail: impl Into<String>) -> Self {
        GpuError::InvalidArgument {
            op,
            detail: detail.into(),
        }
    }
}
