//! Every file hjb writes reads as netCDF-4 (what `xarray.open_dataset(path, engine="h5netcdf")`
//! and netCDF-C see): each variable's axes resolve — by the rule h5netcdf applies, the link name
//! of the last scale in `DIMENSION_LIST` — to dimension scales visible from its group, in the
//! order of its axes, with the data's lengths and the grid's coordinates; each scale lists the
//! variable in its `REFERENCE_LIST`; each variable has a `long_name` (and `units` where the
//! problem gives them). The documented h5py paths stay the same objects. No Python needed.

mod common;

use rust_hdf5::format::global_heap::{decode_vlen_reference, vlen_reference_size, GlobalHeapCollection};
use rust_hdf5::format::FormatContext;
use rust_hdf5::{DatatypeMessage, H5Dataset, H5File, H5Group};
use std::collections::HashMap;
use std::path::Path;

/// One HDF5 file as a netCDF-4 reader sees it.
struct NetcdfView {
    file: H5File,
    bytes: Vec<u8>,
    /// Object header address of every dataset path (hard links share one).
    address: HashMap<String, u64>,
}

/// Every dataset path under `group`, recursively.
fn dataset_paths(group: &H5Group, prefix: &str, out: &mut Vec<String>) {
    for name in group.dataset_names().unwrap() {
        out.push(format!("{prefix}/{name}"));
    }
    for name in group.group_names().unwrap() {
        dataset_paths(&group.group(&name).unwrap(), &format!("{prefix}/{name}"), out);
    }
}

impl NetcdfView {
    fn open(path: &Path) -> NetcdfView {
        let file = H5File::open(path).unwrap();
        let mut paths = Vec::new();
        dataset_paths(&file.root_group(), "", &mut paths);
        // rust-hdf5 has no public object address: write object references to every dataset into
        // a copy of the file and read their addresses back. The lists below are read from the
        // original, so a copy whose objects had moved would fail the checks, not pass them.
        let copy = path.with_extension("addresses.h5");
        std::fs::copy(path, &copy).unwrap();
        {
            let writer = H5File::open_rw(&copy).unwrap();
            let references = writer
                .new_dataset::<u64>()
                .object_references()
                .shape([paths.len()])
                .create("__addresses")
                .unwrap();
            references
                .write_object_references(&paths.iter().map(String::as_str).collect::<Vec<_>>())
                .unwrap();
            writer.close().unwrap();
        }
        let references =
            H5File::open(&copy).unwrap().dataset("__addresses").unwrap().read_references().unwrap();
        let address = paths.iter().cloned().zip(references.iter().map(|r| r.address().unwrap())).collect();
        std::fs::remove_file(&copy).unwrap();
        NetcdfView { file, bytes: std::fs::read(path).unwrap(), address }
    }

