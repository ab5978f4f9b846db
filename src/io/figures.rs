//! Which pictures a result gets: the value and policy plots of a solve (one curve per regime for
//! a regime-switching problem), the von Neumann and convergence figures, the closed-loop
//! trajectory, and slices of a stored field. The value of a `[reachability]` problem is drawn
//! with its set shaded ([`crate::io::reach_plot`]).

use crate::error::{HjbError, Result};
use crate::grid::{row_major, Grid};
use crate::io::hdf5::StoredResult;
use crate::io::plot::{
    write_amplification_png, write_field_png, write_lines_png, write_time_series_png, write_time_strip_png,
    FieldPlot,
};
use crate::io::reach_plot::{write_reachable_png, SetPicture};
use crate::problem::Problem;
use crate::settings::OutputSettings;
use crate::simulate::Trajectory;
use crate::solver::Solution;
use crate::stability::VonNeumann;
use crate::time::TimeStepPlan;
use ndarray::ArrayD;
use std::path::{Path, PathBuf};

/// The plots of a solved result written to `out`: `<stem>_value.png`, `<stem>_value_time.png`
/// (with snapshots) and `<stem>_policy_<control>.png`; the paths written, in that order.
pub fn write_solution_plots(
    out: &Path,
    problem: &Problem,
    output: &OutputSettings,
    solution: &Solution,
) -> Result<Vec<String>> {
    let stem = out.with_extension("");
    if problem.switching.is_some() && problem.grid.dimension() == 2 {
        return write_regime_plots(&stem, problem, solution);
    }
    let stem = stem.display();
    let scheme = solution.diagnostics.settings.scheme_name();
    let mut written = Vec::new();
    let value_path = PathBuf::from(format!("{stem}_value.png"));
    let arguments: Vec<String> = problem.state_names();
    let reachable = SetPicture {
        grid: &problem.grid,
        values: &solution.values,
        reference: solution.reference.as_ref(),
        title: format!("{} ({scheme})", problem.name),
        field_name: format!("V({}, t = 0)", arguments.join(", ")),
    };
    if write_reachable_png(&value_path, problem, &reachable)? {
        written.push(value_path.display().to_string());
    } else {
        write_field_png(
            &value_path,
            &FieldPlot {
                grid: &problem.grid,
                values: &solution.values,
                reference: solution.reference.as_ref(),
                title: if problem.is_stationary() {
                    format!("{}: stationary value ({scheme})", problem.name)
                } else {
                    format!("{}: value at t = 0 ({scheme})", problem.name)
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
    }
    if let Some(snapshots) = &solution.snapshots {
        let path = PathBuf::from(format!("{stem}_value_time.png"));
        write_time_strip_png(
            &path,
            &problem.grid,
            snapshots,
            &format!("{}: V at stored times ({scheme})", problem.name),
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

/// One continuous state and a regime axis: value and policy as one curve per regime.
fn write_regime_plots(stem: &Path, problem: &Problem, solution: &Solution) -> Result<Vec<String>> {
    let axes = problem.grid.axes();
    let (state, regime) = (&axes[0], &axes[1]);
    let coordinates = state.coordinates();
    let regimes = regime.points;
    let curves = |field: &ArrayD<f64>| -> Vec<(String, Vec<f64>)> {
        (0..regimes)
            .map(|k| {
                let label = format!("{} = {}", regime.name, regime.coordinate(k));
                (label, (0..state.points).map(|i| field[[i, k]]).collect())
            })
            .collect()
    };
    let mut written = Vec::new();
    let path = PathBuf::from(format!("{}_value.png", stem.display()));
    let when = if problem.is_stationary() { "stationary".to_string() } else { "t = 0".to_string() };
    write_lines_png(
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
        write_lines_png(
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

/// `|g(θ)|` of the von Neumann analysis, as `<directory>/<name>_von_neumann.png`; its path.
pub fn write_von_neumann_plot(
    directory: &Path,
    problem: &Problem,
    analysis: &VonNeumann,
    plan: &TimeStepPlan,
) -> Result<PathBuf> {
    let path = directory.join(format!("{}_von_neumann.png", problem.name));
    write_amplification_png(
        &path,
        analysis,
        &format!("{}: von Neumann amplification, Δt = {:.3e}", problem.name, plan.time_step),
    )?;
    Ok(path)
}

/// The closed-loop trajectory from `start`: over the stored value (2-D and more: first two
/// states) or, in 1-D, states and controls against time.
pub fn write_trajectory_plot(
    path: &Path,
    problem: &Problem,
    output: &OutputSettings,
    grid: &Grid,
    stored: &StoredResult,
    trajectory: &Trajectory,
    start: &[f64],
) -> Result<()> {
    let title = format!("{}: closed loop from {start:?}", problem.name);
    if grid.dimension() >= 2 {
        return write_field_png(
            path,
            &FieldPlot {
                grid,
                values: &stored.values,
                reference: None,
                title,
                field_name: format!("V({}, t = 0)", problem.state_names().join(", ")),
                overlay: Some(trajectory.states.iter().map(|x| (x[0], x[1])).collect()),
                contours: output.contours,
                zero_level_set: output.zero_level_set,
            },
        );
    }
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
    write_time_series_png(path, &title, &trajectory.times, &series)
}

/// A field stored in a result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredField {
    /// `/value`.
    Value,
    /// `/reference/value`.
    Reference,
    /// Value minus reference.
    Error,
    /// The policy of the control with this index.
    Policy(usize),
}

impl StoredField {
    /// `value`, `reference/value`, `error` or `policy/<control>`; `None` for anything else.
    pub fn parse(name: &str, control_names: &[String]) -> Option<StoredField> {
        match name {
            "value" => Some(StoredField::Value),
            "reference/value" => Some(StoredField::Reference),
            "error" => Some(StoredField::Error),
            other => other
                .strip_prefix("policy/")
                .and_then(|name| control_names.iter().position(|c| c == name))
                .map(StoredField::Policy),
        }
    }

    /// The field on the stored grid (the stored shape); `None` when it needs a reference the
    /// result lacks.
    pub fn values(self, stored: &StoredResult) -> Option<ArrayD<f64>> {
        match self {
            StoredField::Value => Some(stored.values.clone()),
            StoredField::Reference => stored.reference.clone(),
            StoredField::Error => Some(&stored.values - stored.reference.as_ref()?),
            StoredField::Policy(j) => Some(stored.policy[j].clone()),
        }
    }
}

/// A field restricted to fixed coordinates of some states.
#[derive(Debug, Clone)]
pub struct Slice {
    /// The grid of the free states.
    pub grid: Grid,
    /// The field interpolated (multilinearly) on that grid (of its shape).
    pub values: ArrayD<f64>,
    /// Indices of the free states.
    pub free: Vec<usize>,
    /// `name=value,…` of the fixed states (empty when none is fixed).
    pub label: String,
}

/// `values` on `grid`, with the states whose entry in `fixed` is `Some` held at that coordinate
/// (multilinear interpolation). At least one state must stay free and fixed coordinates must lie
/// in their axis' bounds.
pub fn slice_field(grid: &Grid, values: &ArrayD<f64>, fixed: &[Option<f64>]) -> Result<Slice> {
    let axes = grid.axes();
    if values.shape() != grid.shape().as_slice() {
        return Err(HjbError::InvalidGrid {
            message: format!("a field of shape {:?} on a grid of shape {:?}", values.shape(), grid.shape()),
        });
    }
    for (axis, value) in axes.iter().zip(fixed) {
        if let Some(value) = value {
            if !(*value >= axis.lower && *value <= axis.upper) {
                return Err(HjbError::InvalidGrid {
                    message: format!("{} = {value} is outside [{}, {}]", axis.name, axis.lower, axis.upper),
                });
            }
        }
    }
    let free: Vec<usize> = (0..axes.len()).filter(|k| fixed[*k].is_none()).collect();
    if free.is_empty() {
        return Err(HjbError::InvalidGrid { message: "a slice needs at least one free state".to_string() });
    }
    let sliced_grid = Grid::new(free.iter().map(|k| axes[*k].clone()).collect())?;
    let flat = row_major(values);
    let mut point = vec![0.0; axes.len()];
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
            grid.interpolate(&flat, &point)
        })
        .collect();
    let label: String = fixed
        .iter()
        .zip(axes)
        .filter_map(|(value, axis)| value.map(|v| format!("{}={v}", axis.name)))
        .collect::<Vec<_>>()
        .join(",");
    Ok(Slice { values: sliced_grid.field(sliced), grid: sliced_grid, free, label })
}

/// Default picture of a slice: beside the result, named after field and slice.
pub fn slice_plot_path(result: &Path, field: &str, slice: &Slice) -> PathBuf {
    let base = result.with_extension("");
    let field_part = field.replace('/', "_");
    let suffix = if slice.label.is_empty() {
        String::new()
    } else {
        format!("_{}", slice.label.replace(['=', ','], "_"))
    };
    PathBuf::from(format!("{}_{field_part}{suffix}.png", base.display()))
}

/// The picture of a slice of the stored field named `field` (contours and zero level set for
/// the value, as the problem's output settings ask).
pub fn write_slice_plot(
    path: &Path,
    problem: &Problem,
    output: &OutputSettings,
    field: &str,
    slice: &Slice,
) -> Result<()> {
    let names = problem.state_names();
    let free_names: Vec<String> = slice.free.iter().map(|k| names[*k].clone()).collect();
    if field == "value" && slice.label.is_empty() {
        // The whole value of a reachability problem: the set shaded (slices panel in ≥ 3-D).
        let picture = SetPicture {
            grid: &slice.grid,
            values: &slice.values,
            reference: None,
            title: problem.name.clone(),
            field_name: format!("V({}, t = 0)", free_names.join(", ")),
        };
        if write_reachable_png(path, problem, &picture)? {
            return Ok(());
        }
    }
    write_field_png(
        path,
        &FieldPlot {
            grid: &slice.grid,
            values: &slice.values,
            reference: None,
            title: if slice.label.is_empty() {
                format!("{}: {field}", problem.name)
            } else {
                format!("{}: {field} at {}", problem.name, slice.label)
            },
            field_name: format!("{field}({})", free_names.join(", ")),
            overlay: None,
            contours: if field == "value" { output.contours } else { 0 },
            zero_level_set: field == "value" && output.zero_level_set,
        },
    )
}
