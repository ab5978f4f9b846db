//! `hjb check FILE`: stability numbers and memory without solving (and the von Neumann analysis).

use super::overrides::Overrides;
use super::print_json;
use hjb::io::{figures, report, summary};
use hjb::problem::load_problem;
use hjb::solver::{prepare, with_threads, Observer, RunView};
use hjb::stability::VonNeumann;
use std::path::Path;

pub fn run(file: &Path, json: bool, von_neumann: bool, overrides: &Overrides) -> anyhow::Result<()> {
    let (problem, settings, output) = overrides.apply(load_problem(file)?)?;
    overrides.check_memory(&problem, &settings, 0.0)?;
    let preparation = with_threads(overrides.threads(), || prepare(&problem, &settings))??;
    let settings = preparation.settings;
    let plan = &preparation.plan;
    let run = RunView {
        steps: plan.steps,
        time_step: plan.time_step,
        nodes: problem.grid.node_count(),
        fingerprint: "",
    };
    overrides.step_limit()?.admit(&run)?;
    let analysis = match von_neumann {
        true => {
            let analysis = VonNeumann::for_plan(&problem, &preparation.plan);
            let picture =
                figures::write_von_neumann_plot(&output.directory, &problem, &analysis, &preparation.plan)?;
            Some((analysis, picture))
        }
        false => None,
    };
    let analysis = analysis.as_ref().map(|(analysis, picture)| (analysis, picture.as_path()));
    if json {
        return print_json(&match analysis {
            Some((analysis, picture)) => {
                summary::check_summary_with_von_neumann(&problem, &settings, &preparation, analysis, picture)
            }
            None => summary::check_summary(&problem, &settings, &preparation),
        });
    }
    print!("{}", report::check_report(&problem, &settings, &preparation, analysis));
    Ok(())
}