    fn dataset(&self, path: &str) -> H5Dataset {
        self.file.dataset(path.trim_start_matches('/')).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Whether two paths name the same object (a hard link).
    fn same_object(&self, a: &str, b: &str) -> bool {
        self.address[a] == self.address[b]
    }

    /// The addresses of the scales attached to each axis of `path` (its `DIMENSION_LIST`).
    fn dimension_list(&self, path: &str) -> Vec<Vec<u64>> {
        let attribute = self.dataset(path).attr("DIMENSION_LIST").unwrap_or_else(|e| panic!("{path}: {e}"));
        match attribute.datatype().unwrap() {
            DatatypeMessage::VarLenSequence { base } => {
                assert!(
                    matches!(*base, DatatypeMessage::Reference { .. }),
                    "{path}: DIMENSION_LIST of {base}"
                )
            }
            other => panic!("{path}: DIMENSION_LIST is {other}"),
        }
        let context = FormatContext::default_v3();
        let raw = attribute.read_raw().unwrap();
        raw.chunks_exact(vlen_reference_size(&context))
            .map(|element| {
                let (count, collection, index) = decode_vlen_reference(element, &context).unwrap();
                let (heap, _) =
                    GlobalHeapCollection::decode(&self.bytes[collection as usize..], &context).unwrap();
                let object = heap.get_object(index as u16).unwrap();
                (0..count as usize)
                    .map(|k| u64::from_le_bytes(object[8 * k..8 * k + 8].try_into().unwrap()))
                    .collect()
            })
            .collect()
    }

    /// `(dataset address, axis)` of each attachment in the scale's `REFERENCE_LIST`.
    fn reference_list(&self, path: &str) -> Vec<(u64, u32)> {
        let attribute = self.dataset(path).attr("REFERENCE_LIST").unwrap_or_else(|e| panic!("{path}: {e}"));
        let DatatypeMessage::Compound { size, members } = attribute.datatype().unwrap() else {
            panic!("{path}: REFERENCE_LIST is not a compound");
        };
        let offset = |name: &str| members.iter().find(|m| m.name == name).unwrap().offset as usize;
        let (dataset, dimension) = (offset("dataset"), offset("dimension"));
        attribute
            .read_raw()
            .unwrap()
            .chunks_exact(size as usize)
            .map(|entry| {
                (
                    u64::from_le_bytes(entry[dataset..dataset + 8].try_into().unwrap()),
                    u32::from_le_bytes(entry[dimension..dimension + 4].try_into().unwrap()),
                )
            })
            .collect()
    }

    /// The dimensions of the variable at `path`, as h5netcdf names them, after checking that
    /// each resolves to a dimension scale visible from the variable's group, of the axis's
    /// length, that lists the variable on that axis.
    fn dimensions(&self, path: &str) -> Vec<String> {
        let shape = self.dataset(path).shape();
        let lists = self.dimension_list(path);
        assert_eq!(lists.len(), shape.len(), "{path}: one DIMENSION_LIST entry per axis");
        let group = &path[..path.rfind('/').unwrap()];
        lists
            .iter()
            .enumerate()
            .map(|(axis, scales)| {
                // h5netcdf (and netCDF-C) take the last scale attached to an axis.
                let scale = *scales.last().unwrap_or_else(|| panic!("{path}: no scale on axis {axis}"));
                let named: Vec<&String> =
                    self.address.iter().filter(|(_, a)| **a == scale).map(|(p, _)| p).collect();
                let name = named[0].rsplit('/').next().unwrap().to_string();
                assert!(
                    named.iter().all(|p| p.ends_with(&format!("/{name}"))),
                    "{path}: the scale of axis {axis} has links of different names {named:?}"
                );
                // The dimension `name` as the variable's group sees it: the nearest scale
                // `<group>/name` (a dataset that is not a scale defines no dimension).
                let mut visible = None;
                let mut ancestor = group.to_string();
                loop {
                    let candidate = format!("{ancestor}/{name}");
                    if self.address.contains_key(&candidate) && self.is_scale(&candidate) {
                        visible = Some(candidate);
                        break;
                    }
                    match ancestor.rfind('/') {
                        Some(cut) => ancestor.truncate(cut),
                        None => break,
                    }
                }
                let visible = visible.unwrap_or_else(|| panic!("{path}: dimension {name} is not visible"));
                assert_eq!(
                    self.address[&visible], scale,
                    "{path}: {visible} is another object than its scale"
                );
                let dimension = self.dataset(&visible);
                assert_eq!(dimension.shape(), vec![shape[axis]], "{path}: length of dimension {name}");
                assert!(
                    self.reference_list(&visible).contains(&(self.address[path], axis as u32)),
                    "{visible} does not list {path} axis {axis}"
                );
                name
            })
            .collect()
    }

    /// Whether the dataset at `path` is a dimension scale (`CLASS = "DIMENSION_SCALE"`).
    fn is_scale(&self, path: &str) -> bool {
        self.text(path, "CLASS").as_deref() == Some("DIMENSION_SCALE")
    }

    fn text(&self, path: &str, attribute: &str) -> Option<String> {
        self.dataset(path).attr(attribute).ok().map(|a| a.read_string().unwrap())
    }

    fn values(&self, path: &str) -> Vec<f64> {
        self.dataset(path).read_raw::<f64>().unwrap()
    }
}

/// The double integrator with units on its states and control, at 41 × 31 points, with
/// gradients and its 21 snapshots.
fn double_integrator_with_units() -> hjb::ProblemFile {
    let text =
        std::fs::read_to_string(common::repository_path("problems/lqr_double_integrator.toml")).unwrap();
    let text = text
        .replace("name = \"x\"\n", "name = \"x\"\nunits = \"m\"\n")
        .replace("name = \"v\"\n", "name = \"v\"\nunits = \"m/s\"\n")
        .replace("[lqr]", "[[control]]\nname = \"u\"\nbounds = [-9.0, 9.0]\nunits = \"N\"\n\n[lqr]");
    let mut file = hjb::parse_problem(&text, Path::new("lqr_double_integrator.toml")).unwrap();
    file.problem = file.problem.with_points(&[41, 31]).unwrap();
    file.output.gradients = true;
    file
}

#[test]
fn a_result_file_is_a_netcdf_dataset_over_the_grid_and_the_stored_times() {
    let file = double_integrator_with_units();
    let problem = &file.problem;
    let solution = hjb::solve(problem, &file.settings().unwrap(), &mut hjb::Silent).unwrap();
    let snapshots = solution.snapshots.as_ref().unwrap();
    assert_eq!(snapshots.times.len(), 21);
    let path = common::scratch_directory("netcdf_result").join("result.h5");
    hjb::io::hdf5::write_result(&path, problem, &solution, &file.output).unwrap();
    let view = NetcdfView::open(&path);

    // The coordinates: /x is /grid/x (the documented path), a dimension scale with the grid's
    // nodes, units and long name.
    let axes = problem.grid.axes();
    for (name, axis, units) in [("x", &axes[0], "m"), ("v", &axes[1], "m/s")] {
        assert!(view.same_object(&format!("/{name}"), &format!("/grid/{name}")));
        assert_eq!(view.values(&format!("/{name}")), axis.coordinates());
        assert_eq!(view.text(&format!("/{name}"), "units").as_deref(), Some(units));
        assert_eq!(view.text(&format!("/{name}"), "long_name").unwrap(), format!("state {name}"));
    }
    assert_eq!(view.values("/time"), snapshots.times);
    assert_eq!(view.text("/time", "long_name").as_deref(), Some("time"));

    // The fields: at the root (the xarray view) and at their documented paths, one object.
    let fields = [
        ("/value", "/value", "value function at t = 0", None),
        ("/policy_u", "/policy/u", "optimal control u at t = 0", Some("N")),
        ("/reference_value", "/reference/value", "reference value function at t = 0", None),
        ("/error", "/error", "value minus reference at t = 0", None),
        ("/gradient_x", "/gradient/x", "derivative of the value function along x at t = 0", None),
        ("/gradient_v", "/gradient/v", "derivative of the value function along v at t = 0", None),
    ];
    for (root, documented, long_name, units) in fields {
        assert!(view.same_object(root, documented), "{root} is {documented}");
        assert_eq!(view.dimensions(root), vec!["x", "v"], "{root}");
        assert_eq!(view.dimensions(documented), vec!["x", "v"], "{documented}");
        assert_eq!(view.text(root, "long_name").as_deref(), Some(long_name), "{root}");
        assert_eq!(view.text(root, "units").as_deref(), units, "{root}");
        assert_eq!(view.dataset(root).shape(), vec![41, 31]);
    }
    for (root, documented, long_name) in [
        ("/snapshots_value", "/snapshots/value", "value function"),
        ("/snapshots_policy_u", "/snapshots/policy/u", "optimal control u"),
    ] {
        assert!(view.same_object(root, documented));
        assert_eq!(view.dimensions(documented), vec!["time", "x", "v"], "{documented}");
        assert_eq!(view.text(root, "long_name").as_deref(), Some(long_name));
        assert_eq!(view.dataset(root).shape(), vec![21, 41, 31]);
    }
    // The data along those dimensions: value[i, j] = V(x_i, v_j), the last snapshot is V(·, T).
    let value = view.values("/value");
    assert_eq!(value, hjb::grid::row_major(&solution.values).to_vec());
    let (i, j) = (30, 7);
    assert_eq!(value[i * 31 + j], solution.values[[i, j]]);
    let stacked = view.values("/snapshots_value");
    assert_eq!(&stacked[20 * 41 * 31..], &hjb::grid::row_major(&snapshots.values[20])[..]);
    let terminal = |x: f64, v: f64| x * x + v * v;
    let (x, v) = (axes[0].coordinate(i), axes[1].coordinate(j));
    assert!((stacked[20 * 41 * 31 + i * 31 + j] - terminal(x, v)).abs() < 1e-12);

    // hjb's own reader still reads the documented layout.
    let stored = hjb::io::hdf5::read_result(&path).unwrap();
    assert_eq!(stored.values, solution.values);
    assert_eq!(stored.snapshots.unwrap().times, snapshots.times);
}

#[test]
fn a_regime_problem_has_its_regime_variable_as_a_dimension_and_the_regime_index() {
    let file = common::shipped_file("consumption_saving_two_income_states");
    let problem = file.problem.with_points(&[41, 2]).unwrap();
    let solution = hjb::solve(&problem, &file.settings().unwrap(), &mut hjb::Silent).unwrap();
    let path = common::scratch_directory("netcdf_regimes").join("result.h5");
    hjb::io::hdf5::write_result(&path, &problem, &solution, &file.output).unwrap();
    let view = NetcdfView::open(&path);
    assert_eq!(view.values("/z"), vec![0.1, 0.2]);
    assert_eq!(view.text("/z", "long_name").as_deref(), Some("regime variable z"));
    assert_eq!(view.dimensions("/regime"), vec!["z"]);
    assert_eq!(view.dataset("/regime").read_raw::<i64>().unwrap(), vec![0, 1]);
    for field in ["/value", "/policy_c", "/policy/c"] {
        assert_eq!(view.dimensions(field), vec!["a", "z"], "{field}");
        // The CF auxiliary coordinate: xarray shows `regime` as a coordinate along z.
        assert_eq!(view.text(field, "coordinates").as_deref(), Some("regime"), "{field}");
    }
    assert_eq!(view.values("/value"), hjb::grid::row_major(&solution.values).to_vec());
}

#[test]
fn a_state_named_like_a_root_name_gets_a_dimension_of_its_own() {
    // `time` is the snapshots' dimension and a documented root path, so the state `time` is the
    // dimension `time_`; /grid/time keeps its values and hjb reads the file back.
    let text = r#"
[[state]]
name = "time"
bounds = [-1.0, 1.0]
points = 21

[[control]]
name = "u"
bounds = [-1.0, 1.0]
samples = 5

[dynamics]
time = "u"

[cost]
running = "time^2 + u^2"
terminal = "0"

[horizon]
final_time = 0.5

[output]
snapshots = 3
"#;
    let file = hjb::parse_problem(text, Path::new("clash.toml")).unwrap();
    let solution = hjb::solve(&file.problem, &file.settings().unwrap(), &mut hjb::Silent).unwrap();
    let path = common::scratch_directory("netcdf_clash").join("result.h5");
    hjb::io::hdf5::write_result(&path, &file.problem, &solution, &file.output).unwrap();
    let view = NetcdfView::open(&path);
    let nodes = file.problem.grid.axes()[0].coordinates();
    assert_eq!(view.values("/time_"), nodes);
    assert_eq!(view.values("/grid/time"), nodes);
    assert_eq!(view.dimensions("/grid/time"), vec!["time_"]);
    assert_eq!(view.values("/time"), vec![0.0, 0.25, 0.5]);
    assert_eq!(view.dimensions("/value"), vec!["time_"]);
    assert_eq!(view.dimensions("/snapshots_value"), vec!["time", "time_"]);
    let stored = hjb::io::hdf5::read_result(&path).unwrap();
    assert_eq!(stored.coordinates[0], nodes);
    assert_eq!(stored.snapshots.unwrap().times.len(), 3);
}

#[test]
fn a_convergence_study_is_a_table_over_levels() {
    let (problem, settings) = common::shipped("lqr_double_integrator");
    let level = |k: usize, points: usize| hjb::validate::Level {
        points: vec![points, points],
        h: 6.0 / (points - 1) as f64,
        time_step: 0.01 / (k + 1) as f64,
        linf: 0.1 / (k + 1) as f64,
        l1: 0.05 / (k + 1) as f64,
        l2: 0.07 / (k + 1) as f64,
        order_linf: (k > 0).then_some(1.0),
        order_l1: (k > 0).then_some(0.9),
        order_l2: (k > 0).then_some(0.95),
        seconds: 0.0,
    };
    let levels = [level(0, 31), level(1, 61), level(2, 121)];
    let path = common::scratch_directory("netcdf_convergence").join("study.h5");
    hjb::io::hdf5::write_convergence(&path, &problem, &settings, &levels).unwrap();
    let view = NetcdfView::open(&path);
    assert_eq!(view.dataset("/level").read_raw::<i64>().unwrap(), vec![0, 1, 2]);
    assert_eq!(view.dataset("/state_name").read_vlen_strings().unwrap(), vec!["x", "v"]);
    for column in ["h", "time_step", "linf", "l1", "l2", "order_linf", "order_l1", "order_l2"] {
        let root = format!("/{column}");
        assert!(view.same_object(&root, &format!("/levels/{column}")), "{column}");
        assert_eq!(view.dimensions(&root), vec!["level"], "{column}");
        assert!(view.text(&root, "long_name").is_some(), "{column}");
    }
    assert_eq!(view.values("/h"), vec![0.2, 0.1, 0.05]);
    assert!(view.values("/order_linf")[0].is_nan());
    assert_eq!(view.dimensions("/levels/points"), vec!["level", "state_name"]);
    assert_eq!(view.dataset("/points").read_raw::<u64>().unwrap(), vec![31, 31, 61, 61, 121, 121]);
}

#[test]
fn a_trajectory_is_a_table_over_time_with_one_column_per_variable() {
    let (problem, _) = common::shipped("lqr_double_integrator");
    let trajectory = hjb::simulate::Trajectory {
        times: vec![0.0, 0.5, 1.0],
        states: vec![vec![1.0, 0.0], vec![0.9, -0.3], vec![0.7, -0.4]],
        controls: vec![vec![-1.2], vec![-0.8], vec![-0.5]],
        running_cost: vec![0.0, 0.4, 0.7],
        cost: 1.3,
        value_at_start: 1.29,
        time_dependent_policy: false,
    };
    let path = common::scratch_directory("netcdf_trajectory").join("trajectory.h5");
    hjb::io::hdf5::write_trajectory(&path, &problem, &trajectory, Path::new("result.h5")).unwrap();
    let view = NetcdfView::open(&path);
    assert!(view.same_object("/time", "/trajectory/time"));
    assert_eq!(view.values("/time"), trajectory.times);
    for (column, values, long_name) in [
        ("/x", vec![1.0, 0.9, 0.7], "state x"),
        ("/v", vec![0.0, -0.3, -0.4], "state v"),
        ("/u", vec![-1.2, -0.8, -0.5], "control u"),
        ("/running_cost", vec![0.0, 0.4, 0.7], "accumulated discounted running cost"),
    ] {
        assert_eq!(view.dimensions(column), vec!["time"], "{column}");
        assert_eq!(view.values(column), values, "{column}");
        assert_eq!(view.text(column, "long_name").as_deref(), Some(long_name));
    }
    assert_eq!(view.dimensions("/trajectory/state"), vec!["time", "state_name"]);
    assert_eq!(view.dimensions("/trajectory/control"), vec!["time", "control_name"]);
    assert_eq!(view.dataset("/trajectory/state_name").read_vlen_strings().unwrap(), vec!["x", "v"]);
    assert_eq!(view.dataset("/trajectory/control_name").read_vlen_strings().unwrap(), vec!["u"]);
    assert_eq!(view.values("/trajectory/state"), vec![1.0, 0.0, 0.9, -0.3, 0.7, -0.4]);
}

#[test]
fn an_mdp_export_has_node_and_action_dimensions_and_keeps_its_csr_arrays() {
    let directory = common::scratch_directory("netcdf_mdp");
    let out = directory.join("mdp.h5");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["mdp", "problems/lqr_1d_discounted.toml", "--points", "101", "--export"])
        .arg(&out)
        .current_dir(common::repository_path(""))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let view = NetcdfView::open(&out);
    let nodes = 101;
    let actions = view.dataset("/mdp/cost").shape()[1];
    assert_eq!(view.dataset("/node").read_raw::<i64>().unwrap(), (0..nodes as i64).collect::<Vec<_>>());
    assert_eq!(view.dataset("/action").shape(), vec![actions]);
    for (name, dimensions) in [
        ("states", vec!["node", "state_name"]),
        ("actions", vec!["action", "control_name"]),
        ("cost", vec!["node", "action"]),
        ("terminal", vec!["node"]),
        ("terminal_value", vec!["node"]),
        ("value", vec!["node"]),
        ("policy", vec!["node"]),
    ] {
        let root = format!("/{name}");
        assert!(view.same_object(&root, &format!("/mdp/{name}")), "{name}");
        assert_eq!(view.dimensions(&root), dimensions, "{name}");
        assert!(view.text(&root, "long_name").is_some(), "{name}");
    }
    // The states of the nodes are the grid's nodes, in row-major order.
    let (problem, _) = common::shipped("lqr_1d_discounted");
    let problem = problem.with_points(&[nodes]).unwrap();
    assert_eq!(view.values("/states"), problem.grid.axes()[0].coordinates());
    // The CSR arrays are as scipy.sparse reads them, without dimensions.
    let indptr = view.dataset("/mdp/transitions/0/indptr").read_raw::<i64>().unwrap();
    assert_eq!(indptr.len(), nodes + 1);
    assert!(view.dataset("/mdp/transitions/0/indptr").attr("DIMENSION_LIST").is_err());
}

