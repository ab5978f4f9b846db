//! The control problem, pointwise: dynamics `f(x,u,t)`, running cost `ℓ(x,u,t)`, terminal cost
//! `g(x)`, discount `ρ`, horizon `T`, the control box, the grid and its boundary handling.
//!
//! The value function solves (`docs/numerics.md` §1)
//!
//! ```text
//! −V_t + ρV − min_u { f·∇V + ℓ } = 0,   V(x, T) = g(x),
//! ```
//!
//! Every formula is compiled over the same variable list: the states (in axis order), the
//! controls (in order), then `t` (physical time). Parameters are folded in as constants.

pub mod builder;
pub mod formula;
pub mod function;
pub mod game;
pub mod linearly_solvable;
pub mod lqr;
pub mod min_time;
pub mod mixture;
pub mod spec;

use crate::error::{HjbError, Result};
use crate::grid::{Axis, Grid};
use formula::Column;

pub use builder::ProblemBuilder;
pub use function::{Code, PointFunction};

pub use spec::{load_problem, parse_problem, ProblemFile};

/// How the value is closed at the ends of a non-periodic axis.
#[derive(Debug, Clone)]
pub enum Boundary {
    /// Ghost value by linear extrapolation, `V_{-1} = 2V_0 − V_1` (the default; as in
    /// hj_reachability). Not monotone at nodes whose optimal drift points out of the box.
    Extrapolate,
    /// The axis wraps around.
    Periodic,
    /// The boundary nodes hold a prescribed value `V = formula(x, t)`.
    Dirichlet(PointFunction),
    /// State constraint (Achdou–Moll): at the ends only controls with inward drift are
    /// admissible; the diffusion's outer weight is reflected (see [`crate::scheme::constraint`]).
    StateConstraint,
}

impl Boundary {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Boundary::Extrapolate => "extrapolate",
            Boundary::Periodic => "periodic",
            Boundary::Dirichlet(_) => "dirichlet",
            Boundary::StateConstraint => "state_constraint",
        }
    }
}

/// A control component with box bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    /// The name of the control in formulas.
    pub name: String,
    /// The lower bound of the control box.
    pub lower: f64,
    /// The upper bound of the control box.
    pub upper: f64,
    /// Number of samples in `[lower, upper]` used when the Hamiltonian has no closed form.
    pub samples: usize,
    /// Units for labels (`[[control]] units = "N"`), empty when not given.
    pub units: String,
}

/// Box on which errors against a reference are measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRegion {
    /// `(lower, upper)` per state axis.
    pub bounds: Vec<(f64, f64)>,
}

impl ErrorRegion {
    /// The default region: the central half of each axis.
    pub fn central_half(grid: &Grid) -> ErrorRegion {
        ErrorRegion {
            bounds: grid
                .axes()
                .iter()
                .map(|axis| {
                    let (middle, quarter) =
                        ((axis.lower + axis.upper) / 2.0, (axis.upper - axis.lower) / 4.0);
                    (middle - quarter, middle + quarter)
                })
                .collect(),
        }
    }

    /// Whether `point` lies in the box (bounds included, with a slack of 1e-12).
    pub fn contains(&self, point: &[f64]) -> bool {
        const SLACK: f64 = 1e-12;
        self.bounds.iter().zip(point).all(|((lower, upper), x)| *x >= lower - SLACK && *x <= upper + SLACK)
    }

