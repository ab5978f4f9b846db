//! Output targets: every file hjb writes goes to a regular file (or a new one), never over a
//! folder, a device or a pipe, and every file is written under a temporary name beside its
//! target and renamed into place, so a crash or a kill never leaves a torn file and the old one
//! survives until the new one is complete.

use crate::error::{HjbError, Result};
use std::path::{Path, PathBuf};

/// Refuse `path` when it exists and is not a regular file (a folder, `/dev/full`, a pipe): the
/// rename that puts a result in place would replace it.
pub fn check_target(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(metadata) if !metadata.is_file() => Err(HjbError::InvalidTarget {
            path: path.to_path_buf(),
            message: "it exists and is not a regular file (a folder, a device or a pipe); \
                      give the path of a file"
                .to_string(),
        }),
        _ => Ok(()),
    }
}

/// The temporary name beside `path` that a file is written under before it is renamed into place:
/// `.<name>.<pid>.tmp<suffix>` (a suffix such as `.png` keeps the format recognisable).
pub fn temporary_path(path: &Path, suffix: &str) -> PathBuf {
    let directory = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    directory.join(format!(".{file_name}.{}.tmp{suffix}", std::process::id()))
}

/// Write `path` atomically: check the target, make its folder, run `write` on the temporary
/// name, then rename it into place (the temporary is removed on any failure).
pub fn write_atomically<E: std::fmt::Display>(
    path: &Path,
    suffix: &str,
    write: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> Result<()> {
    let failure = |message: String| HjbError::Output { path: path.to_path_buf(), message };
    check_target(path)?;
    if let Some(directory) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(directory).map_err(|error| failure(error.to_string()))?;
    }
    let temporary = temporary_path(path, suffix);
    if let Err(error) = write(&temporary) {
        let _ = std::fs::remove_file(&temporary);
        return Err(failure(error.to_string()));
    }
    std::fs::rename(&temporary, path).map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        failure(error.to_string())
    })
}
