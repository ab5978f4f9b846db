//! The ensemble lines of `hjb simulate` (text and JSON): sample moments of the terminal states
//! and, when the exact law of `X_T` is known, the distance to it.

use crate::problem::Problem;
use crate::simulate::EnsembleStatistics;
use serde_json::{json, Value};
use std::fmt::Write;

fn vector(values: &[f64]) -> String {
    format!("[{}]", values.iter().map(|v| format!("{v:.4}")).collect::<Vec<_>>().join(", "))
}

fn matrix(rows: &[Vec<f64>]) -> String {
    format!("[{}]", rows.iter().map(|row| vector(row)).collect::<Vec<_>>().join(", "))
}

/// Text lines: sample mean and covariance with standard errors, and against the exact law.
pub fn ensemble_lines(problem: &Problem, ensemble: &EnsembleStatistics, paths: usize) -> String {
    let mut text = String::new();
    let names = problem.state_names().join(", ");
    let _ = writeln!(text, "  X_T ({names}) over {paths} paths");
    let _ = writeln!(
        text,
        "    sample mean        {} ± {}",
        vector(&ensemble.mean),
        vector(&ensemble.mean_standard_error)
    );
    let _ = writeln!(text, "    sample covariance  {}", matrix(&ensemble.covariance));
    if let Some(target) = &ensemble.target {
        let _ = writeln!(
            text,
            "    exact mean         {}  (largest gap {:.2} standard errors)",
            vector(&target.mean),
            target.mean_z
        );
        let _ = writeln!(
            text,
            "    exact covariance   {}  (largest gap {:.2} standard errors)",
            matrix(&target.covariance),
            target.covariance_z
        );
        let _ = writeln!(
            text,
            "    KS distance        {} per coordinate against the exact marginal CDF (95 % critical value {:.4})",
            vector(&target.ks),
            target.ks_critical
        );
    }
    text
}

/// The same as a JSON object.
pub fn ensemble_json(ensemble: &EnsembleStatistics) -> Value {
    json!({
        "mean": ensemble.mean,
        "mean_standard_error": ensemble.mean_standard_error,
        "covariance": ensemble.covariance,
        "covariance_standard_error": ensemble.covariance_standard_error,
        "exact": ensemble.target.as_ref().map(|target| json!({
            "mean": target.mean,
            "covariance": target.covariance,
            "mean_z": target.mean_z,
            "covariance_z": target.covariance_z,
            "ks": target.ks,
            "ks_critical": target.ks_critical,
        })),
    })
}
