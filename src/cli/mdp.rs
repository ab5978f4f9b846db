//! `hjb mdp FILE --method vi|gs|pi|mpi`: the scheme's Markov decision process, solved, compared
//! with the PDE solution and optionally exported.

use super::overrides::Overrides;
use super::{invalid, print_json};
use hjb::io::{hdf5, report, summary};
use hjb::mdp::{compare_with_pde, Chain, Method, SolveOptions};
use hjb::problem::load_problem;
use hjb::solver::with_threads;
use std::path::{Path, PathBuf};

pub fn run(
    file: &Path,
    method: &str,
    sweeps: usize,
    chain: Option<&str>,
    export: Option<PathBuf>,
    json: bool,
    overrides: &Overrides,
) -> anyhow::Result<()> {
    let (problem, settings, _) = overrides.apply(load_problem(file)?)?;
    let method = match method {
        "vi" => Method::ValueIteration,
        "gs" => Method::GaussSeidel,
        "pi" => Method::PolicyIteration,
        "mpi" => Method::ModifiedPolicyIteration(sweeps),
        other => {
            return Err(invalid("--method", format!("unknown method `{other}`; use vi, gs, pi or mpi")).into())
        }
    };
    let chain = match chain {
        None => Chain::of_settings(&settings),
        Some("upwind") => Chain::Upwind,
        Some("semi_lagrangian") => Chain::SemiLagrangian,
        Some(other) => {
            let message = format!("unknown chain `{other}`; use upwind or semi_lagrangian");
            return Err(invalid("--chain", message).into());
        }
    };
    if !problem.is_stationary() {
        return Err(invalid(
            "file",
            "hjb mdp solves stationary problems (discounted or exit time: [horizon] stationary = true); \
             a finite horizon is the PDE solver's own time marching (`hjb solve`)",
        )
        .into());
    }
    if let Some(path) = &export {
        super::check_targets(&[path])?;
    }
    // The chain: per node and action, 2n + 2 (target, probability) pairs.
    let actions: f64 = problem.controls.iter().map(|control| control.samples as f64).product();
    let nodes: f64 = problem.grid.axes().iter().map(|axis| axis.points as f64).product();
    let pairs = 2.0 * problem.grid.dimension() as f64 + 2.0;
    overrides.check_memory(&problem, &settings, nodes * actions * pairs * 16.0)?;
    let comparison = with_threads(overrides.threads(), || {
        compare_with_pde(&problem, &settings, chain, method, &SolveOptions::default())
    })??;
    if let Some(path) = &export {
        hdf5::write_mdp(path, &problem, &comparison.mdp, &comparison.solution)?;
    }
    if json {
        return print_json(&summary::mdp_summary(&problem, &comparison, export.as_deref()));
    }
    print!("{}", report::mdp_report(&problem, &comparison, export.as_deref()));
    Ok(())
}
