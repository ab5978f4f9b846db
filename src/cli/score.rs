//! `hjb score RESULT.h5 --times 0.1,0.5,0.9`: the solver's optimal drift next to the exact
//! score drift ∇log p_t + x/t ([`hjb::score`]), written as HDF5 and PNG, with the differences.

use super::{invalid, print_json};
use hjb::io::{hdf5, score_file, score_plot, score_report};
use hjb::problem::{parse_problem, ProblemFile};
use std::path::{Path, PathBuf};

pub fn run(result: &Path, times: &str, out: Option<PathBuf>, json: bool) -> anyhow::Result<()> {
    let times: Vec<f64> =
        times
            .split(',')
            .map(|part| part.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| invalid("--times", format!("`{times}` is not a list of numbers t1,t2,…")))?;
    let stem = out.unwrap_or_else(|| PathBuf::from(format!("{}_score", result.with_extension("").display())));
    let (h5, png) = (stem.with_extension("h5"), stem.with_extension("png"));
    super::check_targets(&[&h5, &png])?;
    let stored = hdf5::read_result(result)?;
    let ProblemFile { problem, .. } = parse_problem(&stored.problem_toml, result)?;
    // The result may have been solved on another grid (--points).
    let problem = problem.with_points(&stored.shape)?;
    let Some(snapshots) = &stored.snapshots else {
        return Err(invalid(
            "result",
            "the result stores no time levels: solve with [output] snapshots = K (K ≥ 2) to keep u*(x, t)",
        )
        .into());
    };
    let levels = hjb::score::score_view(&problem, snapshots, &times)?;
    score_file::write_score(&h5, &problem, &levels, result)?;
    let title = format!("{}: optimal drift vs score ∇log p_t + x/t", problem.name);
    score_plot::write_score_png(&png, &problem, &levels, &title)?;
    let written = [h5.as_path(), png.as_path()];
    if json {
        return print_json(&score_report::score_json(&problem, &levels, &written));
    }
    print!("{}", score_report::score_report(&problem, &levels, &written));
    Ok(())
}
