//! Where the nodes of a march live: the whole grid in this process ([`Whole`], the default), or
//! one block of a domain decomposition (the `mpi` feature's `hjb::distributed`).
//!
//! A block is a problem of its own on the owned nodes extended by a halo of `w` nodes on each
//! side that has a neighbour. The driver steps the whole extended block, then
//! [`Domain::exchange`] overwrites the halo with the owners' values; the owned nodes are exact
//! as long as one step reads no further than `w` nodes (see `docs/numerics.md`, "Domain
//! decomposition"). The decisions of the driver (first non-finite node, blow-up, the CFL bound
//! of a re-tabulated step) are taken over the owned nodes of every block together, by exact
//! reductions (max, min, any), so every process reaches the same decision.
//!
//! The driver never asks which kind it has beyond [`Domain::is_whole`]: for the whole grid
//! every method is the identity and the march runs exactly as it always did.

use super::observer::BlowUpDetector;
use crate::error::{ErrorKind, HjbError, Result};
use crate::problem::Problem;
use crate::scheme::Tabulation;

/// The node set of one process and the reductions over all processes.
pub trait Domain {
    /// Whether this process holds the whole grid (then every other method is the identity).
    fn is_whole(&self) -> bool;

    /// Overwrite the halo of `field` (one value per local node) with the owners' values.
    fn exchange(&mut self, field: &mut [f64]) -> Result<()>;

    /// Elementwise maximum of `values` over all processes (exact: max is associative).
    fn maximum(&mut self, values: &mut [f64]);

    /// Whether any process says yes.
    fn any(&mut self, yes: bool) -> bool;

    /// Every process's `values` (all of the same length), in rank order.
    fn gather_all(&mut self, values: &[f64]) -> Vec<Vec<f64>>;

    /// This process's rank (0 for the whole grid).
    fn rank(&self) -> usize {
        0
    }

    /// Whether local node `node` is owned (not halo).
    fn owns(&self, node: usize) -> bool;

    /// The flat index of local node `node` in the whole grid.
    fn global_node(&self, node: usize) -> usize;

    /// Call `visit(local, global)` for every owned node, in local order.
    fn for_each_owned(&self, visit: &mut dyn FnMut(usize, usize));

    /// Multi-index and coordinates of node `global` of the whole grid (`None` for the whole
    /// grid in one process, where the caller's grid answers).
    fn global_place(&self, _global: usize) -> Option<(Vec<usize>, Vec<f64>)> {
        None
    }

    /// The time spent in communication so far, in seconds.
    fn communication_seconds(&self) -> f64 {
        0.0
    }
}

/// How a decomposed run went, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct DistributedReport {
    /// What ran on the blocks: `march (upwind)`, `value iteration (lax_friedrichs)`, ….
    pub method: String,
    /// Block-Jacobi policy iteration: the outer sweeps (each a policy iteration per block).
    pub outer_sweeps: Option<usize>,
    /// Processes.
    pub ranks: usize,
    /// Threads per process.
    pub threads: usize,
    /// Blocks per axis.
    pub dims: Vec<usize>,
    /// Halo width in nodes.
    pub halo: usize,
    /// Nodes of the largest block, halo included (what one process holds per field).
    pub largest_block_nodes: usize,
    /// Bytes all processes send in one exchange.
    pub halo_bytes_per_step: usize,
    /// Seconds in exchanges and reductions (the slowest process).
    pub communication_seconds: f64,
    /// Seconds of the march (the slowest process).
    pub total_seconds: f64,
}

/// The whole grid in one process: no halo, nothing to exchange or reduce.
#[derive(Debug, Clone, Copy, Default)]
pub struct Whole;

impl Domain for Whole {
    fn is_whole(&self) -> bool {
        true
    }

    fn exchange(&mut self, _field: &mut [f64]) -> Result<()> {
        Ok(())
    }

    fn maximum(&mut self, _values: &mut [f64]) {}

    fn any(&mut self, yes: bool) -> bool {
        yes
    }

    fn gather_all(&mut self, values: &[f64]) -> Vec<Vec<f64>> {
        vec![values.to_vec()]
    }

    fn owns(&self, _node: usize) -> bool {
        true
    }

    fn global_node(&self, node: usize) -> usize {
        node
    }

    fn for_each_owned(&self, _visit: &mut dyn FnMut(usize, usize)) {
        // Never called for the whole grid (the driver asks `is_whole` first).
    }
}

/// For a block: the grid-wide maximum of the Lax–Friedrichs `α_i` over every block, kept in the
/// table for the steps that use one `α` for the whole grid (global dissipation).
pub(crate) fn share_dissipation(domain: &mut dyn Domain, table: &mut Tabulation, n: usize) {
    if domain.is_whole() {
        return;
    }
    let mut alpha = vec![0.0f64; n];
    for row in table.dissipation.chunks_exact(n) {
        for (a, value) in alpha.iter_mut().zip(row) {
            *a = a.max(*value);
        }
    }
    domain.maximum(&mut alpha);
    table.global_dissipation = Some(alpha);
}

