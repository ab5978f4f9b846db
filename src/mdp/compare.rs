//! The scheme's MDP next to the PDE solver: the PDE settings whose chain it is, the MDP built
//! and solved with the same grid and time step, and (unless skipped) the largest difference of
//! the two values.

use super::{build, solve, Chain, Mdp, MdpSolution, Method, SolveOptions};
use crate::error::Result;
use crate::grid::row_major;
use crate::norms::{error_norms, ErrorNorms};
use crate::problem::Problem;
use crate::settings::{Characteristic, Settings, Stepping, DEFAULT_CFL};
use crate::solver::{prepare, Silent, Solution};
use std::time::Instant;

/// An MDP, its solution and the PDE solution of the matching scheme.
#[derive(Debug)]
pub struct MdpComparison {
    /// The scheme's Markov decision process.
    pub mdp: Mdp,
    /// Its solution by the chosen method.
    pub solution: MdpSolution,
    /// The PDE solution on the same grid and time step (`None` when skipped).
    pub pde: Option<Solution>,
    /// The settings of that PDE solve (the scheme whose chain the MDP is).
    pub pde_settings: Settings,
    /// Seconds spent building the MDP.
    pub build_seconds: f64,
    /// `max |V_mdp − V_pde|` over all nodes (`None` when the PDE solve was skipped).
    pub max_difference_from_pde: Option<f64>,
    /// Errors of the MDP value against the problem's exact reference, when it has one.
    pub reference_error: Option<ErrorNorms>,
}

/// The PDE settings whose transition probabilities are `chain`'s rows: the semi-Lagrangian
/// scheme on the same control samples (no refinement), or explicit upwind at the run's CFL
/// number (the default when the run is not explicit).
pub fn matching_pde_settings(settings: &Settings, chain: Chain) -> (Settings, Characteristic) {
    let characteristic = match settings.stepping {
        Stepping::SemiLagrangian { characteristic, .. } => characteristic,
        _ => Characteristic::Euler,
    };
    let mut pde_settings = *settings;
    if chain == Chain::SemiLagrangian {
        // The MDP's actions are the samples: compare with the scheme on the same set.
        let courant = settings.stepping.courant();
        pde_settings.stepping = Stepping::SemiLagrangian { courant, characteristic, refine: false };
    } else {
        let cfl = match settings.stepping {
            Stepping::Explicit { cfl, .. } => cfl,
            _ => DEFAULT_CFL,
        };
        pde_settings.stepping = Stepping::Explicit { cfl, integrator: crate::settings::Integrator::Euler };
        pde_settings.differencing = crate::Differencing::Upwind;
        // The chain is the monotone first-order scheme: compare with exactly that.
        pde_settings.derivatives = crate::settings::Derivatives::FirstOrder;
        pde_settings.dissipation = crate::settings::Dissipation::Local;
    }
    (pde_settings, characteristic)
}

/// Build `problem`'s MDP for `chain` with the time step of the matching PDE scheme, solve it
/// with `method`, and (when `with_pde`) solve the PDE with that scheme and compare the two values
/// (and the MDP's value with the exact reference, when there is one).
pub fn compare_with_pde(
    problem: &Problem,
    settings: &Settings,
    chain: Chain,
    method: Method,
    options: &SolveOptions,
    with_pde: bool,
) -> Result<MdpComparison> {
    let (pde_settings, characteristic) = matching_pde_settings(settings, chain);
    // The plan's step only (its tables are dropped before the MDP is built).
    let time_step = prepare(problem, &pde_settings)?.plan.time_step;
    let built = Instant::now();
    let mdp = build(problem, chain, time_step, characteristic)?;
    let build_seconds = built.elapsed().as_secs_f64();
    let solution = solve(&mdp, method, options)?;
    let pde = if with_pde { Some(crate::solver::solve(problem, &pde_settings, &mut Silent)?) } else { None };
    let max_difference_from_pde = pde
        .as_ref()
        .map(|pde| solution.value.iter().zip(&pde.values).fold(0.0f64, |a, (p, q)| a.max((p - q).abs())));
    let reference_error = match (pde.as_ref().and_then(|pde| pde.reference.as_ref()), &problem.reference) {
        (Some(exact), Some(spec)) => {
            Some(error_norms(&problem.grid, &solution.value, &row_major(exact), &spec.region))
        }
        _ => None,
    };
    Ok(MdpComparison {
        mdp,
        solution,
        pde,
        pde_settings,
        build_seconds,
        max_difference_from_pde,
        reference_error,
    })
}
