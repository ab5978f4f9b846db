//! Stored time levels of a transient solve: `V` and the policy after the steps
//! `round(k·N/(K−1))`, `k = 0 … K−1` (`[output] snapshots = K`), for time-dependent feedback in
//! simulations and for pictures of `V(·, t)`.
//!
//! The levels are part of the march's resumable state ([`super::MarchState`]), so a resumed
//! solve stores the same levels as an uninterrupted one. Stored levels are flat vectors there;
//! the finished [`Snapshots`] wrap them as arrays of the grid's shape without copying.

use crate::grid::Grid;
use ndarray::ArrayD;

/// V and the policy at several times, in increasing physical time; every field has the grid's
/// shape ([`Grid::shape`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshots {
    /// Physical times.
    pub times: Vec<f64>,
    /// `values[k]`: V at `times[k]`.
    pub values: Vec<ArrayD<f64>>,
    /// `policies[k][j]`: control j at `times[k]` (at t = T: the first decision, made at T − Δt).
    pub policies: Vec<Vec<ArrayD<f64>>>,
}

/// A stored level in the making.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLevel {
    /// Steps completed when it was stored.
    pub step: usize,
    /// V after them.
    pub values: Vec<f64>,
    /// The policy of that step, one field per control (`None` until known: the decision at
    /// `t = T` is the one taken in the first step).
    pub policy: Option<Vec<Vec<f64>>>,
}

/// Records the levels of one march.
#[derive(Debug, Clone)]
pub(super) struct Recorder {
    wanted: Vec<usize>,
    controls: usize,
    nodes: usize,
}

impl Recorder {
    /// `count` levels (0 or 1: none) over a march of `steps` steps.
    pub(super) fn new(count: usize, steps: usize, controls: usize, nodes: usize) -> Recorder {
        let mut wanted: Vec<usize> = if count < 2 {
            Vec::new()
        } else {
            (0..count).map(|k| ((k as f64) * steps as f64 / (count - 1) as f64).round() as usize).collect()
        };
        wanted.dedup();
        Recorder { wanted, controls, nodes }
    }

    /// The level before the first step (`t = T`), when wanted.
    pub(super) fn start(&self, levels: &mut Vec<StoredLevel>, values: &[f64]) {
        if self.wanted.first() == Some(&0) {
            levels.push(StoredLevel { step: 0, values: values.to_vec(), policy: None });
        }
    }

    /// After step `completed` with the node-major `policy` of that step.
    pub(super) fn stepped(
        &self,
        levels: &mut Vec<StoredLevel>,
        completed: usize,
        values: &[f64],
        policy: &[f64],
    ) {
        if completed == 1 {
            // The decision at t = T is taken one step earlier; reuse the first step's policy.
            if let Some(first) = levels.first_mut().filter(|level| level.step == 0) {
                first.policy = Some(split_policy(policy, self.controls, self.nodes));
            }
        }
        if self.wanted.binary_search(&completed).is_ok() {
            levels.push(StoredLevel {
                step: completed,
                values: values.to_vec(),
                policy: Some(split_policy(policy, self.controls, self.nodes)),
            });
        }
    }

    /// The stored levels in increasing physical time (`None` when there are none).
    pub(super) fn finish(
        &self,
        mut levels: Vec<StoredLevel>,
        grid: &Grid,
        final_time: f64,
        time_step: f64,
    ) -> Option<Snapshots> {
        if levels.is_empty() {
            return None;
        }
        // Increasing physical time: the last step taken (t closest to 0) first.
        levels.reverse();
        let (m, nodes) = (self.controls, self.nodes);
        let times = levels.iter().map(|level| final_time - level.step as f64 * time_step).collect();
        let (values, policies) = levels
            .into_iter()
            .map(|level| {
                let policy = level.policy.unwrap_or_else(|| vec![vec![f64::NAN; nodes]; m]);
                (grid.field(level.values), policy.into_iter().map(|field| grid.field(field)).collect())
            })
            .unzip();
        Some(Snapshots { times, values, policies })
    }
}

/// Node-major `policy[node · m + j]` as one field per control.
pub(super) fn split_policy(policy: &[f64], m: usize, nodes: usize) -> Vec<Vec<f64>> {
    (0..m).map(|j| (0..nodes).map(|node| policy[node * m + j]).collect()).collect()
}
