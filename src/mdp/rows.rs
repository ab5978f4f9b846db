//! The chain's transition rows in one state-major array, and the kernels that read them.
//!
//! Row `r = x·A + a` (state `x`, action `a`, `A` actions) holds `P_a(x, ·)` in `target` (u32
//! state indices) and `probability`, in one of two layouts chosen when the chain is built:
//!
//! * **fixed width** `w ≤ 4` (when the chain's rows have at most `w` entries: 1-D and 2-D
//!   semi-Lagrangian, 1-D upwind): row `r` at `r·w..(r + 1)·w`, its `length[r]` entries first,
//!   then padding with probability 0 and the row's first target. The kernels read all `w` slots
//!   branch-free; a padding slot adds `0 · V(y) = ±0`, which leaves every finite sum unchanged;
//! * **CSR** otherwise: row `r` at `start[r]..start[r + 1]`;
//! * **interpolation pairs**, a compaction of width 2 made after the build when every row is a
//!   linear interpolation between two adjacent states: `(y, 1 − θ), (y + 1, θ)` with the stored
//!   first weight bit for bit `1.0 − θ` (1-D semi-Lagrangian chains, QuantEcon's typical
//!   savings problems), or a single entry of probability exactly 1. Row `r` keeps only `y` in
//!   `target[r]` and `θ` in `probability[r]` (a single entry `y` is `θ = 0` at `y`, or `θ = 1`
//!   at `y − 1` for the last state). The kernels compute `0.0 + (1.0 − θ)·V(y) + θ·V(y + 1)`,
//!   the same operations in the same order on the same numbers as the width-2 sum, so the bits
//!   do not change; a Bellman backup reads 20 bytes per state-action pair instead of 32 (the
//!   backup of a chain larger than the caches is bound by memory traffic).
//!
//! All the actions of one state are adjacent, so a Bellman backup of state `x`
//!
//! ```text
//! (TV)(x) = min_a { c_a(x) + γ Σ_k probability[k] · V(target[k]) },   k ∈ row x·A + a,
//! ```
//!
//! reads one contiguous stretch of memory and never materialises the Q-values. On pairs the
//! search over the actions keeps four independent running minima merged at the end (and runs
//! four actions per AVX2 instruction where the CPU has it), the same first minimiser and bits as
//! one running minimum. The sum over a row
//! runs in stored order (targets ascending), left to right from 0.0, exactly as
//! [`super::Csr::row_dot`] does on the per-action matrices, so both layouts give the same bits.
//! Memory: 12 bytes per slot plus 1 (fixed width) or 8 (CSR) per row, 13 per row for pairs; no
//! per-row allocation.
//! Values must be finite for the padding argument (they are: costs of admissible actions and
//! terminal values are finite).

use super::Csr;

/// Independent running minima of the pair kernel's search over the actions.
const LANES: usize = 4;

/// The first minimiser over all actions from per-lane running minima (each lane's first strict
/// minimiser): the smallest value, on ties the lowest action. A lane that never improved holds
/// `(∞, 0)`: it ties with the others only when none improved, and then action 0 is the answer.
#[inline(always)]
fn merge_lanes(best: &[f64; LANES], best_action: &[usize; LANES]) -> (f64, usize) {
    let mut chosen = 0;
    for lane in 1..LANES {
        let (value, action) = (best[lane], best_action[lane]);
        if value < best[chosen] || (value == best[chosen] && action < best_action[chosen]) {
            chosen = lane;
        }
    }
    (best[chosen], best_action[chosen])
}

