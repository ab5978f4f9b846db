//! Problem files (TOML) → [`Problem`], with errors located at file, line and column.
//!
//! The schema is documented in the README ("Problem file reference"). Every value that can be
//! wrong on its own is read as `toml::Spanned`, so a reversed bound, a one-point axis, a
//! non-finite number or an unknown name inside a formula is reported at its own line and column
//! together with what to write instead. Structural errors (syntax, unknown or missing fields,
//! wrong types) come from the TOML deserializer with its span.
//!
//! This file holds the whole-file table (`FileSpec`: top-level `name` and `description`, and
//! one field per section), the entry points, and `Context` with the helpers every section
//! uses (locations, located errors, finite numbers, bounds, formulas). Each section has its own
//! reader in a submodule; `Context::build` calls them in a fixed order, which is also the
//! order in which errors are found and formulas compiled:
//!
//! | file | sections |
//! |------|----------|
//! | `states.rs` | `[[state]]` (grid axes, boundaries, Dirichlet values) |
//! | `regimes.rs` | `[regimes]` |
//! | `parameters.rs` | `[parameters]`, and the rules for names across sections |
//! | `cost.rs` | `[horizon]`, `[cost]`, `[target]` |
//! | `lqr.rs` | `[lqr]` |
//! | `controls.rs` | `[[control]]` (and the tables of `[[disturbance]]`) |
//! | `game.rs` | `[[disturbance]]`, `[game]`, `[reachability]` |
//! | `dynamics.rs` | `[dynamics]`, `[diffusion]`, `[diffusion_matrix]` |
//! | `solver.rs` | `[solver]` |
//! | `output.rs` | `[output]` |
//! | `reference.rs` | `[reference]` |
//! | `mixture.rs` | `[reference] kind = "gaussian_mixture"` |

mod controls;
mod cost;
mod dynamics;
mod game;
mod lqr;
mod mixture;
mod output;
mod parameters;
mod reference;
mod regimes;
mod solver;
mod states;

use super::formula::Formula;
use super::function::PointFunction;
use super::Problem;
use crate::error::{HjbError, Location, Result};
use crate::grid::Grid;
use crate::settings::{OutputSettings, Settings, SolverOptions};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A table of formulas keyed by state name (`[dynamics]`, `[diffusion]`).
type FormulaTable = Spanned<BTreeMap<String, Spanned<String>>>;

/// The whole file: one field per top-level key or section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    name: Option<Spanned<String>>,
    description: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, Spanned<f64>>,
    state: Option<Vec<states::StateSpec>>,
    control: Option<Vec<controls::ControlSpec>>,
    disturbance: Option<Vec<controls::ControlSpec>>,
    game: Option<Spanned<game::GameSpec>>,
    reachability: Option<Spanned<game::ReachabilitySpec>>,
    dynamics: Option<FormulaTable>,
    diffusion: Option<FormulaTable>,
    cost: Option<cost::CostSpec>,
    horizon: Option<Spanned<cost::HorizonSpec>>,
    target: Option<Spanned<cost::TargetSpec>>,
    lqr: Option<Spanned<lqr::LqrSpec>>,
    solver: Option<solver::SolverSpec>,
    output: Option<output::OutputSpec>,
    reference: Option<Spanned<reference::ReferenceSpec>>,
    regimes: Option<Spanned<regimes::RegimeSpec>>,
    diffusion_matrix: Option<Spanned<dynamics::DiffusionMatrixSpec>>,
}

/// A parsed problem file: the model, the solver options of its `[solver]` table and the output
/// settings of its `[output]` table.
#[derive(Debug, Clone)]
pub struct ProblemFile {
    /// The model and its grid.
    pub problem: Problem,
    /// What `[solver]` asked for (command-line overrides merge into it).
    pub solver: SolverOptions,
    /// What `[output]` asked for.
    pub output: OutputSettings,
}

impl ProblemFile {
    /// The checked solver settings for this file's problem: as named in `[solver]`, or chosen by
    /// `scheme = "auto"` (the default; [`crate::settings::choose`]).
    pub fn settings(&self) -> Result<Settings> {
        crate::settings::choose(&self.problem.class(), &self.solver).map_err(HjbError::from)
    }
}

