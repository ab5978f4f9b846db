//! `hjb solve FILE`: solve, write the HDF5 result (and PNGs), print the report or JSON summary.

use super::interrupt::{self, Interrupt};
use super::overrides::Overrides;
use super::progress::Progress;
use super::{invalid, print_json};
use hjb::io::checkpoint::{checkpoint_path, Checkpointer};
use hjb::io::{figures, hdf5, report, summary};
use hjb::problem::{load_problem, Problem};
use hjb::settings::OutputSettings;
use hjb::solver::{with_threads, KeepPartial, Solution};
use hjb::HjbError;
use std::path::{Path, PathBuf};

/// Write the last finite state of a stopped run, flagged partial: to `out`, unless `out` holds a
/// complete result, which a partial one never replaces (it goes beside it, `<name>.partial.h5`).
fn write_partial(
    out: &Path,
    problem: &Problem,
    partial: &Solution,
    output: &OutputSettings,
) -> Result<(), HjbError> {
    let complete = out.exists() && hdf5::read_result(out).is_ok_and(|stored| stored.stopped.is_none());
    let target = if complete { partial_path(out) } else { out.to_path_buf() };
    hdf5::write_result(&target, problem, partial, output)?;
    eprintln!("partial result (attribute partial = 1) written to {}", target.display());
    if complete {
        eprintln!("the complete result {} from an earlier run is left as it was", out.display());
    }
    Ok(())
}

/// `<result without .h5>.partial.h5`.
fn partial_path(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial.h5", out.with_extension("").display()))
}

/// The checkpoint flags of `hjb solve`.
pub struct Checkpoints {
    pub every: Option<usize>,
    pub seconds: Option<f64>,
    pub resume: bool,
    /// `--stop-after N`: stop after N steps of this run, with a checkpoint.
    pub stop_after: Option<usize>,
}

impl Checkpoints {
    /// Whether any checkpoint flag was given.
    pub fn any(&self) -> bool {
        self.every.is_some() || self.seconds.is_some() || self.resume || self.stop_after.is_some()
    }

    /// Refuse step counts of 0.
    pub fn check_counts(&self) -> Result<(), HjbError> {
        if self.every == Some(0) {
            return Err(invalid("--checkpoint-every", "use a step count ≥ 1"));
        }
        if self.stop_after == Some(0) {
            return Err(invalid("--stop-after", "use a step count ≥ 1"));
        }
        Ok(())
    }

