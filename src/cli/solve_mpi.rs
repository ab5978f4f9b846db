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
    if let Some(threads) = overrides.threads() {
        // Each process's rayon pool; the global one, so nothing MPI-owned crosses threads.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    }
    let Some(solution) = hjb::distributed::solve(world, problem, settings)? else {
        return Ok(());
    };
    write_result(&out, problem, &solution, output)?;
    report_result(&out, problem, &solution, output, json, no_plots)
}
