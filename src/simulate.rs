//! Closed-loop trajectories from a stored policy.
//!
//! The feedback `u(x, t)` is the stored policy interpolated multilinearly in `x` (monotone,
//! clamped to the grid box) and — when the result holds snapshots — linearly in `t` between
//! stored times; without snapshots the `t = 0` policy is used throughout. Controls are clamped to
//! their box. The closed loop `ẋ = f(x, u(x,t), t)` and the discounted cost
//! `J' = e^{−ρt} ℓ(x, u(x,t), t)` are integrated together by classical RK4 with the feedback
//! evaluated at every stage; the realised cost is `J(T) + e^{−ρT} g(x(T))`.
//!
//! In a game the disturbance is one of the inputs: by default it plays its stored optimal
//! feedback (its worst case); [`laws`] replaces it by a user formula.
//!
//! For a deterministic problem the realised cost from `x0` and the interpolated `V(x0, 0)` agree
//! up to the discretisation error of the value and of the policy.

use crate::error::{HjbError, Result};
use crate::grid::{Axis, Grid};
use crate::problem::Problem;
use ndarray::ArrayD;

pub mod ensemble;
pub mod laws;
mod paths;
pub mod reach;

pub use ensemble::EnsembleStatistics;
pub use laws::{disturbance_laws, InputLaw};
pub use paths::{exact_terminal_law, simulate_paths, simulate_paths_with};
pub use reach::reach_payoff;

/// The parts of a result file that hjb itself reads back (`simulate`, tests). Every field has
/// the stored shape `shape` (one entry per state, row-major as in the file).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    /// State names, in axis order.
    pub state_names: Vec<String>,
    /// Control names, in order.
    pub control_names: Vec<String>,
    /// The scheme name of the run that wrote it.
    pub scheme: String,
    /// Node coordinates per axis (`/grid/<state>`).
    pub coordinates: Vec<Vec<f64>>,
    /// Points per axis.
    pub shape: Vec<usize>,
    /// `/value`.
    pub values: ArrayD<f64>,
    /// `/policy/<control>`, one field per control.
    pub policy: Vec<ArrayD<f64>>,
    /// The problem file text (or the description of a model built in code).
    pub problem_toml: String,
    /// `/reference/value`, when the result has a reference.
    pub reference: Option<ArrayD<f64>>,
    /// Why the run stopped early, when the file holds a partial result.
    pub stopped: Option<String>,
    /// Stored time levels (`/time`, `/snapshots/...`), when the run kept them.
    pub snapshots: Option<crate::solver::Snapshots>,
}

/// A simulated closed-loop trajectory.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Physical times of the samples.
    pub times: Vec<f64>,
    /// `states[k]` at `times[k]`.
    pub states: Vec<Vec<f64>>,
    /// `controls[k]` applied at `times[k]`.
    pub controls: Vec<Vec<f64>>,
    /// Accumulated discounted running cost at `times[k]`.
    pub running_cost: Vec<f64>,
    /// Realised total cost (running + discounted terminal).
    pub cost: f64,
    /// `V(x0, 0)` interpolated from the stored value.
    pub value_at_start: f64,
    /// Whether the feedback used stored snapshots (time-dependent) or the `t = 0` policy.
    pub time_dependent_policy: bool,
}

/// The grid of a stored result (the problem's axes with the stored point counts).
pub fn stored_grid(problem: &Problem, stored: &StoredResult) -> Result<Grid> {
    let axes: Vec<Axis> = problem
        .grid
        .axes()
        .iter()
        .zip(&stored.shape)
        .map(|(axis, points)| Axis { points: *points, ..axis.clone() })
        .collect();
    let grid = Grid::new(axes)?;
    let shape = grid.shape();
    let snapshot_fields =
        stored.snapshots.iter().flat_map(|s| s.values.iter().chain(s.policies.iter().flatten()));
    let mismatched = std::iter::once(&stored.values)
        .chain(&stored.policy)
        .chain(&stored.reference)
        .chain(snapshot_fields)
        .find(|field| field.shape() != shape.as_slice());
    if stored.shape.len() != problem.grid.dimension() || mismatched.is_some() {
        return Err(HjbError::InvalidGrid {
            message: format!(
                "the stored fields do not all have the stored grid's shape {:?} for {} states",
                stored.shape,
                problem.grid.dimension()
            ),
        });
    }
    Ok(grid)
}