    /// The checkpointer these flags ask for (none without any of them), after checking them.
    fn checkpointer(&self, checkpoint: &Path) -> Result<Option<Checkpointer>, HjbError> {
        if self.resume && !checkpoint.exists() {
            return Err(invalid("--resume", format!("no checkpoint at {}", checkpoint.display())));
        }
        self.check_counts()?;
        if self.seconds.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
            return Err(invalid("--checkpoint-seconds", "use a positive number of seconds"));
        }
        let checkpointing = self.any();
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
    per_rank_files: bool,
    overrides: &Overrides,
) -> anyhow::Result<()> {
    #[cfg(feature = "mpi")]
    let world = super::solve_mpi::join(overrides);
    #[cfg(not(feature = "mpi"))]
    refuse_mpirun()?;
    let (problem, settings, output) = overrides.apply(load_problem(file)?)?;
    #[cfg(feature = "mpi")]
    if let Some(world) = world {
        return super::solve_mpi::run(
            &world,
            &problem,
            &settings,
            &output,
            out,
            json,
            no_plots,
            &checkpoints,
            per_rank_files,
            overrides,
        );
    }
    if per_rank_files {
        eprintln!(
            "note: --per-rank-files applies under mpirun -np P (P > 1); one process writes one result file"
        );
    }
    overrides.check_memory(&problem, &settings, 0.0)?;
    let step_limit = overrides.step_limit()?;
    let progress = Progress::new(!json);
    let out = out.unwrap_or_else(|| output.directory.join(format!("{}.h5", problem.name)));
    let checkpoint = checkpoint_path(&out);
    super::check_targets(&[&out, &checkpoint])?;
    let checkpointer = checkpoints.checkpointer(&checkpoint)?;
    let interrupt = Interrupt {
        checkpoint: checkpointer.is_some().then(|| checkpoint.clone()),
        saved: false,
        stop_after: checkpoints.stop_after,
        first: None,
    };
    let mut observers = (step_limit, (progress, (KeepPartial::default(), (checkpointer, interrupt))));
    interrupt::install();
    let outcome = with_threads(overrides.threads(), || hjb::solve(&problem, &settings, &mut observers))?;
    let (_, (_, (keep, (checkpointer, interrupt)))) = observers;
    let solution = match outcome {
        Ok(solution) => solution,
        Err(error) => {
            if let Some(partial) = &keep.partial {
                write_partial(&out, &problem, partial, &output)?;
            }
            if let HjbError::Interrupted { completed, .. } = error {
                match (interrupt.saved, &interrupt.checkpoint) {
                    (true, Some(path)) if !interrupt::requested() => eprintln!(
                        "stopped after step {completed} as asked (--stop-after): checkpoint written to {}; \
                         run the same command with --resume to continue",
                        path.display()
                    ),
                    (true, Some(path)) => eprintln!(
                        "interrupted: checkpoint of step {completed} written to {}; run the same command \
                         with --resume to continue",
                        path.display()
                    ),
                    _ => eprintln!(
                        "interrupted: nothing written (with --checkpoint-every N an interrupted solve \
                         can be resumed)"
                    ),
                }
            }
            if matches!(error, HjbError::ResumeMismatch) {
                return Err(invalid("--resume", format!("{} {error}", checkpoint.display())).into());
            }
            return Err(error.into());
        }
    };
    write_result(&out, &problem, &solution, &output)?;
    // Only now that the result is in place has the checkpoint served its purpose.
    if let Some(checkpointer) = &checkpointer {
        checkpointer.remove();
    }
    if interrupt::requested() {
        eprintln!("interrupted after the last step: the result {} is complete; plots skipped", out.display());
        let steps = solution.diagnostics.steps;
        return Err(HjbError::Interrupted { completed: steps, steps }.into());
    }
    report_result(&out, &problem, &solution, &output, json, no_plots)
}

/// A build without the `mpi` feature started by `mpirun -np P` (P > 1) would run P copies of
/// the whole solve writing one file: refuse, on every copy alike.
#[cfg(not(feature = "mpi"))]
fn refuse_mpirun() -> Result<(), HjbError> {
    let size = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.parse::<usize>().ok())
        .unwrap_or(1);
    if size > 1 {
        return Err(invalid(
            "mpirun",
            format!(
                "this hjb was built without the `mpi` feature, so {size} processes would each solve the whole \
                 problem; build with `cargo build --release --features mpi` (README, \"Beyond one machine\")"
            ),
        ));
    }
    Ok(())
}

/// Write the HDF5 result of a finished solve.
pub(super) fn write_result(
    out: &Path,
    problem: &Problem,
    solution: &Solution,
    output: &OutputSettings,
) -> anyhow::Result<()> {
    hdf5::write_result(out, problem, solution, output)?;
    Ok(())
}

/// The plots and the report (text or JSON) of a written result.
pub(super) fn report_result(
    out: &Path,
    problem: &Problem,
    solution: &Solution,
    output: &OutputSettings,
    json: bool,
    no_plots: bool,
) -> anyhow::Result<()> {
    let (out, problem, solution, output) = (out.to_path_buf(), problem, solution, output);
    let mut plots = Vec::new();
    if !no_plots && output.plots {
        plots = figures::write_solution_plots(&out, problem, output, solution)?;
    }
    if json {
        return print_json(&summary::solve_summary(problem, solution, Some(&out), &plots));
    }
    if let Some(warning) = solution.diagnostics.semi_lagrangian.as_ref().and_then(|r| r.warning.as_ref()) {
        eprintln!("warning: {warning}");
    }
    let written: Vec<String> = std::iter::once(out.display().to_string()).chain(plots).collect();
    print!("{}", report::solve_report(problem, solution, &written));
    Ok(())
}
