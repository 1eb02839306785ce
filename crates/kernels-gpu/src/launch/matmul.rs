//! Batched GEMM and its ladder of kernels (`shaders/matmul.wgsl`).

use super::{check_len, dummy};
use crate::buffer::GpuBuffer;
use crate::context::{context, GpuContext};
use crate::error::GpuError;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, Params};

/// The rungs of the matmul ladder, slowest first. See the shader's header for
/// what each changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatmulKernel {
    /// One invocation per output, straight from global memory.
    Naive,
    /// TILE × TILE tiles staged in workgroup memory.
    Tiled,
    /// 8 × 8 outputs per invocation from registers, scalar loads.
    Blocked,
    /// As `Blocked`, with vec4 loads (needs 4-aligned layouts).
    BlockedVec4,
    /// Shared-memory tiles of 64 × 64 outputs per workgroup, 4 × 4 per
    /// invocation from registers, coalesced loads in either layout: the
    /// rung for real GPUs.
    TiledBlocked,
}

impl MatmulKernel {
    pub const ALL: [MatmulKernel; 5] = [
        MatmulKernel::Naive,
        MatmulKernel::Tiled,
        MatmulKernel::Blocked,
        MatmulKernel::BlockedVec4,
        MatmulKernel::TiledBlocked,
    ];

    fn entry(self) -> &'static str {
        match self {
            MatmulKernel::Naive => "matmul_naive",
            MatmulKernel::Tiled => "matmul_tiled",
            MatmulKernel::Blocked => "matmul_blocked",
            MatmulKernel::BlockedVec4 => "matmul_blocked_vec4",
            MatmulKernel::TiledBlocked => "matmul_tiled_blocked",
        }
    }
}

/// Tile edge of `matmul_tiled` (16 × 16 = 256 invocations, 2 KiB of tiles).
const TILE: u32 = 16;
/// Invocations per workgroup side in `matmul_blocked*`; each does 8 × 8.
const BLOCK_WG: u32 = 8;
const BLOCK_OUT: u32 = 8 * BLOCK_WG;
/// Outputs per workgroup side in `matmul_tiled_blocked` (the shader's RB).
const TILED_BLOCK_OUT: u32 = 64;

/// Everything but the buffers of one (batched) GEMM call:
/// C_z = alpha · op(A_z) · op(B_z) + beta · C_z for z < batch, row-major,
/// op(A) m × k, op(B) k × n; A is stored k × m when `trans_a` (same for B);
/// matrix z of A starts at z · stride_a (0 broadcasts one matrix).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gemm {
    pub batch: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub lda: usize,
    pub stride_a: usize,
    pub ldb: usize,
    pub stride_b: usize,
    pub beta: f32,
    pub ldc: usize,
    pub stride_c: usize,
}

impl Gemm {
    /// Whether every vec4 load of `matmul_blocked_vec4` is aligned: the
    /// contiguous direction of each stored matrix, its leading dimension and
    /// its batch stride must all be multiples of 4.
    pub fn vec4_aligned(&self) -> bool {
        let a_run = if self.trans_a { self.m } else { self.k };
        let b_run = if self.trans_b { self.k } else { self.n };
        [
            a_run,
            self.lda,
            self.stride_a,
            b_run,
            self.ldb,
            self.stride_b,
        ]
        .iter()
        .all(|v| v.is_multiple_of(4))
    }

    /// The kernel to use on this adapter: on a CPU emulation shared-memory
    /// barriers are expensive and register blocking alone wins; on a real
    /// GPU, discrete or integrated, shared-memory tiles with register blocks.
    pub fn auto_kernel(&self, ctx: &GpuContext) -> MatmulKernel {
        if !ctx.adapter().is_cpu_emulation {
            MatmulKernel::TiledBlocked
        } else if self.vec4_aligned() {
            MatmulKernel::BlockedVec4
        } else {
            MatmulKernel::Blocked
        }
    }

    /// Elements a stored matrix spans: the start of the last matrix of the
    /// (two-level) batch + its last offset + 1.
    fn span(
        &self,
        split: &HeadSplit,
        (rows, cols, ld): (usize, usize, usize),
        (stride, head): (usize, usize),
    ) -> usize {
        if self.batch == 0 || rows == 0 || cols == 0 {
            return 0;
        }
        let seqs = self.batch / split.heads;
        (seqs - 1) * stride + (split.heads - 1) * head + (rows - 1) * ld + cols
    }
}

