//! The HDF5 result file (README, "Results you can use outside hjb"), written atomically.
//!
//! Layout: root attributes `state_names`, `control_names`, `hjb_version`, `scheme`,
//! `problem_toml`, `final_time`; `/grid/<state>` (1-D coordinates, the dimension scales attached
//! to every field); `/value` and `/policy/<control>` on the tensor grid at `t = 0`;
//! `/reference/value` and `/error` (= value − reference) when the problem has a reference;
//! `/diagnostics` (a group whose attributes are the run's numbers); `/time` and `/snapshots/…`
//! with snapshots, `/gradient/<state>` with gradients.
//!
//! The root is also the netCDF-4 view xarray opens (`io::netcdf`): `/<state>` is `/grid/<state>`,
//! `/policy_<control>`, `/reference_value`, `/gradient_<state>`, `/snapshots_value` and
//! `/snapshots_policy_<control>` are the fields of the groups under a second name, every field has
//! a `long_name` (and `units` where the problem gives them), and a regime problem has the regime
//! index `/regime` as an auxiliary coordinate.
//!
//! The file is written under a temporary name in the target folder and renamed into place, so a
//! crash never leaves a half-written result. `rust-hdf5` (pure Rust, pinned) stays behind this
//! module.

use super::netcdf::{self, RootNames};
use crate::error::{HjbError, Result};
use crate::grid::row_major;
use crate::problem::Problem;
use crate::settings::{OutputSettings, Settings};
use crate::solver::Solution;
use rust_hdf5::H5File;
use std::path::Path;

/// Write `solution` of `problem` to `path` atomically.
pub fn write_result(
    path: &Path,
    problem: &Problem,
    solution: &Solution,
    output: &OutputSettings,
) -> Result<()> {
    write_result_with(path, problem, solution, output, COMPRESS_ABOVE)
}

/// [`write_result`] with an explicit compression threshold (elements), and the XDMF sidecar
/// `<path without .h5>.xmf` for 2-D and 3-D grids so ParaView and VisIt open the fields.
pub fn write_result_with(
    path: &Path,
    problem: &Problem,
    solution: &Solution,
    output: &OutputSettings,
    compress_above: usize,
) -> Result<()> {
    write_atomically(path, |temporary| {
        write_contents(temporary, problem, solution, output.gradients, compress_above, &|_| Ok(()))
    })?;
    if (2..=3).contains(&problem.grid.dimension()) {
        let sidecar = path.with_extension("xmf");
        let text = xdmf(path, problem);
        crate::io::target::write_atomically(&sidecar, "", |temporary| std::fs::write(temporary, &text))?;
    }
    Ok(())
}

/// XDMF 3 description of the result's node-centred fields on a co-rectilinear mesh. Dimensions
/// are listed slowest axis first, as the HDF5 arrays are stored (ParaView's x is the last axis).
pub fn xdmf(path: &Path, problem: &Problem) -> String {
    let grid = &problem.grid;
    let origin: Vec<f64> = grid.axes().iter().map(|a| a.lower).collect();
    let body = xdmf_uniform_grid(path, problem, &problem.name, &grid.shape(), &origin, "    ");
    format!(
        "<?xml version=\"1.0\" ?>\n<!-- written by hjb {version}: axes (slowest first) {axes} -->\n<Xdmf Version=\"3.0\">\n  <Domain>\n{body}  </Domain>\n</Xdmf>\n",
        version = env!("CARGO_PKG_VERSION"),
        axes = problem.state_names().join(", "),
    )
}

