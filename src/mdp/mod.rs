//! The MDP bridge (`docs/numerics.md` §6): the controlled Markov
//! chain of a scheme, as an explicit discrete MDP.
//!
//! States are the grid nodes, actions the control samples (the file's `samples` per control,
//! tensor product), and for each action `a` the transition matrix `P_a` (nodes × nodes, CSR) and
//! the stage cost `c_a(x) = Δt ℓ(x, u_a)`, discount `γ = e^{−ρΔt}`:
//!
//! ```text
//! V(x) = min_a { c_a(x) + γ Σ_y P_a(x, y) V(y) }   (x not terminal),   V(x) = g(x)   (terminal).
//! ```
//!
//! The rows come from the solvers' own code, not a copy: the upwind chain from
//! [`crate::scheme::upwind_weights`] (valid under the CFL bound), the semi-Lagrangian chain from
//! [`SemiLagrangianStepper::sample_transitions`] (interpolation weights at the feet; valid for any
//! Δt). So one explicit (or semi-Lagrangian, `refine = false`) step from `V` *is* one Jacobi
//! value-iteration backup of this MDP, and the stationary solution *is* its fixed point.
//!
//! Terminal states: target-set nodes and Dirichlet boundary nodes (value `g` or the boundary
//! formula). At state-constrained ends, actions whose drift points out of the box have cost +∞
//! (inadmissible; their row keeps the closed, reflected transition). At an extrapolated box end the PDE solvers use a linear ghost value, which is not a
//! probability; the MDP closes those ends as a state constraint instead (upwind: the outward
//! weight stays on the node; semi-Lagrangian: feet beyond the end are projected onto it), so the
//! two agree away from such ends. Every row is checked: entries ≥ 0 and sum 1 within 1e-12.
//!
//! On target sets the semi-Lagrangian step's exit fraction (stop at the target boundary within a
//! step) is not a Markov transition: the MDP's target nodes absorb, and on such problems its fixed
//! point differs from the PDE solution by that rounding (which `hjb mdp` reports as "vs PDE").
//!
//! Storage is sparse only: all state-action rows in one state-major array ([`rows`]:
//! `nnz ≤ nodes × actions × (2n + 1)` upwind or `× 2^n × feet` semi-Lagrangian, u32 targets),
//! built block by block in parallel with no per-row allocation kept; no dense
//! nodes × actions × nodes array exists. The per-action CSR matrices ([`Csr`], scipy's
//! `indptr`, `indices`, `data`) are extracted for the HDF5 export and the reference solvers;
//! sprs would add a second ndarray version to the build for no operation we need.

pub mod compare;
pub mod evaluate;
pub mod linear;
mod partial;
pub mod reference;
pub mod rows;
pub mod solve;

pub use compare::{compare_with_pde, matching_pde_settings, MdpComparison};
pub use rows::Transitions;
pub use solve::{solve, MdpSolution, Method, SolveOptions};

use crate::error::{HjbError, Result};
use crate::problem::Problem;
use crate::scheme::closure::Closure;
use crate::scheme::constraint::{admissibility, required_level, StateConstraints};
use crate::scheme::hamiltonian::control_samples;
use crate::scheme::{upwind_weights, ControlModel, Tabulation};
use crate::settings::{Characteristic, Settings, Stepping};
use crate::time::semi_lagrangian::merge;
use crate::time::SemiLagrangianStepper;
use rayon::prelude::*;

/// Which scheme's Markov chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// Kushner's upwind chain (the explicit upwind weights); needs Δt ≤ the CFL bound.
    Upwind,
    /// Interpolation weights at the (Camilli–Falcone) feet; any Δt.
    SemiLagrangian,
}

impl Chain {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Chain::Upwind => "upwind",
            Chain::SemiLagrangian => "semi_lagrangian",
        }
    }

    /// The chain of a run's settings: semi-Lagrangian for semi-Lagrangian stepping, upwind
    /// otherwise.
    pub fn of_settings(settings: &Settings) -> Chain {
        match settings.stepping {
            Stepping::SemiLagrangian { .. } => Chain::SemiLagrangian,
            _ => Chain::Upwind,
        }
    }
}

