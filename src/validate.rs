//! Errors against references, and refinement studies with observed orders (`docs/numerics.md` §7).
//!
//! Errors are measured by [`crate::norms`]. Between levels `k` and `k+1` the observed order is
//! `log(e_k / e_{k+1}) / log(h_k / h_{k+1})` with `h` the largest spacing.
//!
//! Sums are taken sequentially in node order, so the numbers do not depend on the thread count.

use crate::error::{HjbError, Result};
use crate::grid::row_major;
pub use crate::norms::{error_norms, ErrorNorms};
use crate::problem::{ErrorRegion, Problem};
use crate::settings::{AutoRule, Choice, Settings};
use crate::solver::limits::StepLimit;
use crate::solver::solve;

/// One level of a refinement study.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Points per axis.
    pub points: Vec<usize>,
    /// Largest spacing.
    pub h: f64,
    /// The time step of the level's solve.
    pub time_step: f64,
    /// `‖e‖∞` on the region.
    pub linf: f64,
    /// `‖e‖₁` on the region.
    pub l1: f64,
    /// `‖e‖₂` on the region.
    pub l2: f64,
    /// Observed orders against the previous level (`None` on the first).
    pub order_linf: Option<f64>,
    /// Observed L1 order against the previous level.
    pub order_l1: Option<f64>,
    /// Observed L2 order against the previous level.
    pub order_l2: Option<f64>,
    /// Wall time of the level's solve.
    pub seconds: f64,
}

/// Observed order between two levels.
pub fn observed_order(error_coarse: f64, error_fine: f64, h_coarse: f64, h_fine: f64) -> f64 {
    (error_coarse / error_fine).ln() / (h_coarse / h_fine).ln()
}

/// The settings every level of a study runs with: `scheme = "auto"`'s finite-horizon choice by
/// estimated work ([`crate::settings::auto::by_work`]) is made once, on the finest level, so that
/// the orders compare one method (a coarser level would only ever keep the explicit march).
fn study_settings(problem: &Problem, settings: &Settings, levels: &[Vec<usize>]) -> Result<Settings> {
    let finest = levels.iter().max_by_key(|points| points.iter().product::<usize>());
    match finest {
        Some(points) if settings.choice == Choice::Auto(AutoRule::FiniteHorizon) => {
            Ok(crate::solver::prepare(&problem.with_points(points)?, settings)?.settings)
        }
        _ => Ok(*settings),
    }
}

/// Solve on each grid of `levels` (points per axis) and measure errors against the reference.
pub fn convergence_study(
    problem: &Problem,
    settings: &Settings,
    levels: &[Vec<usize>],
) -> Result<Vec<Level>> {
    if problem.reference.is_none() {
        return Err(HjbError::InvalidProblem {
            field: "reference".to_string(),
            message: "a convergence study needs a [reference] (or an [lqr] problem)".to_string(),
        });
    }
    let settings = &study_settings(problem, settings, levels)?;
    let mut results: Vec<Level> = Vec::new();
    for points in levels {
        let refined = problem.with_points(points)?;
        let solution = solve(&refined, settings, &mut StepLimit::default())?;
        let error = solution.error.expect("a reference gives errors");
        let h = refined.grid.spacings().into_iter().fold(0.0, f64::max);
        let mut level = Level {
            points: points.clone(),
            h,
            time_step: solution.diagnostics.time_step,
            linf: error.linf,
            l1: error.l1,
            l2: error.l2,
            order_linf: None,
            order_l1: None,
            order_l2: None,
            seconds: solution.diagnostics.seconds,
        };
        if let Some(previous) = results.last() {
            level.order_linf = Some(observed_order(previous.linf, level.linf, previous.h, h));
            level.order_l1 = Some(observed_order(previous.l1, level.l1, previous.h, h));
            level.order_l2 = Some(observed_order(previous.l2, level.l2, previous.h, h));
        }
        results.push(level);
    }
    Ok(results)
}

/// The fewest grid intervals per axis on the coarsest level of a refinement study: coarser
/// grids give errors and orders that mean nothing.
pub const MINIMUM_INTERVALS: usize = 4;

