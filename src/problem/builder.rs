//! A model in Rust code: [`ProblemBuilder`] assembles a [`Problem`] from closures, the same
//! `Problem` a problem file compiles to, so every solver, report and file treats both alike.
//!
//! Every function receives the variable vector `(x_1 … x_n, u_1 … u_m, t)` — states in the
//! order they were added, then controls, then physical time — and declares what it reads
//! ([`Code::uses`]) and, for the drift and the running cost, its degree in the controls
//! ([`Code::degree_in_controls`]): with affine drifts and a quadratic separable cost the minimum
//! over the controls is taken in closed form, otherwise over the control samples.
//!
//! ```
//! use hjb::problem::{Code, ProblemBuilder};
//! // ẋ = u, cost ∫ (x² + u²) dt over [0, 1], |u| ≤ 2.
//! let problem = ProblemBuilder::new("scalar_lqr")
//!     .state("x", -2.0, 2.0, 81)
//!     .control("u", -2.0, 2.0, 41)
//!     .drift("x", Code::new("u", |p| p[1]).uses(&["u"]).degree_in_controls(1))
//!     .running_cost(Code::new("x² + u²", |p| p[0] * p[0] + p[1] * p[1]).uses(&["x", "u"]).degree_in_controls(2))
//!     .terminal_cost(Code::new("0", |_| 0.0).uses(&[]))
//!     .final_time(1.0)
//!     .build()?;
//! let solution = hjb::solve(&problem, &hjb::Settings::default(), &mut hjb::Silent)?;
//! assert_eq!(solution.diagnostics.hamiltonian, "closed_form");
//! # Ok::<(), hjb::HjbError>(())
//! ```

use super::function::{Code, PointFunction};
use super::game::{Game, ReachMode, Reachability, Sense};
use super::{Boundary, Control, ErrorRegion, Problem, Reference, ReferenceSolution};
use crate::error::{HjbError, Result};
use crate::grid::{Axis, Grid};

/// Assembles a [`Problem`] from Rust closures (see the module docs).
#[derive(Clone)]
pub struct ProblemBuilder {
    name: String,
    description: String,
    axes: Vec<Axis>,
    boundaries: Vec<BoundaryChoice>,
    controls: Vec<Control>,
    drifts: Vec<(String, Code)>,
    noises: Vec<(String, Code)>,
    running_cost: Option<Code>,
    terminal_cost: Option<Code>,
    target: Option<Code>,
    discount: f64,
    final_time: Option<f64>,
    reference: Option<(ReferenceSolution, Option<Region>)>,
    disturbances: Vec<Control>,
    control_sense: Sense,
    reachability: Option<(ReachMode, Code, Option<Code>)>,
}

/// `(lower, upper)` per state.
type Region = Vec<(f64, f64)>;

#[derive(Clone)]
enum BoundaryChoice {
    Extrapolate,
    Periodic,
    StateConstraint,
    Dirichlet(Code),
}

impl std::fmt::Debug for ProblemBuilder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("ProblemBuilder").field("name", &self.name).field("axes", &self.axes).finish()
    }
}

fn invalid(field: &str, message: impl Into<String>) -> HjbError {
    HjbError::InvalidProblem { field: field.to_string(), message: message.into() }
}

impl ProblemBuilder {
    /// An empty problem called `name`.
    pub fn new(name: &str) -> ProblemBuilder {
        ProblemBuilder {
            name: name.to_string(),
            description: String::new(),
            axes: Vec::new(),
            boundaries: Vec::new(),
            controls: Vec::new(),
            drifts: Vec::new(),
            noises: Vec::new(),
            running_cost: None,
            terminal_cost: None,
            target: None,
            discount: 0.0,
            final_time: None,
            reference: None,
            disturbances: Vec::new(),
            control_sense: Sense::Minimise,
            reachability: None,
        }
    }

