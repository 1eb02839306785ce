//! Reference GEMM: the triple loop, accumulated in `f64`.

/// Element `(i, p)` of `op(A)` given A's storage.
fn at(x: &[f32], ld: usize, trans: bool, r: usize, c: usize) -> f64 {
    (if trans { x[c * ld + r] } else { x[r * ld + c] }) as f64
}

#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    for i in 0..m {
        for j in 0..n {
            // BLAS convention: alpha == 0 does not read A and B, beta == 0 does not read C.
            let ab = if alpha == 0.0 {
                0.0
            } else {
                let dot: f64 = (0..k)
                    .map(|p| at(a, lda, trans_a, i, p) * at(b, ldb, trans_b, p, j))
                    .sum();
                alpha as f64 * dot
            };
            let old = if beta == 0.0 {
                0.0
            } else {
                beta as f64 * c[i * ldc + j] as f64
            };
            c[i * ldc + j] = (ab + old) as f32;
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn sgemm_batched(
    batch: usize,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    stride_a: usize,
    b: &[f32],
    ldb: usize,
    stride_b: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    stride_c: usize,
) {
    for i in 0..batch {
        sgemm(
            trans_a,
            trans_b,
            m,
            n,
            k,
            alpha,
            &a[i * stride_a..],
            lda,
            &b[i * stride_b..],
            ldb,
            beta,
            &mut c[i * stride_c..],
            ldc,
        );
    }
}
