//! Tensor grids in 1–6 dimensions.
//!
//! Axis k has `n_k` nodes `x_k[i] = lower_k + i·h_k`. On a bounded axis `h_k = (upper_k −
//! lower_k)/(n_k − 1)` and both ends are nodes; on a periodic axis `h_k = (upper_k − lower_k)/n_k`
//! and `upper_k` is identified with `lower_k` (it is not a node). Nodes are stored in row-major
//! (C) order — the last axis varies fastest — which is also the order of the HDF5 datasets.
//!
//! Fields in the public API are `ndarray` arrays of shape [`Grid::shape`] in that order
//! ([`Grid::field`] wraps a flat vector without copying): `field[[i, j]]` is the value at
//! `(x_i, y_j)`, and its contiguous slice (`field.as_slice()`) is the flat vector the kernels
//! index with [`Grid::strides`].

pub mod interpolation;

use crate::error::{HjbError, Result};
use interpolation::{AxisRule, Cell};
use ndarray::{ArrayD, IxDyn};
use std::borrow::Cow;

/// Largest number of state dimensions the solver supports.
pub const MAX_DIMENSIONS: usize = 6;

/// One axis of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The state variable's name (used in formulas, files and labels).
    pub name: String,
    /// The lower end of the axis.
    pub lower: f64,
    /// The upper end (on a periodic axis identified with `lower`, not a node).
    pub upper: f64,
    /// Number of nodes.
    pub points: usize,
    /// Whether the axis wraps around.
    pub periodic: bool,
    /// Physical units for labels and files (`[[state]] units = "m"`), empty when not given.
    pub units: String,
}

impl Axis {
    /// `name [units]`, or the name alone.
    pub fn label(&self) -> String {
        if self.units.is_empty() {
            self.name.clone()
        } else {
            format!("{} [{}]", self.name, self.units)
        }
    }

    /// Node spacing `h`.
    pub fn spacing(&self) -> f64 {
        let intervals = if self.periodic { self.points } else { self.points - 1 };
        (self.upper - self.lower) / intervals as f64
    }

    /// Coordinate of node `index`.
    pub fn coordinate(&self, index: usize) -> f64 {
        self.lower + index as f64 * self.spacing()
    }

    /// All node coordinates.
    pub fn coordinates(&self) -> Vec<f64> {
        (0..self.points).map(|index| self.coordinate(index)).collect()
    }
}

/// A tensor-product grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    axes: Vec<Axis>,
    strides: Vec<usize>,
    node_count: usize,
    /// For a block of a larger grid ([`Grid::window`]): per axis, where node 0 sits in the
    /// larger grid, that grid's spacing, lower end and point count.
    window: Option<Vec<Placement>>,
}

/// Where one axis of a block lies in the larger grid: local node `j` is node
/// `(start + j) mod points` there, at `lower + ((start + j) mod points)·spacing`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Placement {
    start: usize,
    spacing: f64,
    lower: f64,
    points: usize,
    periodic: bool,
}

/// Where one axis of a window ([`Grid::window`]) lies in the whole grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowAxis {
    /// The whole grid's index of the window's node 0 (wrapped on a periodic axis).
    pub start: usize,
    /// Points of the whole axis.
    pub points: usize,
    /// Lower end of the whole axis (node `i` of the whole axis lies at `lower + i·h`).
    pub lower: f64,
    /// Whether the whole axis is periodic.
    pub periodic: bool,
}

impl Placement {
    fn coordinate(&self, local: usize) -> f64 {
        self.lower + ((self.start + local) % self.points) as f64 * self.spacing
    }
}