/// `(min_a q_a, first minimiser)` over one state's actions in the interpolation-pair layout,
/// `q_a = c_a + γ(0 + (1 − θ_a)V(y_a) + θ_a V(y_a + 1))`. The actions are dealt round-robin to
/// [`LANES`] independent running minima (action `a` to lane `a mod LANES`, each keeping its first
/// strict minimiser) so that consecutive comparisons do not wait on each other, then merged
/// ([`merge_lanes`]): the first minimiser over all actions, with its value's bits, as one
/// running minimum gives.
#[inline]
fn best_pair(cost: &[f64], targets: &[u32], thetas: &[f64], discount: f64, values: &[f64]) -> (f64, usize) {
    let mut best = [f64::INFINITY; LANES];
    let mut best_action = [0usize; LANES];
    let full = cost.len() / LANES * LANES;
    for first in (0..full).step_by(LANES) {
        for lane in 0..LANES {
            let candidate = pair_q(first + lane, cost, targets, thetas, discount, values);
            if candidate < best[lane] {
                best[lane] = candidate;
                best_action[lane] = first + lane;
            }
        }
    }
    finish_lanes(best, best_action, full, cost, targets, thetas, discount, values)
}

/// `q_a = c_a + γ(0 + (1 − θ_a)V(y_a) + θ_a V(y_a + 1))`, the pair form's Q-value.
#[inline(always)]
fn pair_q(a: usize, cost: &[f64], targets: &[u32], thetas: &[f64], discount: f64, values: &[f64]) -> f64 {
    let (y, theta) = (targets[a] as usize, thetas[a]);
    let sum = 0.0 + (1.0 - theta) * values[y] + theta * values[y + 1];
    cost[a] + discount * sum
}

/// The actions `full..` (fewer than [`LANES`]) dealt to lanes `0, 1, …` of the running minima,
/// then [`merge_lanes`]: the end shared by the scalar and the AVX2 search.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn finish_lanes(
    mut best: [f64; LANES],
    mut best_action: [usize; LANES],
    full: usize,
    cost: &[f64],
    targets: &[u32],
    thetas: &[f64],
    discount: f64,
    values: &[f64],
) -> (f64, usize) {
    for a in full..cost.len() {
        let (candidate, lane) = (pair_q(a, cost, targets, thetas, discount, values), a - full);
        if candidate < best[lane] {
            best[lane] = candidate;
            best_action[lane] = a;
        }
    }
    merge_lanes(&best, &best_action)
}

/// [`best_pair`] in AVX2: four actions at once (one per lane), `(V(y), V(y + 1))` loaded as one
/// 16-byte pair per action and transposed, the same operations in the same order as the scalar form (no
/// fused multiply–add), so the same bits and the same minimiser.
#[cfg(target_arch = "x86_64")]
mod pairs_avx2 {
    use super::{finish_lanes, LANES};
    use std::arch::x86_64::*;

    /// [`super::best_pair`].
    ///
    /// # Safety
    /// The CPU must have AVX2, and every `y_a + 1` must index `values`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn best(
        cost: &[f64],
        targets: &[u32],
        thetas: &[f64],
        discount: f64,
        values: &[f64],
    ) -> (f64, usize) {
        let actions = cost.len();
        let full = actions / LANES * LANES;
        let (one, zero, gamma) = (_mm256_set1_pd(1.0), _mm256_setzero_pd(), _mm256_set1_pd(discount));
        let mut best = _mm256_set1_pd(f64::INFINITY);
        let mut best_action = _mm256_setzero_pd();
        let mut action = _mm256_set_pd(3.0, 2.0, 1.0, 0.0);
        let step = _mm256_set1_pd(LANES as f64);
        for first in (0..full).step_by(LANES) {
            let theta = _mm256_loadu_pd(thetas.as_ptr().add(first));
            let c = _mm256_loadu_pd(cost.as_ptr().add(first));
            // (V(y), V(y + 1)) of each action in one 16-byte load, then transposed.
            let pair =
                |k: usize| _mm_loadu_pd(values.as_ptr().add(*targets.get_unchecked(first + k) as usize));
            let even = _mm256_set_m128d(pair(2), pair(0));
            let odd = _mm256_set_m128d(pair(3), pair(1));
            let at_lower = _mm256_unpacklo_pd(even, odd);
            let at_upper = _mm256_unpackhi_pd(even, odd);
            let sum = _mm256_add_pd(
                _mm256_add_pd(zero, _mm256_mul_pd(_mm256_sub_pd(one, theta), at_lower)),
                _mm256_mul_pd(theta, at_upper),
            );
            let q = _mm256_add_pd(c, _mm256_mul_pd(gamma, sum));
            let better = _mm256_cmp_pd::<_CMP_LT_OQ>(q, best);
            best = _mm256_blendv_pd(best, q, better);
            best_action = _mm256_blendv_pd(best_action, action, better);
            action = _mm256_add_pd(action, step);
        }
        let mut lanes = [0.0; LANES];
        let mut lane_actions = [0.0; LANES];
        _mm256_storeu_pd(lanes.as_mut_ptr(), best);
        _mm256_storeu_pd(lane_actions.as_mut_ptr(), best_action);
        let lane_actions = lane_actions.map(|a| a as usize);
        finish_lanes(lanes, lane_actions, full, cost, targets, thetas, discount, values)
    }
}

