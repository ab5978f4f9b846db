//! Implicit upwind time stepping (backward Euler in time-to-go) with Howard's policy iteration.
//!
//! With the generator of the upwind chain, `(A(u)V)(x) = Σ_i r_i^+(V(x+h_i e_i) − V(x)) +
//! r_i^−(V(x−h_i e_i) − V(x))`, `r_i^± = f_i^±/h_i + a_i/h_i²` (the rates of
//! [`crate::scheme::weights`] at Δt = 1 — the same weights as the explicit scheme), one step solves
//!
//! ```text
//! ((1 + ρΔt) I − Δt A(u)) V^{n+1} = V^n + Δt ℓ(u),   u(x) = argmin_u [A(u)V^{n+1} + ℓ(u)](x)
//! ```
//!
//! by policy iteration: solve the linear system for the current policy (faer sparse LU, the
//! symbolic factorisation computed once and reused; ILU(0)-preconditioned BiCGSTAB warm-started
//! from the current value, [`crate::time::krylov`]; or, on one non-periodic axis without regimes,
//! where the matrix is tridiagonal, Gaussian elimination with partial pivoting,
//! [`crate::time::tridiagonal`]; as `linear_solver` says, [`linear_system`]), improve the policy
//! node by node with the same exact minimisation as the explicit scheme, and repeat until the value
//! stops changing (`‖V_{k+1} − V_k‖∞ ≤ τ (1 + ‖V‖∞)`, `τ = 1e-12` with LU, `max(1e-12, 10ε)` with
//! BiCGSTAB solving to a relative error `ε`) or the policy is unchanged. In the interior the matrix is
//! an M-matrix for any Δt (diagonal `1 + ρΔt + Δt Σ r`, off-diagonals `−Δt r ≤ 0`, row sums
//! `1 + ρΔt`), so the scheme is monotone and unconditionally stable; at extrapolated boundary nodes
//! with outflow the ghost value puts a positive entry in the row, which the M-matrix report counts.
//!
//! With regimes (`[regimes]`) each row also gets `−Δt λ_jk` at the node of regime `k` and
//! `+Δt Σ_k λ_jk` on the diagonal (still an M-matrix row).
//!
//! **Stationary problems** (`time_step = ∞`, discount ρ > 0): the same policy iteration on
//! `(ρI − A(u)) V = ℓ(u)`, `u = argmin_u [A(u)V + ℓ(u)]` (Howard's algorithm for the HJB equation
//! itself). Extrapolated ends are closed with the inward rows of [`crate::time::generator`]
//! ([`Ends::Inward`]: the outward drift is dropped), so every row is a strictly diagonally
//! dominant M-matrix row (margin ρ) and policy iteration converges (Bokanowski–Maroso–Zidani);
//! periodic, Dirichlet and state-constrained axes close as for the steps. Exit-time problems
//! (ρ = 0) are refused: they need a proper starting policy; fast sweeping
//! ([`crate::time::sweeping`]) solves them.

use crate::error::{HjbError, Result};
use crate::problem::Problem;
use crate::scheme::{ControlModel, Tabulation};
use crate::settings::{LinearSolver, LinearSystem};
use crate::time::generator::{Ends, Generator, Slot};
use crate::time::krylov::{KrylovSolver, Tolerance};
use crate::time::tridiagonal::Tridiagonal;
use crate::time::{CoefficientLevel, StepContext, StepOutcome, Stepper, StepperReport};
use faer::linalg::solvers::Solve;
use faer::sparse::linalg::solvers::{Lu, SymbolicLu};
use faer::sparse::{Pair, SparseColMat, SymbolicSparseColMat};
use faer::Mat;

/// Largest number of policy-iteration sweeps per step.
pub const MAX_POLICY_ITERATIONS: usize = 50;
/// Largest number of policy-iteration sweeps for a stationary problem.
pub const MAX_STATIONARY_ITERATIONS: usize = 500;
/// Policy iteration stops at a relative value change of this (with exact solves).
pub const POLICY_TOLERANCE: f64 = 1e-12;
/// Inexact policy iteration (BiCGSTAB): each sweep solves to this fraction of the last relative
/// value change (superlinear convergence keeps the sweeps; the early solves get cheap).
pub const FORCING: f64 = 1e-2;

