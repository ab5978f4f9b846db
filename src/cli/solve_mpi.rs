//! `mpirun -np P hjb solve FILE` (the `mpi` feature): the grid decomposed over the processes
//! (`hjb::distributed`), the result gathered to rank 0, which writes and reports it exactly as
//! a single-process run does. Every process reaches the same decisions, so every process exits
//! with the same code; only rank 0 writes files and prints the report.

use super::invalid;
use super::overrides::Overrides;
use super::solve::{report_result, write_result, Checkpoints};
use hjb::distributed::World;
use hjb::problem::Problem;
use hjb::settings::{OutputSettings, Settings};
use std::path::PathBuf;

/// Join MPI; `Some` when there are several processes, whose rayon pools then get `--threads`
/// threads each (the global pool, built before anything runs on it, so that nothing owned by
/// MPI has to cross threads).
pub fn join(overrides: &Overrides) -> Option<World> {
    let world = World::join().filter(|world| world.size() > 1)?;
    if let Some(threads) = overrides.threads() {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    }
    Some(world)
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    world: &World,
    problem: &Problem,
    settings: &Settings,
    output: &OutputSettings,
    out: Option<PathBuf>,
    json: bool,
    no_plots: bool,
    checkpoints: &Checkpoints,
    overrides: &Overrides,
) -> anyhow::Result<()> {
    if checkpoints.every.is_some() || checkpoints.seconds.is_some() || checkpoints.resume {
        return Err(invalid(
            "--checkpoint-every",
            "checkpoints are not written by a run decomposed with MPI in this build; run on one process",
        )
        .into());
    }
    let out = out.unwrap_or_else(|| output.directory.join(format!("{}.h5", problem.name)));
    super::check_targets(&[&out])?;
    // The step cap decides from the plan alone (the same on every process); progress bars,
    // Ctrl-C and partial results are single-process observers.
    let mut step_limit = overrides.step_limit()?;
    let Some(solution) = hjb::distributed::solve(world, problem, settings, &mut step_limit)? else {
        return Ok(());
    };
    write_result(&out, problem, &solution, output)?;
    report_result(&out, problem, &solution, output, json, no_plots)
}
