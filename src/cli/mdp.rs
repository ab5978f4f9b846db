//! `hjb mdp FILE --method vi|gs|pi|mpi`: the scheme's Markov decision process, solved, compared
//! with the PDE solution and optionally exported; `--method linear`: the linearly solvable
//! (KL-control) MDP on the passive chain ([`hjb::mdp::linear`]).

use super::overrides::Overrides;
use super::{invalid, print_json};
use hjb::io::{hdf5, report, summary};
use hjb::mdp::{compare_with_pde, rows, Chain, Method, SolveOptions};
use hjb::problem::load_problem;
use hjb::solver::with_threads;
use std::path::{Path, PathBuf};

#[allow(clippy::too_many_arguments)] // one per flag of the verb
pub fn run(
    file: &Path,
    method: &str,
    sweeps: usize,
    chain: Option<&str>,
    export: Option<PathBuf>,
    skip_pde: bool,
    json: bool,
    overrides: &Overrides,
) -> anyhow::Result<()> {
    let (problem, settings, _) = overrides.apply(load_problem(file)?)?;
    let method = match method {
        "vi" => Method::ValueIteration,
        "gs" => Method::GaussSeidel,
        "pi" => Method::PolicyIteration,
        "mpi" => Method::ModifiedPolicyIteration(sweeps),
        "linear" => return run_linear(&problem, &settings, chain, export, json, overrides),
        other => {
            let message = format!("unknown method `{other}`; use vi, gs, pi, mpi or linear");
            return Err(invalid("--method", message).into());
        }
    };
    let chain = parse_chain(chain, &settings)?;
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
    // Refused (exit 2) before anything is allocated when the estimate is above the limit: the
    // PDE run's own estimate (coordinates, fields, tables) plus the chain's rows, costs and the
    // build's tabulated samples.
    let actions: f64 = problem.controls.iter().map(|control| control.samples as f64).product();
    let nodes: f64 = problem.grid.axes().iter().map(|axis| axis.points as f64).product();
    let n = problem.grid.dimension();
    let noisy = problem.diffusion.is_some() || problem.diffusion_matrix.is_some();
    let regimes = problem.switching.as_ref().map_or(1, |s| s.rates.len());
    let entries = rows::entries_per_row(chain == Chain::SemiLagrangian, n, noisy, regimes);
    let table = (n + 1 + if noisy { n } else { 0 }) as f64;
    overrides.check_memory(&problem, &settings, rows::estimate_bytes(nodes, actions, entries, table))?;
    let comparison = with_threads(overrides.threads(), || {
        compare_with_pde(&problem, &settings, chain, method, &SolveOptions::default(), !skip_pde)
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

fn parse_chain(chain: Option<&str>, settings: &hjb::Settings) -> Result<Chain, hjb::HjbError> {
    match chain {
        None => Ok(Chain::of_settings(settings)),
        Some("upwind") => Ok(Chain::Upwind),
        Some("semi_lagrangian") => Ok(Chain::SemiLagrangian),
        Some(other) => {
            Err(invalid("--chain", format!("unknown chain `{other}`; use upwind or semi_lagrangian")))
        }
    }
}

/// `--method linear`: Todorov's linearly solvable MDP on the passive chain (finite horizon or
/// first exit), refused with the failed condition on problems outside that class.
fn run_linear(
    problem: &hjb::Problem,
    settings: &hjb::Settings,
    chain: Option<&str>,
    export: Option<PathBuf>,
    json: bool,
    overrides: &Overrides,
) -> anyhow::Result<()> {
    let chain = parse_chain(chain, settings)?;
    if export.is_some() {
        return Err(invalid(
            "--export",
            "--method linear has no export in this build (the passive chain is one matrix; use \
             --method pi --export for the controlled MDP)",
        )
        .into());
    }
    // Refuse before any work, with the condition that failed.
    hjb::problem::linearly_solvable::linearly_solvable(problem)
        .map_err(hjb::mdp::linear::not_linearly_solvable)?;
    let nodes: f64 = problem.grid.axes().iter().map(|axis| axis.points as f64).product();
    let pairs = 2.0 * problem.grid.dimension() as f64 + 2.0;
    overrides.check_memory(problem, settings, nodes * pairs * 16.0)?;
    let comparison =
        with_threads(overrides.threads(), || hjb::mdp::linear::solve_linear(problem, settings, chain))??;
    if json {
        return print_json(&summary::linear_mdp_summary(problem, &comparison));
    }
    print!("{}", report::linear_mdp_report(problem, &comparison));
    Ok(())
}