#[test]
fn a_score_view_is_a_dataset_over_time_and_the_grid() {
    let (problem, settings) = common::shipped("colehopf_ring_2d");
    let problem = problem.with_points(&[31, 21]).unwrap();
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    let levels = hjb::score::score_view(&problem, solution.snapshots.as_ref().unwrap(), &[0.3, 0.9]).unwrap();
    let path = common::scratch_directory("netcdf_score").join("score.h5");
    hjb::io::score_file::write_score(&path, &problem, &levels, Path::new("ring.h5")).unwrap();
    let view = NetcdfView::open(&path);
    assert_eq!(view.values("/time"), levels.iter().map(|l| l.time).collect::<Vec<_>>());
    for name in ["x", "y"] {
        assert!(view.same_object(&format!("/{name}"), &format!("/grid/{name}")));
    }
    let fields = [
        ("/drift_u", "/drift/u"),
        ("/drift_w", "/drift/w"),
        ("/score_x", "/score/x"),
        ("/score_y", "/score/y"),
        ("/difference", "/difference"),
    ];
    for (root, documented) in fields {
        assert!(view.same_object(root, documented), "{root} is {documented}");
        assert_eq!(view.dimensions(root), vec!["time", "x", "y"], "{root}");
        assert_eq!(view.dataset(root).shape(), vec![2, 31, 21]);
        assert!(view.text(root, "long_name").is_some(), "{root}");
    }
    for name in ["linf", "l1", "l2"] {
        let root = format!("/difference_{name}");
        assert!(view.same_object(&root, &format!("/norms/{name}")));
        assert_eq!(view.dimensions(&root), vec!["time"]);
    }
    // The stored numbers are the view's: the max norm, and the score drift against the closed form.
    assert_eq!(view.values("/norms/linf"), levels.iter().map(|l| l.norms.linf).collect::<Vec<_>>());
    assert_eq!(view.values("/score/y")[..31 * 21], levels[0].score[1][..]);
    assert_eq!(view.dimensions("/requested_time"), vec!["time"]);
}
