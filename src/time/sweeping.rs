//! Fast sweeping: Gauss–Seidel on the stationary upwind equation in alternating orderings.
//!
//! The discrete equation is the one policy iteration solves ([`crate::time::generator`], inward
//! rows at extrapolated ends):
//!
//! ```text
//! ρV(x) − min_u [A(u)V + ℓ(u)](x) = 0  at every free node,   V = g on targets and Dirichlet ends.
//! ```
//!
//! One update solves a node's own equation with its neighbours held at their current values:
//! `V(x) = min_u (ℓ(u) + Σ_y r_y(u) V(y)) / (ρ + Σ_y r_y(u))` (sampled controls: the smallest
//! ratio; closed form: Newton on the node's concave, decreasing equation, see
//! [`Generator::relax_node`]). A sweep visits the nodes in one of the `2^d` orderings (axis `k`
//! ascending or descending, bit `k` of the ordering number), and the orderings alternate, so
//! information along a characteristic crosses the box in the sweep whose ordering follows it
//! A node is skipped while no node its row reads has changed since its last update (locking:
//! the skipped update would give the same value), so the last sweeps, which confirm convergence,
//! touch few nodes. (Zhao's fast sweeping, Kao–Osher–Qian for general Hamiltonians; here on the monotone upwind
//! scheme, whose update is a monotone map: Bokanowski–Falcone–Sahu). The sweep is sequential, so
//! the result does not depend on the number of threads.
//!
//! Exit-time problems (ρ = 0) start from above, `V = 10³⁰` at free nodes: a supersolution, from
//! which the updates decrease to the solution and a node never takes a value from a neighbour
//! that no characteristic has reached (starting from `g` below it, values would creep up by
//! `O(h)` per sweep). Discounted problems start from `g`. Stop: `‖ΔV‖∞ ≤ 1e-12 (1 + ‖V‖∞)` over
//! one sweep when ρ = 0 (the value-iteration rule); with ρ > 0 a sweep contracts by at most
//! `q = R/(ρ + R)` (`R` the largest `Σ_y r_y` met), and the sweeps stop when
//! `q/(1−q) ‖ΔV‖∞ ≤ 1e-9 (1 + ‖V‖∞)`. A free node still at `10³⁰` at the end cannot reach the
//! target: an error. See `docs/numerics.md` §4.5.

use crate::error::{HjbError, Result};
use crate::problem::Problem;
use crate::scheme::ControlModel;
use crate::time::generator::{Ends, Generator};
use crate::time::{CoefficientLevel, StepContext, StepOutcome, Stepper, StepperReport};

/// The starting value of free nodes of an exit-time problem (above any solution met).
const ABOVE: f64 = 1e30;

/// What the sweeps did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepingReport {
    /// Sweeps until the stopping rule held.
    pub sweeps: usize,
    /// Orderings alternated (`2^d`).
    pub orderings: usize,
    /// `‖ΔV‖∞` of the last sweep.
    pub last_change: f64,
    /// Node updates over all sweeps (nodes whose neighbours did not change are skipped).
    pub updates: usize,
}

/// The fast-sweeping solver of one stationary problem.
#[derive(Debug)]
pub struct SweepingStepper<'a> {
    problem: &'a Problem,
    rows: Generator<'a>,
    samples: Vec<usize>,
    report: SweepingReport,
}

impl<'a> SweepingStepper<'a> {
    /// The solver for `problem` (stationary).
    pub fn new(problem: &'a Problem, model: &'a ControlModel) -> Result<Self> {
        if !problem.is_stationary() {
            return Err(HjbError::InvalidOption {
                option: "scheme".to_string(),
                message: "fast sweeping solves stationary problems (discounted or exit time); a finite \
                          horizon marches in time: use scheme = \"upwind\" or \"implicit\" (or \"auto\")"
                    .to_string(),
            });
        }
        if problem.diffusion_matrix.is_some() {
            return Err(HjbError::InvalidOption {
                option: "scheme".to_string(),
                message: "correlated noise has no cross stencil in the fast-sweeping rows; use scheme = \
                          \"semi_lagrangian\" or \"upwind\""
                    .to_string(),
            });
        }
        let orderings = 1 << problem.grid.dimension();
        Ok(SweepingStepper {
            problem,
            rows: Generator::new(problem, model, Ends::Inward),
            samples: vec![0; problem.grid.node_count()],
            report: SweepingReport { sweeps: 0, orderings, last_change: 0.0, updates: 0 },
        })
    }

