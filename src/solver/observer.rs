//! Observers of the drivers: everything that watches a solve without being the numerics —
//! progress bars, checkpoints, partial results — and the blow-up detector.
//!
//! The drivers own the loop; after every completed step they show each observer a [`StepView`].
//! Every method has a do-nothing default, so an observer implements only what it needs.
//! Two observers run together as a pair `(a, b)`.

use super::{Solution, StoredLevel};
use crate::error::{HjbError, Result};
use crate::problem::Problem;

/// Everything a transient march needs to continue where it stopped (what a checkpoint holds).
#[derive(Debug, Clone, PartialEq)]
pub struct MarchState {
    /// A fingerprint of the run's defining data (problem text, grid, scheme, step, snapshots).
    pub fingerprint: String,
    /// Completed steps.
    pub completed: usize,
    /// V after them.
    pub values: Vec<f64>,
    /// The snapshots taken so far.
    pub stored: Vec<StoredLevel>,
    /// The worst CFL number seen.
    pub worst_cfl: f64,
}

/// What an observer sees after a completed step.
#[derive(Debug, Clone, Copy)]
pub struct StepView<'a> {
    /// Steps (or value-iteration sweeps) completed, from 1.
    pub completed: usize,
    /// Planned steps (the sweep limit for value iteration).
    pub steps: usize,
    /// The march's state after the step (`None` for stationary value iteration, which is not
    /// resumable).
    pub state: Option<&'a MarchState>,
}

/// The run an observer is about to see.
#[derive(Debug, Clone, Copy)]
pub struct RunView<'a> {
    /// Planned steps (the sweep limit for value iteration).
    pub steps: usize,
    /// The time step of the run.
    pub time_step: f64,
    /// Grid nodes.
    pub nodes: usize,
    /// The fingerprint a resumed state must carry.
    pub fingerprint: &'a str,
}

/// Callbacks from the drivers. Every method has a do-nothing default.
pub trait Observer {
    /// Called once before anything else: an error refuses the run before its first step (a
    /// limit on the number of steps, [`super::limits::StepLimit`]).
    fn admit(&mut self, _run: &RunView<'_>) -> Result<()> {
        Ok(())
    }

    /// Called once before the first step.
    fn started(&mut self, _run: &RunView<'_>) {}

    /// A state to continue from instead of `V = g` (transient problems only); the driver checks
    /// its fingerprint and size.
    fn resume(&mut self, _run: &RunView<'_>) -> Result<Option<MarchState>> {
        Ok(None)
    }

    /// Called after each completed step; an error stops the solve.
    fn stepped(&mut self, _view: &StepView<'_>) -> Result<()> {
        Ok(())
    }

    /// Called when a solve stops inside its time loop (non-finite value, blow-up), with the last
    /// finite state as a solution flagged in `stopped`.
    fn interrupted(&mut self, _partial: &Solution) {}

    /// Called once after the loop; `complete` is false when the loop stopped early.
    fn finished(&mut self, _complete: bool) {}
}

/// An observer that does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn admit(&mut self, run: &RunView<'_>) -> Result<()> {
        self.0.admit(run)?;
        self.1.admit(run)
    }

    fn started(&mut self, run: &RunView<'_>) {
        self.0.started(run);
        self.1.started(run);
    }

    fn resume(&mut self, run: &RunView<'_>) -> Result<Option<MarchState>> {
        Ok(match self.0.resume(run)? {
            Some(state) => Some(state),
            None => self.1.resume(run)?,
        })
    }

    fn stepped(&mut self, view: &StepView<'_>) -> Result<()> {
        self.0.stepped(view)?;
        self.1.stepped(view)
    }

    fn interrupted(&mut self, partial: &Solution) {
        self.0.interrupted(partial);
        self.1.interrupted(partial);
    }

    fn finished(&mut self, complete: bool) {
        self.0.finished(complete);
        self.1.finished(complete);
    }
}

impl<T: Observer + ?Sized> Observer for &mut T {
    fn admit(&mut self, run: &RunView<'_>) -> Result<()> {
        (**self).admit(run)
    }

    fn started(&mut self, run: &RunView<'_>) {
        (**self).started(run);
    }

    fn resume(&mut self, run: &RunView<'_>) -> Result<Option<MarchState>> {
        (**self).resume(run)
    }

    fn stepped(&mut self, view: &StepView<'_>) -> Result<()> {
        (**self).stepped(view)
    }

    fn interrupted(&mut self, partial: &Solution) {
        (**self).interrupted(partial);
    }

    fn finished(&mut self, complete: bool) {
        (**self).finished(complete);
    }
}

impl<T: Observer> Observer for Option<T> {
    fn admit(&mut self, run: &RunView<'_>) -> Result<()> {
        match self {
            Some(observer) => observer.admit(run),
            None => Ok(()),
        }
    }

    fn started(&mut self, run: &RunView<'_>) {
        if let Some(observer) = self {
            observer.started(run);
        }
    }

    fn resume(&mut self, run: &RunView<'_>) -> Result<Option<MarchState>> {
        match self {
            Some(observer) => observer.resume(run),
            None => Ok(None),
        }
    }

    fn stepped(&mut self, view: &StepView<'_>) -> Result<()> {
        match self {
            Some(observer) => observer.stepped(view),
            None => Ok(()),
        }
    }

    fn interrupted(&mut self, partial: &Solution) {
        if let Some(observer) = self {
            observer.interrupted(partial);
        }
    }

    fn finished(&mut self, complete: bool) {
        if let Some(observer) = self {
            observer.finished(complete);
        }
    }
}

/// Keeps the partial solution of an interrupted solve (so that it can be saved, flagged).
#[derive(Debug, Default)]
pub struct KeepPartial {
    /// The last finite state, when the solve was interrupted.
    pub partial: Option<Box<Solution>>,
}

impl Observer for KeepPartial {
    fn interrupted(&mut self, partial: &Solution) {
        self.partial = Some(Box::new(partial.clone()));
    }
}

/// The blow-up detector: a monotone step obeys `‖V^{n+1}‖∞ ≤ ‖V^n‖∞ + Δt·max|ℓ|` (β ≤ 1), so
/// `‖V^n‖∞ ≤ max(‖g‖∞, ‖V_fixed‖∞) + τ_n·L`. A value above ten times that bound is a blow-up (only
/// possible above the CFL bound, with `--allow-unstable`).
#[derive(Debug, Clone)]
pub struct BlowUpDetector {
    /// `max(‖g‖∞, ‖V_fixed‖∞)`.
    pub initial_size: f64,
    /// `max |ℓ|` over the nodes, controls and time levels seen so far.
    pub cost_size: f64,
    /// The run's time step.
    pub time_step: f64,
    /// Its CFL bound.
    pub time_step_max: f64,
}

impl BlowUpDetector {
    /// The error for `step` (from 0) when `largest = (|V|, node)` exceeds the bound.
    pub fn check(
        &self,
        problem: &Problem,
        step: usize,
        time: f64,
        largest: (f64, usize),
        value: f64,
        worst_cfl: f64,
    ) -> Option<HjbError> {
        let bound = self.initial_size + (step + 1) as f64 * self.time_step * self.cost_size;
        let (size, node) = largest;
        (size > 10.0 * bound + 1e-300).then(|| HjbError::BlowUp {
            step: step + 1,
            time,
            index: problem.grid.unravel(node),
            point: problem.grid.point(node),
            value,
            bound,
            cfl: worst_cfl,
            time_step: self.time_step,
            time_step_max: self.time_step_max,
        })
    }
}