/// One `<Grid GridType="Uniform">` element of an XDMF file: the node-centred fields of the result
/// file `path` on a co-rectilinear mesh of `shape` nodes from `origin` with `problem`'s spacings,
/// each line indented by `indent`.
pub(crate) fn xdmf_uniform_grid(
    path: &Path,
    problem: &Problem,
    name: &str,
    shape: &[usize],
    origin: &[f64],
    indent: &str,
) -> String {
    let grid = &problem.grid;
    let file = path.file_name().map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let join = |values: Vec<String>| values.join(" ");
    let dimensions = join(shape.iter().map(usize::to_string).collect());
    let origin = join(origin.iter().map(|lower| format!("{lower:e}")).collect());
    let spacing = join(grid.spacings().iter().map(|h| format!("{h:e}")).collect());
    let d = grid.dimension();
    let (topology, geometry) =
        if d == 2 { ("2DCoRectMesh", "ORIGIN_DXDY") } else { ("3DCoRectMesh", "ORIGIN_DXDYDZ") };
    let attribute = |name: &str, dataset: &str| {
        format!(
            "{indent}  <Attribute Name=\"{name}\" AttributeType=\"Scalar\" Center=\"Node\">\n{indent}    <DataItem Dimensions=\"{dimensions}\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">{file}:{dataset}</DataItem>\n{indent}  </Attribute>\n"
        )
    };
    let mut attributes = attribute("value", "/value");
    for name in problem.control_names() {
        attributes.push_str(&attribute(&format!("policy_{name}"), &format!("/policy/{name}")));
    }
    if problem.reference.is_some() {
        attributes.push_str(&attribute("error", "/error"));
    }
    format!(
        "{indent}<Grid Name=\"{name}\" GridType=\"Uniform\">\n{indent}  <Topology TopologyType=\"{topology}\" Dimensions=\"{dimensions}\"/>\n{indent}  <Geometry GeometryType=\"{geometry}\">\n{indent}    <DataItem Dimensions=\"{d}\" NumberType=\"Float\" Precision=\"8\" Format=\"XML\">{origin}</DataItem>\n{indent}    <DataItem Dimensions=\"{d}\" NumberType=\"Float\" Precision=\"8\" Format=\"XML\">{spacing}</DataItem>\n{indent}  </Geometry>\n{attributes}{indent}</Grid>\n",
    )
}

/// Run `write` on a temporary file beside `path`, then rename it into place (or remove it).
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> rust_hdf5::Result<()>,
) -> Result<()> {
    crate::io::target::write_atomically(path, "", write)
}

/// Write a refinement study: `/levels/{h, time_step, linf, l1, l2, order_linf, order_l1,
/// order_l2}` (orders NaN on the first level) and `/levels/points` (levels × axes). The netCDF-4
/// view: dimensions `level` (0, 1, …) and `state_name` (the state names), and each column linked
/// at the root (`/h` is `/levels/h`).
pub fn write_convergence(
    path: &Path,
    problem: &Problem,
    settings: &Settings,
    levels: &[crate::validate::Level],
) -> Result<()> {
    write_atomically(path, |temporary| {
        let file = H5File::create(temporary)?;
        let state_names = problem.state_names();
        file.set_attr_string_array("state_names", &as_str(&state_names))?;
        file.set_attr_string("hjb_version", env!("CARGO_PKG_VERSION"))?;
        file.set_attr_string("scheme", &settings.scheme_name())?;
        file.set_attr_string("problem_toml", &problem.source_text)?;
        let root = file.root_group();
        let level = netcdf::index_coordinate(&root, "level", levels.len(), "refinement level")?;
        let state = netcdf::label_coordinate(&root, "state_name", &as_str(&state_names), "state")?;
        let group = file.create_group("levels")?;
        let column = |name: &str, values: Vec<f64>, long_name: &str| -> rust_hdf5::Result<()> {
            let dataset = group.new_dataset::<f64>().shape([values.len()]).create(name)?;
            dataset.write_raw(&values)?;
            netcdf::attach(&dataset, &[&level])?;
            netcdf::describe(&dataset, long_name, "")?;
            netcdf::link_at_root(&root, name, &format!("/levels/{name}"))
        };
        let order = |o: Option<f64>| o.unwrap_or(f64::NAN);
        column("h", levels.iter().map(|l| l.h).collect(), "largest grid spacing")?;
        column("time_step", levels.iter().map(|l| l.time_step).collect(), "time step")?;
        column("linf", levels.iter().map(|l| l.linf).collect(), "error, max norm")?;
        column("l1", levels.iter().map(|l| l.l1).collect(), "error, L1 norm")?;
        column("l2", levels.iter().map(|l| l.l2).collect(), "error, L2 norm")?;
        column(
            "order_linf",
            levels.iter().map(|l| order(l.order_linf)).collect(),
            "observed order, max norm",
        )?;
        column("order_l1", levels.iter().map(|l| order(l.order_l1)).collect(), "observed order, L1 norm")?;
        column("order_l2", levels.iter().map(|l| order(l.order_l2)).collect(), "observed order, L2 norm")?;
        let dimension = problem.grid.dimension();
        let points: Vec<u64> = levels.iter().flat_map(|l| l.points.iter().map(|p| *p as u64)).collect();
        let dataset = group.new_dataset::<u64>().shape([levels.len(), dimension]).create("points")?;
        dataset.write_raw(&points)?;
        netcdf::attach(&dataset, &[&level, &state])?;
        netcdf::describe(&dataset, "grid points per axis", "")?;
        netcdf::link_at_root(&root, "points", "/levels/points")?;
        file.close()
    })
}

/// Fields with more elements than this are stored chunked and deflate-compressed.
pub const COMPRESS_ABOVE: usize = 1 << 18;
/// Target elements per chunk.
const CHUNK_ELEMENTS: usize = 1 << 16;

