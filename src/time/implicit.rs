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
//! symbolic factorisation computed once and reused), improve the policy node by node with the
//! same exact minimisation as the explicit scheme, and repeat until the value stops changing
//! (`‖V_{k+1} − V_k‖∞ ≤ 1e-12 (1 + ‖V‖∞)`) or the policy is unchanged. In the interior the matrix is
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
use crate::time::generator::{Ends, Generator, Slot};
use crate::time::{CoefficientLevel, StepContext, StepOutcome, Stepper, StepperReport};
use faer::linalg::solvers::Solve;
use faer::sparse::linalg::solvers::{Lu, SymbolicLu};
use faer::sparse::{Pair, SparseColMat, SymbolicSparseColMat};
use faer::Mat;

/// Largest number of policy-iteration sweeps per step.
pub const MAX_POLICY_ITERATIONS: usize = 50;
/// Largest number of policy-iteration sweeps for a stationary problem.
pub const MAX_STATIONARY_ITERATIONS: usize = 500;

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
}

/// The implicit stepper of one problem on one grid.
#[derive(Debug)]
pub struct ImplicitStepper<'a> {
    problem: &'a Problem,
    rows: Generator<'a>,
    time_step: f64,
    symbolic: SymbolicSparseColMat<usize>,
    argsort: faer::sparse::Argsort<usize>,
    symbolic_lu: SymbolicLu<usize>,
    report: ImplicitReport,
    steps_taken: usize,
    total_iterations: usize,
    /// The policy's sample index per node (sampled model).
    samples: Vec<usize>,
}

impl<'a> ImplicitStepper<'a> {
    /// The stepper for backward-Euler steps of `time_step`, or for the stationary equation when
    /// `time_step` is infinite (refused without discount).
    pub fn new(problem: &'a Problem, model: &'a ControlModel, time_step: f64) -> Result<Self> {
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
        let mut pairs = Vec::with_capacity(nodes * (1 + 2 * n + regimes));
        for node in 0..nodes {
            pairs.push(Pair::new(node, node));
            for slot in &slots[node * 2 * n..(node + 1) * 2 * n] {
                let column = match slot {
                    Slot::Neighbour(c) | Slot::Extrapolated(c) => *c,
                    Slot::Unused => node,
                };
                pairs.push(Pair::new(node, column));
            }
            if let Some(switching) = &problem.switching {
                for k in 0..regimes {
                    pairs.push(Pair::new(node, switching.node_in(node, k)));
                }
            }
        }
        let numerical = |message: String| HjbError::Numerical(format!("implicit scheme: {message}"));
        let (symbolic, argsort) = SymbolicSparseColMat::try_new_from_indices(nodes, nodes, &pairs)
            .map_err(|error| numerical(format!("sparsity pattern: {error:?}")))?;
        let symbolic_lu = SymbolicLu::try_new(symbolic.as_ref())
            .map_err(|error| numerical(format!("symbolic LU: {error:?}")))?;
        Ok(ImplicitStepper {
            problem,
            rows,
            time_step,
            symbolic,
            argsort,
            symbolic_lu,
            report: ImplicitReport {
                most_iterations: 0,
                mean_iterations: 0.0,
                margin: f64::INFINITY,
                positive_off_diagonal_rows: 0,
                last_change: 0.0,
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
        let mut right = Mat::<f64>::zeros(nodes, 1);
        let mut history = Vec::new();
        for iteration in 1..=limit {
            // Assemble M(u) and the right-hand side.
            for node in 0..nodes {
                let row = &mut entries[node * width..(node + 1) * width];
                let fixed = boundary.map(|b| b[node]).filter(|v| !v.is_nan());
                if self.rows.dirichlet_node[node] || fixed.is_some() {
                    row.fill(0.0);
                    row[0] = 1.0;
                    right[(node, 0)] = fixed.unwrap_or(previous[node]);
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
                right[(node, 0)] = if stationary { cost } else { previous[node] + dt * cost };
            }
            self.check_matrix(&entries, width);
            let matrix = SparseColMat::new_from_argsort(self.symbolic.clone(), &self.argsort, &entries)
                .map_err(|error| {
                    HjbError::Numerical(format!("implicit scheme: matrix assembly: {error:?}"))
                })?;
            let lu =
                Lu::try_new_with_symbolic(self.symbolic_lu.clone(), matrix.as_ref()).map_err(|error| {
                    HjbError::Numerical(format!("implicit scheme: LU factorisation failed: {error:?}"))
                })?;
            let solution = lu.solve(&right);
            let mut change = 0.0f64;
            let mut size = 0.0f64;
            for node in 0..nodes {
                let value = solution[(node, 0)];
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
            if relative <= 1e-12 && iteration > 1 {
                self.finish_step(iteration, relative);
                return Ok(values);
            }
            let before = policy.to_vec();
            self.rows.improve(table, &values, policy, samples);
            if before == policy {
                self.finish_step(iteration, relative);
                return Ok(values);
            }
        }
        Err(HjbError::Numerical(format!(
            "policy iteration did not converge in {limit} sweeps at step {}; relative value changes: {}",
            self.steps_taken + 1,
            history.iter().map(|c| format!("{c:.2e}")).collect::<Vec<_>>().join(", ")
        )))
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