/// Policy-iteration and M-matrix numbers of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImplicitReport {
    /// Most policy-iteration sweeps in one step.
    pub most_iterations: usize,
    /// Mean sweeps per step.
    pub mean_iterations: f64,
    /// Smallest `M_xx − Σ_{y≠x} |M_xy|` over the rows without positive off-diagonal entries of
    /// every assembled matrix (> 0: those rows are strictly diagonally dominant M-matrix rows).
    pub margin: f64,
    /// Rows with a positive off-diagonal entry (extrapolated outflow boundaries).
    pub positive_off_diagonal_rows: usize,
    /// Largest relative value change at the last sweep of any step.
    pub last_change: f64,
    /// The linear solver that ran: [`LinearSolver::Lu`], [`LinearSolver::Bicgstab`] or
    /// [`LinearSolver::Tridiagonal`].
    pub linear_solver: LinearSolver,
    /// Linear solves (one per policy-iteration sweep).
    pub linear_solves: usize,
    /// BiCGSTAB iterations over all solves (0 with the direct solvers).
    pub linear_iterations: usize,
    /// Most BiCGSTAB iterations in one solve.
    pub linear_iterations_most: usize,
    /// Largest final `‖b − MV‖∞ / (μ (1 + ‖V‖∞))` of any solve, `μ` the rows' margin
    /// (`min(ρ, 1)` stationary, 1 for the steps): a bound on the solve's relative error where
    /// the rows are M-matrix rows ([`crate::time::krylov`]).
    pub linear_residual: f64,
    /// The relative error the BiCGSTAB solves were asked for (largest over the solves; 0 with the
    /// direct solvers).
    pub linear_tolerance: f64,
}

/// How the stepper solves its linear systems.
#[derive(Debug)]
enum Linear {
    /// faer's sparse LU on a symbolic analysis computed once.
    Lu {
        symbolic: SymbolicSparseColMat<usize>,
        argsort: faer::sparse::Argsort<usize>,
        symbolic_lu: SymbolicLu<usize>,
    },
    /// ILU(0)-preconditioned BiCGSTAB.
    Krylov(Box<KrylovSolver>),
    /// Gaussian elimination with partial pivoting on the three diagonals (one axis).
    Tridiagonal(Tridiagonal),
}

/// The implicit stepper of one problem on one grid.
#[derive(Debug)]
pub struct ImplicitStepper<'a> {
    problem: &'a Problem,
    rows: Generator<'a>,
    time_step: f64,
    /// Column of each matrix entry, `width` per row: centre, the slots, the regime jumps.
    columns: Vec<usize>,
    linear: Linear,
    report: ImplicitReport,
    steps_taken: usize,
    total_iterations: usize,
    /// The policy's sample index per node (sampled model).
    samples: Vec<usize>,
}

/// Whether the implicit systems of `problem` keep extrapolated ghost rows (not M-matrix rows
/// where the drift points out): the backward-Euler steps of a finite horizon on a grid with an
/// extrapolated axis. Stationary rows close those ends inward.
pub fn ghost_rows(problem: &Problem) -> bool {
    !problem.is_stationary()
        && problem
            .boundaries
            .iter()
            .zip(problem.grid.shape())
            .any(|(boundary, points)| matches!(boundary, crate::problem::Boundary::Extrapolate) && points > 1)
}

/// Whether every row of the implicit systems of `problem` keeps its columns within one of the row
/// (the centre and the two slots of the one axis; an extrapolated ghost `2V_0 − V_1` reads columns
/// 0 and 1 again): a grid of one axis, no regimes (their jumps are a second axis), and an axis that
/// does not wrap — a periodic axis of three or more points couples the first and the last node.
/// Every axis has at least two points ([`crate::grid::Grid`]).
pub fn tridiagonal(problem: &Problem) -> bool {
    let shape = problem.grid.shape();
    problem.switching.is_none()
        && shape.len() == 1
        && (!matches!(problem.boundaries[0], crate::problem::Boundary::Periodic) || shape[0] <= 2)
}

