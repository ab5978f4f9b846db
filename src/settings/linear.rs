//! `linear_solver = "auto" | "lu" | "bicgstab"`: how policy iteration solves its linear systems
//! `M(u)V = b` (the implicit stepper, stationary and backward Euler; `docs/numerics.md` §4.6).
//!
//! * `lu` — faer's sparse LU, the symbolic analysis computed once and reused: exact to rounding,
//!   but its fill grows like `N log N` in 2-D (and faster in 3-D): about 3 GB and 5 s per
//!   factorisation at 10⁶ unknowns.
//! * `bicgstab` — BiCGSTAB preconditioned by ILU(0), warm-started from the previous value, to a
//!   residual tied to the policy-iteration tolerance ([`crate::time::krylov`]): memory linear in
//!   `N` (about 15 vectors).
//! * `auto` (the default) — [`LinearSolver::resolve`]: LU on one axis (a banded matrix has no
//!   fill), below [`KRYLOV_NODES`] unknowns, and for backward-Euler steps whose rows keep an
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
}

impl LinearSolver {
    /// The names accepted in files and on the command line.
    pub const NAMES: &'static str = "auto, lu, bicgstab";

    /// The name used in files, reports and result files.
    pub fn name(self) -> &'static str {
        match self {
            LinearSolver::Auto => "auto",
            LinearSolver::Lu => "lu",
            LinearSolver::Bicgstab => "bicgstab",
        }
    }

    /// Parse a linear-solver name.
    pub fn parse(name: &str) -> Result<LinearSolver, SettingsError> {
        match name {
            "auto" => Ok(LinearSolver::Auto),
            "lu" => Ok(LinearSolver::Lu),
            "bicgstab" => Ok(LinearSolver::Bicgstab),
            other => Err(SettingsError::UnknownName {
                what: "linear_solver",
                name: other.to_string(),
                available: LinearSolver::NAMES,
            }),
        }
    }

    /// The solver that runs on `nodes` unknowns over `dimension` axes, for systems with rows that
    /// keep an extrapolated ghost (`ghost_rows`, backward-Euler steps with an extrapolated axis)
    /// or without: a named one as named; `auto` is LU on one axis, below [`KRYLOV_NODES`]
    /// unknowns or with ghost rows, BiCGSTAB otherwise (module docs).
    pub fn resolve(self, nodes: usize, dimension: usize, ghost_rows: bool) -> LinearSolver {
        match self {
            LinearSolver::Auto if dimension >= 2 && nodes >= KRYLOV_NODES && !ghost_rows => {
                LinearSolver::Bicgstab
            }
            LinearSolver::Auto => LinearSolver::Lu,
            named => named,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_auto_resolves_by_size() {
        for name in ["auto", "lu", "bicgstab"] {
            assert_eq!(LinearSolver::parse(name).unwrap().name(), name);
        }
        let error = LinearSolver::parse("gmres").unwrap_err().to_string();
        assert!(error.contains("unknown linear_solver `gmres`") && error.contains("auto, lu, bicgstab"));
        assert_eq!(LinearSolver::Auto.resolve(1001 * 1001, 2, false), LinearSolver::Bicgstab);
        assert_eq!(LinearSolver::Auto.resolve(1001 * 1001, 2, true), LinearSolver::Lu);
        assert_eq!(LinearSolver::Auto.resolve(301 * 301, 2, false), LinearSolver::Lu);
        assert_eq!(LinearSolver::Auto.resolve(10_000_000, 1, false), LinearSolver::Lu);
        assert_eq!(LinearSolver::Lu.resolve(1001 * 1001, 2, false), LinearSolver::Lu);
        assert_eq!(LinearSolver::Bicgstab.resolve(11, 1, true), LinearSolver::Bicgstab);
    }
}
