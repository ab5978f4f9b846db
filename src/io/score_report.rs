//! The report of `hjb score` (text and JSON): per stored time, the difference between the
//! solver's drift and the exact score drift over the error region.

use crate::problem::Problem;
use crate::score::ScoreLevel;
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;

/// The text report; `written` lists the files.
pub fn score_report(problem: &Problem, levels: &[ScoreLevel], written: &[&Path]) -> String {
    let mut text = String::new();
    let region = levels.first().map(|l| l.norms.region.describe(&problem.state_names())).unwrap_or_default();
    let _ = writeln!(
        text,
        "hjb score {}: solver drift u_h vs exact score drift ∇log p_t + x/t on {region}",
        problem.name
    );
    let _ = writeln!(text, "  {:>8} {:>8} {:>12} {:>12} {:>12}", "asked", "t", "max |u_h−s|", "L1", "L2");
    for level in levels {
        let _ = writeln!(
            text,
            "  {:>8.4} {:>8.4} {:>12.4e} {:>12.4e} {:>12.4e}",
            level.requested, level.time, level.norms.linf, level.norms.l1, level.norms.l2
        );
    }
    for path in written {
        let _ = writeln!(text, "  wrote       {}", path.display());
    }
    text
}

/// The JSON summary.
pub fn score_json(problem: &Problem, levels: &[ScoreLevel], written: &[&Path]) -> Value {
    json!({
        "problem": problem.name,
        "region": levels.first().map(|l| l.norms.region.describe(&problem.state_names())),
        "levels": levels.iter().map(|l| json!({
            "requested": l.requested,
            "time": l.time,
            "linf": l.norms.linf,
            "l1": l.norms.l1,
            "l2": l.norms.l2,
            "nodes": l.norms.nodes,
        })).collect::<Vec<_>>(),
        "output": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    })
}
