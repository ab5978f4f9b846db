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
    pub file: PathBuf,
    pub line: usize,
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
    ReadFile { path: PathBuf, source: std::io::Error },

    /// The problem file is not valid TOML or does not match the schema.
    #[error("{location}: {message}")]
    ProblemFile { location: Location, message: String },

    /// A value in the problem file is well-formed TOML but not acceptable.
    #[error("{location}: field `{field}`: {message}\n  hint: {hint}")]
    InvalidField { location: Location, field: String, message: String, hint: String },

    /// A problem built in code (not from a file) is inconsistent.
    #[error("invalid problem: {field}: {message}")]
    InvalidProblem { field: String, message: String },

    /// A combination of solver settings that is refused (see [`crate::settings`]).
    #[error("invalid solver settings: {0}")]
    Settings(#[from] crate::settings::SettingsError),

    /// An option (a command-line override, or a solver option such as the scheme or time step)
    /// is not acceptable.
    #[error("invalid option {option}: {message}")]
    InvalidOption { option: String, message: String },

    /// Point counts that do not make a grid for this problem (wrong number of axes, a regime axis
    /// without one node per regime, an axis the grid refuses).
    #[error("invalid grid: {message}")]
    InvalidGrid { message: String },

    /// A refinement study without an exact reference, with fewer levels than it needs.
    #[error("without an exact reference a study needs at least {needed} levels ({levels} given)")]
    TooFewLevels { levels: usize, needed: usize },

    /// A worker pool of the requested size could not be built.
    #[error("cannot start a pool of {threads} worker threads: {message}")]
    ThreadPool { threads: usize, message: String },

    /// A simulation start state that does not fit the result's grid.
    #[error("invalid start state: {message}")]
    InvalidStart { message: String },

    /// A simulation horizon or integration step that is not a positive number.
    #[error("horizon ({horizon}) and time step ({time_step}) must be positive")]
    InvalidHorizon { horizon: f64, time_step: f64 },

    /// The requested explicit time step violates the monotonicity (CFL) bound.
    #[error(
        "time step {time_step:e} exceeds the CFL bound {time_step_max:e} of the {scheme} scheme \
         (Δt · max Σ_i |f_i|/h_i = {cfl:.3} > 1)"
    )]
    CflViolated { scheme: String, time_step: f64, time_step_max: f64, cfl: f64 },

    /// A semi-Lagrangian step so large that every free node's feet leave the box.
    #[error(
        "with Δt = {time_step:.4e} the feet of every free node ({free_nodes}) leave the box (largest \
         displacement {displacement_cells:.1} cells); use a smaller time step or a larger box"
    )]
    FeetOutside { time_step: f64, free_nodes: usize, displacement_cells: f64 },

    /// A value became NaN or infinite during a solve.
    #[error(
        "non-finite value {value} at step {step} (t = {time:.6}) at grid node {index:?} = {point:?}; \
         the scheme blew up or a formula is undefined there (check divisions, log, sqrt)"
    )]
    NonFinite { step: usize, time: f64, index: Vec<usize>, point: Vec<f64>, value: f64 },

    /// The solution grew past the bound every monotone run respects.
    #[error(
        "blow-up at step {step} (t = {time:.6}): V = {value:.4e} at grid node {index:?} = {point:?} \
         exceeds 10× the bound ‖g‖∞ + (T − t)·max|ℓ| = {bound:.4e} that a monotone scheme respects; \
         the run's CFL number is {cfl:.3} with Δt = {time_step:.4e}, above the bound Δt ≤ {time_step_max:.4e}"
    )]
    BlowUp {
        step: usize,
        time: f64,
        index: Vec<usize>,
        point: Vec<f64>,
        value: f64,
        bound: f64,
        cfl: f64,
        time_step: f64,
        time_step_max: f64,
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
    NotConverged { method: &'static str, limit: usize, last_change: f64 },

    /// A numerical procedure (Riccati solver, reference) failed.
    #[error("numerical failure: {0}")]
    Numerical(String),

    /// A result or checkpoint file could not be read (missing, not HDF5, or without a field).
    #[error("cannot read {path}: {message}")]
    ReadResult { path: PathBuf, message: String },

    /// Writing a result failed.
    #[error("cannot write {path}: {message}")]
    Output { path: PathBuf, message: String },
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
            | HjbError::CflViolated { .. } => ErrorKind::BadInput,
            HjbError::NonFinite { .. }
            | HjbError::BlowUp { .. }
            | HjbError::Numerical(_)
            | HjbError::NotConverged { .. } => ErrorKind::Numerical,
            HjbError::Output { .. } => ErrorKind::Output,
        }
    }
}

/// Result alias of the library.
pub type Result<T> = std::result::Result<T, HjbError>;
