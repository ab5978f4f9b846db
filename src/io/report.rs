//! The human-readable reports of the verbs (what `hjb solve`, `check`, `converge`, `mdp`,
//! `validate` and `simulate` print without `--json`), as text: the binary only prints them.

use crate::mdp::MdpComparison;
use crate::problem::Problem;
use crate::settings::Settings;
use crate::simulate::PathStatistics;
use crate::solver::{Preparation, Solution};
use crate::stability::VonNeumann;
use crate::validate::{Level, StudyOutcome};
use std::fmt::Write;
use std::path::Path;

/// Append one formatted line.
macro_rules! line {
    ($text:expr, $($argument:tt)*) => {
        writeln!($text, $($argument)*).expect("writing to a String")
    };
}

/// `  error       L∞ …, L1 …, L2 … on <region> (<nodes> nodes)`.
fn error_line(text: &mut String, error: &crate::norms::ErrorNorms, problem: &Problem) {
    line!(
        text,
        "  error       L∞ {:.4e}, L1 {:.4e}, L2 {:.4e} on {} ({} nodes)",
        error.linf,
        error.l1,
        error.l2,
        error.region.describe(&problem.state_names()),
        error.nodes
    );
}

/// `401 × 201 (h = 0.0100, 0.0200)`.
pub fn format_grid(problem: &Problem) -> String {
    let shape: Vec<String> = problem.grid.shape().iter().map(usize::to_string).collect();
    let spacing: Vec<String> = problem.grid.spacings().iter().map(|h| format!("{h:.4}")).collect();
    format!("{} (h = {})", shape.join(" × "), spacing.join(", "))
}

/// The boundary kinds, with a note when extrapolated boundary nodes can see outflow.
pub fn describe_boundaries(boundaries: &[String], outflow_nodes: &[usize]) -> String {
    let mut text = boundaries.join(", ");
    let outflow: usize = outflow_nodes.iter().sum();
    if outflow > 0 {
        text.push_str(&format!(
            " ({outflow} extrapolated boundary nodes can see outflow; not monotone there — measure errors away from them)"
        ));
    }
    text
}

/// The high-order scheme in words, with the stability condition actually used.
pub fn describe_high_order(report: &crate::time::HighOrderReport) -> String {
    let hamiltonian = match report.dissipation {
        None => "upwind Hamiltonian".to_string(),
        Some(dissipation) => format!("Lax–Friedrichs Hamiltonian ({} dissipation)", dissipation.name()),
    };
    let stability = if report.derivatives == crate::settings::Derivatives::FirstOrder {
        "monotone Euler stages under the CFL bound, convex TVD combination"
    } else {
        "not monotone (ENO/WENO stencils); stability from the CFL bound Δt·(rate + ρ) ≤ 1 per Euler stage \
         (SSP coefficient 1), blow-up detector on"
    };
    format!(
        "{} derivatives, {} ({} stage{}), {hamiltonian}; {stability}",
        report.derivatives.name(),
        report.integrator.name(),
        report.stages,
        if report.stages == 1 { "" } else { "s" }
    )
}

fn monotone(flag: bool) -> &'static str {
    if flag {
        "monotone"
    } else {
        "NOT monotone"
    }
}

