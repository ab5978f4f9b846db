//! The coefficients of a closed-form table as the explicit row kernel ([`super::rows`]) reads
//! them: one contiguous column per axis or control, a column that holds the same bits at every
//! node kept as one row of that value (read from cache whatever the node), and the parts of the
//! upwind minimiser that do not depend on `V` computed once per table:
//!
//! ```text
//! root_j = clamp(−a_i/b_i, l_j, h_j),   vertex_j = −1/(2r_j),   flat_j = argmin_{[l_j, h_j]} c_j u + r_j u²
//! ```
//!
//! (`i` the state control `j` drives; `flat_j` is what a node with `b_i = 0` takes). Each is the
//! node rule's own expression ([`crate::scheme::minimiser::minimise_single`]), so the kernel's
//! results keep the node rule's bits.

use super::ExplicitStepper;
use crate::scheme::minimiser::minimise_quadratic;
use crate::scheme::Tabulation;
use crate::settings::Differencing;

/// One coefficient over the grid: a column `[node]`, or, when every node holds the same bits,
/// one row of that value (read from cache whatever the node).
#[derive(Debug, Clone)]
pub(super) struct Column {
    pub(super) data: Vec<f64>,
    pub(super) constant: bool,
}

impl Column {
    /// The column of `value(node)` for `nodes` nodes, collapsed to a row of `row` when constant.
    pub(super) fn of(nodes: usize, row: usize, value: impl Fn(usize) -> f64) -> Column {
        let first = if nodes == 0 { 0.0 } else { value(0) };
        // Test first (a varying column usually differs within a few nodes), then build.
        if (1..nodes).all(|node| value(node).to_bits() == first.to_bits()) {
            Column { data: vec![first; row], constant: true }
        } else {
            Column { data: (0..nodes).map(value).collect(), constant: false }
        }
    }

    /// The values at the nodes `first .. first + length`.
    #[inline(always)]
    pub(super) fn slice(&self, first: usize, length: usize) -> &[f64] {
        if self.constant {
            &self.data[..length]
        } else {
            &self.data[first..][..length]
        }
    }
}

/// The coefficients of a closed-form [`Tabulation`] as the row kernel reads them (module docs).
#[derive(Debug, Clone)]
pub(super) struct RowColumns {
    /// The state driven by each control.
    pub(super) driven: Vec<usize>,
    /// `a_i` per axis.
    pub(super) base: Vec<Column>,
    /// `b_i` per axis (only driven axes are read).
    pub(super) gain: Vec<Column>,
    /// Diagonal diffusion `a_ii` per axis (empty: none).
    pub(super) diffusion: Vec<Column>,
    /// Local Lax–Friedrichs `α_i` per axis (empty for upwind).
    pub(super) dissipation: Vec<Column>,
    /// `ℓ_0`.
    pub(super) cost_base: Column,
    /// `c_j`, `r_j` per control.
    pub(super) linear: Vec<Column>,
    pub(super) quadratic: Vec<Column>,
    /// Upwind: `(−a_i/b_i)` clamped to the box, `−0.5/r_j`, and the minimiser of `c_j u + r_j u²`
    /// (what a flat drift `b_i = 0` takes), per control.
    pub(super) root: Vec<Column>,
    pub(super) vertex_scale: Vec<Column>,
    pub(super) flat: Vec<Column>,
    /// How many of the columns above the kernel streams from memory (not constant).
    pub(super) varying: usize,
}

impl RowColumns {
    /// The columns of `table` for the stepper's grid and controls (`driven[j]`: the state of
    /// control `j`).
    pub(super) fn of(stepper: &ExplicitStepper<'_>, table: &Tabulation, driven: &[usize]) -> RowColumns {
        let n = stepper.shape.len();
        let m = driven.len();
        let nodes = stepper.problem.grid.node_count();
        let row = stepper.shape[n - 1];
        let column =
            |data: &[f64], width: usize, k: usize| Column::of(nodes, row, |node| data[node * width + k]);
        let lax_friedrichs = stepper.differencing == Differencing::LaxFriedrichs;
        let base: Vec<Column> = (0..n).map(|i| column(&table.drift_base, n, i)).collect();
        let gain: Vec<Column> = (0..n).map(|i| column(&table.drift_gain, n, i)).collect();
        let diffusion: Vec<Column> = if table.diffusion.is_empty() {
            Vec::new()
        } else {
            (0..n).map(|i| column(&table.diffusion, n, i)).collect()
        };
        let dissipation: Vec<Column> = if lax_friedrichs {
            (0..n).map(|i| column(&table.dissipation, n, i)).collect()
        } else {
            Vec::new()
        };
        let linear: Vec<Column> = (0..m).map(|j| column(&table.cost_linear, m, j)).collect();
        let quadratic: Vec<Column> = (0..m).map(|j| column(&table.cost_quadratic, m, j)).collect();
        let (mut root, mut vertex_scale, mut flat) = (Vec::new(), Vec::new(), Vec::new());
        if !lax_friedrichs {
            for (j, &i) in driven.iter().enumerate() {
                let (lower, upper) = stepper.control_bounds[j];
                root.push(Column::of(nodes, row, |node| {
                    (-table.drift_base[node * n + i] / table.drift_gain[node * n + i]).max(lower).min(upper)
                }));
                vertex_scale.push(Column::of(nodes, row, |node| -0.5 / table.cost_quadratic[node * m + j]));
                flat.push(Column::of(nodes, row, |node| {
                    minimise_quadratic(
                        table.cost_linear[node * m + j],
                        table.cost_quadratic[node * m + j],
                        lower,
                        upper,
                    )
                }));
            }
        }
        let mut columns = RowColumns {
            driven: driven.to_vec(),
            cost_base: Column::of(nodes, row, |node| table.cost_base[node]),
            base,
            gain,
            diffusion,
            dissipation,
            linear,
            quadratic,
            root,
            vertex_scale,
            flat,
            varying: 0,
        };
        columns.varying = columns.streamed();
        columns
    }

    /// The non-constant columns among those the kernel reads.
    fn streamed(&self) -> usize {
        let varying = |columns: &[Column]| columns.iter().filter(|c| !c.constant).count();
        let driven_gains = self.driven.iter().filter(|i| !self.gain[**i].constant).count();
        varying(&self.base)
            + driven_gains
            + varying(&self.diffusion)
            + varying(&self.dissipation)
            + usize::from(!self.cost_base.constant)
            + varying(&self.linear)
            + varying(&self.quadratic)
            + varying(&self.root)
            + varying(&self.vertex_scale)
            + varying(&self.flat)
    }

    /// Bytes an interior node moves at least: read `V^n` and the varying coefficients, write
    /// `V^{n+1}` and the `m` controls (8 bytes each; write-allocate not counted).
    pub(super) fn bytes_per_node(&self) -> usize {
        8 * (2 + self.driven.len() + self.varying)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_columns_collapse_to_one_row() {
        let constant = Column::of(10, 4, |_| 1.5);
        assert!(constant.constant);
        assert_eq!(constant.slice(6, 3), &[1.5, 1.5, 1.5]);
        let varying = Column::of(10, 4, |node| node as f64);
        assert!(!varying.constant);
        assert_eq!(varying.slice(6, 3), &[6.0, 7.0, 8.0]);
        // Zeros of both signs differ in bits: not one value.
        assert!(!Column::of(3, 3, |node| if node == 1 { -0.0 } else { 0.0 }).constant);
    }
}
