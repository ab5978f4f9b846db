//! Many closed-loop paths of a stochastic problem, in parallel, one seeded stream per path.

use super::{
    feedback, simulate_with, stored_grid, EnsembleStatistics, InputLaw, Normal, PathStatistics, StoredResult,
    Trajectory,
};
use crate::error::{HjbError, Result};
use crate::grid::Grid;
use crate::problem::{Problem, ReferenceSolution};
use rayon::prelude::*;

/// The seed of path `path`'s own normal stream: SplitMix64's finaliser of `seed` and the path
/// index, so every path draws the same numbers whatever thread runs it.
fn path_seed(seed: u64, path: usize) -> u64 {
    let mut z = seed ^ (path as u64).wrapping_add(1).wrapping_mul(0xd1b5_4a32_d192_ed03);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The exact law of `X_T` from `start`, when the problem knows it: a Gaussian-mixture reference
/// simulated over its own horizon.
pub fn exact_terminal_law(
    problem: &Problem,
    start: &[f64],
    horizon: f64,
) -> Option<crate::problem::mixture::GaussianMixture> {
    match &problem.reference.as_ref()?.solution {
        ReferenceSolution::GaussianMixture { mixture, horizon: final_time }
            if (horizon - final_time).abs() <= 1e-12 * final_time =>
        {
            Some(mixture.terminal_law(start, *final_time))
        }
        _ => None,
    }
}

/// One Euler–Maruyama path: its terminal state and realised cost, and the whole path when
/// `record`.
struct Path {
    terminal: Vec<f64>,
    cost: f64,
    recorded: Option<Box<Trajectory>>,
}

/// What every path of [`simulate_paths`] shares.
struct PathSetup<'a> {
    problem: &'a Problem,
    stored: &'a StoredResult,
    /// User laws replacing stored feedbacks.
    laws: &'a [InputLaw],
    grid: Grid,
    start: &'a [f64],
    horizon: f64,
    steps: usize,
    dt: f64,
    first: &'a Trajectory,
}

impl PathSetup<'_> {
    fn run(&self, seed: u64, record: bool) -> Result<Path> {
        let problem = self.problem;
        let (n, m) = (self.grid.dimension(), problem.controls.len());
        let (sigma, matrix) = (problem.diffusion.as_deref(), problem.diffusion_matrix.as_deref());
        let (steps, dt) = (self.steps, self.dt);
        let root = dt.sqrt();
        let mut normal = Normal::new(seed);
        let mut variables = vec![0.0; n + m + 1];
        let mut x = self.start.to_vec();
        let mut accumulated = 0.0;
        let mut recorded = record.then(|| Trajectory {
            times: Vec::with_capacity(steps + 1),
            states: Vec::with_capacity(steps + 1),
            controls: Vec::with_capacity(steps + 1),
            running_cost: Vec::with_capacity(steps + 1),
            cost: 0.0,
            value_at_start: self.first.value_at_start,
            time_dependent_policy: self.first.time_dependent_policy,
        });
        let mut drift = vec![0.0; n];
        for step in 0..=steps {
            let t = step as f64 * dt;
            let u = feedback(problem, &self.grid, self.stored, self.laws, &x, t);
            variables[..n].copy_from_slice(&x);
            variables[n..n + m].copy_from_slice(&u);
            variables[n + m] = t;
            if let Some(recorded) = recorded.as_mut() {
                recorded.times.push(t);
                recorded.states.push(x.clone());
                recorded.controls.push(u);
                recorded.running_cost.push(accumulated);
            }
            if step == steps {
                break;
            }
            accumulated += dt * (-problem.discount * t).exp() * problem.running_cost.evaluate(&variables);
            for (d, f) in drift.iter_mut().zip(&problem.dynamics) {
                *d = f.evaluate(&variables);
            }
            match (sigma, matrix) {
                (Some(sigma), _) => {
                    for i in 0..n {
                        x[i] += drift[i] * dt + sigma[i].evaluate(&variables) * root * normal.sample();
                    }
                }
                (None, Some(rows)) => {
                    let shocks: Vec<f64> = (0..rows[0].len()).map(|_| normal.sample()).collect();
                    for i in 0..n {
                        let noise: f64 =
                            rows[i].iter().zip(&shocks).map(|(s, xi)| s.evaluate(&variables) * xi).sum();
                        x[i] += drift[i] * dt + noise * root;
                    }
                }
                (None, None) => unreachable!("deterministic problems take one RK4 path"),
            }
        }
        variables[..n].copy_from_slice(&x);
        let cost = accumulated
            + (-problem.discount * self.horizon).exp() * problem.terminal_cost.evaluate(&variables);
        if !cost.is_finite() {
            return Err(HjbError::PathNonFinite { step: steps, time: self.horizon, state: x, cost });
        }
        if let Some(recorded) = recorded.as_mut() {
            recorded.cost = cost;
        }
        Ok(Path { terminal: x, cost, recorded: recorded.map(Box::new) })
    }
}

