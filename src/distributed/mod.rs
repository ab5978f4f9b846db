//! MPI domain decomposition (the `mpi` cargo feature): `mpirun -np P hjb solve FILE`.
//!
//! The grid is split into `P` balanced blocks over a Cartesian communicator
//! ([`decomposition`]); each process marches the problem restricted to its block extended by a
//! halo ([`Grid::window`](crate::Grid::window): the block's nodes keep the coordinates and
//! spacings of the whole grid, bit for bit) with the ordinary steppers and rayon inside, and
//! after every step the halo is overwritten with the owners' values ([`domain`]). The halo is
//! as wide as one whole step reads: 1 node for the first-order explicit step, `r·s` for a
//! high-order step whose derivatives read `r` nodes per side in each of its `s` Runge–Kutta
//! stages (one exchange per step, the halo's stages computed redundantly). Every owned node
//! then does exactly the arithmetic of the single-process run, so the gathered field is the
//! same bits (`docs/numerics.md`, "Domain decomposition").
//!
//! Supported: finite-horizon problems with explicit stepping (upwind, Lax–Friedrichs, the
//! high-order steps, games), and stationary problems (discounted or exit time) by explicit value
//! iteration, whose stopping rule is reduced over the blocks ([`crate::solver::settle_block`]).
//! Finite-horizon semi-Lagrangian stepping takes a halo as wide as its feet reach
//! ([`semi_lagrangian`]). Stationary policy iteration runs as block-Jacobi sweeps (each block
//! solved with its halo lagged; agrees with one process to the stopping tolerance, not bit for
//! bit). Refused with the reason: finite-horizon implicit stepping, fast sweeping and
//! semi-Lagrangian value iteration (also when `scheme = "auto"` chooses fast sweeping for an
//! exit-time problem).

pub mod blocks;
pub mod decomposition;
pub mod domain;
pub mod semi_lagrangian;

use crate::error::{HjbError, Result};
use crate::problem::{Boundary, Problem};
use crate::settings::{Choice, Differencing, Dissipation, Settings, Stepping};
use crate::solver::Domain;
use crate::solver::{finish_whole, march_block, settle_block, DistributedReport, Observer, Solution};
use decomposition::Block;
pub use domain::MpiDomain;
use mpi::topology::Communicator;
use mpi::traits::*;
use std::time::Instant;

/// The MPI environment of the process (finalised when dropped).
pub struct World {
    universe: mpi::environment::Universe,
}

impl World {
    /// Initialise MPI (a process started without `mpirun` is a world of one).
    pub fn join() -> Option<World> {
        mpi::initialize().map(|universe| World { universe })
    }

    /// Number of processes.
    pub fn size(&self) -> usize {
        self.universe.world().size() as usize
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.universe.world().rank() as usize
    }
}