/// Create an f64 dataset of `shape` under `builder`, chunked + deflated when larger than
/// `compress_above` elements (chunk dimensions never exceed the dataset's).
fn field_builder(
    builder: rust_hdf5::dataset::DatasetBuilder<f64>,
    shape: &[usize],
    compress_above: usize,
) -> rust_hdf5::dataset::DatasetBuilder<f64> {
    let total: usize = shape.iter().product();
    let builder = builder.shape(shape);
    if total <= compress_above || total == 0 {
        return builder;
    }
    let mut chunk = shape.to_vec();
    for k in 0..chunk.len() {
        while chunk.iter().product::<usize>() > CHUNK_ELEMENTS && chunk[k] > 1 {
            chunk[k] = chunk[k].div_ceil(2);
        }
    }
    builder.chunk(&chunk).deflate(4)
}

/// `∂V/∂x_k` by central differences, one-sided at the ends of a bounded axis, wrapped on a
/// periodic one.
pub fn gradient(grid: &crate::grid::Grid, values: &[f64], k: usize) -> Vec<f64> {
    let axis = &grid.axes()[k];
    let (stride, size, h) = (grid.strides()[k], axis.points, axis.spacing());
    let mut index = vec![0usize; grid.dimension()];
    (0..grid.node_count())
        .map(|node| {
            grid.unravel_inplace(node, &mut index);
            let i = index[k];
            let (back, back_steps) = if i > 0 {
                (values[node - stride], 1.0)
            } else if axis.periodic {
                (values[node + (size - 1) * stride], 1.0)
            } else {
                (values[node], 0.0)
            };
            let (front, front_steps) = if i + 1 < size {
                (values[node + stride], 1.0)
            } else if axis.periodic {
                (values[node - (size - 1) * stride], 1.0)
            } else {
                (values[node], 0.0)
            };
            (front - back) / ((front_steps + back_steps) * h)
        })
        .collect()
}