/// Closed-loop paths. Deterministic problems: one RK4 path ([`simulate`]). Stochastic problems:
/// `paths` Euler–Maruyama paths `x ← x + f Δt + σ √Δt ξ` (ξ standard normal per state — per
/// column of σ for correlated noise), the running cost by the left-point rule; the mean realised
/// cost estimates `V(x0, 0)`. Each path draws from its own stream seeded by `(seed, path)` and
/// the paths run in parallel, so the results are bit-identical for any thread count. Every
/// path's terminal state is kept and summarised ([`EnsembleStatistics`]).
pub fn simulate_paths(
    problem: &Problem,
    stored: &StoredResult,
    start: &[f64],
    horizon: f64,
    time_step: f64,
    seed: u64,
    paths: usize,
) -> Result<PathStatistics> {
    simulate_paths_with(problem, stored, &[], start, horizon, time_step, seed, paths)
}

/// [`simulate_paths`] with user laws replacing some inputs' stored feedback.
#[allow(clippy::too_many_arguments)]
pub fn simulate_paths_with(
    problem: &Problem,
    stored: &StoredResult,
    laws: &[InputLaw],
    start: &[f64],
    horizon: f64,
    time_step: f64,
    seed: u64,
    paths: usize,
) -> Result<PathStatistics> {
    super::check_work(horizon, time_step, paths)?;
    let first = simulate_with(problem, stored, laws, start, horizon, time_step)?;
    if problem.diffusion.is_none() && problem.diffusion_matrix.is_none() {
        let cost = first.cost;
        let terminal_states = first.states.last().cloned().unwrap_or_default();
        return Ok(PathStatistics {
            trajectory: first,
            cost_mean: cost,
            cost_standard_error: 0.0,
            paths: 1,
            terminal_states,
            ensemble: None,
        });
    }
    let steps = (horizon / time_step).ceil().max(1.0) as usize;
    let setup = PathSetup {
        problem,
        stored,
        laws,
        grid: stored_grid(problem, stored)?,
        start,
        horizon,
        steps,
        dt: horizon / steps as f64,
        first: &first,
    };
    let count = paths.max(1);
    let runs: Vec<Path> = (0..count)
        .into_par_iter()
        .map(|path| setup.run(path_seed(seed, path), path == 0))
        .collect::<Result<_>>()?;
    let n = setup.grid.dimension();
    let mut terminal_states = Vec::with_capacity(count * n);
    let mut costs = Vec::with_capacity(count);
    let mut trajectory = None;
    for run in runs {
        terminal_states.extend_from_slice(&run.terminal);
        costs.push(run.cost);
        if run.recorded.is_some() {
            trajectory = run.recorded.map(|boxed| *boxed);
        }
    }
    let samples = costs.len() as f64;
    let mean = costs.iter().sum::<f64>() / samples;
    let variance = costs.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (samples - 1.0).max(1.0);
    let law = exact_terminal_law(problem, start, horizon);
    let ensemble = EnsembleStatistics::new(&terminal_states, n, law.as_ref());
    Ok(PathStatistics {
        trajectory: trajectory.expect("path 0 is recorded"),
        cost_mean: mean,
        cost_standard_error: (variance / samples).sqrt(),
        paths: costs.len(),
        terminal_states,
        ensemble: Some(ensemble),
    })
}