/// The transition rows of all state-action pairs, state-major (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transitions {
    /// CSR layout: start of row `x·A + a`, one more entry than rows (empty at fixed width).
    pub start: Vec<usize>,
    /// Fixed-width layout: slots per row (0 for CSR).
    pub width: usize,
    /// Fixed-width layout: stored entries of each row (the rest of its slots is padding).
    pub length: Vec<u8>,
    /// Target state of each stored entry.
    pub target: Vec<u32>,
    /// Probability of each stored entry.
    pub probability: Vec<f64>,
    /// The interpolation-pair compaction of width 2 (see the module docs): `target[r]` is the
    /// lower state `y` and `probability[r]` the upper weight `θ` of row `r`.
    pub pairs: bool,
}

impl Transitions {
    /// The slots of row `row` that hold its entries (not for the pair layout: see
    /// [`Self::push_row_into`]).
    #[inline]
    fn range(&self, row: usize) -> (usize, usize) {
        if self.width == 0 {
            (self.start[row], self.start[row + 1])
        } else {
            (row * self.width, row * self.width + self.length[row] as usize)
        }
    }

    /// Number of state-action rows.
    pub fn rows(&self) -> usize {
        if self.width == 0 {
            self.start.len().saturating_sub(1)
        } else {
            self.length.len()
        }
    }

    /// Append the stored entries `(y, P(row, y))` of row `row`, targets ascending, in every
    /// layout, to `target` and `probability`.
    #[inline(always)]
    pub fn push_row_into(&self, row: usize, target: &mut Vec<u32>, probability: &mut Vec<f64>) {
        if self.pairs {
            let (y, theta) = (self.target[row], self.probability[row]);
            match (self.length[row], theta == 0.0) {
                (2, _) => {
                    target.extend_from_slice(&[y, y + 1]);
                    probability.extend_from_slice(&[1.0 - theta, theta]);
                }
                (_, true) => {
                    target.push(y);
                    probability.push(1.0);
                }
                (_, false) => {
                    target.push(y + 1);
                    probability.push(1.0);
                }
            }
        } else {
            let (start, end) = self.range(row);
            target.extend_from_slice(&self.target[start..end]);
            probability.extend_from_slice(&self.probability[start..end]);
        }
    }

    /// `Σ_y P(row, y) v(y)` for the state-action row `row`.
    #[inline]
    pub fn row_dot(&self, row: usize, values: &[f64]) -> f64 {
        if self.pairs {
            let (y, theta) = (self.target[row] as usize, self.probability[row]);
            return 0.0 + (1.0 - theta) * values[y] + theta * values[y + 1];
        }
        let (start, end) = self.range(row);
        let mut sum = 0.0;
        for (y, p) in self.target[start..end].iter().zip(&self.probability[start..end]) {
            sum += p * values[*y as usize];
        }
        sum
    }

    /// `min_a {cost[a] + γ Σ_y P_a(x, y) v(y)}` over the `cost.len()` actions of state `x`, and
    /// its first minimiser (`cost` is the state's slice of the cost table).
    #[inline]
    pub fn best_action(&self, x: usize, cost: &[f64], discount: f64, values: &[f64]) -> (f64, usize) {
        if self.pairs {
            return self.best_pair(x, cost, discount, values);
        }
        match self.width {
            1 => self.best_fixed::<1>(x, cost, discount, values),
            2 => self.best_fixed::<2>(x, cost, discount, values),
            3 => self.best_fixed::<3>(x, cost, discount, values),
            4 => self.best_fixed::<4>(x, cost, discount, values),
            _ => self.best_csr(x, cost, discount, values),
        }
    }

