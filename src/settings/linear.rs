//! `linear_solver = "auto" | "lu" | "bicgstab" | "tridiagonal"`: how policy iteration solves its
//! linear systems `M(u)V = b` (the implicit stepper, stationary and backward Euler;
//! `docs/numerics.md` §4.6).
//!
//! * `tridiagonal` — Gaussian elimination with partial pivoting for a tridiagonal matrix
//!   (LAPACK's `dgtsv`, [`crate::time::tridiagonal`]): exact to rounding, `O(N)` work and four
//!   vectors. It applies exactly when the system is tridiagonal ([`LinearSystem::tridiagonal`]):
//!   a grid of one axis that is not periodic (a wrapped axis of three or more points couples the
//!   first and last nodes) and no regimes (the regime axis is a second grid axis, and its jumps
//!   add columns). Named on any other system it is refused.
//! * `lu` — faer's sparse LU, the symbolic analysis computed once and reused: exact to rounding,
//!   but its fill grows like `N log N` in 2-D (and faster in 3-D): about 3 GB and 5 s per
//!   factorisation at 10⁶ unknowns.
//! * `bicgstab` — BiCGSTAB preconditioned by ILU(0), warm-started from the previous value, to a
//!   residual tied to the policy-iteration tolerance ([`crate::time::krylov`]): memory linear in
//!   `N` (about 15 vectors).
//! * `auto` (the default) — [`LinearSolver::resolve`]: `tridiagonal` when the system is; LU on
//!   one axis otherwise (a periodic axis: a banded matrix with two corner entries, little fill),
//!   below [`KRYLOV_NODES`] unknowns, and for backward-Euler steps whose rows keep an
//!   extrapolated ghost (see below); BiCGSTAB otherwise.
//!
//! BiCGSTAB's error bound and ILU(0)'s positive pivots hold for M-matrix rows. The stationary rows
//! are (extrapolated ends are closed inward), but the backward-Euler steps keep the ghost
//! `2V_0 − V_1` at extrapolated ends ([`crate::time::generator`]), whose row has a positive
//! off-diagonal entry where the drift points out and, at `Δt = h` with an outward drift of several
//! cells per step, a negative diagonal. LU solves those systems exactly; BiCGSTAB diverged on them
//! (a 3-D stochastic LQR with `|f| ≤ 9.5` at 9³ … 41³: residual 10¹ … 10⁶ after 5 000 iterations),
//! so `auto` does not pick it there.

use super::SettingsError;

/// Unknowns from which `auto` prefers the Krylov solver on grids of two or more axes.
pub const KRYLOV_NODES: usize = 250_000;

/// What [`LinearSolver::resolve`] looks at: the shape of policy iteration's systems on one problem
/// (`crate::time::implicit::linear_system` builds it from a problem).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearSystem {
    /// Unknowns (grid nodes, the regime axis included).
    pub nodes: usize,
    /// Grid axes (the regime axis included).
    pub dimension: usize,
    /// Whether rows keep an extrapolated ghost (backward-Euler steps with an extrapolated axis):
    /// not M-matrix rows where the drift points out.
    pub ghost_rows: bool,
    /// Whether every row's columns lie within one of the row: one axis, not periodic (or of two
    /// points), no regimes.
    pub tridiagonal: bool,
}

/// The linear solver of policy iteration (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinearSolver {
    /// Chosen per problem by [`LinearSolver::resolve`].
    #[default]
    Auto,
    /// Sparse LU.
    Lu,
    /// ILU(0)-preconditioned BiCGSTAB.
    Bicgstab,
    /// Gaussian elimination with partial pivoting for tridiagonal matrices (one axis).
    Tridiagonal,
}

impl LinearSolver {
    /// The names accepted in files and on the command line.
    pub const NAMES: &'static str = "auto, lu, bicgstab, tridiagonal";

