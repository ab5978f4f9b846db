//! The files of `mpirun -np P hjb solve`: each process's checkpoint ([`RankCheckpoints`]), the
//! memory rule that chooses between gathering the result to rank 0 and one block file per
//! process ([`check_memory`]), the block files themselves ([`write_blocks`], the layout in
//! `hjb::io::blocks`) and the partial result of a stopped run ([`write_partial`]).
//!
//! Every decision here is the same on every process: checkpoints fall at step counts of the
//! plan, every write is followed by an agreement on its outcome, and a refusal stops every
//! process with exit code 2.

use super::invalid;
use super::limits::memory_limit;
use super::overrides::Overrides;
use super::print_json;
use super::solve::Checkpoints;
use hjb::distributed::blocks::BlockSolution;
use hjb::distributed::{plan_block, restrict, World};
use hjb::io::blocks::{self, BlockPlace};
use hjb::io::checkpoint::{self, rank_checkpoint_path};
use hjb::io::{report, summary};
use hjb::problem::Problem;
use hjb::settings::Settings;
use hjb::solver::{KeepPartial, MarchState, Observer, RunView, StepView};
use hjb::HjbError;
use std::path::{Path, PathBuf};

/// The memory rule's numbers on this process.
#[derive(Debug, Clone)]
pub struct MemoryCheck {
    /// Whether rank 0 can hold the gathered result next to its block (always true elsewhere).
    pub gather_fits: bool,
    /// Bytes of rank 0's block plus the gathered result.
    pub needed: f64,
    /// This process's memory limit and where it comes from.
    pub limit: Option<(f64, &'static str)>,
}

impl MemoryCheck {
    /// `the gathered result (…) would not fit rank 0's memory (…)`.
    pub fn describe(&self) -> String {
        let (limit, source) = self.limit.unwrap_or((f64::INFINITY, "no limit"));
        format!(
            "gathering the result to rank 0 would need {} there, above its {source} ({})",
            hjb::error::human_bytes(self.needed),
            hjb::error::human_bytes(limit)
        )
    }
}

/// Bytes rank 0 holds while it gathers and writes the whole result: the gathered value,
/// policies and snapshots (received into the arrays of the whole solution), the reference and
/// error fields, and one row-major copy of a field while it is written.
pub fn gathered_bytes(problem: &Problem, settings: &Settings) -> f64 {
    let nodes: f64 = problem.grid.axes().iter().map(|axis| axis.points as f64).product();
    let fields = (1.0 + problem.controls.len() as f64) * (1.0 + settings.snapshots as f64);
    8.0 * nodes * (fields + 3.0)
}

/// The memory limit of one process: `--max-memory` as given, else the available memory shared
/// by the processes of this machine (`OMPI_COMM_WORLD_LOCAL_SIZE`).
fn process_limit(overrides: &Overrides) -> Result<Option<(f64, &'static str)>, HjbError> {
    let limit = memory_limit(overrides.max_memory.as_deref())?;
    let local: f64 =
        std::env::var("OMPI_COMM_WORLD_LOCAL_SIZE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    Ok(limit.map(|(bytes, source)| match source {
        "limit given" => (bytes, "--max-memory"),
        _ => (bytes / local.max(1.0), "share of the available memory"),
    }))
}

/// Refuse a block that does not fit this process's memory limit; on rank 0, say whether the
/// gathered result fits too. A decomposition that cannot be made is left to the solve, which
/// refuses it with its own message.
pub fn check_memory(
    world: &World,
    problem: &Problem,
    settings: &Settings,
    overrides: &Overrides,
) -> Result<MemoryCheck, HjbError> {
    let limit = process_limit(overrides)?;
    let fits = MemoryCheck { gather_fits: true, needed: 0.0, limit };
    let Ok((block, _, _)) = plan_block(problem, settings, world.size(), world.rank()) else {
        return Ok(fits);
    };
    let local = restrict(problem, &block)?;
    let (bytes, source) = limit.unwrap_or((u64::MAX as f64, "addressable memory"));
    let own = hjb::solver::limits::check_memory(&local, settings, 0.0, bytes, source)?;
    if world.rank() != 0 {
        return Ok(fits);
    }
    let needed = own + gathered_bytes(problem, settings);
    Ok(MemoryCheck { gather_fits: needed <= bytes, needed, ..fits })
}

/// Per-process checkpoints of a decomposed march: every `--checkpoint-every` steps and at
/// `--stop-after`, each process writes its block (halo included: the whole state its march
/// continues from) to `<result>.checkpoint.rank<r>of<P>.h5`, atomically, and all agree that
/// every write succeeded. `--resume` reads them back after checking, on every process, that
/// each was written for this problem, grid, scheme, time step and decomposition, and that all
/// hold the same step.
pub struct RankCheckpoints<'a> {
    world: &'a World,
    path: PathBuf,
    every: usize,
    stop_after: Option<usize>,
    resume: bool,
    decomposition: String,
    first: Option<usize>,
    /// Whether the run stopped at `--stop-after` with its checkpoints written.
    pub saved: bool,
}

