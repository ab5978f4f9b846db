//! A result written as one HDF5 file per MPI process (`mpirun -np P hjb solve --per-rank-files`,
//! README "Beyond one machine: MPI"), and the reader that stitches it back into one field.
//!
//! For a result path `R.h5` the set is:
//!
//! * `R.rank<r>.h5`, one per process: an ordinary result file (the layout of [`super::hdf5`]) of
//!   the process's owned nodes (no halo) — `/value`, `/policy/<control>`, `/time` and
//!   `/snapshots/…`, `/reference/value` and `/error` on the block, its `/grid/<state>` the
//!   block's coordinates — plus `/block/{offset, shape, global_shape, dims, coords, rank,
//!   ranks}` (the block's first node and points per axis within the whole grid, the
//!   decomposition) and `/block/global_grid/<state>` (the whole grid's axes). A block file holds
//!   no gradients, error norms or reachability counts (properties of the whole field); each one
//!   opens on its own in `hjb plot` as the result on its block.
//! * `R.h5`, written by rank 0 after every block file is in place: the index. Root attributes
//!   as a result file's (`problem_toml`, `scheme`, names) and `block_files` (the block file
//!   names, one a line, beside the index) and `run_id` (every block file of the run carries the
//!   same), `/grid/<state>` the whole grid's axes. [`super::hdf5::read_result`] recognises it and
//!   stitches the blocks: the same arrays, bit for bit, as the gathered result file.
//! * `R.xmf` (2-D and 3-D grids): an XDMF spatial collection, one uniform grid per block file
//!   with its own origin, so ParaView and VisIt open the blocks as one field. The blocks own
//!   disjoint nodes, so the one cell between two neighbouring blocks is not drawn.
//!
//! Every file is written atomically.

use super::hdf5::{read_result, write_contents, xdmf_uniform_grid, COMPRESS_ABOVE};
use crate::error::{HjbError, Result};
use crate::problem::Problem;
use crate::simulate::StoredResult;
use crate::solver::{Snapshots, Solution};
use ndarray::{ArrayD, IxDyn};
use rust_hdf5::H5File;
use std::path::{Path, PathBuf};

/// The root attribute naming the block files of an index (one name a line).
pub const BLOCK_FILES: &str = "block_files";

/// Where one block sits in the decomposition and in the whole grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockPlace {
    /// The process that owns it.
    pub rank: usize,
    /// Processes of the run.
    pub ranks: usize,
    /// Blocks per axis.
    pub dims: Vec<usize>,
    /// The block's position among them.
    pub coords: Vec<usize>,
    /// Its first owned node per axis (global index).
    pub offset: Vec<usize>,
    /// Its owned points per axis.
    pub points: Vec<usize>,
}

/// `R.rank<r>.h5` beside the result `R.h5`.
pub fn block_path(result: &Path, rank: usize) -> PathBuf {
    PathBuf::from(format!("{}.rank{rank}.h5", result.with_extension("").display()))
}

/// Write the block file of `place` (`problem` and `solution` on the block's owned nodes) for
/// the result `result` of `whole`.
pub fn write_block(
    result: &Path,
    whole: &Problem,
    problem: &Problem,
    solution: &Solution,
    place: &BlockPlace,
    run_id: &str,
) -> Result<PathBuf> {
    let path = block_path(result, place.rank);
    let extra = |file: &H5File| -> rust_hdf5::Result<()> {
        file.set_attr_string("run_id", run_id)?;
        let group = file.create_group("block")?;
        let numbers = |name: &str, values: &[usize]| -> rust_hdf5::Result<()> {
            let values: Vec<u64> = values.iter().map(|v| *v as u64).collect();
            group.new_dataset::<u64>().shape([values.len()]).create(name)?.write_raw(&values)
        };
        numbers("offset", &place.offset)?;
        numbers("shape", &place.points)?;
        numbers("global_shape", &whole.grid.shape())?;
        numbers("dims", &place.dims)?;
        numbers("coords", &place.coords)?;
        numbers("rank", &[place.rank])?;
        numbers("ranks", &[place.ranks])?;
        let axes = group.create_group("global_grid")?;
        for axis in whole.grid.axes() {
            let coordinates = axis.coordinates();
            axes.new_dataset::<f64>()
                .shape([coordinates.len()])
                .create(&axis.name)?
                .write_raw(&coordinates)?;
        }
        Ok(())
    };
    crate::io::target::write_atomically(&path, "", |temporary| {
        write_contents(temporary, problem, solution, false, COMPRESS_ABOVE, &extra)
    })?;
    Ok(path)
}

