//! `hjb simulate RESULT.h5 --from x0,… [--disturbance b=formula]`: closed-loop trajectory from the
//! stored policy (a game's disturbance plays its stored worst case unless given a law), written as
//! CSV, HDF5 and PNG.

use super::{invalid, print_json};
use hjb::io::target::write_atomically;
use hjb::io::{ensemble_file, ensemble_plot, figures, hdf5, report, summary};
use hjb::problem::{parse_problem, ProblemFile};
use hjb::simulate::{
    disturbance_laws, ensemble::ensemble_bytes, exact_terminal_law, simulate_paths_with, stored_grid, to_csv,
};
use hjb::HjbError;
use std::path::{Path, PathBuf};

/// The flags of `hjb simulate` besides the result and start.
pub struct Options {
    pub horizon: Option<f64>,
    pub time_step: Option<f64>,
    pub seed: u64,
    pub paths: Option<usize>,
    pub out: Option<PathBuf>,
    /// `name=formula` laws for disturbances (their stored worst case otherwise).
    pub disturbance: Vec<String>,
    pub json: bool,
}

pub fn run(result: &Path, from: &str, options: Options) -> anyhow::Result<()> {
    let stored = hdf5::read_result(result)?;
    let ProblemFile { problem, output, .. } = parse_problem(&stored.problem_toml, result)?;
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
    let laws = disturbance_laws(&problem, &stored.problem_toml, &options.disturbance)?;
    let start: Vec<f64> = from
        .split(',')
        .map(|part| part.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| invalid("--from", format!("`{from}` is not a list of numbers x0,y0,…")))?;
    let horizon = match (options.horizon, problem.is_stationary()) {
        (Some(horizon), _) => horizon,
        (None, false) => problem.final_time,
        (None, true) => {
            return Err(invalid("--horizon", "the problem is stationary: give the simulation horizon").into())
        }
    };
    if !(horizon > 0.0 && horizon.is_finite()) {
        return Err(
            invalid("--horizon", format!("the horizon must be a positive number, not {horizon}")).into()
        );
    }
    let time_step = options.time_step.unwrap_or(horizon / 2000.0);
    if options.paths == Some(0) {
        return Err(invalid("--paths", "use at least one path").into());
    }
    let stem = options.out.unwrap_or_else(|| {
        let base = result.with_extension("");
        PathBuf::from(format!("{}_trajectory", base.display()))
    });
    let (csv, h5, png) = (stem.with_extension("csv"), stem.with_extension("h5"), stem.with_extension("png"));
    let ensemble_h5 = PathBuf::from(format!("{}_ensemble.h5", stem.display()));
    let ensemble_png = PathBuf::from(format!("{}_ensemble.png", stem.display()));
    super::check_targets(&[&csv, &h5, &png, &ensemble_h5, &ensemble_png])?;
    let paths = options.paths.unwrap_or(if problem.diffusion.is_some() { 400 } else { 1 });
    let bytes = ensemble_bytes(paths, problem.grid.dimension());
    // Above the path cap the library refuses with the cap; below it, memory decides.
    if let Some(memory) =
        physical_memory().filter(|memory| paths <= hjb::simulate::MAX_PATHS && bytes > 0.5 * memory)
    {
        return Err(invalid(
            "--paths",
            format!(
                "{paths} paths keep {:.3e} bytes of terminal states and costs, more than half of this \
                 machine's {:.3e} bytes of memory",
                bytes, memory
            ),
        )
        .into());
    }
    let statistics =
        simulate_paths_with(&problem, &stored, &laws, &start, horizon, time_step, options.seed, paths)
            .map_err(|error| match error {
                HjbError::InvalidStart { message } => invalid("--from", message),
                HjbError::InvalidHorizon { .. } => {
                    invalid("--horizon/--time-step", "horizon and time step must be positive")
                }
                other => other,
            })?;
    let trajectory = &statistics.trajectory;
    write_atomically(&csv, "", |temporary| std::fs::write(temporary, to_csv(&problem, trajectory)))?;
    hdf5::write_trajectory(&h5, &problem, trajectory, result)?;
    let grid = stored_grid(&problem, &stored)?;
    figures::write_trajectory_plot(&png, &problem, &output, &grid, &stored, trajectory, &start)?;
    let mut outputs = vec![csv.display().to_string(), h5.display().to_string(), png.display().to_string()];
    if statistics.ensemble.is_some() {
        ensemble_file::write_ensemble(&ensemble_h5, &problem, &statistics, &start, horizon, options.seed)?;
        let law = exact_terminal_law(&problem, &start, horizon);
        let title = format!("{}: X_T of {} paths from {start:?}", problem.name, statistics.paths);
        ensemble_plot::write_ensemble_png(
            &ensemble_png,
            &problem,
            &statistics.terminal_states,
            law.as_ref(),
            &title,
        )?;
        outputs.push(ensemble_h5.display().to_string());
        outputs.push(ensemble_png.display().to_string());
    }
    if options.json {
        return print_json(&summary::simulate_summary(
            &problem,
            &statistics,
            &start,
            horizon,
            options.seed,
            &outputs,
        ));
    }
    print!("{}", report::simulate_report(&problem, &statistics, &start, horizon, options.seed, &outputs));
    Ok(())
}

/// Total physical memory in bytes (Linux `/proc/meminfo`), when known.
fn physical_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}
