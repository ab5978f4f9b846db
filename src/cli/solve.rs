//! `hjb solve FILE`: solve, write the HDF5 result (and PNGs), print the report or JSON summary.

use super::overrides::Overrides;
use super::progress::Progress;
use super::{invalid, print_json};
use hjb::io::checkpoint::{checkpoint_path, Checkpointer};
use hjb::io::{figures, hdf5, report, summary};
use hjb::problem::load_problem;
use hjb::solver::{with_threads, KeepPartial};
use hjb::HjbError;
use std::path::{Path, PathBuf};

/// The checkpoint flags of `hjb solve`.
pub struct Checkpoints {
    pub every: Option<usize>,
    pub seconds: Option<f64>,
    pub resume: bool,
}

impl Checkpoints {
    /// The checkpointer these flags ask for (none without any of them), after checking them.
    fn checkpointer(&self, checkpoint: &Path) -> Result<Option<Checkpointer>, HjbError> {
        if self.resume && !checkpoint.exists() {
            return Err(invalid("--resume", format!("no checkpoint at {}", checkpoint.display())));
        }
        if self.every == Some(0) {
            return Err(invalid("--checkpoint-every", "use a step count ≥ 1"));
        }
        if self.seconds.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
            return Err(invalid("--checkpoint-seconds", "use a positive number of seconds"));
        }
        let checkpointing = self.every.is_some() || self.seconds.is_some() || self.resume;
        if let Some(directory) = checkpoint.parent().filter(|d| checkpointing && !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(directory).map_err(|error| HjbError::Output {
                path: directory.to_path_buf(),
                message: error.to_string(),
            })?;
        }
        Ok(checkpointing.then(|| {
            Checkpointer::new(checkpoint.to_path_buf(), self.every.unwrap_or(0), self.seconds, self.resume)
        }))
    }
}

pub fn run(
    file: &Path,
    out: Option<PathBuf>,
    json: bool,
    no_plots: bool,
    checkpoints: Checkpoints,
    overrides: &Overrides,
) -> anyhow::Result<()> {
    let (problem, settings, output) = overrides.apply(load_problem(file)?)?;
    overrides.check_memory(&problem, &settings, 0.0)?;
    let step_limit = overrides.step_limit()?;
    let progress = Progress::new(!json);
    let out = out.unwrap_or_else(|| output.directory.join(format!("{}.h5", problem.name)));
    let checkpoint = checkpoint_path(&out);
    super::check_targets(&[&out, &checkpoint])?;
    let checkpointer = checkpoints.checkpointer(&checkpoint)?;
    let mut observers = (step_limit, (progress, (KeepPartial::default(), checkpointer)));
    let outcome = with_threads(overrides.threads(), || hjb::solve(&problem, &settings, &mut observers))?;
    let solution = match outcome {
        Ok(solution) => solution,
        Err(error) => {
            if let Some(partial) = &observers.1 .1 .0.partial {
                // Nothing is lost: the last finite state goes to the result file, flagged.
                hdf5::write_result(&out, &problem, partial, &output)?;
                eprintln!("partial result (attribute partial = 1) written to {}", out.display());
            }
            if matches!(error, HjbError::ResumeMismatch) {
                return Err(invalid("--resume", format!("{} {error}", checkpoint.display())).into());
            }
            return Err(error.into());
        }
    };
    hdf5::write_result(&out, &problem, &solution, &output)?;
    let mut plots = Vec::new();
    if !no_plots && output.plots {
        plots = figures::write_solution_plots(&out, &problem, &output, &solution)?;
    }
    if json {
        return print_json(&summary::solve_summary(&problem, &solution, Some(&out), &plots));
    }
    if let Some(warning) = solution.diagnostics.semi_lagrangian.as_ref().and_then(|r| r.warning.as_ref()) {
        eprintln!("warning: {warning}");
    }
    let written: Vec<String> = std::iter::once(out.display().to_string()).chain(plots).collect();
    print!("{}", report::solve_report(&problem, &solution, &written));
    Ok(())
}
