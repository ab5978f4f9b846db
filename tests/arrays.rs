//! Fields are arrays of the grid's shape (row-major, last axis fastest), and a result file whose
//! fields disagree with its grid is refused, not indexed out of bounds.

mod common;

use hjb::error::ErrorKind;
use hjb::ndarray::Axis;
use hjb::HjbError;

#[test]
fn fields_have_the_grid_shape_and_row_major_views() {
    let file = common::shipped_file("lqr_double_integrator");
    let settings = file.settings().unwrap();
    let problem = file.problem.with_points(&[21, 13]).unwrap();
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    let grid = &problem.grid;
    let shape = grid.shape();
    assert_eq!(shape, vec![21, 13]);
    assert_eq!(solution.values.shape(), shape.as_slice());
    assert_eq!(solution.policy.len(), 1);
    assert_eq!(solution.policy[0].shape(), shape.as_slice());
    assert_eq!(solution.reference.as_ref().unwrap().shape(), shape.as_slice());
    let snapshots = solution.snapshots.as_ref().unwrap();
    assert!(snapshots.values.iter().all(|field| field.shape() == shape.as_slice()));
    assert!(snapshots.policies.iter().flatten().all(|field| field.shape() == shape.as_slice()));

    // The flat data are the kernels' vector: node (i, j) at i·13 + j, as Grid::strides says.
    let flat = solution.values.as_slice().expect("standard layout");
    assert_eq!(grid.strides(), &[13, 1]);
    for k in [0, 5, 12] {
        let column = solution.values.index_axis(Axis(1), k);
        assert_eq!(column.shape(), &[21]);
        for (i, value) in column.iter().enumerate() {
            assert_eq!(value.to_bits(), flat[i * 13 + k].to_bits());
        }
    }
    let row = solution.values.index_axis(Axis(0), 7);
    assert_eq!(row.iter().copied().collect::<Vec<_>>(), flat[7 * 13..8 * 13].to_vec());
    assert_eq!(solution.values[[7, 5]], flat[grid.ravel(&[7, 5])]);

    // The file reads back with the stored shape.
    let path = common::scratch_directory("arrays").join("result.h5");
    hjb::io::hdf5::write_result(&path, &problem, &solution, &file.output).unwrap();
    let stored = hjb::io::hdf5::read_result(&path).unwrap();
    assert_eq!(stored.values.shape(), shape.as_slice());
    assert_eq!(stored.policy[0].shape(), shape.as_slice());
    assert_eq!(stored.reference.as_ref().unwrap().shape(), shape.as_slice());
}

/// A result file in the layout of `write_result` for a 21 × 13 grid, with `/value` of `shape`.
fn write_file_with_value(path: &std::path::Path, value_shape: &[usize]) {
    let file = common::shipped_file("lqr_double_integrator");
    let problem = file.problem.with_points(&[21, 13]).unwrap();
    let h5 = rust_hdf5::H5File::create(path).unwrap();
    h5.set_attr_string("scheme", "upwind").unwrap();
    h5.set_attr_string("problem_toml", &problem.source_text).unwrap();
    let grid = h5.create_group("grid").unwrap();
    for axis in problem.grid.axes() {
        grid.new_dataset::<f64>()
            .shape([axis.points])
            .create(&axis.name)
            .unwrap()
            .write_raw(&axis.coordinates())
            .unwrap();
    }
    let count: usize = value_shape.iter().product();
    h5.new_dataset::<f64>().shape(value_shape).create("value").unwrap().write_raw(&vec![1.0; count]).unwrap();
    let policy = h5.create_group("policy").unwrap();
    policy.new_dataset::<f64>().shape([21, 13]).create("u").unwrap().write_raw(&vec![0.0; 21 * 13]).unwrap();
    h5.close().unwrap();
}

#[test]
fn a_value_that_disagrees_with_the_grid_is_refused() {
    let directory = common::scratch_directory("arrays_malformed");
    // The well-formed file reads.
    let good = directory.join("good.h5");
    write_file_with_value(&good, &[21, 13]);
    assert_eq!(hjb::io::hdf5::read_result(&good).unwrap().values.shape(), &[21, 13]);
    // One value short, and the right count in the wrong shape.
    for (name, shape) in [("short.h5", vec![21 * 13 - 1]), ("transposed.h5", vec![13, 21])] {
        let path = directory.join(name);
        write_file_with_value(&path, &shape);
        let error = hjb::io::hdf5::read_result(&path).unwrap_err();
        assert!(matches!(error, HjbError::ReadResult { .. }), "{name}: {error:?}");
        assert_eq!(error.kind(), ErrorKind::BadInput, "{name}");
        assert!(error.to_string().contains("/value"), "{name}: {error}");
    }
    // The binary refuses it as bad input (exit 2) instead of panicking.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["plot", directory.join("short.h5").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
}