/// The stored feedback `u(x, t)`: the policy interpolated multilinearly in x and, with
/// snapshots, linearly in t; clamped to the control box.
/// An input with a user law ([`InputLaw`]) follows the law instead.
fn feedback(
    problem: &Problem,
    grid: &Grid,
    stored: &StoredResult,
    laws: &[InputLaw],
    x: &[f64],
    t: f64,
) -> Vec<f64> {
    let snapshots = stored.snapshots.as_ref().filter(|s| s.times.len() >= 2);
    problem
        .controls
        .iter()
        .enumerate()
        .map(|(j, control)| {
            if let Some(law) = laws.iter().find(|law| law.input == j) {
                return law.value(problem, x, t);
            }
            let value = match snapshots {
                None => grid.interpolate_field(&stored.policy[j], x),
                Some(s) => {
                    let k = s.times.partition_point(|time| *time <= t).clamp(1, s.times.len() - 1);
                    let weight = ((t - s.times[k - 1]) / (s.times[k] - s.times[k - 1])).clamp(0.0, 1.0);
                    (1.0 - weight) * grid.interpolate_field(&s.policies[k - 1][j], x)
                        + weight * grid.interpolate_field(&s.policies[k][j], x)
                }
            };
            value.clamp(control.lower, control.upper)
        })
        .collect()
}

/// Closed-loop simulation from `start` over `[0, horizon]` with RK4 steps of at most `time_step`.
pub fn simulate(
    problem: &Problem,
    stored: &StoredResult,
    start: &[f64],
    horizon: f64,
    time_step: f64,
) -> Result<Trajectory> {
    simulate_with(problem, stored, &[], start, horizon, time_step)
}

