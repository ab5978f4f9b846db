//! Output targets: every file hjb writes goes to a regular file (or a new one), never over a
//! folder, a device or a pipe, and every file is written under a temporary name beside its
//! target and renamed into place, so a crash or a kill never leaves a torn file and the old one
//! survives until the new one is complete. Temporaries left beside a target by a process that no
//! longer runs (killed while writing) are removed by the next write of that target.

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
    remove_stale_temporaries(path, suffix);
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

/// Remove the temporaries of `path` left by processes that no longer run (killed while writing):
/// `.<name>.<pid>.tmp<suffix>` beside it whose `pid` is gone. Best effort: errors are ignored.
fn remove_stale_temporaries(path: &Path, suffix: &str) {
    let directory = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(file_name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let prefix = format!(".{file_name}.");
    let ending = format!(".tmp{suffix}");
    let Ok(entries) = std::fs::read_dir(directory) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(&ending));
        if let Some(pid) = pid.and_then(|pid| pid.parse::<u32>().ok()) {
            if pid != std::process::id() && !process_exists(pid) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Whether a process with this id runs (unknown on other systems: assume it does).
fn process_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return true };
        // SAFETY: kill(2) with signal 0 only checks that the process exists.
        let result = unsafe { libc::kill(pid, 0) };
        result == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed() {
        let directory = std::env::temp_dir().join(format!("hjb_target_{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("r.h5");
        // No process has the largest pid_t; ours is alive.
        let dead = directory.join(format!(".r.h5.{}.tmp", i32::MAX));
        let alive = temporary_path(&path, "");
        let other = directory.join(".other.h5.1.tmp");
        for file in [&dead, &other] {
            std::fs::write(file, b"torn").unwrap();
        }
        write_atomically(&path, "", |temporary| std::fs::write(temporary, b"new")).unwrap();
        assert!(!dead.exists() && !alive.exists() && other.exists());
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
