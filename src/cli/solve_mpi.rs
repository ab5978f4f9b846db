//! `mpirun -np P hjb solve FILE` (the `mpi` feature): the grid decomposed over the processes
//! (`hjb::distributed`). Small results are gathered to rank 0, which writes and reports them
//! exactly as a single-process run does; with `--per-rank-files`, or when the gathered result
//! would not fit rank 0's memory limit, every process writes its own block instead
//! ([`super::solve_mpi_files`], `hjb::io::blocks`). Checkpoints are per process
//! (`--checkpoint-every`, `--stop-after`, `--resume` with the same decomposition). A run stopped
//! by a non-finite value or a blow-up writes its last finite state as block files, flagged
//! partial. Every process
//! reaches the same decisions, so every process exits with the same code; only rank 0 prints the
//! report.

use super::invalid;
use super::overrides::Overrides;
use super::solve::{report_result, write_result, Checkpoints};
use super::solve_mpi_files::{self as files, RankCheckpoints};
use hjb::distributed::World;
use hjb::problem::Problem;
use hjb::settings::{OutputSettings, Settings};
use hjb::solver::KeepPartial;
use hjb::HjbError;
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
    per_rank_files: bool,
    overrides: &Overrides,
) -> anyhow::Result<()> {
    if checkpoints.seconds.is_some() {
        return Err(invalid(
            "--checkpoint-seconds",
            "under MPI every process must write its checkpoint at the same step, which a clock on each \
             process cannot promise; use --checkpoint-every N",
        )
        .into());
    }
    checkpoints.check_counts()?;
    let out = out.unwrap_or_else(|| output.directory.join(format!("{}.h5", problem.name)));
    super::check_targets(&[&out])?;
    // Every process checks its own block's memory; rank 0 also the gathered result's.
    let memory = world.agree(files::check_memory(world, problem, settings, overrides))?;
    let per_rank_files = world.any(per_rank_files || (world.rank() == 0 && !memory.gather_fits));
    if world.rank() == 0 && !memory.gather_fits {
        eprintln!("note: {}: one block file per process instead", memory.describe());
    }
    // The step cap and the checkpoints decide from the plan alone (the same on every process);
    // progress bars, Ctrl-C and partial results are single-process observers.
    let step_limit = overrides.step_limit()?;
    let rank_checkpoints = RankCheckpoints::new(world, problem, settings, &out, checkpoints)?;
    let mut observers = (step_limit, (rank_checkpoints, KeepPartial::default()));
    if per_rank_files {
        let outcome = hjb::distributed::blocks::solve_blocks(world, problem, settings, &mut observers);
        let outcome = files::write_partial(world, problem, settings, &out, &observers.1 .1, outcome);
        let part = files::stopped(world, &observers.1 .0, outcome)?;
        let summary = files::write_blocks(world, problem, settings, &out, &part)?;
        observers.1 .0.remove();
        if world.rank() == 0 {
            files::report_blocks(&out, problem, &part, &summary, json)?;
        }
        return Ok(());
    }
    let outcome = hjb::distributed::solve(world, problem, settings, &mut observers);
    let outcome = files::write_partial(world, problem, settings, &out, &observers.1 .1, outcome);
    let solution = files::stopped(world, &observers.1 .0, outcome)?;
    let written = match &solution {
        Some(solution) => {
            write_result(&out, problem, solution, output).map_err(|error| match error.downcast() {
                Ok(library) => library,
                Err(other) => HjbError::Output { path: out.clone(), message: other.to_string() },
            })
        }
        None => Ok(()),
    };
    world.agree(written)?;
    // Only now that the result is in place have the checkpoints served their purpose.
    observers.1 .0.remove();
    let Some(solution) = solution else { return Ok(()) };
    report_result(&out, problem, &solution, output, json, no_plots)
}
