//! Checkpoints of long solves, and resuming from them.
//!
//! A checkpoint holds everything the time loop needs to continue exactly where it stopped: the
//! number of completed steps, `V` after them, the snapshots taken so far and the worst CFL number
//! seen. Each step depends only on `V^n` (and on coefficients tabulated afresh from the problem),
//! so a resumed run produces the same bits as an uninterrupted one. The checkpoint is written
//! atomically (temporary file + rename) — an interrupted solve leaves the last complete
//! checkpoint and never a torn result — and is removed once the completed run's result file is in
//! place.
//!
//! A fingerprint of the problem text, the grid, the scheme, the time step, the step count and the
//! snapshot count guards against resuming a different run (the driver checks it).
//!
//! [`Checkpointer`] is the observer that writes checkpoints during a solve and hands one back to
//! resume from; the solver itself never touches files.

use crate::error::{HjbError, Result};
use crate::solver::{MarchState, Observer, RunView, StepView, StoredLevel};
use rust_hdf5::H5File;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The state of an interrupted solve (what the driver resumes from).
pub type Checkpoint = MarchState;

/// Writes checkpoints every so many steps or seconds and resumes from one; [`Checkpointer::remove`]
/// removes it once the completed run's result is in place.
#[derive(Debug)]
pub struct Checkpointer {
    /// Where the checkpoint lives.
    pub path: PathBuf,
    /// Every this many steps (0: never).
    pub every: usize,
    /// Whenever this many seconds have passed since the last one.
    pub seconds: Option<f64>,
    /// Continue from the checkpoint at `path`.
    pub resume: bool,
    last: Instant,
}

impl Checkpointer {
    /// A checkpointer writing to `path`.
    pub fn new(path: PathBuf, every: usize, seconds: Option<f64>, resume: bool) -> Checkpointer {
        Checkpointer { path, every, seconds, resume, last: Instant::now() }
    }
}

impl Observer for Checkpointer {
    fn started(&mut self, _run: &RunView<'_>) {
        self.last = Instant::now();
    }

    fn resume(&mut self, _run: &RunView<'_>) -> Result<Option<MarchState>> {
        if self.resume {
            read(&self.path).map(Some)
        } else {
            Ok(None)
        }
    }

    fn stepped(&mut self, view: &StepView<'_>) -> Result<()> {
        let Some(state) = view.state else { return Ok(()) };
        let by_steps = self.every > 0 && view.completed % self.every == 0;
        let by_time = self.seconds.is_some_and(|seconds| self.last.elapsed().as_secs_f64() >= seconds);
        if (by_steps || by_time) && view.completed < view.steps {
            self.last = Instant::now();
            write(&self.path, state)?;
        }
        Ok(())
    }
}

impl Checkpointer {
    /// Remove the checkpoint: call it once the result of the completed run is in place (not
    /// before: a kill between the two would lose the whole run).
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Where the checkpoint of a result file lives: `<result without .h5>.checkpoint.h5`.
pub fn checkpoint_path(result: &Path) -> PathBuf {
    PathBuf::from(format!("{}.checkpoint.h5", result.with_extension("").display()))
}

/// Where the checkpoint of process `rank` of `ranks` of a result file lives (a run decomposed
/// with MPI): `<result without .h5>.checkpoint.rank<r>of<P>.h5`.
pub fn rank_checkpoint_path(result: &Path, rank: usize, ranks: usize) -> PathBuf {
    PathBuf::from(format!("{}.checkpoint.rank{rank}of{ranks}.h5", result.with_extension("").display()))
}

/// Write `checkpoint` to `path` atomically.
pub fn write(path: &Path, checkpoint: &Checkpoint) -> Result<()> {
    write_with(path, checkpoint, None)
}

/// [`write`], with the description of the block decomposition whose block `checkpoint` holds
/// (root attribute `decomposition`, read by [`read_decomposition`]).
pub fn write_with(path: &Path, checkpoint: &Checkpoint, decomposition: Option<&str>) -> Result<()> {
    let contents = |temporary: &Path| -> rust_hdf5::Result<()> {
        let file = H5File::create(temporary)?;
        file.set_attr_string("fingerprint", &checkpoint.fingerprint)?;
        if let Some(decomposition) = decomposition {
            file.set_attr_string("decomposition", decomposition)?;
        }
        let scalar = |name: &str, value: f64| -> rust_hdf5::Result<()> {
            file.new_dataset::<f64>().shape([1]).create(name)?.write_raw(&[value])
        };
        scalar("completed", checkpoint.completed as f64)?;
        scalar("worst_cfl", checkpoint.worst_cfl)?;
        scalar("stored_count", checkpoint.stored.len() as f64)?;
        file.new_dataset::<f64>()
            .shape([checkpoint.values.len()])
            .create("values")?
            .write_raw(&checkpoint.values)?;
        for (k, StoredLevel { step, values, policy }) in checkpoint.stored.iter().enumerate() {
            scalar(&format!("stored_{k}_step"), *step as f64)?;
            file.new_dataset::<f64>()
                .shape([values.len()])
                .create(&format!("stored_{k}_values"))?
                .write_raw(values)?;
            if let Some(policy) = policy {
                let flat: Vec<f64> = policy.iter().flatten().copied().collect();
                scalar(&format!("stored_{k}_controls"), policy.len() as f64)?;
                file.new_dataset::<f64>()
                    .shape([flat.len()])
                    .create(&format!("stored_{k}_policy"))?
                    .write_raw(&flat)?;
            }
        }
        file.close()
    };
    crate::io::target::write_atomically(path, "", contents)
}

/// Read a checkpoint written by [`write`].
pub fn read(path: &Path) -> Result<Checkpoint> {
    let fail = |error: rust_hdf5::Hdf5Error| HjbError::ReadResult {
        path: path.to_path_buf(),
        message: format!("cannot read checkpoint: {error}"),
    };
    let file = H5File::open(path).map_err(fail)?;
    let read = |name: &str| -> Result<Vec<f64>> {
        file.dataset(name).map_err(fail)?.read_raw::<f64>().map_err(fail)
    };
    let scalar = |name: &str| -> Result<f64> { Ok(read(name)?.first().copied().unwrap_or(f64::NAN)) };
    let fingerprint = file.attr_string("fingerprint").map_err(fail)?;
    let stored_count = scalar("stored_count")? as usize;
    let mut stored = Vec::with_capacity(stored_count);
    for k in 0..stored_count {
        let step = scalar(&format!("stored_{k}_step"))? as usize;
        let values = read(&format!("stored_{k}_values"))?;
        let policy = match file.dataset(&format!("stored_{k}_policy")) {
            Err(_) => None,
            Ok(dataset) => {
                let flat = dataset.read_raw::<f64>().map_err(fail)?;
                let controls = scalar(&format!("stored_{k}_controls"))? as usize;
                let nodes = flat.len() / controls.max(1);
                Some(flat.chunks(nodes.max(1)).map(<[f64]>::to_vec).collect())
            }
        };
        stored.push(StoredLevel { step, values, policy });
    }
    Ok(Checkpoint {
        fingerprint,
        completed: scalar("completed")? as usize,
        values: read("values")?,
        stored,
        worst_cfl: scalar("worst_cfl")?,
    })
}

/// The decomposition a checkpoint was written for (`None`: a single-process checkpoint).
pub fn read_decomposition(path: &Path) -> Result<Option<String>> {
    let file = H5File::open(path).map_err(|error| HjbError::ReadResult {
        path: path.to_path_buf(),
        message: format!("cannot read checkpoint: {error}"),
    })?;
    Ok(file.attr_string("decomposition").ok())
}
