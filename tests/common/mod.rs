//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// Path of a file in the repository.
pub fn repository_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Load a shipped problem.
pub fn shipped(name: &str) -> hjb::Problem {
    hjb::load_problem(&repository_path(&format!("problems/{name}.toml"))).expect("shipped problem parses")
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