/// Write the index `result` of the block files of `places` (after every one is in place), and
/// the XDMF spatial collection `<result without .h5>.xmf` for 2-D and 3-D grids.
pub fn write_index(
    result: &Path,
    whole: &Problem,
    scheme: &str,
    places: &[BlockPlace],
    run_id: &str,
) -> Result<()> {
    let names: Vec<String> = places
        .iter()
        .map(|place| {
            let path = block_path(result, place.rank);
            path.file_name().map_or_else(String::new, |name| name.to_string_lossy().into_owned())
        })
        .collect();
    crate::io::target::write_atomically(result, "", |temporary| -> rust_hdf5::Result<()> {
        let file = H5File::create(temporary)?;
        let state_names = whole.state_names();
        let control_names = whole.control_names();
        file.set_attr_string_array("state_names", &super::hdf5::as_str(&state_names))?;
        file.set_attr_string_array("control_names", &super::hdf5::as_str(&control_names))?;
        file.set_attr_string("hjb_version", env!("CARGO_PKG_VERSION"))?;
        file.set_attr_string("scheme", scheme)?;
        file.set_attr_string("problem_name", &whole.name)?;
        file.set_attr_string("problem_toml", &whole.source_text)?;
        file.set_attr_string(BLOCK_FILES, &names.join("\n"))?;
        file.set_attr_string("run_id", run_id)?;
        let grid = file.create_group("grid")?;
        for axis in whole.grid.axes() {
            let coordinates = axis.coordinates();
            grid.new_dataset::<f64>()
                .shape([coordinates.len()])
                .create(&axis.name)?
                .write_raw(&coordinates)?;
        }
        file.close()
    })?;
    if (2..=3).contains(&whole.grid.dimension()) {
        let text = xdmf_collection(result, whole, places);
        let sidecar = result.with_extension("xmf");
        crate::io::target::write_atomically(&sidecar, "", |temporary| std::fs::write(temporary, &text))?;
    }
    Ok(())
}

/// The XDMF 3 spatial collection of the block files of `places`: one uniform grid per block,
/// its origin the block's first node.
pub fn xdmf_collection(result: &Path, whole: &Problem, places: &[BlockPlace]) -> String {
    let axes: Vec<Vec<f64>> = whole.grid.axes().iter().map(|axis| axis.coordinates()).collect();
    let mut grids = String::new();
    for place in places {
        let origin: Vec<f64> = place.offset.iter().zip(&axes).map(|(i, c)| c[*i]).collect();
        let name = format!("rank {}", place.rank);
        let path = block_path(result, place.rank);
        grids.push_str(&xdmf_uniform_grid(&path, whole, &name, &place.points, &origin, "      "));
    }
    format!(
        "<?xml version=\"1.0\" ?>\n<!-- written by hjb {version}: axes (slowest first) {axes}; one grid per MPI block -->\n<Xdmf Version=\"3.0\">\n  <Domain>\n    <Grid Name=\"{name}\" GridType=\"Collection\" CollectionType=\"Spatial\">\n{grids}    </Grid>\n  </Domain>\n</Xdmf>\n",
        version = env!("CARGO_PKG_VERSION"),
        axes = whole.state_names().join(", "),
        name = whole.name,
    )
}

/// Read the block files of the index `path` and stitch them into the whole result.
pub fn read_stitched(path: &Path) -> Result<StoredResult> {
    let malformed = |message: String| HjbError::ReadResult { path: path.to_path_buf(), message };
    let fail = |error: rust_hdf5::Hdf5Error| malformed(format!("not a block index of `hjb solve` ({error})"));
    let file = H5File::open(path).map_err(fail)?;
    let names = file.attr_string(BLOCK_FILES).map_err(fail)?;
    let run_id = file.attr_string("run_id").map_err(fail)?;
    let scheme = file.attr_string("scheme").map_err(fail)?;
    let problem_toml = file.attr_string("problem_toml").map_err(fail)?;
    let problem = crate::problem::parse_problem(&problem_toml, path)?.problem;
    let (state_names, control_names) = (problem.state_names(), problem.control_names());
    let mut coordinates = Vec::new();
    for name in &state_names {
        coordinates
            .push(file.dataset(&format!("grid/{name}")).map_err(fail)?.read_raw::<f64>().map_err(fail)?);
    }
    drop(file);
    let shape: Vec<usize> = coordinates.iter().map(Vec::len).collect();
    let nodes: usize = shape.iter().product();
    let mut strides = vec![1usize; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * shape[k + 1];
    }
    let directory = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut covered = vec![0u8; nodes];
    let mut whole: Option<Stitched> = None;
    for name in names.lines() {
        let block_file = directory.join(name);
        let part = read_result(&block_file)?;
        let block_fail = |message: String| HjbError::ReadResult { path: block_file.clone(), message };
        let opened = H5File::open(&block_file).map_err(|e| block_fail(e.to_string()))?;
        let their_run = opened.attr_string("run_id").map_err(|e| block_fail(e.to_string()))?;
        let offset: Vec<usize> = opened
            .dataset("block/offset")
            .and_then(|d| d.read_raw::<u64>())
            .map_err(|e| block_fail(format!("no /block/offset ({e})")))?
            .into_iter()
            .map(|v| v as usize)
            .collect();
        drop(opened);
        if their_run != run_id || part.problem_toml != problem_toml {
            return Err(block_fail(format!(
                "it belongs to another run than the index {} (a block file left from an earlier solve); \
                 solve again",
                path.display()
            )));
        }
        if offset.len() != shape.len() || (0..shape.len()).any(|k| offset[k] + part.shape[k] > shape[k]) {
            return Err(block_fail(format!(
                "the block at {offset:?} of shape {:?} does not fit the grid of shape {shape:?}",
                part.shape
            )));
        }
        let stitched = whole.get_or_insert_with(|| Stitched::new(&part, nodes));
        stitched.place(&part, &offset, &strides, &mut covered).map_err(block_fail)?;
    }
    if let Some(node) = covered.iter().position(|count| *count != 1) {
        return Err(malformed(format!(
            "the block files cover node {node} {} times (every node must be in exactly one block)",
            covered[node]
        )));
    }
    let stitched = whole.ok_or_else(|| malformed("the index names no block files".to_string()))?;
    let field = |flat: Vec<f64>| {
        ArrayD::from_shape_vec(IxDyn(&shape), flat).map_err(|error| malformed(error.to_string()))
    };
    let snapshots = match stitched.times {
        None => None,
        Some(times) => {
            let levels = times.len();
            let mut values = Vec::with_capacity(levels);
            let mut policies = Vec::with_capacity(levels);
            for (k, level) in stitched.snapshot_values.into_iter().enumerate() {
                values.push(field(level)?);
                let mut per_control = Vec::new();
                for control in &stitched.snapshot_policies {
                    per_control.push(field(control[k].clone())?);
                }
                policies.push(per_control);
            }
            Some(Snapshots { times, values, policies })
        }
    };
    Ok(StoredResult {
        state_names,
        control_names,
        scheme,
        coordinates,
        values: field(stitched.values)?,
        policy: stitched.policy.into_iter().map(field).collect::<Result<_>>()?,
        reference: stitched.reference.map(field).transpose()?,
        stopped: stitched.stopped,
        snapshots,
        problem_toml,
        shape,
    })
}

