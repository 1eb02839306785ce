//! The buffer behind a tensor. Tensors share storage through an `Arc`, so a
//! reshape or a `detach` costs nothing; optimizers update parameters in place
//! (through the lock on the CPU, through a read-write binding on the GPU).

use crate::{Device, Error, Result};
use kernels_gpu::GpuBuffer;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A contiguous f32 buffer on one device.
pub enum Storage {
    Cpu(RwLock<Vec<f32>>),
    Gpu(GpuBuffer),
}

/// A host buffer goes back to the cache when its last tensor is dropped
/// (host_pool.rs).
impl Drop for Storage {
    fn drop(&mut self) {
        if let Storage::Cpu(lock) = self {
            let data = lock.get_mut().unwrap_or_else(|e| e.into_inner());
            crate::host_pool::give(std::mem::take(data));
        }
    }
}

impl Storage {
    pub fn cpu(data: Vec<f32>) -> Self {
        Storage::Cpu(RwLock::new(data))
    }

    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Gpu(_) => Device::Gpu,
        }
    }

    /// Read access to host data. Only the CPU arms of `backend` call this; a
    /// GPU storage here is a bug in the engine. A poisoned lock only means
    /// another thread panicked mid-write of *its own* result.
    pub fn cpu_read(&self) -> RwLockReadGuard<'_, Vec<f32>> {
        match self {
            Storage::Cpu(lock) => lock.read().unwrap_or_else(|e| e.into_inner()),
            Storage::Gpu(_) => panic!("internal error: host access to a GPU storage"),
        }
    }

    pub fn cpu_write(&self) -> RwLockWriteGuard<'_, Vec<f32>> {
        match self {
            Storage::Cpu(lock) => lock.write().unwrap_or_else(|e| e.into_inner()),
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
            Storage::Cpu(_) => Ok(self.cpu_read().clone()),
            Storage::Gpu(b) => b.to_vec().map_err(crate::backend::gpu_err),
        }
    }

    /// Like `try_to_vec`; a failed GPU read-back (a lost device) panics with its reason.
    pub fn to_vec(&self) -> Vec<f32> {
        self.try_to_vec()
            .unwrap_or_else(|e| panic!("reading a tensor back to the host failed: {e}"))
    }
}
