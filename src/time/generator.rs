//! The rows of the upwind generator `A(u)` shared by the solvers that work on the equation rather
//! than on explicit steps: the implicit stepper ([`crate::time::implicit`], backward Euler and
//! stationary policy iteration) and fast sweeping ([`crate::time::sweeping`]).
//!
//! At a node `x` with drift `f`, diagonal diffusion `a` and spacings `h_i`, the rates are
//! `r_i^± = f_i^±/h_i + a_i/h_i²` ([`crate::scheme::weights`] at `Δt = 1`) and
//!
//! ```text
//! (A(u)V)(x) = Σ_i [ r_i⁺ (V(x+h_i e_i) − V(x)) + r_i⁻ (V(x−h_i e_i) − V(x)) ] + Σ_k λ_jk (V(x,k) − V(x,j)).
//! ```
//!
//! Beyond the ends the slots follow [`crate::scheme::closure`]: a wrapped node, the node itself
//! (state constraint: that transition cancels), nothing (Dirichlet rows are identity rows) or the
//! extrapolated ghost `V_N = 2V_{N−1} − V_{N−2}`. With the ghost, axis `i` of an end row reads
//! `(r_in − r_out)(V_opposite − V(x))`: the diffusion cancels (the ghost assumes `V_ii = 0`) and
//! what is left is the drift with the inward one-sided difference, `−f_out/h (V_opp − V)`, whose
//! coefficient is negative when the drift points out. [`Ends::Extrapolated`] keeps that row (the
//! backward-Euler steps, as they always had); [`Ends::Inward`] keeps only its inward part,
//!
//! ```text
//! axis i at an extrapolated end:   max(r_in − r_out, 0) (V_opposite − V(x)) = (f·n)⁻/h_i (V_opposite − V(x)),
//! ```
//!
//! `n` the outer normal: an inward drift is differenced as before, an outward drift is dropped
//! (the chain is stopped at the wall instead of leaving). Every row is then an M-matrix row. The
//! row differs from the extrapolated one only where the drift points out; there its consistency
//! error is `(f·n)⁺ |∂_i V|`, O(1) at that node (the PDE has no boundary condition there and the
//! scheme imposes the state-constraint-like `(f·n)⁺ = 0`), which stays in the boundary layer when
//! the optimal drift points in — see `docs/numerics.md` §4.5.

use crate::grid::MAX_DIMENSIONS;
use crate::problem::{Boundary, Problem};
use crate::scheme::closure::{Closure, Neighbour};
use crate::scheme::constraint::{admissibility, required_level, Sides, StateConstraints};
use crate::scheme::hamiltonian::MAX_CONTROLS;
use crate::scheme::minimiser::{closed_form_control, Driven};
use crate::scheme::{upwind_weights, ControlModel, Tabulation, Weights};
use crate::settings::Differencing;

/// How the rows at extrapolated ends are closed (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// The linear ghost `2V_{N−1} − V_{N−2}`: consistent, not an M-matrix row at outflow.
    Extrapolated,
    /// Only the inward drift: an M-matrix row for every control.
    Inward,
}

/// Where one off-centre matrix entry of a row goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Slot {
    /// The neighbour itself (coefficient `−Δt r`).
    Neighbour(usize),
    /// A ghost by linear extrapolation: `−Δt r (2V_0 − V_opposite)`, so `+Δt r` on the opposite
    /// node and `−2Δt r` on the centre.
    Extrapolated(usize),
    /// A Dirichlet row: no neighbours (the slot keeps the sparsity pattern fixed).
    Unused,
}

/// The generator rows of one problem on one grid.
#[derive(Debug)]
pub struct Generator<'a> {
    pub(crate) problem: &'a Problem,
    pub(crate) model: &'a ControlModel,
    pub(crate) inverse_spacing: Vec<f64>,
    /// `slots[node * 2n + 2k (+1)]`: forward (backward) neighbour of axis k.
    pub(crate) slots: Vec<Slot>,
    pub(crate) dirichlet_node: Vec<bool>,
    constraints: StateConstraints,
    /// Closed form: the states driven by each control.
    driven: Driven,
    ends: Ends,
}