/// Grids for `count` levels refining by `factor` in intervals, ending at the problem's grid:
/// `n_k − 1 = (n − 1) / factor^{count−1−k}` on bounded axes (`n_k = n / factor^…` on periodic ones);
/// a regime axis keeps its points. Refuses studies whose coarsest level would have fewer than
/// [`MINIMUM_INTERVALS`] intervals on an axis.
pub fn refinement_levels(problem: &Problem, count: usize, factor: usize) -> Result<Vec<Vec<usize>>> {
    let regime_axis = problem.switching.as_ref().map(|switching| switching.axis);
    let intervals_of = |axis: &crate::grid::Axis| if axis.periodic { axis.points } else { axis.points - 1 };
    for (k, axis) in problem.grid.axes().iter().enumerate().filter(|(k, _)| Some(*k) != regime_axis) {
        let intervals = intervals_of(axis);
        let coarsest = u32::try_from(count.saturating_sub(1))
            .ok()
            .and_then(|exponent| factor.checked_pow(exponent))
            .map_or(0, |divisor| intervals / divisor);
        if coarsest < MINIMUM_INTERVALS {
            // The most levels that fit: factor^(L−1) ≤ intervals / MINIMUM_INTERVALS.
            let mut fit = 1;
            while factor
                .checked_pow(fit as u32)
                .is_some_and(|divisor| intervals / divisor >= MINIMUM_INTERVALS)
            {
                fit += 1;
            }
            return Err(HjbError::InvalidGrid {
                message: format!(
                    "{count} levels refined by {factor} leave axis `{}` (axis {k}, {} points) with {coarsest} \
                     intervals on the coarsest level; every level needs at least {MINIMUM_INTERVALS} \
                     intervals per axis, so at most {fit} levels fit this grid",
                    axis.name, axis.points
                ),
            });
        }
    }
    let mut levels = Vec::new();
    for level in 0..count {
        let divisor = factor.pow((count - 1 - level) as u32);
        let points: Vec<usize> = problem
            .grid
            .axes()
            .iter()
            .enumerate()
            .map(|(k, axis)| {
                let coarse = intervals_of(axis) / divisor;
                match (Some(k) == regime_axis, axis.periodic) {
                    (true, _) => axis.points,
                    (false, true) => coarse,
                    (false, false) => coarse + 1,
                }
            })
            .collect();
        levels.push(points);
    }
    Ok(levels)
}

/// A convergence study file in `validation/` (see the README, "How do I know the numbers are
/// right?"): a problem, a scheme, grid levels, and the bar the results must clear.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    /// Problem file, relative to the study file.
    pub problem: String,
    /// Scheme name (as on the command line).
    pub scheme: String,
    /// Points per axis for each level, coarse to fine.
    pub levels: Vec<Vec<usize>>,
    /// Every observed L∞ order must be at least this.
    pub minimum_order: f64,
    /// The finest level's L∞ error must be at most this.
    pub maximum_error: f64,
    /// Part of the quick set (`hjb validate --quick`, run by the test suite).
    #[serde(default)]
    pub quick: bool,
    /// What the study shows, for the summary table.
    #[serde(default)]
    pub description: String,
    /// Semi-Lagrangian/implicit Courant number (cells per step) for every level (so `Δt ∝ h`);
    /// the problem's own setting when absent.
    #[serde(default)]
    pub courant: Option<f64>,
    /// Semi-Lagrangian control refinement on or off; the problem's own when absent.
    #[serde(default)]
    pub refine: Option<bool>,
    /// The norm the bar applies to: `"linf"` (default), `"l1"` (for values that are only
    /// Hölder continuous somewhere, whose L∞ order is capped below 1 by the theory) or `"both"`
    /// (L1 and L∞ each clear the bar).
    #[serde(default)]
    pub norm: Option<String>,
    /// A high-order preset (`"medium"`, `"high"`, `"very_high"`; see
    /// [`crate::settings::Accuracy`]) on top of `scheme`; first order when absent.
    #[serde(default)]
    pub accuracy: Option<String>,
}

/// The outcome of one study.
#[derive(Debug, Clone)]
pub struct StudyOutcome {
    /// The study file's name without `.toml`.
    pub name: String,
    /// What the study asked for.
    pub study: Study,
    /// The measured levels.
    pub levels: Vec<Level>,
    /// Why it missed its bar (empty when it passed).
    pub failures: Vec<String>,
}

impl StudyOutcome {
    /// Whether every level cleared the bar.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Whether the bar applies to the L1 norm (alone or with L∞).
    pub fn uses_l1(&self) -> bool {
        matches!(self.study.norm.as_deref(), Some("l1") | Some("both"))
    }

    /// Whether the bar applies to the L∞ norm (alone or with L1).
    pub fn uses_linf(&self) -> bool {
        matches!(self.study.norm.as_deref(), None | Some("linf") | Some("both"))
    }

