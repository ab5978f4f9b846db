//! Typed errors.
//!
//! Every error a user can provoke carries the information needed to fix it: the file, line and
//! column for a malformed problem file, the violated bound for an unstable setting, the grid
//! location for a non-finite value. Messages state the bound, node or field involved and never
//! name command-line flags. [`HjbError::kind`] classifies each error (bad input, numerical
//! failure, output trouble); the binary turns the kind into its exit code (2 for bad input, 1
//! otherwise) and appends the flag advice itself.

use std::path::PathBuf;

/// Where in a problem file something was found (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The problem file.
    pub file: PathBuf,
    /// The line in the file (1-based).
    pub line: usize,
    /// The column in the line, in characters (1-based).
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// All errors of the library.
#[derive(Debug, thiserror::Error)]
pub enum HjbError {
    /// The problem file could not be read at all.
    #[error("cannot read problem file {path}: {source}")]
    ReadFile {
        /// The problem file that was asked for.
        path: PathBuf,
        /// The input/output error that stopped the read.
        source: std::io::Error,
    },

    /// The problem file is not valid TOML or does not match the schema.
    #[error("{location}: {message}")]
    ProblemFile {
        /// Where in the file the problem was found.
        location: Location,
        /// What is wrong there.
        message: String,
    },

    /// A value in the problem file is well-formed TOML but not acceptable.
    #[error("{location}: field `{field}`: {message}\n  hint: {hint}")]
    InvalidField {
        /// Where in the file the value was found.
        location: Location,
        /// The name of the field that holds the value.
        field: String,
        /// Why the value is not acceptable.
        message: String,
        /// How to write an acceptable value.
        hint: String,
    },

    /// A problem built in code (not from a file) is inconsistent.
    #[error("invalid problem: {field}: {message}")]
    InvalidProblem {
        /// The part of the problem that is inconsistent (the name of the corresponding problem
        /// file field).
        field: String,
        /// What is inconsistent.
        message: String,
    },