/// A square sparse matrix in compressed sparse row form (scipy's layout).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr {
    /// Row starts: the entries of row `x` are at `indptr[x]..indptr[x + 1]` (one more entry than
    /// rows).
    pub indptr: Vec<usize>,
    /// Column of each stored entry.
    pub indices: Vec<usize>,
    /// Value of each stored entry.
    pub data: Vec<f64>,
}

impl Csr {
    /// `Σ_y P(x, y) v(y)`.
    #[inline]
    pub fn row_dot(&self, row: usize, values: &[f64]) -> f64 {
        let (start, end) = (self.indptr[row], self.indptr[row + 1]);
        self.indices[start..end].iter().zip(&self.data[start..end]).map(|(y, p)| p * values[*y]).sum()
    }
}

/// The discrete MDP of a scheme on a grid.
#[derive(Debug, Clone)]
pub struct Mdp {
    /// The scheme whose Markov chain this is.
    pub chain: Chain,
    /// The time step `Δt` of one transition.
    pub time_step: f64,
    /// `γ = e^{−ρΔt}`.
    pub discount: f64,
    /// Number of states (the grid nodes).
    pub nodes: usize,
    /// `actions[a * m + j]`: control `j` of action `a`.
    pub actions: Vec<f64>,
    /// Number of actions (control samples).
    pub action_count: usize,
    /// All transition rows, state-major (row `x · action_count + a`).
    pub transitions: Transitions,
    /// `cost[x * actions + a] = Δt ℓ(x, u_a)`.
    pub cost: Vec<f64>,
    /// Terminal (absorbing) states and their values (NaN where not terminal).
    pub terminal: Vec<bool>,
    /// Value of each terminal state (the exit cost `g` or the Dirichlet boundary formula); NaN
    /// where not terminal.
    pub terminal_value: Vec<f64>,
    /// State-action pairs whose row was closed at a box end (an extrapolated or state-constrained
    /// end for the upwind chain; a foot outside the box for the semi-Lagrangian chain).
    pub closed_rows: usize,
}

impl Mdp {
    /// Memory of the transition matrices and costs, in bytes.
    pub fn bytes(&self) -> usize {
        self.transitions.bytes() + 8 * self.cost.len() + 9 * self.nodes
    }

    /// Number of stored transition probabilities over all actions.
    pub fn nonzeros(&self) -> usize {
        self.transitions.entries()
    }

    /// The transition matrix of one action (scipy's CSR layout).
    pub fn action_matrix(&self, action: usize) -> Csr {
        self.transitions.action_matrix(action, self.action_count)
    }

    /// `Σ_y P_a(x, y) v(y)`.
    #[inline]
    pub fn expectation(&self, x: usize, action: usize, values: &[f64]) -> f64 {
        self.transitions.row_dot(x * self.action_count + action, values)
    }

    /// Number of controls per action.
    pub fn control_dimension(&self) -> usize {
        self.actions.len() / self.action_count.max(1)
    }

    /// One Jacobi Bellman backup: `out(x) = min_a {c_a(x) + γ P_a V(x)}`, the argmin in `policy`.
    /// Parallel over blocks of states; every state's arithmetic is the same on any thread count.
    pub fn backup(&self, values: &[f64], out: &mut [f64], policy: &mut [usize]) {
        let kernel = |block: usize, out: &mut [f64], policy: &mut [usize]| {
            for (i, (value, action)) in out.iter_mut().zip(policy.iter_mut()).enumerate() {
                let x = block * BLOCK + i;
                if self.terminal[x] {
                    *value = self.terminal_value[x];
                    *action = 0;
                } else {
                    (*value, *action) = self.best_action(x, values);
                }
            }
        };
        if parallel(self.transitions.slots()) {
            out.par_chunks_mut(BLOCK)
                .zip(policy.par_chunks_mut(BLOCK))
                .enumerate()
                .for_each(|(block, (out, policy))| kernel(block, out, policy));
        } else {
            out.chunks_mut(BLOCK)
                .zip(policy.chunks_mut(BLOCK))
                .enumerate()
                .for_each(|(block, (out, policy))| kernel(block, out, policy));
        }
    }