/// [`simulate`] with user laws replacing some inputs' stored feedback (e.g. a disturbance
/// `b = sin(t)` instead of its worst case; see [`laws`]).
pub fn simulate_with(
    problem: &Problem,
    stored: &StoredResult,
    laws: &[InputLaw],
    start: &[f64],
    horizon: f64,
    time_step: f64,
) -> Result<Trajectory> {
    let grid = stored_grid(problem, stored)?;
    let n = grid.dimension();
    let m = problem.controls.len();
    if start.len() != n {
        return Err(HjbError::InvalidStart {
            message: format!(
                "{} coordinates given for {n} states ({})",
                start.len(),
                problem.state_names().join(", ")
            ),
        });
    }
    for (axis, x) in grid.axes().iter().zip(start) {
        if !(x.is_finite() && *x >= axis.lower && *x <= axis.upper) {
            return Err(HjbError::InvalidStart {
                message: format!("{} = {x} is outside the grid [{}, {}]", axis.name, axis.lower, axis.upper),
            });
        }
    }
    if !(horizon > 0.0 && horizon.is_finite() && time_step > 0.0 && time_step.is_finite()) {
        return Err(HjbError::InvalidHorizon { horizon, time_step });
    }
    check_work(horizon, time_step, 1)?;
    let time_dependent_policy = stored.snapshots.as_ref().is_some_and(|s| s.times.len() >= 2);
    let mut variables = vec![0.0; n + m + 1];
    let mut rate = |x: &[f64], t: f64| -> (Vec<f64>, f64, Vec<f64>) {
        let u = feedback(problem, &grid, stored, laws, x, t);
        variables[..n].copy_from_slice(x);
        variables[n..n + m].copy_from_slice(&u);
        variables[n + m] = t;
        let drift: Vec<f64> = problem.dynamics.iter().map(|f| f.evaluate(&variables)).collect();
        let cost = (-problem.discount * t).exp() * problem.running_cost.evaluate(&variables);
        (drift, cost, u)
    };
    let steps = (horizon / time_step).ceil().max(1.0) as usize;
    let dt = horizon / steps as f64;
    let mut x = start.to_vec();
    let mut accumulated = 0.0;
    let mut trajectory = Trajectory {
        times: Vec::with_capacity(steps + 1),
        states: Vec::with_capacity(steps + 1),
        controls: Vec::with_capacity(steps + 1),
        running_cost: Vec::with_capacity(steps + 1),
        cost: 0.0,
        value_at_start: grid.interpolate_field(&stored.values, start),
        time_dependent_policy,
    };
    let shifted = |x: &[f64], k: &[f64], scale: f64| -> Vec<f64> {
        x.iter().zip(k).map(|(a, b)| a + scale * b).collect()
    };
    for step in 0..steps {
        let t = step as f64 * dt;
        let (k1, c1, u) = rate(&x, t);
        trajectory.times.push(t);
        trajectory.states.push(x.clone());
        trajectory.controls.push(u);
        trajectory.running_cost.push(accumulated);
        let (k2, c2, _) = rate(&shifted(&x, &k1, dt / 2.0), t + dt / 2.0);
        let (k3, c3, _) = rate(&shifted(&x, &k2, dt / 2.0), t + dt / 2.0);
        let (k4, c4, _) = rate(&shifted(&x, &k3, dt), t + dt);
        for i in 0..n {
            x[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        accumulated += dt / 6.0 * (c1 + 2.0 * c2 + 2.0 * c3 + c4);
        if !(x.iter().all(|v| v.is_finite()) && accumulated.is_finite()) {
            return Err(HjbError::PathNonFinite {
                step: step + 1,
                time: t + dt,
                state: x,
                cost: accumulated,
            });
        }
    }
    let (_, _, u) = rate(&x, horizon);
    trajectory.times.push(horizon);
    trajectory.states.push(x.clone());
    trajectory.controls.push(u);
    trajectory.running_cost.push(accumulated);
    variables[..n].copy_from_slice(&x);
    let terminal = problem.terminal_cost.evaluate(&variables);
    trajectory.cost = accumulated + (-problem.discount * horizon).exp() * terminal;
    Ok(trajectory)
}

/// The most integration steps of one simulated path (the path is kept in memory).
pub const MAX_SIMULATION_STEPS: f64 = 1e7;
/// The most paths of a Monte Carlo simulation.
pub const MAX_PATHS: usize = 10_000_000;
/// The most path steps (paths × steps) of a Monte Carlo simulation.
pub const MAX_PATH_STEPS: f64 = 1e10;

/// Refuse simulations whose step count, path count or total work is above the limits (before
/// anything is allocated).
pub(crate) fn check_work(horizon: f64, time_step: f64, paths: usize) -> Result<()> {
    let steps = (horizon / time_step).ceil();
    let what = format!("a simulation over the horizon {horizon:e} with the time step {time_step:e}");
    if !(steps <= MAX_SIMULATION_STEPS) {
        return Err(HjbError::TooMuchWork {
            what,
            count: steps,
            unit: "integration steps",
            limit: MAX_SIMULATION_STEPS,
        });
    }
    if paths > MAX_PATHS {
        return Err(HjbError::TooMuchWork {
            what: "a Monte Carlo simulation".to_string(),
            count: paths as f64,
            unit: "paths",
            limit: MAX_PATHS as f64,
        });
    }
    if !(steps * paths as f64 <= MAX_PATH_STEPS) {
        return Err(HjbError::TooMuchWork {
            what: format!("{what} and {paths} paths"),
            count: steps * paths as f64,
            unit: "path steps",
            limit: MAX_PATH_STEPS,
        });
    }
    Ok(())
}

/// The trajectory as CSV: `t, <states>, <controls>, running_cost`.
pub fn to_csv(problem: &Problem, trajectory: &Trajectory) -> String {
    let mut header = vec!["t".to_string()];
    header.extend(problem.state_names());
    header.extend(problem.control_names());
    header.push("running_cost".to_string());
    let mut text = header.join(",") + "\n";
    for k in 0..trajectory.times.len() {
        let mut row = vec![format!("{:e}", trajectory.times[k])];
        row.extend(trajectory.states[k].iter().map(|v| format!("{v:e}")));
        row.extend(trajectory.controls[k].iter().map(|v| format!("{v:e}")));
        row.push(format!("{:e}", trajectory.running_cost[k]));
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

/// Monte Carlo over closed-loop paths of a stochastic problem.
#[derive(Debug, Clone, PartialEq)]
pub struct PathStatistics {
    /// The first path (the one written to CSV/HDF5/PNG).
    pub trajectory: Trajectory,
    /// Mean realised cost over the paths (for a deterministic problem: the single path's cost).
    pub cost_mean: f64,
    /// Standard error of the mean (0 for a deterministic problem).
    pub cost_standard_error: f64,
    /// Number of simulated paths.
    pub paths: usize,
    /// Every path's terminal state, row-major `paths × states` (path order).
    pub terminal_states: Vec<f64>,
    /// Moments of the terminal states and their comparison with the exact law of `X_T` when the
    /// problem knows it (stochastic problems only).
    pub ensemble: Option<EnsembleStatistics>,
}

/// SplitMix64 → uniform → Box–Muller: a seeded normal stream in a few lines (the simulation needs
/// reproducible Gaussian increments, nothing more, which does not justify a dependency).
#[derive(Debug, Clone)]
struct Normal {
    state: u64,
    spare: Option<f64>,
}

impl Normal {
    fn new(seed: u64) -> Self {
        Normal { state: seed ^ 0x9e37_79b9_7f4a_7c15, spare: None }
    }

    fn uniform(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // In (0, 1]: never 0, so the logarithm below is finite.
        ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn sample(&mut self) -> f64 {
        if let Some(value) = self.spare.take() {
            return value;
        }
        let (a, b) = (self.uniform(), self.uniform());
        let radius = (-2.0 * a.ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * b;
        self.spare = Some(radius * angle.sin());
        radius * angle.cos()
    }
}
