//! Time steppers. Solvers march in time-to-go `τ = T − t` from `V(·, τ=0) = g`; one step maps
//! `V^n` to `V^{n+1}`. Every way of stepping implements [`Stepper`], and [`stepper`] is the one
//! place that turns [`Settings`] into a stepper; the drivers in [`crate::solver`] are generic
//! over the trait.
//!
//! * [`explicit`] — forward Euler with the monotone upwind or Lax–Friedrichs weights, under
//!   the CFL bound.
//! * [`high_order`] — ENO/WENO derivatives with TVD Runge–Kutta (not monotone), under the
//!   CFL bound per stage.
//! * [`implicit`] — backward Euler with Howard's policy iteration and sparse LU, any Δt.
//! * [`krylov`] — the iterative alternative to the LU: BiCGSTAB with relaxed ILU(0).
//! * [`tridiagonal`] — the direct alternative on one axis: elimination with partial pivoting.
//! * [`sweeping`] — stationary problems: Gauss–Seidel on the upwind equation in alternating
//!   orderings (fast sweeping); [`generator`] holds the rows it shares with [`implicit`].
//! * [`semi_lagrangian`] — interpolation at the feet of the characteristics (Camilli–Falcone
//!   with diffusion), any Δt.
//! * [`plan`] — the time step and the stability numbers behind it.
//!
//! Adding a time scheme means one file with a type that implements [`Stepper`] and one arm in
//! [`stepper`]; the drivers, observers, reports and files need no change.
//! See `docs/numerics.md` §4.

pub mod explicit;
pub mod generator;
pub mod high_order;
pub mod implicit;
pub mod krylov;
pub mod plan;
pub mod semi_lagrangian;
pub mod sweeping;
pub mod tridiagonal;

pub use explicit::ExplicitStepper;
pub use high_order::{HighOrderReport, HighOrderStepper};
pub use implicit::{ImplicitReport, ImplicitStepper};
pub use plan::TimeStepPlan;
pub use semi_lagrangian::{SemiLagrangianReport, SemiLagrangianStepper};
pub use sweeping::{SweepingReport, SweepingStepper};

use crate::error::Result;
use crate::problem::Problem;
use crate::scheme::{ControlModel, Tabulation};
use crate::settings::{Settings, Stepping};

/// What one step found: the first node with a non-finite value, if any, and the largest |V|
/// with its node (ties to the lower node, so the result does not depend on the thread count).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// Node and value of the first non-finite result.
    pub first_non_finite: Option<(usize, f64)>,
    /// Largest `|V^{n+1}|` and its node.
    pub largest: (f64, usize),
}

impl StepOutcome {
    /// The outcome of nothing (the identity of [`StepOutcome::combine`]).
    pub(crate) fn empty() -> StepOutcome {
        StepOutcome { first_non_finite: None, largest: (0.0, usize::MAX) }
    }

    /// The outcome of two node ranges together (deterministic: lowest node wins ties).
    pub(crate) fn combine(self, other: StepOutcome) -> StepOutcome {
        let first_non_finite = match (self.first_non_finite, other.first_non_finite) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let largest = if other.largest.0 > self.largest.0
            || (other.largest.0 == self.largest.0 && other.largest.1 < self.largest.1)
        {
            other.largest
        } else {
            self.largest
        };
        StepOutcome { first_non_finite, largest }
    }

    /// The outcome of a whole field computed at once.
    pub(crate) fn of_field(values: &[f64]) -> StepOutcome {
        let first_non_finite = values.iter().position(|v| !v.is_finite()).map(|node| (node, values[node]));
        let largest = values.iter().enumerate().fold((0.0f64, 0usize), |best, (node, v)| {
            if v.abs() > best.0 {
                (v.abs(), node)
            } else {
                best
            }
        });
        StepOutcome { first_non_finite, largest }
    }
}

/// Which time level's coefficients a step uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoefficientLevel {
    /// The old level `t_n` (explicit and semi-Lagrangian steps).
    Old,
    /// The new level `t_{n+1}` (backward Euler).
    New,
}

