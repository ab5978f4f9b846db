//! The command line (README, "Command line"): the clap definitions and one short function per verb.
//!
//! Exit codes: 0 ok, 1 numerical failure (or an output that could not be written), 2 bad input
//! (see [`exit`]).

mod check;
mod converge;
pub mod exit;
mod interrupt;
mod limits;
mod mdp;
mod overrides;
mod plot;
mod progress;
mod score;
mod simulate;
mod solve;
#[cfg(feature = "mpi")]
mod solve_mpi;
#[cfg(feature = "mpi")]
mod solve_mpi_files;
mod validate;

use clap::{Parser, Subcommand};
use hjb::HjbError;
use overrides::Overrides;
use std::path::PathBuf;

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
        /// Stop after N time steps of this run with a checkpoint (exit 130, as an interrupted
        /// solve); the same command with --resume continues (a long run in batch-job slices).
        #[arg(long, value_name = "N")]
        stop_after: Option<usize>,
        /// Under `mpirun -np P`: each process writes its own block of the result
        /// (<result>.rank<r>.h5) and rank 0 an index (<result>) and an XDMF collection, instead
        /// of gathering the whole field to rank 0 (also chosen when it would not fit there).
        #[arg(long)]
        per_rank_files: bool,
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
        /// Problem file (TOML), stationary: discounted or exit time (finite horizon: --method linear)
        file: PathBuf,
        /// vi (Jacobi value iteration), gs (Gauss–Seidel), pi (policy iteration, sparse LU),
        /// mpi (modified policy iteration) or linear (Todorov's KL-control MDP on the passive
        /// chain, linear in z = e^(−V/λ); finite horizon or first exit)
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
        /// Do not solve the PDE next to the MDP (no `vs PDE` difference, no reference error)
        #[arg(long)]
        skip_pde: bool,
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
        /// Games: a law `name=formula` (states, t, parameters) for a disturbance instead of its
        /// stored worst case, e.g. `--disturbance "b=0"` or `--disturbance "b=sin(t)"`; repeat
        /// for several disturbances.
        #[arg(long, allow_hyphen_values = true)]
        disturbance: Vec<String>,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// The score view: the stored optimal drift u*(x, t) next to the exact score drift
    /// ∇log p_t(x) + x/t (results of problems with a gaussian_mixture reference and snapshots);
    /// writes <stem>.h5 and <stem>.png and reports max and L1 differences.
    Score {
        /// Result file written by `hjb solve`.
        result: PathBuf,
        /// Times in (0, T], comma-separated (the nearest stored level of each is used).
        #[arg(long, default_value = "0.1,0.5,0.9")]
        times: String,
        /// Output stem (default: <result without .h5>_score).
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

/// A bad command-line value (exit 2).
fn invalid(option: &str, message: impl Into<String>) -> HjbError {
    HjbError::InvalidOption { option: option.to_string(), message: message.into() }
}

/// Refuse output paths that exist and are not regular files, before any work.
fn check_targets(paths: &[&std::path::Path]) -> Result<(), HjbError> {
    paths.iter().try_for_each(|path| hjb::io::target::check_target(path))
}

/// Print a JSON summary: one object on stdout, nothing else.
fn print_json(object: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(object)?);
    Ok(())
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
            stop_after,
            per_rank_files,
            overrides,
        } => {
            let checkpoints = solve::Checkpoints {
                every: checkpoint_every,
                seconds: checkpoint_seconds,
                resume,
                stop_after,
            };
            solve::run(&file, out, json, no_plots, checkpoints, per_rank_files, &overrides)
        }
        Command::Check { file, json, von_neumann, overrides } => {
            check::run(&file, json, von_neumann, &overrides)
        }
        Command::Converge { file, levels, refine, json, out, overrides } => {
            converge::run(&file, levels, refine, json, out, &overrides)
        }
        Command::Validate { quick, directory, json } => validate::run(quick, &directory, json),
        Command::Simulate { result, from, horizon, time_step, seed, paths, out, disturbance, json } => {
            let options = simulate::Options { horizon, time_step, seed, paths, out, disturbance, json };
            simulate::run(&result, &from, options)
        }
        Command::Score { result, times, out, json } => score::run(&result, &times, out, json),
        Command::Plot { result, slice, field, out } => plot::run(&result, slice.as_deref(), &field, out),
        Command::Mdp { file, method, sweeps, chain, export, skip_pde, json, overrides } => {
            mdp::run(&file, &method, sweeps, chain.as_deref(), export, skip_pde, json, &overrides)
        }
    }
}
