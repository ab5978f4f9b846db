//! The JSON summaries (README, "Results you can use outside hjb") (one object on stdout with `--json`).

use crate::problem::Problem;
use crate::settings::Settings;
use crate::solver::{Preparation, Solution};
use crate::validate::Level;
use serde_json::{json, Value};
use std::path::Path;

fn grid_points(problem: &Problem) -> Value {
    json!(problem.grid.shape())
}

fn finite_or_null(value: f64) -> Value {
    if value.is_finite() {
        json!(value)
    } else {
        Value::Null
    }
}

/// Summary of `hjb solve`.
pub fn solve_summary(
    problem: &Problem,
    solution: &Solution,
    output: Option<&Path>,
    plots: &[String],
) -> Value {
    let diagnostics = &solution.diagnostics;
    let mut summary = json!({
        "problem": problem.name,
        "scheme": diagnostics.settings.scheme_name(),
        "differencing": diagnostics.settings.differencing.name(),
        "stepping": diagnostics.settings.stepping.name(),
        "choice": diagnostics.settings.choice.name(),
        "choice_reason": diagnostics.settings.choice.reason(),
        "hamiltonian": diagnostics.hamiltonian,
        "grid": grid_points(problem),
        "state_names": problem.state_names(),
        "control_names": problem.control_names(),
        "final_time": finite_or_null(problem.final_time),
        "stationary": problem.is_stationary(),
        "time_step": finite_or_null(diagnostics.time_step),
        "time_step_max": finite_or_null(diagnostics.time_step_max),
        "steps": diagnostics.steps,
        "cfl": finite_or_null(diagnostics.cfl_number),
        "monotone": diagnostics.monotone,
        "cfl_peak": diagnostics.cfl_peak,
        "boundaries": diagnostics.boundaries,
        "outflow_nodes": diagnostics.outflow_nodes,
        "memory_bytes": diagnostics.memory_bytes,
        "seconds": diagnostics.seconds,
        "threads": diagnostics.threads,
        "output": output.map(|p| p.display().to_string()),
        "plots": plots,
    });
    if let Some(report) = &diagnostics.implicit {
        summary["policy_iteration"] = json!({
            "most_iterations": report.most_iterations,
            "mean_iterations": report.mean_iterations,
            "last_relative_change": report.last_change,
        });
        summary["linear_solver"] = json!({
            "name": report.linear_solver.name(),
            "solves": report.linear_solves,
            "iterations": report.linear_iterations,
            "most_iterations": report.linear_iterations_most,
            "residual": report.linear_residual,
            "tolerance": report.linear_tolerance,
        });
        summary["m_matrix"] = json!({
            "margin": report.margin,
            "positive_off_diagonal_rows": report.positive_off_diagonal_rows,
        });
    }
    if let Some(game) = &diagnostics.game {
        summary["game"] = json!(game);
    }
    if let Some(reach) = &diagnostics.reachable {
        summary["reachable"] = json!({
            "mode": reach.mode,
            "inside_nodes": reach.inside_nodes,
            "inside_fraction": reach.inside_fraction,
        });
    }
    if let Some(mpi) = &diagnostics.distributed {
        summary["mpi"] = json!({
            "method": mpi.method,
            "outer_sweeps": mpi.outer_sweeps,
            "ranks": mpi.ranks,
            "threads_per_rank": mpi.threads,
            "blocks": mpi.dims,
            "halo": mpi.halo,
            "halo_bytes_per_step": mpi.halo_bytes_per_step,
            "largest_block_nodes": mpi.largest_block_nodes,
            "communication_seconds": mpi.communication_seconds,
            "seconds": mpi.total_seconds,
        });
    }
    if let Some(report) = &diagnostics.sweeping {
        summary["fast_sweeping"] = json!({
            "sweeps": report.sweeps,
            "orderings": report.orderings,
            "node_updates": report.updates,
            "last_change": report.last_change,
        });
    }
    if let Some(report) = &diagnostics.high_order {
        summary["high_order"] = json!({
            "derivatives": report.derivatives.name(),
            "time_integrator": report.integrator.name(),
            "stages": report.stages,
            "hamiltonian": report.differencing.name(),
            "dissipation": report.dissipation.map(|d| d.name()),
        });
    }
    if let Some(report) = &diagnostics.semi_lagrangian {
        summary["semi_lagrangian"] = json!({
            "displacement_cells": report.displacement_cells,
            "consistency_term": report.consistency_term,
            "explicit_step_ratio": report.explicit_step_ratio,
            "feet_outside": report.feet_outside,
            "extrapolated_nodes": report.extrapolated_nodes,
            "noisy_axes": report.noisy_axes,
            "refine": report.refine,
            "characteristic": report.characteristic,
            "evaluations_per_step": report.evaluations_per_step,
            "noise_spread_cells": finite_or_null(report.noise_spread_cells),
            "warning": report.warning,
        });
    }
    if let Some(error) = &solution.error {
        summary["error"] = json!({
            "linf": error.linf,
            "l1": error.l1,
            "l2": error.l2,
            "nodes": error.nodes,
            "region": error.region.bounds.iter().map(|(a, b)| vec![*a, *b]).collect::<Vec<_>>(),
            "region_text": error.region.describe(&problem.state_names()),
        });
    }
    summary
}

