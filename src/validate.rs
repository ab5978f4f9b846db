//! Errors against references, and refinement studies with observed orders (DESIGN §4).
//!
//! On the nodes inside the error region `Ω_r`, with `e = V_h − V`:
//! `‖e‖∞ = max |e|`, `‖e‖₁ = Σ |e| Π_k h_k`, `‖e‖₂ = (Σ e² Π_k h_k)^{1/2}` (grid quadratures of
//! the continuous norms on `Ω_r`). Between levels `k` and `k+1` the observed order is
//! `log(e_k / e_{k+1}) / log(h_k / h_{k+1})` with `h` the largest spacing.
//!
//! Sums are taken sequentially in node order, so the numbers do not depend on the thread count.

use crate::error::{HjbError, Result};
use crate::grid::Grid;
use crate::problem::{ErrorRegion, Problem};
use crate::solver::{solve, Silent};

/// Error norms on a region.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorNorms {
    pub linf: f64,
    pub l1: f64,
    pub l2: f64,
    /// Nodes inside the region.
    pub nodes: usize,
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

/// One level of a refinement study.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub points: Vec<usize>,
    /// Largest spacing.
    pub h: f64,
    pub time_step: f64,
    pub linf: f64,
    pub l1: f64,
    pub l2: f64,
    /// Observed orders against the previous level (`None` on the first).
    pub order_linf: Option<f64>,
    pub order_l1: Option<f64>,
    pub order_l2: Option<f64>,
    pub seconds: f64,
}

/// Observed order between two levels.
pub fn observed_order(error_coarse: f64, error_fine: f64, h_coarse: f64, h_fine: f64) -> f64 {
    (error_coarse / error_fine).ln() / (h_coarse / h_fine).ln()
}

/// Solve on each grid of `levels` (points per axis) and measure errors against the reference.
pub fn convergence_study(problem: &Problem, levels: &[Vec<usize>]) -> Result<Vec<Level>> {
    if problem.reference.is_none() {
        return Err(HjbError::InvalidProblem {
            field: "reference".to_string(),
            message: "a convergence study needs a [reference] (or an [lqr] problem)".to_string(),
        });
    }
    let mut results: Vec<Level> = Vec::new();
    for points in levels {
        let refined = problem.with_points(points)?;
        let solution = solve(&refined, &mut Silent)?;
        let error = solution.error.expect("a reference gives errors");
        let h = refined.grid.spacings().into_iter().fold(0.0, f64::max);
        let mut level = Level {
            points: points.clone(),
            h,
            time_step: solution.diagnostics.time_step,
            linf: error.linf,
            l1: error.l1,
            l2: error.l2,
            order_linf: None,
            order_l1: None,
            order_l2: None,
            seconds: solution.diagnostics.seconds,
        };
        if let Some(previous) = results.last() {
            level.order_linf = Some(observed_order(previous.linf, level.linf, previous.h, h));
            level.order_l1 = Some(observed_order(previous.l1, level.l1, previous.h, h));
            level.order_l2 = Some(observed_order(previous.l2, level.l2, previous.h, h));
        }
        results.push(level);
    }
    Ok(results)
}

/// Grids for `count` levels refining by `factor` in intervals, ending at the problem's grid:
/// `n_k − 1 = (n − 1) / factor^{count−1−k}` on bounded axes (`n_k = n / factor^…` on periodic ones).
pub fn refinement_levels(problem: &Problem, count: usize, factor: usize) -> Result<Vec<Vec<usize>>> {
    let mut levels = Vec::new();
    for level in 0..count {
        let divisor = factor.pow((count - 1 - level) as u32);
        let points: Vec<usize> = problem
            .grid
            .axes()
            .iter()
            .map(|axis| {
                let intervals = if axis.periodic { axis.points } else { axis.points - 1 };
                let coarse = (intervals / divisor).max(1);
                if axis.periodic { coarse.max(2) } else { coarse + 1 }
            })
            .collect();
        levels.push(points);
    }
    Ok(levels)
}