    /// A combination of solver settings that is refused (see [`crate::settings`]).
    #[error("invalid solver settings: {0}")]
    Settings(#[from] crate::settings::SettingsError),

    /// An option (a command-line override, or a solver option such as the scheme or time step)
    /// is not acceptable.
    #[error("invalid option {option}: {message}")]
    InvalidOption {
        /// The name of the option.
        option: String,
        /// Why its value is not acceptable.
        message: String,
    },

    /// Point counts that do not make a grid for this problem (wrong number of axes, a regime axis
    /// without one node per regime, an axis the grid refuses).
    #[error("invalid grid: {message}")]
    InvalidGrid {
        /// Why the point counts do not make a grid.
        message: String,
    },

    /// A refinement study without an exact reference, with fewer levels than it needs.
    #[error("without an exact reference a study needs at least {needed} levels ({levels} given)")]
    TooFewLevels {
        /// The number of levels that were given.
        levels: usize,
        /// The smallest number of levels the study needs.
        needed: usize,
    },

    /// A worker pool of the requested size could not be built.
    #[error("cannot start a pool of {threads} worker threads: {message}")]
    ThreadPool {
        /// The number of worker threads that was asked for.
        threads: usize,
        /// Why the pool could not be built.
        message: String,
    },

    /// A simulation start state that does not fit the result's grid.
    #[error("invalid start state: {message}")]
    InvalidStart {
        /// Why the start state does not fit the grid.
        message: String,
    },

    /// A simulation horizon or integration step that is not a positive number.
    #[error("horizon ({horizon}) and time step ({time_step}) must be positive")]
    InvalidHorizon {
        /// The simulation horizon that was asked for.
        horizon: f64,
        /// The integration step that was asked for.
        time_step: f64,
    },

    /// The requested explicit time step violates the monotonicity (CFL) bound.
    #[error(
        "time step {time_step:e} exceeds the CFL bound {time_step_max:e} of the {scheme} scheme \
         (Δt · max Σ_i |f_i|/h_i = {cfl:.3} > 1)"
    )]
    CflViolated {
        /// The name of the scheme.
        scheme: String,
        /// The time step `Δt` that was asked for.
        time_step: f64,
        /// The CFL bound `Δt_max` of the scheme on this grid.
        time_step_max: f64,
        /// The CFL number `Δt / Δt_max` of the requested step (above 1).
        cfl: f64,
    },

    /// A semi-Lagrangian step so large that every free node's feet leave the box.
    #[error(
        "with Δt = {time_step:.4e} the feet of every free node ({free_nodes}) leave the box (largest \
         displacement {displacement_cells:.1} cells); use a smaller time step or a larger box"
    )]
    FeetOutside {
        /// The time step `Δt` of the run.
        time_step: f64,
        /// The number of free (not fixed) nodes, all of whose feet leave the box.
        free_nodes: usize,
        /// The largest displacement of a foot from its node, in grid cells.
        displacement_cells: f64,
    },

    /// A value became NaN or infinite during a solve.
    #[error(
        "non-finite value {value} at step {step} (t = {time:.6}) at grid node {index:?} = {point:?}; \
         the scheme blew up or a formula is undefined there (check divisions, log, sqrt)"
    )]
    NonFinite {
        /// The step (or iteration) that produced the value, counted from 1.
        step: usize,
        /// The physical time `t` of that step (NaN where the solve has no time).
        time: f64,
        /// The multi-index of the grid node.
        index: Vec<usize>,
        /// The coordinates of the grid node.
        point: Vec<f64>,
        /// The non-finite value.
        value: f64,
    },

    /// A formula of the model is NaN or infinite where the solver evaluates it.
    #[error("{0}")]
    FormulaNonFinite(Box<UndefinedFormula>),

    /// A simulated closed-loop path left the finite numbers.
    #[error(
        "the closed-loop path became non-finite at step {step} (t = {time:.6e}): state {state:?}, \
         accumulated cost {cost:e}; the dynamics escape over this horizon or the time step is too large"
    )]
    PathNonFinite {
        /// The integration step, counted from 1.
        step: usize,
        /// The time at the end of that step.
        time: f64,
        /// The state there.
        state: Vec<f64>,
        /// The accumulated cost there.
        cost: f64,
    },

    /// The solution grew past the bound every monotone run respects.
    #[error(
        "blow-up at step {step} (t = {time:.6}): V = {value:.4e} at grid node {index:?} = {point:?} \
         exceeds 10× the bound ‖g‖∞ + (T − t)·max|ℓ| = {bound:.4e} that a monotone scheme respects; \
         the run's CFL number is {cfl:.3} with Δt = {time_step:.4e}, above the bound Δt ≤ {time_step_max:.4e}"
    )]
    BlowUp {
        /// The step that produced the value, counted from 1.
        step: usize,
        /// The physical time `t` of that step.
        time: f64,
        /// The multi-index of the grid node where `|V|` is largest.
        index: Vec<usize>,
        /// The coordinates of that node.
        point: Vec<f64>,
        /// The value `V` at that node.
        value: f64,
        /// The bound `‖g‖∞ + (T − t)·max|ℓ|` that a monotone scheme respects.
        bound: f64,
        /// The largest CFL number `Δt / Δt_max` of the run so far.
        cfl: f64,
        /// The time step `Δt` of the run.
        time_step: f64,
        /// The CFL bound `Δt_max` of the scheme on this grid.
        time_step_max: f64,
    },

    /// A run decomposed over several processes stopped on another process, which printed why
    /// (every process stops with the same kind, so with the same exit code).
    #[error("the run stopped on MPI rank {rank} (its message is printed there)")]
    OnAnotherRank {
        /// The lowest rank that failed.
        rank: usize,
        /// The kind of its failure.
        kind: ErrorKind,
    },

    /// A state to resume from belongs to another run.
    #[error(
        "the checkpoint was written for another problem, grid, scheme or time step; remove it or run \
         with the settings that wrote it"
    )]
    ResumeMismatch,

    /// An iteration reached its limit before its stopping rule held.
    #[error(
        "{method} stopped at its limit of {limit} sweeps with ‖ΔV‖∞ = {last_change:.3e}; refine the \
         control set or check that the target is reachable"
    )]
    NotConverged {
        /// The name of the iteration.
        method: &'static str,
        /// The largest number of sweeps it was allowed.
        limit: usize,
        /// The sup-norm change `‖ΔV‖∞` of the last sweep.
        last_change: f64,
    },

    /// A numerical procedure (Riccati solver, reference) failed.
    #[error("numerical failure: {0}")]
    Numerical(String),

    /// A result or checkpoint file could not be read (missing, not HDF5, or without a field).
    #[error("cannot read {path}: {message}")]
    ReadResult {
        /// The file that was read.
        path: PathBuf,
        /// Why it could not be used.
        message: String,
    },

    /// A run whose estimated memory is above the limit it runs under (checked before anything
    /// is allocated).
    #[error(
        "{what} needs about {} of memory, more than the {limit_source} of {}",
        human_bytes(*needed),
        human_bytes(*limit)
    )]
    TooLarge {
        /// What was estimated (the run and its sizes).
        what: String,
        /// The estimated bytes.
        needed: f64,
        /// The limit in bytes.
        limit: f64,
        /// Where the limit comes from (available memory, a limit the caller set).
        limit_source: String,
    },

    /// A run whose number of time steps (or paths, levels, …) is above its limit.
    #[error("{what} needs {count:.3e} {unit}, above the limit of {limit:.0e}")]
    TooMuchWork {
        /// What was planned.
        what: String,
        /// How many steps (paths, …) it needs.
        count: f64,
        /// What is counted (`time steps`, `paths`, …).
        unit: &'static str,
        /// The largest count allowed.
        limit: f64,
    },

    /// The run was stopped by a signal (Ctrl-C) between two steps.
    #[error("interrupted after {completed} of {steps} steps")]
    Interrupted {
        /// Steps completed before the stop.
        completed: usize,
        /// Planned steps.
        steps: usize,
    },

    /// An output path that cannot be written to as asked (it exists and is not a regular file,
    /// or its name does not fit the format).
    #[error("cannot write {path}: {message}")]
    InvalidTarget {
        /// The output path.
        path: PathBuf,
        /// Why it is refused.
        message: String,
    },

    /// Writing a result failed.
    #[error("cannot write {path}: {message}")]
    Output {
        /// The file that was written.
        path: PathBuf,
        /// Why writing failed.
        message: String,
    },
}