impl<'a> RankCheckpoints<'a> {
    /// The checkpoints `checkpoints` asks for of the result `out`.
    pub fn new(
        world: &'a World,
        problem: &Problem,
        settings: &Settings,
        out: &Path,
        checkpoints: &Checkpoints,
    ) -> Result<RankCheckpoints<'a>, HjbError> {
        let (size, rank) = (world.size(), world.rank());
        let decomposition = match plan_block(problem, settings, size, rank) {
            Ok((block, halo, _)) => format!(
                "{size} processes in blocks {:?}, this one at {:?} ({:?} nodes from {:?}), halo {halo}",
                block.dims, block.coords, block.own_points, block.own_start
            ),
            Err(_) => String::new(),
        };
        Ok(RankCheckpoints {
            world,
            path: rank_checkpoint_path(out, rank, size),
            every: checkpoints.every.unwrap_or(0),
            stop_after: checkpoints.stop_after,
            resume: checkpoints.resume,
            decomposition,
            first: None,
            saved: false,
        })
    }

    /// Remove this process's checkpoint once the result is in place (only in a run that wrote or
    /// read checkpoints: another run's are left alone).
    pub fn remove(&self) {
        if self.every > 0 || self.stop_after.is_some() || self.resume {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// This process's checkpoint, checked against the run.
    fn read_checked(&self, run: &RunView<'_>) -> Result<MarchState, HjbError> {
        let path = self.path.display();
        if !self.path.exists() {
            return Err(invalid(
                "--resume",
                format!("no checkpoint at {path} (resume with as many processes as the run that wrote it)"),
            ));
        }
        let written_for = checkpoint::read_decomposition(&self.path)?.unwrap_or_default();
        if written_for != self.decomposition {
            return Err(invalid(
                "--resume",
                format!(
                    "{path} was written for {written_for}; this run is {}: resume with the same number of \
                     processes and grid",
                    self.decomposition
                ),
            ));
        }
        let state = checkpoint::read(&self.path)?;
        if state.fingerprint != run.fingerprint
            || state.values.len() != run.nodes
            || state.completed > run.steps
        {
            return Err(invalid("--resume", format!("{path}: {}", HjbError::ResumeMismatch)));
        }
        Ok(state)
    }
}

impl Observer for RankCheckpoints<'_> {
    fn resume(&mut self, run: &RunView<'_>) -> Result<Option<MarchState>, HjbError> {
        if !self.resume {
            return Ok(None);
        }
        let state = self.world.agree(self.read_checked(run))?;
        let steps = self.world.gather_all(&[state.completed as f64]);
        if steps.iter().any(|other| other[0] != state.completed as f64) {
            let steps: Vec<String> = steps.iter().map(|s| s[0].to_string()).collect();
            return Err(invalid(
                "--resume",
                format!(
                    "the processes' checkpoints hold different steps ({}): the run that wrote them stopped \
                     while writing them; solve again without --resume",
                    steps.join(", ")
                ),
            ));
        }
        Ok(Some(state))
    }

    fn stepped(&mut self, view: &StepView<'_>) -> Result<(), HjbError> {
        let Some(state) = view.state else { return Ok(()) };
        let first = *self.first.get_or_insert(view.completed - 1);
        let unfinished = view.completed < view.steps;
        let by_steps = self.every > 0 && view.completed % self.every == 0 && unfinished;
        let stop = self.stop_after.is_some_and(|steps| view.completed - first >= steps) && unfinished;
        if !(by_steps || stop) {
            return Ok(());
        }
        let written = checkpoint::write_with(&self.path, state, Some(&self.decomposition));
        self.world.agree(written)?;
        if stop {
            self.saved = true;
            return Err(HjbError::Interrupted { completed: view.completed, steps: view.steps });
        }
        Ok(())
    }
}

/// The outcome of a decomposed solve, saying on rank 0 how to continue one stopped at
/// `--stop-after`.
pub fn stopped<T>(
    world: &World,
    checkpoints: &RankCheckpoints<'_>,
    outcome: hjb::Result<T>,
) -> anyhow::Result<T> {
    match outcome {
        Err(HjbError::Interrupted { completed, steps }) if checkpoints.saved => {
            if world.rank() == 0 {
                eprintln!(
                    "stopped after step {completed} of {steps} as asked (--stop-after): {} checkpoints written \
                     beside {}; run the same command with --resume to continue",
                    world.size(),
                    checkpoints.path.display()
                );
            }
            Err(HjbError::Interrupted { completed, steps }.into())
        }
        other => Ok(other?),
    }
}