/// The data of one step besides the fields.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    /// Coefficients tabulated at the level [`Stepper::coefficient_level`] asks for.
    pub table: &'a Tabulation,
    /// Physical time of those coefficients.
    pub time: f64,
    /// Fixed values at the new level (NaN where free): Dirichlet ends and target sets.
    pub fixed: Option<&'a [f64]>,
}

/// One way of advancing `V^n → V^{n+1}`.
///
/// `step` is the one required piece of work; everything else has a default. Steppers never
/// print, never touch files and never decide when to stop: the drivers and observers do.
pub trait Stepper {
    /// `new = S(old)`; `policy[node · m + j]` receives the minimising control `j`. A non-finite
    /// value is reported in the outcome (the driver stops with the node named); an `Err` is a
    /// failure of the step itself (a factorisation, a refused time step).
    fn step(
        &mut self,
        context: &StepContext<'_>,
        old: &[f64],
        new: &mut [f64],
        policy: &mut [f64],
    ) -> Result<StepOutcome>;

    /// Whether the outcome names the first non-finite value whenever there is one (every node
    /// checked), so that the driver need not scan the new state again.
    fn reports_non_finite(&self) -> bool {
        false
    }

    /// Which time level's coefficients the step wants.
    fn coefficient_level(&self) -> CoefficientLevel {
        CoefficientLevel::Old
    }

    /// Whether the step is bounded by the CFL condition (checked again at every re-tabulation).
    fn has_cfl_limit(&self) -> bool {
        false
    }

    /// A check after the first step (e.g. that not every foot left the box).
    fn check_first_step(&self, _problem: &Problem, _fixed: Option<&[f64]>) -> Result<()> {
        Ok(())
    }

    /// Whether the run was monotone, given the worst CFL number seen.
    fn monotone(&self, worst_cfl: f64) -> bool {
        worst_cfl <= 1.0 + 1e-12
    }

    /// Whether a stationary problem is solved by one call of `step` (policy iteration on the
    /// stationary equation) instead of value iteration to the fixed point.
    fn solves_stationary_directly(&self) -> bool {
        false
    }

    /// The stepper's own section of the diagnostics.
    fn report(&self) -> StepperReport {
        StepperReport::None
    }
}

/// The part of the diagnostics that belongs to one kind of stepper.
#[derive(Debug, Clone, PartialEq)]
pub enum StepperReport {
    /// Nothing beyond the common numbers.
    None,
    /// Policy iteration and the M-matrix check.
    Implicit(ImplicitReport),
    /// Foot displacement and consistency.
    SemiLagrangian(SemiLagrangianReport),
    /// Reconstruction, integrator and dissipation of a high-order step.
    HighOrder(HighOrderReport),
    /// Sweeps of the fast-sweeping solver.
    Sweeping(SweepingReport),
}

/// The stepper for `settings`: the one factory. `plan.time_step` is infinite for stationary
/// policy iteration.
pub fn stepper<'a>(
    problem: &'a Problem,
    settings: &Settings,
    model: &'a ControlModel,
    table: &Tabulation,
    plan: &TimeStepPlan,
) -> Result<Box<dyn Stepper + 'a>> {
    Ok(match settings.stepping {
        // Games take their min–max in the node rule of the high-order stepper (first-order
        // derivatives and Euler steps make it the monotone scheme).
        Stepping::Explicit { .. } if settings.is_high_order() || problem.game.is_some() => {
            Box::new(HighOrderStepper::new(problem, settings, model, plan.time_step))
        }
        Stepping::Explicit { .. } => {
            Box::new(ExplicitStepper::new(problem, settings.differencing, model, plan.time_step))
        }
        Stepping::Implicit { .. } => {
            let time_step = if problem.is_stationary() { f64::INFINITY } else { plan.time_step };
            Box::new(ImplicitStepper::new(problem, model, time_step, settings.linear_solver)?)
        }
        Stepping::Sweeping => Box::new(SweepingStepper::new(problem, model)?),
        Stepping::SemiLagrangian { characteristic, refine, .. } => Box::new(SemiLagrangianStepper::new(
            problem,
            model,
            table,
            plan.time_step,
            plan.time_step_max,
            characteristic,
            refine,
        )?),
    })
}
