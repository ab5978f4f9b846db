//! The command line (DESIGN §6): `hjb solve`, `hjb check`, `hjb converge`.
//!
//! Exit codes: 0 ok, 1 numerical failure (or an output that could not be written), 2 bad input.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hjb::io::checkpoint::{checkpoint_path, Checkpointer};
use hjb::io::plot::{write_amplification_png, write_convergence_png, write_field_png, FieldPlot};
use hjb::io::summary;
use hjb::problem::{load_problem, Problem, ProblemFile};
use hjb::settings::{Characteristic, OutputSettings, Settings, Stepping};
use hjb::solver::{prepare, with_threads, KeepPartial, Observer, RunView, StepView};
use hjb::stability::{Differencing, VonNeumann};
use hjb::validate::{convergence_study, refinement_levels, self_convergence_study};
use hjb::HjbError;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(
    name = "hjb",
    version,
    about = "Hamilton–Jacobi–Bellman solver: value functions and optimal policies on grids, with their numerical evidence"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Solve a problem file; write the HDF5 result and PNG plots.
    Solve {
        /// Problem file (TOML).
        file: PathBuf,
        /// Result file (default: <output.directory>/<name>.h5).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print one JSON object on stdout instead of the text report.
        #[arg(long)]
        json: bool,
        /// Do not write PNG plots.
        #[arg(long)]
        no_plots: bool,
        /// Write a checkpoint (<result>.checkpoint.h5) every N steps; removed when the solve ends.
        #[arg(long, value_name = "N")]
        checkpoint_every: Option<usize>,
        /// Write a checkpoint whenever S seconds have passed since the last one.
        #[arg(long, value_name = "S")]
        checkpoint_seconds: Option<f64>,
        /// Continue an interrupted solve from its checkpoint (same file and settings).
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Report the stability numbers (CFL, time step, monotonicity) and memory, without solving.
    Check {
        /// Problem file (TOML).
        file: PathBuf,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// Von Neumann analysis with frozen coefficients at the CFL peak: max |g| for upwind,
        /// Lax–Friedrichs and central differencing, and a PNG of |g(θ)|.
        #[arg(long)]
        von_neumann: bool,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// The scheme's Markov decision process: solve it by value/policy iteration, compare with
    /// the PDE solution, and export it (HDF5, CSR per action) for RL users
    Mdp {
        /// Problem file (TOML), stationary: discounted or exit time
        file: PathBuf,
        /// vi (Jacobi value iteration), gs (Gauss–Seidel), pi (policy iteration, sparse LU) or
        /// mpi (modified policy iteration)
        #[arg(long, default_value = "pi")]
        method: String,
        /// Evaluation sweeps per improvement for mpi
        #[arg(long, default_value_t = 20)]
        sweeps: usize,
        /// The chain: upwind or semi_lagrangian (default: the problem's scheme)
        #[arg(long)]
        chain: Option<String>,
        /// Write the MDP and its solution here (HDF5)
        #[arg(long)]
        export: Option<PathBuf>,
        /// Print one JSON object on stdout
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Run every convergence study in validation/ and check each against its bar.
    Validate {
        /// Only the quick studies (the set the test suite runs).
        #[arg(long)]
        quick: bool,
        /// Folder of study files.
        #[arg(long, default_value = "validation")]
        directory: PathBuf,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Closed-loop trajectory from a result's stored policy (time-dependent when it has snapshots).
    Simulate {
        /// Result file written by `hjb solve`.
        result: PathBuf,
        /// Start state, one coordinate per state: x0,y0,…
        #[arg(long, allow_hyphen_values = true)]
        from: String,
        /// Horizon (default: the problem's final time).
        #[arg(long)]
        horizon: Option<f64>,
        /// Integration step (default: horizon / 2000).
        #[arg(long)]
        time_step: Option<f64>,
        /// Seed of the Brownian increments (stochastic problems).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Number of paths whose realised costs are averaged (stochastic problems; default 400).
        #[arg(long)]
        paths: Option<usize>,
        /// Output stem (default: <result without .h5>_trajectory); writes .csv, .h5 and .png.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Plot a stored field, whole or as a slice: `hjb plot RESULT.h5 --slice v=0`.
    Plot {
        /// Result file written by `hjb solve`.
        result: PathBuf,
        /// Fix states at coordinates (interpolated): name=value[,name=value…].
        #[arg(long, allow_hyphen_values = true)]
        slice: Option<String>,
        /// Field: value, error, reference/value or policy/<control>.
        #[arg(long, default_value = "value")]
        field: String,
        /// PNG path (default: beside the result, named after field and slice).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Refinement study against the file's reference: errors and observed orders per level.
    Converge {
        /// Problem file (TOML) with a [reference] (or an [lqr] section).
        file: PathBuf,
        /// Number of grid levels (the finest is the file's grid, or --points).
        #[arg(long, default_value_t = 4)]
        levels: usize,
        /// Refinement factor between levels (in grid intervals).
        #[arg(long, default_value_t = 2)]
        refine: usize,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// Study file (default: <output.directory>/<name>_convergence.h5, PNG beside it).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        overrides: Overrides,
    },
}

/// Overrides every solving verb accepts.
#[derive(Debug, Args)]
pub struct Overrides {
    /// Scheme: upwind, lax_friedrichs, implicit or semi_lagrangian.
    #[arg(long)]
    scheme: Option<String>,
    /// Grid points: one number for every axis, or one per axis (N,N,…).
    #[arg(long)]
    points: Option<String>,
    /// Fixed time step (refused above the CFL bound for the explicit schemes).
    #[arg(long)]
    time_step: Option<f64>,
    /// Explicit schemes: target CFL number in (0, 1].
    #[arg(long)]
    cfl: Option<f64>,
    /// Semi-Lagrangian and implicit: Δt = courant / max Σ_i |f_i|/h_i, the largest displacement
    /// per step in cells (any positive number; default Δt = min h).
    #[arg(long)]
    courant: Option<f64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Accept a --time-step above the CFL bound (a demonstration of instability: the blow-up
    /// detector stops the run, exit 1, and the last finite state is saved flagged `partial`).
    #[arg(long)]
    allow_unstable: bool,
}

fn invalid(option: &str, message: impl Into<String>) -> HjbError {
    HjbError::InvalidOption { option: option.to_string(), message: message.into() }
}

impl Overrides {
    /// The file's problem with the overrides applied, its checked settings and output settings.
    fn apply(&self, file: ProblemFile) -> Result<(Problem, Settings, OutputSettings), HjbError> {
        let ProblemFile { mut problem, solver: mut options, output } = file;
        if let Some(name) = &self.scheme {
            // The command-line scheme replaces whatever the file chose on both axes.
            (options.scheme, options.differencing, options.stepping) = (Some(name.clone()), None, None);
        }
        if let Some(cfl) = self.cfl {
            if !(cfl > 0.0 && cfl <= 1.0) {
                return Err(invalid("--cfl", format!("{cfl} is outside (0, 1]; above 1 the explicit schemes are not monotone (semi_lagrangian and implicit take --courant, any positive number; --time-step forces a step, which is checked)")));
            }
            options.cfl = Some(cfl);
            options.time_step = None;
        }
        if let Some(courant) = self.courant {
            if !(courant.is_finite() && courant > 0.0) {
                return Err(invalid("--courant", format!("{courant} must be a positive number")));
            }
            options.courant = Some(courant);
            options.time_step = None;
        }
        if let Some(step) = self.time_step {
            if !(step.is_finite() && step > 0.0) {
                return Err(invalid("--time-step", format!("{step} must be a positive number")));
            }
            options.time_step = Some(step);
        }
        if let Some(points) = &self.points {
            let counts: Vec<usize> = points
                .split(',')
                .map(|part| part.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    invalid("--points", format!("`{points}` is not N or N,N,… with whole numbers"))
                })?;
            if counts.iter().any(|c| *c < 2) {
                return Err(invalid("--points", "every axis needs at least 2 points"));
            }
            // A single N refines the continuous axes; a regime axis keeps one node per regime.
            let counts = if counts.len() == 1 {
                (0..problem.grid.dimension())
                    .map(|axis| match &problem.switching {
                        Some(switching) if switching.axis == axis => switching.rates.len(),
                        _ => counts[0],
                    })
                    .collect()
            } else {
                counts
            };
            problem = problem.with_points(&counts)?;
        }
        if self.allow_unstable {
            if self.time_step.is_none() {
                return Err(invalid("--allow-unstable", "only meaningful with --time-step X"));
            }
            options.allow_unstable = true;
        }
        if self.threads == Some(0) {
            return Err(invalid("--threads", "use at least 1 thread"));
        }
        if let Some(threads) = self.threads {
            // The sparse LU of the implicit scheme runs on faer's own (process-wide) setting.
            faer::set_global_parallelism(faer::Par::rayon(threads));
        }
        let settings = options.settings().map_err(|error| invalid("--scheme", error.to_string()))?;
        Ok((problem, settings, output))
    }
}

/// A progress bar that shows itself only after a second, and only on a terminal.
struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    visible: bool,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} step {pos}/{len} [{bar:40}] {elapsed} (eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Progress {
            bar,
            started: Instant::now(),
            enabled: enabled && std::io::stderr().is_terminal(),
            visible: false,
        }
    }
}

impl Observer for Progress {
    fn started(&mut self, run: &RunView<'_>) {
        self.bar.set_length(run.steps as u64);
        self.started = Instant::now();
    }

    fn stepped(&mut self, view: &StepView<'_>) -> Result<(), HjbError> {
        if self.enabled && !self.visible && self.started.elapsed() > Duration::from_secs(1) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.visible = true;
        }
        if self.visible {
            self.bar.set_position(view.completed as u64);
        }
        Ok(())
    }

    fn finished(&mut self, _complete: bool) {
        self.bar.finish_and_clear();
    }
}

fn format_grid(problem: &Problem) -> String {
    let shape: Vec<String> = problem.grid.shape().iter().map(usize::to_string).collect();
    let spacing: Vec<String> = problem.grid.spacings().iter().map(|h| format!("{h:.4}")).collect();
    format!("{} (h = {})", shape.join(" × "), spacing.join(", "))
}

/// Run the parsed command; errors keep their type for the exit code.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Solve {
            file,
            out,
            json,
            no_plots,
            checkpoint_every,
            checkpoint_seconds,
            resume,
            overrides,
        } => {
            let (problem, settings, output) = overrides.apply(load_problem(&file)?)?;
            let progress = Progress::new(!json);
            let out = out.unwrap_or_else(|| output.directory.join(format!("{}.h5", problem.name)));
            let checkpoint = checkpoint_path(&out);
            if resume && !checkpoint.exists() {
                return Err(invalid("--resume", format!("no checkpoint at {}", checkpoint.display())).into());
            }
            if checkpoint_every == Some(0) {
                return Err(invalid("--checkpoint-every", "use a step count ≥ 1").into());
            }
            if let Some(directory) = checkpoint.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(directory).map_err(|error| HjbError::Output {
                    path: directory.to_path_buf(),
                    message: error.to_string(),
                })?;
            }
            if checkpoint_seconds.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
                return Err(invalid("--checkpoint-seconds", "use a positive number of seconds").into());
            }
            let checkpointing = checkpoint_every.is_some() || checkpoint_seconds.is_some() || resume;
            let checkpointer = checkpointing.then(|| {
                Checkpointer::new(
                    checkpoint.clone(),
                    checkpoint_every.unwrap_or(0),
                    checkpoint_seconds,
                    resume,
                )
            });
            let mut observers = (progress, (KeepPartial::default(), checkpointer));
            let outcome =
                with_threads(overrides.threads, || hjb::solve(&problem, &settings, &mut observers))?;
            let solution = match outcome {
                Ok(solution) => solution,
                Err(error) => {
                    if let Some(partial) = &observers.1 .0.partial {
                        // Nothing is lost: the last finite state goes to the result file, flagged.
                        hjb::io::hdf5::write_result(&out, &problem, partial, &output)?;
                        eprintln!("partial result (attribute partial = 1) written to {}", out.display());
                    }
                    if matches!(error, HjbError::ResumeMismatch) {
                        return Err(invalid("--resume", format!("{} {error}", checkpoint.display())).into());
                    }
                    return Err(error.into());
                }
            };
            hjb::io::hdf5::write_result(&out, &problem, &solution, &output)?;
            let mut plots = Vec::new();
            if !no_plots && output.plots {
                plots = write_plots(&out, &problem, &output, &solution)?;
            }
            if json {
                let summary = summary::solve_summary(&problem, &solution, Some(&out), &plots);
                println!("{}", serde_json::to_string_pretty(&summary).context("JSON summary")?);
            } else {
                let d = &solution.diagnostics;
                println!(
                    "hjb solve {}: {} scheme, {} Hamiltonian",
                    problem.name,
                    d.settings.scheme_name(),
                    d.hamiltonian
                );
                println!("  grid        {}", format_grid(&problem));
                if problem.is_stationary() {
                    println!(
                        "  stationary  ρ = {}; {} — {}",
                        problem.discount,
                        if d.implicit.is_some() {
                            "policy iteration on (ρI − A(u))V = ℓ(u)".to_string()
                        } else {
                            format!(
                                "value iteration: {} sweeps of Δt = {:.4e} (CFL number {:.3})",
                                d.steps, d.time_step, d.cfl_number
                            )
                        },
                        if d.monotone { "monotone" } else { "NOT monotone" }
                    );
                } else if d.semi_lagrangian.is_some() {
                    println!(
                        "  time        Δt = {:.4e} × {} steps to T = {}; {:.2} × the explicit upwind bound {:.4e} (no CFL limit) — {}",
                        d.time_step,
                        d.steps,
                        problem.final_time,
                        d.cfl_number,
                        d.time_step_max,
                        if d.monotone { "monotone" } else { "NOT monotone" }
                    );
                } else {
                    println!(
                        "  time        Δt = {:.4e} × {} steps to T = {}; CFL number {:.3} (bound Δt ≤ {:.4e}) — {}",
                        d.time_step,
                        d.steps,
                        problem.final_time,
                        d.cfl_number,
                        d.time_step_max,
                        if d.monotone { "monotone" } else { "NOT monotone" }
                    );
                }
                if let Some(report) = &d.semi_lagrangian {
                    println!(
                        "  semi-Lag.   feet move ≤ {:.2} cells per step, h²/Δt = {:.3e}; {} {} feet, {} control refinement; {} nodes' feet leave the box ({} extrapolated)",
                        report.displacement_cells,
                        report.consistency_term,
                        report.characteristic,
                        if report.noisy_axes == 0 { "single".to_string() } else { format!("2×{} Camilli–Falcone", report.noisy_axes) },
                        if report.refine { "golden-section" } else { "no" },
                        report.feet_outside,
                        report.extrapolated_nodes
                    );
                    if let Some(warning) = &report.warning {
                        eprintln!("warning: {warning}");
                    }
                }
                if let Some(report) = &d.implicit {
                    println!(
                        "  implicit    policy iteration: {} sweeps at most, {:.2} on average; M-matrix margin {:.3e} ({} extrapolated outflow rows)",
                        report.most_iterations, report.mean_iterations, report.margin, report.positive_off_diagonal_rows
                    );
                }
                println!("  boundaries  {}", describe_boundaries(&d.boundaries, &d.outflow_nodes));
                if let Some(error) = &solution.error {
                    println!(
                        "  error       L∞ {:.4e}, L1 {:.4e}, L2 {:.4e} on {} ({} nodes)",
                        error.linf,
                        error.l1,
                        error.l2,
                        error.region.describe(&problem.state_names()),
                        error.nodes
                    );
                }
                println!(
                    "  wrote       {}",
                    std::iter::once(out.display().to_string()).chain(plots).collect::<Vec<_>>().join(", ")
                );
                println!("  took        {:.3} s on {} threads", d.seconds, d.threads);
            }
            Ok(())
        }
        Command::Check { file, json, von_neumann, overrides } => {
            let (problem, settings, output) = overrides.apply(load_problem(&file)?)?;
            let preparation = with_threads(overrides.threads, || prepare(&problem, &settings))??;
            let analysis = von_neumann.then(|| VonNeumann::for_plan(&problem, &preparation.plan));
            let mut picture = None;
            if let Some(analysis) = &analysis {
                let path = output.directory.join(format!("{}_von_neumann.png", problem.name));
                write_amplification_png(
                    &path,
                    analysis,
                    &format!(
                        "{}: von Neumann amplification, Δt = {:.3e}",
                        problem.name, preparation.plan.time_step
                    ),
                )?;
                picture = Some(path);
            }
            if json {
                let mut object = summary::check_summary(&problem, &settings, &preparation);
                if let Some(analysis) = &analysis {
                    object["max_amplification"] =
                        serde_json::json!(analysis.maximum(run_differencing(&settings)));
                    object["von_neumann"] = serde_json::json!({
                        "courant": analysis.courant,
                        "dissipation": analysis.dissipation,
                        "frozen_at": preparation.stability.cfl_peak,
                        "max_amplification": analysis
                            .maxima
                            .iter()
                            .map(|(d, g)| (d.name().to_string(), *g))
                            .collect::<std::collections::BTreeMap<_, _>>(),
                        "plot": picture.as_ref().map(|p| p.display().to_string()),
                    });
                }
                println!("{}", serde_json::to_string_pretty(&object)?);
            } else {
                let plan = &preparation.plan;
                let stability = &preparation.stability;
                println!(
                    "hjb check {}: {} scheme, {} Hamiltonian",
                    problem.name,
                    settings.scheme_name(),
                    preparation.model.describe()
                );
                println!("  grid         {} = {} nodes", format_grid(&problem), problem.grid.node_count());
                println!(
                    "  CFL bound    Δt ≤ {:.4e} (Σ rates peak at {:?})",
                    plan.time_step_max, stability.cfl_peak
                );
                if problem.is_stationary() {
                    println!(
                        "  time step    Δt = {:.4e}; stationary (ρ = {}): value iteration until the contraction bound is met",
                        plan.time_step, problem.discount
                    );
                } else {
                    println!(
                        "  time step    Δt = {:.4e} × {} steps to T = {}",
                        plan.time_step, plan.steps, problem.final_time
                    );
                }
                println!(
                    "  CFL number   {:.3}; smallest weight {:.3}",
                    stability.cfl_number, stability.minimum_weight
                );
                println!(
                    "  monotone     {}",
                    if stability.monotone {
                        "yes (all interior transition weights ≥ 0)"
                    } else {
                        "NO (a weight is negative: reduce --time-step or --cfl)"
                    }
                );
                let boundaries: Vec<String> =
                    problem.boundaries.iter().map(|b| b.name().to_string()).collect();
                println!("  boundaries   {}", describe_boundaries(&boundaries, &stability.outflow_nodes));
                println!(
                    "  max |f_i|    {}",
                    plan.largest_drift
                        .iter()
                        .zip(problem.state_names())
                        .map(|(f, n)| format!("{n}: {f:.4}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                println!("  memory       ≈ {:.1} MiB", preparation.memory_bytes as f64 / (1024.0 * 1024.0));
                println!(
                    "  work         {:.3e} node updates",
                    plan.steps as f64 * problem.grid.node_count() as f64
                );
                if let Some(analysis) = &analysis {
                    println!(
                        "  von Neumann  frozen coefficients at {:?}: Courant numbers Δt f_i/h_i = {:?}",
                        stability.cfl_peak,
                        analysis.courant.iter().map(|c| format!("{c:.3}")).collect::<Vec<_>>()
                    );
                    for (differencing, maximum) in &analysis.maxima {
                        println!(
                            "               max |g| {:<15} {maximum:.6} {}",
                            differencing.name(),
                            if *maximum <= 1.0 + 1e-12 {
                                "(no amplification)"
                            } else {
                                "(AMPLIFIES: unstable)"
                            }
                        );
                    }
                    if let Some(path) = &picture {
                        println!("               wrote {}", path.display());
                    }
                }
            }
            Ok(())
        }
        Command::Simulate { result, from, horizon, time_step, seed, paths, out, json } => {
            let stored = hjb::io::hdf5::read_result(&result)?;
            let ProblemFile { problem, output, .. } =
                hjb::problem::parse_problem(&stored.problem_toml, &result)?;
            if let Some(switching) = &problem.switching {
                return Err(invalid(
                    "result",
                    format!(
                        "this problem switches regimes (`{}`); simulate does not draw the Poisson jumps yet, \
                         so its paths would hold the regime fixed — read /policy from the file instead",
                        problem.grid.axes()[switching.axis].name
                    ),
                )
                .into());
            }
            let start: Vec<f64> = from
                .split(',')
                .map(|part| part.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| invalid("--from", format!("`{from}` is not a list of numbers x0,y0,…")))?;
            let horizon = match (horizon, problem.is_stationary()) {
                (Some(horizon), _) => horizon,
                (None, false) => problem.final_time,
                (None, true) => {
                    return Err(invalid(
                        "--horizon",
                        "the problem is stationary: give the simulation horizon",
                    )
                    .into())
                }
            };
            let time_step = time_step.unwrap_or(horizon / 2000.0);
            if paths == Some(0) {
                return Err(invalid("--paths", "use at least one path").into());
            }
            let statistics = hjb::simulate::simulate_paths(
                &problem,
                &stored,
                &start,
                horizon,
                time_step,
                seed,
                paths.unwrap_or(if problem.diffusion.is_some() { 400 } else { 1 }),
            )?;
            let trajectory = &statistics.trajectory;
            let stem = out.unwrap_or_else(|| {
                let base = result.with_extension("");
                PathBuf::from(format!("{}_trajectory", base.display()))
            });
            let csv = stem.with_extension("csv");
            let h5 = stem.with_extension("h5");
            let png = stem.with_extension("png");
            std::fs::write(&csv, hjb::simulate::to_csv(&problem, trajectory))
                .map_err(|error| HjbError::Output { path: csv.clone(), message: error.to_string() })?;
            hjb::io::hdf5::write_trajectory(&h5, &problem, trajectory, &result)?;
            let grid = hjb::simulate::stored_grid(&problem, &stored)?;
            if grid.dimension() >= 2 {
                write_field_png(
                    &png,
                    &FieldPlot {
                        grid: &grid,
                        values: &stored.values,
                        reference: None,
                        title: format!("{}: closed loop from {start:?}", problem.name),
                        field_name: format!("V({}, t = 0)", problem.state_names().join(", ")),
                        overlay: Some(trajectory.states.iter().map(|x| (x[0], x[1])).collect()),
                        contours: output.contours,
                        zero_level_set: output.zero_level_set,
                    },
                )?;
            } else {
                let mut series: Vec<(String, Vec<f64>)> = problem
                    .state_names()
                    .iter()
                    .enumerate()
                    .map(|(i, name)| (name.clone(), trajectory.states.iter().map(|x| x[i]).collect()))
                    .collect();
                series.extend(
                    problem
                        .control_names()
                        .iter()
                        .enumerate()
                        .map(|(j, name)| (name.clone(), trajectory.controls.iter().map(|u| u[j]).collect())),
                );
                hjb::io::plot::write_time_series_png(
                    &png,
                    &format!("{}: closed loop from {start:?}", problem.name),
                    &trajectory.times,
                    &series,
                )?;
            }
            let outputs = [csv.display().to_string(), h5.display().to_string(), png.display().to_string()];
            if json {
                let object = serde_json::json!({
                    "problem": problem.name,
                    "from": start,
                    "horizon": horizon,
                    "time_step": horizon / (trajectory.times.len() - 1) as f64,
                    "steps": trajectory.times.len() - 1,
                    "policy": if trajectory.time_dependent_policy { "time-dependent (snapshots)" } else { "t = 0 only (no snapshots in the result)" },
                    "cost": statistics.cost_mean,
                    "cost_standard_error": statistics.cost_standard_error,
                    "paths": statistics.paths,
                    "seed": seed,
                    "value_at_start": trajectory.value_at_start,
                    "final_state": trajectory.states.last(),
                    "output": outputs,
                });
                println!("{}", serde_json::to_string_pretty(&object)?);
            } else {
                println!("hjb simulate {} from {start:?} over [0, {horizon}]", problem.name);
                println!(
                    "  policy          {}",
                    if trajectory.time_dependent_policy {
                        "time-dependent (interpolated between snapshots)"
                    } else {
                        "the t = 0 policy throughout (solve with [output] snapshots = K for time-dependent feedback)"
                    }
                );
                if statistics.paths > 1 {
                    println!(
                        "  realised cost   {:.6} ± {:.6} (mean ± standard error over {} paths, seed {seed})",
                        statistics.cost_mean, statistics.cost_standard_error, statistics.paths
                    );
                } else {
                    println!("  realised cost   {:.6}", statistics.cost_mean);
                }
                println!("  V(x0, 0)        {:.6} (interpolated from the result)", trajectory.value_at_start);
                println!("  final state     {:?}", trajectory.states.last().expect("at least one state"));
                println!("  wrote           {}", outputs.join(", "));
            }
            Ok(())
        }
        Command::Plot { result, slice, field, out } => {
            let path = plot_slice(&result, slice.as_deref(), &field, out)?;
            println!("wrote {}", path.display());
            Ok(())
        }
        Command::Mdp { file, method, sweeps, chain, export, json, overrides } => {
            let (problem, settings, _) = overrides.apply(load_problem(&file)?)?;
            let method = match method.as_str() {
                "vi" => hjb::mdp::Method::ValueIteration,
                "gs" => hjb::mdp::Method::GaussSeidel,
                "pi" => hjb::mdp::Method::PolicyIteration,
                "mpi" => hjb::mdp::Method::ModifiedPolicyIteration(sweeps),
                other => {
                    return Err(invalid(
                        "--method",
                        format!("unknown method `{other}`; use vi, gs, pi or mpi"),
                    )
                    .into())
                }
            };
            let chain = match chain.as_deref() {
                None => hjb::mdp::Chain::of_settings(&settings),
                Some("upwind") => hjb::mdp::Chain::Upwind,
                Some("semi_lagrangian") => hjb::mdp::Chain::SemiLagrangian,
                Some(other) => {
                    return Err(invalid(
                        "--chain",
                        format!("unknown chain `{other}`; use upwind or semi_lagrangian"),
                    )
                    .into())
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
            let outcome = with_threads(overrides.threads, || -> Result<_, HjbError> {
                let characteristic = match settings.stepping {
                    Stepping::SemiLagrangian { characteristic, .. } => characteristic,
                    _ => Characteristic::Euler,
                };
                let mut pde_settings = settings;
                if chain == hjb::mdp::Chain::SemiLagrangian {
                    // The MDP's actions are the samples: compare with the scheme on the same set.
                    let courant = settings.stepping.courant();
                    pde_settings.stepping =
                        Stepping::SemiLagrangian { courant, characteristic, refine: false };
                } else {
                    let cfl = match settings.stepping {
                        Stepping::Explicit { cfl } => cfl,
                        _ => hjb::settings::DEFAULT_CFL,
                    };
                    pde_settings.stepping = Stepping::Explicit { cfl };
                    pde_settings.differencing = hjb::Differencing::Upwind;
                }
                let preparation = prepare(&problem, &pde_settings)?;
                let time_step = preparation.plan.time_step;
                let built = Instant::now();
                let mdp = hjb::mdp::build(&problem, chain, time_step, characteristic)?;
                let build_seconds = built.elapsed().as_secs_f64();
                let solution = hjb::mdp::solve(&mdp, method, &hjb::mdp::SolveOptions::default())?;
                let pde = hjb::solve(&problem, &pde_settings, &mut hjb::Silent)?;
                Ok((mdp, solution, pde, build_seconds))
            })??;
            let (mdp, solution, pde, build_seconds) = outcome;
            let difference =
                solution.value.iter().zip(&pde.values).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
            let reference_error = match (&pde.reference, &problem.reference) {
                (Some(exact), Some(spec)) => {
                    Some(hjb::validate::error_norms(&problem.grid, &solution.value, exact, &spec.region))
                }
                _ => None,
            };
            if let Some(path) = &export {
                hjb::io::hdf5::write_mdp(path, &problem, &mdp, &solution)?;
            }
            if json {
                let summary = serde_json::json!({
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
                    "error_bound": solution.error_bound,
                    "seconds": solution.seconds,
                    "build_seconds": build_seconds,
                    "max_difference_from_pde": difference,
                    "error": reference_error.as_ref().map(|e| serde_json::json!({"linf": e.linf, "l1": e.l1, "l2": e.l2, "nodes": e.nodes})),
                    "export": export.as_ref().map(|p| p.display().to_string()),
                });
                println!("{}", serde_json::to_string_pretty(&summary).context("JSON summary")?);
            } else {
                println!(
                    "hjb mdp {}: {} chain, Δt = {:.4e}, γ = {:.6}",
                    problem.name,
                    mdp.chain.name(),
                    mdp.time_step,
                    mdp.discount
                );
                println!(
                    "  size        {} states × {} actions, {} nonzeros, {:.1} MB (built in {:.3} s; {} state-action rows closed at the box ends)",
                    mdp.nodes,
                    mdp.action_count,
                    mdp.nonzeros(),
                    mdp.bytes() as f64 / 1e6,
                    build_seconds,
                    mdp.closed_rows
                );
                println!(
                    "  {}          {} iterations in {:.3} s; error bound {:.3e}",
                    solution.method.name(),
                    solution.iterations,
                    solution.seconds,
                    solution.error_bound
                );
                println!(
                    "  vs PDE      max |V_mdp − V_pde| = {difference:.3e} ({} scheme, same grid and Δt)",
                    chain.name()
                );
                if let Some(error) = &reference_error {
                    println!(
                        "  error       L∞ {:.4e}, L1 {:.4e}, L2 {:.4e} on {} ({} nodes)",
                        error.linf,
                        error.l1,
                        error.l2,
                        error.region.describe(&problem.state_names()),
                        error.nodes
                    );
                }
                if let Some(path) = &export {
                    println!("  wrote       {}", path.display());
                }
            }
            Ok(())
        }
        Command::Validate { quick, directory, json } => {
            let started = Instant::now();
            let mut outcomes = Vec::new();
            for path in hjb::validate::study_files(&directory)? {
                let study = hjb::validate::load_study(&path)?;
                if quick && !study.quick {
                    continue;
                }
                outcomes.push(hjb::validate::run_study(&path)?);
            }
            let failed = outcomes.iter().filter(|o| !o.passed()).count();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary::validate_summary(
                        &outcomes,
                        started.elapsed().as_secs_f64()
                    ))?
                );
            } else {
                println!("hjb validate{}: {} studies", if quick { " --quick" } else { "" }, outcomes.len());
                println!(
                    "  {:<40} {:>12} {:>15} {:>9} {:>9}  result",
                    "study", "finest", "error", "min p", "bar p"
                );
                for outcome in &outcomes {
                    let finest = outcome.levels.last().expect("levels");
                    let (error, smallest) = outcome.finest_and_smallest_order();
                    let points: Vec<String> = finest.points.iter().map(usize::to_string).collect();
                    println!(
                        "  {:<40} {:>12} {:>4} {:>10.3e} {:>9.3} {:>9.2}  {}",
                        outcome.name,
                        points.join("×"),
                        if outcome.uses_l1() { "L1" } else { "L∞" },
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
                println!(
                    "  {} passed, {} failed ({:.1} s)",
                    outcomes.len() - failed,
                    failed,
                    started.elapsed().as_secs_f64()
                );
            }
            if failed > 0 {
                return Err(
                    HjbError::Numerical(format!("{failed} validation studies missed their bar")).into()
                );
            }
            Ok(())
        }
        Command::Converge { file, levels, refine, json, out, overrides } => {
            let (problem, settings, output) = overrides.apply(load_problem(&file)?)?;
            if levels < 2 || refine < 2 {
                return Err(invalid(
                    "--levels/--refine",
                    "need at least 2 levels and a refinement factor ≥ 2",
                )
                .into());
            }
            let grids = refinement_levels(&problem, levels, refine)?;
            let started = Instant::now();
            // Against the exact reference when the file has one, else against the finest level.
            let (study, richardson_order) = if problem.reference.is_some() {
                (with_threads(overrides.threads, || convergence_study(&problem, &settings, &grids))??, None)
            } else {
                let study =
                    with_threads(overrides.threads, || self_convergence_study(&problem, &settings, &grids))??;
                (study.levels, Some(study.richardson_order))
            };
            let seconds = started.elapsed().as_secs_f64();
            let out =
                out.unwrap_or_else(|| output.directory.join(format!("{}_convergence.h5", problem.name)));
            hjb::io::hdf5::write_convergence(&out, &problem, &settings, &study)?;
            let picture = out.with_extension("png");
            write_convergence_png(
                &picture,
                &study,
                &format!("{}: {} scheme, error vs h", problem.name, settings.scheme_name()),
            )?;
            if json {
                let mut object = summary::converge_summary(&problem, &settings, &study, seconds);
                object["reference"] =
                    serde_json::json!(if richardson_order.is_some() { "finest_level" } else { "analytic" });
                if let Some(order) = richardson_order {
                    object["richardson"] = serde_json::json!({
                        "order": order,
                        "finest_linf_estimate": study.last().map(|l| l.linf),
                    });
                }
                object["output"] = serde_json::json!(out.display().to_string());
                object["plot"] = serde_json::json!(picture.display().to_string());
                println!("{}", serde_json::to_string_pretty(&object)?);
            } else {
                println!("hjb converge {}: {} scheme", problem.name, settings.scheme_name());
                println!(
                    "  {:>14} {:>10} {:>11} {:>11} {:>11} {:>7} {:>7}",
                    "points", "h", "Δt", "L∞", "L2", "p(L∞)", "p(L2)"
                );
                for level in &study {
                    let order = |o: Option<f64>| o.map_or("—".to_string(), |v| format!("{v:.3}"));
                    let points: Vec<String> = level.points.iter().map(usize::to_string).collect();
                    println!(
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
                    println!(
                        "  no exact reference: errors are differences to the finest level; its own error is the \
                         Richardson estimate {:.4e} (order {order:.3} from successive differences)",
                        study.last().map_or(f64::NAN, |l| l.linf)
                    );
                }
                println!("  wrote {}, {}", out.display(), picture.display());
                println!("  took {seconds:.2} s");
            }
            Ok(())
        }
    }
}

/// `hjb plot`: a stored field, optionally sliced at fixed coordinates (multilinear interpolation).
fn plot_slice(
    result: &Path,
    slice: Option<&str>,
    field: &str,
    out: Option<PathBuf>,
) -> anyhow::Result<PathBuf> {
    let stored = hjb::io::hdf5::read_result(result)?;
    let ProblemFile { problem, output, .. } = hjb::problem::parse_problem(&stored.problem_toml, result)?;
    let grid = hjb::simulate::stored_grid(&problem, &stored)?;
    let names = problem.state_names();
    let values: Vec<f64> = match field {
        "value" => stored.values.clone(),
        "reference/value" | "error" => {
            let reference =
                stored.reference.clone().ok_or_else(|| invalid("--field", "the result has no reference"))?;
            if field == "error" {
                stored.values.iter().zip(&reference).map(|(v, r)| v - r).collect()
            } else {
                reference
            }
        }
        other => match other
            .strip_prefix("policy/")
            .and_then(|name| problem.control_names().iter().position(|c| c == name))
        {
            Some(j) => stored.policy[j].clone(),
            None => {
                return Err(invalid(
                    "--field",
                    format!(
                        "unknown field `{other}`; use value, error, reference/value or policy/<{}>",
                        problem.control_names().join("|")
                    ),
                )
                .into())
            }
        },
    };
    // Parse `name=value` pairs.
    let mut fixed: Vec<Option<f64>> = vec![None; names.len()];
    if let Some(text) = slice {
        for part in text.split(',') {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| invalid("--slice", format!("`{part}` is not name=value")))?;
            let axis = names.iter().position(|n| n == name.trim()).ok_or_else(|| {
                invalid("--slice", format!("`{name}` is not a state ({})", names.join(", ")))
            })?;
            let value: f64 =
                value.trim().parse().map_err(|_| invalid("--slice", format!("`{value}` is not a number")))?;
            let a = &grid.axes()[axis];
            if !(value >= a.lower && value <= a.upper) {
                return Err(invalid(
                    "--slice",
                    format!("{name} = {value} is outside [{}, {}]", a.lower, a.upper),
                )
                .into());
            }
            fixed[axis] = Some(value);
        }
    }
    let free: Vec<usize> = (0..names.len()).filter(|k| fixed[*k].is_none()).collect();
    if free.is_empty() {
        return Err(invalid("--slice", "leave at least one state free").into());
    }
    let sliced_grid = hjb::Grid::new(free.iter().map(|k| grid.axes()[*k].clone()).collect())?;
    let mut point = vec![0.0; names.len()];
    let sliced: Vec<f64> = (0..sliced_grid.node_count())
        .map(|node| {
            let coordinates = sliced_grid.point(node);
            for (k, value) in fixed.iter().enumerate() {
                if let Some(value) = value {
                    point[k] = *value;
                }
            }
            for (slot, k) in free.iter().enumerate() {
                point[*k] = coordinates[slot];
            }
            grid.interpolate(&values, &point)
        })
        .collect();
    let label: String = fixed
        .iter()
        .zip(&names)
        .filter_map(|(value, name)| value.map(|v| format!("{name}={v}")))
        .collect::<Vec<_>>()
        .join(",");
    let path = out.unwrap_or_else(|| {
        let base = result.with_extension("");
        let field_part = field.replace('/', "_");
        let suffix =
            if label.is_empty() { String::new() } else { format!("_{}", label.replace(['=', ','], "_")) };
        PathBuf::from(format!("{}_{field_part}{suffix}.png", base.display()))
    });
    let free_names: Vec<String> = free.iter().map(|k| names[*k].clone()).collect();
    write_field_png(
        &path,
        &FieldPlot {
            grid: &sliced_grid,
            values: &sliced,
            reference: None,
            title: if label.is_empty() {
                format!("{}: {field}", problem.name)
            } else {
                format!("{}: {field} at {label}", problem.name)
            },
            field_name: format!("{field}({})", free_names.join(", ")),
            overlay: None,
            contours: if field == "value" { output.contours } else { 0 },
            zero_level_set: field == "value" && output.zero_level_set,
        },
    )?;
    Ok(path)
}

/// The differencing of the run's scheme, for the von Neumann summary.
fn run_differencing(settings: &Settings) -> Differencing {
    match (settings.stepping, settings.differencing) {
        (Stepping::Explicit { .. }, hjb::Differencing::LaxFriedrichs) => Differencing::LaxFriedrichs,
        _ => Differencing::Upwind,
    }
}

fn describe_boundaries(boundaries: &[String], outflow_nodes: &[usize]) -> String {
    let mut text = boundaries.join(", ");
    let outflow: usize = outflow_nodes.iter().sum();
    if outflow > 0 {
        text.push_str(&format!(
            " ({outflow} extrapolated boundary nodes can see outflow; not monotone there — measure errors away from them)"
        ));
    }
    text
}

/// One continuous state and a regime axis: value and policy as one curve per regime.
fn write_regime_plots(
    stem: &Path,
    problem: &Problem,
    solution: &hjb::Solution,
) -> Result<Vec<String>, HjbError> {
    let axes = problem.grid.axes();
    let (state, regime) = (&axes[0], &axes[1]);
    let coordinates = state.coordinates();
    let regimes = regime.points;
    let curves = |field: &[f64]| -> Vec<(String, Vec<f64>)> {
        (0..regimes)
            .map(|k| {
                let label = format!("{} = {}", regime.name, regime.coordinate(k));
                (label, (0..state.points).map(|i| field[i * regimes + k]).collect())
            })
            .collect()
    };
    let mut written = Vec::new();
    let path = PathBuf::from(format!("{}_value.png", stem.display()));
    let when = if problem.is_stationary() { "stationary".to_string() } else { "t = 0".to_string() };
    hjb::io::plot::write_lines_png(
        &path,
        &format!(
            "{}: value per regime ({when}, {})",
            problem.name,
            solution.diagnostics.settings.scheme_name()
        ),
        &state.label(),
        &format!("V({}, {})", state.name, regime.name),
        &coordinates,
        &curves(&solution.values),
    )?;
    written.push(path.display().to_string());
    for (control, field) in problem.controls.iter().zip(&solution.policy) {
        let path = PathBuf::from(format!("{}_policy_{}.png", stem.display(), control.name));
        let units = if control.units.is_empty() { String::new() } else { format!(" [{}]", control.units) };
        hjb::io::plot::write_lines_png(
            &path,
            &format!("{}: optimal {} per regime ({when})", problem.name, control.name),
            &state.label(),
            &format!("{}*({}, {}){units}", control.name, state.name, regime.name),
            &coordinates,
            &curves(field),
        )?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

fn write_plots(
    out: &Path,
    problem: &Problem,
    output: &OutputSettings,
    solution: &hjb::Solution,
) -> Result<Vec<String>, HjbError> {
    let stem = out.with_extension("");
    if problem.switching.is_some() && problem.grid.dimension() == 2 {
        return write_regime_plots(&stem, problem, solution);
    }
    let stem = stem.display();
    let mut written = Vec::new();
    let value_path = PathBuf::from(format!("{stem}_value.png"));
    let arguments: Vec<String> = problem.state_names();
    write_field_png(
        &value_path,
        &FieldPlot {
            grid: &problem.grid,
            values: &solution.values,
            reference: solution.reference.as_deref(),
            title: if problem.is_stationary() {
                format!(
                    "{}: stationary value ({})",
                    problem.name,
                    solution.diagnostics.settings.scheme_name()
                )
            } else {
                format!("{}: value at t = 0 ({})", problem.name, solution.diagnostics.settings.scheme_name())
            },
            field_name: if problem.is_stationary() {
                format!("V({})", arguments.join(", "))
            } else {
                format!("V({}, t = 0)", arguments.join(", "))
            },
            overlay: None,
            contours: output.contours,
            zero_level_set: output.zero_level_set,
        },
    )?;
    written.push(value_path.display().to_string());
    if let Some(snapshots) = &solution.snapshots {
        let path = PathBuf::from(format!("{stem}_value_time.png"));
        hjb::io::plot::write_time_strip_png(
            &path,
            &problem.grid,
            snapshots,
            &format!("{}: V at stored times ({})", problem.name, solution.diagnostics.settings.scheme_name()),
        )?;
        written.push(path.display().to_string());
    }
    for (control, field) in problem.controls.iter().zip(&solution.policy) {
        let name = &control.name;
        let units = if control.units.is_empty() { String::new() } else { format!(" [{}]", control.units) };
        let path = PathBuf::from(format!("{stem}_policy_{name}.png"));
        write_field_png(
            &path,
            &FieldPlot {
                grid: &problem.grid,
                values: field,
                reference: None,
                title: if problem.is_stationary() {
                    format!("{}: optimal {name} (stationary)", problem.name)
                } else {
                    format!("{}: optimal {name} at t = 0", problem.name)
                },
                field_name: format!("{name}*({}){units}", arguments.join(", ")),
                overlay: None,
                contours: 0,
                zero_level_set: false,
            },
        )?;
        written.push(path.display().to_string());
    }
    Ok(written)
}
