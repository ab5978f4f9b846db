//! Problem files (TOML) → [`Problem`], with errors located at file, line and column.
//!
//! The schema is documented in the README ("Problem file reference"). Every value that can be
//! wrong on its own is read as `toml::Spanned`, so a reversed bound, a one-point axis, a
//! non-finite number or an unknown name inside a formula is reported at its own line and column
//! together with what to write instead. Structural errors (syntax, unknown or missing fields,
//! wrong types) come from the TOML deserializer with its span.

use super::formula::Formula;
use super::function::PointFunction;
use super::lqr::{matrix_from_rows, Lqr};
use super::{Boundary, Control, ErrorRegion, Problem, Reference, ReferenceSolution, Switching};
use crate::error::{HjbError, Location, Result};
use crate::grid::{Axis, Grid};
use crate::settings::{Characteristic, OutputSettings, Settings, SolverOptions, SCHEME_NAMES};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    name: Option<Spanned<String>>,
    description: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, Spanned<f64>>,
    state: Option<Vec<StateSpec>>,
    control: Option<Vec<ControlSpec>>,
    dynamics: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    diffusion: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    cost: Option<CostSpec>,
    horizon: Option<Spanned<HorizonSpec>>,
    target: Option<Spanned<TargetSpec>>,
    lqr: Option<Spanned<LqrSpec>>,
    solver: Option<SolverSpec>,
    output: Option<OutputSpec>,
    reference: Option<Spanned<ReferenceSpec>>,
    regimes: Option<Spanned<RegimeSpec>>,
    diffusion_matrix: Option<Spanned<DiffusionMatrixSpec>>,
}

/// `[diffusion_matrix] sigma = [[…], …]`: the full n × k noise matrix σ(x, u, t) of
/// `dX = f dt + σ dW` (k independent Brownian motions), as formulas.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffusionMatrixSpec {
    sigma: Spanned<Vec<Vec<String>>>,
}