/// Summary of `hjb check`.
pub fn check_summary(problem: &Problem, settings: &Settings, preparation: &Preparation) -> Value {
    let plan = &preparation.plan;
    let stability = &preparation.stability;
    json!({
        "problem": problem.name,
        "scheme": settings.scheme_name(),
        "differencing": settings.differencing.name(),
        "stepping": settings.stepping.name(),
        "choice": settings.choice.name(),
        "choice_reason": settings.choice.reason(),
        "hamiltonian": preparation.model.describe(),
        "grid": grid_points(problem),
        "nodes": problem.grid.node_count(),
        "time_step": plan.time_step,
        "time_step_max": finite_or_null(plan.time_step_max),
        "steps": plan.steps,
        "cfl": plan.cfl_number,
        "monotone": super::report::monotone_verdict(settings, stability).0,
        "minimum_weight": stability.minimum_weight,
        "diffusion_number": stability.diffusion_number,
        "outflow_nodes": stability.outflow_nodes,
        "boundaries": problem.boundaries.iter().map(|b| b.name()).collect::<Vec<_>>(),
        "cfl_peak": stability.cfl_peak,
        "largest_drift": plan.largest_drift,
        "memory_bytes": preparation.memory_bytes,
        "linear_solver": preparation.linear_solver.map(|solver| solver.name()),
        "node_updates": plan.steps as f64 * problem.grid.node_count() as f64,
    })
}

/// Summary of `hjb converge`.
pub fn converge_summary(problem: &Problem, settings: &Settings, levels: &[Level], seconds: f64) -> Value {
    json!({
        "problem": problem.name,
        "scheme": settings.scheme_name(),
        "grid": grid_points(problem),
        "seconds": seconds,
        "levels": levels.iter().map(|level| json!({
            "points": level.points,
            "h": level.h,
            "time_step": level.time_step,
            "linf": level.linf,
            "l1": level.l1,
            "l2": level.l2,
            "order_linf": level.order_linf,
            "order_l1": level.order_l1,
            "order_l2": level.order_l2,
            "seconds": level.seconds,
        })).collect::<Vec<_>>(),
    })
}