/// Read and parse a problem file.
pub fn load_problem(path: &Path) -> Result<ProblemFile> {
    let text = read_text(path)?;
    parse_problem(&text, path)
}

/// Read a text file (a problem or a study); a file that is not UTF-8 is refused at the first
/// invalid byte, with its line, column and byte offset.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes =
        std::fs::read(path).map_err(|source| HjbError::ReadFile { path: path.to_path_buf(), source })?;
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let context = Context { text: valid, path };
        HjbError::ProblemFile {
            location: context.location(offset),
            message: format!(
                "the file is not UTF-8 text: invalid byte 0x{:02x} at byte offset {offset}\n  hint: save the file as UTF-8",
                bytes[offset]
            ),
        }
    })
}

/// Parse problem-file text; `path` is used in messages and for the default problem name.
pub fn parse_problem(text: &str, path: &Path) -> Result<ProblemFile> {
    let context = Context { text, path };
    let spec: FileSpec = toml::from_str(text).map_err(|error| {
        let location = context.location(error.span().map_or(0, |span| span.start));
        HjbError::ProblemFile { location, message: error.message().trim().to_string() }
    })?;
    context.build(spec)
}

/// The names every formula is compiled over: the variables (states in axis order, controls in
/// order, then `t`) and the parameters, folded in as constants.
struct Symbols<'a> {
    states: &'a [String],
    controls: &'a [String],
    variables: Vec<&'a str>,
    constants: Vec<(&'a str, f64)>,
}

impl<'a> Symbols<'a> {
    fn new(states: &'a [String], controls: &'a [String], constants: &'a [(String, f64)]) -> Self {
        let mut variables: Vec<&str> = states.iter().map(String::as_str).collect();
        variables.extend(controls.iter().map(String::as_str));
        variables.push("t");
        let constants = constants.iter().map(|(key, value)| (key.as_str(), *value)).collect();
        Symbols { states, controls, variables, constants }
    }

    /// The number of states (grid axes, the regime axis included).
    fn dimension(&self) -> usize {
        self.states.len()
    }

    /// The constant formula `0` over the variables.
    fn zero(&self) -> PointFunction {
        compile("0", &self.variables, &[]).expect("constant formula")
    }
}

