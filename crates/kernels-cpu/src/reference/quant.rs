//! Reference int8 linear layer: quantize, multiply in integers, rescale.
//!
//! The defining formulas of `quant/` (docs/kernels/int8.md), without packing,
//! zero points or SIMD:
//!
//! ```text
//!   s_r  = max_c |v_rc| / 127                  one scale per row
//!   q_rc = clamp(round_half_even(v_rc · 127 / max_c |v_rc|), -127, 127)
//!   y_ij = (Σ_p qx_ip · qw_jp) · (sx_i · sw_j) + b_j
//! ```
//!
//! The dot product is a plain signed one, accumulated in `i64`: the fast
//! kernels compute it as `u8 × s8` with a zero point of 128 and subtract
//! `128 · Σ_p qw_jp`, and the tests check that this changes nothing. The
//! rescale is written in f32 in the same order as the kernels (`(v · s) + b`,
//! no fused multiply-add), so both give the same bits.

/// The symmetric int8 quantization of one row: `(q, scale)` with
/// `row ≈ scale · q`. An all-zero row has scale 0 (and q = 0); a row with a
/// NaN or an infinity has scale NaN, so that everything computed from it is NaN.
pub fn quantize_row(row: &[f32]) -> (Vec<i8>, f32) {
    if row.iter().any(|v| !v.is_finite()) {
        return (vec![0; row.len()], f32::NAN);
    }
    let amax = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
    let q = row
        .iter()
        .map(|&v| (v * inv).round_ties_even().clamp(-127.0, 127.0) as i8)
        .collect();
    (q, amax / 127.0)
}

/// `y = x Wᵀ + b` through int8: x `[m, k]` quantized per row, W `[n, k]`
/// (stored `[out, in]`, as a Linear layer's weight) quantized per row,
/// b `[n]` when given, y `[m, n]`.
pub fn linear_int8(
    x: &[f32],
    m: usize,
    k: usize,
    w: &[f32],
    n: usize,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let wq: Vec<(Vec<i8>, f32)> = (0..n).map(|j| quantize_row(&w[j * k..][..k])).collect();
    for i in 0..m {
        let (xq, sx) = quantize_row(&x[i * k..][..k]);
        for (j, (wq, sw)) in wq.iter().enumerate() {
            let dot: i64 = xq.iter().zip(wq).map(|(&a, &b)| a as i64 * b as i64).sum();
            let scaled = (dot as i32 as f32) * (sx * sw);
            y[i * n + j] = scaled + bias.map_or(0.0, |b| b[j]);
        }
    }
}
