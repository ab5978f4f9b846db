//! Error norms of a computed field against an exact one on a region of the grid.
//!
//! On the nodes inside the error region `Ω_r`, with `e = V_h − V`:
//! `‖e‖∞ = max |e|`, `‖e‖₁ = Σ |e| Π_k h_k`, `‖e‖₂ = (Σ e² Π_k h_k)^{1/2}` (grid quadratures of
//! the continuous norms on `Ω_r`). Sums are taken sequentially in node order, so the numbers do
//! not depend on the thread count. See `docs/numerics.md` §7.7.

use crate::grid::Grid;
use crate::problem::ErrorRegion;

/// Error norms on a region.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorNorms {
    /// `‖e‖∞ = max |e|` over the nodes in the region.
    pub linf: f64,
    /// `‖e‖₁ = Σ |e| Π_k h_k` over the nodes in the region.
    pub l1: f64,
    /// `‖e‖₂ = (Σ e² Π_k h_k)^{1/2}` over the nodes in the region.
    pub l2: f64,
    /// Nodes inside the region.
    pub nodes: usize,
    /// The region `Ω_r` the norms are taken on.
    pub region: ErrorRegion,
}

/// Errors of `computed` against `exact` on the nodes of `region`.
pub fn error_norms(grid: &Grid, computed: &[f64], exact: &[f64], region: &ErrorRegion) -> ErrorNorms {
    let cell: f64 = grid.spacings().iter().product();
    let mut norms = ErrorNorms { linf: 0.0, l1: 0.0, l2: 0.0, nodes: 0, region: region.clone() };
    let mut squares = 0.0;
    for node in 0..grid.node_count() {
        if region.contains(&grid.point(node)) {
            let error = (computed[node] - exact[node]).abs();
            norms.linf = norms.linf.max(error);
            norms.l1 += error * cell;
            squares += error * error * cell;
            norms.nodes += 1;
        }
    }
    norms.l2 = squares.sqrt();
    norms
}
