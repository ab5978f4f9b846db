//! The progress bar of a solve: an observer that shows itself only after a second, on a terminal.

use hjb::solver::{Observer, RunView, StepView};
use hjb::HjbError;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// A progress bar that shows itself only after a second, and only on a terminal.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    visible: bool,
}

impl Progress {
    pub fn new(enabled: bool) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} step {pos}/{len} [{bar:40}] {elapsed} (eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Progress {
            bar,
            started: Instant::now(),
            enabled: enabled && std::io::stderr().is_terminal(),
            visible: false,
        }
    }
}

impl Observer for Progress {
    fn started(&mut self, run: &RunView<'_>) {
        self.bar.set_length(run.steps as u64);
        self.started = Instant::now();
    }

    fn stepped(&mut self, view: &StepView<'_>) -> Result<(), HjbError> {
        if self.enabled && !self.visible && self.started.elapsed() > Duration::from_secs(1) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.visible = true;
        }
        if self.visible {
            self.bar.set_position(view.completed as u64);
        }
        Ok(())
    }

    fn finished(&mut self, _complete: bool) {
        self.bar.finish_and_clear();
    }
}