    /// [`Self::best_action`] in the fixed-width layout: `W` slots per row, no branches per entry.
    #[inline]
    fn best_fixed<const W: usize>(
        &self,
        x: usize,
        cost: &[f64],
        discount: f64,
        values: &[f64],
    ) -> (f64, usize) {
        let slots = x * cost.len() * W..(x + 1) * cost.len() * W;
        let targets = self.target[slots.clone()].chunks_exact(W);
        let probabilities = self.probability[slots].chunks_exact(W);
        let mut best = f64::INFINITY;
        let mut best_action = 0;
        for (a, ((c, t), p)) in cost.iter().zip(targets).zip(probabilities).enumerate() {
            let mut sum = 0.0;
            for k in 0..W {
                sum += p[k] * values[t[k] as usize];
            }
            let q = c + discount * sum;
            if q < best {
                best = q;
                best_action = a;
            }
        }
        (best, best_action)
    }

    /// [`Self::best_action`] in the interpolation-pair layout ([`best_pair`]; in AVX2 where the
    /// CPU has it, [`pairs_avx2::best`]: the same bits and minimiser).
    #[inline]
    fn best_pair(&self, x: usize, cost: &[f64], discount: f64, values: &[f64]) -> (f64, usize) {
        let rows = x * cost.len()..(x + 1) * cost.len();
        let (targets, thetas) = (&self.target[rows.clone()], &self.probability[rows]);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2")
            && targets.iter().fold(0, |highest, y| highest.max(*y as usize)) + 1 < values.len()
        {
            // SAFETY: the CPU has AVX2 and every `y + 1` indexes `values` (both checked above).
            return unsafe { pairs_avx2::best(cost, targets, thetas, discount, values) };
        }
        best_pair(cost, targets, thetas, discount, values)
    }

    /// [`Self::best_action`] in the CSR layout.
    #[inline]
    fn best_csr(&self, x: usize, cost: &[f64], discount: f64, values: &[f64]) -> (f64, usize) {
        let actions = cost.len();
        let starts = &self.start[x * actions..=(x + 1) * actions];
        let mut best = f64::INFINITY;
        let mut best_action = 0;
        for (a, c) in cost.iter().enumerate() {
            let (start, end) = (starts[a], starts[a + 1]);
            let mut sum = 0.0;
            for (y, p) in self.target[start..end].iter().zip(&self.probability[start..end]) {
                sum += p * values[*y as usize];
            }
            let q = c + discount * sum;
            if q < best {
                best = q;
                best_action = a;
            }
        }
        (best, best_action)
    }

    /// Number of slots read per sweep (stored probabilities plus padding; pairs count 2).
    pub fn slots(&self) -> usize {
        if self.pairs {
            2 * self.probability.len()
        } else {
            self.probability.len()
        }
    }

    /// Number of stored probabilities (without the padding).
    pub fn entries(&self) -> usize {
        if self.width == 0 {
            self.probability.len()
        } else {
            self.length.iter().map(|l| *l as usize).sum()
        }
    }

    /// Bytes of the arrays.
    pub fn bytes(&self) -> usize {
        8 * self.start.len() + self.length.len() + 4 * self.target.len() + 8 * self.probability.len()
    }

    /// The transition matrix of action `action` alone (scipy's CSR layout, for export).
    pub fn action_matrix(&self, action: usize, action_count: usize) -> Csr {
        let nodes = self.rows() / action_count.max(1);
        let mut matrix = Csr { indptr: Vec::with_capacity(nodes + 1), ..Csr::default() };
        matrix.indptr.push(0);
        let (mut target, mut probability) = (Vec::new(), Vec::new());
        for x in 0..nodes {
            target.clear();
            self.push_row_into(x * action_count + action, &mut target, &mut probability);
            matrix.indices.extend(target.iter().map(|y| *y as usize));
            matrix.indptr.push(matrix.indices.len());
        }
        matrix.data = probability;
        matrix
    }

