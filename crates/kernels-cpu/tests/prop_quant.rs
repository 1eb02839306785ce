//! The int8 linear layer (`quant/`) against the reference, under every ISA.
//!
//! Every kernel (AVX-512 VNNI, AVX2, portable) must give the reference's
//! bits: the integer part is exact and the rescale follows the same f32
//! operations. Separately, the reference itself must stay within the
//! quantization error bound of docs/kernels/int8.md of the f32 product.

mod common;

use common::*;
use kernels_cpu::{self as k, reference as r, Int8Kernel, Isa, QuantizedMatrix};
use proptest::prelude::*;

/// Equal bits, or both NaN (a NaN's payload may differ between paths).
#[track_caller]
fn assert_same(what: &str, isa: Isa, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what} [{isa:?}]: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            g == w || (g.is_nan() && w.is_nan()),
            "{what} [{isa:?} -> {:?}]: element {i} (of {}): got {g:e}, want {w:e}",
            k::int8_kernel(),
            got.len()
        );
    }
}

/// `linear_int8` with y poisoned first (it must write every element).
fn run(x: &[f32], m: usize, w: &QuantizedMatrix, bias: Option<&[f32]>) -> Vec<f32> {
    let mut y = vec![f32::NAN; m * w.rows()];
    k::linear_int8(x, m, w, bias, &mut y);
    y
}

/// A size biased towards the kernels' edges: 1, primes, and the neighbours
/// of the tile sizes (4 inputs per group, 16 outputs per panel, 4 panels and
/// 6 rows per VNNI tile, 8 columns and 4 rows per AVX2 tile).
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => dim0(),
        1 => prop::sample::select(vec![63usize, 64, 65, 127, 128, 129, 257]),
        1 => 90usize..300,
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn linear_int8_matches_reference(
        (m, n, kk) in (size(), size(), size()),
        with_bias in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let x = det_floats(m * kk, seed, -3.0, 3.0);
        let w = det_floats(n * kk, seed ^ 1, -0.5, 0.5);
        let bias = det_floats(n, seed ^ 2, -1.0, 1.0);
        let bias = with_bias.then_some(&bias[..]);
        let mut want = vec![0.0; m * n];
        r::linear_int8(&x, m, kk, &w, n, bias, &mut want);
        let q = QuantizedMatrix::quantize(&w, n, kk);
        each_isa(|isa| {
            let got = run(&x, m, &q, bias);
            assert_same(&format!("linear_int8 m={m} n={n} k={kk} bias={with_bias}"), isa, &got, &want);
        });
    }

    /// Quantized weights and scales are the reference's, and each weight is
    /// within half a step of its f32 value (up to f32 rounding).
    #[test]
    fn weights_quantize_as_reference((n, kk) in (size(), size()), seed in any::<u64>()) {
        let w = det_floats(n * kk, seed, -2.0, 2.0);
        let q = QuantizedMatrix::quantize(&w, n, kk);
        let back = q.dequantize();
        for j in 0..n {
            let (want, scale) = r::quantize_row(&w[j * kk..][..kk]);
            prop_assert_eq!(q.scales()[j], scale);
            for c in 0..kk {
                prop_assert_eq!(q.get(j, c), want[c]);
                let err = (back[j * kk + c] - w[j * kk + c]).abs();
                // Half a step, plus the f32 rounding of w · 127 / max and of sw · qw.
                let tol = 0.5 * scale + 4.0 * f32::EPSILON * w[j * kk + c].abs().max(scale);
                prop_assert!(err <= tol, "row {} col {}: error {} > half step {}", j, c, err, tol);
            }
        }
    }

    /// The error bound of docs/kernels/int8.md: with X̂ = sx·qx and Ŵ = sw·qw,
    /// |x·w − X̂·Ŵ| ≤ Σ_p (sx/2 · |w_p| + sw/2 · (|x_p| + sx/2)), plus the
    /// f32 rounding of both computations.
    #[test]
    fn int8_error_is_within_the_bound((m, n, kk) in (dim(), dim(), size()), seed in any::<u64>()) {
        let x = det_floats(m * kk, seed, -3.0, 3.0);
        let w = det_floats(n * kk, seed ^ 1, -0.5, 0.5);
        let mut int8 = vec![0.0; m * n];
        r::linear_int8(&x, m, kk, &w, n, None, &mut int8);
        let mut exact = vec![0.0; m * n];
        r::sgemm(false, true, m, n, kk, 1.0, &x, kk, &w, kk, 0.0, &mut exact, n);
        for i in 0..m {
            let (_, sx) = r::quantize_row(&x[i * kk..][..kk]);
            for j in 0..n {
                let (_, sw) = r::quantize_row(&w[j * kk..][..kk]);
                let (xr, wr) = (&x[i * kk..][..kk], &w[j * kk..][..kk]);
                let quant: f64 = (0..kk)
                    .map(|p| {
                        let (xa, wa) = (xr[p].abs() as f64, wr[p].abs() as f64);
                        sx as f64 / 2.0 * wa + sw as f64 / 2.0 * (xa + sx as f64 / 2.0)
                    })
                    .sum();
                let mags: f64 = (0..kk).map(|p| (xr[p] * wr[p]).abs() as f64).sum();
                let rounding = 2.0 * (kk as f64 + 4.0) * f32::EPSILON as f64 * (mags + quant);
                let err = (int8[i * n + j] as f64 - exact[i * n + j] as f64).abs();
                prop_assert!(err <= quant + rounding + 1e-30, "({}, {}) of {}x{}x{}: error {} > bound {}", i, j, m, n, kk, err, quant + rounding);
            }
        }
    }
}