/// The file being read: its text (for locations) and path (for messages).
struct Context<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Context<'_> {
    fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
        Location { file: PathBuf::from(self.path), line, column }
    }

    fn invalid(&self, span: Range<usize>, field: &str, message: String, hint: &str) -> HjbError {
        HjbError::InvalidField {
            location: self.location(span.start),
            field: field.to_string(),
            message,
            hint: hint.to_string(),
        }
    }

    /// A section the file must have; the error points at the start of the file.
    fn missing(&self, message: String) -> HjbError {
        HjbError::ProblemFile { location: self.location(0), message }
    }

    fn finite(&self, value: &Spanned<f64>, field: &str) -> Result<f64> {
        let number = *value.get_ref();
        if number.is_finite() {
            Ok(number)
        } else {
            Err(self.invalid(
                value.span(),
                field,
                format!("{number} is not a finite number"),
                "write a finite decimal number such as 1.0 or -2.5e-3",
            ))
        }
    }

    fn bounds(&self, value: &Spanned<Vec<f64>>, field: &str) -> Result<(f64, f64)> {
        let bounds = value.get_ref();
        let hint = "write `bounds = [lower, upper]` with finite numbers and lower < upper";
        if bounds.len() != 2 {
            return Err(self.invalid(
                value.span(),
                field,
                format!("{} numbers given, expected 2", bounds.len()),
                hint,
            ));
        }
        let (lower, upper) = (bounds[0], bounds[1]);
        if !(lower.is_finite() && upper.is_finite()) {
            return Err(self.invalid(value.span(), field, "non-finite bound".into(), hint));
        }
        if lower >= upper {
            return Err(self.invalid(
                value.span(),
                field,
                format!("bounds are reversed or empty: [{lower}, {upper}]"),
                &format!("write `bounds = [{}, {}]`", lower.min(upper), lower.max(upper)),
            ));
        }
        Ok((lower, upper))
    }

    /// Compile a formula; errors point at the character inside the file.
    fn formula(&self, source: &Spanned<String>, field: &str, symbols: &Symbols) -> Result<PointFunction> {
        compile(source.get_ref(), &symbols.variables, &symbols.constants).map_err(|error| {
            let span = source.span();
            let raw = &self.text[span.start..span.end.min(self.text.len())];
            let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") { 3 } else { 1 };
            let inner: usize = source.get_ref().chars().take(error.column - 1).map(char::len_utf8).sum();
            HjbError::InvalidField {
                location: self.location(span.start + quote + inner),
                field: field.to_string(),
                message: format!("in formula \"{}\": {}", abbreviate(source.get_ref()), error.message),
                hint: "formulas use + - * / ^, parentheses, the functions sin cos tan exp log \
                       sqrt abs tanh sign floor min max, the constant pi, and the names of \
                       states, controls, parameters and t"
                    .to_string(),
            }
        })
    }

    /// The problem's `name`, which names its output files: a plain file name (no folders, not
    /// hidden, not empty).
    fn problem_name(&self, name: &Spanned<String>) -> Result<String> {
        let text = name.get_ref();
        let problem = if text.trim().is_empty() {
            Some("is empty")
        } else if text.contains(['/', '\\']) {
            Some("contains a path separator")
        } else if text.starts_with('.') {
            Some("starts with `.` (a hidden file, or a folder above)")
        } else if text.chars().any(char::is_control) {
            Some("contains a control character")
        } else {
            None
        };
        match problem {
            None => Ok(text.clone()),
            Some(problem) => Err(self.invalid(
                name.span(),
                "name",
                format!("the name \"{}\" {problem}; it names the output files", text.escape_debug()),
                "use a plain file name such as `name = \"lqr_1d\"` (the folder is [output] directory)",
            )),
        }
    }

    /// The sections in order: each reader checks its own keys; the order is the order in which
    /// errors are reported and formulas compiled.
    fn build(&self, spec: FileSpec) -> Result<ProblemFile> {
        let name = match &spec.name {
            Some(name) => self.problem_name(name)?,
            None => self
                .path
                .file_stem()
                .map_or_else(|| "problem".to_string(), |stem| stem.to_string_lossy().into_owned()),
        };

        // The grid: the states, then the regime axis.
        let mut states = self.states(spec.state.as_deref())?;
        let switching = self.regimes(spec.regimes.as_ref(), &mut states)?;
        let grid = Grid::new(states.axes).map_err(|error| HjbError::ProblemFile {
            location: self.location(0),
            message: error.to_string(),
        })?;
        let state_names: Vec<String> = grid.axes().iter().map(|axis| axis.name.clone()).collect();

        let constants = self.parameters(&spec.parameters)?;
        let lqr_matrices = match &spec.lqr {
            Some(lqr) => Some(self.lqr_matrices(lqr, grid.dimension())?),
            None => None,
        };
        // Horizon and discount (needed for LQR default control bounds).
        let horizon = self.horizon(&spec)?;
        let lqr = self.lqr(spec.lqr.as_ref(), lqr_matrices, &horizon)?;
        let mut controls = self.controls(&spec, lqr.as_ref(), &grid)?;
        let control_count = controls.len();
        let disturbances = self.inputs(spec.disturbance.as_ref(), "disturbance")?;
        let disturbance_count = disturbances.len();
        controls.extend(disturbances);
        let control_names: Vec<String> = controls.iter().map(|c| c.name.clone()).collect();
        let spans: Vec<Option<Range<usize>>> = spec
            .state
            .iter()
            .flatten()
            .map(|state| Some(state.name_span()))
            .chain(spec.regimes.iter().map(|regimes| Some(regimes.get_ref().name_span())))
            .chain(
                (0..control_count)
                    .map(|j| spec.control.as_ref().and_then(|c| c.get(j)).map(|c| c.name_span())),
            )
            .chain(
                (0..disturbance_count)
                    .map(|j| spec.disturbance.as_ref().and_then(|d| d.get(j)).map(|d| d.name_span())),
            )
            .chain(spec.parameters.values().map(|value| Some(value.span())))
            .collect();
        self.check_names(&state_names, &control_names, disturbance_count, &constants, &spans)?;
        let symbols = Symbols::new(&state_names, &control_names, &constants);
        let input_specs: Vec<&controls::ControlSpec> =
            spec.control.iter().flatten().chain(spec.disturbance.iter().flatten()).collect();
        let game = if input_specs.len() == controls.len() {
            self.game(&spec, &controls, disturbance_count, &input_specs)?
        } else {
            // `[lqr]` derived its controls: no tables to read balls from.
            self.game(&spec, &controls, disturbance_count, &[])?
        };
        let reachability = self.reachability(&spec, &symbols)?;

        // Dynamics and costs: from formulas, or generated from the LQR matrices.
        let (dynamics, running_cost, terminal_cost) = match &lqr {
            Some(lqr) => self.lqr_dynamics_and_costs(&spec, lqr, &symbols)?,
            None => {
                let dynamics = self.dynamics(spec.dynamics.as_ref(), switching.as_ref(), &symbols)?;
                let (running, terminal) = match &reachability {
                    Some((_, terminal)) => (symbols.zero(), terminal.clone()),
                    None => self.costs(spec.cost.as_ref(), &symbols)?,
                };
                (dynamics, running, terminal)
            }
        };
        let mut boundaries = states.boundaries;
        self.dirichlet(&states.dirichlet, &mut boundaries, &symbols)?;

        let mut options = self.solver(spec.solver.as_ref())?;
        if game.is_some() || reachability.is_some() {
            self.check_game_solver(&spec, &options, horizon.final_time.is_infinite())?;
        }
        let output = self.output(spec.output.as_ref())?;
        options.snapshots = self.snapshots(spec.output.as_ref())?;

        let diffusion_matrix = self.diffusion_matrix(&spec, lqr.as_ref(), switching.as_ref(), &symbols)?;
        let diffusion =
            self.diffusion(&spec, lqr.as_ref(), diffusion_matrix.is_some(), switching.as_ref(), &symbols)?;
        let target = self.target(spec.target.as_ref(), &symbols)?;

        let mut problem = Problem {
            diffusion_matrix,
            switching,
            target,
            name,
            description: spec.description.clone().unwrap_or_default(),
            grid,
            boundaries,
            controls,
            dynamics,
            diffusion,
            running_cost,
            terminal_cost,
            discount: horizon.discount,
            final_time: horizon.final_time,
            reference: None,
            game,
            reachability: reachability.map(|(reachability, _)| reachability),
            source_text: self.text.to_string(),
        };
        if problem.is_stationary() && problem.is_time_dependent() {
            return Err(HjbError::ProblemFile {
                location: self.location(horizon.span.start),
                message: "a stationary problem cannot depend on t\n  hint: remove t from the formulas, or give `final_time = T` instead of `stationary = true`".to_string(),
            });
        }

        problem.reference = self.reference(spec.reference.as_ref(), &problem, lqr, &symbols)?;
        Ok(ProblemFile { problem, solver: options, output })
    }
}

/// A formula as quoted in messages: whole up to 80 characters, else its start and end.
fn abbreviate(source: &str) -> String {
    let characters: Vec<char> = source.chars().collect();
    if characters.len() <= 80 {
        return source.to_string();
    }
    let head: String = characters[..40].iter().collect();
    let tail: String = characters[characters.len() - 20..].iter().collect();
    format!("{head}…{tail}")
}

/// Compile a formula into a model function.
pub(super) fn compile(
    source: &str,
    variables: &[&str],
    constants: &[(&str, f64)],
) -> std::result::Result<PointFunction, super::formula::FormulaError> {
    Formula::compile(source, variables, constants).map(PointFunction::from)
}
