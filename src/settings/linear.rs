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
//!   fill) and below [`KRYLOV_NODES`] unknowns, BiCGSTAB above.

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

    /// The solver that runs on `nodes` unknowns over `dimension` axes: a named one as named;
    /// `auto` is LU on one axis or below [`KRYLOV_NODES`] unknowns, BiCGSTAB otherwise.
    pub fn resolve(self, nodes: usize, dimension: usize) -> LinearSolver {
        match self {
            LinearSolver::Auto if dimension >= 2 && nodes >= KRYLOV_NODES => LinearSolver::Bicgstab,
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
        assert_eq!(LinearSolver::Auto.resolve(1001 * 1001, 2), LinearSolver::Bicgstab);
        assert_eq!(LinearSolver::Auto.resolve(301 * 301, 2), LinearSolver::Lu);
        assert_eq!(LinearSolver::Auto.resolve(10_000_000, 1), LinearSolver::Lu);
        assert_eq!(LinearSolver::Lu.resolve(1001 * 1001, 2), LinearSolver::Lu);
        assert_eq!(LinearSolver::Bicgstab.resolve(11, 1), LinearSolver::Bicgstab);
    }
}
