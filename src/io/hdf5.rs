//! The HDF5 result file of DESIGN §6, written atomically.
//!
//! Layout: root attributes `state_names`, `control_names`, `hjb_version`, `scheme`,
//! `problem_toml`, `final_time`; `/grid/<state>` (1-D coordinates, marked as dimension scales and
//! attached to every field); `/value` and `/policy/<control>` on the tensor grid at `t = 0`;
//! `/reference/value` and `/error` (= value − reference) when the problem has a reference;
//! `/diagnostics` (a group whose attributes are the run's numbers).
//!
//! The file is written under a temporary name in the target folder and renamed into place, so a
//! crash never leaves a half-written result. `rust-hdf5` (pure Rust, pinned) stays behind this
//! module.

use crate::error::{HjbError, Result};
use crate::problem::Problem;
use crate::solver::Solution;
use rust_hdf5::H5File;
use std::path::{Path, PathBuf};

fn output_error(path: &Path, error: impl std::fmt::Display) -> HjbError {
    HjbError::Output { path: path.to_path_buf(), message: error.to_string() }
}

/// Write `solution` of `problem` to `path` atomically.
pub fn write_result(path: &Path, problem: &Problem, solution: &Solution) -> Result<()> {
    write_atomically(path, |temporary| write_contents(temporary, problem, solution))
}

/// Run `write` on a temporary file beside `path`, then rename it into place (or remove it).
fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> rust_hdf5::Result<()>) -> Result<()> {
    let directory = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory).map_err(|error| output_error(directory, error))?;
    let file_name = path.file_name().map_or_else(|| "result.h5".into(), |n| n.to_string_lossy().into_owned());
    let temporary: PathBuf = directory.join(format!(".{file_name}.{}.tmp", std::process::id()));
    if let Err(error) = write(&temporary) {
        let _ = std::fs::remove_file(&temporary);
        return Err(output_error(path, error));
    }
    std::fs::rename(&temporary, path).map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        output_error(path, error)
    })
}

/// Write a refinement study: `/levels/{h, time_step, linf, l1, l2, order_linf, order_l1,
/// order_l2}` (orders NaN on the first level) and `/levels/points` (levels × axes).
pub fn write_convergence(path: &Path, problem: &Problem, levels: &[crate::validate::Level]) -> Result<()> {
    write_atomically(path, |temporary| {
        let file = H5File::create(temporary)?;
        file.set_attr_string_array("state_names", &as_str(&problem.state_names()))?;
        file.set_attr_string("hjb_version", env!("CARGO_PKG_VERSION"))?;
        file.set_attr_string("scheme", problem.settings.scheme.name())?;
        file.set_attr_string("problem_toml", &problem.source_text)?;
        let group = file.create_group("levels")?;
        let column = |name: &str, values: Vec<f64>| -> rust_hdf5::Result<()> {
            let dataset = group.new_dataset::<f64>().shape([values.len()]).create(name)?;
            dataset.write_raw(&values)
        };
        let order = |o: Option<f64>| o.unwrap_or(f64::NAN);
        column("h", levels.iter().map(|l| l.h).collect())?;
        column("time_step", levels.iter().map(|l| l.time_step).collect())?;
        column("linf", levels.iter().map(|l| l.linf).collect())?;
        column("l1", levels.iter().map(|l| l.l1).collect())?;
        column("l2", levels.iter().map(|l| l.l2).collect())?;
        column("order_linf", levels.iter().map(|l| order(l.order_linf)).collect())?;
        column("order_l1", levels.iter().map(|l| order(l.order_l1)).collect())?;
        column("order_l2", levels.iter().map(|l| order(l.order_l2)).collect())?;
        let dimension = problem.grid.dimension();
        let points: Vec<u64> = levels.iter().flat_map(|l| l.points.iter().map(|p| *p as u64)).collect();
        let dataset = group.new_dataset::<u64>().shape([levels.len(), dimension]).create("points")?;
        dataset.write_raw(&points)?;
        file.close()
    })
}

