//! The iterative linear solver of policy iteration: ILU(0)-preconditioned BiCGSTAB on the
//! policy's matrix `M(u)` (`ρI − A(u)` for stationary problems, `(1 + ρΔt)I − ΔtA(u)` for a
//! backward-Euler step), warm-started from the previous value.
//!
//! **Tolerance.** Where every row of `M` is a strictly diagonally dominant M-matrix row with margin
//! `μ` (`μ = ρ` stationary, `1 + ρΔt` for the steps, 1 at fixed nodes), `‖M⁻¹‖∞ ≤ 1/μ`, so a
//! residual `‖b − MV‖∞ ≤ μ ε (1 + ‖V‖∞)` bounds the error of the solve by `ε (1 + ‖V‖∞)` — the
//! units of policy iteration's stopping test `‖V_{k+1} − V_k‖∞ ≤ τ (1 + ‖V‖∞)`. The solve asks
//! for `ε = max(τ/10, 32 ε_mach max_x M_xx / μ)`: a tenth of the policy-iteration tolerance,
//! unless that is below what a residual computed in floating point can show (rounding in
//! `Σ_y M_xy V(y)` is about `ε_mach M_xx ‖V‖∞`); policy iteration then stops at `10 ε`
//! ([`Tolerance`]). At 10⁶ nodes of a diffusion problem (`M_xx/μ ≈ 10⁵`) this is `ε ≈ 10⁻⁹`.
//!
//! **Why not faer's.** faer 0.24 has BiCGSTAB (`faer::matrix_free::bicgstab`) but no incomplete
//! factorisation, tests convergence in the 2-norm (the bound above is in the ∞-norm; at 10⁶ nodes
//! a 2-norm test asks for up to 1000× more than needed, below the rounding floor) and reports the
//! starting residual when it gives up. The iteration itself is 60 lines
//! ([`bicgstab`]); the preconditioner is [`ilu`].
//!
//! Memory is linear in the nodes: the matrix and its ILU(0) factors on the stencil's pattern
//! (`2n + 1` entries per row in `n` dimensions, plus regime jumps) and seven vectors.

pub mod bicgstab;
pub mod ilu;

use bicgstab::Workspace;
use ilu::{Ilu0, SparseRows};

/// Largest number of BiCGSTAB iterations in one solve.
pub const MAX_ITERATIONS: usize = 5_000;

/// The tolerances of one solve (module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// The relative error `ε` the solve is asked for.
    pub error: f64,
    /// The policy-iteration tolerance that goes with it, `max(τ, 10 ε)`.
    pub policy: f64,
}

impl Tolerance {
    /// The tolerance of a solve with row margin `margin`, largest diagonal entry `diagonal` and
    /// policy-iteration tolerance `policy`.
    pub fn new(policy: f64, margin: f64, diagonal: f64) -> Tolerance {
        let floor = 32.0 * f64::EPSILON * diagonal / margin;
        let error = (policy / 10.0).max(floor);
        Tolerance { error, policy: policy.max(10.0 * error) }
    }
}

/// What one solve did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Solve {
    /// BiCGSTAB iterations.
    pub iterations: usize,
    /// `‖b − MV‖∞` at the end.
    pub residual: f64,
    /// Whether the residual reached the target.
    pub converged: bool,
}

/// The matrix pattern, its ILU(0) factors and the BiCGSTAB vectors of one stepper.
#[derive(Debug, Clone)]
pub struct KrylovSolver {
    matrix: SparseRows,
    /// Where entry `j` of row `x` (the stepper's `width` entries per row) is summed.
    position: Vec<usize>,
    preconditioner: Ilu0,
    work: Workspace,
}

impl KrylovSolver {
    /// The solver of matrices with `width` entries per row at `columns[row * width + j]`
    /// (repeated columns are summed).
    pub fn new(columns: &[usize], width: usize) -> KrylovSolver {
        let (matrix, position) = SparseRows::from_rows(columns, width);
        let preconditioner = Ilu0::new(&matrix);
        let work = Workspace::new(matrix.rows());
        KrylovSolver { matrix, position, preconditioner, work }
    }

    /// Solve `M x = b` with `M`'s rows in `entries` (`width` per row, as in [`KrylovSolver::new`])
    /// from the `x` given (the warm start) to `‖b − M x‖∞ ≤ scale (1 + ‖x‖∞)`.
    pub fn solve(&mut self, entries: &[f64], b: &[f64], x: &mut [f64], scale: f64) -> Solve {
        self.matrix.values.fill(0.0);
        for (value, &at) in entries.iter().zip(&self.position) {
            self.matrix.values[at] += value;
        }
        self.preconditioner.factor(&self.matrix);
        let outcome =
            bicgstab::solve(&self.matrix, &self.preconditioner, b, x, scale, MAX_ITERATIONS, &mut self.work);
        Solve { iterations: outcome.iterations, residual: outcome.residual, converged: outcome.converged }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-D convection–diffusion M-matrix (5-point, upwind drift, margin 0.1) solved to the
    /// target from zero and again, warm, from the answer (no iteration).
    #[test]
    fn bicgstab_reaches_the_target_on_a_2d_m_matrix_and_a_warm_start_is_free() {
        let side = 40;
        let nodes = side * side;
        let width = 5;
        let (mut columns, mut entries) = (Vec::new(), Vec::new());
        for node in 0..nodes {
            let (i, j) = (node / side, node % side);
            let neighbours = [
                (i > 0).then(|| node - side),
                (i + 1 < side).then(|| node + side),
                (j > 0).then(|| node - 1),
                (j + 1 < side).then(|| node + 1),
            ];
            let rates = [400.0, 420.0, 400.0, 450.0];
            let mut centre = 0.1;
            columns.push(node);
            entries.push(0.0);
            for (neighbour, rate) in neighbours.iter().zip(rates) {
                columns.push(neighbour.unwrap_or(node));
                entries.push(if neighbour.is_some() { -rate } else { 0.0 });
                centre += if neighbour.is_some() { rate } else { 0.0 };
            }
            entries[node * width] = centre;
        }
        let b: Vec<f64> = (0..nodes).map(|node| ((node % 7) as f64).sin()).collect();
        let mut solver = KrylovSolver::new(&columns, width);
        let mut x = vec![0.0; nodes];
        let scale = 1e-10;
        let first = solver.solve(&entries, &b, &mut x, scale);
        let size = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            first.converged && first.residual <= scale * (1.0 + size) && first.iterations > 1,
            "{first:?}"
        );
        let again = solver.solve(&entries, &b, &mut x, scale);
        assert_eq!(again.iterations, 0);
        assert_eq!(again.residual, first.residual);
        let tolerance = Tolerance::new(1e-12, 0.1, 1700.0);
        assert!(tolerance.error > 1e-13 && tolerance.policy == 10.0 * tolerance.error);
        assert_eq!(Tolerance::new(1e-12, 1.0, 2.0).policy, 1e-12);
    }
}