    /// `min_a {c_a(x) + γ P_a V(x)}` and its first minimiser (fused: no Q-values stored).
    #[inline]
    pub fn best_action(&self, x: usize, values: &[f64]) -> (f64, usize) {
        let a = self.action_count;
        self.transitions.best_action(x, &self.cost[x * a..(x + 1) * a], self.discount, values)
    }
}

/// States per parallel task of the backups and evaluation sweeps.
pub(crate) const BLOCK: usize = 1024;

/// Whether a sweep reading `entries` stored probabilities is worth the threads: below 2¹⁸
/// entries (a few hundred microseconds) the synchronisation of a parallel sweep costs more than
/// it saves. Either way every state's arithmetic is the same.
pub(crate) fn parallel(entries: usize) -> bool {
    entries >= 1 << 18 && rayon::current_num_threads() > 1
}

/// States per parallel task while the rows are built (blocks are appended in state order).
const BUILD_BLOCK: usize = 4096;

/// Build the MDP of `problem` for `chain` with step `time_step` (coefficients at the
/// problem's tabulation time; semi-Lagrangian feet by `characteristic`). Refuses an upwind chain
/// above its CFL bound and any row that is not a probability distribution.
pub fn build(problem: &Problem, chain: Chain, time_step: f64, characteristic: Characteristic) -> Result<Mdp> {
    let (actions, action_count) = control_samples(problem)?;
    build_with_actions(problem, chain, time_step, characteristic, actions, action_count, true)
}

/// The passive chain of `chain`: the one action `u = 0` (the uncontrolled dynamics' weights),
/// with stage cost `Δt ℓ(x, 0)`; for the linearly solvable MDP ([`linear`]). Unlike [`build`] it
/// accepts γ = 1 without terminal states (a finite horizon is marched, not iterated to a fixed
/// point).
pub fn build_passive(
    problem: &Problem,
    chain: Chain,
    time_step: f64,
    characteristic: Characteristic,
) -> Result<Mdp> {
    let zeros = vec![0.0; problem.controls.len()];
    build_with_actions(problem, chain, time_step, characteristic, zeros, 1, false)
}

