//! Shapes and strides for the strided kernels (binary ops, strided copy).

use crate::error::GpuError;

/// The largest rank the strided kernels accept (after merging dimensions).
pub const MAX_RANK: usize = 8;

/// Merges neighbouring dimensions that every operand walks contiguously:
/// (d, d+1) merge when, for each stride list, stride[d] == stride[d+1] *
/// shape[d+1]. Size-1 dimensions are dropped. A contiguous copy becomes rank 1,
/// a bias add over rows rank 2, so the shaders' index loops stay short.
pub(crate) fn merge_dims(shape: &[usize], strides: &[&[usize]]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut out_shape: Vec<usize> = Vec::new();
    let mut out_strides: Vec<Vec<usize>> = vec![Vec::new(); strides.len()];
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        let mergeable = !out_shape.is_empty()
            && strides
                .iter()
                .zip(&out_strides)
                .all(|(s, merged)| *merged.last().unwrap() == s[d] * shape[d]);
        if mergeable {
            *out_shape.last_mut().unwrap() *= shape[d];
            for (s, merged) in strides.iter().zip(out_strides.iter_mut()) {
                *merged.last_mut().unwrap() = s[d];
            }
        } else {
            out_shape.push(shape[d]);
            for (s, merged) in strides.iter().zip(out_strides.iter_mut()) {
                merged.push(s[d]);
            }
        }
    }
    (out_shape, out_strides)
}

/// Checks rank and stride-list lengths; returns the element count.
pub(crate) fn check_shape(
    op: &'static str,
    shape: &[usize],
    strides: &[&[usize]],
) -> Result<usize, GpuError> {
    for s in strides {
        if s.len() != shape.len() {
            return Err(GpuError::invalid(
                op,
                format!("strides {s:?} do not match shape {shape:?}"),
            ));
        }
    }
    Ok(shape.iter().product())
}

/// The largest element offset a strided view reaches, plus one.
pub(crate) fn extent(shape: &[usize], strides: &[usize]) -> usize {
    if shape.contains(&0) {
        return 0;
    }
    1 + shape
        .iter()
        .zip(strides)
        .map(|(&n, &s)| (n - 1) * s)
        .sum::<usize>()
}

/// Fails when the merged rank is still above [`MAX_RANK`].
pub(crate) fn check_rank(op: &'static str, merged: &[usize]) -> Result<(), GpuError> {
    if merged.len() > MAX_RANK {
        return Err(GpuError::invalid(
            op,
            format!(
                "rank {} (after merging contiguous dims) exceeds {MAX_RANK}",
                merged.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::merge_dims;

    #[test]
    fn contiguous_views_merge_to_rank_one() {
        let (shape, strides) = merge_dims(&[2, 3, 4], &[&[12, 4, 1], &[12, 4, 1]]);
        assert_eq!(shape, vec![24]);
        assert_eq!(strides, vec![vec![1], vec![1]]);
    }

    #[test]
    fn a_row_broadcast_stays_rank_two() {
        let (shape, strides) = merge_dims(&[5, 1, 7], &[&[7, 7, 1], &[0, 0, 1]]);
        assert_eq!(shape, vec![5, 7]);
        assert_eq!(strides, vec![vec![7, 1], vec![0, 1]]);
    }

    #[test]
    fn a_transpose_does_not_merge() {
        let (shape, strides) = merge_dims(&[3, 4], &[&[1, 3]]);
        assert_eq!(shape, vec![3, 4]);
        assert_eq!(strides, vec![vec![1, 3]]);
    }
}
