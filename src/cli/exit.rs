//! Errors → exit codes (README, "Command line": 0 ok, 1 numerical failure or I/O trouble, 2 bad
//! input, 130 interrupted) and the command-line advice printed under an error.

use hjb::error::ErrorKind;
use hjb::HjbError;

/// Exit code of a library error: 2 = bad input, 1 = numerical failure or output trouble, 130 =
/// interrupted (128 + SIGINT, as shells report it).
pub fn exit_code(error: &HjbError) -> u8 {
    match error.kind() {
        ErrorKind::BadInput => 2,
        ErrorKind::Numerical | ErrorKind::Output => 1,
        ErrorKind::Interrupted => 130,
    }
}

/// Exit code of any error of a verb: library errors by [`exit_code`], anything else (a JSON
/// encoding failure, …) 1.
pub fn exit_code_of(error: &anyhow::Error) -> u8 {
    error.downcast_ref::<HjbError>().map_or(1, exit_code)
}

/// Which flags fix the error, when flags can.
pub fn hint(error: &HjbError) -> Option<String> {
    match error {
        HjbError::CflViolated { time_step_max, .. } => Some(format!(
            "use --time-step ≤ {time_step_max:e}, or drop --time-step and let --cfl (≤ 1) choose it"
        )),
        HjbError::BlowUp { time_step_max, .. } => {
            Some(format!("drop --allow-unstable, or use --time-step ≤ {time_step_max:.4e}"))
        }
        HjbError::InvalidGrid { .. } => Some(
            "--points N sets every continuous axis (a regime axis keeps one point per regime); \
             --points N,N,… gives one count per axis"
                .to_string(),
        ),
        HjbError::TooFewLevels { needed, .. } => Some(format!("use --levels {needed} or more")),
        HjbError::ThreadPool { .. } => Some("use fewer --threads".to_string()),
        HjbError::InvalidStart { .. } => {
            Some("give --from x0,y0,… with one coordinate per state, inside the grid".to_string())
        }
        HjbError::InvalidHorizon { .. } => Some("use a positive --horizon and --time-step".to_string()),
        HjbError::TooLarge { .. } => Some(
            "use fewer points (--points N, or the file's `points`); if the machine really has the memory, \
             raise the limit with --max-memory SIZE (e.g. --max-memory 64G)"
                .to_string(),
        ),
        HjbError::TooMuchWork { unit: "time steps", limit, .. }
            if *limit >= hjb::solver::limits::MAX_STEPS as f64 =>
        {
            Some("use a larger time step (--time-step, --courant, --cfl) or a shorter horizon".to_string())
        }
        HjbError::TooMuchWork { unit: "time steps", .. } => Some(
            "use a larger time step (--time-step, --courant, --cfl) or a shorter horizon; to run it anyway \
             raise the cap with --max-steps N"
                .to_string(),
        ),
        HjbError::TooMuchWork { unit: "integration steps", .. } => {
            Some("use a larger --time-step or a shorter --horizon".to_string())
        }
        HjbError::TooMuchWork { .. } => Some("use fewer --paths or a larger --time-step".to_string()),
        _ => None,
    }
}

/// The error as printed on stderr: `error: …` and, where flags can fix it, `  hint: …`. A library
/// error already states its cause (an OS error included), so its source chain is not repeated.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = match error.downcast_ref::<HjbError>() {
        Some(library) => format!("error: {library}"),
        None => format!("error: {error:#}"),
    };
    if let Some(hint) = error.downcast_ref::<HjbError>().and_then(hint) {
        text.push_str(&format!("\n  hint: {hint}"));
    }
    text
}
