//! The netCDF-4 view of hjb's HDF5 files: what lets `xarray.open_dataset(path,
//! engine="h5netcdf")` (and netCDF4) read them as labelled datasets.
//!
//! netCDF-4 reads an HDF5 group as a set of variables over named dimensions:
//!
//! * a dimension is a dataset marked as a dimension scale (`CLASS = "DIMENSION_SCALE"`), named by
//!   its link name, and visible to the variables of its group and of the groups below it;
//! * a variable's dimensions are the scales attached to its axes (`DIMENSION_LIST`, with the
//!   back-references in each scale's `REFERENCE_LIST`; rust-hdf5 writes both);
//! * the scale itself is the dimension's coordinate variable (its values are the coordinates);
//! * `long_name` and `units` are the CF attributes plots and tables label with.
//!
//! So every file keeps its documented h5py layout (`/grid/<state>`, `/policy/<control>`, …) and
//! adds, at no cost in data, the root of the file as the xarray view: the scales are linked at the
//! root (`/x` is a hard link to `/grid/x`, one object under two names), and each field in a group
//! gets a root name too (`/policy_u` is `/policy/u`). Names already used at the root stay what they
//! were; a dimension whose name is taken gets a trailing `_` (see [`RootNames`]).
//! `_Netcdf4Dimid` and `_NCProperties` are not written: h5netcdf and netCDF-C read the files
//! without them.

use rust_hdf5::types::VarLenUnicode;
use rust_hdf5::{H5Dataset, H5Group};
use std::collections::BTreeSet;

/// The names used at the root of a file, so a new one never collides with a documented one.
pub(crate) struct RootNames {
    taken: BTreeSet<String>,
}

impl RootNames {
    /// Start with the names the documented layout owns at the root.
    pub(crate) fn reserving(names: &[&str]) -> Self {
        RootNames { taken: names.iter().map(|name| (*name).to_string()).collect() }
    }

    /// `wanted`, or `wanted` with `_` appended until it is free; the name is then taken.
    pub(crate) fn claim(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_string();
        while self.taken.contains(&name) {
            name.push('_');
        }
        self.taken.insert(name.clone());
        name
    }
}

/// Set the string attribute `name` of `dataset` (a scalar variable-length UTF-8 string, what h5py
/// and h5netcdf read as `str`).
pub(crate) fn set_text(dataset: &H5Dataset, name: &str, value: &str) -> rust_hdf5::Result<()> {
    dataset.new_attr::<VarLenUnicode>().shape(()).create(name)?.write_string(value)
}

/// The CF `long_name`, and `units` when known (an empty `units` is left out rather than written
/// as an empty string, which plots would show as `[]`).
pub(crate) fn describe(dataset: &H5Dataset, long_name: &str, units: &str) -> rust_hdf5::Result<()> {
    set_text(dataset, "long_name", long_name)?;
    if !units.is_empty() {
        set_text(dataset, "units", units)?;
    }
    Ok(())
}

/// Mark `dataset` as the dimension `name` (its coordinate variable); `name` must be its link
/// name, which is what netCDF-4 readers call the dimension.
pub(crate) fn make_dimension(dataset: &H5Dataset, name: &str) -> rust_hdf5::Result<()> {
    dataset.set_scale(Some(name))
}

/// A 1-D coordinate variable `name` in `group` holding `values`, marked as the dimension `name`.
pub(crate) fn coordinate(
    group: &H5Group,
    name: &str,
    values: &[f64],
    long_name: &str,
    units: &str,
) -> rust_hdf5::Result<H5Dataset> {
    let dataset = group.new_dataset::<f64>().shape([values.len()]).create(name)?;
    dataset.write_raw(values)?;
    make_dimension(&dataset, name)?;
    describe(&dataset, long_name, units)?;
    Ok(dataset)
}

/// The dimension `name` of length `count` with the coordinates `0, 1, …, count − 1` (an index
/// such as a refinement level, a node or an action).
pub(crate) fn index_coordinate(
    group: &H5Group,
    name: &str,
    count: usize,
    long_name: &str,
) -> rust_hdf5::Result<H5Dataset> {
    let dataset = group.new_dataset::<i64>().shape([count]).create(name)?;
    dataset.write_raw(&(0..count as i64).collect::<Vec<_>>())?;
    make_dimension(&dataset, name)?;
    describe(&dataset, long_name, "")?;
    Ok(dataset)
}

/// The dimension `name` whose coordinates are the strings `labels` (e.g. the state names along
/// the columns of a states × dimension array), so xarray selects with `.sel(name="x")`.
pub(crate) fn label_coordinate(
    group: &H5Group,
    name: &str,
    labels: &[&str],
    long_name: &str,
) -> rust_hdf5::Result<H5Dataset> {
    let dataset = group.write_vlen_strings(name, labels)?;
    make_dimension(&dataset, name)?;
    describe(&dataset, long_name, "")?;
    Ok(dataset)
}

/// Attach `scales[k]` to axis `k` of `dataset`: its dimensions, in the order of its axes.
pub(crate) fn attach(dataset: &H5Dataset, scales: &[&H5Dataset]) -> rust_hdf5::Result<()> {
    for (k, scale) in scales.iter().enumerate() {
        dataset.attach_scale(k, scale)?;
    }
    Ok(())
}

/// The dimension scale of the state axis `name` (`coordinates`, described by `long_name` and
/// `units`): usually `/grid/<name>` itself, the dimension `<name>`, linked at the root as
/// `/<name>`; when a documented root name owns `<name>` (a state called `time`, say), the
/// dimension is a copy at the root under the name `names` gives (`/time_`) and `/grid/<name>`
/// a variable over it. Returns the dimension scale.
pub(crate) fn state_axis_scale(
    root: &H5Group,
    grid_group: &H5Group,
    names: &mut RootNames,
    name: &str,
    coordinates: &[f64],
    long_name: &str,
    units: &str,
) -> rust_hdf5::Result<H5Dataset> {
    let dimension = names.claim(name);
    if dimension == name {
        let scale = coordinate(grid_group, name, coordinates, long_name, units)?;
        link_at_root(root, &dimension, &format!("/grid/{name}"))?;
        return Ok(scale);
    }
    let scale = coordinate(root, &dimension, coordinates, long_name, units)?;
    let stored = grid_group.new_dataset::<f64>().shape([coordinates.len()]).create(name)?;
    stored.write_raw(coordinates)?;
    attach(&stored, &[&scale])?;
    describe(&stored, long_name, units)?;
    Ok(scale)
}

/// Give the object at `target` (an absolute path) the root name `name` as well (a hard link: the
/// same dataset, attributes and dimensions under both names).
pub(crate) fn link_at_root(root: &H5Group, name: &str, target: &str) -> rust_hdf5::Result<()> {
    root.link(name, target)
}
