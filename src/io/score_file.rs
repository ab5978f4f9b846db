//! The score view of `hjb score` ([`crate::score`]) as an HDF5 file, written atomically.
//!
//! Layout (fields are time × grid, the grid axes in state order): `/time` (the stored times
//! used) and `/requested_time`; `/grid/<state>`; `/drift/<control>` (the solver's policy
//! `u_h`), `/score/<state>` (the exact `∂_i log p_t + x_i/t`), `/difference` (`|u_h − s|`), and
//! `/norms/{linf, l1, l2}` (per time, over the reference's region). Root attributes
//! `state_names`, `control_names`, `hjb_version`, `problem_toml`, `final_time`, `result` (the
//! result file read) and `error_region`.
//!
//! The netCDF-4 view (see `io::netcdf`): dimensions `time` and one per state (`/x` is
//! `/grid/x`), and every field in a group also at the root: `/drift_<control>`,
//! `/score_<state>`, `/difference_linf`, `/difference_l1`, `/difference_l2`.

use super::hdf5::{as_str, write_atomically};
use super::netcdf::{self, RootNames};
use crate::error::Result;
use crate::problem::Problem;
use crate::score::ScoreLevel;
use rust_hdf5::H5File;
use std::path::Path;

/// Write `levels` (the score view of the result `result` of `problem`) to `path`.
pub fn write_score(path: &Path, problem: &Problem, levels: &[ScoreLevel], result: &Path) -> Result<()> {
    write_atomically(path, |temporary| {
        let file = H5File::create(temporary)?;
        let state_names = problem.state_names();
        let control_names = problem.control_names();
        file.set_attr_string_array("state_names", &as_str(&state_names))?;
        file.set_attr_string_array("control_names", &as_str(&control_names))?;
        file.set_attr_string("hjb_version", env!("CARGO_PKG_VERSION"))?;
        file.set_attr_string("problem_toml", &problem.source_text)?;
        file.set_attr_numeric("final_time", &problem.final_time)?;
        file.set_attr_string("result", &result.display().to_string())?;
        if let Some(first) = levels.first() {
            file.set_attr_string("error_region", &first.norms.region.describe(&state_names))?;
        }
        let root = file.root_group();
        let mut names = RootNames::reserving(&[
            "time",
            "requested_time",
            "grid",
            "drift",
            "score",
            "difference",
            "norms",
        ]);
        let times: Vec<f64> = levels.iter().map(|l| l.time).collect();
        let time = netcdf::coordinate(&root, "time", &times, "time", "")?;
        let requested = root.new_dataset::<f64>().shape([levels.len()]).create("requested_time")?;
        requested.write_raw(&levels.iter().map(|l| l.requested).collect::<Vec<_>>())?;
        netcdf::attach(&requested, &[&time])?;
        netcdf::describe(&requested, "time asked for (the nearest stored level is used)", "")?;
        let grid_group = file.create_group("grid")?;
        let mut scales = vec![time];
        for axis in problem.grid.axes() {
            let coordinates = axis.coordinates();
            let long_name = format!("state {}", axis.name);
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
        let mut shape = vec![levels.len()];
        shape.extend(problem.grid.shape());
        let units = problem.controls.first().map(|c| c.units.as_str()).unwrap_or("");
        let mut field = |group: &rust_hdf5::H5Group,
                         name: &str,
                         data: Vec<f64>,
                         long_name: &str|
         -> rust_hdf5::Result<()> {
            let dataset = group.new_dataset::<f64>().shape(shape.as_slice()).create(name)?;
            dataset.write_raw(&data)?;
            netcdf::attach(&dataset, &scales)?;
            netcdf::describe(&dataset, long_name, units)?;
            if group.name() != "/" {
                let path = format!("{}/{name}", group.name());
                let alias = names.claim(&path.trim_start_matches('/').replace('/', "_"));
                netcdf::link_at_root(&root, &alias, &path)?;
            }
            Ok(())
        };
        let drift = file.create_group("drift")?;
        for (j, name) in control_names.iter().enumerate() {
            let data = levels.iter().flat_map(|l| l.drift[j].iter().copied()).collect();
            field(&drift, name, data, &format!("solver's optimal drift {name} (stored policy)"))?;
        }
        let score = file.create_group("score")?;
        for (i, name) in state_names.iter().enumerate() {
            let data = levels.iter().flat_map(|l| l.score[i].iter().copied()).collect();
            field(
                &score,
                name,
                data,
                &format!("exact score drift along {name}: d/d{name} log p_t + {name}/t"),
            )?;
        }
        let data = levels.iter().flat_map(|l| l.difference.iter().copied()).collect();
        field(&root, "difference", data, "|solver drift − exact score drift|")?;
        let norms = file.create_group("norms")?;
        let columns = [
            ("linf", "max of |drift − score| over the error region"),
            ("l1", "L1 norm of |drift − score| over the error region"),
            ("l2", "L2 norm of |drift − score| over the error region"),
        ];
        for (name, long_name) in columns {
            let values: Vec<f64> = levels
                .iter()
                .map(|l| match name {
                    "linf" => l.norms.linf,
                    "l1" => l.norms.l1,
                    _ => l.norms.l2,
                })
                .collect();
            let dataset = norms.new_dataset::<f64>().shape([levels.len()]).create(name)?;
            dataset.write_raw(&values)?;
            netcdf::attach(&dataset, &[scales[0]])?;
            netcdf::describe(&dataset, long_name, units)?;
            let alias = names.claim(&format!("difference_{name}"));
            netcdf::link_at_root(&root, &alias, &format!("/norms/{name}"))?;
        }
        file.close()
    })
}