/// A two-level batch for [`sgemm_heads`]: the `batch` of a [`Gemm`] is
/// `seqs · heads` matrices, matrix `z = seq · heads + head` of A starting at
/// `seq · stride_a + head · head_a` (B and C alike). Attention's per-head
/// products read Q, K, V and write their outputs this way, each head a
/// column block of `[B, T, H·d]` or a matrix of `[B, H, L, S]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadSplit {
    pub heads: usize,
    pub head_a: usize,
    pub head_b: usize,
    pub head_c: usize,
}

impl HeadSplit {
    /// A plain batch: matrix z starts at z · stride.
    pub const NONE: HeadSplit = HeadSplit {
        heads: 1,
        head_a: 0,
        head_b: 0,
        head_c: 0,
    };

    /// Whether the head offsets of A and B keep vec4 loads aligned.
    fn vec4_aligned(&self) -> bool {
        self.head_a.is_multiple_of(4) && self.head_b.is_multiple_of(4)
    }
}

/// C = alpha · op(A) · op(B) + beta · C (one matrix), as `kernels_cpu::sgemm`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &GpuBuffer,
    lda: usize,
    b: &GpuBuffer,
    ldb: usize,
    beta: f32,
    c: &GpuBuffer,
    ldc: usize,
) -> Result<(), GpuError> {
    sgemm_batched(
        1, trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0,
    )
}

/// Strided batched GEMM, as `kernels_cpu::sgemm_batched`, with the kernel
/// chosen for the adapter.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_batched(
    batch: usize,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &GpuBuffer,
    lda: usize,
    stride_a: usize,
    b: &GpuBuffer,
    ldb: usize,
    stride_b: usize,
    beta: f32,
    c: &GpuBuffer,
    ldc: usize,
    stride_c: usize,
) -> Result<(), GpuError> {
    let gemm = Gemm {
        batch,
        trans_a,
        trans_b,
        m,
        n,
        k,
        alpha,
        lda,
        stride_a,
        ldb,
        stride_b,
        beta,
        ldc,
        stride_c,
    };
    let kernel = gemm.auto_kernel(context()?);
    gemm_with(kernel, &gemm, a, b, c)
}

/// The GEMM of `g` over the two-level batch of `split` (as
/// `kernels_cpu::sgemm_heads`), with the kernel chosen for the adapter.
pub fn sgemm_heads(
    g: &Gemm,
    split: HeadSplit,
    a: &GpuBuffer,
    b: &GpuBuffer,
    c: &GpuBuffer,
) -> Result<(), GpuError> {
    let kernel = match g.auto_kernel(context()?) {
        MatmulKernel::BlockedVec4 if !split.vec4_aligned() => MatmulKernel::Blocked,
        kernel => kernel,
    };
    gemm_heads_with(kernel, g, split, a, b, c)
}

/// [`sgemm_heads`] with a chosen rung (tests hold every rung to the reference).
pub fn gemm_heads_with(
    kernel: MatmulKernel,
    g: &Gemm,
    split: HeadSplit,
    a: &GpuBuffer,
    b: &GpuBuffer,
    c: &GpuBuffer,
) -> Result<(), GpuError> {
    run(kernel, g, split, (a, b), None, c)
}

/// `out = x Wᵀ + bias` (a Linear layer): `x` `[rows, in]`, `w` `[out, in]`,
/// `bias` `[out]`, in one dispatch, the bias added in the GEMM's store.
pub fn linear(
    x: &GpuBuffer,
    w: &GpuBuffer,
    bias: &GpuBuffer,
    [rows, out_f, in_f]: [usize; 3],
    out: &GpuBuffer,
) -> Result<(), GpuError> {
    check_len("linear", "bias", bias, out_f)?;
    let gemm = Gemm {
        batch: 1,
        trans_a: false,
        trans_b: true,
        m: rows,
        n: out_f,
        k: in_f,
        alpha: 1.0,
        lda: in_f,
        stride_a: 0,
        ldb: in_f,
        stride_b: 0,
        beta: 0.0,
        ldc: out_f,
        stride_c: 0,
    };
    let kernel = gemm.auto_kernel(context()?);
    run(kernel, &gemm, HeadSplit::NONE, (x, w), Some(bias), out)
}

/// Runs one GEMM with a chosen rung of the ladder (benchmarks and tests use
/// this to compare them). `BlockedVec4` on an unaligned layout is an error.
pub fn gemm_with(
    kernel: MatmulKernel,
    g: &Gemm,
    a: &GpuBuffer,
    b: &GpuBuffer,
    c: &GpuBuffer,
) -> Result<(), GpuError> {
    run(kernel, g, HeadSplit::NONE, (a, b), None, c)
}