    /// Empty rows in the fixed-width layout of `width` slots (0: CSR).
    pub(crate) fn with_width(width: usize) -> Self {
        Transitions { start: if width == 0 { vec![0] } else { Vec::new() }, width, ..Transitions::default() }
    }

    /// Append one row (in the layout chosen at creation). `Err` when it does not fit the width.
    pub(crate) fn push_row(&mut self, pairs: &[(usize, f64)]) -> Result<(), usize> {
        for (y, p) in pairs {
            self.target.push(*y as u32);
            self.probability.push(*p);
        }
        if self.width == 0 {
            self.start.push(self.target.len());
            return Ok(());
        }
        if pairs.len() > self.width {
            return Err(pairs.len());
        }
        let pad = pairs.first().map_or(0, |p| p.0 as u32);
        for _ in pairs.len()..self.width {
            self.target.push(pad);
            self.probability.push(0.0);
        }
        self.length.push(pairs.len() as u8);
        Ok(())
    }

    /// Append the rows of a block of states built in the same layout.
    pub(crate) fn append(&mut self, block: &Transitions) {
        if self.width == 0 {
            let offset = self.target.len();
            self.start.extend(block.start[1..].iter().map(|end| offset + end));
        }
        self.length.extend_from_slice(&block.length);
        self.target.extend_from_slice(&block.target);
        self.probability.extend_from_slice(&block.probability);
    }

    /// Compact a width-2 layout into interpolation pairs when every row is one (see the module
    /// docs; `states` bounds the upper target `y + 1`); returns whether it did. In place: row
    /// `r`'s pair goes to slot `r ≤ 2r`, so nothing is overwritten before it is read.
    pub(crate) fn compact_pairs(&mut self, states: usize) -> bool {
        if self.width != 2 || self.pairs {
            return false;
        }
        let pair_of = |target: &[u32], probability: &[f64], length: &[u8], row: usize| {
            interpolation_pair(
                &target[2 * row..2 * row + 2],
                &probability[2 * row..2 * row + 2],
                length[row],
                states,
            )
        };
        if !(0..self.length.len())
            .all(|row| pair_of(&self.target, &self.probability, &self.length, row).is_some())
        {
            return false;
        }
        for row in 0..self.length.len() {
            if let Some((y, theta)) = pair_of(&self.target, &self.probability, &self.length, row) {
                self.target[row] = y;
                self.probability[row] = theta;
            }
        }
        self.target.truncate(self.length.len());
        self.probability.truncate(self.length.len());
        self.pairs = true;
        true
    }

    /// The same rows in the plain layout they were compacted from (width 2 with its padding;
    /// a copy of `self` when not compacted): what the pair kernels are checked against.
    pub fn expanded(&self) -> Transitions {
        if !self.pairs {
            return self.clone();
        }
        let mut plain = Transitions::with_width(2);
        let (mut target, mut probability) = (Vec::new(), Vec::new());
        for row in 0..self.length.len() {
            target.clear();
            probability.clear();
            self.push_row_into(row, &mut target, &mut probability);
            let pairs: Vec<(usize, f64)> =
                target.iter().map(|y| *y as usize).zip(probability.iter().copied()).collect();
            // Pair rows have at most 2 entries, so they fit width 2.
            let _ = plain.push_row(&pairs);
        }
        plain
    }

    /// Release spare capacity.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.start.shrink_to_fit();
        self.length.shrink_to_fit();
        self.target.shrink_to_fit();
        self.probability.shrink_to_fit();
    }
}

