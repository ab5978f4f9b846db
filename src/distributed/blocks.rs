//! A decomposed solve that keeps its result in blocks: each process ends with the owned nodes
//! of its block (no halo) as a solution on a grid of its own, a [`crate::Grid::window`] of the
//! whole grid — what `hjb solve --per-rank-files` writes as one file per process instead of
//! gathering the whole field to rank 0 (`crate::io::blocks`). Also the collectives the command
//! line needs around a decomposed solve (agreeing on an outcome, gathering a few numbers),
//! over every process of the [`World`].

use super::decomposition::Block;
use super::domain::MpiDomain;
use super::{march_decomposed, owned, World};
use crate::error::Result;
use crate::problem::Problem;
use crate::settings::Settings;
use crate::solver::{finish_whole, DistributedReport, Observer, Snapshots, Solution};
use mpi::collective::SystemOperation;
use mpi::traits::*;

/// A marched block before its fields are gathered or kept.
pub(crate) struct Marched {
    pub domain: MpiDomain,
    pub block: Block,
    pub halo: usize,
    pub minimum: usize,
    /// The block's fields, halo included.
    pub solution: Solution,
    pub report: DistributedReport,
}

/// One process's part of a decomposed solution.
#[derive(Debug, Clone)]
pub struct BlockSolution {
    /// The block (owned nodes, halo, place in the decomposition).
    pub block: Block,
    /// The problem on the owned nodes only: its grid is the owned window of the whole grid.
    pub problem: Problem,
    /// The owned nodes' value, policies and snapshots; the reference on the block. No error
    /// norms and no reachability counts (those are properties of the whole field).
    pub solution: Solution,
}

/// The problem restricted to the owned nodes of `block` (no halo).
pub fn owned_problem(problem: &Problem, block: &Block) -> Result<Problem> {
    let mut local = problem.clone();
    local.grid = problem.grid.window(&block.own_start, &block.own_points)?;
    Ok(local)
}

/// Solve `problem` decomposed over every process of `world` and keep each process's owned
/// block (no gather). Every process returns the same kind of error.
pub fn solve_blocks(
    world: &World,
    problem: &Problem,
    settings: &Settings,
    observer: &mut dyn Observer,
) -> Result<BlockSolution> {
    let Marched { block, solution, report, .. } = march_decomposed(world, problem, settings, observer)?;
    owned_part(problem, block, &solution, Some(report))
}

/// The owned nodes of `solution`, the fields of `block` with its halo: a complete block
/// solution (with the run's `report`), or the last finite state of a stopped run (flagged in
/// `stopped`).
pub fn owned_part(
    problem: &Problem,
    block: Block,
    solution: &Solution,
    report: Option<DistributedReport>,
) -> Result<BlockSolution> {
    let local = owned_problem(problem, &block)?;
    let keep = |field: &crate::ndarray::ArrayD<f64>| owned(&block, field.as_slice().unwrap_or_default());
    let values = keep(&solution.values);
    let policy: Vec<Vec<f64>> = solution.policy.iter().map(keep).collect();
    let snapshots = solution.snapshots.as_ref().map(|stored| Snapshots {
        times: stored.times.clone(),
        values: stored.values.iter().map(|v| local.grid.field(keep(v))).collect(),
        policies: stored
            .policies
            .iter()
            .map(|p| p.iter().map(|c| local.grid.field(keep(c))).collect())
            .collect(),
    });
    let mut diagnostics = solution.diagnostics.clone();
    if let Some(report) = report {
        diagnostics.seconds = report.total_seconds;
        diagnostics.distributed = Some(report);
    }
    let mut finished = finish_whole(&local, values, policy, diagnostics, snapshots);
    finished.error = None;
    finished.diagnostics.reachable = None;
    finished.stopped.clone_from(&solution.stopped);
    Ok(BlockSolution { block, problem: local, solution: finished })
}

impl World {
    /// Every process's `values` on every process, in rank order.
    pub fn gather_all(&self, values: &[f64]) -> Vec<Vec<f64>> {
        let comm = self.universe.world();
        let size = self.size();
        let mut all = vec![0.0; values.len() * size];
        comm.all_gather_into(values, &mut all[..]);
        all.chunks(values.len().max(1)).take(size).map(<[f64]>::to_vec).collect()
    }

    /// Whether `yes` holds on any process.
    pub fn any(&self, yes: bool) -> bool {
        let mut all = 0i32;
        self.universe.world().all_reduce_into(&i32::from(yes), &mut all, SystemOperation::max());
        all == 1
    }

    /// The same outcome on every process: when any failed, the lowest failing rank keeps its
    /// own error and every other one stops with [`crate::HjbError::OnAnotherRank`] of its kind.
    pub fn agree<T>(&self, result: Result<T>) -> Result<T> {
        crate::solver::domain::agree_with(self.rank(), |code| self.gather_all(code), result)
    }
}