pub(crate) fn as_str(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// The contents of a result file written to `path` (not atomically: see [`write_result`]), with
/// `extra` adding its own datasets before the file is closed (the block files of
/// `crate::io::blocks`).
pub(crate) fn write_contents(
    path: &Path,
    problem: &Problem,
    solution: &Solution,
    gradients: bool,
    compress_above: usize,
    extra: &dyn Fn(&H5File) -> rust_hdf5::Result<()>,
) -> rust_hdf5::Result<()> {
    let file = H5File::create(path)?;
    let state_names = problem.state_names();
    let control_names = problem.control_names();
    file.set_attr_string_array("state_names", &as_str(&state_names))?;
    file.set_attr_string_array("control_names", &as_str(&control_names))?;
    file.set_attr_string("hjb_version", env!("CARGO_PKG_VERSION"))?;
    file.set_attr_string("scheme", &solution.diagnostics.settings.scheme_name())?;
    file.set_attr_string("problem_name", &problem.name)?;
    file.set_attr_string("description", &problem.description)?;
    file.set_attr_string("problem_toml", &problem.source_text)?;
    if !problem.is_stationary() {
        file.set_attr_numeric("final_time", &problem.final_time)?;
    }
    file.set_attr_numeric("partial", &u8::from(solution.stopped.is_some()))?;
    if let Some(reason) = &solution.stopped {
        file.set_attr_string("stopped", reason)?;
    }

    // The documented paths own their root names whether or not this file has them (the reader
    // takes a root `/time` for snapshots); the xarray view's names come after (see io::netcdf).
    let root = file.root_group();
    let mut names = RootNames::reserving(&[
        "value",
        "error",
        "time",
        "grid",
        "policy",
        "reference",
        "gradient",
        "snapshots",
        "diagnostics",
    ]);
    let shape = problem.grid.shape();
    let grid_group = file.create_group("grid")?;
    let regime_axis = problem.switching.as_ref().map(|switching| switching.axis);
    let mut scales = Vec::new();
    for (k, axis) in problem.grid.axes().iter().enumerate() {
        let long_name = if regime_axis == Some(k) {
            format!("regime variable {}", axis.name)
        } else {
            format!("state {}", axis.name)
        };
        // `/grid/x` is the dimension `x`, also named `/x` (or a copy at the root under another
        // name when a documented root name owns it: see `netcdf::state_axis_scale`).
        let coordinates = axis.coordinates();
        scales.push(netcdf::state_axis_scale(
            &root,
            &grid_group,
            &mut names,
            &axis.name,
            &coordinates,
            &long_name,
            &axis.units,
        )?);
    }
    let scales: Vec<&rust_hdf5::H5Dataset> = scales.iter().collect();
    // A regime problem: the regime index 0, 1, … along the regime axis, an auxiliary coordinate
    // every field names in its CF `coordinates` attribute.
    let regime_index = match regime_axis {
        Some(k) if problem.grid.axes()[k].name != "regime" => {
            let name = names.claim("regime");
            let dataset = root.new_dataset::<i64>().shape([shape[k]]).create(&name)?;
            dataset.write_raw(&(0..shape[k] as i64).collect::<Vec<_>>())?;
            netcdf::attach(&dataset, &[scales[k]])?;
            netcdf::describe(&dataset, "regime index", "")?;
            Some(name)
        }
        _ => None,
    };
    let at_start = if problem.is_stationary() { String::new() } else { " at t = 0".to_string() };
    // One field on the grid: written under `group`, dimensions attached, described, and given
    // the root name `alias` when it lives in a group.
    let field = |group: &rust_hdf5::H5Group,
                 name: &str,
                 data: &[f64],
                 long_name: &str,
                 units: &str,
                 names: &mut RootNames|
     -> rust_hdf5::Result<rust_hdf5::H5Dataset> {
        let dataset = field_builder(group.new_dataset::<f64>(), &shape, compress_above).create(name)?;
        dataset.write_raw(data)?;
        netcdf::attach(&dataset, &scales)?;
        netcdf::describe(&dataset, long_name, units)?;
        if let Some(regime) = &regime_index {
            netcdf::set_text(&dataset, "coordinates", regime)?;
        }
        if group.name() != "/" {
            let path = format!("{}/{name}", group.name());
            let alias = names.claim(&path.trim_start_matches('/').replace('/', "_"));
            netcdf::link_at_root(&root, &alias, &path)?;
        }
        Ok(dataset)
    };

    field(
        &root,
        "value",
        &row_major(&solution.values),
        &format!("value function{at_start}"),
        "",
        &mut names,
    )?;

    let policy_group = file.create_group("policy")?;
    for ((name, field_values), control) in control_names.iter().zip(&solution.policy).zip(&problem.controls) {
        field(
            &policy_group,
            name,
            &row_major(field_values),
            &format!("optimal control {name}{at_start}"),
            &control.units,
            &mut names,
        )?;
    }

    if let Some(reference) = &solution.reference {
        let group = file.create_group("reference")?;
        field(
            &group,
            "value",
            &row_major(reference),
            &format!("reference value function{at_start}"),
            "",
            &mut names,
        )?;
        let error: Vec<f64> = solution.values.iter().zip(reference).map(|(v, r)| v - r).collect();
        field(&root, "error", &error, &format!("value minus reference{at_start}"), "", &mut names)?;
        if let Some(norms) = &solution.error {
            group.set_attr_numeric("error_linf", &norms.linf)?;
            group.set_attr_numeric("error_l1", &norms.l1)?;
            group.set_attr_numeric("error_l2", &norms.l2)?;
            group.set_attr_string("error_region", &norms.region.describe(&state_names))?;
        }
    }

    if gradients {
        let group = file.create_group("gradient")?;
        for (k, axis) in problem.grid.axes().iter().enumerate() {
            let derivative = gradient(&problem.grid, &row_major(&solution.values), k);
            field(
                &group,
                &axis.name,
                &derivative,
                &format!("derivative of the value function along {}{at_start}", axis.name),
                "",
                &mut names,
            )?;
        }
    }
    if let Some(snapshots) = &solution.snapshots {
        let count = snapshots.times.len();
        let time = netcdf::coordinate(&root, "time", &snapshots.times, "time", "")?;
        let mut stacked_scales = vec![&time];
        stacked_scales.extend(&scales);
        let mut stacked_shape = vec![count];
        stacked_shape.extend(&shape);
        let group = file.create_group("snapshots")?;
        let policy = group.create_group("policy")?;
        let stacked_fields = std::iter::once((
            &group,
            "value",
            snapshots.values.iter().flatten().copied().collect::<Vec<f64>>(),
            "value function".to_string(),
            "",
        ))
        .chain(control_names.iter().zip(&problem.controls).enumerate().map(
            |(j, (name, control))| {
                (
                    &policy,
                    name.as_str(),
                    snapshots.policies.iter().flat_map(|p| p[j].iter().copied()).collect(),
                    format!("optimal control {name}"),
                    control.units.as_str(),
                )
            },
        ));
        for (group, name, stacked, long_name, units) in stacked_fields {
            let dataset =
                field_builder(group.new_dataset::<f64>(), &stacked_shape, compress_above).create(name)?;
            dataset.write_raw(&stacked)?;
            netcdf::attach(&dataset, &stacked_scales)?;
            netcdf::describe(&dataset, &long_name, units)?;
            if let Some(regime) = &regime_index {
                netcdf::set_text(&dataset, "coordinates", regime)?;
            }
            let path = format!("{}/{name}", group.name());
            let alias = names.claim(&path.trim_start_matches('/').replace('/', "_"));
            netcdf::link_at_root(&root, &alias, &path)?;
        }
    }

    let diagnostics = &solution.diagnostics;
    let group = file.create_group("diagnostics")?;
    group.set_attr_string("scheme", &diagnostics.settings.scheme_name())?;
    group.set_attr_string("choice", diagnostics.settings.choice.name())?;
    group.set_attr_string("choice_reason", diagnostics.settings.choice.reason())?;
    group.set_attr_string("hamiltonian", &diagnostics.hamiltonian)?;
    group.set_attr_numeric("time_step", &diagnostics.time_step)?;
    group.set_attr_numeric("steps", &(diagnostics.steps as u64))?;
    group.set_attr_numeric("time_step_max", &diagnostics.time_step_max)?;
    group.set_attr_numeric("cfl", &diagnostics.cfl_number)?;
    group.set_attr_numeric("monotone", &u8::from(diagnostics.monotone))?;
    group.set_attr_numeric("seconds", &diagnostics.seconds)?;
    group.set_attr_numeric("threads", &(diagnostics.threads as u64))?;
    if let Some(report) = &diagnostics.implicit {
        group.set_attr_numeric("iterations_most", &(report.most_iterations as u64))?;
        group.set_attr_numeric("iterations_mean", &report.mean_iterations)?;
        group.set_attr_numeric("residual", &report.last_change)?;
        group.set_attr_numeric("m_matrix_margin", &report.margin)?;
        group.set_attr_string("linear_solver", report.linear_solver.name())?;
        group.set_attr_numeric("linear_solves", &(report.linear_solves as u64))?;
        group.set_attr_numeric("linear_iterations", &(report.linear_iterations as u64))?;
        group.set_attr_numeric("linear_iterations_most", &(report.linear_iterations_most as u64))?;
        group.set_attr_numeric("linear_residual", &report.linear_residual)?;
        group.set_attr_numeric("linear_tolerance", &report.linear_tolerance)?;
    }
    if let Some(game) = &diagnostics.game {
        group.set_attr_string("game", game)?;
    }
    if let Some(reach) = &diagnostics.reachable {
        group.set_attr_string("reachability", &reach.mode)?;
        group.set_attr_numeric("inside_fraction", &reach.inside_fraction)?;
        group.set_attr_numeric("inside_nodes", &(reach.inside_nodes as u64))?;
    }
    if let Some(mpi) = &diagnostics.distributed {
        let dims: Vec<String> = mpi.dims.iter().map(usize::to_string).collect();
        group.set_attr_numeric("mpi_ranks", &(mpi.ranks as u64))?;
        group.set_attr_string("mpi_method", &mpi.method)?;
        if let Some(sweeps) = mpi.outer_sweeps {
            group.set_attr_numeric("mpi_outer_sweeps", &(sweeps as u64))?;
        }
        group.set_attr_string("mpi_blocks", &dims.join("x"))?;
        group.set_attr_numeric("mpi_halo", &(mpi.halo as u64))?;
        group.set_attr_numeric("mpi_halo_bytes_per_step", &(mpi.halo_bytes_per_step as u64))?;
        group.set_attr_numeric("mpi_largest_block_nodes", &(mpi.largest_block_nodes as u64))?;
        group.set_attr_numeric("mpi_communication_seconds", &mpi.communication_seconds)?;
    }
    if let Some(report) = &diagnostics.sweeping {
        group.set_attr_numeric("sweeps", &(report.sweeps as u64))?;
        group.set_attr_numeric("sweep_orderings", &(report.orderings as u64))?;
        group.set_attr_numeric("residual", &report.last_change)?;
    }
    if let Some(report) = &diagnostics.high_order {
        group.set_attr_string("derivatives", report.derivatives.name())?;
        group.set_attr_string("time_integrator", report.integrator.name())?;
        if let Some(dissipation) = report.dissipation {
            group.set_attr_string("dissipation", dissipation.name())?;
        }
    }
    if let Some(report) = &diagnostics.semi_lagrangian {
        group.set_attr_numeric("displacement_cells", &report.displacement_cells)?;
        group.set_attr_numeric("consistency_term", &report.consistency_term)?;
        group.set_attr_numeric("feet_outside", &(report.feet_outside as u64))?;
        group.set_attr_numeric("extrapolated_nodes", &(report.extrapolated_nodes as u64))?;
        group.set_attr_string("characteristic", report.characteristic)?;
        group.set_attr_numeric("refine", &u8::from(report.refine))?;
    }
    group.set_attr_string_array(
        "boundaries",
        &diagnostics.boundaries.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    extra(&file)?;
    file.close()
}

pub use crate::simulate::StoredResult;

/// Read a result file written by [`write_result`].
/// An index of block files (`crate::io::blocks`) is stitched into the whole result; the XDMF
/// file beside a result (`R.xmf`) stands for the result `R.h5`.
pub fn read_result(path: &Path) -> Result<StoredResult> {
    if path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("xmf")) {
        return read_result(&path.with_extension("h5"));
    }
    let fail = |error: rust_hdf5::Hdf5Error| HjbError::ReadResult {
        path: path.to_path_buf(),
        message: format!("not a result file of `hjb solve` ({error})"),
    };
    if let Err(error) = std::fs::metadata(path) {
        return Err(HjbError::ReadResult { path: path.to_path_buf(), message: error.to_string() });
    }
    let file = H5File::open(path).map_err(fail)?;
    if file.attr_string(super::blocks::BLOCK_FILES).is_ok() {
        // The index of a result written as one block file per process: stitched.
        drop(file);
        return super::blocks::read_stitched(path);
    }
    let scheme = file.attr_string("scheme").map_err(fail)?;
    let problem_toml = file.attr_string("problem_toml").map_err(fail)?;
    // The names (in axis order) come from the stored problem text, which is the source of truth
    // for everything but the point counts (those are read from /grid).
    let problem = crate::problem::parse_problem(&problem_toml, path)?.problem;
    let state_names = problem.state_names();
    let control_names = problem.control_names();
    let mut coordinates = Vec::new();
    for name in &state_names {
        coordinates
            .push(file.dataset(&format!("grid/{name}")).map_err(fail)?.read_raw::<f64>().map_err(fail)?);
    }
    // The grid is what /grid says; every field must have its shape (a malformed file is refused
    // here rather than indexed out of bounds later).
    let shape: Vec<usize> = coordinates.iter().map(Vec::len).collect();
    let nodes: usize = shape.iter().product();
    let malformed = |message: String| HjbError::ReadResult { path: path.to_path_buf(), message };
    let field = |name: &str| -> Result<ndarray::ArrayD<f64>> {
        let dataset = file.dataset(name).map_err(fail)?;
        let stored_shape = dataset.shape();
        let flat = dataset.read_raw::<f64>().map_err(fail)?;
        if stored_shape != shape || flat.len() != nodes {
            return Err(malformed(format!(
                "/{name} has shape {stored_shape:?} and {} values; the grid ({}) has shape {shape:?}",
                flat.len(),
                state_names.join(", ")
            )));
        }
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), flat)
            .map_err(|error| malformed(format!("/{name}: {error}")))
    };
    let values = field("value")?;
    let mut policy = Vec::new();
    for name in &control_names {
        policy.push(field(&format!("policy/{name}"))?);
    }
    let reference = match file.dataset("reference/value") {
        Ok(_) => Some(field("reference/value")?),
        Err(_) => None,
    };
    let stopped = file.attr_string("stopped").ok();
    let snapshots = match file.dataset("time") {
        Err(_) => None,
        Ok(time) => {
            let times = time.read_raw::<f64>().map_err(fail)?;
            // A stack of `times.len()` fields of the grid's shape, split into one array per level.
            let stack = |name: &str| -> Result<Vec<ndarray::ArrayD<f64>>> {
                let flat = file.dataset(name).map_err(fail)?.read_raw::<f64>().map_err(fail)?;
                if flat.len() != times.len() * nodes {
                    return Err(malformed(format!(
                        "/{name} has {} values; {} levels of the grid's shape {shape:?} need {}",
                        flat.len(),
                        times.len(),
                        times.len() * nodes
                    )));
                }
                (0..times.len())
                    .map(|k| {
                        let level = flat[k * nodes..(k + 1) * nodes].to_vec();
                        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), level)
                            .map_err(|error| malformed(format!("/{name}: {error}")))
                    })
                    .collect()
            };
            let values = stack("snapshots/value")?;
            let mut per_control = Vec::new();
            for name in &control_names {
                per_control.push(stack(&format!("snapshots/policy/{name}"))?);
            }
            let policies =
                (0..times.len()).map(|k| per_control.iter().map(|c| c[k].clone()).collect()).collect();
            Some(crate::solver::Snapshots { times, values, policies })
        }
    };
    Ok(StoredResult {
        snapshots,
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

/// Write a closed-loop trajectory: `/trajectory/{time, state, control, running_cost}` (state and
/// control as steps × dimension), root attributes `cost`, `value_at_start`, `state_names`,
/// `control_names`, `source` (the result file it came from). The netCDF-4 view: the dimension
/// `time` (`/time` is `/trajectory/time`), `state_name` and `control_name` in `/trajectory`, and
/// at the root one variable per state and per control over `time` (as in the CSV) and
/// `running_cost`.
pub fn write_trajectory(
    path: &Path,
    problem: &Problem,
    trajectory: &crate::simulate::Trajectory,
    source: &Path,
) -> Result<()> {
    write_atomically(path, |temporary| {
        let file = H5File::create(temporary)?;
        let state_names = problem.state_names();
        let control_names = problem.control_names();
        file.set_attr_string_array("state_names", &as_str(&state_names))?;
        file.set_attr_string_array("control_names", &as_str(&control_names))?;
        file.set_attr_string("hjb_version", env!("CARGO_PKG_VERSION"))?;
        file.set_attr_string("source", &source.display().to_string())?;
        file.set_attr_numeric("cost", &trajectory.cost)?;
        file.set_attr_numeric("value_at_start", &trajectory.value_at_start)?;
        let root = file.root_group();
        let mut names = RootNames::reserving(&["trajectory", "time", "running_cost"]);
        let group = file.create_group("trajectory")?;
        let steps = trajectory.times.len();
        let time = netcdf::coordinate(&group, "time", &trajectory.times, "time", "")?;
        netcdf::link_at_root(&root, "time", "/trajectory/time")?;
        let n = problem.grid.dimension();
        let m = problem.controls.len();
        let states: Vec<f64> = trajectory.states.iter().flatten().copied().collect();
        let state = group.new_dataset::<f64>().shape([steps, n]).create("state")?;
        state.write_raw(&states)?;
        let state_name = netcdf::label_coordinate(&group, "state_name", &as_str(&state_names), "state")?;
        netcdf::attach(&state, &[&time, &state_name])?;
        netcdf::describe(&state, "state", "")?;
        let controls: Vec<f64> = trajectory.controls.iter().flatten().copied().collect();
        let control = group.new_dataset::<f64>().shape([steps, m]).create("control")?;
        control.write_raw(&controls)?;
        netcdf::describe(&control, "control applied", "")?;
        if m > 0 {
            let control_name =
                netcdf::label_coordinate(&group, "control_name", &as_str(&control_names), "control")?;
            netcdf::attach(&control, &[&time, &control_name])?;
        }
        let running_cost = group.new_dataset::<f64>().shape([steps]).create("running_cost")?;
        running_cost.write_raw(&trajectory.running_cost)?;
        netcdf::attach(&running_cost, &[&time])?;
        netcdf::describe(&running_cost, "accumulated discounted running cost", "")?;
        netcdf::link_at_root(&root, "running_cost", "/trajectory/running_cost")?;
        // One column per state and per control at the root, as in the CSV.
        let columns = problem
            .grid
            .axes()
            .iter()
            .enumerate()
            .map(|(i, axis)| (&axis.name, &axis.units, "state", i, &trajectory.states))
            .chain(
                problem
                    .controls
                    .iter()
                    .enumerate()
                    .map(|(j, c)| (&c.name, &c.units, "control", j, &trajectory.controls)),
            );
        for (name, units, kind, index, rows) in columns {
            let column: Vec<f64> = rows.iter().map(|row| row[index]).collect();
            let dataset = root.new_dataset::<f64>().shape([steps]).create(&names.claim(name))?;
            dataset.write_raw(&column)?;
            netcdf::attach(&dataset, &[&time])?;
            netcdf::describe(&dataset, &format!("{kind} {name}"), units)?;
        }
        file.close()
    })
}

/// Write the MDP of the README's MDP bridge (`/mdp/...`, CSR per action as scipy.sparse reads it)
/// and the solution of one method, atomically. The netCDF-4 view: dimensions `node` (the grid
/// nodes in row-major order), `action`, `state_name` and `control_name`, and the per-node and
/// per-action arrays linked at the root (`/value` is `/mdp/value`); the CSR arrays stay as they
/// are, without dimensions.
pub fn write_mdp(
    path: &Path,
    problem: &Problem,
    mdp: &crate::mdp::Mdp,
    solution: &crate::mdp::MdpSolution,
) -> Result<()> {
    write_atomically(path, |temporary| {
        let file = H5File::create(temporary)?;
        let state_names = problem.state_names();
        let control_names = problem.control_names();
        file.set_attr_string("hjb_version", env!("CARGO_PKG_VERSION"))?;
        file.set_attr_string("problem_toml", &problem.source_text)?;
        file.set_attr_string_array("state_names", &as_str(&state_names))?;
        file.set_attr_string_array("control_names", &as_str(&control_names))?;
        file.set_attr_numeric("discount", &mdp.discount)?;
        file.set_attr_numeric("time_step", &mdp.time_step)?;
        file.set_attr_string("chain", mdp.chain.name())?;
        let root = file.root_group();
        let node = netcdf::index_coordinate(&root, "node", mdp.nodes, "grid node (row-major)")?;
        let action = netcdf::index_coordinate(&root, "action", mdp.action_count, "action (control sample)")?;
        let state_name = netcdf::label_coordinate(&root, "state_name", &as_str(&state_names), "state")?;
        // Without controls the actions array keeps one (zero) column.
        let control_labels = if control_names.is_empty() { vec!["none"] } else { as_str(&control_names) };
        let control_name = netcdf::label_coordinate(&root, "control_name", &control_labels, "control")?;
        let group = file.create_group("mdp")?;
        group.set_attr_string("method", solution.method.name())?;
        group.set_attr_numeric("iterations", &(solution.iterations as u64))?;
        group.set_attr_numeric("error_bound", &solution.error_bound)?;
        // An array of /mdp with its dimensions and description, linked at the root.
        let labelled = |dataset: rust_hdf5::H5Dataset,
                        name: &str,
                        scales: &[&rust_hdf5::H5Dataset],
                        long_name: &str|
         -> rust_hdf5::Result<()> {
            netcdf::attach(&dataset, scales)?;
            netcdf::describe(&dataset, long_name, "")?;
            netcdf::link_at_root(&root, name, &format!("/mdp/{name}"))
        };
        let n = problem.grid.dimension();
        let coordinates = problem.grid.coordinate_columns();
        let states: Vec<f64> = (0..mdp.nodes).flat_map(|x| coordinates.iter().map(move |c| c[x])).collect();
        let dataset = group.new_dataset::<f64>().shape([mdp.nodes, n]).create("states")?;
        dataset.write_raw(&states)?;
        labelled(dataset, "states", &[&node, &state_name], "state of each node")?;
        let m = mdp.control_dimension();
        let dataset = group.new_dataset::<f64>().shape([mdp.action_count, m.max(1)]).create("actions")?;
        dataset.write_raw(&if m == 0 { vec![0.0; mdp.action_count] } else { mdp.actions.clone() })?;
        labelled(dataset, "actions", &[&action, &control_name], "control of each action")?;
        let dataset = group.new_dataset::<f64>().shape([mdp.nodes, mdp.action_count]).create("cost")?;
        dataset.write_raw(&mdp.cost)?;
        labelled(dataset, "cost", &[&node, &action], "stage cost")?;
        let terminal: Vec<u8> = mdp.terminal.iter().map(|t| u8::from(*t)).collect();
        let dataset = group.new_dataset::<u8>().shape([mdp.nodes]).create("terminal")?;
        dataset.write_raw(&terminal)?;
        labelled(dataset, "terminal", &[&node], "terminal node (1) or not (0)")?;
        let dataset = group.new_dataset::<f64>().shape([mdp.nodes]).create("terminal_value")?;
        dataset.write_raw(&mdp.terminal_value)?;
        labelled(dataset, "terminal_value", &[&node], "value at terminal nodes")?;
        let dataset = group.new_dataset::<f64>().shape([mdp.nodes]).create("value")?;
        dataset.write_raw(&solution.value)?;
        labelled(dataset, "value", &[&node], "value of the MDP")?;
        let policy: Vec<i64> = solution.policy.iter().map(|a| *a as i64).collect();
        let dataset = group.new_dataset::<i64>().shape([mdp.nodes]).create("policy")?;
        dataset.write_raw(&policy)?;
        labelled(dataset, "policy", &[&node], "optimal action")?;
        let transitions = group.create_group("transitions")?;
        for a in 0..mdp.action_count {
            let matrix = mdp.action_matrix(a);
            let action = transitions.create_group(&a.to_string())?;
            action.set_attr_numeric("shape_rows", &(mdp.nodes as u64))?;
            let indptr: Vec<i64> = matrix.indptr.iter().map(|v| *v as i64).collect();
            let indices: Vec<i64> = matrix.indices.iter().map(|v| *v as i64).collect();
            action.new_dataset::<i64>().shape([indptr.len()]).create("indptr")?.write_raw(&indptr)?;
            action.new_dataset::<i64>().shape([indices.len()]).create("indices")?.write_raw(&indices)?;
            action.new_dataset::<f64>().shape([matrix.data.len()]).create("data")?.write_raw(&matrix.data)?;
        }
        file.close()
    })
}
