//! `hjb plot RESULT.h5 [--slice name=value,…] [--field F]`: a stored field, whole or sliced at
//! fixed coordinates (multilinear interpolation), as a PNG.

use super::invalid;
use hjb::io::figures::{slice_field, slice_plot_path, write_slice_plot, StoredField};
use hjb::io::hdf5::read_result;
use hjb::problem::{parse_problem, ProblemFile};
use hjb::simulate::stored_grid;
use hjb::{Grid, HjbError};
use std::path::{Path, PathBuf};

pub fn run(result: &Path, slice: Option<&str>, field: &str, out: Option<PathBuf>) -> anyhow::Result<()> {
    if let Some(path) = &out {
        if !path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("png")) {
            let message =
                format!("`{}`: plots are written as PNG; give a path ending in .png", path.display());
            return Err(invalid("--out", message).into());
        }
        super::check_targets(&[path])?;
    }
    let stored = read_result(result)?;
    let ProblemFile { problem, output, .. } = parse_problem(&stored.problem_toml, result)?;
    let grid = stored_grid(&problem, &stored)?;
    let controls = problem.control_names();
    let values = StoredField::parse(field, &controls)
        .ok_or_else(|| {
            let message = format!(
                "unknown field `{field}`; use value, error, reference/value or policy/<{}>",
                controls.join("|")
            );
            invalid("--field", message)
        })?
        .values(&stored)
        .ok_or_else(|| invalid("--field", "the result has no reference"))?;
    let fixed = match slice {
        Some(text) => parse_slice(text, &grid, &problem.state_names())?,
        None => vec![None; grid.dimension()],
    };
    if fixed.iter().all(Option::is_some) {
        return Err(invalid("--slice", "leave at least one state free").into());
    }
    let sliced = slice_field(&grid, &values, &fixed)?;
    let path = out.unwrap_or_else(|| slice_plot_path(result, field, &sliced));
    write_slice_plot(&path, &problem, &output, field, &sliced)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// `name=value[,name=value…]` → the fixed coordinate of each state (`None`: free).
fn parse_slice(text: &str, grid: &Grid, names: &[String]) -> Result<Vec<Option<f64>>, HjbError> {
    let mut fixed = vec![None; names.len()];
    for part in text.split(',') {
        let (name, value) =
            part.split_once('=').ok_or_else(|| invalid("--slice", format!("`{part}` is not name=value")))?;
        let axis = names
            .iter()
            .position(|n| n == name.trim())
            .ok_or_else(|| invalid("--slice", format!("`{name}` is not a state ({})", names.join(", "))))?;
        let value: f64 =
            value.trim().parse().map_err(|_| invalid("--slice", format!("`{value}` is not a number")))?;
        let a = &grid.axes()[axis];
        if !(value >= a.lower && value <= a.upper) {
            return Err(invalid(
                "--slice",
                format!("{name} = {value} is outside [{}, {}]", a.lower, a.upper),
            ));
        }
        if fixed[axis].is_some() {
            return Err(invalid(
                "--slice",
                format!("`{}` is fixed twice; give each state once", name.trim()),
            ));
        }
        fixed[axis] = Some(value);
    }
    Ok(fixed)
}
