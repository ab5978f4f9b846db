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
    /// The largest `lower[x]`.
    highest_lower: usize,
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
        pairs.highest_lower = 0;
        for x in 0..mdp.nodes {
            let moving = !mdp.terminal[x];
            let row = x * mdp.action_count + if moving { policy[x] } else { 0 };
            pairs.moving.push(moving);
            let lower = if moving { transitions.target[row] } else { 0 };
            pairs.highest_lower = pairs.highest_lower.max(lower as usize);
            pairs.lower.push(lower);
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

/// One sweep of the pair form (in AVX2 where the CPU has it: [`pairs_avx2::sweep`], same bits).
fn pair_sweep(chain: &PairChain, discount: f64, values: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::arch::is_x86_feature_detected!("avx2") && chain.highest_lower + 1 < values.len();
    over_blocks(2 * chain.lower.len(), out, |block, out| {
        let range = block * BLOCK..block * BLOCK + out.len();
        let (lower, theta) = (&chain.lower[range.clone()], &chain.theta[range.clone()]);
        let (cost, moving) = (&chain.cost[range.clone()], &chain.moving[range]);
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: the CPU has AVX2 and every `y + 1` indexes `values` (both checked above).
            unsafe { pairs_avx2::sweep(lower, theta, cost, moving, discount, values, out) };
            return;
        }
        scalar_pair_sweep(lower, theta, cost, moving, discount, values, out);
    });
}

/// `out[r] = c_r + γ(0 + (1 − θ_r)V(y_r) + θ_r V(y_r + 1))` for moving states, `c_r + γ·0` for
/// terminal ones, over slices of `out`'s length.
fn scalar_pair_sweep(
    lower: &[u32],
    theta: &[f64],
    cost: &[f64],
    moving: &[bool],
    discount: f64,
    values: &[f64],
    out: &mut [f64],
) {
    for (r, value) in out.iter_mut().enumerate() {
        let sum = if moving[r] {
            let y = lower[r] as usize;
            0.0 + (1.0 - theta[r]) * values[y] + theta[r] * values[y + 1]
        } else {
            0.0
        };
        *value = cost[r] + discount * sum;
    }
}

/// The pair sweep in AVX2.
#[cfg(target_arch = "x86_64")]
mod pairs_avx2 {
    use std::arch::x86_64::*;

    /// `out[r] = c_r + γ(0 + (1 − θ_r)V(y_r) + θ_r V(y_r + 1))` for moving states, `c_r + γ·0`
    /// otherwise: four states at once, `(V(y), V(y + 1))` loaded as one 16-byte pair per state
    /// and transposed, the scalar form's operations in its order (no fused multiply–add), the
    /// `+0.0` of a terminal state by a mask. The last `len mod 4` states in the scalar form
    /// ([`super::scalar_pair_sweep`]).
    ///
    /// # Safety
    /// The CPU must have AVX2; the slices must have `out`'s length and every `y_r + 1` must
    /// index `values`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn sweep(
        lower: &[u32],
        theta: &[f64],
        cost: &[f64],
        moving: &[bool],
        discount: f64,
        values: &[f64],
        out: &mut [f64],
    ) {
        let length = out.len();
        let full = length / 4 * 4;
        let (one, zero, gamma) = (_mm256_set1_pd(1.0), _mm256_setzero_pd(), _mm256_set1_pd(discount));
        let pair = |r: usize| _mm_loadu_pd(values.as_ptr().add(*lower.get_unchecked(r) as usize));
        for r in (0..full).step_by(4) {
            let even = _mm256_set_m128d(pair(r + 2), pair(r));
            let odd = _mm256_set_m128d(pair(r + 3), pair(r + 1));
            let (at_lower, at_upper) = (_mm256_unpacklo_pd(even, odd), _mm256_unpackhi_pd(even, odd));
            let weight = _mm256_loadu_pd(theta.as_ptr().add(r));
            let sum = _mm256_add_pd(
                _mm256_add_pd(zero, _mm256_mul_pd(_mm256_sub_pd(one, weight), at_lower)),
                _mm256_mul_pd(weight, at_upper),
            );
            // Four bools (0 or 1) widened to 64-bit lanes, all ones where the state moves.
            let flags = _mm_cvtsi32_si128(moving.as_ptr().add(r).cast::<i32>().read_unaligned());
            let mask =
                _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_cvtepu8_epi64(flags), _mm256_setzero_si256()));
            let sum = _mm256_and_pd(sum, mask);
            let value = _mm256_add_pd(_mm256_loadu_pd(cost.as_ptr().add(r)), _mm256_mul_pd(gamma, sum));
            _mm256_storeu_pd(out.as_mut_ptr().add(r), value);
        }
        let rest = full..length;
        let (lower, theta, cost, moving) =
            (&lower[rest.clone()], &theta[rest.clone()], &cost[rest.clone()], &moving[rest]);
        super::scalar_pair_sweep(lower, theta, cost, moving, discount, values, &mut out[full..]);
    }
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
