//! The stationary driver (infinite horizon, ρ > 0, or exit time): `ρV − min_u [A(u)V + ℓ(u)] = 0`.
//!
//! With a stepper that solves the stationary equation directly (policy iteration on
//! `(ρI − A(u))V = ℓ(u)`, see [`crate::time::implicit`], or fast sweeping, see
//! [`crate::time::sweeping`]) one call does it. Otherwise value
//! iteration `V ← S(V)` with the stepper's step (a β-contraction, `β = e^{−ρΔt}`), stopped when the
//! contraction bound `β/(1−β)·‖V_{k+1} − V_k‖∞` on the distance to the fixed point is below
//! `1e-9 (1 + ‖V‖∞)`; without discount (exit time) when `‖V_{k+1} − V_k‖∞ ≤ 1e-12 (1 + ‖V‖∞)`.
//! This is the long-time limit of explicit marching, and the value iteration of the scheme's
//! discounted Markov chain. See `docs/numerics.md` §4.5.

use super::march::hold_fixed;
use super::observer::{Observer, RunView, StepView};
use super::{finish, prepare, split_policy, Diagnostics, Preparation, Solution};
use crate::error::{HjbError, Result};
use crate::problem::Problem;
use crate::settings::Settings;
use crate::time::{stepper, StepContext};
use std::time::Instant;

/// Solve a stationary problem.
pub(super) fn settle(
    problem: &Problem,
    settings: &Settings,
    observer: &mut dyn Observer,
    started: Instant,
) -> Result<Solution> {
    let Preparation { coordinates, model, table, plan, stability, memory_bytes, .. } =
        prepare(problem, settings)?;
    let mut stepper = stepper(problem, settings, &model, &table, &plan)?;
    let nodes = problem.grid.node_count();
    let m = problem.controls.len();
    let fixed = problem.fixed_values(&coordinates, 0.0);
    let mut values = problem.tabulate(&problem.terminal_cost, &coordinates, &vec![0.0; m], 0.0);
    if let Some(fixed) = &fixed {
        hold_fixed(&mut values, fixed);
    }
    let mut policy = vec![0.0; nodes * m];
    let mut next = vec![0.0; nodes];
    let context = StepContext { table: &table, time: 0.0, fixed: fixed.as_deref() };
    let mut diagnostics =
        Diagnostics::planned(problem, settings, &model, &plan, &stability, memory_bytes, started);

    if stepper.solves_stationary_directly() {
        let outcome = stepper.step(&context, &values, &mut next, &mut policy)?;
        if let Some((node, value)) = outcome.first_non_finite {
            return Err(HjbError::NonFinite {
                step: 1,
                time: f64::NAN,
                index: problem.grid.unravel(node),
                point: problem.grid.point(node),
                value,
            });
        }
        let report = stepper.report();
        match &report {
            crate::time::StepperReport::Implicit(implicit) => diagnostics.steps = implicit.most_iterations,
            crate::time::StepperReport::Sweeping(sweeping) => diagnostics.steps = sweeping.sweeps,
            _ => {}
        }
        diagnostics.time_step = f64::INFINITY;
        diagnostics.monotone = stepper.monotone(f64::NAN);
        diagnostics.take_report(report);
        diagnostics.seconds = started.elapsed().as_secs_f64();
        return Ok(finish(problem, &coordinates, next, split_policy(&policy, m, nodes), diagnostics, None));
    }

    let beta = (-problem.discount * plan.time_step).exp();
    let limit = if beta < 1.0 {
        ((40.0 / (1.0 - beta)).ceil() as usize).max(100)
    } else {
        // Exit time: enough sweeps to cross the box 20 times at the largest speed.
        let diameter: f64 =
            problem.grid.axes().iter().map(|a| (a.upper - a.lower).powi(2)).sum::<f64>().sqrt();
        let speed = plan.largest_drift.iter().fold(0.0f64, |a, f| a.max(*f)).max(1e-12);
        ((20.0 * diameter / speed / plan.time_step).ceil() as usize).clamp(100, 50_000_000)
    };
    let mut iterations = 0;
    let mut last_change = f64::INFINITY;
    observer.started(&RunView { steps: limit, time_step: plan.time_step, nodes, fingerprint: "" });
    while iterations < limit {
        let outcome = stepper.step(&context, &values, &mut next, &mut policy)?;
        if iterations == 0 {
            stepper.check_first_step(problem, fixed.as_deref())?;
        }
        if let Some((node, value)) = outcome.first_non_finite {
            return Err(HjbError::NonFinite {
                step: iterations + 1,
                time: 0.0,
                index: problem.grid.unravel(node),
                point: problem.grid.point(node),
                value,
            });
        }
        let change = values.iter().zip(&next).fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
        std::mem::swap(&mut values, &mut next);
        iterations += 1;
        observer.stepped(&StepView { completed: iterations, steps: limit, state: None })?;
        last_change = change;
        // With ρ > 0 the contraction bound; with ρ = 0 (exit-time problems) no contraction
        // constant exists and the sweep stops when the values no longer move.
        let converged = if beta < 1.0 {
            beta / (1.0 - beta) * change <= 1e-9 * (1.0 + outcome.largest.0)
        } else {
            change <= 1e-12 * (1.0 + outcome.largest.0)
        };
        if converged {
            break;
        }
    }
    if iterations == limit {
        return Err(HjbError::NotConverged { method: "value iteration", limit, last_change });
    }
    observer.finished(true);
    diagnostics.steps = iterations;
    diagnostics.take_report(stepper.report());
    diagnostics.monotone = stepper.monotone(plan.cfl_number);
    diagnostics.seconds = started.elapsed().as_secs_f64();
    Ok(finish(problem, &coordinates, values, split_policy(&policy, m, nodes), diagnostics, None))
}