impl Grid {
    /// Build a grid; checks 1–6 axes, at least 2 points each, finite increasing bounds.
    pub fn new(axes: Vec<Axis>) -> Result<Grid> {
        if axes.is_empty() || axes.len() > MAX_DIMENSIONS {
            return Err(HjbError::InvalidProblem {
                field: "state".to_string(),
                message: format!("{} state axes given; hjb supports 1 to {MAX_DIMENSIONS}", axes.len()),
            });
        }
        for axis in &axes {
            if axis.points < 2 {
                return Err(HjbError::InvalidProblem {
                    field: format!("state {}.points", axis.name),
                    message: format!("{} points; an axis needs at least 2", axis.points),
                });
            }
            if !(axis.lower.is_finite() && axis.upper.is_finite() && axis.lower < axis.upper) {
                return Err(HjbError::InvalidProblem {
                    field: format!("state {}.bounds", axis.name),
                    message: format!(
                        "bounds [{}, {}] must be finite with lower < upper",
                        axis.lower, axis.upper
                    ),
                });
            }
        }
        let Some(node_count) = axes.iter().try_fold(1usize, |count, axis| count.checked_mul(axis.points))
        else {
            let shape: Vec<String> = axes.iter().map(|axis| axis.points.to_string()).collect();
            return Err(HjbError::InvalidProblem {
                field: "state.points".to_string(),
                message: format!("a grid of {} nodes has more nodes than can be counted", shape.join(" × ")),
            });
        };
        let mut strides = vec![1usize; axes.len()];
        for k in (0..axes.len().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * axes[k + 1].points;
        }
        Ok(Grid { axes, strides, node_count, window: None })
    }

    /// A block of this grid: `points[k]` nodes from node `start[k]` on each axis (wrapping
    /// around a periodic axis), as a grid of its own whose coordinates and spacings are this
    /// grid's, bit for bit (`lower + i·h` with this grid's `lower`, `h` and global index `i`).
    /// A block axis is periodic only when it is the whole of a periodic axis; its ends are
    /// the block's first and last nodes.
    pub fn window(&self, start: &[usize], points: &[usize]) -> Result<Grid> {
        let mut axes = Vec::with_capacity(self.dimension());
        let mut placements = Vec::with_capacity(self.dimension());
        for (k, axis) in self.axes.iter().enumerate() {
            let placement = Placement {
                start: start[k] % axis.points,
                spacing: self.spacings()[k],
                lower: self.axes[k].lower,
                points: axis.points,
                periodic: axis.periodic,
            };
            let placement = match &self.window {
                Some(outer) => {
                    Placement { start: (outer[k].start + placement.start) % outer[k].points, ..outer[k] }
                }
                None => placement,
            };
            let whole = points[k] == axis.points && start[k] == 0;
            let (lower, upper) = if whole {
                (axis.lower, axis.upper)
            } else {
                (
                    placement.coordinate(0),
                    placement.coordinate(0) + (points[k] - 1) as f64 * placement.spacing,
                )
            };
            axes.push(Axis {
                lower,
                upper,
                points: points[k],
                periodic: whole && axis.periodic,
                ..axis.clone()
            });
            placements.push(placement);
        }
        let mut grid = Grid::new(axes)?;
        grid.window = Some(placements);
        Ok(grid)
    }

    /// For a window, where each axis lies in the whole grid; `None` for a whole grid.
    pub fn window_origin(&self) -> Option<Vec<WindowAxis>> {
        self.window.as_ref().map(|placements| {
            placements
                .iter()
                .map(|p| WindowAxis {
                    start: p.start,
                    points: p.points,
                    lower: p.lower,
                    periodic: p.periodic,
                })
                .collect()
        })
    }

    /// The axes, in order.
    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// Number of axes.
    pub fn dimension(&self) -> usize {
        self.axes.len()
    }

    /// Number of nodes, `Π_k points_k`.
    pub fn node_count(&self) -> usize {
        self.node_count
    }

