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
//!
//! On one block of a decomposed grid (the `mpi` feature) value iteration runs the same loop on
//! the block extended by its halo: after every sweep the halo is exchanged, and the stopping
//! quantities — `‖V_{k+1} − V_k‖∞`, `‖V_{k+1}‖∞` and the first non-finite node — are taken over
//! the owned nodes and reduced with an exact maximum (minimum node) over every block, so every
//! process stops after the same sweep with the single-process field, bit for bit
//! (`docs/numerics.md` §12). Policy iteration on a block runs as block-Jacobi sweeps
//! ([`super::block_jacobi`]); fast sweeping is not decomposed.

use super::domain::{self, Domain};
use super::march::hold_fixed;
use super::observer::{Observer, RunView, StepView};
use super::{finish, prepare_in, split_policy, Diagnostics, Preparation, Solution};
use crate::error::{HjbError, Result};
use crate::grid::Grid;
use crate::problem::Problem;
use crate::settings::Settings;
use crate::time::{stepper, StepContext};
use std::time::Instant;

/// Solve a stationary problem on `domain`: the whole grid, or one block (then `problem` is the
/// block extended by its halo and `whole` the grid of the whole problem, whose box sets the
/// sweep limit of an exit-time problem).
pub(super) fn settle(
    problem: &Problem,
    whole: &Grid,
    settings: &Settings,
    observer: &mut dyn Observer,
    started: Instant,
    domain: &mut dyn Domain,
) -> Result<Solution> {
    let Preparation { coordinates, model, mut table, plan, stability, memory_bytes, terminal, .. } =
        prepare_in(problem, settings, domain)?;
    domain::share_dissipation(domain, &mut table, problem.grid.dimension());
    let mut stepper = stepper(problem, settings, &model, &table, &plan)?;
    let nodes = problem.grid.node_count();
    let m = problem.controls.len();
    let fixed = problem.fixed_values(&coordinates, 0.0);
    // g at t = 0, tabulated (and checked finite) by the preparation.
    let mut values = terminal;
    if let Some(fixed) = &fixed {
        hold_fixed(&mut values, fixed);
    }
    domain.exchange(&mut values)?;
    let mut policy = vec![0.0; nodes * m];
    let mut next = vec![0.0; nodes];
    let context = StepContext { table: &table, time: 0.0, fixed: fixed.as_deref() };
    let mut diagnostics =
        Diagnostics::planned(problem, settings, &model, &plan, &stability, memory_bytes, started);

    if stepper.solves_stationary_directly() && !domain.is_whole() {
        // Policy iteration on a block: block-Jacobi sweeps with the halo lagged.
        let sweeps =
            super::block_jacobi::solve(stepper.as_mut(), &context, domain, &mut values, &mut policy)?;
        diagnostics.steps = sweeps;
        diagnostics.time_step = f64::INFINITY;
        diagnostics.monotone = stepper.monotone(f64::NAN);
        diagnostics.take_report(stepper.report());
        diagnostics.seconds = started.elapsed().as_secs_f64();
        return Ok(block_solution(problem, values, split_policy(&policy, m, nodes), diagnostics));
    }
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
        let diameter: f64 = whole.axes().iter().map(|a| (a.upper - a.lower).powi(2)).sum::<f64>().sqrt();
        let speed = plan.largest_drift.iter().fold(0.0f64, |a, f| a.max(*f)).max(1e-12);
        ((20.0 * diameter / speed / plan.time_step).ceil() as usize).clamp(100, 50_000_000)
    };
    let mut iterations = 0;
    let mut last_change = f64::INFINITY;
    observer.started(&RunView { steps: limit, time_step: plan.time_step, nodes, fingerprint: "" });
    while iterations < limit {
        let outcome = stepper.step(&context, &values, &mut next, &mut policy)?;
        let (change, largest) = if domain.is_whole() {
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
            (change, outcome.largest.0)
        } else {
            let reduced = domain::owned_change(domain, &values, &next, iterations + 1, 0.0)?;
            domain.exchange(&mut next)?;
            reduced
        };
        std::mem::swap(&mut values, &mut next);
        iterations += 1;
        observer.stepped(&StepView { completed: iterations, steps: limit, state: None })?;
        last_change = change;
        // With ρ > 0 the contraction bound; with ρ = 0 (exit-time problems) no contraction
        // constant exists and the sweep stops when the values no longer move.
        let converged = if beta < 1.0 {
            beta / (1.0 - beta) * change <= 1e-9 * (1.0 + largest)
        } else {
            change <= 1e-12 * (1.0 + largest)
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
    let policy = split_policy(&policy, m, nodes);
    if !domain.is_whole() {
        return Ok(block_solution(problem, values, policy, diagnostics));
    }
    Ok(finish(problem, &coordinates, values, policy, diagnostics, None))
}

/// A block's fields (the caller gathers the owned nodes and finishes the whole field).
fn block_solution(
    problem: &Problem,
    values: Vec<f64>,
    policy: Vec<Vec<f64>>,
    diagnostics: Diagnostics,
) -> Solution {
    Solution {
        values: problem.grid.field(values),
        policy: policy.into_iter().map(|field| problem.grid.field(field)).collect(),
        reference: None,
        error: None,
        diagnostics,
        stopped: None,
        snapshots: None,
    }
}