    /// The norms the bar applies to, by name.
    pub fn norm_name(&self) -> &'static str {
        match (self.uses_l1(), self.uses_linf()) {
            (true, true) => "L1 and L∞",
            (true, false) => "L1",
            _ => "L∞",
        }
    }

    /// The finest error and the smallest observed order in the study's norm (the larger error
    /// and the smaller order of the two when the bar applies to both).
    pub fn finest_and_smallest_order(&self) -> (f64, f64) {
        let mut finest = f64::NEG_INFINITY;
        let mut smallest = f64::INFINITY;
        for l1 in [true, false] {
            if (l1 && !self.uses_l1()) || (!l1 && !self.uses_linf()) {
                continue;
            }
            finest = finest.max(self.levels.last().map_or(f64::NAN, |l| if l1 { l.l1 } else { l.linf }));
            smallest = self.levels[1..]
                .iter()
                .filter_map(|l| if l1 { l.order_l1 } else { l.order_linf })
                .fold(smallest, f64::min);
        }
        (finest, smallest)
    }
}

/// Read a study file.
pub fn load_study(path: &std::path::Path) -> Result<Study> {
    let text = crate::problem::spec::read_text(path)?;
    toml::from_str(&text).map_err(|error| HjbError::ProblemFile {
        location: crate::error::Location {
            file: path.to_path_buf(),
            line: error.span().map_or(1, |span| text[..span.start].matches('\n').count() + 1),
            column: 1,
        },
        message: error.message().to_string(),
    })
}

/// Run the study in `path` and judge it against its bar.
pub fn run_study(path: &std::path::Path) -> Result<StudyOutcome> {
    let study = load_study(path)?;
    let directory = path.parent().unwrap_or(std::path::Path::new("."));
    let file = crate::problem::load_problem(&directory.join(&study.problem))?;
    let mut options = file.solver.clone();
    (options.scheme, options.differencing, options.stepping) = (Some(study.scheme.clone()), None, None);
    // The study names the whole scheme: the file's high-order choices do not carry over.
    (options.derivatives, options.time_integrator, options.dissipation) = (None, None, None);
    options.accuracy = study.accuracy.clone();
    if let Some(courant) = study.courant {
        options.courant = Some(courant);
        options.time_step = None;
    }
    if let Some(refine) = study.refine {
        options.refine = Some(refine);
    }
    let settings = crate::settings::choose(&file.problem.class(), &options)?;
    let problem = file.problem;
    check_study_levels(path, &study, &problem)?;
    let norms: &[bool] = match study.norm.as_deref() {
        None | Some("linf") => &[false],
        Some("l1") => &[true],
        Some("both") => &[true, false],
        Some(other) => {
            return Err(HjbError::InvalidProblem {
                field: "norm".to_string(),
                message: format!(
                    "unknown norm `{other}` in {}; use \"linf\", \"l1\" or \"both\"",
                    path.display()
                ),
            })
        }
    };
    let levels = convergence_study(&problem, &settings, &study.levels)?;
    let mut failures = Vec::new();
    for &l1 in norms {
        let name = if l1 { "L1" } else { "L∞" };
        for level in &levels[1..] {
            let order = if l1 { level.order_l1 } else { level.order_linf }.unwrap_or(f64::NAN);
            if !(order >= study.minimum_order) {
                failures.push(format!(
                    "observed order {order:.3} ({name}) < {} at {:?}",
                    study.minimum_order, level.points
                ));
            }
        }
        let finest = levels.last().map_or(f64::NAN, |level| if l1 { level.l1 } else { level.linf });
        if !(finest <= study.maximum_error) {
            failures.push(format!("finest {name} error {finest:.3e} > {:.3e}", study.maximum_error));
        }
    }
    let name = path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    Ok(StudyOutcome { name, study, levels, failures })
}

/// A study needs at least two levels (an order compares two), each with one count of at least 2
/// points per axis of the problem.
fn check_study_levels(path: &std::path::Path, study: &Study, problem: &Problem) -> Result<()> {
    let refuse = |message: String| HjbError::InvalidProblem {
        field: format!("levels in {}", path.display()),
        message,
    };
    if study.levels.len() < 2 {
        return Err(refuse(format!(
            "{} level(s) given; a study needs at least 2 to observe an order",
            study.levels.len()
        )));
    }
    let dimension = problem.grid.dimension();
    for (k, level) in study.levels.iter().enumerate() {
        if level.len() != dimension || level.iter().any(|points| *points < 2) {
            return Err(refuse(format!(
                "level {} is {level:?}; give {dimension} point count(s), each at least 2, for the axes {}",
                k + 1,
                problem.state_names().join(", ")
            )));
        }
    }
    Ok(())
}

/// The study files of a folder, sorted by name.
pub fn study_files(directory: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    let entries = std::fs::read_dir(directory)
        .map_err(|source| HjbError::ReadFile { path: directory.to_path_buf(), source })?;
    let mut files: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(HjbError::InvalidProblem {
            field: "studies".to_string(),
            message: format!("{} holds no study files (*.toml)", directory.display()),
        });
    }
    Ok(files)
}

