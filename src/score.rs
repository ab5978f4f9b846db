//! The score view of sampling by optimal control (README, "HJB and diffusion models"): the
//! solver's optimal drift next to the exact score drift of the Föllmer marginal.
//!
//! For `dX = u dt + dW`, cost `½|u|²` and `g = log φ_T − log p` ([`crate::problem::mixture`]),
//! the optimal drift is `u*(x, t) = −∇V(x, t) = ∇log p_t(x) + x/t`, `p_t` the law of the
//! optimally controlled process from `X₀ = 0` — what a diffusion model's sampler learns. At each
//! requested time this module takes the stored level nearest to it (`[output] snapshots`): the
//! solver's policy there, `u_h(x, t_k)` (the closed-form minimiser of the scheme's Hamiltonian,
//! a one-sided difference of `V_h`), and evaluates
//!
//! ```text
//! s(x, t_k) = ∇log p_{t_k}(x) + x/t_k        (GaussianMixture::score_drift, closed form),
//! d(x, t_k) = |u_h(x, t_k) − s(x, t_k)|       (Euclidean over the controls),
//! ```
//!
//! with `max d` and `L1 = Σ d · Π h_i` over the reference's error region. For the first-order
//! schemes `d = O(h)` away from the box ends (the value's O(h) error is smooth in `x`).

use crate::error::{HjbError, Result};
use crate::grid::row_major;
use crate::norms::{error_norms, ErrorNorms};
use crate::problem::linearly_solvable::linearly_solvable;
use crate::problem::mixture::GaussianMixture;
use crate::problem::{Problem, ReferenceSolution};
use crate::solver::Snapshots;

/// The drifts at one stored time.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreLevel {
    /// The time asked for.
    pub requested: f64,
    /// The stored time used (the nearest level).
    pub time: f64,
    /// The solver's policy `u_h(·, t)`, one row-major field per control.
    pub drift: Vec<Vec<f64>>,
    /// The exact score drift `∇log p_t + x/t`, one row-major field per state.
    pub score: Vec<Vec<f64>>,
    /// `|u_h − s|` per node.
    pub difference: Vec<f64>,
    /// Max, L1 and L2 of the difference over the reference's region.
    pub norms: ErrorNorms,
}

/// The mixture of a problem that the score view applies to, or why it does not (bad input).
pub fn score_mixture(problem: &Problem) -> Result<(&GaussianMixture, f64)> {
    let refuse = |message: String| HjbError::InvalidProblem { field: "reference".to_string(), message };
    let Some(ReferenceSolution::GaussianMixture { mixture, horizon }) =
        problem.reference.as_ref().map(|r| &r.solution)
    else {
        return Err(refuse(
            "the score view needs [reference] kind = \"gaussian_mixture\" (the closed-form score)".into(),
        ));
    };
    let structure =
        linearly_solvable(problem).map_err(|reason| refuse(format!("not dX = u dt + dW: {reason}")))?;
    let coordinates = problem.grid.coordinate_columns();
    let zeros = vec![0.0; problem.controls.len()];
    let t = problem.tabulation_time();
    let uncontrolled = problem
        .dynamics
        .iter()
        .chain(std::iter::once(&problem.running_cost))
        .all(|formula| problem.tabulate(formula, &coordinates, &zeros, t).iter().all(|v| *v == 0.0));
    if structure.temperature != 1.0 || structure.control_weights.iter().any(|r| *r != 1.0) || !uncontrolled {
        return Err(refuse(format!(
            "the Gaussian-mixture reference is the solution of dX = u dt + dW with cost ½|u|² only \
             (here λ = {}, r = {:?}, and the passive drift or state cost is {}zero)",
            structure.temperature,
            structure.control_weights,
            if uncontrolled { "" } else { "not " }
        )));
    }
    Ok((mixture, *horizon))
}

/// The score view at `times` (each in `(0, T]`) from the stored levels `snapshots` of a solve of
/// `problem`.
pub fn score_view(problem: &Problem, snapshots: &Snapshots, times: &[f64]) -> Result<Vec<ScoreLevel>> {
    let (mixture, horizon) = score_mixture(problem)?;
    let region = &problem.reference.as_ref().expect("checked by score_mixture").region;
    let bad_time = |message: String| HjbError::InvalidOption { option: "--times".to_string(), message };
    if times.is_empty() {
        return Err(bad_time("give at least one time".into()));
    }
    let grid = &problem.grid;
    let n = grid.dimension();
    let nodes = grid.node_count();
    let coordinates = grid.coordinate_columns();
    let mut levels = Vec::with_capacity(times.len());
    for &requested in times {
        if !(requested > 0.0 && requested <= horizon) {
            return Err(bad_time(format!(
                "t = {requested} is not in (0, T = {horizon}]: at t = 0 the marginal is a point mass"
            )));
        }
        let k = (0..snapshots.times.len())
            .min_by(|&a, &b| {
                (snapshots.times[a] - requested).abs().total_cmp(&(snapshots.times[b] - requested).abs())
            })
            .ok_or_else(|| bad_time("the result stores no time levels".into()))?;
        let time = snapshots.times[k];
        if time <= 0.0 {
            return Err(bad_time(format!(
                "the stored level nearest t = {requested} is t = 0, where x/t is singular: store more \
                 levels ([output] snapshots) or ask for a later time"
            )));
        }
        let drift: Vec<Vec<f64>> =
            snapshots.policies[k].iter().map(|field| row_major(field).into_owned()).collect();
        let mut score = vec![vec![0.0; nodes]; n];
        let mut difference = vec![0.0; nodes];
        let mut x = vec![0.0; n];
        for node in 0..nodes {
            for (xi, column) in x.iter_mut().zip(&coordinates) {
                *xi = column[node];
            }
            let exact = mixture.score_drift(&x, time, horizon);
            let mut squares = 0.0;
            for i in 0..n {
                score[i][node] = exact[i];
                squares += (drift[i][node] - exact[i]).powi(2);
            }
            difference[node] = squares.sqrt();
        }
        let norms = error_norms(grid, &difference, &vec![0.0; nodes], region);
        levels.push(ScoreLevel { requested, time, drift, score, difference, norms });
    }
    Ok(levels)
}