    /// Points per axis: the shape of every field on the grid (`Solution::values`, each policy,
    /// the reference, each snapshot) and of the HDF5 datasets. Its product is
    /// [`Grid::node_count`].
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(|axis| axis.points).collect()
    }

    /// Flat-index step of a unit move along each axis: the element strides of a field of shape
    /// [`Grid::shape`] in standard (row-major) layout, so `field.as_slice()[grid.ravel(index)]
    /// == field[index]`.
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    /// A flat row-major vector of nodal values as an array of shape [`Grid::shape`], without
    /// copying.
    ///
    /// The solver's fields always hold one value per node, so for them this cannot fail; a
    /// vector of another length is a bug in the caller, and panics. Data read from outside (a
    /// file) must be checked first, or wrapped with `ArrayD::from_shape_vec`, which reports the
    /// mismatch.
    pub fn field(&self, values: Vec<f64>) -> ArrayD<f64> {
        ArrayD::from_shape_vec(IxDyn(&self.shape()), values).expect("the field has the grid's shape")
    }

    /// The spacing `h_k` of each axis.
    pub fn spacings(&self) -> Vec<f64> {
        match &self.window {
            Some(window) => window.iter().map(|placement| placement.spacing).collect(),
            None => self.axes.iter().map(Axis::spacing).collect(),
        }
    }

    /// Multi-index of a flat node index, written into `index`.
    pub fn unravel_inplace(&self, mut flat: usize, index: &mut [usize]) {
        for k in 0..self.axes.len() {
            index[k] = flat / self.strides[k];
            flat %= self.strides[k];
        }
    }

    /// The flat index of a multi-index (the inverse of [`Grid::unravel`]).
    pub fn ravel(&self, index: &[usize]) -> usize {
        index.iter().zip(self.strides()).map(|(i, stride)| i * stride).sum()
    }

    /// The multi-index of the node with flat (row-major) index `flat`.
    pub fn unravel(&self, flat: usize) -> Vec<usize> {
        let mut index = vec![0; self.dimension()];
        self.unravel_inplace(flat, &mut index);
        index
    }

    /// Coordinates of a flat node index.
    pub fn point(&self, flat: usize) -> Vec<f64> {
        let index = self.unravel(flat);
        (0..self.dimension()).map(|k| self.coordinate(k, index[k])).collect()
    }

    /// Coordinate of node `index` of axis `k` (for a block, the larger grid's coordinate).
    fn coordinate(&self, k: usize, index: usize) -> f64 {
        match &self.window {
            Some(window) => window[k].coordinate(index),
            None => self.axes[k].coordinate(index),
        }
    }

    /// One column per axis: the coordinate of every node along that axis (for tabulating
    /// formulas over the grid).
    pub fn coordinate_columns(&self) -> Vec<Vec<f64>> {
        // Column k repeats each coordinate of axis k over a run of `stride_k` nodes, and that
        // pattern over the outer axes: fill runs instead of unravelling every node.
        (0..self.dimension())
            .map(|k| {
                let points = self.axes[k].points;
                let stride = self.strides[k];
                let along: Vec<f64> = (0..points).map(|index| self.coordinate(k, index)).collect();
                let mut column = Vec::with_capacity(self.node_count);
                while column.len() < self.node_count {
                    for value in &along {
                        column.extend(std::iter::repeat_n(*value, stride));
                    }
                }
                column
            })
            .collect()
    }

    /// Whether the node lies on the first or last node of a non-periodic axis.
    pub fn is_boundary(&self, index: &[usize]) -> bool {
        self.axes.iter().zip(index).any(|(axis, i)| !axis.periodic && (*i == 0 || *i + 1 == axis.points))
    }

    /// Multilinear interpolation of nodal `values` at `point` (clamped to the box on bounded
    /// axes, wrapped on periodic ones). Monotone: the weights are nonnegative and sum to one.
    /// See [`interpolation`].
    pub fn interpolate(&self, values: &[f64], point: &[f64]) -> f64 {
        match self.dimension() {
            1 => self.interpolate_in::<1>(values, point),
            2 => self.interpolate_in::<2>(values, point),
            3 => self.interpolate_in::<3>(values, point),
            4 => self.interpolate_in::<4>(values, point),
            5 => self.interpolate_in::<5>(values, point),
            _ => self.interpolate_in::<6>(values, point),
        }
    }

    /// Multilinear interpolation of a field (an array of shape [`Grid::shape`]) at `point`; see
    /// [`Grid::interpolate`].
    pub fn interpolate_field(&self, field: &ArrayD<f64>, point: &[f64]) -> f64 {
        self.interpolate(&row_major(field), point)
    }

    fn interpolate_in<const D: usize>(&self, values: &[f64], point: &[f64]) -> f64 {
        let mut position = [0.0f64; D];
        let mut shape = [0usize; D];
        let mut rules = [AxisRule::Clamp; D];
        for k in 0..D {
            let axis = &self.axes[k];
            position[k] = (point[k] - axis.lower) / axis.spacing();
            shape[k] = axis.points;
            if axis.periodic {
                rules[k] = AxisRule::Periodic;
            }
        }
        Cell::<D>::locate(&position, &shape, &rules).apply(values, &self.strides)
    }
}