/// A refinement study without an exact solution (see [`self_convergence_study`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SelfStudy {
    /// For coarse levels: the difference to the finest level; for the finest: the Richardson
    /// estimate of its own error. Orders come from successive differences.
    pub levels: Vec<Level>,
    /// Order used for the Richardson estimate (from the last two successive differences, L∞).
    pub richardson_order: f64,
    /// Where the differences are measured.
    pub region: ErrorRegion,
}

/// Refinement study against the finest level when the problem has no exact reference.
///
/// With successive differences `δ_k = ‖V_k − V_{k+1}‖` (the finer solution interpolated
/// multilinearly at the coarser nodes, on the region), a scheme of order p gives
/// `δ_k ≈ C h_k^p (1 − r^{−p})`, so `p = log(δ_{k−1}/δ_k) / log(h_{k−1}/h_k)`, and the error of
/// the finest level is estimated by Richardson as `δ_{N−1} / (r^p − 1)`, `r = h_{N−1}/h_N`.
pub fn self_convergence_study(
    problem: &Problem,
    settings: &Settings,
    levels: &[Vec<usize>],
) -> Result<SelfStudy> {
    if levels.len() < 3 {
        return Err(HjbError::TooFewLevels { levels: levels.len(), needed: 3 });
    }
    let region = match &problem.reference {
        Some(reference) => reference.region.clone(),
        None => ErrorRegion::central_half(&problem.grid),
    };
    let settings = &study_settings(problem, settings, levels)?;
    let mut solved = Vec::new();
    for points in levels {
        let refined = problem.with_points(points)?;
        let solution = solve(&refined, settings, &mut StepLimit::default())?;
        solved.push((refined, solution));
    }
    let norms = |coarse: &(Problem, crate::solver::Solution), fine: &(Problem, crate::solver::Solution)| {
        let grid = &coarse.0.grid;
        let fine_values = row_major(&fine.1.values);
        let interpolated: Vec<f64> = (0..grid.node_count())
            .map(|node| fine.0.grid.interpolate(&fine_values, &grid.point(node)))
            .collect();
        error_norms(grid, &row_major(&coarse.1.values), &interpolated, &region)
    };
    let successive: Vec<ErrorNorms> = solved.windows(2).map(|pair| norms(&pair[0], &pair[1])).collect();
    let finest = solved.last().expect("levels");
    let spacing = |problem: &Problem| problem.grid.spacings().into_iter().fold(0.0, f64::max);
    let mut result = Vec::new();
    for (k, (refined, solution)) in solved.iter().enumerate() {
        let h = spacing(refined);
        let difference = (k + 1 < solved.len()).then(|| norms(&solved[k], finest));
        let mut level = Level {
            points: refined.grid.shape(),
            h,
            time_step: solution.diagnostics.time_step,
            linf: difference.as_ref().map_or(f64::NAN, |d| d.linf),
            l1: difference.as_ref().map_or(f64::NAN, |d| d.l1),
            l2: difference.as_ref().map_or(f64::NAN, |d| d.l2),
            order_linf: None,
            order_l1: None,
            order_l2: None,
            seconds: solution.diagnostics.seconds,
        };
        if k >= 1 && k < successive.len() {
            let h_previous = spacing(&solved[k - 1].0);
            let (a, b) = (&successive[k - 1], &successive[k]);
            level.order_linf = Some(observed_order(a.linf, b.linf, h_previous, h));
            level.order_l1 = Some(observed_order(a.l1, b.l1, h_previous, h));
            level.order_l2 = Some(observed_order(a.l2, b.l2, h_previous, h));
        }
        result.push(level);
    }
    let last = successive.len() - 1;
    let (h_coarse, h_fine) = (spacing(&solved[last].0), spacing(&finest.0));
    let ratio = h_coarse / h_fine;
    let order_of = |a: f64, b: f64| observed_order(a, b, spacing(&solved[last - 1].0), h_coarse);
    let richardson_order = order_of(successive[last - 1].linf, successive[last].linf);
    let estimate = |delta: f64, order: f64| delta / (ratio.powf(order) - 1.0);
    let finest_level = result.last_mut().expect("levels");
    finest_level.linf = estimate(successive[last].linf, richardson_order);
    finest_level.l1 = estimate(successive[last].l1, order_of(successive[last - 1].l1, successive[last].l1));
    finest_level.l2 = estimate(successive[last].l2, order_of(successive[last - 1].l2, successive[last].l2));
    finest_level.order_linf = Some(richardson_order);
    Ok(SelfStudy { levels: result, richardson_order, region })
}
