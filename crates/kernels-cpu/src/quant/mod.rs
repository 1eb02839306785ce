//! Int8 inference: `y = x Wᵀ + b` with W and x quantized to 8 bits.
//!
//! The scheme (docs/kernels/int8.md derives it and bounds its error):
//!
//! ```text
//!   weights, once:      sw_j = max_p |W_jp| / 127,   qw_jp = round(W_jp / sw_j)    ∈ [-127, 127]
//!   activations, per call, per row:
//!                       sx_i = max_p |x_ip| / 127,   qx_ip = round(x_ip / sx_i)    ∈ [-127, 127]
//!                       ux_ip = qx_ip + 128                                        ∈ [1, 255]  (u8)
//!   product:            acc_ij = Σ_p ux_ip · qw_jp                                 (i32)
//!                       Σ_p qx_ip · qw_jp = acc_ij − 128 · Σ_p qw_jp                (exact)
//!   output:             y_ij = (acc_ij − 128 · rowsum_j) · (sx_i · sw_j) + b_j     (f32)
//! ```
//!
//! Why the activations travel as u8: AVX-512 VNNI's `vpdpbusd` multiplies
//! *unsigned* bytes by *signed* bytes, four per 32-bit lane, and adds the four
//! products to the lane without saturating. Shifting the signed activations
//! by 128 makes them unsigned, and the shift is undone exactly by the weight
//! row sums computed once at quantization. The AVX2 path reads the same bytes,
//! widens both sides to 16 bits and multiplies pairs with `vpmaddwd` (exact;
//! `vpmaddubsw` would saturate its 16-bit pair sums at 2 · 255 · 127).
//!
//! Files:
//! * `weights.rs`: [`QuantizedMatrix`], quantizing and packing a weight;
//! * `activations.rs`: quantizing x at each call;
//! * this one: the choice of kernel, the blocks they compute and the split
//!   across rayon threads;
//! * `portable.rs`, `vnni.rs`, `avx2.rs`: one block kernel each, over the
//!   same packed weights; chosen at run time from [`isa()`](crate::isa())
//!   and the CPU's VNNI support ([`int8_kernel`]).
//!
//! Packed weight layout: output rows (the columns of `y`) in panels of
//! [`PANEL`] = 16; inside a panel, for each group of four input features `g`,
//! the 16 rows' four bytes side by side (64 bytes, one `zmm`):
//! `packed[panel][g][r][t] = qw[16·panel + r][4·g + t]`. The input dimension is
//! padded to a multiple of four and the rows to a multiple of 16 with zero
//! weights, so the kernels never test bounds inside the loop over k.
//!
//! Rounding is to nearest, ties to even, in the multiplication by
//! `127 / max|·|`; the reference (`reference::linear_int8`) uses the same
//! formula, so kernels and reference agree to the bit.

mod activations;
#[cfg(target_arch = "x86_64")]
mod avx2;
mod portable;
#[cfg(target_arch = "x86_64")]
mod vnni;
mod weights;

pub use weights::QuantizedMatrix;

use crate::isa::isa;
use crate::Isa;
use activations::{quantize_rows, QuantizedRows};
use rayon::prelude::*;

/// Output rows of W per packed panel (one `zmm` of i32 accumulators).
pub(crate) const PANEL: usize = 16;
/// Input features per group: the four bytes `vpdpbusd` sums per lane.
pub(crate) const GROUP: usize = 4;
/// The zero point that makes the activations unsigned.
pub(crate) const ZERO_POINT: i32 = 128;

/// The longest dot product whose u8 × s8 sum cannot overflow an i32:
/// 65536 · 255 · 127 < 2^31. [`QuantizedMatrix::quantize`] refuses wider
/// matrices.
pub const INT8_MAX_DEPTH: usize = 1 << 16;

/// Products with fewer multiply-adds than this stay on one thread.
const PAR_MACS: usize = 1 << 20;

/// Which int8 kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int8Kernel {
    /// `vpdpbusd` on `zmm` (AVX-512 VNNI + BW).
    Avx512Vnni,
    /// `vpmaddwd` on 16-bit widened bytes in `ymm` (AVX2).
    Avx2,
    /// Plain Rust.
    Portable,
}

impl Int8Kernel {
    pub fn name(self) -> &'static str {
        match self {
            Int8Kernel::Avx512Vnni => "avx512-vnni",
            Int8Kernel::Avx2 => "avx2",
            Int8Kernel::Portable => "portable",
        }
    }
}

/// The int8 kernel for the ISA this thread's kernels use ([`isa()`](crate::isa())):
/// VNNI when the ISA is AVX-512 and the CPU has VNNI, AVX2 under AVX-512 or
/// AVX2, else portable. Forcing an ISA with [`with_isa`](crate::with_isa)
/// therefore forces the matching int8 kernel.
pub fn int8_kernel() -> Int8Kernel {
    kernel_for(isa())
}

fn kernel_for(isa: Isa) -> Int8Kernel {
    #[cfg(target_arch = "x86_64")]
    match isa {
        Isa::Avx512 if vnni::supported() => Int8Kernel::Avx512Vnni,
        Isa::Avx512 | Isa::Avx2Fma if avx2::supported() => Int8Kernel::Avx2,
        _ => Int8Kernel::Portable,
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = isa;
        Int8Kernel::Portable
    }
}

