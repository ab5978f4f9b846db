//! The input-affine model of differential games: every drift affine in all inputs jointly,
//!
//! ```text
//! f_i(x, u, d, t) = a_i(x, t) + Σ_j B_ij(x, t) w_j,   w = (u, d),
//! ℓ(x, u, d, t)   = ℓ_0(x, t) + Σ_j (c_j w_j + r_j w_j²),
//! ```
//!
//! where a state may be driven by several inputs of both players (air3d's `ψ̇ = b − a`). With the
//! Lax–Friedrichs Hamiltonian, which evaluates the physical Hamiltonian at the central gradient
//! `p̄`, the min–max separates into one scalar problem per input:
//!
//! ```text
//! Ĥ = ℓ_0 + a·p̄ + Σ_j opt_j (s_j w_j + r_j w_j²) + Σ_i α_i (p⁺_i − p⁻_i)/2,   s_j = c_j + Σ_i B_ij p̄_i,
//! ```
//!
//! `opt_j` being the sense of input `j`'s player ([`crate::problem::game::Sense`]). A box input
//! takes the clamped vertex or a bound ([`minimise_quadratic`], sign-flipped for a maximiser); a
//! Euclidean ball `|w_G| ≤ R` (inputs without cost terms) takes `w_G = ∓R s_G/|s_G|`, worth
//! `∓R|s_G|`. The dissipation is the exact bound over both players' sets,
//!
//! ```text
//! α_i = max_w |f_i| = |a_i + Σ_j B_ij m_j| + Σ_{box j} |B_ij| h_j + Σ_{balls G} R_G |B_iG|₂,
//! ```
//!
//! with `m_j`, `h_j` the centre and half-width of box `j`, which makes the scheme monotone under
//! the CFL bound `Δt Σ_i α_i/h_i ≤ 1` whatever the sign structure (Crandall–Lions 1984; Osher–Shu
//! 1991). The Isaacs condition holds (the Hamiltonian is a sum of a control part and a disturbance
//! part), so the order of the optima does not matter. See `docs/numerics.md` §11.

use super::hamiltonian::{ControlModel, Tabulation};
use super::minimiser::minimise_quadratic;
use crate::error::{HjbError, Result};
use crate::problem::game::{Game, Sense};
use crate::problem::Problem;
use rayon::prelude::*;

/// Whether the game `problem` has the affine structure of the module docs: dynamics of degree ≤ 1
/// in all inputs jointly, a running cost of degree ≤ 2 (separability is checked on the grid by
/// the caller), and noise that does not depend on the inputs. Ball members must not enter the
/// running cost (refused: the closed form over a ball is for linear Hamiltonians).
pub(crate) fn is_affine(problem: &Problem, game: &Game) -> Result<bool> {
    let n = problem.grid.dimension();
    let m = problem.controls.len();
    let mut selected = vec![false; n + m + 1];
    for flag in &mut selected[n..n + m] {
        *flag = true;
    }
    let affine_dynamics = problem.dynamics.iter().all(|f| matches!(f.degree_in(&selected), Some(0 | 1)));
    let quadratic_cost = matches!(problem.running_cost.degree_in(&selected), Some(0..=2));
    let noise = problem.diffusion.iter().flatten().chain(problem.diffusion_matrix.iter().flatten().flatten());
    let quiet_noise = !noise.clone().any(|formula| formula.uses()[n..n + m].iter().any(|used| *used));
    let affine = affine_dynamics && quadratic_cost && quiet_noise;
    let uses = problem.running_cost.uses();
    for ball in &game.balls {
        if !affine {
            return Err(HjbError::InvalidProblem {
                field: "group".to_string(),
                message: format!(
                    "the ball `{}` needs dynamics affine in all inputs jointly (no products of inputs, no \
                     input-dependent noise) and a running cost at most quadratic; sample the inputs as boxes instead",
                    ball.name
                ),
            });
        }
        if let Some(j) = ball.inputs.iter().find(|j| uses[n + **j]) {
            return Err(HjbError::InvalidProblem {
                field: "cost.running".to_string(),
                message: format!(
                    "`{}` is a member of the ball `{}` and enters the running cost; the closed form over a ball \
                     takes inputs that act through the dynamics only",
                    problem.controls[*j].name, ball.name
                ),
            });
        }
    }
    Ok(affine)
}

