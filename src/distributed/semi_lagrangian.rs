//! The halo of semi-Lagrangian stepping on blocks (`docs/numerics.md` §12).
//!
//! A semi-Lagrangian step reads the old values at the feet of the characteristics,
//! `y = x + Δt f(x, u)` and, with noise on `q` axes, the Camilli–Falcone feet `y ± √(qΔt) σ_k`,
//! through the multilinear interpolation cell around each foot. The stepper locates every foot
//! on the whole grid ([`crate::Grid::window_origin`]), so an owned node computes exactly what
//! one process computes as long as every cell it reads lies in its block: the halo must cover
//! the largest displacement in cells on any axis,
//!
//! ```text
//! d_k = ( max |f_k| Δt + √(qΔt) max σ_k ) / h_k,        halo = ⌊max_k d_k⌋ + 1,
//! ```
//!
//! the `+ 1` being the upper node of the cell. `max |f_k|` is the drift bound the time step is
//! planned from (over every node and control sample of every block, the worst of 17 times for
//! time-dependent coefficients), and `max σ_k` is taken over the tabulated noise of every block
//! (an exact maximum: every process finds the same halo). Where the step reads the drift away
//! from the nodes or samples — Heun feet (the drift at the predicted foot) and the
//! golden-section refinement of a sampled model — one more node of margin is added. After the
//! run, the largest displacement the stepper measured (over all blocks) is checked against the
//! halo, and the result is refused if a foot went further.

use super::decomposition;
use super::{restrict, MpiDomain, World};
use crate::error::{HjbError, Result};
use crate::problem::Problem;
use crate::scheme::ControlModel;
use crate::settings::{Characteristic, Settings, Stepping};
use crate::solver::{prepare_in, Domain};
use mpi::traits::*;

/// The halo of a semi-Lagrangian run and what it was sized from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feet {
    /// Halo width in nodes.
    pub halo: usize,
    /// The largest displacement of a foot in cells, `max_k d_k` (the Courant number).
    pub cells: f64,
    /// The planned time step.
    pub time_step: f64,
}

/// The semi-Lagrangian halo of `problem`. Plans the step once on blocks with a halo of 1
/// (every process the same time step and drift bounds), then sizes the halo from them.
pub fn halo(
    world: &World,
    problem: &Problem,
    settings: &Settings,
    periodic: &[bool],
    splittable: &[bool],
) -> Result<Feet> {
    let shape = problem.grid.shape();
    let (size, rank) = (world.size(), world.rank());
    let block = decomposition::block(&shape, periodic, splittable, size, rank, 1, 2)?;
    let local = restrict(problem, &block)?;
    let dims: Vec<i32> = block.dims.iter().map(|d| *d as i32).collect();
    let comm =
        world.universe.world().create_cartesian_communicator(&dims, periodic, false).ok_or_else(|| {
            HjbError::Numerical("MPI could not build the Cartesian communicator".to_string())
        })?;
    let mut domain = MpiDomain::new(comm, block.clone(), problem.grid.clone());
    let preparation = prepare_in(&local, settings, &mut domain)?;
    let n = shape.len();
    let table = &preparation.table;
    // The largest σ per axis (per row of a noise matrix: its largest entry), and the noisy axes
    // or columns `q`.
    let mut sigma = vec![0.0f64; n];
    let mut columns = vec![0.0f64; table.noise_columns.max(1)];
    if table.noise_columns > 0 {
        let k = table.noise_columns;
        for row in table.diffusion_matrix.chunks_exact(n * k) {
            for i in 0..n {
                for c in 0..k {
                    let entry = row[i * k + c].abs();
                    sigma[i] = sigma[i].max(entry);
                    columns[c] = columns[c].max(entry);
                }
            }
        }
    } else {
        let diffusion = if table.diffusion.is_empty() { &table.sample_diffusion } else { &table.diffusion };
        for row in diffusion.chunks_exact(n) {
            for (s, a) in sigma.iter_mut().zip(row) {
                *s = s.max((2.0 * a.max(0.0)).sqrt());
            }
        }
    }
    let mut maxima: Vec<f64> = sigma.iter().chain(&columns).copied().collect();
    domain.maximum(&mut maxima);
    let (sigma, columns) = maxima.split_at(n);
    let noisy = if table.noise_columns > 0 {
        columns.iter().filter(|s| **s > 0.0).count()
    } else {
        sigma.iter().filter(|s| **s > 0.0).count()
    };
    let time_step = preparation.plan.time_step;
    let spacing = problem.grid.spacings();
    let spread = (noisy as f64 * time_step).sqrt();
    let cells = (0..n)
        .map(|k| (preparation.plan.largest_drift[k] * time_step + spread * sigma[k]) / spacing[k])
        .fold(0.0f64, f64::max);
    let off_nodes = match settings.stepping {
        Stepping::SemiLagrangian { characteristic, refine, .. } => {
            characteristic == Characteristic::Heun
                || (refine && matches!(preparation.model, ControlModel::Sampled { .. }))
        }
        _ => false,
    };
    if !cells.is_finite() {
        return Err(HjbError::Numerical(format!(
            "the semi-Lagrangian feet move {cells} cells per step; no halo covers them"
        )));
    }
    Ok(Feet { halo: cells.floor() as usize + 1 + usize::from(off_nodes), cells, time_step })
}

/// The refusal of blocks thinner than the semi-Lagrangian halo, with the step that would fit:
/// `thinnest` is the fewest owned nodes of a split axis, `extra` the halo beyond `⌊cells⌋`.
pub fn too_thin(error: HjbError, feet: Feet, thinnest: usize) -> HjbError {
    let Feet { halo, cells, time_step } = feet;
    match error {
        HjbError::InvalidOption { option, message } => {
            let extra = halo - cells.floor() as usize;
            let fits = thinnest.saturating_sub(extra);
            let hint = if fits == 0 {
                "use fewer processes or more points".to_string()
            } else {
                format!(
                    "blocks of {thinnest} nodes take feet of under {fits} cells, a Courant number below {fits} \
                     (with drift alone a time step below {:.4e}), or fewer processes",
                    time_step * fits as f64 / cells
                )
            };
            HjbError::InvalidOption {
                option,
                message: format!(
                    "{message}. The semi-Lagrangian feet move up to {cells:.3} cells per step (Courant number \
                     max_k (|f_k|Δt + √(qΔt) σ_k)/h_k with Δt = {time_step:.4e}), so the halo is {halo} nodes; \
                     {hint}"
                ),
            }
        }
        other => other,
    }
}

/// Whether every process's feet stayed inside the halo: `displacement` is this process's
/// largest measured displacement in cells (the same decision on every process).
pub fn check_displacement(domain: &mut MpiDomain, displacement: f64, halo: usize) -> Result<()> {
    let mut largest = [displacement];
    domain.maximum(&mut largest);
    if largest[0].floor() as usize + 1 > halo {
        return Err(HjbError::Numerical(format!(
            "a semi-Lagrangian foot moved {:.3} cells, past the halo of {halo} nodes sized from the drift \
             bounds; the decomposed result could differ from one process's — run on one process or with a \
             smaller --time-step",
            largest[0]
        )));
    }
    Ok(())
}