fn as_str(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

fn write_contents(path: &Path, problem: &Problem, solution: &Solution) -> rust_hdf5::Result<()> {
    let file = H5File::create(path)?;
    let state_names = problem.state_names();
    let control_names = problem.control_names();
    file.set_attr_string_array("state_names", &as_str(&state_names))?;
    file.set_attr_string_array("control_names", &as_str(&control_names))?;
    file.set_attr_string("hjb_version", env!("CARGO_PKG_VERSION"))?;
    file.set_attr_string("scheme", solution.diagnostics.scheme.name())?;
    file.set_attr_string("problem_name", &problem.name)?;
    file.set_attr_string("problem_toml", &problem.source_text)?;
    file.set_attr_numeric("final_time", &problem.final_time)?;
    file.set_attr_numeric("partial", &u8::from(solution.stopped.is_some()))?;
    if let Some(reason) = &solution.stopped {
        file.set_attr_string("stopped", reason)?;
    }

    let shape = problem.grid.shape();
    let grid_group = file.create_group("grid")?;
    let mut scales = Vec::new();
    for axis in problem.grid.axes() {
        let dataset = grid_group.new_dataset::<f64>().shape([axis.points]).create(&axis.name)?;
        dataset.write_raw(&axis.coordinates())?;
        dataset.set_scale(Some(&axis.name))?;
        scales.push(dataset);
    }
    let attach = |dataset: &rust_hdf5::H5Dataset| -> rust_hdf5::Result<()> {
        for (k, scale) in scales.iter().enumerate() {
            dataset.attach_scale(k, scale)?;
        }
        Ok(())
    };

    let value = file.new_dataset::<f64>().shape(&shape).create("value")?;
    value.write_raw(&solution.values)?;
    attach(&value)?;

    let policy_group = file.create_group("policy")?;
    for (name, field) in control_names.iter().zip(&solution.policy) {
        let dataset = policy_group.new_dataset::<f64>().shape(&shape).create(name)?;
        dataset.write_raw(field)?;
        attach(&dataset)?;
    }

    if let Some(reference) = &solution.reference {
        let group = file.create_group("reference")?;
        let dataset = group.new_dataset::<f64>().shape(&shape).create("value")?;
        dataset.write_raw(reference)?;
        attach(&dataset)?;
        let error: Vec<f64> = solution.values.iter().zip(reference).map(|(v, r)| v - r).collect();
        let dataset = file.new_dataset::<f64>().shape(&shape).create("error")?;
        dataset.write_raw(&error)?;
        attach(&dataset)?;
        if let Some(norms) = &solution.error {
            group.set_attr_numeric("error_linf", &norms.linf)?;
            group.set_attr_numeric("error_l1", &norms.l1)?;
            group.set_attr_numeric("error_l2", &norms.l2)?;
            group.set_attr_string("error_region", &norms.region.describe(&state_names))?;
        }
    }

    let diagnostics = &solution.diagnostics;
    let group = file.create_group("diagnostics")?;
    group.set_attr_string("scheme", diagnostics.scheme.name())?;
    group.set_attr_string("hamiltonian", &diagnostics.hamiltonian)?;
    group.set_attr_numeric("time_step", &diagnostics.time_step)?;
    group.set_attr_numeric("steps", &(diagnostics.steps as u64))?;
    group.set_attr_numeric("time_step_max", &diagnostics.time_step_max)?;
    group.set_attr_numeric("cfl", &diagnostics.cfl_number)?;
    group.set_attr_numeric("monotone", &u8::from(diagnostics.monotone))?;
    group.set_attr_numeric("seconds", &diagnostics.seconds)?;
    group.set_attr_numeric("threads", &(diagnostics.threads as u64))?;
    group.set_attr_string_array(
        "boundaries",
        &diagnostics.boundaries.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    file.close()
}

/// The parts of a result file that hjb itself reads back (`simulate`, tests).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    pub state_names: Vec<String>,
    pub control_names: Vec<String>,
    pub scheme: String,
    pub coordinates: Vec<Vec<f64>>,
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
    pub policy: Vec<Vec<f64>>,
    pub problem_toml: String,
    pub reference: Option<Vec<f64>>,
    /// Why the run stopped early, when the file holds a partial result.
    pub stopped: Option<String>,
}

/// Read a result file written by [`write_result`].
pub fn read_result(path: &Path) -> Result<StoredResult> {
    let fail = |error: rust_hdf5::Hdf5Error| HjbError::Output {
        path: path.to_path_buf(),
        message: format!("cannot read result: {error}"),
    };
    let file = H5File::open(path).map_err(fail)?;
    let scheme = file.attr_string("scheme").map_err(fail)?;
    let problem_toml = file.attr_string("problem_toml").map_err(fail)?;
    // The names (in axis order) come from the stored problem text, which is the source of truth
    // for everything but the point counts (those are read from /grid).
    let problem = crate::problem::parse_problem(&problem_toml, path)?;
    let state_names = problem.state_names();
    let control_names = problem.control_names();
    let mut coordinates = Vec::new();
    for name in &state_names {
        coordinates
            .push(file.dataset(&format!("grid/{name}")).map_err(fail)?.read_raw::<f64>().map_err(fail)?);
    }
    let value = file.dataset("value").map_err(fail)?;
    let shape = value.shape();
    let values = value.read_raw::<f64>().map_err(fail)?;
    let mut policy = Vec::new();
    for name in &control_names {
        policy.push(file.dataset(&format!("policy/{name}")).map_err(fail)?.read_raw::<f64>().map_err(fail)?);
    }
    let reference = match file.dataset("reference/value") {
        Ok(dataset) => Some(dataset.read_raw::<f64>().map_err(fail)?),
        Err(_) => None,
    };
    let stopped = file.attr_string("stopped").ok();
    Ok(StoredResult {
        stopped,
        state_names,
        control_names,
        scheme,
        coordinates,
        shape,
        values,
        policy,
        problem_toml,
        reference,
    })
}