    /// A disturbance (the second player of a differential game) in `[lower, upper]`; formulas see
    /// it after the controls: `(x, u, d, t)`.
    pub fn disturbance(mut self, name: &str, lower: f64, upper: f64, samples: usize) -> Self {
        self.disturbances.push(Control {
            name: name.to_string(),
            lower,
            upper,
            samples,
            units: String::new(),
        });
        self
    }

    /// How the controls optimise (default: minimise); the disturbances do the opposite.
    pub fn control_sense(mut self, sense: Sense) -> Self {
        self.control_sense = sense;
        self
    }

    /// A reachability problem: the target `{target ≤ 0}` and, for [`ReachMode::ReachAvoid`], the
    /// obstacle `{obstacle ≤ 0}` (functions of the states and `t`). The running cost is 0 and the
    /// terminal value is the target (or `max(target, −obstacle)`).
    pub fn reachability(mut self, mode: ReachMode, target: Code, obstacle: Option<Code>) -> Self {
        self.reachability = Some((mode, target, obstacle));
        self
    }

    /// Free text stored in result files.
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }

    /// A state axis `[lower, upper]` with `points` nodes (linear extrapolation at its ends).
    pub fn state(mut self, name: &str, lower: f64, upper: f64, points: usize) -> Self {
        self.axes.push(Axis {
            name: name.to_string(),
            lower,
            upper,
            points,
            periodic: false,
            units: String::new(),
        });
        self.boundaries.push(BoundaryChoice::Extrapolate);
        self
    }

    /// The last added state wraps around (`upper` is identified with `lower`).
    pub fn periodic(mut self) -> Self {
        if let (Some(axis), Some(boundary)) = (self.axes.last_mut(), self.boundaries.last_mut()) {
            axis.periodic = true;
            *boundary = BoundaryChoice::Periodic;
        }
        self
    }

    /// The last added state is constrained to its box (only inward controls at the ends).
    pub fn state_constraint(mut self) -> Self {
        if let Some(boundary) = self.boundaries.last_mut() {
            *boundary = BoundaryChoice::StateConstraint;
        }
        self
    }

    /// The ends of the last added state hold `V = value(x, t)`.
    pub fn dirichlet(mut self, value: Code) -> Self {
        if let Some(boundary) = self.boundaries.last_mut() {
            *boundary = BoundaryChoice::Dirichlet(value);
        }
        self
    }

    /// A control in `[lower, upper]` with `samples` points for the sampled minimisation.
    pub fn control(mut self, name: &str, lower: f64, upper: f64, samples: usize) -> Self {
        self.controls.push(Control { name: name.to_string(), lower, upper, samples, units: String::new() });
        self
    }

    /// The drift `f_i(x, u, t)` of state `state`.
    pub fn drift(mut self, state: &str, code: Code) -> Self {
        self.drifts.push((state.to_string(), code));
        self
    }

    /// The noise `σ_i(x, u, t)` of state `state` (independent Brownian motions).
    pub fn noise(mut self, state: &str, code: Code) -> Self {
        self.noises.push((state.to_string(), code));
        self
    }

    /// The running cost `ℓ(x, u, t)`.
    pub fn running_cost(mut self, code: Code) -> Self {
        self.running_cost = Some(code);
        self
    }

    /// The terminal cost `g(x)` (also the exit cost on a target set).
    pub fn terminal_cost(mut self, code: Code) -> Self {
        self.terminal_cost = Some(code);
        self
    }

    /// An exit-time target `{x : level(x) ≤ 0}` whose nodes hold `V = g`.
    pub fn target(mut self, level: Code) -> Self {
        self.target = Some(level);
        self
    }

    /// The discount rate `ρ ≥ 0`.
    pub fn discount(mut self, rate: f64) -> Self {
        self.discount = rate;
        self
    }

    /// The horizon `T` (omit it, or give `f64::INFINITY`, for a stationary problem).
    pub fn final_time(mut self, horizon: f64) -> Self {
        self.final_time = Some(horizon);
        self
    }

    /// An exact solution to measure errors against, on `region` (`(lower, upper)` per state;
    /// default: the central half of each axis).
    pub fn reference(mut self, solution: ReferenceSolution, region: Option<Vec<(f64, f64)>>) -> Self {
        self.reference = Some((solution, region));
        self
    }

    /// Check and assemble the problem.
    pub fn build(self) -> Result<Problem> {
        if self.axes.is_empty() {
            return Err(invalid(
                "state",
                "the problem has no state; add one with .state(name, lower, upper, points)",
            ));
        }
        let disturbance_count = self.disturbances.len();
        let mut all_inputs = self.controls.clone();
        all_inputs.extend(self.disturbances.iter().cloned());
        for control in &all_inputs {
            if !(control.lower.is_finite() && control.upper.is_finite() && control.lower <= control.upper) {
                return Err(invalid(
                    "control",
                    format!(
                        "control `{}` has bounds [{}, {}]; give finite lower ≤ upper",
                        control.name, control.lower, control.upper
                    ),
                ));
            }
            if control.samples < 2 {
                return Err(invalid(
                    "control",
                    format!("control `{}` needs at least 2 samples", control.name),
                ));
            }
        }
        let grid = Grid::new(self.axes.clone()).map_err(|error| invalid("state", error.to_string()))?;
        let n = self.axes.len();
        let m = all_inputs.len();
        let mut variables: Vec<String> = self.axes.iter().map(|axis| axis.name.clone()).collect();
        variables.extend(all_inputs.iter().map(|control| control.name.clone()));
        variables.push("t".to_string());
        let mut controls = vec![false; n + m + 1];
        controls[n..n + m].iter_mut().for_each(|flag| *flag = true);
        let resolve = |code: Code, field: &str| {
            code.resolve(&variables, &controls).map_err(|message| invalid(field, message))
        };
        let state_index = |name: &str, field: &str| {
            self.axes
                .iter()
                .position(|axis| axis.name == name)
                .ok_or_else(|| invalid(field, format!("`{name}` is not a state")))
        };
        let mut dynamics: Vec<Option<PointFunction>> = vec![None; n];
        for (state, code) in self.drifts {
            let i = state_index(&state, "dynamics")?;
            dynamics[i] = Some(resolve(code, "dynamics")?);
        }
        let dynamics = dynamics
            .into_iter()
            .zip(&self.axes)
            .map(|(drift, axis)| {
                drift.ok_or_else(|| invalid("dynamics", format!("state `{}` has no drift", axis.name)))
            })
            .collect::<Result<Vec<_>>>()?;
        let diffusion = if self.noises.is_empty() {
            None
        } else {
            let mut sigma: Vec<PointFunction> = (0..n)
                .map(|_| resolve(Code::new("0", |_| 0.0).uses(&[]), "diffusion"))
                .collect::<Result<_>>()?;
            for (state, code) in self.noises {
                let i = state_index(&state, "diffusion")?;
                sigma[i] = resolve(code, "diffusion")?;
            }
            Some(sigma)
        };
        let (running_cost, terminal_cost, reachability) = match self.reachability {
            Some((mode, target, obstacle)) => {
                if self.running_cost.is_some() || self.terminal_cost.is_some() {
                    return Err(invalid(
                        "reachability",
                        "a reachability problem has no running or terminal cost: its value is the target's \
                         implicit surface; drop .running_cost/.terminal_cost",
                    ));
                }
                let terminal = match (&obstacle, mode) {
                    (Some(obstacle), ReachMode::ReachAvoid) => {
                        target.clone().max_with_negated(obstacle.clone())
                    }
                    (None, ReachMode::ReachAvoid) => {
                        return Err(invalid(
                            "reachability.obstacle",
                            "a reach_avoid problem needs an obstacle",
                        ))
                    }
                    (Some(_), _) => {
                        return Err(invalid(
                            "reachability.obstacle",
                            "an obstacle only applies to ReachMode::ReachAvoid",
                        ))
                    }
                    (None, _) => target.clone(),
                };
                let target = resolve(target, "reachability.target")?;
                let obstacle = obstacle.map(|code| resolve(code, "reachability.obstacle")).transpose()?;
                for function in std::iter::once(&target).chain(obstacle.as_ref()) {
                    if function.uses()[n..n + m].iter().any(|used| *used) {
                        return Err(invalid(
                            "reachability",
                            format!("`{}` reads an input; targets and obstacles are functions of the states and t", function.source()),
                        ));
                    }
                }
                (
                    resolve(Code::new("0", |_| 0.0).uses(&[]), "cost.running")?,
                    resolve(terminal, "reachability.target")?,
                    Some(Reachability { mode, target, obstacle }),
                )
            }
            None => (
                resolve(
                    self.running_cost
                        .ok_or_else(|| invalid("cost.running", "no running cost; give .running_cost(...)"))?,
                    "cost.running",
                )?,
                match self.terminal_cost {
                    Some(code) => resolve(code, "cost.terminal")?,
                    None => resolve(Code::new("0", |_| 0.0).uses(&[]), "cost.terminal")?,
                },
                None,
            ),
        };
        let game = (disturbance_count > 0 || self.control_sense == Sense::Maximise).then(|| Game {
            control_sense: self.control_sense,
            disturbances: disturbance_count,
            balls: Vec::new(),
        });
        if (game.is_some() || reachability.is_some()) && self.final_time.is_none_or(f64::is_infinite) {
            return Err(invalid(
                "horizon",
                "a game or reachability problem needs a finite horizon; give .final_time(T)",
            ));
        }
        let target = self.target.map(|code| resolve(code, "target")).transpose()?;
        let boundaries = self
            .boundaries
            .into_iter()
            .map(|choice| {
                Ok(match choice {
                    BoundaryChoice::Extrapolate => Boundary::Extrapolate,
                    BoundaryChoice::Periodic => Boundary::Periodic,
                    BoundaryChoice::StateConstraint => Boundary::StateConstraint,
                    BoundaryChoice::Dirichlet(code) => {
                        Boundary::Dirichlet(resolve(code, "boundary.dirichlet")?)
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let final_time = self.final_time.unwrap_or(f64::INFINITY);
        if !(final_time > 0.0) {
            return Err(invalid("horizon.final_time", format!("{final_time} is not a positive horizon")));
        }
        if !(self.discount >= 0.0 && self.discount.is_finite()) {
            return Err(invalid("cost.discount", format!("{} is not a discount rate ≥ 0", self.discount)));
        }
        if final_time.is_infinite() && self.discount == 0.0 && target.is_none() {
            return Err(invalid(
                "horizon",
                "a stationary problem needs a discount > 0 or a target set; give .final_time(T) for a finite horizon",
            ));
        }
        let reference = match self.reference {
            None => None,
            Some((solution, region)) => Some(Reference {
                solution,
                region: match region {
                    Some(bounds) if bounds.len() == n => ErrorRegion { bounds },
                    Some(bounds) => {
                        return Err(invalid(
                            "reference.region",
                            format!(
                                "{} intervals for {n} states; give one (lower, upper) per state",
                                bounds.len()
                            ),
                        ))
                    }
                    None => ErrorRegion::central_half(&grid),
                },
            }),
        };
        let problem = Problem {
            name: self.name.clone(),
            description: self.description,
            grid,
            boundaries,
            controls: all_inputs,
            dynamics,
            diffusion,
            running_cost,
            terminal_cost,
            target,
            switching: None,
            diffusion_matrix: None,
            discount: self.discount,
            final_time,
            reference,
            game,
            reachability,
            source_text: format!("# problem `{}` built in Rust code (no problem file)\n", self.name),
        };
        if problem.is_stationary() && problem.is_time_dependent() {
            return Err(invalid("horizon", "a stationary problem cannot depend on t"));
        }
        Ok(problem)
    }
}