/// `[regimes]`: a discrete state switching at Poisson rates (e.g. income in a consumption–saving
/// problem). It becomes the last grid axis, `name`, with one node per value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegimeSpec {
    name: Spanned<String>,
    values: Spanned<Vec<f64>>,
    rates: Spanned<Vec<Vec<f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateSpec {
    name: Spanned<String>,
    bounds: Spanned<Vec<f64>>,
    points: Spanned<i64>,
    #[serde(default)]
    periodic: bool,
    boundary: Option<Spanned<String>>,
    /// Boundary value formula for `boundary = "dirichlet"`.
    dirichlet: Option<Spanned<String>>,
    /// Units for labels.
    units: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlSpec {
    name: Spanned<String>,
    bounds: Spanned<Vec<f64>>,
    samples: Option<Spanned<i64>>,
    units: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CostSpec {
    running: Option<Spanned<String>>,
    terminal: Option<Spanned<String>>,
    discount: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    /// The target is where this formula of the states is ≤ 0.
    set: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HorizonSpec {
    final_time: Option<Spanned<f64>>,
    stationary: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LqrSpec {
    #[serde(rename = "A")]
    a: Spanned<Vec<Vec<f64>>>,
    #[serde(rename = "B")]
    b: Spanned<Vec<Vec<f64>>>,
    #[serde(rename = "Q")]
    q: Spanned<Vec<Vec<f64>>>,
    #[serde(rename = "R")]
    r: Spanned<Vec<Vec<f64>>>,
    #[serde(rename = "S")]
    s: Option<Spanned<Vec<Vec<f64>>>>,
    #[serde(rename = "Sigma")]
    sigma: Option<Spanned<Vec<Vec<f64>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SolverSpec {
    scheme: Option<Spanned<String>>,
    differencing: Option<Spanned<String>>,
    stepping: Option<Spanned<String>>,
    cfl: Option<Spanned<f64>>,
    time_step: Option<Spanned<f64>>,
    hamiltonian: Option<Spanned<String>>,
    refine: Option<bool>,
    characteristic: Option<Spanned<String>>,
    courant: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputSpec {
    directory: Option<String>,
    plots: Option<bool>,
    snapshots: Option<Spanned<i64>>,
    gradients: Option<bool>,
    contours: Option<Spanned<i64>>,
    zero_level_set: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceSpec {
    kind: Spanned<String>,
    value: Option<Spanned<String>>,
    /// `kind = "double_integrator_min_time"`: radius of the target disc around the origin.
    radius: Option<Spanned<f64>>,
    region: Option<Spanned<BTreeMap<String, Vec<f64>>>>,
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
    /// The checked solver settings (already checked once when the file was parsed).
    pub fn settings(&self) -> Result<Settings> {
        self.solver.settings().map_err(HjbError::from)
    }
}

/// Read and parse a problem file.
pub fn load_problem(path: &Path) -> Result<ProblemFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| HjbError::ReadFile { path: path.to_path_buf(), source })?;
    parse_problem(&text, path)
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
    fn formula(
        &self,
        source: &Spanned<String>,
        field: &str,
        variables: &[&str],
        constants: &[(&str, f64)],
    ) -> Result<PointFunction> {
        compile(source.get_ref(), variables, constants).map_err(|error| {
            let span = source.span();
            let raw = &self.text[span.start..span.end.min(self.text.len())];
            let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") { 3 } else { 1 };
            let inner: usize = source.get_ref().chars().take(error.column - 1).map(char::len_utf8).sum();
            HjbError::InvalidField {
                location: self.location(span.start + quote + inner),
                field: field.to_string(),
                message: format!("in formula \"{}\": {}", source.get_ref(), error.message),
                hint: "formulas use + - * / ^, parentheses, the functions sin cos tan exp log \
                       sqrt abs tanh sign floor min max, the constant pi, and the names of \
                       states, controls, parameters and t"
                    .to_string(),
            }
        })
    }

    /// The regime axis and its switching rates from `[regimes]`.
    fn regimes(&self, regimes: &Spanned<RegimeSpec>, axis: usize) -> Result<(Axis, Switching)> {
        let spec = regimes.get_ref();
        let values = spec.values.get_ref();
        let count = values.len();
        let evenly = count >= 2
            && values.iter().all(|v| v.is_finite())
            && values.windows(2).all(|w| w[1] > w[0])
            && values
                .windows(2)
                .all(|w| ((w[1] - w[0]) - (values[1] - values[0])).abs() <= 1e-12 * (1.0 + values[1].abs()));
        if !evenly {
            return Err(self.invalid(
                spec.values.span(),
                "regimes.values",
                format!("{values:?}: the regime values must be at least 2, increasing and evenly spaced"),
                "write e.g. `values = [0.1, 0.2]` (the value of the regime variable in each regime)",
            ));
        }
        let rates = spec.rates.get_ref();
        let square = rates.len() == count && rates.iter().all(|row| row.len() == count);
        let valid = square
            && rates.iter().enumerate().all(|(j, row)| {
                row.iter()
                    .enumerate()
                    .all(|(k, rate)| rate.is_finite() && *rate >= 0.0 && (j != k || *rate == 0.0))
            });
        if !valid {
            return Err(self.invalid(
                spec.rates.span(),
                "regimes.rates",
                format!(
                    "the switching rates must be a {count}×{count} table of finite λ ≥ 0 with zeros on the diagonal"
                ),
                "write e.g. `rates = [[0.0, 0.5], [0.8, 0.0]]` (row j: rates of leaving regime j for each k)",
            ));
        }
        let axis_spec = Axis {
            name: spec.name.get_ref().clone(),
            lower: values[0],
            upper: values[count - 1],
            points: count,
            periodic: false,
            units: String::new(),
        };
        Ok((axis_spec, Switching { axis, rates: rates.clone() }))
    }

    fn build(&self, spec: FileSpec) -> Result<ProblemFile> {
        let name = match &spec.name {
            Some(name) => name.get_ref().clone(),
            None => self
                .path
                .file_stem()
                .map_or_else(|| "problem".to_string(), |stem| stem.to_string_lossy().into_owned()),
        };

        // States and grid.
        let Some(states) = spec.state.as_ref().filter(|states| !states.is_empty()) else {
            return Err(HjbError::ProblemFile {
                location: self.location(0),
                message: "missing section [[state]]: every problem needs at least one state"
                    .to_string()
                    + "\n  hint: add\n    [[state]]\n    name = \"x\"\n    bounds = [-1.0, 1.0]\n    points = 101",
            });
        };
        let mut axes = Vec::new();
        let mut boundaries = Vec::new();
        let mut dirichlet_sources = Vec::new();
        for state in states {
            let field = format!("state.{}", state.name.get_ref());
            let (lower, upper) = self.bounds(&state.bounds, &format!("{field}.bounds"))?;
            let points = *state.points.get_ref();
            if points < 2 {
                return Err(self.invalid(
                    state.points.span(),
                    &format!("{field}.points"),
                    format!("{points} grid points; an axis needs at least 2"),
                    "write `points = 101` (or any count ≥ 2; accuracy grows with the count)",
                ));
            }
            let mut periodic = state.periodic;
            let boundary = match &state.boundary {
                None => None,
                Some(spanned) => match spanned.get_ref().as_str() {
                    "extrapolate" => Some(Boundary::Extrapolate),
                    "state_constraint" => Some(Boundary::StateConstraint),
                    "periodic" => {
                        periodic = true;
                        Some(Boundary::Periodic)
                    }
                    "dirichlet" => {
                        let Some(formula) = &state.dirichlet else {
                            return Err(self.invalid(
                                spanned.span(),
                                &format!("{field}.dirichlet"),
                                "boundary = \"dirichlet\" needs the boundary value".into(),
                                "add `dirichlet = \"...\"`: V on the boundary as a formula of the states and t",
                            ));
                        };
                        dirichlet_sources.push((axes.len(), formula));
                        None
                    }
                    other => {
                        return Err(self.invalid(
                            spanned.span(),
                            &format!("{field}.boundary"),
                            format!("unknown boundary handling `{other}`"),
                            "write \"extrapolate\" (default), \"periodic\", \"state_constraint\" or \"dirichlet\" (with `dirichlet = \"formula\"`)",
                        ))
                    }
                },
            };
            if let (Some(formula), false) =
                (&state.dirichlet, dirichlet_sources.iter().any(|(axis, _)| *axis == axes.len()))
            {
                return Err(self.invalid(
                    formula.span(),
                    &format!("{field}.dirichlet"),
                    "a Dirichlet value is given but the boundary is not \"dirichlet\"".into(),
                    "add `boundary = \"dirichlet\"` or remove `dirichlet`",
                ));
            }
            if periodic && !dirichlet_sources.iter().all(|(axis, _)| *axis != axes.len()) {
                return Err(self.invalid(
                    state.name.span(),
                    &field,
                    "an axis cannot be both periodic and Dirichlet".into(),
                    "remove `periodic = true` or the `boundary` line",
                ));
            }
            boundaries.push(if periodic {
                Boundary::Periodic
            } else {
                boundary.unwrap_or(Boundary::Extrapolate)
            });
            axes.push(Axis {
                name: state.name.get_ref().clone(),
                lower,
                upper,
                points: points as usize,
                periodic,
                units: state.units.clone().unwrap_or_default(),
            });
        }
        let switching = match &spec.regimes {
            None => None,
            Some(regimes) => {
                let (axis, switching) = self.regimes(regimes, axes.len())?;
                axes.push(axis);
                boundaries.push(Boundary::Extrapolate);
                Some(switching)
            }
        };
        let grid = Grid::new(axes).map_err(|error| HjbError::ProblemFile {
            location: self.location(0),
            message: error.to_string(),
        })?;
        let state_names: Vec<String> = grid.axes().iter().map(|axis| axis.name.clone()).collect();

        // Parameters.
        let mut constants: Vec<(String, f64)> = Vec::new();
        for (key, value) in &spec.parameters {
            let number = self.finite(value, &format!("parameters.{key}"))?;
            constants.push((key.clone(), number));
        }

        // Linear–quadratic matrices, if given.
        let lqr_matrices = match &spec.lqr {
            Some(lqr) => Some(self.lqr_matrices(lqr, grid.dimension())?),
            None => None,
        };

        // Horizon and discount (needed for LQR default control bounds).
        let Some(horizon) = &spec.horizon else {
            return Err(HjbError::ProblemFile {
                location: self.location(0),
                message: "missing section [horizon]\n  hint: add\n    [horizon]\n    final_time = 1.0\n  or, for an infinite horizon with discount > 0,\n    [horizon]\n    stationary = true".to_string(),
            });
        };
        let horizon_spec = horizon.get_ref();
        let stationary = horizon_spec.stationary.as_ref().is_some_and(|flag| *flag.get_ref());
        let final_time = match (&horizon_spec.final_time, stationary) {
            (Some(time), false) => {
                let final_time = self.finite(time, "horizon.final_time")?;
                if final_time <= 0.0 {
                    return Err(self.invalid(
                        time.span(),
                        "horizon.final_time",
                        format!("final time {final_time} must be positive"),
                        "write `final_time = 1.0` (the horizon T; hjb reports V at t = 0)",
                    ));
                }
                final_time
            }
            (Some(time), true) => {
                return Err(self.invalid(
                    time.span(),
                    "horizon",
                    "both `final_time` and `stationary = true` given".into(),
                    "keep `final_time = T` for a finite horizon, or `stationary = true` alone",
                ))
            }
            (None, true) => f64::INFINITY,
            (None, false) => {
                return Err(self.invalid(
                    horizon.span(),
                    "horizon",
                    "no horizon given".into(),
                    "write `final_time = 1.0` (finite horizon) or `stationary = true` (infinite horizon, discount > 0)",
                ))
            }
        };
        let discount = match spec.cost.as_ref().and_then(|cost| cost.discount.as_ref()) {
            Some(value) => {
                let rho = self.finite(value, "cost.discount")?;
                if rho < 0.0 {
                    return Err(self.invalid(
                        value.span(),
                        "cost.discount",
                        format!("discount {rho} is negative"),
                        "write a rate ρ ≥ 0, e.g. `discount = 0.05`",
                    ));
                }
                rho
            }
            None => 0.0,
        };
        if stationary && !(discount > 0.0) && spec.target.is_none() {
            let span = horizon_spec.stationary.as_ref().map_or(horizon.span(), Spanned::span);
            return Err(self.invalid(
                span,
                "horizon.stationary",
                "a stationary problem needs a discount ρ > 0 or a target set (else the cost grows without bound)".into(),
                "add `discount = 0.05` (any ρ > 0) to [cost], or a [target] with `set = \"formula\"` (reached where ≤ 0)",
            ));
        }
        let lqr =
            lqr_matrices.map(|(a, b, q, r, s, sigma)| Lqr { a, b, q, r, s, sigma, discount, final_time });
        if let Some(lqr) = &lqr {
            lqr.validate().map_err(|error| {
                let span = spec.lqr.as_ref().map_or(0..0, Spanned::span);
                self.invalid(
                    span,
                    "lqr",
                    error.to_string(),
                    "check the matrix shapes and that R is positive definite",
                )
            })?;
        }

        // Controls.
        let mut controls = Vec::new();
        for control in spec.control.iter().flatten() {
            let field = format!("control.{}", control.name.get_ref());
            let (lower, upper) = self.bounds(&control.bounds, &format!("{field}.bounds"))?;
            let samples = match &control.samples {
                Some(samples) if *samples.get_ref() < 2 => {
                    return Err(self.invalid(
                        samples.span(),
                        &format!("{field}.samples"),
                        format!("{} samples; the control set needs at least 2", samples.get_ref()),
                        "write `samples = 21` (samples include both bounds)",
                    ))
                }
                Some(samples) => *samples.get_ref() as usize,
                None => 21,
            };
            controls.push(Control {
                name: control.name.get_ref().clone(),
                lower,
                upper,
                samples,
                units: control.units.clone().unwrap_or_default(),
            });
        }
        if let Some(lqr) = &lqr {
            let m = lqr.control_dimension();
            if controls.is_empty() {
                let lower: Vec<f64> = grid.axes().iter().map(|axis| axis.lower).collect();
                let upper: Vec<f64> = grid.axes().iter().map(|axis| axis.upper).collect();
                let largest = lqr.largest_optimal_controls(&lower, &upper)?;
                for (j, extent) in largest.iter().enumerate() {
                    // 25 % headroom so the box never binds for the optimal feedback on the grid.
                    let bound = (1.25 * extent).max(1e-3);
                    let name = if m == 1 { "u".to_string() } else { format!("u{}", j + 1) };
                    controls.push(Control {
                        name,
                        lower: -bound,
                        upper: bound,
                        samples: 41,
                        units: String::new(),
                    });
                }
            } else if controls.len() != m {
                return Err(self.invalid(
                    spec.lqr.as_ref().map_or(0..0, Spanned::span),
                    "control",
                    format!("{} [[control]] sections for a B with {m} columns", controls.len()),
                    "give one [[control]] per column of B, or none to derive the bounds",
                ));
            }
        }
        if controls.is_empty() {
            return Err(HjbError::ProblemFile {
                location: self.location(0),
                message: "missing section [[control]]\n  hint: add\n    [[control]]\n    name = \"u\"\n    bounds = [-1.0, 1.0]".to_string(),
            });
        }
        let control_names: Vec<String> = controls.iter().map(|c| c.name.clone()).collect();

        // Names must be unique across states, controls, parameters, t and pi.
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        let reserved = [("t", "time"), ("pi", "constant")];
        for (name, kind) in state_names
            .iter()
            .map(|n| (n.as_str(), "state"))
            .chain(control_names.iter().map(|n| (n.as_str(), "control")))
            .chain(constants.iter().map(|(n, _)| (n.as_str(), "parameter")))
            .chain(reserved)
        {
            let valid = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            let clashes = kind != "time"
                && kind != "constant"
                && (name == "t"
                    || name == "pi"
                    || super::formula::FUNCTION_NAMES.split(' ').any(|f| f == name));
            if !valid || clashes {
                return Err(HjbError::ProblemFile {
                    location: self.location(0),
                    message: format!(
                        "{kind} name `{name}` cannot be used in formulas\n  hint: use letters, digits and _, starting with a letter"
                    ),
                });
            }
            if let Some(previous) = seen.insert(name, kind) {
                return Err(HjbError::ProblemFile {
                    location: self.location(0),
                    message: format!(
                        "the name `{name}` is used by a {previous} and a {kind}\n  hint: rename one of them"
                    ),
                });
            }
        }

        let mut variables: Vec<&str> = state_names.iter().map(String::as_str).collect();
        variables.extend(control_names.iter().map(String::as_str));
        variables.push("t");
        let constant_refs: Vec<(&str, f64)> =
            constants.iter().map(|(key, value)| (key.as_str(), *value)).collect();

        // Dynamics and costs: from formulas, or generated from the LQR matrices.
        let (dynamics, running_cost, terminal_cost) = match &lqr {
            Some(lqr) => {
                if spec.dynamics.is_some()
                    || spec.cost.as_ref().is_some_and(|c| c.running.is_some() || c.terminal.is_some())
                {
                    return Err(self.invalid(
                        spec.lqr.as_ref().map_or(0..0, Spanned::span),
                        "lqr",
                        "[lqr] matrices and [dynamics]/cost formulas both given".into(),
                        "keep either the [lqr] section or the formulas",
                    ));
                }
                let text = lqr_formulas(lqr, &state_names, &control_names);
                let compile = |source: &str| {
                    compile(source, &variables, &constant_refs).map_err(|error| {
                        HjbError::Numerical(format!("generated LQR formula failed: {error}"))
                    })
                };
                let dynamics = text.0.iter().map(|f| compile(f)).collect::<Result<Vec<_>>>()?;
                (dynamics, compile(&text.1)?, compile(&text.2)?)
            }
            None => {
                let Some(dynamics_table) = &spec.dynamics else {
                    return Err(HjbError::ProblemFile {
                        location: self.location(0),
                        message: format!(
                            "missing section [dynamics]\n  hint: add one formula per state, e.g.\n    [dynamics]\n    {} = \"...\"",
                            state_names[0]
                        ),
                    });
                };
                for (key, value) in dynamics_table.get_ref() {
                    if !state_names.contains(key) {
                        return Err(self.invalid(
                            value.span(),
                            &format!("dynamics.{key}"),
                            format!("`{key}` is not a state"),
                            &format!("the states are: {}", state_names.join(", ")),
                        ));
                    }
                }
                let mut dynamics = Vec::new();
                for state in &state_names {
                    if let Some(switching) = &switching {
                        if *state == state_names[switching.axis] {
                            if let Some(source) = dynamics_table.get_ref().get(state) {
                                return Err(self.invalid(
                                    source.span(),
                                    &format!("dynamics.{state}"),
                                    format!("`{state}` is the regime variable: it jumps at the [regimes] rates and has no dynamics"),
                                    "remove this line",
                                ));
                            }
                            dynamics.push(compile("0", &variables, &[]).expect("constant formula"));
                            continue;
                        }
                    }
                    let Some(source) = dynamics_table.get_ref().get(state) else {
                        return Err(self.invalid(
                            dynamics_table.span(),
                            "dynamics",
                            format!("no formula for state `{state}`"),
                            &format!("add `{state} = \"...\"` (dx/dt as a formula)"),
                        ));
                    };
                    dynamics.push(self.formula(
                        source,
                        &format!("dynamics.{state}"),
                        &variables,
                        &constant_refs,
                    )?);
                }
                let cost = spec.cost.as_ref();
                let running = match cost.and_then(|c| c.running.as_ref()) {
                    Some(source) => self.formula(source, "cost.running", &variables, &constant_refs)?,
                    None => {
                        return Err(HjbError::ProblemFile {
                            location: self.location(0),
                            message: "missing `running` in [cost]\n  hint: add\n    [cost]\n    running = \"x^2 + u^2\"".to_string(),
                        })
                    }
                };
                let terminal = match cost.and_then(|c| c.terminal.as_ref()) {
                    Some(source) => {
                        let formula = self.formula(source, "cost.terminal", &variables, &constant_refs)?;
                        let used = formula.uses();
                        if used[grid.dimension()..].iter().any(|u| *u) {
                            return Err(self.invalid(
                                source.span(),
                                "cost.terminal",
                                "the terminal cost may depend on the states only".into(),
                                "remove controls and t from the terminal cost g(x)",
                            ));
                        }
                        formula
                    }
                    None => compile("0", &variables, &[]).expect("constant formula"),
                };
                (dynamics, running, terminal)
            }
        };

        // Boundary formulas.
        for (axis, source) in dirichlet_sources {
            let formula = self.formula(
                source,
                &format!("state.{}.dirichlet", state_names[axis]),
                &variables,
                &constant_refs,
            )?;
            if formula.uses()[grid.dimension()..grid.dimension() + control_names.len()].iter().any(|u| *u) {
                return Err(self.invalid(
                    source.span(),
                    "boundary.dirichlet",
                    "a boundary value may depend on the states and t only".into(),
                    "remove the controls from the formula",
                ));
            }
            boundaries[axis] = Boundary::Dirichlet(formula);
        }

        // Solver settings.
        let mut options = SolverOptions::default();
        if let Some(solver) = &spec.solver {
            options.scheme = solver.scheme.as_ref().map(|scheme| scheme.get_ref().clone());
            options.differencing = solver.differencing.as_ref().map(|name| name.get_ref().clone());
            options.stepping = solver.stepping.as_ref().map(|name| name.get_ref().clone());
            if let Some(cfl) = &solver.cfl {
                let value = self.finite(cfl, "solver.cfl")?;
                if !(value > 0.0 && value <= 1.0) {
                    return Err(self.invalid(
                        cfl.span(),
                        "solver.cfl",
                        format!("CFL number {value} is outside (0, 1]; above 1 the explicit schemes are not monotone"),
                        "write `cfl = 0.9`; for the semi_lagrangian and implicit schemes, which have no CFL \
                         limit, use `courant = 5` (cells of displacement per step) or `time_step`",
                    ));
                }
                options.cfl = Some(value);
            }
            if let Some(courant) = &solver.courant {
                let value = self.finite(courant, "solver.courant")?;
                if value <= 0.0 {
                    return Err(self.invalid(
                        courant.span(),
                        "solver.courant",
                        format!("Courant number {value} must be positive"),
                        "write `courant = 5` (the largest displacement per step, in cells)",
                    ));
                }
                options.courant = Some(value);
            }
            if let Some(kind) = &solver.hamiltonian {
                options.force_sampled = match kind.get_ref().as_str() {
                    "auto" => false,
                    "sampled" => true,
                    other => {
                        return Err(self.invalid(
                            kind.span(),
                            "solver.hamiltonian",
                            format!("unknown Hamiltonian minimisation `{other}`"),
                            "write \"auto\" (closed form where it applies) or \"sampled\"",
                        ))
                    }
                };
            }
            options.refine = solver.refine;
            if let Some(kind) = &solver.characteristic {
                options.characteristic = Some(match kind.get_ref().as_str() {
                    "euler" => Characteristic::Euler,
                    "heun" => Characteristic::Heun,
                    other => {
                        return Err(self.invalid(
                            kind.span(),
                            "solver.characteristic",
                            format!("unknown characteristic rule `{other}`"),
                            "write \"euler\" (x + Δt f) or \"heun\" (the trapezoidal foot)",
                        ))
                    }
                });
            }
            if let Some(step) = &solver.time_step {
                let value = self.finite(step, "solver.time_step")?;
                if value <= 0.0 {
                    return Err(self.invalid(
                        step.span(),
                        "solver.time_step",
                        format!("time step {value} must be positive"),
                        "write a positive step, or remove it to let `cfl` choose",
                    ));
                }
                options.time_step = Some(value);
            }
            // The combination, checked in one place; located at the first naming key.
            if let Err(error) = options.settings() {
                let span = [&solver.scheme, &solver.differencing, &solver.stepping]
                    .into_iter()
                    .flatten()
                    .next()
                    .map_or(0..0, |named| named.span());
                return Err(self.invalid(
                    span,
                    "solver",
                    error.to_string(),
                    &format!(
                        "write `scheme = \"upwind\"` (available: {SCHEME_NAMES}), or `differencing` \
                         (upwind, lax_friedrichs) with `stepping` (explicit, implicit, semi_lagrangian)"
                    ),
                ));
            }
        }
        let output = OutputSettings {
            directory: PathBuf::from(
                spec.output.as_ref().and_then(|o| o.directory.clone()).unwrap_or_else(|| "output".into()),
            ),
            plots: spec.output.as_ref().and_then(|o| o.plots).unwrap_or(true),
            gradients: spec.output.as_ref().and_then(|o| o.gradients).unwrap_or(false),
            zero_level_set: spec.output.as_ref().and_then(|o| o.zero_level_set).unwrap_or(false),
            contours: match spec.output.as_ref().and_then(|o| o.contours.as_ref()) {
                None => 8,
                Some(count) if (0..=100).contains(count.get_ref()) => *count.get_ref() as usize,
                Some(count) => {
                    return Err(self.invalid(
                        count.span(),
                        "output.contours",
                        format!("{} contour levels; give 0 to 100", count.get_ref()),
                        "write `contours = 8` (0 for none)",
                    ))
                }
            },
        };
        options.snapshots = match spec.output.as_ref().and_then(|o| o.snapshots.as_ref()) {
            None => 0,
            Some(count) if *count.get_ref() == 0 || (2..=10_000).contains(count.get_ref()) => {
                *count.get_ref() as usize
            }
            Some(count) => {
                return Err(self.invalid(
                    count.span(),
                    "output.snapshots",
                    format!("{} snapshots; give 0 (none) or 2 to 10000", count.get_ref()),
                    "write `snapshots = 21` to store V and the policy at 21 times from t = 0 to T",
                ))
            }
        };

        // Correlated noise: a full σ matrix (from [diffusion_matrix] or a non-diagonal [lqr] Sigma).
        let lqr_full_sigma = lqr.as_ref().and_then(|lqr| lqr.sigma.as_ref()).filter(|sigma| {
            sigma.ncols() != grid.dimension()
                || (0..sigma.nrows()).any(|i| (0..sigma.ncols()).any(|j| i != j && sigma[(i, j)] != 0.0))
        });
        let diffusion_matrix = match (&spec.diffusion_matrix, lqr_full_sigma) {
            (Some(matrix), _)
                if spec.diffusion.is_some() || lqr.as_ref().is_some_and(|l| l.sigma.is_some()) =>
            {
                return Err(self.invalid(
                    matrix.span(),
                    "diffusion_matrix",
                    "the noise is given twice ([diffusion_matrix] and [diffusion] or [lqr] Sigma)".into(),
                    "keep one: [diffusion] for independent noise per state, [diffusion_matrix] for a full σ",
                ))
            }
            (Some(matrix), _) => {
                let rows = matrix.get_ref().sigma.get_ref();
                let columns = rows.first().map_or(0, Vec::len);
                if rows.len() != grid.dimension()
                    || columns == 0
                    || rows.iter().any(|row| row.len() != columns)
                {
                    return Err(self.invalid(
                        matrix.get_ref().sigma.span(),
                        "diffusion_matrix.sigma",
                        format!(
                            "σ must have one row per state ({}) and the same number (≥ 1) of columns in every row",
                            grid.dimension()
                        ),
                        "write e.g. `sigma = [[\"0.3\", \"0\"], [\"0.1\", \"0.2\"]]` (row i: state i, column k: Brownian motion k)",
                    ));
                }
                if let Some(switching) = &switching {
                    if rows[switching.axis].iter().any(|source| source.trim().parse::<f64>() != Ok(0.0)) {
                        return Err(self.invalid(
                            matrix.get_ref().sigma.span(),
                            "diffusion_matrix.sigma",
                            format!(
                                "row {} belongs to the regime variable `{}`, which jumps at the [regimes] rates and has no noise",
                                switching.axis, state_names[switching.axis]
                            ),
                            "write \"0\" in every entry of that row",
                        ));
                    }
                }
                let mut formulas = Vec::new();
                for (i, row) in rows.iter().enumerate() {
                    let mut compiled = Vec::new();
                    for (k, source) in row.iter().enumerate() {
                        compiled.push(compile(source, &variables, &constant_refs).map_err(|error| {
                            self.invalid(
                                matrix.get_ref().sigma.span(),
                                &format!("diffusion_matrix.sigma[{i}][{k}]"),
                                format!("`{source}`: {error}"),
                                "write σ_ik as a formula of the states, controls, parameters and t",
                            )
                        })?);
                    }
                    formulas.push(compiled);
                }
                Some(formulas)
            }
            (None, Some(sigma)) => Some(
                (0..sigma.nrows())
                    .map(|i| {
                        (0..sigma.ncols())
                            .map(|k| {
                                compile(&format!("{:e}", sigma[(i, k)]), &variables, &[])
                                    .expect("a number compiles")
                            })
                            .collect()
                    })
                    .collect(),
            ),
            (None, None) => None,
        };
        let diffusion = match (&lqr, &spec.diffusion) {
            (Some(_), None) if diffusion_matrix.is_some() => None,
            (Some(lqr), None) => lqr.sigma.as_ref().map(|sigma| {
                (0..grid.dimension())
                    .map(|i| {
                        compile(&format!("{:e}", sigma[(i, i)]), &variables, &[]).expect("a number compiles")
                    })
                    .collect()
            }),
            (Some(_), Some(table)) => {
                return Err(self.invalid(
                    table.span(),
                    "diffusion",
                    "[lqr] with a Sigma matrix and a [diffusion] table both given".into(),
                    "give the noise as `Sigma` in [lqr], or drop [lqr] and write formulas",
                ))
            }
            (None, None) => None,
            (None, Some(table)) => {
                for (key, value) in table.get_ref() {
                    if switching.as_ref().is_some_and(|s| state_names[s.axis] == *key) {
                        return Err(self.invalid(
                            value.span(),
                            &format!("diffusion.{key}"),
                            format!("`{key}` is the regime variable: it jumps at the [regimes] rates and has no noise"),
                            "remove this line",
                        ));
                    }
                    if !state_names.contains(key) {
                        return Err(self.invalid(
                            value.span(),
                            &format!("diffusion.{key}"),
                            format!("`{key}` is not a state"),
                            &format!("give σ per state; the states are: {}", state_names.join(", ")),
                        ));
                    }
                }
                let mut formulas = Vec::new();
                for state in &state_names {
                    formulas.push(match table.get_ref().get(state) {
                        Some(source) => {
                            self.formula(source, &format!("diffusion.{state}"), &variables, &constant_refs)?
                        }
                        None => compile("0", &variables, &[]).expect("constant formula"),
                    });
                }
                Some(formulas)
            }
        };

        let target = match &spec.target {
            None => None,
            Some(target) => {
                let formula =
                    self.formula(&target.get_ref().set, "target.set", &variables, &constant_refs)?;
                if formula.uses()[grid.dimension()..].iter().any(|used| *used) {
                    return Err(self.invalid(
                        target.get_ref().set.span(),
                        "target.set",
                        "the target set may depend on the states only".into(),
                        "write the target as a formula of the states, ≤ 0 inside the target",
                    ));
                }
                Some(formula)
            }
        };

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
            discount,
            final_time,
            reference: None,
            source_text: self.text.to_string(),
        };
        if problem.is_stationary() && problem.is_time_dependent() {
            return Err(HjbError::ProblemFile {
                location: self.location(horizon.span().start),
                message: "a stationary problem cannot depend on t\n  hint: remove t from the formulas, or give `final_time = T` instead of `stationary = true`".to_string(),
            });
        }

        // Reference.
        let reference_spec = spec.reference.as_ref();
        let region = self.region(&problem, reference_spec)?;
        problem.reference = match (reference_spec, lqr) {
            (None, Some(lqr)) => Some(Reference { solution: ReferenceSolution::Lqr(Box::new(lqr)), region }),
            (None, None) => None,
            (Some(reference), lqr) => {
                let kind = reference.get_ref().kind.get_ref().as_str();
                let solution = match kind {
                    "lqr" => match lqr {
                        Some(lqr) => ReferenceSolution::Lqr(Box::new(lqr)),
                        None => ReferenceSolution::Lqr(Box::new(
                            super::lqr::from_formulas(&problem).map_err(|message| {
                                self.invalid(
                                    reference.get_ref().kind.span(),
                                    "reference.kind",
                                    format!("the problem is not linear–quadratic: {message}"),
                                    "use kind = \"formula\" with `value = \"...\"`, or remove [reference]",
                                )
                            })?,
                        )),
                    },
                    "double_integrator_min_time" => {
                        let radius = match &reference.get_ref().radius {
                            Some(radius) => self.finite(radius, "reference.radius")?,
                            None => 0.0,
                        };
                        if problem.grid.dimension() != 2 || radius < 0.0 {
                            return Err(self.invalid(
                                    reference.get_ref().kind.span(),
                                    "reference.kind",
                                    "the double-integrator minimum-time reference needs two states (x, v) and a radius ≥ 0".into(),
                                    "write `radius = 0.2` (the target disc x² + v² ≤ r²) for a problem with states x, v",
                                ));
                        }
                        ReferenceSolution::DoubleIntegratorMinTime { radius }
                    }
                    "formula" => {
                        let Some(value) = &reference.get_ref().value else {
                            return Err(self.invalid(
                                reference.span(),
                                "reference.value",
                                "kind = \"formula\" needs `value`".into(),
                                "add `value = \"...\"`: V(x, t = 0) as a formula of the states",
                            ));
                        };
                        ReferenceSolution::Formula(self.formula(
                            value,
                            "reference.value",
                            &variables,
                            &constant_refs,
                        )?)
                    }
                    other => {
                        return Err(self.invalid(
                            reference.get_ref().kind.span(),
                            "reference.kind",
                            format!("unknown reference kind `{other}`"),
                            "write kind = \"lqr\" (Riccati, derived from the problem) or kind = \"formula\"",
                        ))
                    }
                };
                Some(Reference { solution, region })
            }
        };
        Ok(ProblemFile { problem, solver: options, output })
    }

    #[allow(clippy::type_complexity)]
    fn lqr_matrices(
        &self,
        lqr: &Spanned<LqrSpec>,
        n: usize,
    ) -> Result<(
        faer::Mat<f64>,
        faer::Mat<f64>,
        faer::Mat<f64>,
        faer::Mat<f64>,
        faer::Mat<f64>,
        Option<faer::Mat<f64>>,
    )> {
        let spec = lqr.get_ref();
        let check = |value: &Spanned<Vec<Vec<f64>>>, name: &str, rows: usize, columns: Option<usize>| {
            let matrix = value.get_ref();
            let width = matrix.first().map_or(0, Vec::len);
            let ok = matrix.len() == rows
                && width > 0
                && matrix.iter().all(|row| row.len() == width && row.iter().all(|x| x.is_finite()))
                && columns.is_none_or(|c| c == width);
            if ok {
                Ok(matrix_from_rows(matrix))
            } else {
                Err(self.invalid(
                    value.span(),
                    &format!("lqr.{name}"),
                    format!(
                        "expected {rows} rows of {} finite numbers (one row per line of the matrix)",
                        columns.map_or("equal-length".to_string(), |c| c.to_string())
                    ),
                    "write the matrix as rows, e.g. A = [[0, 1], [0, 0]]",
                ))
            }
        };
        let a = check(&spec.a, "A", n, Some(n))?;
        let b = check(&spec.b, "B", n, None)?;
        let m = b.ncols();
        let q = check(&spec.q, "Q", n, Some(n))?;
        let r = check(&spec.r, "R", m, Some(m))?;
        let s = match &spec.s {
            Some(s) => check(s, "S", n, Some(n))?,
            None => faer::Mat::zeros(n, n),
        };
        let sigma = match &spec.sigma {
            None => None,
            Some(value) => Some(check(value, "Sigma", n, None)?),
        };
        Ok((a, b, q, r, s, sigma))
    }

    fn region(&self, problem: &Problem, reference: Option<&Spanned<ReferenceSpec>>) -> Result<ErrorRegion> {
        // Default: the central half of each axis.
        let mut bounds = ErrorRegion::central_half(&problem.grid).bounds;
        if let Some(region) = reference.and_then(|r| r.get_ref().region.as_ref()) {
            for (key, range) in region.get_ref() {
                let Some(axis) = problem.grid.axes().iter().position(|a| &a.name == key) else {
                    return Err(self.invalid(
                        region.span(),
                        &format!("reference.region.{key}"),
                        format!("`{key}` is not a state"),
                        &format!("the states are: {}", problem.state_names().join(", ")),
                    ));
                };
                let a = &problem.grid.axes()[axis];
                if range.len() != 2 || !(range[0] < range[1]) || range[0] < a.lower || range[1] > a.upper {
                    return Err(self.invalid(
                        region.span(),
                        &format!("reference.region.{key}"),
                        format!("{range:?} is not an interval inside [{}, {}]", a.lower, a.upper),
                        &format!("write `{key} = [lower, upper]` inside the state bounds"),
                    ));
                }
                bounds[axis] = (range[0], range[1]);
            }
        }
        Ok(ErrorRegion { bounds })
    }
}

/// Formulas of an LQ problem given by matrices: `f = Ax + Bu`, `ℓ = xᵀQx + uᵀRu`, `g = xᵀSx`.
fn lqr_formulas(lqr: &Lqr, states: &[String], controls: &[String]) -> (Vec<String>, String, String) {
    let n = states.len();
    let m = controls.len();
    let linear = |row: usize| {
        let mut terms = Vec::new();
        for k in 0..n {
            if lqr.a[(row, k)] != 0.0 {
                terms.push(format!("({:e})*{}", lqr.a[(row, k)], states[k]));
            }
        }
        for j in 0..m {
            if lqr.b[(row, j)] != 0.0 {
                terms.push(format!("({:e})*{}", lqr.b[(row, j)], controls[j]));
            }
        }
        if terms.is_empty() {
            "0".to_string()
        } else {
            terms.join(" + ")
        }
    };
    let quadratic = |matrix: &faer::Mat<f64>, names: &[String]| {
        let mut terms = Vec::new();
        for i in 0..names.len() {
            for j in 0..names.len() {
                if matrix[(i, j)] != 0.0 {
                    terms.push(format!("({:e})*{}*{}", matrix[(i, j)], names[i], names[j]));
                }
            }
        }
        terms
    };
    let dynamics = (0..n).map(linear).collect();
    let mut running = quadratic(&lqr.q, states);
    running.extend(quadratic(&lqr.r, controls));
    let join = |terms: Vec<String>| if terms.is_empty() { "0".to_string() } else { terms.join(" + ") };
    (dynamics, join(running), join(quadratic(&lqr.s, states)))
}

/// Compile a formula into a model function.
fn compile(
    source: &str,
    variables: &[&str],
    constants: &[(&str, f64)],
) -> std::result::Result<PointFunction, super::formula::FormulaError> {
    Formula::compile(source, variables, constants).map(PointFunction::from)
}
