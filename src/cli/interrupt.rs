//! Ctrl-C during a solve (README, "What hjb guarantees"): the first SIGINT asks the solve to stop
//! after the step it is in; the [`Interrupt`] observer then writes a checkpoint when one was asked
//! for and stops the run, and the verb says what it kept and exits 130. A second SIGINT ends the
//! process at once (the default action is restored by the first).
//!
//! The handler only stores the signal in an atomic and writes one line to stderr (both
//! async-signal-safe); everything else happens in the solve's own thread between two steps, so
//! no file is ever left half-written by the first Ctrl-C. `--stop-after N` stops the same way,
//! after N steps of the run, without a signal.

use hjb::io::checkpoint;
use hjb::solver::{Observer, StepView};
use hjb::HjbError;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_interrupt(_signal: libc::c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
    let message = b"\nhjb: stopping after the current step (Ctrl-C again to stop at once)\n";
    // SAFETY: write(2) and signal(2) are async-signal-safe; the buffer is a valid static slice.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}

/// Catch SIGINT for the rest of the process (the solve verb calls it once, before solving).
pub fn install() {
    #[cfg(unix)]
    // SAFETY: the handler only touches an atomic and calls async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGINT, on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t);
    }
}

/// Whether a SIGINT has arrived.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Stops a solve after the step in which a SIGINT arrived, writing the march's state to
/// `checkpoint` first when checkpoints were asked for.
pub struct Interrupt {
    pub checkpoint: Option<PathBuf>,
    /// Whether a checkpoint was written when the run stopped.
    pub saved: bool,
    /// `--stop-after N`: stop after N steps of this run as if interrupted.
    pub stop_after: Option<usize>,
    /// The steps completed when this run began (known at its first step).
    pub first: Option<usize>,
}

impl Observer for Interrupt {
    fn stepped(&mut self, view: &StepView<'_>) -> Result<(), HjbError> {
        let first = *self.first.get_or_insert(view.completed - 1);
        let stop = self.stop_after.is_some_and(|steps| view.completed - first >= steps)
            && view.completed < view.steps;
        if !requested() && !stop {
            return Ok(());
        }
        if let (Some(path), Some(state)) = (&self.checkpoint, view.state) {
            checkpoint::write(path, state)?;
            self.saved = true;
        }
        Err(HjbError::Interrupted { completed: view.completed, steps: view.steps })
    }
}
