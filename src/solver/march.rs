//! The transient driver: march `V^0 = g` (fixed nodes held), `V^{n+1} = S(V^n)` for
//! `n = 0 … N−1` in time-to-go, with any [`Stepper`].
//!
//! Per step: re-tabulate time-dependent coefficients at the level the stepper asks for (and
//! re-check the CFL bound of explicit steppers), step, stop on a non-finite value or a blow-up
//! (the last finite state goes to [`Observer::interrupted`]), record snapshots, show observers
//! the new state. Each step depends only on `V^n`, so a state handed back by
//! [`Observer::resume`] continues bit for bit.

use super::domain::{self, Domain};
use super::observer::{BlowUpDetector, MarchState, Observer, RunView, StepView};
use super::snapshots::{split_policy, Recorder};
use super::{finish, prepare_in, reduce_bounds, Diagnostics, Preparation, Solution};
use crate::error::{HjbError, Result};
use crate::problem::Problem;
use crate::scheme::Tabulation;
use crate::settings::Settings;
use crate::time::plan::cfl_rate;
use crate::time::{stepper, CoefficientLevel, StepContext, TimeStepPlan};
use std::time::Instant;

/// FNV-1a 64 of the run's defining data, as hex: what a resumed state must match.
pub fn fingerprint(problem: &Problem, settings: &Settings, plan: &TimeStepPlan) -> String {
    let text = format!(
        "{}|{:?}|{}|{:016x}|{}|{}",
        problem.source_text,
        problem.grid.shape(),
        settings.scheme_name(),
        plan.time_step.to_bits(),
        plan.steps,
        settings.snapshots
    );
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Solve a finite-horizon problem.
pub(super) fn march(
    problem: &Problem,
    settings: &Settings,
    observer: &mut dyn Observer,
    started: Instant,
    domain: &mut dyn Domain,
) -> Result<Solution> {
    let Preparation {
        settings, coordinates, model, mut table, plan, stability, memory_bytes, terminal, ..
    } = prepare_in(problem, settings, domain)?;
    let settings = &settings;
    domain::share_dissipation(domain, &mut table, problem.grid.dimension());
    let mut stepper = stepper(problem, settings, &model, &table, &plan)?;
    let nodes = problem.grid.node_count();
    let m = problem.controls.len();
    let time_dependent = problem.is_time_dependent();
    let inverse_spacing: Vec<f64> = problem.grid.spacings().iter().map(|h| 1.0 / h).collect();
    let fixed_at = |t: f64| problem.fixed_values(&coordinates, t);

    // g at t = T, tabulated (and checked finite) by the preparation.
    let mut values = terminal;
    if let Some(fixed) = fixed_at(problem.final_time) {
        hold_fixed(&mut values, &fixed);
    }
    domain.exchange(&mut values)?;
    let owned = |node: &usize| domain.is_whole() || domain.owns(*node);
    let terminal_size =
        (0..nodes).filter(owned).map(|node| values[node]).fold(0.0f64, |largest, v| largest.max(v.abs()));
    let fixed_size = fixed_at(0.0).map_or(0.0, |field| {
        (0..nodes)
            .filter(owned)
            .map(|node| field[node])
            .filter(|v| v.is_finite())
            .fold(0.0f64, |a, v| a.max(v.abs()))
    });
    let mut sizes = [terminal_size.max(fixed_size), table.largest_cost(problem, &model)];
    domain.maximum(&mut sizes);
    let mut detector = BlowUpDetector {
        initial_size: sizes[0],
        cost_size: sizes[1],
        time_step: plan.time_step,
        time_step_max: plan.time_step_max,
    };
    let recorder = Recorder::new(settings.snapshots, plan.steps, m, nodes);
    let fingerprint = fingerprint(problem, settings, &plan);
    let mut state = MarchState {
        fingerprint: fingerprint.clone(),
        completed: 0,
        values,
        stored: Vec::new(),
        worst_cfl: plan.cfl_number,
    };
    recorder.start(&mut state.stored, &state.values);
    let run = RunView { steps: plan.steps, time_step: plan.time_step, nodes, fingerprint: &fingerprint };
    observer.admit(&run)?;
    observer.started(&run);
    if let Some(resumed) = observer.resume(&run)? {
        if resumed.fingerprint != fingerprint
            || resumed.values.len() != nodes
            || resumed.completed > plan.steps
        {
            return Err(HjbError::ResumeMismatch);
        }
        let worst_cfl = state.worst_cfl.max(resumed.worst_cfl);
        state = MarchState { worst_cfl, ..resumed };
    }
    let first_step = state.completed;
    let mut new = vec![0.0; nodes];
    let mut policy = vec![0.0; nodes * m];
    let mut projection = Projection::new(problem, &coordinates);
    let mut stopped: Option<(HjbError, usize)> = None;
    for step in first_step..plan.steps {
        let t_old = problem.final_time - step as f64 * plan.time_step;
        let t_new = problem.final_time - (step + 1) as f64 * plan.time_step;
        let coefficient_time = match stepper.coefficient_level() {
            CoefficientLevel::Old => t_old,
            CoefficientLevel::New => t_new,
        };
        if time_dependent && stepper.coefficient_level() == CoefficientLevel::New {
            // Backward Euler takes the coefficients at the new time level; no step limit.
            table = Tabulation::new(problem, &model, &coordinates, t_new);
            detector.cost_size = detector.cost_size.max(table.largest_cost(problem, &model));
        } else if time_dependent && step > 0 {
            table = Tabulation::new(problem, &model, &coordinates, t_old);
            domain::share_dissipation(domain, &mut table, problem.grid.dimension());
            let mut cost = [table.largest_cost(problem, &model)];
            domain.maximum(&mut cost);
            detector.cost_size = detector.cost_size.max(cost[0]);
            let mut bounds = table.drift_bounds(problem, &model, &inverse_spacing);
            reduce_bounds(domain, &mut bounds, &inverse_spacing);
            let rate = cfl_rate(settings, &bounds, problem.discount)
                + problem.switching.as_ref().map_or(0.0, |s| s.largest_rate());
            state.worst_cfl = state.worst_cfl.max(rate * plan.time_step);
            if rate * plan.time_step > 1.0 + 1e-12 && !settings.allow_unstable && stepper.has_cfl_limit() {
                return Err(HjbError::CflViolated {
                    scheme: settings.scheme_name().to_string(),
                    time_step: plan.time_step,
                    time_step_max: 1.0 / rate,
                    cfl: rate * plan.time_step,
                });
            }
        }
        let fixed = fixed_at(t_new);
        let context = StepContext { table: &table, time: coefficient_time, fixed: fixed.as_deref() };
        // The stepper's outcome is taken before the projection: `min`/`max` with the target would
        // hide a NaN of the step (f64::min ignores NaN), and the blow-up detector watches |V| of
        // the scheme itself.
        let outcome = stepper.step(&context, &state.values, &mut new, &mut policy)?;
        if !domain.is_whole() {
            // The stepper's outcome covers the halo too, whose values are not yet the owners':
            // the decision is taken over the owned nodes of every block together.
            if let Some(error) =
                domain::block_verdict(domain, problem, &detector, step, t_new, &new, state.worst_cfl)
            {
                stopped = Some((error, step));
                break;
            }
            projection.apply(problem, &coordinates, t_new, &mut new);
            domain.exchange(&mut new)?;
            std::mem::swap(&mut state.values, &mut new);
            state.completed = step + 1;
            recorder.stepped(&mut state.stored, state.completed, &state.values, &policy);
            observer.stepped(&StepView {
                completed: state.completed,
                steps: plan.steps,
                state: Some(&state),
            })?;
            continue;
        }
        projection.apply(problem, &coordinates, t_new, &mut new);
        if step == first_step {
            stepper.check_first_step(problem, fixed.as_deref())?;
        }
        // Steppers report the first non-finite value they see; unless one checks every node and
        // no projection changed the state since, a scan makes sure none slips into the state
        // (the partial result must hold the last finite state).
        let checked = stepper.reports_non_finite() && !projection.active(problem);
        let first_non_finite = outcome.first_non_finite.or_else(|| {
            if checked {
                None
            } else {
                new.iter().position(|v| !v.is_finite()).map(|node| (node, new[node]))
            }
        });
        if let Some((node, value)) = first_non_finite {
            let error = HjbError::NonFinite {
                step: step + 1,
                time: t_new,
                index: problem.grid.unravel(node),
                point: problem.grid.point(node),
                value,
            };
            stopped = Some((error, step));
            break;
        }
        if let Some(error) =
            detector.check(problem, step, t_new, outcome.largest, new[outcome.largest.1], state.worst_cfl)
        {
            stopped = Some((error, step));
            break;
        }
        std::mem::swap(&mut state.values, &mut new);
        state.completed = step + 1;
        recorder.stepped(&mut state.stored, state.completed, &state.values, &policy);
        observer.stepped(&StepView { completed: state.completed, steps: plan.steps, state: Some(&state) })?;
    }
    observer.finished(stopped.is_none());
    let completed = state.completed;
    let mut diagnostics =
        Diagnostics::planned(problem, settings, &model, &plan, &stability, memory_bytes, started);
    diagnostics.steps = completed;
    diagnostics.cfl_number = state.worst_cfl;
    diagnostics.take_report(stepper.report());
    diagnostics.monotone = stepper.monotone(state.worst_cfl);
    let snapshots = recorder.finish(state.stored, &problem.grid, problem.final_time, plan.time_step);
    let policy_fields = split_policy(&policy, m, nodes);
    let mut solution = if domain.is_whole() {
        finish(problem, &coordinates, state.values, policy_fields, diagnostics, snapshots)
    } else {
        // A block's reference, errors and reachability counts would be thrown away: the whole
        // field's are computed once it is gathered.
        Solution {
            values: problem.grid.field(state.values),
            policy: policy_fields.into_iter().map(|field| problem.grid.field(field)).collect(),
            reference: None,
            error: None,
            diagnostics,
            stopped: None,
            snapshots,
        }
    };
    match stopped {
        None => Ok(solution),
        Some((error, step)) => {
            // A partial result is not compared with the reference.
            solution.error = None;
            solution.stopped = Some(format!(
                "stopped before step {} of {}: {error}; the fields hold V after step {step} (t = {})",
                step + 1,
                plan.steps,
                problem.final_time - step as f64 * plan.time_step
            ));
            observer.interrupted(&solution);
            Err(error)
        }
    }
}

/// Set the fixed nodes (not NaN in `fixed`) to their values.
pub(super) fn hold_fixed(values: &mut [f64], fixed: &[f64]) {
    for (value, held) in values.iter_mut().zip(fixed) {
        if !held.is_nan() {
            *value = *held;
        }
    }
}

/// The reachability projection after each step (tube, reach–avoid; see
/// [`crate::problem::game::Reachability::project`]): `l` and `o` tabulated once when they do not
/// depend on `t`, at every new time level otherwise.
struct Projection {
    /// `(l, o)` of a time-independent target and obstacle.
    cached: Option<(Vec<f64>, Option<Vec<f64>>)>,
}

impl Projection {
    fn new(problem: &Problem, coordinates: &[Vec<f64>]) -> Projection {
        let cached = problem
            .reachability
            .as_ref()
            .filter(|reach| reach.projects() && !Self::time_dependent(problem))
            .map(|_| Self::fields(problem, coordinates, problem.final_time));
        Projection { cached }
    }

    fn time_dependent(problem: &Problem) -> bool {
        let t = problem.time_variable();
        problem.reachability.as_ref().is_some_and(|reach| {
            reach.target.uses()[t] || reach.obstacle.as_ref().is_some_and(|o| o.uses()[t])
        })
    }

    fn fields(problem: &Problem, coordinates: &[Vec<f64>], t: f64) -> (Vec<f64>, Option<Vec<f64>>) {
        let zeros = vec![0.0; problem.controls.len()];
        let reach = problem.reachability.as_ref().expect("a reachability problem");
        let target = problem.tabulate(&reach.target, coordinates, &zeros, t);
        let obstacle = reach.obstacle.as_ref().map(|o| problem.tabulate(o, coordinates, &zeros, t));
        (target, obstacle)
    }

    /// Whether [`Projection::apply`] changes anything for `problem`.
    fn active(&self, problem: &Problem) -> bool {
        problem.reachability.as_ref().is_some_and(|reach| reach.projects())
    }

    /// Project `values` at time `t` (nothing for a problem without a projection).
    fn apply(&mut self, problem: &Problem, coordinates: &[Vec<f64>], t: f64, values: &mut [f64]) {
        let Some(reach) = problem.reachability.as_ref().filter(|reach| reach.projects()) else {
            return;
        };
        match &self.cached {
            Some((target, obstacle)) => reach.project(values, target, obstacle.as_deref()),
            None => {
                let (target, obstacle) = Self::fields(problem, coordinates, t);
                reach.project(values, &target, obstacle.as_deref());
            }
        }
    }
}
