//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod mpirun;

use std::path::{Path, PathBuf};

/// Path of a file in the repository.
pub fn repository_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Load a shipped problem file (the model with its `[solver]` and `[output]` tables).
pub fn shipped_file(name: &str) -> hjb::ProblemFile {
    hjb::load_problem(&repository_path(&format!("problems/{name}.toml"))).expect("shipped problem parses")
}

/// Load a shipped problem with the settings of its file.
pub fn shipped(name: &str) -> (hjb::Problem, hjb::Settings) {
    split(shipped_file(name))
}

/// Parse problem-file text; the problem with the settings of its `[solver]` table.
pub fn parse(text: &str, path: &Path) -> (hjb::Problem, hjb::Settings) {
    split(hjb::parse_problem(text, path).expect("problem parses"))
}

/// A problem file's model and checked settings.
pub fn split(file: hjb::ProblemFile) -> (hjb::Problem, hjb::Settings) {
    let settings = file.settings().expect("the file's settings are valid");
    (file.problem, settings)
}

/// The file's solver options with the historical scheme `scheme` (`upwind`, `lax_friedrichs`,
/// `implicit`, `semi_lagrangian`) in place of whatever it chose; its other parameters (cfl,
/// courant, time step, …) kept.
pub fn with_scheme(options: &hjb::SolverOptions, scheme: &str) -> hjb::SolverOptions {
    let mut options = options.clone();
    options.scheme = Some(scheme.to_string());
    options.differencing = None;
    options.stepping = None;
    options
}

/// The checked settings of `options`.
pub fn settings(options: &hjb::SolverOptions) -> hjb::Settings {
    options.settings().expect("valid settings")
}

/// A fresh empty directory under the target folder.
pub fn scratch_directory(name: &str) -> PathBuf {
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("scratch directory");
    directory
}

/// The path of a scratch directory made by [`scratch_directory`] (without clearing it).
pub fn scratch_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}
