//! Which instruction set the fast kernels use.
//!
//! The choice is made once per process: the best ISA the CPU supports, unless the
//! environment variable `S2S_CPU_ISA=avx512|avx2|portable` asks for a lower one
//! (benchmarks use it to compare paths). Tests force each path on the current
//! thread with [`with_isa`].
//!
//! Every public kernel reads [`isa()`] exactly once, on the calling thread, and
//! passes the value down — rayon worker threads never consult the thread-local
//! override, so reading it there would silently undo `with_isa`.
//!
//! Invariant relied on by the SIMD code: the value returned by [`isa()`] is
//! always supported by the running CPU. A request for an unsupported ISA (from
//! the environment or `with_isa`) is lowered to the best supported one.

use std::cell::Cell;
use std::sync::OnceLock;

/// An instruction-set level for the fast kernels, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// 16-lane `zmm` registers (AVX-512F).
    Avx512,
    /// 8-lane `ymm` registers with fused multiply-add (AVX2 + FMA).
    Avx2Fma,
    /// Plain Rust written so that LLVM can auto-vectorise it; runs anywhere.
    Portable,
}

impl Isa {
    /// Parse the spelling used by `S2S_CPU_ISA`.
    pub fn from_name(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "avx512" | "avx512f" => Some(Isa::Avx512),
            "avx2" | "avx2fma" | "avx2+fma" => Some(Isa::Avx2Fma),
            "portable" | "scalar" | "generic" => Some(Isa::Portable),
            _ => None,
        }
    }

    /// True when the running CPU can execute this ISA's code path.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The best supported ISA that is not better than `self`.
    fn clamp_to_supported(self) -> Isa {
        let order = [Isa::Avx512, Isa::Avx2Fma, Isa::Portable];
        let start = order.iter().position(|&i| i == self).unwrap_or(0);
        order[start..]
            .iter()
            .copied()
            .find(|i| i.is_supported())
            .unwrap_or(Isa::Portable)
    }
}

/// Every ISA the running CPU supports, best first (always ends with `Portable`).
pub fn available_isas() -> Vec<Isa> {
    [Isa::Avx512, Isa::Avx2Fma, Isa::Portable]
        .into_iter()
        .filter(|i| i.is_supported())
        .collect()
}

static PROCESS_ISA: OnceLock<Isa> = OnceLock::new();

thread_local! {
    static OVERRIDE: Cell<Option<Isa>> = const { Cell::new(None) };
}

fn detect() -> Isa {
    let wanted = std::env::var("S2S_CPU_ISA")
        .ok()
        .and_then(|name| Isa::from_name(&name))
        .unwrap_or(Isa::Avx512);
    wanted.clamp_to_supported()
}

/// The ISA the kernels use on this thread right now.
pub fn isa() -> Isa {
    OVERRIDE
        .with(|o| o.get())
        .unwrap_or_else(|| *PROCESS_ISA.get_or_init(detect))
}

/// Run `f` with the kernels on this thread forced to `isa` (lowered to the best
/// supported level if the CPU lacks it). The previous setting is restored
/// afterwards, even if `f` panics.
pub fn with_isa<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Isa>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let previous = OVERRIDE.with(|o| o.replace(Some(isa.clamp_to_supported())));
    let _restore = Restore(previous);
    f()
}