/// The shape of the implicit systems of `problem`, which [`LinearSolver::resolve`] decides on.
pub fn linear_system(problem: &Problem) -> LinearSystem {
    LinearSystem {
        nodes: problem.grid.node_count(),
        dimension: problem.grid.dimension(),
        ghost_rows: ghost_rows(problem),
        tridiagonal: tridiagonal(problem),
    }
}

impl<'a> ImplicitStepper<'a> {
    /// The stepper for backward-Euler steps of `time_step`, or for the stationary equation when
    /// `time_step` is infinite (refused without discount), solving its linear systems with
    /// `linear_solver` (`auto` resolved by the shape and size of the systems, [`linear_system`];
    /// `tridiagonal` refused where they are not tridiagonal).
    pub fn new(
        problem: &'a Problem,
        model: &'a ControlModel,
        time_step: f64,
        linear_solver: LinearSolver,
    ) -> Result<Self> {
        if time_step.is_infinite() && !(problem.discount > 0.0) {
            return Err(HjbError::InvalidOption {
                option: "scheme".to_string(),
                message: "policy iteration for a stationary problem needs a discount ρ > 0 (an exit-time \
                          problem needs a proper starting policy); use scheme = \"fast_sweeping\" (or \
                          \"auto\", which picks it), \"upwind\" or \"semi_lagrangian\" (value iteration)"
                    .to_string(),
            });
        }
        // Stationary rows close extrapolated ends inward (M-matrix rows); the steps keep the ghost.
        let ends = if time_step.is_infinite() { Ends::Inward } else { Ends::Extrapolated };
        let rows = Generator::new(problem, model, ends);
        let (slots, nodes, n) = (&rows.slots, problem.grid.node_count(), problem.grid.dimension());
        // Pattern: per row the centre, then one entry per slot (duplicates are summed), then one
        // per regime (the jump targets; the own regime's entry stays 0).
        let regimes = problem.switching.as_ref().map_or(0, |s| s.rates.len());
        let mut columns = Vec::with_capacity(nodes * (1 + 2 * n + regimes));
        for node in 0..nodes {
            columns.push(node);
            for slot in &slots[node * 2 * n..(node + 1) * 2 * n] {
                columns.push(match slot {
                    Slot::Neighbour(c) | Slot::Extrapolated(c) => *c,
                    Slot::Unused => node,
                });
            }
            if let Some(switching) = &problem.switching {
                columns.extend((0..regimes).map(|k| switching.node_in(node, k)));
            }
        }
        let linear_solver = linear_solver.resolve(&linear_system(problem))?;
        let linear = match linear_solver {
            LinearSolver::Bicgstab => {
                Linear::Krylov(Box::new(KrylovSolver::new(&columns, 1 + 2 * n + regimes)))
            }
            LinearSolver::Tridiagonal => Linear::Tridiagonal(Tridiagonal::new(nodes)),
            _ => {
                let width = 1 + 2 * n + regimes;
                let pairs: Vec<Pair<usize, usize>> =
                    columns.iter().enumerate().map(|(k, column)| Pair::new(k / width, *column)).collect();
                let numerical = |message: String| HjbError::Numerical(format!("implicit scheme: {message}"));
                let (symbolic, argsort) = SymbolicSparseColMat::try_new_from_indices(nodes, nodes, &pairs)
                    .map_err(|error| numerical(format!("sparsity pattern: {error:?}")))?;
                let symbolic_lu = SymbolicLu::try_new(symbolic.as_ref())
                    .map_err(|error| numerical(format!("symbolic LU: {error:?}")))?;
                Linear::Lu { symbolic, argsort, symbolic_lu }
            }
        };
        Ok(ImplicitStepper {
            problem,
            rows,
            time_step,
            columns,
            linear,
            report: ImplicitReport {
                most_iterations: 0,
                mean_iterations: 0.0,
                margin: f64::INFINITY,
                positive_off_diagonal_rows: 0,
                last_change: 0.0,
                linear_solver,
                linear_solves: 0,
                linear_iterations: 0,
                linear_iterations_most: 0,
                linear_residual: 0.0,
                linear_tolerance: 0.0,
            },
            steps_taken: 0,
            total_iterations: 0,
            samples: vec![0; nodes],
        })
    }