    /// Human-readable form, e.g. `x ∈ [-1, 1], v ∈ [-1, 1]`.
    pub fn describe(&self, names: &[String]) -> String {
        self.bounds
            .iter()
            .zip(names)
            .map(|((lower, upper), name)| format!("{name} ∈ [{lower}, {upper}]"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An exact solution to compare against.
#[derive(Debug, Clone)]
pub enum ReferenceSolution {
    /// `V(x, t) = xᵀP(t)x + c(t)` from the Riccati equation of an LQ problem.
    Lqr(Box<lqr::Lqr>),
    /// A user formula for `V(x, 0)` (variables: states, controls unused, `t` = 0).
    Formula(PointFunction),
    /// Minimum time of `ẍ = u, |u| ≤ 1` to the disc `x² + v² ≤ r²` (see [`min_time`]).
    DoubleIntegratorMinTime {
        /// The radius `r` of the target disc.
        radius: f64,
    },
    /// The Cole–Hopf solution of sampling by optimal control: `dX = u dt + dW`, cost `½|u|²`,
    /// `g = log φ_T − log p` for the Gaussian mixture `p` (see [`mixture`]).
    GaussianMixture {
        /// The target density `p`.
        mixture: Box<mixture::GaussianMixture>,
        /// The horizon `T`.
        horizon: f64,
    },
}

/// Reference plus the region where errors are measured.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The exact solution.
    pub solution: ReferenceSolution,
    /// The box on which errors against it are measured.
    pub region: ErrorRegion,
}

/// A discrete state switching at Poisson rates (`[regimes]`): the last grid axis, one node per
/// regime; `rates[j][k]` = λ_jk. The generator adds `Σ_k λ_jk (V(x, k) − V(x, j))`.
#[derive(Debug, Clone, PartialEq)]
pub struct Switching {
    /// The index of the regime axis (the last grid axis).
    pub axis: usize,
    /// The switching rates: `rates[j][k]` = `λ_jk`, the rate of jumps from regime `j` to
    /// regime `k`.
    pub rates: Vec<Vec<f64>>,
}

impl Switching {
    /// `max_j Σ_k λ_jk`, the switching part of the CFL rate.
    pub fn largest_rate(&self) -> f64 {
        self.rates.iter().map(|row| row.iter().sum::<f64>()).fold(0.0, f64::max)
    }

    /// The regime of `node` (the regime axis is the last, stride 1, so regime `k` of the same
    /// continuous state lies at `node + (k − j)`).
    #[inline]
    pub fn regime_of(&self, node: usize) -> usize {
        node % self.rates.len()
    }

    /// The node of regime `k` at the same continuous state as `node`.
    #[inline]
    pub fn node_in(&self, node: usize, k: usize) -> usize {
        node - self.regime_of(node) + k
    }

    /// The jumps out of `node`'s regime with a positive rate: `(node of regime k, k, λ_jk)`.
    /// The one description of the switching, read by every scheme (the explicit step through
    /// [`Switching::jump`], the implicit matrix rows, the semi-Lagrangian feet and the MDP chain).
    #[inline]
    pub fn jumps(&self, node: usize) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        self.rates[self.regime_of(node)]
            .iter()
            .enumerate()
            .filter(|(_, rate)| **rate > 0.0)
            .map(move |(k, rate)| (self.node_in(node, k), k, *rate))
    }

    /// `Σ_k λ_jk (V(x, k) − V(x, j))` at `node` of regime `j` (zero rates included).
    #[inline]
    pub fn jump(&self, values: &[f64], node: usize, regime: usize) -> f64 {
        let center = values[node];
        self.rates[regime]
            .iter()
            .enumerate()
            .map(|(k, rate)| rate * (values[node - regime + k] - center))
            .sum()
    }
}

/// A complete problem: the model and its grid (solver settings are separate: [`crate::Settings`]).
#[derive(Debug, Clone)]
pub struct Problem {
    /// The name of the problem; output files are named after it.
    pub name: String,
    /// Free text from the file (`description = "..."`), stored in result files.
    pub description: String,
    /// The state grid.
    pub grid: Grid,
    /// The boundary closure of each state axis.
    pub boundaries: Vec<Boundary>,
    /// The control components, in the order of the variable list.
    pub controls: Vec<Control>,
    /// One formula per state: `f_i(x, u, t)`.
    pub dynamics: Vec<PointFunction>,
    /// Diagonal diffusion, one formula per state: `σ_i(x, u, t)` in `dX_i = f_i dt + σ_i dW_i`
    /// (independent Brownian motions); `None` for deterministic problems.
    pub diffusion: Option<Vec<PointFunction>>,
    /// Running cost `ℓ(x, u, t)`.
    pub running_cost: PointFunction,
    /// Terminal cost `g(x)`; on a target set also the exit cost.
    pub terminal_cost: PointFunction,
    /// Target set `{x : target(x) ≤ 0}` (exit-time problems): its nodes hold `V = g`.
    pub target: Option<PointFunction>,
    /// Regime switching (`[regimes]`), the last grid axis.
    pub switching: Option<Switching>,
    /// Correlated noise: the full `σ` (n rows × k columns) of `dX = f dt + σ dW`; `None` when the
    /// noise is diagonal (`diffusion`) or absent. Semi-Lagrangian feet along its columns, or the
    /// explicit schemes' cross stencil where it is diagonally dominant (not the implicit scheme).
    pub diffusion_matrix: Option<Vec<Vec<PointFunction>>>,
    /// Discount rate `ρ` (`ρ ≥ 0`; the cost is weighted by `e^{−ρ(s−t)}`).
    pub discount: f64,
    /// Horizon T; `f64::INFINITY` for a stationary (infinite-horizon, discounted) problem.
    pub final_time: f64,
    /// The exact solution to compare against, when there is one.
    pub reference: Option<Reference>,
    /// The second player (`[[disturbance]]`, `[game]`): its inputs are the last entries of
    /// `controls`; `None` for a control problem.
    pub game: Option<game::Game>,
    /// Reachable set, tube or reach–avoid (`[reachability]`); `None` for a cost problem.
    pub reachability: Option<game::Reachability>,
    /// The problem file text (stored in result files).
    pub source_text: String,
}

impl Problem {
    /// The names of the states, in axis order.
    pub fn state_names(&self) -> Vec<String> {
        self.grid.axes().iter().map(|axis| axis.name.clone()).collect()
    }

    /// Whether the problem is a differential game (it has disturbances).
    pub fn is_game(&self) -> bool {
        self.game.as_ref().is_some_and(|game| game.disturbances > 0)
    }

    /// How input `j` (a control or a disturbance) is optimised.
    pub fn sense_of(&self, j: usize) -> game::Sense {
        match &self.game {
            Some(game) => game.sense_of(j, self.controls.len()),
            None => game::Sense::Minimise,
        }
    }

    /// The names of the controls, in order (disturbances last).
    pub fn control_names(&self) -> Vec<String> {
        self.controls.iter().map(|control| control.name.clone()).collect()
    }

    /// The variable list every formula is compiled over: states, controls, `t`.
    pub fn variable_names(&self) -> Vec<String> {
        let mut names = self.state_names();
        names.extend(self.control_names());
        names.push("t".to_string());
        names
    }

    /// Infinite horizon: `ρV − min_u {f·∇V + ½tr(σσᵀD²V) + ℓ} = 0`, no time variable.
    pub fn is_stationary(&self) -> bool {
        self.final_time.is_infinite()
    }

    /// Physical time at which time-independent coefficients are tabulated: T, or 0 when stationary.
    pub fn tabulation_time(&self) -> f64 {
        if self.is_stationary() {
            0.0
        } else {
            self.final_time
        }
    }

    /// Index of the variable `t` in [`Problem::variable_names`].
    pub fn time_variable(&self) -> usize {
        self.grid.dimension() + self.controls.len()
    }

    /// Whether any formula of the dynamics or running cost depends on `t`.
    pub fn is_time_dependent(&self) -> bool {
        let t = self.time_variable();
        self.dynamics
            .iter()
            .chain(std::iter::once(&self.running_cost))
            .chain(self.diffusion.iter().flatten())
            .chain(self.diffusion_matrix.iter().flatten().flatten())
            .any(|f| f.uses()[t])
            || self.boundaries.iter().any(|b| matches!(b, Boundary::Dirichlet(f) if f.uses()[t]))
    }

    /// The same problem on a grid with other point counts (one per axis).
    pub fn with_points(&self, points: &[usize]) -> Result<Problem> {
        if points.len() != self.grid.dimension() {
            return Err(HjbError::InvalidGrid {
                message: format!(
                    "{} counts given for {} axes; give one number for all axes or one per axis",
                    points.len(),
                    self.grid.dimension()
                ),
            });
        }
        if let Some(switching) = &self.switching {
            let regimes = switching.rates.len();
            if points[switching.axis] != regimes {
                return Err(HjbError::InvalidGrid {
                    message: format!(
                        "axis `{}` is the regime variable with {regimes} regimes; give it {regimes} points",
                        self.grid.axes()[switching.axis].name
                    ),
                });
            }
        }
        let axes: Vec<Axis> = self
            .grid
            .axes()
            .iter()
            .zip(points)
            .map(|(axis, points)| Axis { points: *points, ..axis.clone() })
            .collect();
        let mut problem = self.clone();
        problem.grid =
            Grid::new(axes).map_err(|error| HjbError::InvalidGrid { message: error.to_string() })?;
        Ok(problem)
    }

    /// Tabulate a formula over all grid nodes at time `t` with the controls held at `controls`.
    pub fn tabulate(
        &self,
        formula: &PointFunction,
        coordinates: &[Vec<f64>],
        controls: &[f64],
        t: f64,
    ) -> Vec<f64> {
        let mut columns: Vec<Column> = coordinates.iter().map(|column| Column::Values(column)).collect();
        columns.extend(controls.iter().map(|value| Column::Scalar(*value)));
        columns.push(Column::Scalar(t));
        let mut out = vec![0.0; self.grid.node_count()];
        formula.evaluate_columns(&columns, &mut out);
        out
    }

    /// Exact value at the node coordinates at `t = 0`, when the problem has a reference.
    pub fn reference_values(&self, coordinates: &[Vec<f64>]) -> Option<Vec<f64>> {
        let reference = self.reference.as_ref()?;
        Some(match &reference.solution {
            ReferenceSolution::Lqr(lqr) => {
                let (p, c) = lqr.value_coefficients_at_start().ok()?;
                let n = self.grid.dimension();
                (0..self.grid.node_count())
                    .map(|node| {
                        let mut value = c;
                        for i in 0..n {
                            for j in 0..n {
                                value += coordinates[i][node] * p[(i, j)] * coordinates[j][node];
                            }
                        }
                        value
                    })
                    .collect()
            }
            ReferenceSolution::Formula(formula) => {
                let zeros = vec![0.0; self.controls.len()];
                self.tabulate(formula, coordinates, &zeros, 0.0)
            }
            ReferenceSolution::DoubleIntegratorMinTime { radius } => {
                use rayon::prelude::*;
                (0..self.grid.node_count())
                    .into_par_iter()
                    .map(|node| min_time::to_disc(coordinates[0][node], coordinates[1][node], *radius))
                    .collect()
            }
            ReferenceSolution::GaussianMixture { mixture, horizon } => (0..self.grid.node_count())
                .map(|node| {
                    let x: Vec<f64> = coordinates.iter().map(|column| column[node]).collect();
                    mixture.cole_hopf(&x, 0.0, *horizon).0
                })
                .collect(),
        })
    }

    /// The fixed values at time `t` (NaN where free), or `None` when no node is fixed: each node
    /// on the boundary of a Dirichlet axis takes that axis's formula (the last such axis winning
    /// at corners), each node of the target set takes the exit cost g. The one definition of the
    /// fixed nodes, used by every solver and by the MDP's terminal states.
    pub fn fixed_values(&self, coordinates: &[Vec<f64>], t: f64) -> Option<Vec<f64>> {
        let no_controls = vec![0.0; self.controls.len()];
        let columns: Vec<Option<Vec<f64>>> = self
            .boundaries
            .iter()
            .map(|boundary| match boundary {
                Boundary::Dirichlet(formula) => Some(self.tabulate(formula, coordinates, &no_controls, t)),
                _ => None,
            })
            .collect();
        if columns.iter().all(Option::is_none) && self.target.is_none() {
            return None;
        }
        let nodes = self.grid.node_count();
        let mut field = vec![f64::NAN; nodes];
        let mut index = vec![0; self.grid.dimension()];
        for (node, value) in field.iter_mut().enumerate() {
            self.grid.unravel_inplace(node, &mut index);
            for (k, column) in columns.iter().enumerate() {
                if let Some(column) = column {
                    if index[k] == 0 || index[k] + 1 == self.grid.axes()[k].points {
                        *value = column[node];
                    }
                }
            }
        }
        // Target nodes hold the exit cost g.
        if let Some(target) = &self.target {
            let inside = self.tabulate(target, coordinates, &no_controls, t);
            let exit = self.tabulate(&self.terminal_cost, coordinates, &no_controls, t);
            for node in 0..nodes {
                if inside[node] <= 0.0 {
                    field[node] = exit[node];
                }
            }
        }
        Some(field)
    }
}

impl Problem {
    /// The facts `scheme = "auto"` decides by ([`crate::settings::choose`]).
    pub fn class(&self) -> crate::settings::ProblemClass {
        crate::settings::ProblemClass {
            stationary: self.is_stationary(),
            discount: self.discount,
            correlated_noise: self.diffusion_matrix.is_some(),
            game: self.game.is_some(),
        }
    }
}