/// [`build`] on the given action set (`actions[a * m + j]`); `stationary`: refuse γ = 1 without
/// terminal states (a fixed point that is not finite).
fn build_with_actions(
    problem: &Problem,
    chain: Chain,
    time_step: f64,
    characteristic: Characteristic,
    actions: Vec<f64>,
    action_count: usize,
    stationary: bool,
) -> Result<Mdp> {
    if !(time_step.is_finite() && time_step > 0.0) {
        return Err(HjbError::InvalidOption {
            option: "time_step".to_string(),
            message: format!("{time_step} must be a positive number"),
        });
    }
    if chain == Chain::Upwind && problem.diffusion_matrix.is_some() {
        return Err(HjbError::InvalidOption {
            option: "chain".to_string(),
            message: "correlated noise has no upwind chain in this build (the explicit cross stencil \
                      is added outside the chain's rows); use the semi_lagrangian chain"
                .to_string(),
        });
    }
    if problem.game.is_some() {
        return Err(HjbError::InvalidProblem {
            field: "disturbance".to_string(),
            message: "a differential game has no single-player Markov decision process: its discrete twin                       is a stochastic game (Shapley's value iteration), which this build does not solve;                       solve the game with `hjb solve` (Lax–Friedrichs)"
                .to_string(),
        });
    }
    let grid = &problem.grid;
    let n = grid.dimension();
    let nodes = grid.node_count();
    let coordinates = grid.coordinate_columns();
    let model = ControlModel::Sampled { values: actions.clone(), count: action_count };
    let t = problem.tabulation_time();
    let table = Tabulation::new(problem, &model, &coordinates, t);

    // Terminal states: the nodes the PDE solvers hold fixed (Dirichlet ends, target sets).
    let terminal_value = problem.fixed_values(&coordinates, t).unwrap_or_else(|| vec![f64::NAN; nodes]);
    let terminal: Vec<bool> = terminal_value.iter().map(|v| !v.is_nan()).collect();
    let discount = (-problem.discount * time_step).exp();
    if stationary && discount >= 1.0 && !terminal.iter().any(|t| *t) {
        return Err(HjbError::InvalidProblem {
            field: "cost.discount".to_string(),
            message: "the MDP has discount γ = 1 (ρ = 0) and no terminal state: its values are not \
                      finite; give a discount > 0 or a target set"
                .to_string(),
        });
    }

    let inverse_spacing: Vec<f64> = grid.spacings().iter().map(|h| 1.0 / h).collect();
    let mut cost: Vec<f64> = table.sample_cost.iter().map(|l| time_step * l).collect();
    // State-constrained ends: actions below the best admissibility level present (outward
    // drift, or noise across the face) are inadmissible: cost +∞.
    let constraints = StateConstraints::new(problem);
    if constraints.any() {
        cost.par_chunks_mut(action_count).enumerate().for_each(|(x, costs)| {
            let Some(sides) = constraints.sides(&grid.unravel(x)) else { return };
            let level = |a: usize| {
                let row = x * action_count + a;
                let diffusion = table.sample_diffusion.get(row * n..(row + 1) * n).unwrap_or(&[]);
                admissibility(&table.sample_drift[row * n..(row + 1) * n], diffusion, &sides)
            };
            let required = required_level(action_count, level);
            for (a, c) in costs.iter_mut().enumerate() {
                if level(a) < required {
                    *c = f64::INFINITY;
                }
            }
        });
    }
    // The chain's actions are the samples: no golden-section refinement between them.
    let stepper = match chain {
        Chain::SemiLagrangian => Some(
            SemiLagrangianStepper::new(problem, &model, &table, time_step, f64::NAN, characteristic, false)?
                .projecting_feet(),
        ),
        Chain::Upwind => None,
    };
    if chain == Chain::Upwind {
        // The CFL bound of the chain: every stay weight must be ≥ 0.
        let rate = (0..nodes * action_count)
            .into_par_iter()
            .map(|row| {
                let drift = &table.sample_drift[row * n..(row + 1) * n];
                let diffusion = table.sample_diffusion.get(row * n..(row + 1) * n).unwrap_or(&[]);
                (0..n)
                    .map(|i| {
                        drift[i].abs() * inverse_spacing[i]
                            + 2.0
                                * diffusion.get(i).copied().unwrap_or(0.0)
                                * inverse_spacing[i]
                                * inverse_spacing[i]
                    })
                    .sum::<f64>()
            })
            .reduce(|| 0.0, f64::max)
            + problem.switching.as_ref().map_or(0.0, |s| s.largest_rate());
        if rate * time_step > 1.0 + 1e-12 {
            return Err(HjbError::CflViolated {
                scheme: "upwind (MDP chain)".to_string(),
                time_step,
                time_step_max: 1.0 / rate,
                cfl: rate * time_step,
            });
        }
    }
    if nodes > u32::MAX as usize {
        return Err(HjbError::InvalidProblem {
            field: "state".to_string(),
            message: format!("{nodes} states: the MDP stores u32 state indices (at most {})", u32::MAX),
        });
    }
    let shape = grid.shape();
    let strides = grid.strides().to_vec();
    let closures: Vec<Closure> = problem.boundaries.iter().map(Closure::of).collect();
    // The row of state x under action a: (target, probability) pairs, and whether it was closed
    // at a box end.
    let row = |x: usize, a: usize, index: &mut [usize]| -> (Vec<(usize, f64)>, bool) {
        if terminal[x] {
            return (vec![(x, 1.0)], false);
        }
        let row = x * action_count + a;
        match &stepper {
            Some(stepper) => stepper.sample_transitions(&table, x, a),
            None => {
                let drift = &table.sample_drift[row * n..(row + 1) * n];
                let diffusion = table.sample_diffusion.get(row * n..(row + 1) * n).unwrap_or(&[]);
                let weights = upwind_weights(drift, diffusion, &inverse_spacing, time_step);
                let mut pairs = vec![(x, weights.stay)];
                let mut closed = false;
                grid.unravel_inplace(x, index);
                for k in 0..n {
                    for (weight, forward) in [(weights.forward[k], true), (weights.backward[k], false)] {
                        if weight == 0.0 {
                            continue;
                        }
                        let (target, closed_here) =
                            closures[k].chain_neighbour(x, index[k], shape[k], strides[k], forward);
                        closed |= closed_here;
                        pairs.push((target, weight));
                    }
                }
                if let Some(switching) = &problem.switching {
                    for (target, _, rate) in switching.jumps(x) {
                        pairs.push((target, time_step * rate));
                        pairs[0].1 -= time_step * rate;
                    }
                }
                (merge(pairs), closed)
            }
        }
    };
    // One block of states: its rows (ends relative to the block), checked to be probability
    // distributions.
    let noisy = problem.diffusion.is_some() || problem.diffusion_matrix.is_some();
    let regimes = problem.switching.as_ref().map_or(1, |s| s.rates.len());
    let width = rows::fixed_width(rows::entries_per_row(chain == Chain::SemiLagrangian, n, noisy, regimes));
    let block = |states: std::ops::Range<usize>| -> Result<(Transitions, usize)> {
        let mut out = Transitions::with_width(width);
        let mut closed_rows = 0;
        let mut index = vec![0; n];
        for x in states {
            for a in 0..action_count {
                let (pairs, closed) = row(x, a, &mut index);
                closed_rows += usize::from(closed);
                let total: f64 = pairs.iter().map(|p| p.1).sum();
                let smallest = pairs.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
                if (total - 1.0).abs() > 1e-12 || smallest < 0.0 {
                    return Err(HjbError::Numerical(format!(
                        "MDP row of state {x} ({:?}) under action {a} is not a probability distribution \
                         (sum {total:.15}, smallest entry {smallest:.3e}): the {} chain is broken at this Δt = {time_step:e}",
                        grid.point(x),
                        chain.name()
                    )));
                }
                out.push_row(&pairs).map_err(|length| {
                    HjbError::Numerical(format!(
                        "MDP row of state {x} under action {a} has {length} entries, more than the \
                         {width} of the {} chain's layout",
                        chain.name()
                    ))
                })?;
            }
        }
        Ok((out, closed_rows))
    };
    // Blocks built in parallel a batch at a time and appended in state order (deterministic; the
    // transient copies are one batch, not the whole chain).
    let mut transitions = Transitions::with_width(width);
    let mut closed_rows = 0;
    let block_count = nodes.div_ceil(BUILD_BLOCK);
    let batch = 8 * rayon::current_num_threads().max(1);
    for first in (0..block_count).step_by(batch) {
        let blocks: Vec<Result<(Transitions, usize)>> = (first..(first + batch).min(block_count))
            .into_par_iter()
            .map(|b| block(b * BUILD_BLOCK..((b + 1) * BUILD_BLOCK).min(nodes)))
            .collect();
        for built in blocks {
            let (built, closed) = built?;
            closed_rows += closed;
            transitions.append(&built);
        }
    }
    transitions.compact_pairs(nodes);
    transitions.shrink_to_fit();
    Ok(Mdp {
        chain,
        time_step,
        discount,
        nodes,
        actions,
        action_count,
        transitions,
        cost,
        terminal,
        terminal_value,
        closed_rows,
    })
}