    /// The policy-iteration and M-matrix numbers of the steps taken so far.
    pub fn report(&self) -> ImplicitReport {
        let mut report = self.report;
        report.mean_iterations = self.total_iterations as f64 / self.steps_taken.max(1) as f64;
        report
    }

    /// One backward-Euler step: `V^n = previous` → returns `V^{n+1}`; `policy` (node × m) holds the
    /// starting policy and receives the final one. `boundary` gives Dirichlet values.
    pub fn step(
        &mut self,
        table: &Tabulation,
        previous: &[f64],
        policy: &mut [f64],
        samples: &mut [usize],
        boundary: Option<&[f64]>,
    ) -> Result<Vec<f64>> {
        let n = self.problem.grid.dimension();
        let nodes = previous.len();
        // Stationary (Δt = ∞): the rows of ρI − A(u) with right-hand side ℓ(u).
        let stationary = self.time_step.is_infinite();
        let dt = if stationary { 1.0 } else { self.time_step };
        let growth = if stationary { self.problem.discount } else { 1.0 + self.problem.discount * dt };
        let limit = if stationary { MAX_STATIONARY_ITERATIONS } else { MAX_POLICY_ITERATIONS };
        let mut values = previous.to_vec();
        self.rows.improve(table, &values, policy, samples);
        let regimes = self.problem.switching.as_ref().map_or(0, |s| s.rates.len());
        let width = 1 + 2 * n + regimes;
        let mut entries = vec![0.0; nodes * width];
        let mut right = vec![0.0; nodes];
        let mut solution = vec![0.0; nodes];
        let mut tolerance = POLICY_TOLERANCE;
        // Inexact policy iteration with BiCGSTAB: sweep k solves to the relative error
        // max(ε, FORCING · change_{k−1}) (change_0 = FORCING) and only a sweep solved to ε itself
        // may end the iteration.
        let mut loose = FORCING * FORCING;
        let mut history = Vec::new();
        for iteration in 1..=limit {
            // Assemble M(u) and the right-hand side.
            for node in 0..nodes {
                let row = &mut entries[node * width..(node + 1) * width];
                let fixed = boundary.map(|b| b[node]).filter(|v| !v.is_nan());
                if self.rows.dirichlet_node[node] || fixed.is_some() {
                    row.fill(0.0);
                    row[0] = 1.0;
                    right[node] = fixed.unwrap_or(previous[node]);
                    continue;
                }
                let (rates, cost) = self.rows.rates(table, policy, samples, node);
                let mut center = growth;
                for k in 0..n {
                    for (side, rate) in [(0, rates.forward[k]), (1, rates.backward[k])] {
                        center += dt * rate;
                        row[1 + 2 * k + side] = match self.rows.slots[node * 2 * n + 2 * k + side] {
                            Slot::Neighbour(_) => -dt * rate,
                            Slot::Extrapolated(_) => {
                                center -= 2.0 * dt * rate;
                                dt * rate
                            }
                            Slot::Unused => 0.0,
                        };
                    }
                }
                if let Some(switching) = &self.problem.switching {
                    // Jumps to the other regimes of this node (the regime axis is the last).
                    for (k, rate) in switching.rates[switching.regime_of(node)].iter().enumerate() {
                        center += dt * rate;
                        row[1 + 2 * n + k] = -dt * rate;
                    }
                }
                row[0] = center;
                right[node] = if stationary { cost } else { previous[node] + dt * cost };
            }
            self.check_matrix(&entries, width);
            // The rows' margin μ (module docs of crate::time::krylov): ρ or 1 + ρΔt, 1 at fixed nodes.
            let margin = growth.min(1.0);
            let (policy_tolerance, exact) =
                self.solve(&entries, width, &right, &values, margin, loose, &mut solution)?;
            tolerance = tolerance.max(policy_tolerance);
            let mut change = 0.0f64;
            let mut size = 0.0f64;
            for node in 0..nodes {
                let value = solution[node];
                if !value.is_finite() {
                    return Err(HjbError::NonFinite {
                        step: self.steps_taken + 1,
                        time: f64::NAN,
                        index: self.problem.grid.unravel(node),
                        point: self.problem.grid.point(node),
                        value,
                    });
                }
                change = change.max((value - values[node]).abs());
                size = size.max(value.abs());
                values[node] = value;
            }
            let relative = change / (1.0 + size);
            history.push(relative);
            loose = FORCING * relative;
            if relative <= tolerance && iteration > 1 && exact {
                self.finish_step(iteration, relative);
                return Ok(values);
            }
            let before = policy.to_vec();
            self.rows.improve(table, &values, policy, samples);
            if before == policy {
                if exact {
                    self.finish_step(iteration, relative);
                    return Ok(values);
                }
                // The policy is settled but the last solve was loose: solve it once more to ε.
                loose = 0.0;
            }
        }
        Err(HjbError::Numerical(format!(
            "policy iteration did not converge in {limit} sweeps at step {}; relative value changes: {}",
            self.steps_taken + 1,
            history.iter().map(|c| format!("{c:.2e}")).collect::<Vec<_>>().join(", ")
        )))
    }

