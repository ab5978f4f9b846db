//! What a simulated path achieved in a reachability problem: the payoff the value function
//! predicts for it.
//!
//! The stored value of a reachability problem is the outcome of the game, not a cost: for a
//! set, `l(x(T), T)`; for a tube, `min_t l(x(t), t)` (the path's closest approach to the target
//! `{l ≤ 0}`); for reach–avoid, the same closest approach, but only while the path has stayed out
//! of the obstacle `{o ≤ 0}`. On the path's samples `t_0 < … < t_N` this is the backward
//! recursion the solver's projection performs after every step (`docs/numerics.md` §11):
//!
//! ```text
//! p_N = l_N (set, tube) or max(l_N, −o_N) (reach–avoid),
//! p_k = min(p_{k+1}, l_k) (tube),   p_k = max(min(p_{k+1}, l_k), −o_k) (reach–avoid),
//! ```
//!
//! with `l_k = l(x(t_k), t_k)`, `o_k = o(x(t_k), t_k)`; the payoff is `p_0`. Under optimal play
//! it equals `V(x_0, 0)` up to the discretisation errors of the value and of the feedback, and
//! its sign says whether the path reached the target (`≤ 0`).

use super::Trajectory;
use crate::problem::game::ReachMode;
use crate::problem::Problem;

/// The payoff `p_0` of `trajectory` (module docs), or `None` when `problem` is not a
/// reachability problem or the trajectory is empty.
pub fn reach_payoff(problem: &Problem, trajectory: &Trajectory) -> Option<f64> {
    let reach = problem.reachability.as_ref()?;
    let n = problem.grid.dimension();
    let m = problem.controls.len();
    let mut variables = vec![0.0; n + m + 1];
    let mut at = |formula: &crate::problem::PointFunction, x: &[f64], t: f64| {
        variables[..n].copy_from_slice(x);
        variables[n + m] = t;
        formula.evaluate(&variables)
    };
    let mut payoff: Option<f64> = None;
    for (x, t) in trajectory.states.iter().zip(&trajectory.times).rev() {
        let target = at(&reach.target, x, *t);
        let reached = match (reach.mode, payoff) {
            (ReachMode::Set, Some(later)) => later,
            (_, None) => target,
            (_, Some(later)) => later.min(target),
        };
        payoff = Some(match (&reach.obstacle, reach.mode) {
            (Some(obstacle), ReachMode::ReachAvoid) => reached.max(-at(obstacle, x, *t)),
            _ => reached,
        });
    }
    payoff
}
