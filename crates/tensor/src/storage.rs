//! The buffer behind a tensor. Tensors share storage through an `Arc`, so a
//! reshape or a `detach` costs nothing; optimizers update parameters in place
//! (through the lock on the CPU, through a read-write binding on the GPU).

use crate::{Device, Error, Result};
use kernels_gpu::GpuBuffer;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A contiguous f32 buffer on one device: the `Buf` of the CPU or the GPU
/// backend (backend/mod.rs).
pub enum Storage {
    Cpu(HostBuf),
    Gpu(GpuBuffer),
}

/// A host buffer. The lock lets an optimizer update a parameter in place
/// while tensors share it; the numbers go back to the buffer cache
/// (host_pool.rs) when the buffer is dropped.
pub struct HostBuf(RwLock<Vec<f32>>);

impl HostBuf {
    pub fn new(data: Vec<f32>) -> Self {
        HostBuf(RwLock::new(data))
    }

    /// A poisoned lock only means another thread panicked mid-write of
    /// *its own* result; the numbers here are whole.
    pub fn read(&self) -> RwLockReadGuard<'_, Vec<f32>> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Vec<f32>> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for HostBuf {
    fn drop(&mut self) {
        let data = self.0.get_mut().unwrap_or_else(|e| e.into_inner());
        crate::host_pool::give(std::mem::take(data));
    }
}

impl Storage {
    pub fn cpu(data: Vec<f32>) -> Self {
        Storage::Cpu(HostBuf::new(data))
    }

    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Gpu(_) => Device::Gpu,
        }
    }

    /// Read access to host data, for the few host-only checks outside the
    /// backends (index validation); a GPU storage here is a bug in the engine.
    pub fn cpu_read(&self) -> RwLockReadGuard<'_, Vec<f32>> {
        match self {
            Storage::Cpu(b) => b.read(),
            Storage::Gpu(_) => panic!("internal error: host access to a GPU storage"),
        }
    }

    /// The GPU buffer, or an error when the storage is on the host.
    pub fn gpu(&self) -> Result<&GpuBuffer> {
        match self {
            Storage::Gpu(b) => Ok(b),
            Storage::Cpu(_) => Err(Error::invalid(
                "gpu storage",
                "internal error: a host storage reached a GPU kernel",
            )),
        }
    }

    /// Copies the numbers to the host (the one synchronisation point).
    pub fn try_to_vec(&self) -> Result<Vec<f32>> {
        match self {
            Storage::Cpu(b) => Ok(b.read().clone()),
            Storage::Gpu(b) => b.to_vec().map_err(crate::backend::gpu_err),
        }
    }

    /// Like `try_to_vec`; a failed GPU read-back (a lost device) panics with its reason.
    pub fn to_vec(&self) -> Vec<f32> {
        self.try_to_vec()
            .unwrap_or_else(|e| panic!("reading a tensor back to the host failed: {e}"))
    }
}