/// For a block, after a step (before the projection, like the stepper's own outcome): the
/// first non-finite owned value (lowest global node) or a blow-up of the largest owned |V|
/// (ties to the lowest global node), decided over every block together.
pub(crate) fn block_verdict(
    domain: &mut dyn Domain,
    problem: &Problem,
    detector: &BlowUpDetector,
    step: usize,
    time: f64,
    values: &[f64],
    worst_cfl: f64,
) -> Option<HjbError> {
    let mut first: Option<(usize, f64)> = None;
    let mut largest = (0.0f64, usize::MAX, 0.0f64);
    domain.for_each_owned(&mut |node, global| {
        let v = &values[node];
        if !v.is_finite() {
            if first.is_none_or(|(g, _)| global < g) {
                first = Some((global, *v));
            }
        } else if v.abs() > largest.0 || (v.abs() == largest.0 && global < largest.1) {
            largest = (v.abs(), global, *v);
        }
    });
    let mine = [
        f64::from(u8::from(first.is_some())),
        first.map_or(0.0, |f| f.0 as f64),
        first.map_or(0.0, |f| f.1),
        largest.0,
        largest.1 as f64,
        largest.2,
    ];
    let all = domain.gather_all(&mine);
    let place = |domain: &dyn Domain, global: f64| domain.global_place(global as usize).unwrap_or_default();
    let non_finite = all.iter().filter(|o| o[0] == 1.0).min_by(|a, b| a[1].total_cmp(&b[1]));
    if let Some(other) = non_finite {
        let (index, point) = place(domain, other[1]);
        return Some(HjbError::NonFinite { step: step + 1, time, index, point, value: other[2] });
    }
    let mine = mine.to_vec();
    let best =
        all.iter().fold(
            &mine,
            |best, o| {
                if o[3] > best[3] || (o[3] == best[3] && o[4] < best[4]) {
                    o
                } else {
                    best
                }
            },
        );
    let mut error = detector.check(problem, step, time, (best[3], 0), best[5], worst_cfl)?;
    if let HjbError::BlowUp { index, point, .. } = &mut error {
        (*index, *point) = place(domain, best[4]);
    }
    Some(error)
}

/// One sweep of a stationary iteration on a block (value iteration, a block-Jacobi sweep),
/// decided over every block together: the first non-finite owned value of `new` (lowest global
/// node) stops every process with [`HjbError::NonFinite`] at `sweep` and `time`; otherwise
/// `(max |new − old|, max |new|)` over the owned nodes of all blocks — exact maxima, so the
/// single-process numbers bit for bit.
pub(crate) fn owned_change(
    domain: &mut dyn Domain,
    old: &[f64],
    new: &[f64],
    sweep: usize,
    time: f64,
) -> Result<(f64, f64)> {
    let mut first: Option<(usize, f64)> = None;
    let (mut change, mut largest) = (0.0f64, 0.0f64);
    domain.for_each_owned(&mut |node, global| {
        let value = new[node];
        if !value.is_finite() {
            if first.is_none_or(|(g, _)| global < g) {
                first = Some((global, value));
            }
            return;
        }
        change = change.max((old[node] - value).abs());
        largest = largest.max(value.abs());
    });
    let mine = [
        f64::from(u8::from(first.is_some())),
        first.map_or(0.0, |f| f.0 as f64),
        first.map_or(0.0, |f| f.1),
        change,
        largest,
    ];
    let all = domain.gather_all(&mine);
    if let Some(other) = all.iter().filter(|o| o[0] == 1.0).min_by(|a, b| a[1].total_cmp(&b[1])) {
        let (index, point) = domain.global_place(other[1] as usize).unwrap_or_default();
        return Err(HjbError::NonFinite { step: sweep, time, index, point, value: other[2] });
    }
    let change = all.iter().fold(0.0f64, |a, o| a.max(o[3]));
    let largest = all.iter().fold(0.0f64, |a, o| a.max(o[4]));
    Ok((change, largest))
}

/// The same outcome on every process: when any failed, the lowest failing rank keeps its own
/// error and every other process stops with [`HjbError::OnAnotherRank`] of the same kind (so
/// with the same exit code).
pub(crate) fn agree<T>(domain: &mut dyn Domain, result: Result<T>) -> Result<T> {
    if domain.is_whole() {
        return result;
    }
    let rank = domain.rank();
    agree_with(rank, |code| domain.gather_all(code), result)
}

/// [`agree`] for any group of processes: `rank` is this process's, `gather_all` hands every
/// process's numbers to every process (rank order).
pub fn agree_with<T>(
    rank: usize,
    gather_all: impl FnOnce(&[f64]) -> Vec<Vec<f64>>,
    result: Result<T>,
) -> Result<T> {
    let mine = rank;
    let code = match &result {
        Ok(_) => 0.0,
        Err(error) => 1.0 + kind_code(error.kind()),
    };
    let all = gather_all(&[code]);
    let Some(rank) = all.iter().position(|other| other[0] != 0.0) else {
        return result;
    };
    if rank == mine {
        return result;
    }
    let kind = [ErrorKind::BadInput, ErrorKind::Numerical, ErrorKind::Output, ErrorKind::Interrupted]
        .into_iter()
        .find(|kind| 1.0 + kind_code(*kind) == all[rank][0])
        .unwrap_or(ErrorKind::Numerical);
    Err(HjbError::OnAnotherRank { rank, kind })
}

fn kind_code(kind: ErrorKind) -> f64 {
    match kind {
        ErrorKind::BadInput => 0.0,
        ErrorKind::Numerical => 1.0,
        ErrorKind::Output => 2.0,
        ErrorKind::Interrupted => 3.0,
    }
}