/// Summary of `hjb validate`.
pub fn validate_summary(outcomes: &[crate::validate::StudyOutcome], seconds: f64) -> Value {
    json!({
        "seconds": seconds,
        "passed": outcomes.iter().filter(|o| o.passed()).count(),
        "failed": outcomes.iter().filter(|o| !o.passed()).count(),
        "studies": outcomes.iter().map(|outcome| json!({
            "name": outcome.name,
            "description": outcome.study.description,
            "problem": outcome.study.problem,
            "scheme": outcome.study.scheme,
            "accuracy": outcome.study.accuracy,
            "norm": outcome.norm_name(),
            "minimum_order": outcome.study.minimum_order,
            "maximum_error": outcome.study.maximum_error,
            "passed": outcome.passed(),
            "failures": outcome.failures,
            "levels": outcome.levels.iter().map(|level| json!({
                "points": level.points,
                "h": level.h,
                "linf": level.linf,
                "l1": level.l1,
                "l2": level.l2,
                "order_linf": level.order_linf,
                "order_l1": level.order_l1,
                "order_l2": level.order_l2,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The differencing of the run's scheme, for the von Neumann summary.
fn run_differencing(settings: &Settings) -> crate::stability::Differencing {
    use crate::settings::Stepping;
    match (settings.stepping, settings.differencing) {
        (Stepping::Explicit { .. }, crate::Differencing::LaxFriedrichs) => {
            crate::stability::Differencing::LaxFriedrichs
        }
        _ => crate::stability::Differencing::Upwind,
    }
}

/// Summary of `hjb check --von-neumann`: [`check_summary`] with `max_amplification` (for the
/// run's differencing) and the `von_neumann` analysis frozen at the CFL peak.
pub fn check_summary_with_von_neumann(
    problem: &Problem,
    settings: &Settings,
    preparation: &Preparation,
    analysis: &crate::stability::VonNeumann,
    picture: &Path,
) -> Value {
    let mut object = check_summary(problem, settings, preparation);
    object["max_amplification"] = json!(analysis.maximum(run_differencing(settings)));
    object["von_neumann"] = json!({
        "courant": analysis.courant,
        "dissipation": analysis.dissipation,
        "frozen_at": preparation.stability.cfl_peak,
        "max_amplification": analysis
            .maxima
            .iter()
            .map(|(d, g)| (d.name().to_string(), *g))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "plot": Some(picture.display().to_string()),
    });
    object
}

/// Summary of `hjb converge` with its files: [`converge_summary`], `reference` (`analytic` or
/// `finest_level`), the Richardson estimate when there is no exact reference, `output` and `plot`.
pub fn converge_study_summary(
    problem: &Problem,
    settings: &Settings,
    levels: &[Level],
    richardson_order: Option<f64>,
    seconds: f64,
    output: &Path,
    plot: &Path,
) -> Value {
    let mut object = converge_summary(problem, settings, levels, seconds);
    object["reference"] = json!(if richardson_order.is_some() { "finest_level" } else { "analytic" });
    if let Some(order) = richardson_order {
        object["richardson"] = json!({
            "order": order,
            "finest_linf_estimate": levels.last().map(|l| l.linf),
        });
    }
    object["output"] = json!(output.display().to_string());
    object["plot"] = json!(plot.display().to_string());
    object
}

/// Summary of `hjb mdp`.
pub fn mdp_summary(
    problem: &Problem,
    comparison: &crate::mdp::MdpComparison,
    export: Option<&Path>,
) -> Value {
    let (mdp, solution) = (&comparison.mdp, &comparison.solution);
    json!({
        "problem": problem.name,
        "chain": mdp.chain.name(),
        "method": solution.method.name(),
        "states": mdp.nodes,
        "actions": mdp.action_count,
        "nonzeros": mdp.nonzeros(),
        "memory_bytes": mdp.bytes(),
        "time_step": mdp.time_step,
        "discount": mdp.discount,
        "closed_rows": mdp.closed_rows,
        "iterations": solution.iterations,
        "evaluation_sweeps": match solution.method {
            crate::mdp::Method::ModifiedPolicyIteration(k) => Some(solution.iterations.saturating_sub(1) * k),
            _ => None,
        },
        "layout": if mdp.transitions.pairs { "interpolation pairs".to_string() } else if mdp.transitions.width > 0 { format!("fixed width {}", mdp.transitions.width) } else { "csr".to_string() },
        "error_bound": solution.error_bound,
        "seconds": solution.seconds,
        "build_seconds": comparison.build_seconds,
        "max_difference_from_pde": comparison.max_difference_from_pde,
        "error": comparison.reference_error.as_ref().map(|e| json!({"linf": e.linf, "l1": e.l1, "l2": e.l2, "nodes": e.nodes})),
        "export": export.map(|p| p.display().to_string()),
    })
}

/// Summary of `hjb mdp --method linear`.
pub fn linear_mdp_summary(problem: &Problem, comparison: &crate::mdp::linear::LinearComparison) -> Value {
    let (mdp, solution) = (&comparison.mdp, &comparison.solution);
    let norms =
        |e: &crate::norms::ErrorNorms| json!({"linf": e.linf, "l1": e.l1, "l2": e.l2, "nodes": e.nodes});
    json!({
        "problem": problem.name,
        "chain": mdp.chain.name(),
        "method": "linear",
        "temperature": comparison.structure.temperature,
        "states": mdp.nodes,
        "nonzeros": mdp.nonzeros(),
        "time_step": mdp.time_step,
        "steps": solution.steps,
        "seconds": solution.seconds,
        "build_seconds": comparison.build_seconds,
        "pde_seconds": comparison.pde.diagnostics.seconds,
        "max_difference_from_pde": comparison.max_difference_from_pde,
        "max_difference_in_region": comparison.max_difference_in_region,
        "error": comparison.reference_error.as_ref().map(norms),
        "pde_error": comparison.pde.error.as_ref().map(norms),
    })
}

/// Summary of `hjb simulate` from `start` over `[0, horizon]`; `output` lists its files.
pub fn simulate_summary(
    problem: &Problem,
    statistics: &crate::simulate::PathStatistics,
    start: &[f64],
    horizon: f64,
    seed: u64,
    output: &[String],
) -> Value {
    let trajectory = &statistics.trajectory;
    json!({
        "problem": problem.name,
        "from": start,
        "horizon": horizon,
        "time_step": horizon / (trajectory.times.len() - 1) as f64,
        "steps": trajectory.times.len() - 1,
        "policy": if trajectory.time_dependent_policy { "time-dependent (snapshots)" } else { "t = 0 only (no snapshots in the result)" },
        "cost": statistics.cost_mean,
        "cost_standard_error": statistics.cost_standard_error,
        "reach_payoff": crate::simulate::reach_payoff(problem, trajectory),
        "paths": statistics.paths,
        "seed": seed,
        "value_at_start": trajectory.value_at_start,
        "final_state": trajectory.states.last(),
        "ensemble": statistics.ensemble.as_ref().map(super::ensemble_report::ensemble_json),
        "output": output,
    })
}