/// The halo a step of `settings` reads across a block edge, and the fewest owned nodes a
/// split axis may keep.
pub fn halo_width(problem: &Problem, settings: &Settings) -> Result<(usize, usize)> {
    let refuse = |what: &str| HjbError::InvalidOption {
        option: "scheme".to_string(),
        message: format!(
            "{what} is not decomposed under MPI in this build (its step couples every node of the grid); \
             use scheme = \"upwind\", \"lax_friedrichs\" or a high-order preset, or run on one process"
        ),
    };
    if problem.is_stationary() {
        let method = match settings.stepping {
            Stepping::Sweeping => "fast sweeping",
            Stepping::SemiLagrangian { .. } => "semi-Lagrangian value iteration",
            Stepping::Explicit { .. } | Stepping::Implicit { .. } => "",
        };
        if !method.is_empty() {
            let chosen = match settings.choice {
                Choice::Auto(_) => {
                    format!("scheme = \"auto\" chooses {method} for this stationary problem, which")
                }
                Choice::Named => format!("{method} (a stationary problem)"),
            };
            return Err(HjbError::InvalidOption {
                option: "scheme".to_string(),
                message: format!(
                    "{chosen} is not decomposed under MPI in this build; name scheme = \"upwind\" or \
                     \"lax_friedrichs\" (--scheme upwind) for explicit value iteration (the single-process \
                     result bit for bit) or scheme = \"implicit\" for block-Jacobi policy iteration \
                     (discounted problems), or run on one process"
                ),
            });
        }
    }
    match settings.stepping {
        Stepping::Explicit { integrator, .. } if settings.is_high_order() || problem.game.is_some() => {
            if integrator.stages() > 1
                && problem.is_time_dependent()
                && settings.differencing == Differencing::LaxFriedrichs
                && settings.dissipation == Dissipation::Global
            {
                // The stages re-tabulate inside the stepper, where a block sees only its own α.
                return Err(HjbError::InvalidOption {
                    option: "dissipation".to_string(),
                    message: "global Lax–Friedrichs dissipation with time-dependent coefficients and a multi-stage \
                              step is not decomposed under MPI in this build (each stage takes the grid-wide α of \
                              its own time); use dissipation = \"local\", or run on one process"
                        .to_string(),
                });
            }
            let reach = settings.derivatives.half_width();
            Ok((reach * integrator.stages(), settings.derivatives.minimum_points()))
        }
        Stepping::Explicit { .. } => Ok((1, 2)),
        // Stationary policy iteration runs as block-Jacobi sweeps with the halo lagged.
        Stepping::Implicit { .. } if problem.is_stationary() => Ok((1, 2)),
        Stepping::Implicit { .. } => Err(refuse("implicit stepping (policy iteration with a sparse LU)")),
        // The halo follows the feet: sized by `semi_lagrangian::halo` once the step is planned.
        Stepping::SemiLagrangian { .. } => Ok((1, 2)),
        Stepping::Sweeping => Err(refuse("fast sweeping (Gauss–Seidel sweeps across the grid)")),
    }
}

/// What a decomposed run of `problem` does, for the report: `explicit march`, `value iteration`.
pub fn method_name(problem: &Problem, settings: &Settings) -> String {
    let method = match settings.stepping {
        Stepping::Implicit { .. } => "block-Jacobi policy iteration",
        _ if problem.is_stationary() => "value iteration",
        _ => "march",
    };
    format!("{method} ({})", settings.scheme_name())
}

/// This process's block of `problem` and the problem on it (the block extended by its halo).
pub fn restrict(problem: &Problem, block: &Block) -> Result<Problem> {
    let mut local = problem.clone();
    local.grid = problem.grid.window(&block.start(), &block.points())?;
    for (k, boundary) in local.boundaries.iter_mut().enumerate() {
        // A split periodic axis becomes a segment whose ends are both halo (overwritten after
        // every step): any closure will do there.
        if block.dims[k] > 1 && matches!(boundary, Boundary::Periodic) {
            *boundary = Boundary::Extrapolate;
        }
    }
    Ok(local)
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").field("size", &self.size()).field("rank", &self.rank()).finish()
    }
}

/// Solve `problem` decomposed over every process of `world`: the whole solution on rank 0,
/// `None` elsewhere. Every process returns the same kind of error. `observer` sees each
/// process's block and must decide alike on every process (a step cap in `admit`, not a clock
/// or a signal).
pub fn solve(
    world: &World,
    problem: &Problem,
    settings: &Settings,
    observer: &mut dyn Observer,
) -> Result<Option<Solution>> {
    let marched = march_decomposed(world, problem, settings, observer)?;
    let blocks::Marched { domain, block, halo, minimum, solution, report } = marched;
    gather(&domain, problem, &block, world.size(), halo, minimum, solution, report)
}

/// The block of `rank` among `size` processes for `problem` solved with `settings`, with its
/// halo width and the fewest owned nodes a split axis may keep (the same on every process). The
/// owned nodes do not depend on the halo; a semi-Lagrangian march widens its halo to the feet
/// once the step is planned ([`march_decomposed`]), so for it the halo here is the narrowest.
pub fn plan_block(
    problem: &Problem,
    settings: &Settings,
    size: usize,
    rank: usize,
) -> Result<(Block, usize, usize)> {
    let (halo, minimum) = halo_width(problem, settings)?;
    let (shape, periodic, splittable) = layout(problem);
    let block = decomposition::block(&shape, &periodic, &splittable, size, rank, halo, minimum)?;
    Ok((block, halo, minimum))
}

