//! Errors → exit codes (README, "Command line": 0 ok, 1 numerical failure or I/O trouble, 2 bad input) and
//! the command-line advice printed under an error.

use hjb::error::ErrorKind;
use hjb::HjbError;

/// Exit code of a library error: 2 = bad input, 1 = numerical failure or output trouble.
pub fn exit_code(error: &HjbError) -> u8 {
    match error.kind() {
        ErrorKind::BadInput => 2,
        ErrorKind::Numerical | ErrorKind::Output => 1,
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
        _ => None,
    }
}

/// The error as printed on stderr: `error: …` and, where flags can fix it, `  hint: …`.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = format!("error: {error:#}");
    if let Some(hint) = error.downcast_ref::<HjbError>().and_then(hint) {
        text.push_str(&format!("\n  hint: {hint}"));
    }
    text
}