/// Where a formula of the model is NaN or infinite ([`HjbError::FormulaNonFinite`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "{role} \"{formula}\" is {value} at grid node {index:?} = {point:?}{controls} (t = {time}); \
     every formula must be finite on the grid (check divisions, log, sqrt and powers there)"
)]
pub struct UndefinedFormula {
    /// What the formula is in the model, with its problem-file field.
    pub role: String,
    /// The formula text (or the name of a function given in code).
    pub formula: String,
    /// The non-finite value.
    pub value: f64,
    /// The multi-index of the grid node.
    pub index: Vec<usize>,
    /// The coordinates of the grid node.
    pub point: Vec<f64>,
    /// ` with u = …` for the controls it was evaluated at (empty without controls).
    pub controls: String,
    /// The time `t` it was evaluated at.
    pub time: f64,
}

/// What kind of failure an error is (the CLI turns it into an exit code and advice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input (file, settings, options, a stored result) cannot be used as given.
    BadInput,
    /// The numerics failed (non-finite value, blow-up, no convergence).
    Numerical,
    /// A result could not be written.
    Output,
    /// The run was stopped by a signal.
    Interrupted,
}

/// Bytes as `12.3 GiB` (binary units).
pub fn human_bytes(bytes: f64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} bytes")
    } else if value >= 1024.0 {
        format!("{value:.3e} {}", units[unit])
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

impl HjbError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            HjbError::ReadFile { .. }
            | HjbError::ProblemFile { .. }
            | HjbError::InvalidField { .. }
            | HjbError::InvalidProblem { .. }
            | HjbError::InvalidOption { .. }
            | HjbError::InvalidGrid { .. }
            | HjbError::TooFewLevels { .. }
            | HjbError::ThreadPool { .. }
            | HjbError::InvalidStart { .. }
            | HjbError::InvalidHorizon { .. }
            | HjbError::Settings(_)
            | HjbError::FeetOutside { .. }
            | HjbError::ResumeMismatch
            | HjbError::ReadResult { .. }
            | HjbError::TooLarge { .. }
            | HjbError::InvalidTarget { .. }
            | HjbError::TooMuchWork { .. }
            | HjbError::CflViolated { .. } => ErrorKind::BadInput,
            HjbError::NonFinite { .. }
            | HjbError::BlowUp { .. }
            | HjbError::PathNonFinite { .. }
            | HjbError::FormulaNonFinite(_)
            | HjbError::Numerical(_)
            | HjbError::NotConverged { .. } => ErrorKind::Numerical,
            HjbError::Output { .. } => ErrorKind::Output,
            HjbError::Interrupted { .. } => ErrorKind::Interrupted,
            HjbError::OnAnotherRank { kind, .. } => *kind,
        }
    }
}

/// Result alias of the library.
pub type Result<T> = std::result::Result<T, HjbError>;
