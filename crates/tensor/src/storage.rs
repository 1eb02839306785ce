//! The buffer behind a tensor. Tensors share storage through an `Arc`, so a
//! reshape or a `detach` costs nothing; optimizers update parameters in place
//! through the lock.

use crate::Device;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A contiguous f32 buffer on one device.
pub enum Storage {
    Cpu(RwLock<Vec<f32>>),
}

impl Storage {
    pub fn cpu(data: Vec<f32>) -> Self {
        Storage::Cpu(RwLock::new(data))
    }

    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
        }
    }

    /// Read access to host data. A poisoned lock only means another thread
    /// panicked mid-write of *its own* result; the numbers are still f32s.
    pub fn cpu_read(&self) -> RwLockReadGuard<'_, Vec<f32>> {
        match self {
            Storage::Cpu(lock) => lock.read().unwrap_or_else(|e| e.into_inner()),
        }
    }

    pub fn cpu_write(&self) -> RwLockWriteGuard<'_, Vec<f32>> {
        match self {
            Storage::Cpu(lock) => lock.write().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Copies the numbers to the host (the one synchronisation point).
    pub fn to_vec(&self) -> Vec<f32> {
        match self {
            Storage::Cpu(_) => self.cpu_read().clone(),
        }
    }
}