/// Report of a solve; `written` lists the result file and its plots.
pub fn solve_report(problem: &Problem, solution: &Solution, written: &[String]) -> String {
    let mut text = String::new();
    let d = &solution.diagnostics;
    line!(
        text,
        "hjb solve {}: {} scheme, {} Hamiltonian",
        problem.name,
        d.settings.scheme_name(),
        d.hamiltonian
    );
    line!(text, "  chosen      {}: {}", d.settings.choice.name(), d.settings.choice.reason());
    line!(text, "  grid        {}", format_grid(problem));
    if problem.is_stationary() {
        line!(
            text,
            "  stationary  ρ = {}; {} — {}",
            problem.discount,
            if let Some(report) = &d.sweeping {
                format!(
                    "fast sweeping: {} Gauss–Seidel sweeps in {} alternating orderings ({:.2} node updates per node), last change {:.2e}",
                    report.sweeps,
                    report.orderings,
                    report.updates as f64 / problem.grid.node_count() as f64,
                    report.last_change
                )
            } else if d.implicit.is_some() {
                "policy iteration on (ρI − A(u))V = ℓ(u)".to_string()
            } else {
                format!(
                    "value iteration: {} sweeps of Δt = {:.4e} (CFL number {:.3})",
                    d.steps, d.time_step, d.cfl_number
                )
            },
            monotone(d.monotone)
        );
    } else if d.semi_lagrangian.is_some() {
        line!(
            text,
            "  time        Δt = {:.4e} × {} steps to T = {}; {:.2} × the explicit upwind bound {:.4e} (no CFL limit) — {}",
            d.time_step,
            d.steps,
            problem.final_time,
            d.cfl_number,
            d.time_step_max,
            monotone(d.monotone)
        );
    } else {
        line!(
            text,
            "  time        Δt = {:.4e} × {} steps to T = {}; CFL number {:.3} (bound Δt ≤ {:.4e}) — {}",
            d.time_step,
            d.steps,
            problem.final_time,
            d.cfl_number,
            d.time_step_max,
            monotone(d.monotone)
        );
    }
    if let Some(report) = &d.semi_lagrangian {
        line!(
            text,
            "  semi-Lag.   feet move ≤ {:.2} cells per step, h²/Δt = {:.3e}; {} {} feet, {} control refinement; {} nodes' feet leave the box ({} extrapolated)",
            report.displacement_cells,
            report.consistency_term,
            report.characteristic,
            if report.noisy_axes == 0 { "single".to_string() } else { format!("2×{} Camilli–Falcone", report.noisy_axes) },
            if report.refine { "golden-section" } else { "no" },
            report.feet_outside,
            report.extrapolated_nodes
        );
    }
    if let Some(report) = &d.high_order {
        line!(text, "  high order  {}", describe_high_order(report));
    }
    if let Some(report) = &d.implicit {
        line!(
            text,
            "  implicit    policy iteration: {} sweeps at most, {:.2} on average; M-matrix margin {:.3e} ({} extrapolated outflow rows)",
            report.most_iterations,
            report.mean_iterations,
            report.margin,
            report.positive_off_diagonal_rows
        );
        line!(text, "  linear      {}", describe_linear(report));
    }
    line!(text, "  boundaries  {}", describe_boundaries(&d.boundaries, &d.outflow_nodes));
    if let Some(game) = &d.game {
        line!(text, "  game        H = {game} (the disturbance answers the control: the controller's conservative value)");
    }
    if let Some(reach) = &d.reachable {
        line!(
            text,
            "  reachable   {}: {:.2} % of the grid inside {{V ≤ 0}} ({} nodes)",
            reach.mode,
            100.0 * reach.inside_fraction,
            reach.inside_nodes
        );
    }
    if let Some(error) = &solution.error {
        error_line(&mut text, error, problem);
    }
    line!(text, "  wrote       {}", written.join(", "));
    if let Some(mpi) = &d.distributed {
        let dims: Vec<String> = mpi.dims.iter().map(usize::to_string).collect();
        line!(
            text,
            "  mpi         {} on {} ranks × {} threads, blocks {} (largest {} nodes with halo), halo {} node{} ({} per step), communication {:.3} s of {:.3} s",
            mpi.method,
            mpi.ranks,
            mpi.threads,
            dims.join(" × "),
            mpi.largest_block_nodes,
            mpi.halo,
            if mpi.halo == 1 { "" } else { "s" },
            crate::error::human_bytes(mpi.halo_bytes_per_step as f64),
            mpi.communication_seconds,
            mpi.total_seconds
        );
        if let Some(sweeps) = mpi.outer_sweeps {
            line!(
                text,
                "  block-Jac.  {sweeps} outer sweeps (each block solved by policy iteration with its halo held at the neighbours' last values)"
            );
        }
    }
    line!(text, "  took        {:.3} s on {} threads", d.seconds, d.threads);
    text
}