    /// Solve the assembled system `M x = right` (rows in `entries`, `width` each) into `solution`,
    /// warm-started from `start` for BiCGSTAB to the relative error `max(ε, loose)`, and record
    /// the solve in the report. Returns the policy-iteration tolerance that goes with the solve
    /// ([`Tolerance`]; [`POLICY_TOLERANCE`] with LU) and whether the solve was to `ε` itself.
    #[allow(clippy::too_many_arguments)]
    fn solve(
        &mut self,
        entries: &[f64],
        width: usize,
        right: &[f64],
        start: &[f64],
        margin: f64,
        loose: f64,
        solution: &mut [f64],
    ) -> Result<(f64, bool)> {
        let nodes = right.len();
        let policy_tolerance = match &mut self.linear {
            Linear::Lu { symbolic, argsort, symbolic_lu } => {
                let matrix =
                    SparseColMat::new_from_argsort(symbolic.clone(), argsort, entries).map_err(|error| {
                        HjbError::Numerical(format!("implicit scheme: matrix assembly: {error:?}"))
                    })?;
                let lu =
                    Lu::try_new_with_symbolic(symbolic_lu.clone(), matrix.as_ref()).map_err(|error| {
                        HjbError::Numerical(format!("implicit scheme: LU factorisation failed: {error:?}"))
                    })?;
                let answer = lu.solve(&Mat::from_fn(nodes, 1, |node, _| right[node]));
                for (node, value) in solution.iter_mut().enumerate() {
                    *value = answer[(node, 0)];
                }
                (POLICY_TOLERANCE, true)
            }
            Linear::Tridiagonal(tridiagonal) => {
                tridiagonal.solve_rows(entries, &self.columns, width, right, solution).map_err(|error| {
                    HjbError::Numerical(format!("implicit scheme: tridiagonal elimination failed: {error}"))
                })?;
                (POLICY_TOLERANCE, true)
            }
            Linear::Krylov(krylov) => {
                let diagonal = entries.chunks(width).fold(0.0f64, |m, row| m.max(row[0]));
                let tolerance = Tolerance::new(POLICY_TOLERANCE, margin, diagonal);
                solution.copy_from_slice(start);
                let error = tolerance.error.max(loose);
                let solve = krylov.solve(entries, right, solution, margin * error);
                if !solve.converged {
                    return Err(HjbError::Numerical(format!(
                        "implicit scheme: BiCGSTAB stopped after {} iterations at the residual {:.3e} \
                         (target: a relative error of {:.1e}){}; use linear_solver = \"lu\" \
                         (--linear-solver lu) if the memory allows",
                        solve.iterations,
                        solve.residual,
                        error,
                        if ghost_rows(self.problem) {
                            " — the backward-Euler rows at extrapolated ends are not M-matrix rows where the \
                             drift points out, and BiCGSTAB with ILU(0) need not converge on them \
                             (boundary = \"state_constraint\" or a Dirichlet end gives M-matrix rows)"
                        } else {
                            ""
                        }
                    )));
                }
                self.report.linear_iterations += solve.iterations;
                self.report.linear_iterations_most = self.report.linear_iterations_most.max(solve.iterations);
                self.report.linear_tolerance = self.report.linear_tolerance.max(tolerance.error);
                (tolerance.policy, error <= tolerance.error)
            }
        };
        let residual = self.residual(entries, width, right, solution);
        let size = solution.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let relative = residual / (margin * (1.0 + size));
        if relative.is_finite() && policy_tolerance.1 {
            self.report.linear_residual = self.report.linear_residual.max(relative);
        }
        self.report.linear_solves += 1;
        Ok(policy_tolerance)
    }