/// The grid's shape, which axes wrap, and which may be split (every axis but the regimes').
fn layout(problem: &Problem) -> (Vec<usize>, Vec<bool>, Vec<bool>) {
    let n = problem.grid.dimension();
    let periodic: Vec<bool> = problem.grid.axes().iter().map(|a| a.periodic).collect();
    let regime = problem.switching.as_ref().map(|s| s.axis);
    let splittable: Vec<bool> = (0..n).map(|k| Some(k) != regime).collect();
    (problem.grid.shape(), periodic, splittable)
}

/// March (or settle) this process's block of `problem` (every process together) without
/// gathering.
fn march_decomposed(
    world: &World,
    problem: &Problem,
    settings: &Settings,
    observer: &mut dyn Observer,
) -> Result<blocks::Marched> {
    let started = Instant::now();
    let (size, rank) = (world.size(), world.rank());
    let (mut halo, minimum) = halo_width(problem, settings)?;
    let n = problem.grid.dimension();
    let (shape, periodic, splittable) = layout(problem);
    let feet = match settings.stepping {
        Stepping::SemiLagrangian { .. } => {
            Some(semi_lagrangian::halo(world, problem, settings, &periodic, &splittable)?)
        }
        _ => None,
    };
    if let Some(feet) = feet {
        halo = feet.halo;
    }
    let block =
        decomposition::block(&shape, &periodic, &splittable, size, rank, halo, minimum).map_err(|error| {
            let Some(feet) = feet else { return error };
            let dims = decomposition::dims(&shape, &splittable, size);
            let thinnest = (0..n).filter(|k| dims[*k] > 1).map(|k| shape[k] / dims[k]).min().unwrap_or(0);
            semi_lagrangian::too_thin(error, feet, thinnest)
        })?;
    let local = restrict(problem, &block)?;
    let dims: Vec<i32> = block.dims.iter().map(|d| *d as i32).collect();
    let comm =
        world.universe.world().create_cartesian_communicator(&dims, &periodic, false).ok_or_else(|| {
            HjbError::Numerical("MPI could not build the Cartesian communicator".to_string())
        })?;
    let mut domain = MpiDomain::new(comm, block.clone(), problem.grid.clone());
    let outcome = if problem.is_stationary() {
        settle_block(&local, &problem.grid, settings, observer, &mut domain)
    } else {
        march_block(&local, settings, observer, &mut domain)
    };
    if let Some(feet) = feet {
        let measured = outcome
            .as_ref()
            .ok()
            .and_then(|solution| solution.diagnostics.semi_lagrangian.as_ref())
            .map_or(0.0, |report| report.displacement_cells);
        semi_lagrangian::check_displacement(&mut domain, measured, feet.halo)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut numbers =
        vec![domain.communication_seconds(), seconds, domain.halo_bytes as f64, block.node_count() as f64];
    let all = domain.gather_all(&numbers);
    numbers = vec![
        all.iter().map(|a| a[0]).fold(0.0, f64::max),
        all.iter().map(|a| a[1]).fold(0.0, f64::max),
        all.iter().map(|a| a[2]).sum(),
        all.iter().map(|a| a[3]).fold(0.0, f64::max),
    ];
    let solution = outcome?;
    let report = DistributedReport {
        method: method_name(problem, settings),
        outer_sweeps: match settings.stepping {
            Stepping::Implicit { .. } => Some(solution.diagnostics.steps),
            _ => None,
        },
        ranks: size,
        threads: rayon::current_num_threads(),
        dims: block.dims.clone(),
        halo,
        largest_block_nodes: numbers[3] as usize,
        halo_bytes_per_step: numbers[2] as usize,
        communication_seconds: numbers[0],
        total_seconds: numbers[1],
    };
    Ok(blocks::Marched { domain, block, halo, minimum, solution, report })
}

/// The owned nodes of `field` (one value per extended-block node), in block row-major order.
pub(crate) fn owned(block: &Block, field: &[f64]) -> Vec<f64> {
    let points = block.points();
    let mut out = Vec::with_capacity(block.owned_count());
    let mut index = vec![0usize; points.len()];
    for value in field {
        if index
            .iter()
            .enumerate()
            .all(|(k, i)| *i >= block.halo_below[k] && *i < block.halo_below[k] + block.own_points[k])
        {
            out.push(*value);
        }
        for k in (0..points.len()).rev() {
            index[k] += 1;
            if index[k] < points[k] {
                break;
            }
            index[k] = 0;
        }
    }
    out
}

/// Write the owned values of `block` (block row-major order) into the whole field.
fn place(block: &Block, strides: &[usize], data: &[f64], whole: &mut [f64]) {
    let points = &block.own_points;
    let mut index = vec![0usize; points.len()];
    for value in data {
        let flat: usize = (0..points.len()).map(|k| (block.own_start[k] + index[k]) * strides[k]).sum();
        whole[flat] = *value;
        for k in (0..points.len()).rev() {
            index[k] += 1;
            if index[k] < points[k] {
                break;
            }
            index[k] = 0;
        }
    }
}

/// Gather every block's owned values, policies and snapshots to rank 0 and finish the whole
/// solution there.
#[allow(clippy::too_many_arguments)]
fn gather(
    domain: &MpiDomain,
    problem: &Problem,
    block: &Block,
    size: usize,
    halo: usize,
    minimum: usize,
    solution: Solution,
    report: DistributedReport,
) -> Result<Option<Solution>> {
    let comm = domain.communicator();
    // The fields in one message per process: V, each policy, then each snapshot's V and policies.
    let mut fields: Vec<&[f64]> = vec![solution.values.as_slice().unwrap_or_default()];
    fields.extend(solution.policy.iter().map(|p| p.as_slice().unwrap_or_default()));
    if let Some(snapshots) = &solution.snapshots {
        for (values, policies) in snapshots.values.iter().zip(&snapshots.policies) {
            fields.push(values.as_slice().unwrap_or_default());
            fields.extend(policies.iter().map(|p| p.as_slice().unwrap_or_default()));
        }
    }
    let mine: Vec<f64> = fields.iter().flat_map(|field| owned(block, field)).collect();
    if comm.rank() != 0 {
        comm.process_at_rank(0).send(&mine[..]);
        return Ok(None);
    }
    let nodes = problem.grid.node_count();
    let strides = problem.grid.strides().to_vec();
    let mut whole = vec![vec![0.0; nodes]; fields.len()];
    let shape = problem.grid.shape();
    let periodic: Vec<bool> = problem.grid.axes().iter().map(|a| a.periodic).collect();
    let splittable: Vec<bool> =
        (0..shape.len()).map(|k| Some(k) != problem.switching.as_ref().map(|s| s.axis)).collect();
    for other in 0..size {
        let theirs = decomposition::block(&shape, &periodic, &splittable, size, other, halo, minimum)?;
        let data =
            if other == 0 { mine.clone() } else { comm.process_at_rank(other as i32).receive_vec::<f64>().0 };
        for (field, piece) in whole.iter_mut().zip(data.chunks(theirs.owned_count())) {
            place(&theirs, &strides, piece, field);
        }
    }
    let mut whole = whole.into_iter();
    let values = whole.next().unwrap_or_default();
    let m = solution.policy.len();
    let policy: Vec<Vec<f64>> = whole.by_ref().take(m).collect();
    let mut next = || problem.grid.field(whole.next().unwrap_or_else(|| vec![0.0; nodes]));
    let snapshots = solution.snapshots.as_ref().map(|stored| {
        let controls = stored.policies.first().map_or(0, Vec::len);
        let mut values = Vec::with_capacity(stored.times.len());
        let mut policies = Vec::with_capacity(stored.times.len());
        for _ in 0..stored.times.len() {
            values.push(next());
            policies.push((0..controls).map(|_| next()).collect());
        }
        crate::solver::Snapshots { times: stored.times.clone(), values, policies }
    });
    let mut diagnostics = solution.diagnostics.clone();
    diagnostics.seconds = report.total_seconds;
    diagnostics.distributed = Some(report);
    Ok(Some(finish_whole(problem, values, policy, diagnostics, snapshots)))
}
