//! A result file reads back exactly, and is written atomically.

mod common;

#[test]
fn result_file_round_trips() {
    let file = common::shipped_file("lqr_double_integrator");
    let settings = file.settings().unwrap();
    let problem = file.problem.with_points(&[41, 31]).unwrap();
    let solution = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap();
    let directory = common::scratch_directory("hdf5_roundtrip");
    let path = directory.join("result.h5");
    hjb::io::hdf5::write_result(&path, &problem, &solution, &file.output).unwrap();
    // Only the result and its XDMF sidecar remain: the temporary files were renamed into place.
    let mut entries: Vec<_> =
        std::fs::read_dir(&directory).unwrap().map(|e| e.unwrap().file_name()).collect();
    entries.sort();
    assert_eq!(entries, vec![std::ffi::OsString::from("result.h5"), std::ffi::OsString::from("result.xmf")]);

    let stored = hjb::io::hdf5::read_result(&path).unwrap();
    assert_eq!(stored.state_names, vec!["x", "v"]);
    assert_eq!(stored.control_names, vec!["u"]);
    assert_eq!(stored.scheme, "upwind");
    assert_eq!(stored.shape, vec![41, 31]);
    assert_eq!(stored.coordinates[0], problem.grid.axes()[0].coordinates());
    assert_eq!(stored.coordinates[1], problem.grid.axes()[1].coordinates());
    assert_eq!(stored.values, solution.values);
    assert_eq!(stored.policy, solution.policy);
    assert_eq!(stored.reference, solution.reference);
    assert_eq!(stored.problem_toml, problem.source_text);
    // Row-major layout: value[i][j] is at (x_i, v_j); check one node against the reference field.
    let (i, j) = (30, 7);
    let (x, v) = (stored.coordinates[0][i], stored.coordinates[1][j]);
    let (p, c) = match &problem.reference.as_ref().unwrap().solution {
        hjb::problem::ReferenceSolution::Lqr(lqr) => lqr.value_coefficients_at_start().unwrap(),
        _ => unreachable!(),
    };
    let exact = p[(0, 0)] * x * x + 2.0 * p[(0, 1)] * x * v + p[(1, 1)] * v * v + c;
    assert!((stored.reference.as_ref().unwrap()[[i, j]] - exact).abs() < 1e-12);
}
