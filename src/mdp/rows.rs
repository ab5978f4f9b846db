//! The chain's transition rows in one state-major array, and the kernels that read them.
//!
//! Row `r = x·A + a` (state `x`, action `a`, `A` actions) holds `P_a(x, ·)` in `target` (u32
//! state indices) and `probability`, in one of two layouts chosen when the chain is built:
//!
//! * **fixed width** `w ≤ 4` (when the chain's rows have at most `w` entries: 1-D and 2-D
//!   semi-Lagrangian, 1-D upwind): row `r` at `r·w..(r + 1)·w`, its `length[r]` entries first,
//!   then padding with probability 0 and the row's first target. The kernels read all `w` slots
//!   branch-free; a padding slot adds `0 · V(y) = ±0`, which leaves every finite sum unchanged;
//! * **CSR** otherwise: row `r` at `start[r]..start[r + 1]`.
//!
//! All the actions of one state are adjacent, so a Bellman backup of state `x`
//!
//! ```text
//! (TV)(x) = min_a { c_a(x) + γ Σ_k probability[k] · V(target[k]) },   k ∈ row x·A + a,
//! ```
//!
//! reads one contiguous stretch of memory and never materialises the Q-values. The sum over a row
//! runs in stored order (targets ascending), left to right from 0.0, exactly as
//! [`super::Csr::row_dot`] does on the per-action matrices, so both layouts give the same bits.
//! Memory: 12 bytes per slot plus 1 (fixed width) or 8 (CSR) per row; no per-row allocation.
//! Values must be finite for the padding argument (they are: costs of admissible actions and
//! terminal values are finite).

use super::Csr;

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
}

impl Transitions {
    /// The slots of row `row` that hold its entries.
    #[inline]
    pub fn range(&self, row: usize) -> (usize, usize) {
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

    /// `Σ_y P(row, y) v(y)` for the state-action row `row`.
    #[inline]
    pub fn row_dot(&self, row: usize, values: &[f64]) -> f64 {
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

    /// Number of slots read per sweep (stored probabilities plus padding).
    pub fn slots(&self) -> usize {
        self.probability.len()
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
        for x in 0..nodes {
            let row = x * action_count + action;
            let (start, end) = self.range(row);
            matrix.indices.extend(self.target[start..end].iter().map(|y| *y as usize));
            matrix.data.extend_from_slice(&self.probability[start..end]);
            matrix.indptr.push(matrix.indices.len());
        }
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

    /// Release spare capacity.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.start.shrink_to_fit();
        self.length.shrink_to_fit();
        self.target.shrink_to_fit();
        self.probability.shrink_to_fit();
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