impl Tabulation {
    /// The affine model's coefficients at time `t`: `drift_base` (`a`), `input_gain` (`B`, `n·m`
    /// per node, row-major), `cost_base`, `cost_linear`, `cost_quadratic`, diagonal `diffusion`.
    pub(crate) fn affine(problem: &Problem, coordinates: &[Vec<f64>], t: f64) -> Tabulation {
        let nodes = problem.grid.node_count();
        let n = problem.grid.dimension();
        let m = problem.controls.len();
        let zero = vec![0.0; m];
        let unit = |j: usize, value: f64| {
            let mut inputs = vec![0.0; m];
            inputs[j] = value;
            inputs
        };
        let mut drift_base = vec![0.0; nodes * n];
        let mut input_gain = vec![0.0; nodes * n * m];
        for (i, formula) in problem.dynamics.iter().enumerate() {
            let base = problem.tabulate(formula, coordinates, &zero, t);
            for (node, value) in base.iter().enumerate() {
                drift_base[node * n + i] = *value;
            }
            for j in 0..m {
                if !formula.uses()[n + j] {
                    continue;
                }
                let moved = problem.tabulate(formula, coordinates, &unit(j, 1.0), t);
                for node in 0..nodes {
                    input_gain[(node * n + i) * m + j] = moved[node] - base[node];
                }
            }
        }
        let cost_base = problem.tabulate(&problem.running_cost, coordinates, &zero, t);
        let mut cost_linear = vec![0.0; nodes * m];
        let mut cost_quadratic = vec![0.0; nodes * m];
        for j in 0..m {
            if !problem.running_cost.uses()[n + j] {
                continue;
            }
            let plus = problem.tabulate(&problem.running_cost, coordinates, &unit(j, 1.0), t);
            let minus = problem.tabulate(&problem.running_cost, coordinates, &unit(j, -1.0), t);
            for node in 0..nodes {
                cost_linear[node * m + j] = 0.5 * (plus[node] - minus[node]);
                cost_quadratic[node * m + j] = 0.5 * (plus[node] + minus[node]) - cost_base[node];
            }
        }
        let mut diffusion = Vec::new();
        if let Some(sigma) = &problem.diffusion {
            diffusion = vec![0.0; nodes * n];
            for (i, formula) in sigma.iter().enumerate() {
                for (node, s) in problem.tabulate(formula, coordinates, &zero, t).iter().enumerate() {
                    diffusion[node * n + i] = 0.5 * s * s;
                }
            }
        }
        Tabulation {
            drift_base,
            input_gain,
            cost_base,
            cost_linear,
            cost_quadratic,
            diffusion,
            ..Tabulation::default()
        }
    }

    /// `α_i = max_w |f_i(x, w)|` over both players' sets, per node (module docs).
    pub(crate) fn affine_dissipation(&self, problem: &Problem) -> Vec<f64> {
        let n = problem.grid.dimension();
        let m = problem.controls.len();
        let balls = problem.game.as_ref().map_or(&[][..], |game| &game.balls[..]);
        let mut dissipation = vec![0.0; problem.grid.node_count() * n];
        dissipation.par_chunks_mut(n).enumerate().for_each(|(node, alpha)| {
            for (i, alpha) in alpha.iter_mut().enumerate() {
                let gains = &self.input_gain[(node * n + i) * m..(node * n + i + 1) * m];
                let mut centre = self.drift_base[node * n + i];
                let mut spread = 0.0;
                for (j, (gain, input)) in gains.iter().zip(&problem.controls).enumerate() {
                    centre += gain * 0.5 * (input.lower + input.upper);
                    if !balls.iter().any(|ball| ball.inputs.contains(&j)) {
                        spread += gain.abs() * 0.5 * (input.upper - input.lower);
                    }
                }
                for ball in balls {
                    let norm = ball.inputs.iter().map(|j| gains[*j] * gains[*j]).sum::<f64>().sqrt();
                    spread += ball.radius * norm;
                }
                *alpha = centre.abs() + spread;
            }
        });
        dissipation
    }

    /// The drift of the affine model at `node` that maximises `Σ_i |f_i|/h_i` is bounded by the
    /// per-axis maxima; this is the vector of those maxima with the sign of the drift at the
    /// inputs' centres (for the frozen-coefficient stability analysis).
    pub(crate) fn affine_peak_drift(&self, problem: &Problem, node: usize) -> Vec<f64> {
        let n = problem.grid.dimension();
        let m = problem.controls.len();
        (0..n)
            .map(|i| {
                let gains = &self.input_gain[(node * n + i) * m..(node * n + i + 1) * m];
                let centre: f64 = self.drift_base[node * n + i]
                    + gains
                        .iter()
                        .zip(&problem.controls)
                        .map(|(g, input)| g * 0.5 * (input.lower + input.upper))
                        .sum::<f64>();
                let alpha = self.dissipation[node * n + i];
                if centre < 0.0 {
                    -alpha
                } else {
                    alpha
                }
            })
            .collect()
    }
}

/// One player's optimum of `s w + r w²` over `[lower, upper]`.
#[inline(always)]
pub(crate) fn optimise_quadratic(sense: Sense, linear: f64, quadratic: f64, lower: f64, upper: f64) -> f64 {
    match sense {
        Sense::Minimise => minimise_quadratic(linear, quadratic, lower, upper),
        Sense::Maximise => minimise_quadratic(-linear, -quadratic, lower, upper),
    }
}