/// The nodal values of a field in row-major order: its own contiguous slice for an array in
/// standard layout (every array hjb builds), a copy in logical order otherwise (a transposed or
/// sliced view a user built).
pub fn row_major(field: &ArrayD<f64>) -> Cow<'_, [f64]> {
    match field.as_slice() {
        Some(slice) => Cow::Borrowed(slice),
        None => Cow::Owned(field.iter().copied().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(name: &str, lower: f64, upper: f64, points: usize, periodic: bool) -> Axis {
        Axis { name: name.to_string(), lower, upper, points, periodic, units: String::new() }
    }

    #[test]
    fn indexing_round_trips() {
        let grid = Grid::new(vec![axis("x", -1.0, 1.0, 5, false), axis("y", 0.0, 1.0, 3, true)]).unwrap();
        assert_eq!(grid.node_count(), 15);
        assert_eq!(grid.strides(), &[3, 1]);
        assert_eq!(grid.unravel(7), vec![2, 1]);
        assert_eq!(grid.point(7), vec![0.0, 1.0 / 3.0]);
    }

    #[test]
    fn interpolation_is_exact_for_multilinear_functions() {
        let grid = Grid::new(vec![axis("x", -1.0, 2.0, 7, false), axis("y", 0.0, 1.0, 4, false)]).unwrap();
        let function = |x: f64, y: f64| 1.0 + 2.0 * x - 3.0 * y + 0.5 * x * y;
        let values: Vec<f64> = (0..grid.node_count())
            .map(|flat| {
                let p = grid.point(flat);
                function(p[0], p[1])
            })
            .collect();
        for point in [[0.3, 0.7], [-0.95, 0.01], [1.99, 0.5]] {
            let interpolated = grid.interpolate(&values, &point);
            assert!((interpolated - function(point[0], point[1])).abs() < 1e-13);
        }
    }

    #[test]
    fn a_window_has_the_coordinates_of_the_whole_grid() {
        let grid = Grid::new(vec![axis("x", -1.0, 2.0, 7, false), axis("y", 0.1, 0.7, 9, true)]).unwrap();
        // A block of x from node 2, and y wrapping around from node 7.
        let block = grid.window(&[2, 7], &[4, 5]).unwrap();
        assert_eq!(block.shape(), vec![4, 5]);
        assert_eq!(block.spacings(), grid.spacings());
        for flat in 0..block.node_count() {
            let index = block.unravel(flat);
            let global = grid.ravel(&[2 + index[0], (7 + index[1]) % 9]);
            let (a, b) = (block.point(flat), grid.point(global));
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
        assert!(!block.axes()[1].periodic);
        let whole = grid.window(&[0, 0], &[7, 9]).unwrap();
        assert!(whole.axes()[1].periodic);
        assert_eq!(whole.coordinate_columns(), grid.coordinate_columns());
    }

    #[test]
    fn rejects_degenerate_axes() {
        assert!(Grid::new(vec![axis("x", 0.0, 1.0, 1, false)]).is_err());
        assert!(Grid::new(vec![axis("x", 1.0, 0.0, 5, false)]).is_err());
        assert!(Grid::new(vec![]).is_err());
    }
}