/// Forcing an ISA forces the matching int8 kernel, so `each_isa` reaches
/// every kernel the machine has.
#[test]
fn each_isa_selects_its_kernel() {
    let mut seen = Vec::new();
    each_isa(|isa| {
        let kernel = k::int8_kernel();
        let want = match isa {
            Isa::Portable => vec![Int8Kernel::Portable],
            Isa::Avx2Fma => vec![Int8Kernel::Avx2],
            Isa::Avx512 => vec![Int8Kernel::Avx512Vnni, Int8Kernel::Avx2],
        };
        assert!(want.contains(&kernel), "{isa:?} selected {kernel:?}");
        seen.push(kernel.name());
    });
    eprintln!("int8 kernels tested on this machine: {seen:?}");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512vnni")
        && std::arch::is_x86_feature_detected!("avx512bw")
    {
        assert!(seen.contains(&"avx512-vnni"), "VNNI CPU, but {seen:?}");
    }
}

/// A row with a NaN or an infinity gives a NaN output row; the other rows
/// are untouched by it. An all-zero row gives the bias.
#[test]
fn non_finite_and_zero_rows() {
    let (m, n, kk) = (4, 37, 19);
    let mut x = det_floats(m * kk, 7, -1.0, 1.0);
    x[3] = f32::NAN;
    x[kk + 5] = f32::INFINITY;
    x[2 * kk..3 * kk].fill(0.0);
    let w = det_floats(n * kk, 8, -1.0, 1.0);
    let bias = det_floats(n, 9, -1.0, 1.0);
    let q = QuantizedMatrix::quantize(&w, n, kk);
    let mut want = vec![0.0; m * n];
    r::linear_int8(&x, m, kk, &w, n, Some(&bias), &mut want);
    each_isa(|isa| {
        let y = run(&x, m, &q, Some(&bias));
        assert_same("non-finite rows", isa, &y, &want);
        assert!(y[..2 * n].iter().all(|v| v.is_nan()), "[{isa:?}] rows 0, 1");
        assert_eq!(&y[2 * n..3 * n], &bias[..], "[{isa:?}] zero row");
        assert!(y[3 * n..].iter().all(|v| v.is_finite()), "[{isa:?}] row 3");
    });
}

/// The largest activation (u8 255 after the shift) times the largest
/// weights, on a long row: no saturation anywhere (vpmaddubsw would
/// saturate here; the AVX2 kernel must not).
#[test]
fn extreme_values_do_not_saturate() {
    let (m, n, kk) = (3, 20, 1030);
    let x: Vec<f32> = (0..m * kk)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let w: Vec<f32> = (0..n * kk)
        .map(|i| if (i / kk) % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let q = QuantizedMatrix::quantize(&w, n, kk);
    let mut want = vec![0.0; m * n];
    r::linear_int8(&x, m, kk, &w, n, None, &mut want);
    each_isa(|isa| assert_same("extreme values", isa, &run(&x, m, &q, None), &want));
}