/// The one launcher of every rung, with or without the bias epilogue.
fn run(
    kernel: MatmulKernel,
    g: &Gemm,
    split: HeadSplit,
    (a, b): (&GpuBuffer, &GpuBuffer),
    bias: Option<&GpuBuffer>,
    c: &GpuBuffer,
) -> Result<(), GpuError> {
    const OP: &str = "sgemm";
    let (a_rows, a_cols) = if g.trans_a { (g.k, g.m) } else { (g.m, g.k) };
    let (b_rows, b_cols) = if g.trans_b { (g.n, g.k) } else { (g.k, g.n) };
    if g.lda < a_cols || g.ldb < b_cols || g.ldc < g.n {
        return Err(GpuError::invalid(
            OP,
            format!(
                "leading dimensions lda={} ldb={} ldc={} are smaller than the rows they hold \
                 ({a_cols}, {b_cols}, {})",
                g.lda, g.ldb, g.ldc, g.n
            ),
        ));
    }
    if split.heads == 0 || !g.batch.is_multiple_of(split.heads) {
        return Err(GpuError::invalid(
            OP,
            format!(
                "a batch of {} does not split into heads of {}",
                g.batch, split.heads
            ),
        ));
    }
    if g.m == 0 || g.n == 0 || g.batch == 0 {
        return Ok(());
    }
    let s = &split;
    check_len(
        OP,
        "a",
        a,
        g.span(s, (a_rows, a_cols, g.lda), (g.stride_a, s.head_a)),
    )?;
    check_len(
        OP,
        "b",
        b,
        g.span(s, (b_rows, b_cols, g.ldb), (g.stride_b, s.head_b)),
    )?;
    check_len(
        OP,
        "c",
        c,
        g.span(s, (g.m, g.n, g.ldc), (g.stride_c, s.head_c)),
    )?;
    let largest = [a.len(), b.len(), c.len()].into_iter().max().unwrap_or(0);
    if largest > u32::MAX as usize {
        return Err(GpuError::invalid(OP, "matrices beyond 2^32 elements"));
    }
    if kernel == MatmulKernel::BlockedVec4 && !(g.vec4_aligned() && split.vec4_aligned()) {
        return Err(GpuError::invalid(
            OP,
            "matmul_blocked_vec4 needs the contiguous dimension, leading dimension, \
             batch stride and head offset of A and B to be multiples of 4",
        ));
    }
    let ctx = context()?;
    let max_z = ctx.limits.max_compute_workgroups_per_dimension as usize;
    if g.batch > max_z {
        return Err(GpuError::invalid(
            OP,
            format!(
                "batch {} exceeds the adapter's {max_z} workgroups per dimension",
                g.batch
            ),
        ));
    }
    let params = Params::new()
        .usize(g.m)
        .usize(g.n)
        .usize(g.k)
        .u32(g.trans_a as u32)
        .u32(g.trans_b as u32)
        .usize(g.lda)
        .usize(g.ldb)
        .usize(g.ldc)
        .usize(g.stride_a)
        .usize(g.stride_b)
        .usize(g.stride_c)
        .f32(g.alpha)
        .f32(g.beta)
        .u32(bias.is_some() as u32)
        .usize(split.heads)
        .usize(split.head_a)
        .usize(split.head_b)
        .usize(split.head_c);
    let bias = match bias {
        Some(bias) => bias.clone(),
        None => dummy()?,
    };
    let (key, per_group) = match kernel {
        MatmulKernel::Naive => (PipelineKey::new(Shader::Matmul, kernel.entry()), 16),
        MatmulKernel::Tiled => (
            PipelineKey::new(Shader::Matmul, kernel.entry()).constant("TILE", TILE),
            TILE,
        ),
        MatmulKernel::Blocked | MatmulKernel::BlockedVec4 => (
            PipelineKey::new(Shader::Matmul, kernel.entry())
                .constant("BX", BLOCK_WG)
                .constant("BY", BLOCK_WG),
            BLOCK_OUT,
        ),
        MatmulKernel::TiledBlocked => (
            PipelineKey::new(Shader::Matmul, kernel.entry()),
            TILED_BLOCK_OUT,
        ),
    };
    let groups = [
        (g.n as u32).div_ceil(per_group),
        (g.m as u32).div_ceil(per_group),
        g.batch as u32,
    ];
    let max_xy = ctx.limits.max_compute_workgroups_per_dimension;
    if groups[0] > max_xy || groups[1] > max_xy {
        return Err(GpuError::invalid(
            OP,
            format!("{}×{} output is too large for one dispatch", g.m, g.n),
        ));
    }
    dispatch(ctx, &key, params, &[a, b, &bias], &[c], groups)
}
