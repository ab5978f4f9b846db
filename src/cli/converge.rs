//! `hjb converge FILE --levels N`: refinement study against the file's reference (or, without
//! one, against the finest level), its HDF5 file and error-vs-h picture.

use super::overrides::Overrides;
use super::{invalid, print_json};
use hjb::io::plot::write_convergence_png;
use hjb::io::{hdf5, report, summary};
use hjb::problem::load_problem;
use hjb::solver::with_threads;
use hjb::validate::{convergence_study, refinement_levels, self_convergence_study};
use hjb::HjbError;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub fn run(
    file: &Path,
    levels: usize,
    refine: usize,
    json: bool,
    out: Option<PathBuf>,
    overrides: &Overrides,
) -> anyhow::Result<()> {
    let (problem, settings, output) = overrides.apply(load_problem(file)?)?;
    if levels < 2 || refine < 2 {
        return Err(invalid("--levels/--refine", "need at least 2 levels and a refinement factor ≥ 2").into());
    }
    let grids = refinement_levels(&problem, levels, refine).map_err(|error| match error {
        HjbError::InvalidGrid { message } => invalid("--levels", message),
        other => other,
    })?;
    // The finest level is the file's grid: the largest of the study.
    overrides.check_memory(&problem, &settings, 0.0)?;
    if let Some(out) = &out {
        super::check_targets(&[out, &out.with_extension("png")])?;
    }
    let started = Instant::now();
    // Against the exact reference when the file has one, else against the finest level.
    let (study, richardson_order) = if problem.reference.is_some() {
        (with_threads(overrides.threads(), || convergence_study(&problem, &settings, &grids))??, None)
    } else {
        let study =
            with_threads(overrides.threads(), || self_convergence_study(&problem, &settings, &grids))?
                .map_err(|error| match error {
                    HjbError::TooFewLevels { .. } => invalid("--levels", error.to_string()),
                    other => other,
                })?;
        (study.levels, Some(study.richardson_order))
    };
    let seconds = started.elapsed().as_secs_f64();
    let out = out.unwrap_or_else(|| output.directory.join(format!("{}_convergence.h5", problem.name)));
    hdf5::write_convergence(&out, &problem, &settings, &study)?;
    let picture = out.with_extension("png");
    let title = format!("{}: {} scheme, error vs h", problem.name, settings.scheme_name());
    write_convergence_png(&picture, &study, &title)?;
    if json {
        return print_json(&summary::converge_study_summary(
            &problem,
            &settings,
            &study,
            richardson_order,
            seconds,
            &out,
            &picture,
        ));
    }
    let written = [out.as_path(), picture.as_path()];
    print!("{}", report::converge_report(&problem, &settings, &study, richardson_order, &written, seconds));
    Ok(())
}
