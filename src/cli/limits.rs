//! The limits a verb runs under (README, "What hjb guarantees"): memory against the machine's
//! available memory or `--max-memory`, time steps against `--max-steps`, threads against the
//! cores.

use super::invalid;
use hjb::problem::Problem;
use hjb::settings::Settings;
use hjb::solver::limits::{check_memory, StepLimit, MAX_STEPS};
use hjb::HjbError;

/// `8G`, `512MiB`, `1.5T`, `1000000` (bytes) → bytes (binary multiples).
pub fn parse_size(text: &str) -> Result<f64, HjbError> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let scale = match unit.to_ascii_lowercase().trim_end_matches("ib").trim_end_matches('b') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0f64.powi(2),
        "g" => 1024.0f64.powi(3),
        "t" => 1024.0f64.powi(4),
        _ => f64::NAN,
    };
    let value: f64 = number.trim().parse().unwrap_or(f64::NAN);
    let bytes = value * scale;
    if !(bytes.is_finite() && bytes > 0.0) {
        return Err(invalid("--max-memory", format!("`{text}` is not a size such as 512M, 8G or 1T")));
    }
    Ok(bytes)
}

/// The memory the system can give without swapping (`MemAvailable`), when it says.
fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|line| line.starts_with("MemAvailable:"))?;
    let kilobytes: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024.0)
}

/// The memory limit: `--max-memory`, else the available memory; `None` when neither is known.
pub fn memory_limit(max_memory: Option<&str>) -> Result<Option<(f64, &'static str)>, HjbError> {
    Ok(match max_memory {
        Some(text) => Some((parse_size(text)?, "limit given")),
        None => available_memory().map(|bytes| (bytes, "memory available")),
    })
}

/// Refuse a run whose estimated memory (plus `extra` bytes) is above the limit. Without a known
/// limit only sizes beyond any machine (2⁶⁴ bytes) are refused.
pub fn check_run_memory(
    problem: &Problem,
    settings: &Settings,
    extra: f64,
    max_memory: Option<&str>,
) -> Result<(), HjbError> {
    let (limit, source) = memory_limit(max_memory)?.unwrap_or((u64::MAX as f64, "addressable memory"));
    check_memory(problem, settings, extra, limit, source).map(|_| ())
}

/// The step limit of `--max-steps` (default [`DEFAULT_MAX_STEPS`]).
pub fn step_limit(max_steps: Option<usize>) -> Result<StepLimit, HjbError> {
    match max_steps {
        None => Ok(StepLimit::default()),
        Some(0) => Err(invalid("--max-steps", "use at least 1 step")),
        Some(limit) if limit > MAX_STEPS => Err(invalid(
            "--max-steps",
            format!("{limit} is above the largest plan hjb accepts ({MAX_STEPS:e})"),
        )),
        Some(limit) => Ok(StepLimit { limit }),
    }
}

/// `--threads N` capped at the number of cores (more threads than cores only slow a solve down);
/// says so on stderr when it caps and `say` is set.
pub fn cap_threads(threads: Option<usize>, say: bool) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    threads.map(|count| {
        if count > cores {
            if say {
                eprintln!("note: --threads {count} capped at {cores}, the number of cores");
            }
            cores
        } else {
            count
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024").unwrap(), 1024.0);
        assert_eq!(parse_size("2K").unwrap(), 2048.0);
        assert_eq!(parse_size("8G").unwrap(), 8.0 * 1024.0f64.powi(3));
        assert_eq!(parse_size("1.5GiB").unwrap(), 1.5 * 1024.0f64.powi(3));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1G").is_err());
        assert_eq!(step_limit(None).unwrap().limit, hjb::solver::limits::DEFAULT_MAX_STEPS);
    }
}