impl<'a> Generator<'a> {
    /// The rows of `problem` with extrapolated ends closed as `ends`.
    pub fn new(problem: &'a Problem, model: &'a ControlModel, ends: Ends) -> Generator<'a> {
        let grid = &problem.grid;
        let n = grid.dimension();
        let nodes = grid.node_count();
        let shape = grid.shape();
        let strides = grid.strides().to_vec();
        let mut slots = Vec::with_capacity(nodes * 2 * n);
        let mut dirichlet_node = vec![false; nodes];
        let mut index = vec![0usize; n];
        for node in 0..nodes {
            grid.unravel_inplace(node, &mut index);
            let fixed = (0..n).any(|k| {
                matches!(problem.boundaries[k], Boundary::Dirichlet(_))
                    && (index[k] == 0 || index[k] + 1 == shape[k])
            });
            dirichlet_node[node] = fixed;
            for k in 0..n {
                let (i, size, stride) = (index[k], shape[k], strides[k]);
                let closure = Closure::of(&problem.boundaries[k]);
                let slot = |neighbour: Neighbour| match neighbour {
                    _ if fixed => Slot::Unused,
                    Neighbour::Node(c) => Slot::Neighbour(c),
                    Neighbour::Ghost { opposite } => Slot::Extrapolated(opposite),
                };
                slots.push(slot(closure.forward(node, i, size, stride)));
                slots.push(slot(closure.backward(node, i, size, stride)));
            }
        }
        Generator {
            constraints: StateConstraints::new(problem),
            problem,
            model,
            inverse_spacing: grid.spacings().iter().map(|h| 1.0 / h).collect(),
            slots,
            dirichlet_node,
            driven: match model {
                ControlModel::ClosedForm { control_of_state } => Driven::of(control_of_state),
                ControlModel::Sampled { .. } | ControlModel::Affine => Driven::of(&[]),
            },
            ends,
        }
    }

    /// How extrapolated ends are closed.
    pub fn ends(&self) -> Ends {
        self.ends
    }

    /// Neighbour values of `node` in `values` through the slots: extrapolated ghosts, or with
    /// [`Ends::Inward`] the node's own value (the outward difference is zero: no outward drift
    /// term; diffusion along that axis cancels either way).
    fn neighbours(&self, values: &[f64], node: usize) -> ([f64; MAX_DIMENSIONS], [f64; MAX_DIMENSIONS]) {
        let n = self.problem.grid.dimension();
        let center = values[node];
        let inward = self.ends == Ends::Inward;
        let read = |slot: Slot| match slot {
            Slot::Neighbour(c) => values[c],
            Slot::Extrapolated(_) if inward => center,
            Slot::Extrapolated(c) => 2.0 * center - values[c],
            Slot::Unused => center,
        };
        let mut forward = [0.0; MAX_DIMENSIONS];
        let mut backward = [0.0; MAX_DIMENSIONS];
        for k in 0..n {
            forward[k] = read(self.slots[node * 2 * n + 2 * k]);
            backward[k] = read(self.slots[node * 2 * n + 2 * k + 1]);
        }
        (forward, backward)
    }

    /// With [`Ends::Inward`], the rates of an end row closed as in the module docs: the ghost
    /// side gets rate 0 and the opposite side `max(r_in − r_out, 0)`; unchanged otherwise.
    #[inline]
    pub(crate) fn close_ends(&self, node: usize, rates: &mut Weights) {
        if self.ends != Ends::Inward {
            return;
        }
        let n = self.problem.grid.dimension();
        for k in 0..n {
            if matches!(self.slots[node * 2 * n + 2 * k], Slot::Extrapolated(_)) {
                rates.backward[k] = (rates.backward[k] - rates.forward[k]).max(0.0);
                rates.forward[k] = 0.0;
            }
            if matches!(self.slots[node * 2 * n + 2 * k + 1], Slot::Extrapolated(_)) {
                rates.forward[k] = (rates.forward[k] - rates.backward[k]).max(0.0);
                rates.backward[k] = 0.0;
            }
        }
    }

    /// The constrained sides of `node`, if any.
    fn sides(&self, node: usize) -> Option<Sides> {
        if !self.constraints.any() {
            return None;
        }
        let mut index = [0usize; MAX_DIMENSIONS];
        let n = self.problem.grid.dimension();
        self.problem.grid.unravel_inplace(node, &mut index[..n]);
        self.constraints.sides(&index[..n])
    }

    /// The policy minimising `[A(u)V + ℓ(u)](x)` at every node: the control vector (closed form)
    /// or the sample index (sampled), written into `policy[node * m ..]`.
    pub(crate) fn improve(
        &self,
        table: &Tabulation,
        values: &[f64],
        policy: &mut [f64],
        samples: &mut [usize],
    ) {
        for node in 0..values.len() {
            if !self.dirichlet_node[node] {
                self.improve_node(table, values, node, policy, samples);
            }
        }
    }

    /// [`Generator::improve`] at one node, with `values[node]` as the node's value.
    pub(crate) fn improve_node(
        &self,
        table: &Tabulation,
        values: &[f64],
        node: usize,
        policy: &mut [f64],
        samples: &mut [usize],
    ) {
        let n = self.problem.grid.dimension();
        let m = self.problem.controls.len();
        let center = values[node];
        let (forward, backward) = self.neighbours(values, node);
        let sides = self.sides(node);
        match self.model {
            ControlModel::Affine => {
                unreachable!("the affine game model runs on the high-order stepper (time::stepper)")
            }
            ControlModel::ClosedForm { .. } => {
                let base = &table.drift_base[node * n..(node + 1) * n];
                let gain = &table.drift_gain[node * n..(node + 1) * n];
                let mut forward_difference = [0.0; MAX_DIMENSIONS];
                let mut backward_difference = [0.0; MAX_DIMENSIONS];
                for i in 0..n {
                    forward_difference[i] = (forward[i] - center) * self.inverse_spacing[i];
                    backward_difference[i] = (center - backward[i]) * self.inverse_spacing[i];
                }
                for (j, control) in self.problem.controls.iter().enumerate() {
                    let (c, r) = (table.cost_linear[node * m + j], table.cost_quadratic[node * m + j]);
                    policy[node * m + j] = closed_form_control(
                        Differencing::Upwind,
                        base,
                        gain,
                        self.driven.states(j),
                        &forward_difference[..n],
                        &backward_difference[..n],
                        sides.as_ref(),
                        (control.lower, control.upper),
                        1.0,
                        c,
                        r,
                    );
                }
            }
            ControlModel::Sampled { values: controls, count } => {
                let mut best = (f64::INFINITY, 0);
                let level = |s: usize, sides: &Sides| {
                    let (drift, diffusion) = sample_coefficients(table, node, s, *count, n);
                    admissibility(drift, diffusion, sides)
                };
                let required = sides.map(|sides| (sides, required_level(*count, |s| level(s, &sides))));
                let inward = self.ends == Ends::Inward;
                for s in 0..*count {
                    let (drift, diffusion) = sample_coefficients(table, node, s, *count, n);
                    if required.as_ref().is_some_and(|(sides, required)| level(s, sides) < *required) {
                        continue;
                    }
                    let mut rates = upwind_weights(drift, diffusion, &self.inverse_spacing, 1.0);
                    let generator = if inward {
                        self.close_ends(node, &mut rates);
                        (0..n)
                            .map(|k| {
                                rates.forward[k] * (forward[k] - center)
                                    + rates.backward[k] * (backward[k] - center)
                            })
                            .sum::<f64>()
                    } else {
                        rates.expectation(center, &forward[..n], &backward[..n]) - center
                    };
                    let objective = generator + table.sample_cost[node * count + s];
                    if objective < best.0 {
                        best = (objective, s);
                    }
                }
                samples[node] = best.1;
                policy[node * m..(node + 1) * m].copy_from_slice(&controls[best.1 * m..(best.1 + 1) * m]);
            }
        }
    }

    /// Drift, diffusion and cost of the current policy at `node`.
    pub(crate) fn coefficients(
        &self,
        table: &Tabulation,
        policy: &[f64],
        samples: &[usize],
        node: usize,
    ) -> ([f64; MAX_DIMENSIONS], [f64; MAX_DIMENSIONS], f64) {
        let n = self.problem.grid.dimension();
        let m = self.problem.controls.len();
        let mut drift = [0.0; MAX_DIMENSIONS];
        let mut diffusion = [0.0; MAX_DIMENSIONS];
        let cost;
        match self.model {
            ControlModel::Affine => {
                unreachable!("the affine game model runs on the high-order stepper (time::stepper)")
            }
            ControlModel::ClosedForm { control_of_state } => {
                let mut total = table.cost_base[node];
                let mut u = [0.0; MAX_CONTROLS];
                u[..m].copy_from_slice(&policy[node * m..(node + 1) * m]);
                for j in 0..m {
                    total += table.cost_linear[node * m + j] * u[j]
                        + table.cost_quadratic[node * m + j] * u[j] * u[j];
                }
                for i in 0..n {
                    drift[i] = table.drift_base[node * n + i]
                        + control_of_state[i].map_or(0.0, |j| table.drift_gain[node * n + i] * u[j]);
                    if !table.diffusion.is_empty() {
                        diffusion[i] = table.diffusion[node * n + i];
                    }
                }
                cost = total;
            }
            ControlModel::Sampled { count, .. } => {
                let (d, a) = sample_coefficients(table, node, samples[node], *count, n);
                drift[..n].copy_from_slice(d);
                if !a.is_empty() {
                    diffusion[..n].copy_from_slice(a);
                }
                cost = table.sample_cost[node * count + samples[node]];
            }
        }
        (drift, diffusion, cost)
    }

    /// The rates of the current policy at `node` (ends closed) and its running cost.
    pub(crate) fn rates(
        &self,
        table: &Tabulation,
        policy: &[f64],
        samples: &[usize],
        node: usize,
    ) -> (Weights, f64) {
        let n = self.problem.grid.dimension();
        let (drift, diffusion, cost) = self.coefficients(table, policy, samples, node);
        let has_diffusion = !table.diffusion.is_empty() || !table.sample_diffusion.is_empty();
        let mut rates = upwind_weights(
            &drift[..n],
            if has_diffusion { &diffusion[..n] } else { &[] },
            &self.inverse_spacing,
            1.0,
        );
        self.close_ends(node, &mut rates);
        (rates, cost)
    }

    /// `(ℓ + Σ_y r_y V(y), ρ + Σ_y r_y)` of the row of `node` under `rates` (ends closed), the
    /// transitions to the node itself left out: the node's value solving the row is their ratio.
    #[inline]
    fn ratio_terms(
        &self,
        values: &[f64],
        node: usize,
        rates: &Weights,
        cost: f64,
        discount: f64,
    ) -> (f64, f64) {
        let n = self.problem.grid.dimension();
        let (mut numerator, mut denominator) = (cost, discount);
        for k in 0..n {
            for (slot, rate) in [
                (self.slots[node * 2 * n + 2 * k], rates.forward[k]),
                (self.slots[node * 2 * n + 2 * k + 1], rates.backward[k]),
            ] {
                match slot {
                    Slot::Neighbour(c) if c != node && rate > 0.0 => {
                        numerator += rate * values[c];
                        denominator += rate;
                    }
                    _ => {}
                }
            }
        }
        let (jumps, jump_rates) = self.jump_terms(values, node);
        (numerator + jumps, denominator + jump_rates)
    }

    /// Call `reader` with every other node whose row reads `node`'s value (the stencil is
    /// symmetric: the nodes of `node`'s own slots and regime jumps).
    pub(crate) fn for_each_reader(&self, node: usize, mut reader: impl FnMut(usize)) {
        let n = self.problem.grid.dimension();
        for slot in &self.slots[node * 2 * n..(node + 1) * 2 * n] {
            if let Slot::Neighbour(c) | Slot::Extrapolated(c) = slot {
                if *c != node {
                    reader(*c);
                }
            }
        }
        if let Some(switching) = &self.problem.switching {
            for k in 0..switching.rates.len() {
                let other = switching.node_in(node, k);
                if other != node {
                    reader(other);
                }
            }
        }
    }

    /// `(Σ_k λ_jk V(x,k), Σ_k λ_jk)` of the regime jumps at `node` (zeros without regimes).
    #[inline]
    fn jump_terms(&self, values: &[f64], node: usize) -> (f64, f64) {
        let (mut jumps, mut rates) = (0.0, 0.0);
        if let Some(switching) = &self.problem.switching {
            for (k, rate) in switching.rates[switching.regime_of(node)].iter().enumerate() {
                let other = switching.node_in(node, k);
                if other != node && *rate > 0.0 {
                    jumps += rate * values[other];
                    rates += rate;
                }
            }
        }
        (jumps, rates)
    }

    /// The value at `node` solving its own row `ρV(x) − min_u [A(u)V + ℓ(u)](x) = 0` with the
    /// other nodes' values held (one Gauss–Seidel update; requires [`Ends::Inward`] rows, whose
    /// diagonal `ρ + Σ r` dominates). Sampled controls: the smallest ratio
    /// `(ℓ + Σ r V(y)) / (ρ + Σ r)` over the admissible samples. Closed form: Newton on the
    /// concave, decreasing `v ↦ min_u [..]` (policy iteration at one node) from `values[node]`,
    /// which ends in finitely many steps for a piecewise-linear minimum; at most 16 here, the
    /// sweeps converge either way. `values[node]` and the node's policy are updated; returns
    /// `None` where no control moves the node and ρ = 0 (the value is kept).
    pub(crate) fn relax_node(
        &self,
        table: &Tabulation,
        values: &mut [f64],
        node: usize,
        policy: &mut [f64],
        samples: &mut [usize],
        discount: f64,
    ) -> Option<f64> {
        let n = self.problem.grid.dimension();
        let m = self.problem.controls.len();
        match self.model {
            ControlModel::Affine => {
                unreachable!("the affine game model runs on the high-order stepper (time::stepper)")
            }
            ControlModel::Sampled { values: controls, count } => {
                let sides = self.sides(node);
                let level = |s: usize, sides: &Sides| {
                    let (drift, diffusion) = sample_coefficients(table, node, s, *count, n);
                    admissibility(drift, diffusion, sides)
                };
                let required = sides.map(|sides| (sides, required_level(*count, |s| level(s, &sides))));
                // The node's stencil once: per axis and side the neighbour value, whether it
                // counts (a node other than this one) and whether it is an extrapolated ghost.
                let inward = self.ends == Ends::Inward;
                let mut neighbour = [[0.0f64; 2]; MAX_DIMENSIONS];
                let mut counts = [[false; 2]; MAX_DIMENSIONS];
                let mut ghost = [[false; 2]; MAX_DIMENSIONS];
                for k in 0..n {
                    for side in 0..2 {
                        match self.slots[node * 2 * n + 2 * k + side] {
                            Slot::Neighbour(c) if c != node => {
                                neighbour[k][side] = values[c];
                                counts[k][side] = true;
                            }
                            Slot::Extrapolated(_) => ghost[k][side] = inward,
                            _ => {}
                        }
                    }
                }
                let (jumps, jump_rates) = self.jump_terms(values, node);
                let noisy = !table.sample_diffusion.is_empty();
                // best = (numerator, denominator, sample); compare ratios without dividing.
                let mut best: Option<(f64, f64, usize)> = None;
                for s in 0..*count {
                    if required.as_ref().is_some_and(|(sides, required)| level(s, sides) < *required) {
                        continue;
                    }
                    let at = (node * count + s) * n;
                    let (mut numerator, mut denominator) =
                        (table.sample_cost[node * count + s] + jumps, discount + jump_rates);
                    for k in 0..n {
                        // The rates of crate::scheme::weights at Δt = 1, ends closed inward.
                        let rate = table.sample_drift[at + k] * self.inverse_spacing[k];
                        let spread = if noisy {
                            table.sample_diffusion[at + k] * self.inverse_spacing[k] * self.inverse_spacing[k]
                        } else {
                            0.0
                        };
                        let (mut forward, mut backward) =
                            if rate > 0.0 { (rate + spread, spread) } else { (spread, spread - rate) };
                        if ghost[k][0] {
                            (forward, backward) = (0.0, (backward - forward).max(0.0));
                        }
                        if ghost[k][1] {
                            (forward, backward) = ((forward - backward).max(0.0), 0.0);
                        }
                        if counts[k][0] {
                            numerator += forward * neighbour[k][0];
                            denominator += forward;
                        }
                        if counts[k][1] {
                            numerator += backward * neighbour[k][1];
                            denominator += backward;
                        }
                    }
                    if denominator <= 0.0 {
                        continue;
                    }
                    if best.is_none_or(|(a, b, _)| numerator * b < a * denominator) {
                        best = Some((numerator, denominator, s));
                    }
                }
                let (numerator, denominator, s) = best?;
                samples[node] = s;
                policy[node * m..(node + 1) * m].copy_from_slice(&controls[s * m..(s + 1) * m]);
                values[node] = numerator / denominator;
                Some(values[node])
            }
            ControlModel::ClosedForm { .. } => {
                for iteration in 0..16 {
                    self.improve_node(table, values, node, policy, samples);
                    let (rates, cost) = self.rates(table, policy, samples, node);
                    let (numerator, denominator) = self.ratio_terms(values, node, &rates, cost, discount);
                    if denominator <= 0.0 {
                        return (iteration > 0).then_some(values[node]);
                    }
                    let value = numerator / denominator;
                    // After the first step Newton decreases to the root; a step that does not
                    // decrease is the root (to rounding).
                    let settled = value == values[node] || (iteration > 0 && value > values[node]);
                    values[node] = value;
                    if settled {
                        break;
                    }
                }
                Some(values[node])
            }
        }
    }
}

/// Drift and diffusion of sample `s` at `node` (diffusion empty when the problem has none).
pub(crate) fn sample_coefficients(
    table: &Tabulation,
    node: usize,
    s: usize,
    count: usize,
    n: usize,
) -> (&[f64], &[f64]) {
    let at = (node * count + s) * n;
    let drift = &table.sample_drift[at..at + n];
    let diffusion =
        if table.sample_diffusion.is_empty() { &[][..] } else { &table.sample_diffusion[at..at + n] };
    (drift, diffusion)
}
