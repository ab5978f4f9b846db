//! `hjb validate [--quick]`: every study in the folder against its bar; exit 1 if any misses it.

use super::print_json;
use hjb::io::{report, summary};
use hjb::validate::{load_study, run_study, study_files};
use hjb::HjbError;
use std::path::Path;
use std::time::Instant;

pub fn run(quick: bool, directory: &Path, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for path in study_files(directory)? {
        if quick && !load_study(&path)?.quick {
            continue;
        }
        outcomes.push(run_study(&path)?);
    }
    let seconds = started.elapsed().as_secs_f64();
    if json {
        print_json(&summary::validate_summary(&outcomes, seconds))?;
    } else {
        print!("{}", report::validate_report(&outcomes, quick, seconds));
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    if failed > 0 {
        return Err(HjbError::Numerical(format!("{failed} validation studies missed their bar")).into());
    }
    Ok(())
}
