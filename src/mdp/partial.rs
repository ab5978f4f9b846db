//! Partial policy evaluation for modified policy iteration: `k` Jacobi sweeps of
//!
//! ```text
//! V(x) ← c_π(x) + γ Σ_y P_π(x, y) V(y)   (non-terminal x),   V(x) ← g(x) + γ · 0   (terminal x)
//! ```
//!
//! on the chain of the greedy policy `π`, extracted once per improvement. Two forms:
//!
//! * **interpolation pairs** (when the chain's rows are stored as pairs, [`super::rows`]): per
//!   state only the lower state `y`, the upper weight `θ` and the cost, and the sweep computes
//!   `0.0 + (1.0 − θ)·V(y) + θ·V(y + 1)`. These are the operations, in the same order, that the
//!   general form does on the entries `(y, 1.0 − θ), (y + 1, θ)` the pair expands to (a single
//!   entry is `θ = 0` at `y`, or `θ = 1` at `y − 1`; its zero-weight term adds a signed zero to a
//!   sum that is already `+0.0` or non-zero), so both forms give the same bits. It reads 20 bytes
//!   per state instead of about 40, and its extraction is a gather of three numbers per state;
//! * **general rows** ([`PolicyChain`], CSR): everything else.
//!
//! Sweeps are parallel over blocks of states above [`super::parallel`]'s size; each state's
//! arithmetic is the same on any thread count.

use super::evaluate::PolicyChain;
use super::{parallel, Mdp, BLOCK};
use rayon::prelude::*;

/// The greedy policy's chain in the form its sweeps read (module docs).
#[derive(Debug, Default)]
pub(crate) struct PartialEvaluation {
    general: PolicyChain,
    pairs: PairChain,
}

/// The pair form: `lower[x]`, `theta[x]`, `cost[x]` (`g(x)` at terminal states, where
/// `moving[x]` is false).
#[derive(Debug, Default)]
struct PairChain {
    lower: Vec<u32>,
    theta: Vec<f64>,
    cost: Vec<f64>,
    moving: Vec<bool>,
}

impl PartialEvaluation {
    /// Extract the chain of `policy` (reusing the buffers).
    pub(crate) fn extract(&mut self, mdp: &Mdp, policy: &[usize]) {
        if !mdp.transitions.pairs {
            self.general.extract(mdp, policy);
            return;
        }
        let transitions = &mdp.transitions;
        let pairs = &mut self.pairs;
        pairs.lower.clear();
        pairs.theta.clear();
        pairs.cost.clear();
        pairs.moving.clear();
        for x in 0..mdp.nodes {
            let moving = !mdp.terminal[x];
            let row = x * mdp.action_count + if moving { policy[x] } else { 0 };
            pairs.moving.push(moving);
            pairs.lower.push(if moving { transitions.target[row] } else { 0 });
            pairs.theta.push(if moving { transitions.probability[row] } else { 0.0 });
            pairs.cost.push(if moving { mdp.cost[row] } else { mdp.terminal_value[x] });
        }
    }

    /// `sweeps` Jacobi sweeps from `values` (its final iterate is left in `values`; `next` is
    /// scratch of the same length).
    pub(crate) fn sweep(&self, mdp: &Mdp, sweeps: usize, values: &mut Vec<f64>, next: &mut Vec<f64>) {
        for _ in 0..sweeps {
            if mdp.transitions.pairs {
                pair_sweep(&self.pairs, mdp.discount, values, next);
            } else {
                general_sweep(&self.general, mdp.discount, values, next);
            }
            std::mem::swap(values, next);
        }
    }
}

/// Run `kernel(block, out)` over the blocks of `out`, in parallel when `entries` warrant it.
fn over_blocks(entries: usize, out: &mut [f64], kernel: impl Fn(usize, &mut [f64]) + Sync) {
    if parallel(entries) {
        out.par_chunks_mut(BLOCK).enumerate().for_each(|(block, out)| kernel(block, out));
    } else {
        out.chunks_mut(BLOCK).enumerate().for_each(|(block, out)| kernel(block, out));
    }
}

/// One sweep of the pair form.
fn pair_sweep(chain: &PairChain, discount: f64, values: &[f64], out: &mut [f64]) {
    over_blocks(2 * chain.lower.len(), out, |block, out| {
        let range = block * BLOCK..block * BLOCK + out.len();
        let (lower, theta) = (&chain.lower[range.clone()], &chain.theta[range.clone()]);
        let (cost, moving) = (&chain.cost[range.clone()], &chain.moving[range]);
        for (r, value) in out.iter_mut().enumerate() {
            let sum = if moving[r] {
                let y = lower[r] as usize;
                0.0 + (1.0 - theta[r]) * values[y] + theta[r] * values[y + 1]
            } else {
                0.0
            };
            *value = cost[r] + discount * sum;
        }
    });
}

/// One sweep of the general form: `out(x) = c_π(x) + γ Σ_y P_π(x, y) V(y)` (terminal: `g`).
fn general_sweep(chain: &PolicyChain, discount: f64, values: &[f64], out: &mut [f64]) {
    over_blocks(chain.target.len(), out, |block, out| {
        for (i, value) in out.iter_mut().enumerate() {
            let x = block * BLOCK + i;
            let (start, end) = (chain.start[x], chain.start[x + 1]);
            let mut sum = 0.0;
            for (y, p) in chain.target[start..end].iter().zip(&chain.probability[start..end]) {
                sum += p * values[*y as usize];
            }
            *value = chain.cost[x] + discount * sum;
        }
    });
}