    /// `‖right − M x‖∞` with `M`'s rows in `entries` (`width` entries each, at [`Self::columns`]).
    fn residual(&self, entries: &[f64], width: usize, right: &[f64], x: &[f64]) -> f64 {
        let mut largest = 0.0f64;
        for (node, (row, columns)) in entries.chunks(width).zip(self.columns.chunks(width)).enumerate() {
            let product: f64 = row.iter().zip(columns).map(|(m, c)| m * x[*c]).sum();
            largest = largest.max((right[node] - product).abs());
        }
        largest
    }

    fn finish_step(&mut self, iterations: usize, change: f64) {
        self.steps_taken += 1;
        self.total_iterations += iterations;
        self.report.most_iterations = self.report.most_iterations.max(iterations);
        self.report.last_change = self.report.last_change.max(change);
    }

    /// Update the M-matrix report from one assembled matrix (row-wise entries).
    fn check_matrix(&mut self, entries: &[f64], width: usize) {
        let mut positive_rows = 0;
        for row in entries.chunks(width) {
            if row[1..].iter().any(|v| *v > 0.0) {
                // An extrapolated outflow row: counted, and left out of the margin.
                positive_rows += 1;
                continue;
            }
            let off: f64 = row[1..].iter().map(|v| v.abs()).sum();
            self.report.margin = self.report.margin.min(row[0] - off);
        }
        self.report.positive_off_diagonal_rows = self.report.positive_off_diagonal_rows.max(positive_rows);
    }
}

impl Stepper for ImplicitStepper<'_> {
    fn step(
        &mut self,
        context: &StepContext<'_>,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
    ) -> Result<StepOutcome> {
        let mut samples = std::mem::take(&mut self.samples);
        let result = ImplicitStepper::step(self, context.table, old, policy, &mut samples, context.fixed);
        self.samples = samples;
        match result {
            Ok(values) => {
                new.copy_from_slice(&values);
                Ok(StepOutcome::of_field(new))
            }
            // A non-finite solution of the linear system: reported like any other step's.
            Err(HjbError::NonFinite { index, value, .. }) => Ok(StepOutcome {
                first_non_finite: Some((self.problem.grid.ravel(&index), value)),
                largest: (0.0, 0),
            }),
            Err(error) => Err(error),
        }
    }

    fn coefficient_level(&self) -> CoefficientLevel {
        CoefficientLevel::New
    }

    /// In the interior the matrix is an M-matrix for any Δt; the margin says whether every
    /// assembled row was (stationary problems also need no positive off-diagonal entry).
    fn monotone(&self, _worst_cfl: f64) -> bool {
        let report = self.report();
        report.margin > 0.0 && (!self.time_step.is_infinite() || report.positive_off_diagonal_rows == 0)
    }

    fn solves_stationary_directly(&self) -> bool {
        self.time_step.is_infinite()
    }

    fn report(&self) -> StepperReport {
        StepperReport::Implicit(ImplicitStepper::report(self))
    }
}