/// Report of `hjb check`, with the von Neumann analysis and its picture when there is one.
pub fn check_report(
    problem: &Problem,
    settings: &Settings,
    preparation: &Preparation,
    von_neumann: Option<(&VonNeumann, &Path)>,
) -> String {
    let mut text = String::new();
    let plan = &preparation.plan;
    let stability = &preparation.stability;
    line!(
        text,
        "hjb check {}: {} scheme, {} Hamiltonian",
        problem.name,
        settings.scheme_name(),
        preparation.model.describe()
    );
    line!(text, "  chosen       {}: {}", settings.choice.name(), settings.choice.reason());
    line!(text, "  grid         {} = {} nodes", format_grid(problem), problem.grid.node_count());
    line!(text, "  CFL bound    Δt ≤ {:.4e} (Σ rates peak at {:?})", plan.time_step_max, stability.cfl_peak);
    // Policy iteration, fast sweeping and semi-Lagrangian stepping have no CFL limit: their
    // weights are nonnegative at any Δt (M-matrix rows, interpolation weights), so the explicit
    // step's CFL number and smallest weight say nothing about them.
    let unlimited = !settings.stepping.has_cfl_limit();
    let solved_directly = problem.is_stationary()
        && matches!(
            settings.stepping,
            crate::settings::Stepping::Implicit { .. } | crate::settings::Stepping::Sweeping
        );
    if problem.is_stationary() {
        let method = match settings.stepping {
            crate::settings::Stepping::Implicit { .. } => {
                "policy iteration on (ρI − A(u))V = ℓ(u), no time step"
            }
            crate::settings::Stepping::Sweeping => {
                "fast sweeping (Gauss–Seidel on the stationary equation), no time step"
            }
            _ => "value iteration until the contraction bound is met",
        };
        if solved_directly {
            line!(text, "  time step    none; stationary (ρ = {}): {method}", problem.discount);
        } else {
            line!(
                text,
                "  time step    Δt = {:.4e}; stationary (ρ = {}): {method}",
                plan.time_step,
                problem.discount
            );
        }
    } else {
        line!(
            text,
            "  time step    Δt = {:.4e} × {} steps to T = {}",
            plan.time_step,
            plan.steps,
            problem.final_time
        );
    }
    if !solved_directly {
        line!(
            text,
            "  CFL number   {:.3}; smallest weight {:.3}{}",
            stability.cfl_number,
            stability.minimum_weight,
            if unlimited { " (of the explicit step at this Δt: no CFL limit for this scheme)" } else { "" }
        );
    }
    line!(text, "  monotone     {}", monotone_verdict(settings, stability).1);
    let boundaries: Vec<String> = problem.boundaries.iter().map(|b| b.name().to_string()).collect();
    line!(text, "  boundaries   {}", describe_boundaries(&boundaries, &stability.outflow_nodes));
    if let Some(game) = &problem.game {
        let m = problem.controls.len();
        let names = |disturbance: bool| -> String {
            let names: Vec<&str> = (0..m)
                .filter(|j| game.is_disturbance(*j, m) == disturbance)
                .map(|j| problem.controls[j].name.as_str())
                .collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        line!(
            text,
            "  game         H = {} over controls {} and disturbances {}; the CFL rate counts both players",
            game.describe(),
            names(false),
            names(true)
        );
    }
    if let Some(reach) = &problem.reachability {
        line!(
            text,
            "  reachability {} of the target {{{} ≤ 0}}{}",
            reach.mode.name(),
            reach.target.source(),
            reach.obstacle.as_ref().map_or(String::new(), |o| format!(" avoiding {{{} ≤ 0}}", o.source()))
        );
    }
    line!(
        text,
        "  max |f_i|    {}",
        plan.largest_drift
            .iter()
            .zip(problem.state_names())
            .map(|(f, n)| format!("{n}: {f:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(solver) = preparation.linear_solver {
        line!(
            text,
            "  linear       {} (policy iteration's linear solver; linear_solver = \"{}\")",
            solver.name(),
            settings.linear_solver.name()
        );
    }
    line!(text, "  memory       ≈ {:.1} MiB", preparation.memory_bytes as f64 / (1024.0 * 1024.0));
    line!(text, "  work         {:.3e} node updates", plan.steps as f64 * problem.grid.node_count() as f64);
    if let Some((analysis, picture)) = von_neumann {
        line!(
            text,
            "  von Neumann  frozen coefficients at {:?}: Courant numbers Δt f_i/h_i = {:?}",
            stability.cfl_peak,
            analysis.courant.iter().map(|c| format!("{c:.3}")).collect::<Vec<_>>()
        );
        for (differencing, maximum) in &analysis.maxima {
            line!(
                text,
                "               max |g| {:<15} {maximum:.6} {}",
                differencing.name(),
                if *maximum <= 1.0 + 1e-12 { "(no amplification)" } else { "(AMPLIFIES: unstable)" }
            );
        }
        line!(text, "               wrote {}", picture.display());
    }
    text
}

/// Report of `hjb converge`; `richardson_order` is set when the study ran against its finest level.
pub fn converge_report(
    problem: &Problem,
    settings: &Settings,
    study: &[Level],
    richardson_order: Option<f64>,
    written: &[&Path],
    seconds: f64,
) -> String {
    let mut text = String::new();
    line!(text, "hjb converge {}: {} scheme", problem.name, settings.scheme_name());
    line!(
        text,
        "  {:>14} {:>10} {:>11} {:>11} {:>11} {:>7} {:>7}",
        "points",
        "h",
        "Δt",
        "L∞",
        "L2",
        "p(L∞)",
        "p(L2)"
    );
    for level in study {
        let order = |o: Option<f64>| o.map_or("—".to_string(), |v| format!("{v:.3}"));
        let points: Vec<String> = level.points.iter().map(usize::to_string).collect();
        line!(
            text,
            "  {:>14} {:>10.4e} {:>11.4e} {:>11.4e} {:>11.4e} {:>7} {:>7}",
            points.join("×"),
            level.h,
            level.time_step,
            level.linf,
            level.l2,
            order(level.order_linf),
            order(level.order_l2)
        );
    }
    if let Some(order) = richardson_order {
        line!(
            text,
            "  no exact reference: errors are differences to the finest level; its own error is the \
             Richardson estimate {:.4e} (order {order:.3} from successive differences)",
            study.last().map_or(f64::NAN, |l| l.linf)
        );
    }
    let written: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    line!(text, "  wrote {}", written.join(", "));
    line!(text, "  took {seconds:.2} s");
    text
}

/// Report of `hjb mdp`; `export` is the file the MDP was written to, if any.
pub fn mdp_report(problem: &Problem, comparison: &MdpComparison, export: Option<&Path>) -> String {
    let mut text = String::new();
    let (mdp, solution) = (&comparison.mdp, &comparison.solution);
    line!(
        text,
        "hjb mdp {}: {} chain, Δt = {:.4e}, γ = {:.6}",
        problem.name,
        mdp.chain.name(),
        mdp.time_step,
        mdp.discount
    );
    line!(
        text,
        "  size        {} states × {} actions, {} nonzeros, {:.1} MB (built in {:.3} s; {} state-action rows closed at the box ends)",
        mdp.nodes,
        mdp.action_count,
        mdp.nonzeros(),
        mdp.bytes() as f64 / 1e6,
        comparison.build_seconds,
        mdp.closed_rows
    );
    line!(
        text,
        "  {}          {} iterations in {:.3} s; error bound {:.3e}",
        solution.method.name(),
        solution.iterations,
        solution.seconds,
        solution.error_bound
    );
    match comparison.max_difference_from_pde {
        Some(difference) => line!(
            text,
            "  vs PDE      max |V_mdp − V_pde| = {:.3e} ({} scheme, same grid and Δt)",
            difference,
            mdp.chain.name()
        ),
        None => line!(text, "  vs PDE      skipped (--skip-pde)"),
    }
    if let Some(error) = &comparison.reference_error {
        error_line(&mut text, error, problem);
    }
    if let Some(path) = export {
        line!(text, "  wrote       {}", path.display());
    }
    text
}

/// Report of `hjb mdp --method linear`: the passive chain, the temperature, the march or
/// first-exit solve, and `V = −λ log z` against the PDE and the reference.
pub fn linear_mdp_report(problem: &Problem, comparison: &crate::mdp::linear::LinearComparison) -> String {
    let mut text = String::new();
    let (mdp, solution) = (&comparison.mdp, &comparison.solution);
    line!(
        text,
        "hjb mdp {} --method linear: passive {} chain (u = 0), Δt = {:.4e}, temperature λ = σ² r = {}",
        problem.name,
        mdp.chain.name(),
        mdp.time_step,
        comparison.structure.temperature
    );
    line!(
        text,
        "  size        {} states, {} nonzeros, {:.1} MB (built in {:.3} s)",
        mdp.nodes,
        mdp.nonzeros(),
        mdp.bytes() as f64 / 1e6,
        comparison.build_seconds
    );
    if solution.steps > 0 {
        line!(
            text,
            "  linear      {} backward steps z^n = e^(−qΔt/λ) P z^(n+1) in {:.3} s",
            solution.steps,
            solution.seconds
        );
    } else {
        line!(
            text,
            "  linear      first-exit solve (I − e^(−qΔt/λ) P) z = 0 by sparse LU in {:.3} s",
            solution.seconds
        );
    }
    line!(
        text,
        "  vs PDE      max |V_linear − V_pde| = {:.3e}{} ({} scheme, same grid and Δt, {:.3} s)",
        comparison.max_difference_from_pde,
        comparison.max_difference_in_region.map_or(String::new(), |d| format!(", {d:.3e} on the region")),
        comparison.pde_settings.scheme_name(),
        comparison.pde.diagnostics.seconds
    );
    if let Some(error) = &comparison.reference_error {
        error_line(&mut text, error, problem);
    }
    if let Some(error) = &comparison.pde.error {
        line!(text, "  PDE error   L∞ {:.4e}, L1 {:.4e} on the same region", error.linf, error.l1);
    }
    text
}

/// Report of `hjb validate`: one row per study against its bar.
pub fn validate_report(outcomes: &[StudyOutcome], quick: bool, seconds: f64) -> String {
    let mut text = String::new();
    line!(text, "hjb validate{}: {} studies", if quick { " --quick" } else { "" }, outcomes.len());
    line!(text, "  {:<40} {:>12} {:>15} {:>9} {:>9}  result", "study", "finest", "error", "min p", "bar p");
    for outcome in outcomes {
        let finest = outcome.levels.last().expect("levels");
        let (error, smallest) = outcome.finest_and_smallest_order();
        let points: Vec<String> = finest.points.iter().map(usize::to_string).collect();
        line!(
            text,
            "  {:<40} {:>12} {:>4} {:>10.3e} {:>9.3} {:>9.2}  {}",
            outcome.name,
            points.join("×"),
            match outcome.norm_name() {
                "L1 and L∞" => "both",
                name => name,
            },
            error,
            smallest,
            outcome.study.minimum_order,
            if outcome.passed() {
                "pass".to_string()
            } else {
                format!("FAIL: {}", outcome.failures.join("; "))
            }
        );
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    line!(text, "  {} passed, {} failed ({seconds:.1} s)", outcomes.len() - failed, failed);
    text
}

/// Report of `hjb simulate` from `start` over `[0, horizon]`; `written` lists its files.
pub fn simulate_report(
    problem: &Problem,
    statistics: &PathStatistics,
    start: &[f64],
    horizon: f64,
    seed: u64,
    written: &[String],
) -> String {
    let mut text = String::new();
    let trajectory = &statistics.trajectory;
    let horizon =
        if (1e-4..1e6).contains(&horizon.abs()) { format!("{horizon}") } else { format!("{horizon:e}") };
    line!(text, "hjb simulate {} from {start:?} over [0, {horizon}]", problem.name);
    line!(
        text,
        "  policy          {}",
        if trajectory.time_dependent_policy {
            "time-dependent (interpolated between snapshots)"
        } else {
            "the t = 0 policy throughout (solve with [output] snapshots = K for time-dependent feedback)"
        }
    );
    if let Some(payoff) = crate::simulate::reach_payoff(problem, trajectory) {
        // A reachability value is the game's outcome, not a cost: the path's own outcome.
        line!(
            text,
            "  reach payoff    {payoff:.6} ({}; {} path{})",
            if payoff <= 0.0 {
                "≤ 0: the path reaches the target"
            } else {
                "> 0: the path misses the target"
            },
            if statistics.paths > 1 { "the first" } else { "one" },
            if statistics.paths > 1 { format!(" of {}", statistics.paths) } else { String::new() }
        );
    } else if statistics.paths > 1 {
        line!(
            text,
            "  realised cost   {:.6} ± {:.6} (mean ± standard error over {} paths, seed {seed})",
            statistics.cost_mean,
            statistics.cost_standard_error,
            statistics.paths
        );
    } else {
        line!(text, "  realised cost   {:.6}", statistics.cost_mean);
    }
    line!(text, "  V(x0, 0)        {:.6} (interpolated from the result)", trajectory.value_at_start);
    line!(text, "  final state     {:?}", trajectory.states.last().expect("at least one state"));
    if let Some(ensemble) = &statistics.ensemble {
        text.push_str(&super::ensemble_report::ensemble_lines(problem, ensemble, statistics.paths));
    }
    line!(text, "  wrote           {}", written.join(", "));
    text
}

/// Whether the scheme of `settings` is monotone, and why, for `hjb check`: the schemes without
/// a CFL limit (policy iteration, fast sweeping, semi-Lagrangian) at any Δt, the explicit ones
/// when every interior weight of the step is ≥ 0, ENO/WENO never.
pub(crate) fn monotone_verdict(
    settings: &Settings,
    stability: &crate::stability::StabilityReport,
) -> (bool, &'static str) {
    let first_order = settings.derivatives == crate::settings::Derivatives::FirstOrder;
    if !settings.stepping.has_cfl_limit() && first_order {
        match settings.stepping {
            crate::settings::Stepping::SemiLagrangian { .. } => {
                (true, "yes at any Δt (interpolation weights at the feet are ≥ 0)")
            }
            _ => (true, "yes at any Δt (upwind M-matrix rows: off-diagonal weights ≥ 0)"),
        }
    } else if stability.monotone {
        (true, "yes (all interior transition weights ≥ 0)")
    } else if !first_order {
        (false, "NO (ENO/WENO stencils are not monotone at any step; the CFL bound per stage is the stability condition)")
    } else {
        (false, "NO (a weight is negative: reduce --time-step or --cfl)")
    }
}

/// The linear solver of policy iteration, its iterations and its final residual.
fn describe_linear(report: &crate::time::ImplicitReport) -> String {
    let residual = format!(
        "final residual ‖b − MV‖∞/(μ(1 + ‖V‖∞)) ≤ {:.2e} (a bound on each solve's relative error)",
        report.linear_residual
    );
    match report.linear_solver {
        crate::settings::LinearSolver::Bicgstab => format!(
            "BiCGSTAB with relaxed ILU(0), warm-started, inexact policy iteration: {} solves, {} iterations ({} at most in one solve) to a \
             relative error of {:.1e}; {residual}",
            report.linear_solves, report.linear_iterations, report.linear_iterations_most, report.linear_tolerance
        ),
        crate::settings::LinearSolver::Tridiagonal => format!(
            "tridiagonal elimination with partial pivoting: {} solves; {residual}",
            report.linear_solves
        ),
        _ => format!("sparse LU: {} solves; {residual}", report.linear_solves),
    }
}