/// What the affine Hamiltonian needs besides the node's coefficients: each input's sense and
/// box, and the balls, in fixed-size arrays (the node rule runs once per node and stage).
#[derive(Debug, Clone)]
pub(crate) struct AffineInputs {
    /// `+1` for a minimiser, `−1` for a maximiser.
    signs: [f64; MAX_INPUTS],
    lower: [f64; MAX_INPUTS],
    upper: [f64; MAX_INPUTS],
    /// Whether input `j` belongs to a ball (then it is not optimised as a box).
    in_ball: [bool; MAX_INPUTS],
    /// Members, radius and sign of each ball.
    balls: Vec<(Vec<usize>, f64, f64)>,
}

impl AffineInputs {
    /// Whether some inputs form a ball (the row rule leaves those to the node rule).
    pub(crate) fn has_balls(&self) -> bool {
        !self.balls.is_empty()
    }

    /// `(sign, lower, upper)` of input `j`.
    #[inline(always)]
    pub(crate) fn input_box(&self, j: usize) -> (f64, f64, f64) {
        (self.signs[j], self.lower[j], self.upper[j])
    }

    /// The inputs of `problem` (a game).
    pub(crate) fn of(problem: &Problem) -> AffineInputs {
        let game_balls = problem.game.as_ref().map_or(&[][..], |game| &game.balls[..]);
        let sign = |sense: Sense| if sense == Sense::Minimise { 1.0 } else { -1.0 };
        let mut inputs = AffineInputs {
            signs: [1.0; MAX_INPUTS],
            lower: [0.0; MAX_INPUTS],
            upper: [0.0; MAX_INPUTS],
            in_ball: [false; MAX_INPUTS],
            balls: game_balls
                .iter()
                .map(|ball| (ball.inputs.clone(), ball.radius, sign(problem.sense_of(ball.inputs[0]))))
                .collect(),
        };
        for (j, input) in problem.controls.iter().enumerate().take(MAX_INPUTS) {
            inputs.signs[j] = sign(problem.sense_of(j));
            inputs.lower[j] = input.lower;
            inputs.upper[j] = input.upper;
            inputs.in_ball[j] = game_balls.iter().any(|ball| ball.inputs.contains(&j));
        }
        inputs
    }

    /// The Lax–Friedrichs Hamiltonian at `node` without the dissipation and diffusion terms:
    /// `ℓ_0 + a·p̄ + Σ_j opt_j(s_j w_j + r_j w_j²)`; the optimal inputs go to `inputs`.
    #[inline(always)]
    pub(crate) fn hamiltonian<const D: usize>(
        &self,
        table: &Tabulation,
        node: usize,
        central: &[f64; D],
        inputs: &mut [f64],
    ) -> f64 {
        let m = inputs.len();
        let base = &table.drift_base[node * D..(node + 1) * D];
        let gain = &table.input_gain[node * D * m..(node + 1) * D * m];
        let linear = &table.cost_linear[node * m..(node + 1) * m];
        let quadratic = &table.cost_quadratic[node * m..(node + 1) * m];
        let mut hamiltonian = table.cost_base[node];
        for i in 0..D {
            hamiltonian += base[i] * central[i];
        }
        let mut slopes = [0.0f64; MAX_INPUTS];
        for j in 0..m {
            let mut s = linear[j];
            for i in 0..D {
                s += gain[i * m + j] * central[i];
            }
            slopes[j] = s;
        }
        for j in 0..m {
            if self.in_ball[j] {
                continue;
            }
            let (s, r) = (slopes[j], quadratic[j]);
            let w = if r == 0.0 {
                // Linear: the bound against the (sense-adjusted) slope; 0 clamped when flat.
                let signed = self.signs[j] * s;
                if signed > 0.0 {
                    self.lower[j]
                } else if signed < 0.0 {
                    self.upper[j]
                } else {
                    0.0f64.clamp(self.lower[j], self.upper[j])
                }
            } else {
                let sign = self.signs[j];
                minimise_quadratic(sign * s, sign * r, self.lower[j], self.upper[j])
            };
            inputs[j] = w;
            hamiltonian += s * w + r * w * w;
        }
        for (members, radius, sign) in &self.balls {
            let norm = members.iter().map(|j| slopes[*j] * slopes[*j]).sum::<f64>().sqrt();
            for j in members {
                inputs[*j] = if norm > 0.0 { -sign * radius * slopes[*j] / norm } else { 0.0 };
            }
            hamiltonian -= sign * radius * norm;
        }
        hamiltonian
    }
}

/// Largest number of inputs (controls and disturbances together) of the affine model.
pub(crate) const MAX_INPUTS: usize = crate::scheme::hamiltonian::MAX_CONTROLS;

/// The affine model of a game, if it applies (see [`is_affine`]); errors for ball sets that need
/// it and do not have it.
pub(crate) fn analyse(problem: &Problem, game: &Game) -> Result<Option<ControlModel>> {
    Ok(is_affine(problem, game)?.then_some(ControlModel::Affine))
}