    /// The name used in files, reports and result files.
    pub fn name(self) -> &'static str {
        match self {
            LinearSolver::Auto => "auto",
            LinearSolver::Lu => "lu",
            LinearSolver::Bicgstab => "bicgstab",
            LinearSolver::Tridiagonal => "tridiagonal",
        }
    }

    /// Parse a linear-solver name.
    pub fn parse(name: &str) -> Result<LinearSolver, SettingsError> {
        match name {
            "auto" => Ok(LinearSolver::Auto),
            "lu" => Ok(LinearSolver::Lu),
            "bicgstab" => Ok(LinearSolver::Bicgstab),
            "tridiagonal" => Ok(LinearSolver::Tridiagonal),
            other => Err(SettingsError::UnknownName {
                what: "linear_solver",
                name: other.to_string(),
                available: LinearSolver::NAMES,
            }),
        }
    }

    /// The solver that runs on `system`: a named one as named (`tridiagonal` refused unless the
    /// system is tridiagonal); `auto` is `tridiagonal` when the system is, LU on one axis, below
    /// [`KRYLOV_NODES`] unknowns or with ghost rows, BiCGSTAB otherwise (module docs).
    pub fn resolve(self, system: &LinearSystem) -> Result<LinearSolver, SettingsError> {
        Ok(match self {
            LinearSolver::Auto if system.tridiagonal => LinearSolver::Tridiagonal,
            LinearSolver::Auto
                if system.dimension >= 2 && system.nodes >= KRYLOV_NODES && !system.ghost_rows =>
            {
                LinearSolver::Bicgstab
            }
            LinearSolver::Auto => LinearSolver::Lu,
            LinearSolver::Tridiagonal if !system.tridiagonal => {
                let why = if system.dimension == 1 {
                    "a periodic axis, whose wrap couples the first and the last node".to_string()
                } else {
                    format!(
                        "{} grid axes (a regime axis counts as one), whose neighbours lie outside the three \
                         diagonals",
                        system.dimension
                    )
                };
                return Err(SettingsError::Conflict {
                    reason: format!(
                        "linear_solver = \"tridiagonal\" needs a tridiagonal system (a grid of one axis that is \
                         not periodic, without regimes), and this one has {why}; use linear_solver = \"auto\", \
                         \"lu\" or \"bicgstab\" (--linear-solver)"
                    ),
                });
            }
            named => named,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_auto_resolves_by_shape_and_size() {
        for name in ["auto", "lu", "bicgstab", "tridiagonal"] {
            assert_eq!(LinearSolver::parse(name).unwrap().name(), name);
        }
        let error = LinearSolver::parse("gmres").unwrap_err().to_string();
        assert!(
            error.contains("unknown linear_solver `gmres`")
                && error.contains("auto, lu, bicgstab, tridiagonal")
        );
        let system = |nodes, dimension, ghost_rows| LinearSystem {
            nodes,
            dimension,
            ghost_rows,
            tridiagonal: dimension == 1,
        };
        let resolve = |solver: LinearSolver, system| solver.resolve(&system).unwrap();
        assert_eq!(resolve(LinearSolver::Auto, system(1001 * 1001, 2, false)), LinearSolver::Bicgstab);
        assert_eq!(resolve(LinearSolver::Auto, system(1001 * 1001, 2, true)), LinearSolver::Lu);
        assert_eq!(resolve(LinearSolver::Auto, system(301 * 301, 2, false)), LinearSolver::Lu);
        assert_eq!(resolve(LinearSolver::Auto, system(10_000_000, 1, false)), LinearSolver::Tridiagonal);
        assert_eq!(resolve(LinearSolver::Auto, system(601, 1, true)), LinearSolver::Tridiagonal);
        // A periodic axis: one axis, not tridiagonal.
        let periodic = LinearSystem { tridiagonal: false, ..system(601, 1, false) };
        assert_eq!(resolve(LinearSolver::Auto, periodic), LinearSolver::Lu);
        assert_eq!(resolve(LinearSolver::Lu, system(1001 * 1001, 2, false)), LinearSolver::Lu);
        assert_eq!(resolve(LinearSolver::Lu, system(601, 1, false)), LinearSolver::Lu);
        assert_eq!(resolve(LinearSolver::Bicgstab, system(11, 1, true)), LinearSolver::Bicgstab);
        assert_eq!(resolve(LinearSolver::Tridiagonal, system(11, 1, true)), LinearSolver::Tridiagonal);
        for refused in [periodic, system(101 * 101, 2, false)] {
            let error = LinearSolver::Tridiagonal.resolve(&refused).unwrap_err().to_string();
            assert!(error.contains("needs a tridiagonal system") && error.contains("\"lu\""), "{error}");
        }
    }
}
