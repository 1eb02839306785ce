//! `Shape`: the dimensions of a contiguous, row-major tensor, and the small
//! amount of arithmetic every op needs (element counts, strides, broadcasting,
//! negative axes).

use crate::{Error, Result};
use std::fmt;

/// Dimensions of a tensor, outermost first. Storage is always contiguous and
/// row-major, so the shape alone fixes every element's position.
#[derive(Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Shape(Vec<usize>);

impl Shape {
    pub fn new(dims: impl Into<Vec<usize>>) -> Self {
        Shape(dims.into())
    }

    pub fn scalar() -> Self {
        Shape(Vec::new())
    }

    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }

    /// Size of dimension `axis` (which may be negative, counted from the end).
    pub fn dim(&self, axis: isize) -> Result<usize> {
        Ok(self.0[self.axis("dim", axis)?])
    }

    /// Row-major element strides.
    pub fn strides(&self) -> Vec<usize> {
        let mut strides = vec![1; self.rank()];
        for i in (0..self.rank().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.0[i + 1];
        }
        strides
    }

    /// Turns a possibly negative axis into an index, or an error naming `op`.
    pub fn axis(&self, op: &'static str, axis: isize) -> Result<usize> {
        let rank = self.rank() as isize;
        let a = if axis < 0 { axis + rank } else { axis };
        if a < 0 || a >= rank {
            return Err(Error::AxisOutOfRange {
                op,
                axis,
                shape: self.clone(),
            });
        }
        Ok(a as usize)
    }

    /// Views the shape as `[outer, dims[axis], inner]`, the layout every
    /// along-an-axis kernel (reduce, softmax, index_select, cat) works on.
    pub fn split_at_axis(&self, axis: usize) -> (usize, usize, usize) {
        let outer = self.0[..axis].iter().product();
        let inner = self.0[axis + 1..].iter().product();
        (outer, self.0[axis], inner)
    }

    /// NumPy broadcasting: align trailing dimensions; each pair must be equal
    /// or contain a 1.
    pub fn broadcast(op: &'static str, a: &Shape, b: &Shape) -> Result<Shape> {
        let rank = a.rank().max(b.rank());
        let mut dims = vec![0; rank];
        for (i, d) in dims.iter_mut().enumerate() {
            let da = a.dim_from_end(rank - 1 - i);
            let db = b.dim_from_end(rank - 1 - i);
            *d = match (da, db) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => {
                    return Err(Error::shapes_because(
                        op,
                        a,
                        b,
                        format!("dimension {i} of the broadcast differs ({da} vs {db})"),
                    ))
                }
            };
        }
        Ok(Shape(dims))
    }

    /// Strides that read this shape as if it had shape `target` (which it
    /// broadcasts to): 0 on every broadcast dimension.
    pub fn broadcast_strides(&self, target: &Shape) -> Vec<usize> {
        let own = self.strides();
        let offset = target.rank() - self.rank();
        (0..target.rank())
            .map(|i| {
                if i < offset || self.0[i - offset] == 1 {
                    0
                } else {
                    own[i - offset]
                }
            })
            .collect()
    }

    /// Dimension counted from the end (0 = last), 1 when the shape is shorter.
    fn dim_from_end(&self, k: usize) -> usize {
        if k < self.rank() {
            self.0[self.rank() - 1 - k]
        } else {
            1
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<Vec<usize>> for Shape {
    fn from(v: Vec<usize>) -> Self {
        Shape(v)
    }
}

impl From<&[usize]> for Shape {
    fn from(v: &[usize]) -> Self {
        Shape(v.to_vec())
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(v: [usize; N]) -> Self {
        Shape(v.to_vec())
    }
}

impl From<&Shape> for Shape {
    fn from(s: &Shape) -> Self {
        s.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_are_row_major() {
        assert_eq!(Shape::new([2, 3, 4]).strides(), vec![12, 4, 1]);
        assert_eq!(Shape::scalar().strides(), Vec::<usize>::new());
    }

    #[test]
    fn broadcast_follows_numpy() {
        let s = Shape::broadcast("t", &Shape::new([4, 1, 3]), &Shape::new([5, 1])).unwrap();
        assert_eq!(s, Shape::new([4, 5, 3]));
        assert_eq!(Shape::new([5, 1]).broadcast_strides(&s), vec![0, 1, 0]);
        let err = Shape::broadcast("add", &Shape::new([2, 3]), &Shape::new([4])).unwrap_err();
        assert!(
            err.to_string().contains("add: shapes [2, 3] and [4]"),
            "{err}"
        );
    }

    #[test]
    fn negative_axes_count_from_the_end() {
        let s = Shape::new([2, 3]);
        assert_eq!(s.axis("t", -1).unwrap(), 1);
        assert!(s
            .axis("sum", 2)
            .unwrap_err()
            .to_string()
            .contains("sum: axis 2"));
    }
}