/// The whole fields in the making.
struct Stitched {
    values: Vec<f64>,
    policy: Vec<Vec<f64>>,
    reference: Option<Vec<f64>>,
    stopped: Option<String>,
    times: Option<Vec<f64>>,
    /// Per level.
    snapshot_values: Vec<Vec<f64>>,
    /// Per control, per level.
    snapshot_policies: Vec<Vec<Vec<f64>>>,
}

impl Stitched {
    /// Empty fields shaped after the first block read.
    fn new(first: &StoredResult, nodes: usize) -> Stitched {
        let levels = first.snapshots.as_ref().map_or(0, |s| s.times.len());
        Stitched {
            values: vec![0.0; nodes],
            policy: vec![vec![0.0; nodes]; first.policy.len()],
            reference: first.reference.as_ref().map(|_| vec![0.0; nodes]),
            stopped: None,
            times: first.snapshots.as_ref().map(|s| s.times.clone()),
            snapshot_values: vec![vec![0.0; nodes]; levels],
            snapshot_policies: vec![vec![vec![0.0; nodes]; levels]; first.policy.len()],
        }
    }

    /// Copy the fields of `part` (a block at `offset`) into place.
    fn place(
        &mut self,
        part: &StoredResult,
        offset: &[usize],
        strides: &[usize],
        covered: &mut [u8],
    ) -> std::result::Result<(), String> {
        let times = part.snapshots.as_ref().map(|s| &s.times);
        if part.policy.len() != self.policy.len()
            || part.reference.is_some() != self.reference.is_some()
            || times != self.times.as_ref()
        {
            return Err("its fields or stored times differ from the other blocks'".to_string());
        }
        // Global node of each block node, row-major over the block.
        let mut targets = Vec::with_capacity(part.values.len());
        let mut index = vec![0usize; offset.len()];
        for _ in 0..part.values.len() {
            targets.push((0..offset.len()).map(|k| (offset[k] + index[k]) * strides[k]).sum::<usize>());
            for k in (0..offset.len()).rev() {
                index[k] += 1;
                if index[k] < part.shape[k] {
                    break;
                }
                index[k] = 0;
            }
        }
        let copy = |from: &ArrayD<f64>, into: &mut [f64]| {
            for (target, value) in targets.iter().zip(from.iter()) {
                into[*target] = *value;
            }
        };
        copy(&part.values, &mut self.values);
        for (from, into) in part.policy.iter().zip(&mut self.policy) {
            copy(from, into);
        }
        if let (Some(from), Some(into)) = (&part.reference, &mut self.reference) {
            copy(from, into);
        }
        if let Some(snapshots) = &part.snapshots {
            for (k, level) in snapshots.values.iter().enumerate() {
                copy(level, &mut self.snapshot_values[k]);
                for (j, control) in snapshots.policies[k].iter().enumerate() {
                    copy(control, &mut self.snapshot_policies[j][k]);
                }
            }
        }
        if self.stopped.is_none() {
            self.stopped.clone_from(&part.stopped);
        }
        for target in &targets {
            covered[*target] = covered[*target].saturating_add(1);
        }
        Ok(())
    }
}