/// The interpolation pair `(y, θ)` of a width-2 row with entries `target`, `probability` (its
/// first `length` slots) among `states` states, if it is one (see the module docs).
fn interpolation_pair(target: &[u32], probability: &[f64], length: u8, states: usize) -> Option<(u32, f64)> {
    match length {
        2 if target[1] == target[0] + 1 && probability[0].to_bits() == (1.0 - probability[1]).to_bits() => {
            Some((target[0], probability[1]))
        }
        1 if probability[0].to_bits() == 1.0f64.to_bits() => {
            if (target[0] as usize) + 1 < states {
                Some((target[0], 0.0))
            } else if target[0] > 0 {
                Some((target[0] - 1, 1.0))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Upper bound of the stored entries per state-action row: `2n + 1` (upwind) or `2^n` corners
/// per foot times the feet (1, or `2n` with noise) for the semi-Lagrangian chain, plus the
/// regime jumps' rows.
pub fn entries_per_row(semi_lagrangian: bool, dimension: usize, noisy: bool, regimes: usize) -> f64 {
    let n = dimension as f64;
    let per_regime = if semi_lagrangian {
        2f64.powi(dimension as i32) * if noisy { 2.0 * n } else { 1.0 }
    } else {
        2.0 * n + 1.0
    };
    per_regime * regimes.max(1) as f64
}

/// The fixed width for rows of at most `entries` stored probabilities (0: CSR).
pub fn fixed_width(entries: f64) -> usize {
    if entries <= 4.0 {
        entries as usize
    } else {
        0
    }
}

/// Estimated peak bytes of building and solving an MDP with `nodes` states, `actions` actions and
/// `entries` stored probabilities per row (at most): the rows (1 or 8 + 12·entries bytes each), the
/// cost table, the build's tabulated drift/cost/noise (`table_per_row` floats per row, alive while
/// the rows are built) and the solvers' per-state vectors (values, successor, policy, scratch).
pub fn estimate_bytes(nodes: f64, actions: f64, entries: f64, table_per_row: f64) -> f64 {
    let rows = nodes * actions;
    let index = if fixed_width(entries) > 0 { 1.0 } else { 8.0 };
    rows * (index + 12.0 * entries + 8.0 + 8.0 * table_per_row) + nodes * 64.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One running minimum over the actions: the rule the lane forms must reproduce.
    fn reference(
        cost: &[f64],
        targets: &[u32],
        thetas: &[f64],
        discount: f64,
        values: &[f64],
    ) -> (f64, usize) {
        let (mut best, mut best_action) = (f64::INFINITY, 0);
        for a in 0..cost.len() {
            let (y, theta) = (targets[a] as usize, thetas[a]);
            let q = cost[a] + discount * (0.0 + (1.0 - theta) * values[y] + theta * values[y + 1]);
            if q < best {
                (best, best_action) = (q, a);
            }
        }
        (best, best_action)
    }

    #[test]
    fn the_lane_searches_find_the_first_minimiser_with_its_bits() {
        // Coarse random numbers so that ties are frequent; some costs infinite, some weights 0
        // or 1, values of both signs and zeros of both signs.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |levels: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % levels
        };
        let states = 40;
        for round in 0..2000 {
            let actions = [1, 2, 3, 4, 5, 7, 8, 9, 41][round % 9];
            let values: Vec<f64> = (0..states)
                .map(|_| match next(6) {
                    0 => 0.0,
                    1 => -0.0,
                    k => (k as f64 - 3.5) * 0.25,
                })
                .collect();
            let cost: Vec<f64> = (0..actions)
                .map(|_| if next(9) == 0 { f64::INFINITY } else { next(4) as f64 * 0.5 })
                .collect();
            let targets: Vec<u32> = (0..actions).map(|_| next(states as u64 - 1) as u32).collect();
            let thetas: Vec<f64> = (0..actions).map(|_| next(5) as f64 / 4.0).collect();
            let discount = [1.0, 0.95][round % 2];
            let expected = reference(&cost, &targets, &thetas, discount, &values);
            let check = |(value, action): (f64, usize), form: &str| {
                assert_eq!(action, expected.1, "{form}, round {round}: action");
                assert_eq!(value.to_bits(), expected.0.to_bits(), "{form}, round {round}: value");
            };
            check(best_pair(&cost, &targets, &thetas, discount, &values), "lanes");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 checked; every target is below `states − 1`.
                check(unsafe { pairs_avx2::best(&cost, &targets, &thetas, discount, &values) }, "avx2");
            }
        }
    }
}