/// One block of the product for a kernel: rows `rows` of the quantized
/// activations times panels `panels` of W, written into y.
pub(crate) struct Block<'a> {
    pub(crate) x: &'a QuantizedRows,
    pub(crate) rows: std::ops::Range<usize>,
    pub(crate) w: &'a QuantizedMatrix,
    pub(crate) panels: std::ops::Range<usize>,
    pub(crate) bias: Option<&'a [f32]>,
    /// `y` `[m, n]`, row-major with stride `n = w.rows`.
    pub(crate) y: YPtr,
}

impl Block<'_> {
    /// Row `i`'s quantized bytes (the whole depth).
    pub(crate) fn x_row(&self, i: usize) -> &[u8] {
        &self.x.data[i * self.x.depth..][..self.x.depth]
    }
    /// Panel `p` of the packed weights: `depth / 4` groups of 64 bytes.
    pub(crate) fn panel(&self, p: usize) -> &[i8] {
        let len = PANEL * self.w.depth;
        &self.w.packed[p * len..][..len]
    }
    /// Scales and row sums of panel `p`'s 16 rows (padded with zeros).
    pub(crate) fn panel_scales(&self, p: usize) -> (&[f32], &[i32]) {
        (
            &self.w.scales[p * PANEL..][..PANEL],
            &self.w.row_sums[p * PANEL..][..PANEL],
        )
    }
    /// How many of panel `p`'s 16 columns of y exist.
    pub(crate) fn panel_width(&self, p: usize) -> usize {
        PANEL.min(self.w.rows - p * PANEL)
    }
}

/// A pointer to y that may cross threads: blocks write disjoint tiles.
#[derive(Clone, Copy)]
pub(crate) struct YPtr(pub(crate) *mut f32);
// SAFETY: tasks write disjoint (row range x panel range) tiles of y.
unsafe impl Send for YPtr {}
// SAFETY: as above.
unsafe impl Sync for YPtr {}

/// The rescale of one output element, in the order the reference uses:
/// `(acc − 128 · rowsum) · (sx · sw) + b`.
#[inline(always)]
pub(crate) fn rescale(acc: i32, row_sum: i32, sx: f32, sw: f32, b: f32) -> f32 {
    ((acc - ZERO_POINT * row_sum) as f32) * (sx * sw) + b
}

/// `y = x Wᵀ + b` in int8: x `[m, w.cols()]` quantized per row on the fly,
/// `bias` `[w.rows()]` when given, y `[m, w.rows()]` overwritten.
pub fn linear_int8(x: &[f32], m: usize, w: &QuantizedMatrix, bias: Option<&[f32]>, y: &mut [f32]) {
    let (k, n) = (w.cols, w.rows);
    assert_eq!(
        x.len(),
        m * k,
        "linear_int8: x has {} floats, expected {m} x {k}",
        x.len()
    );
    assert_eq!(
        y.len(),
        m * n,
        "linear_int8: y has {} floats, expected {m} x {n}",
        y.len()
    );
    if let Some(b) = bias {
        assert_eq!(
            b.len(),
            n,
            "linear_int8: bias has {} floats, expected {n}",
            b.len()
        );
    }
    if m == 0 || n == 0 {
        return;
    }
    let kernel = int8_kernel();
    let xq = quantize_rows(isa(), x, m, k, w.depth);
    let yp = YPtr(y.as_mut_ptr());
    let run = |rows: std::ops::Range<usize>, panels: std::ops::Range<usize>| {
        let block = Block {
            x: &xq,
            rows,
            w,
            panels,
            bias,
            y: yp,
        };
        // SAFETY: the kernel's features were checked by `kernel_for`, the
        // block lies inside x, W and y, and blocks run at once are disjoint.
        unsafe {
            match kernel {
                #[cfg(target_arch = "x86_64")]
                Int8Kernel::Avx512Vnni => vnni::block(&block),
                #[cfg(target_arch = "x86_64")]
                Int8Kernel::Avx2 => avx2::block(&block),
                _ => portable::block(&block),
            }
        }
    };
    let panels = w.panels();
    let threads = crate::par::threads();
    if m * n * k < PAR_MACS || threads < 2 {
        run(0..m, 0..panels);
        return;
    }
    crate::par::keep_warm();
    // Columns first (decoding has few rows and many columns), in groups of
    // four panels (the VNNI tile's width); rows only when columns run out.
    let col_units = panels.div_ceil(4);
    let col_parts = threads.min(col_units);
    let row_parts = threads.div_ceil(col_parts).min(m.div_ceil(8)).max(1);
    let panels_per = col_units.div_ceil(col_parts) * 4;
    let rows_per = m.div_ceil(row_parts);
    let tasks: Vec<_> = (0..m)
        .step_by(rows_per)
        .flat_map(|r| (0..panels).step_by(panels_per).map(move |p| (r, p)))
        .collect();
    tasks.into_par_iter().for_each(|(r, p)| {
        run(r..(r + rows_per).min(m), p..(p + panels_per).min(panels));
    });
}
