//! The 16-bit-weight Linear (`linear_half`) and its conversion against the
//! reference. Shared so that the same checks run with `shader-f16` (where
//! the adapter has it: tests/half.rs) and without (tests/features_off.rs).

use super::{assert_close, data, down, out, up};
use kernels_cpu::reference;
use kernels_gpu::{linear_half, HalfBuffer};

/// binary16 bits to f32, exactly (every half is an f32).
pub fn half_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}

/// The halves a HalfBuffer holds, decoded on the host.
pub fn decode(h: &HalfBuffer) -> Vec<f32> {
    let words = down(h.words());
    (0..h.len())
        .map(|e| {
            let word = words[e / 2].to_bits();
            half_to_f32(if e % 2 == 0 {
                word as u16
            } else {
                (word >> 16) as u16
            })
        })
        .collect()
}

/// Rounding to binary16 lands within one unit in the last place (2⁻¹⁰
/// relative, 2⁻²⁴ absolute near zero), zero stays zero, and ±65504 (the
/// largest half) is exact.
pub fn conversion() {
    let Some(_) = super::gpu() else { return };
    let mut x = data(1001, 11, -4.0, 4.0);
    x.extend([0.0, -0.0, 1.0, -1.0, 65504.0, -65504.0, 1e-6, 3.0e-5, 0.1]);
    let h = HalfBuffer::from_f32(&up(&x)).unwrap();
    assert_eq!(h.len(), x.len());
    let got = decode(&h);
    for (i, (&g, &w)) in got.iter().zip(&x).enumerate() {
        let tol = (w.abs() * 2f32.powi(-10)).max(2f32.powi(-24));
        assert!((g - w).abs() <= tol, "to_half element {i}: {w} became {g}");
    }
    assert_eq!(got[x.len() - 9..x.len() - 5], [0.0, 0.0, 1.0, -1.0]);
    assert_eq!(got[x.len() - 5..x.len() - 3], [65504.0, -65504.0]);
}

/// (m, n, k): one row (decoding), primes, and sizes on either side of the
/// 16-wide tile, with odd k so that rows of W straddle 32-bit words.
pub const SHAPES: [(usize, usize, usize); 7] = [
    (1, 1, 1),
    (1, 7, 13),
    (5, 31, 17),
    (16, 16, 16),
    (33, 64, 257),
    (17, 100, 3),
    (2, 515, 64),
];

/// y = x Wᵀ + b with W rounded to halves equals the f32 reference on the
/// rounded weights: the sums are f32, only the weights lost bits.
pub fn linear() {
    let Some(_) = super::gpu() else { return };
    for (m, n, k) in SHAPES {
        let x = data(m * k, (m * k) as u64, -1.0, 1.0);
        let w = data(n * k, 7 + (n * k) as u64, -1.0, 1.0);
        let bias = data(n, 3, -0.5, 0.5);
        let wh = HalfBuffer::from_f32(&up(&w)).unwrap();
        let rounded = decode(&wh);
        let gx = up(&x);
        for with_bias in [false, true] {
            let mut want = if with_bias {
                (0..m).flat_map(|_| bias.iter().copied()).collect()
            } else {
                vec![0.0; m * n]
            };
            let beta = if with_bias { 1.0 } else { 0.0 };
            reference::sgemm(
                false, true, m, n, k, 1.0, &x, k, &rounded, k, beta, &mut want, n,
            );
            let y = out(m * n);
            let gb = up(&bias);
            linear_half(&gx, &wh, with_bias.then_some(&gb), m, n, k, &y).unwrap();
            let what = format!("linear_half {m}x{n}x{k} bias={with_bias}");
            assert_close(&what, &down(&y), &want, 1e-5);
        }
    }
}

/// A weight buffer too short for n × k is refused with the sizes named.
pub fn refusal() {
    let Some(_) = super::gpu() else { return };
    let wh = HalfBuffer::from_f32(&up(&[1.0; 6])).unwrap();
    let err = linear_half(&up(&[1.0; 4]), &wh, None, 1, 2, 4, &out(2)).unwrap_err();
    assert!(err.to_string().contains("6 halves but 2 × 4"), "{err}");
}