/// A run stopped inside its time loop (every process stops at the same step with the same
/// error): each process writes the last finite state of its block, flagged partial, as block
/// files of `out` — or of `<out without .h5>.partial.h5` when `out` holds a complete result,
/// which a partial one never replaces. The outcome is handed on.
pub fn write_partial<T>(
    world: &World,
    problem: &Problem,
    settings: &Settings,
    out: &Path,
    keep: &KeepPartial,
    outcome: hjb::Result<T>,
) -> hjb::Result<T> {
    let error = match outcome {
        Err(error) if world.any(keep.partial.is_some()) => error,
        other => return other,
    };
    let complete = hjb::io::hdf5::read_result(out).is_ok_and(|stored| stored.stopped.is_none());
    let target = if world.any(world.rank() == 0 && complete) {
        PathBuf::from(format!("{}.partial.h5", out.with_extension("").display()))
    } else {
        out.to_path_buf()
    };
    let part = match &keep.partial {
        Some(partial) => plan_block(problem, settings, world.size(), world.rank())
            .and_then(|(block, _, _)| hjb::distributed::blocks::owned_part(problem, block, partial, None)),
        None => Err(HjbError::Numerical("no partial state on this process".to_string())),
    };
    let written = world.agree(part).and_then(|part| write_blocks(world, problem, settings, &target, &part));
    match written {
        Ok(_) if world.rank() == 0 => {
            eprintln!(
                "partial result (attribute partial = 1) written as {} block files, index {}",
                world.size(),
                target.display()
            );
        }
        Ok(_) => {}
        Err(trouble) if world.rank() == 0 => eprintln!("the partial result could not be written: {trouble}"),
        Err(_) => {}
    }
    Err(error)
}

/// What [`write_blocks`] wrote.
#[derive(Debug, Clone)]
pub struct BlockFiles {
    /// Every block file, in rank order.
    pub blocks: Vec<PathBuf>,
    /// The XDMF collection, for 2-D and 3-D grids.
    pub xdmf: Option<PathBuf>,
}

/// Write this process's block file, then (once every one is in place) rank 0 writes the index
/// `out` and the XDMF collection.
pub fn write_blocks(
    world: &World,
    problem: &Problem,
    settings: &Settings,
    out: &Path,
    part: &BlockSolution,
) -> Result<BlockFiles, HjbError> {
    // One identifier for the run, rank 0's, so that the index never stitches a block file left
    // by another run.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mine = (nanos % (1u128 << 52)) as f64;
    let run_id = format!("{:.0}-{}", world.gather_all(&[mine])[0][0], world.size());
    let size = world.size();
    let places: Vec<BlockPlace> = (0..size)
        .map(|rank| {
            let (block, _, _) = plan_block(problem, settings, size, rank)?;
            Ok(BlockPlace {
                rank,
                ranks: size,
                dims: block.dims,
                coords: block.coords,
                offset: block.own_start,
                points: block.own_points,
            })
        })
        .collect::<Result<_, HjbError>>()?;
    let rank = world.rank();
    let written = blocks::write_block(out, problem, &part.problem, &part.solution, &places[rank], &run_id);
    world.agree(written)?;
    let scheme = part.solution.diagnostics.settings.scheme_name();
    let index = if rank == 0 { blocks::write_index(out, problem, &scheme, &places, &run_id) } else { Ok(()) };
    world.agree(index)?;
    let xdmf = (2..=3).contains(&problem.grid.dimension()).then(|| out.with_extension("xmf"));
    Ok(BlockFiles { blocks: (0..size).map(|r| blocks::block_path(out, r)).collect(), xdmf })
}

/// The report of a result written in blocks (rank 0): the run's numbers, which every process
/// shares; no plots and no error norms (they need the whole field: `hjb plot` stitches it).
pub fn report_blocks(
    out: &Path,
    problem: &Problem,
    part: &BlockSolution,
    files: &BlockFiles,
    json: bool,
) -> anyhow::Result<()> {
    let names: Vec<String> = files.blocks.iter().map(|p| p.display().to_string()).collect();
    if json {
        let mut object = summary::solve_summary(problem, &part.solution, Some(out), &[]);
        object["block_files"] = serde_json::json!(names);
        object["xdmf"] = serde_json::json!(files.xdmf.as_ref().map(|p| p.display().to_string()));
        return print_json(&object);
    }
    let mut written = vec![format!("{} (index of {} block files {}…)", out.display(), names.len(), names[0])];
    written.extend(files.xdmf.iter().map(|p| p.display().to_string()));
    print!("{}", report::solve_report(problem, &part.solution, &written));
    eprintln!(
        "note: one block file per process; no plots and no error norms here (they need the whole field): \
         `hjb plot {}` and `hjb simulate {}` stitch the blocks",
        out.display(),
        out.display()
    );
    Ok(())
}
