//! The ensemble of `hjb simulate`: every path's terminal state in one HDF5 file.
//!
//! `/terminal_state` (path × state; netCDF-4 dimensions `path` and `state_name`), root
//! attributes `paths`, `seed`, `horizon`, `from` and `state_names`, and with an exact law of
//! `X_T` the group `/exact` with `mean`, `covariance` and `ks` (one KS distance per state).

use crate::error::Result;
use crate::io::hdf5::{as_str, write_atomically};
use crate::io::netcdf;
use crate::problem::Problem;
use crate::simulate::PathStatistics;
use rust_hdf5::H5File;
use std::path::Path;

/// Write the terminal states of `statistics` (seeded by `seed`, from `start` over `[0, horizon]`).
pub fn write_ensemble(
    path: &Path,
    problem: &Problem,
    statistics: &PathStatistics,
    start: &[f64],
    horizon: f64,
    seed: u64,
) -> Result<()> {
    write_atomically(path, |temporary| {
        let file = H5File::create(temporary)?;
        let state_names = problem.state_names();
        let n = state_names.len();
        let paths = statistics.terminal_states.len() / n;
        file.set_attr_string_array("state_names", &as_str(&state_names))?;
        file.set_attr_string("hjb_version", env!("CARGO_PKG_VERSION"))?;
        file.set_attr_numeric("paths", &(paths as u64))?;
        file.set_attr_numeric("seed", &seed)?;
        file.set_attr_numeric("horizon", &horizon)?;
        file.set_attr_array_numeric("from", start)?;
        let root = file.root_group();
        let path_index = netcdf::index_coordinate(&root, "path", paths, "path index")?;
        let state_name = netcdf::label_coordinate(&root, "state_name", &as_str(&state_names), "state")?;
        let terminal = root.new_dataset::<f64>().shape([paths, n]).create("terminal_state")?;
        terminal.write_raw(&statistics.terminal_states)?;
        netcdf::attach(&terminal, &[&path_index, &state_name])?;
        netcdf::describe(&terminal, "state at the horizon", "")?;
        if let Some(target) = statistics.ensemble.as_ref().and_then(|e| e.target.as_ref()) {
            let exact = file.create_group("exact")?;
            let mean = exact.new_dataset::<f64>().shape([n]).create("mean")?;
            mean.write_raw(&target.mean)?;
            let covariance = exact.new_dataset::<f64>().shape([n, n]).create("covariance")?;
            covariance.write_raw(&target.covariance.concat())?;
            let ks = exact.new_dataset::<f64>().shape([n]).create("ks")?;
            ks.write_raw(&target.ks)?;
        }
        file.close()
    })
}