    /// The most sweeps before the run counts as not converged.
    fn limit(&self) -> usize {
        let points: usize = self.problem.grid.shape().iter().sum();
        (20 * points * self.report.orderings).max(1000)
    }

    /// Sweep to the fixed point from `start`.
    fn solve(&mut self, context: &StepContext<'_>, start: &[f64], policy: &mut [f64]) -> Result<Vec<f64>> {
        let grid = &self.problem.grid;
        let n = grid.dimension();
        let shape = grid.shape();
        let strides = grid.strides().to_vec();
        let nodes = grid.node_count();
        let discount = self.problem.discount;
        let free: Vec<bool> = (0..nodes)
            .map(|node| !self.rows.dirichlet_node[node] && context.fixed.is_none_or(|f| f[node].is_nan()))
            .collect();
        let mut values = start.to_vec();
        if discount == 0.0 {
            for (value, free) in values.iter_mut().zip(&free) {
                if *free {
                    *value = ABOVE;
                }
            }
        }
        let mut samples = std::mem::take(&mut self.samples);
        let limit = self.limit();
        let mut index = vec![0usize; n];
        let mut largest_rate = 0.0f64;
        // A node is updated again only after a node its row reads has changed (its update would
        // repeat the last one otherwise): Bak–McLaughlin–Renzi's locking.
        let mut active = free.clone();
        for sweep in 0..limit {
            let ordering = sweep % self.report.orderings;
            let (mut change, mut size) = (0.0f64, 0.0f64);
            index.fill(0);
            for _ in 0..nodes {
                // The node of multi-index `index` with the axes of set bits reversed.
                let mut node = 0;
                for k in 0..n {
                    let i = if ordering >> k & 1 == 1 { shape[k] - 1 - index[k] } else { index[k] };
                    node += i * strides[k];
                }
                if active[node] {
                    active[node] = false;
                    self.report.updates += 1;
                    let before = values[node];
                    if let Some(value) =
                        self.rows.relax_node(context.table, &mut values, node, policy, &mut samples, discount)
                    {
                        change = change.max((value - before).abs());
                        if value != before {
                            self.rows.for_each_reader(node, |reader| active[reader] = free[reader]);
                        }
                        if discount > 0.0 {
                            let (rates, _) = self.rows.rates(context.table, policy, &samples, node);
                            let total: f64 = rates.forward[..n].iter().chain(&rates.backward[..n]).sum();
                            largest_rate = largest_rate.max(total);
                        }
                    }
                }
                size = size.max(values[node].abs());
                // Odometer: the last axis fastest.
                for k in (0..n).rev() {
                    index[k] += 1;
                    if index[k] < shape[k] {
                        break;
                    }
                    index[k] = 0;
                }
            }
            self.report.sweeps = sweep + 1;
            self.report.last_change = change;
            let converged = if discount > 0.0 {
                let q = largest_rate / (discount + largest_rate);
                q / (1.0 - q) * change <= 1e-9 * (1.0 + size)
            } else {
                // Values still at the starting bound have not been reached yet.
                size < ABOVE && change <= 1e-12 * (1.0 + size)
            };
            if converged && sweep + 1 >= self.report.orderings {
                self.samples = samples;
                return Ok(values);
            }
            if change == 0.0 && !active.contains(&true) {
                // Nothing can move any more: nodes still at the bound are unreachable.
                break;
            }
        }
        self.samples = samples;
        if let Some(node) = (0..nodes).find(|node| free[*node] && values[*node] >= 0.5 * ABOVE) {
            return Err(HjbError::Numerical(format!(
                "fast sweeping: no control leads from {:?} to the target (the value stays infinite there)",
                grid.point(node)
            )));
        }
        Err(HjbError::NotConverged { method: "fast sweeping", limit, last_change: self.report.last_change })
    }
}

impl Stepper for SweepingStepper<'_> {
    fn step(
        &mut self,
        context: &StepContext<'_>,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
    ) -> Result<StepOutcome> {
        let values = self.solve(context, old, policy)?;
        new.copy_from_slice(&values);
        Ok(StepOutcome::of_field(new))
    }

    fn coefficient_level(&self) -> CoefficientLevel {
        CoefficientLevel::New
    }

    /// Every row is an M-matrix row (inward ends): the update is a monotone map.
    fn monotone(&self, _worst_cfl: f64) -> bool {
        true
    }

    fn solves_stationary_directly(&self) -> bool {
        true
    }

    fn report(&self) -> StepperReport {
        StepperReport::Sweeping(self.report)
    }
}
