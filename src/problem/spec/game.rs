//! `[[disturbance]]`, `[game]` and `[reachability]`: the second player and reachable sets.
//!
//! Keys: `[[disturbance]]` as `[[control]]` (`name`, `bounds`, `samples`, `units`, and the ball
//! keys `norm = 2` with `group = "..."` shared by every member of one Euclidean ball, which
//! `[[control]]` also takes); `[game]` `control = "min" | "max"` (the disturbance optimises the
//! other way; default `"min"`); `[reachability]` `mode = "set" | "tube" | "reach_avoid"`,
//! `target` (a formula of the states and `t`, the target being where it is ≤ 0) and, for
//! reach–avoid, `obstacle` (the obstacle being where it is ≤ 0). A reachability problem has no
//! `[cost]`, `[target]` or `[lqr]`: its value is the target's implicit surface.

use super::controls::ControlSpec;
use super::{Context, FileSpec, Symbols};
use crate::error::Result;
use crate::problem::game::{Ball, Game, ReachMode, Reachability, Sense};
use crate::problem::{Control, PointFunction};
use crate::settings::{SolverOptions, Stepping};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GameSpec {
    /// `"min"` (default) or `"max"`: how the controls optimise.
    control: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReachabilitySpec {
    mode: Spanned<String>,
    target: Spanned<String>,
    obstacle: Option<Spanned<String>>,
}

impl Context<'_> {
    /// The game of `[game]` and the ball groups of the inputs (`None` for a plain control problem:
    /// no disturbance, no `[game]`, no ball). `controls` holds the controls then the
    /// `disturbances`; `specs` the matching tables, in the same order.
    pub(super) fn game(
        &self,
        spec: &FileSpec,
        controls: &[Control],
        disturbances: usize,
        specs: &[&ControlSpec],
    ) -> Result<Option<Game>> {
        let control_sense =
            match spec.game.as_ref().and_then(|game| game.get_ref().control.as_ref()) {
                None => Sense::Minimise,
                Some(sense) => match sense.get_ref().as_str() {
                    "min" => Sense::Minimise,
                    "max" => Sense::Maximise,
                    other => return Err(self.invalid(
                        sense.span(),
                        "game.control",
                        format!("unknown sense `{other}`"),
                        "write `control = \"min\"` (the controls minimise, the disturbances maximise) or \
                         `control = \"max\"` (the other way round)",
                    )),
                },
            };
        let balls = self.balls(controls, disturbances, specs)?;
        if spec.game.is_none() && disturbances == 0 && balls.is_empty() {
            return Ok(None);
        }
        Ok(Some(Game { control_sense, disturbances, balls }))
    }

    /// Inputs sharing a `group` with `norm = 2` form a Euclidean ball: same player, same
    /// symmetric bounds `[-R, R]`, same units.
    fn balls(&self, controls: &[Control], disturbances: usize, specs: &[&ControlSpec]) -> Result<Vec<Ball>> {
        let m = controls.len();
        let mut balls: Vec<Ball> = Vec::new();
        for (j, input) in specs.iter().enumerate() {
            let kind = if j + disturbances >= m { "disturbance" } else { "control" };
            let field = format!("{kind}.{}", controls[j].name);
            let Some((norm, group)) = input.ball_keys(self, &field)? else {
                continue;
            };
            let control = &controls[j];
            if control.lower != -control.upper {
                return Err(self.invalid(
                    norm,
                    &format!("{field}.norm"),
                    format!(
                        "a ball (norm = 2) is centred at 0, but the bounds are [{}, {}]",
                        control.lower, control.upper
                    ),
                    &format!(
                        "write `bounds = [-R, R]` with R the radius, e.g. [-{0}, {0}]",
                        control.upper.abs()
                    ),
                ));
            }
            match balls.iter_mut().find(|ball| ball.name == group) {
                None => balls.push(Ball { name: group, inputs: vec![j], radius: control.upper }),
                Some(ball) => {
                    let first = &controls[ball.inputs[0]];
                    let first_kind =
                        if ball.inputs[0] + disturbances >= m { "disturbance" } else { "control" };
                    let problem = if first_kind != kind {
                        Some(format!(
                            "the ball `{group}` mixes a {first_kind} (`{}`) and a {kind}",
                            first.name
                        ))
                    } else if first.upper != control.upper {
                        Some(format!(
                            "the ball `{group}` has members of different sizes: `{}` has radius {}, `{}` has {}",
                            first.name, first.upper, control.name, control.upper
                        ))
                    } else if first.units != control.units {
                        Some(format!(
                            "the ball `{group}` has members in different units: `{}` in \"{}\", `{}` in \"{}\"",
                            first.name, first.units, control.name, control.units
                        ))
                    } else {
                        None
                    };
                    if let Some(problem) = problem {
                        return Err(self.invalid(
                            norm,
                            &format!("{field}.group"),
                            problem,
                            "a Euclidean ball |w| ≤ R needs members of one player with the same bounds \
                             [-R, R] and units; use separate groups (or boxes) otherwise",
                        ));
                    }
                    ball.inputs.push(j);
                }
            }
        }
        Ok(balls)
    }

    /// `[reachability]`, compiled: the target and obstacle formulas (states and `t` only) and the
    /// terminal value `l` (set, tube) or `max(l, −o)` (reach–avoid).
    pub(super) fn reachability(
        &self,
        spec: &FileSpec,
        symbols: &Symbols,
    ) -> Result<Option<(Reachability, PointFunction)>> {
        let Some(section) = &spec.reachability else {
            return Ok(None);
        };
        let reach = section.get_ref();
        let conflict = |what: &str, span: std::ops::Range<usize>| {
            self.invalid(
                span,
                "reachability",
                format!("a reachability problem cannot also have {what}: its value is the target's implicit surface l(x)"),
                "remove that section; the set is {V ≤ 0} of the value started from `target`",
            )
        };
        if spec.cost.is_some() {
            return Err(conflict("a [cost] section", section.span()));
        }
        if spec.target.is_some() {
            return Err(conflict("an exit-time [target] section", section.span()));
        }
        if spec.lqr.is_some() {
            return Err(conflict("an [lqr] section", section.span()));
        }
        let mode =
            match reach.mode.get_ref().as_str() {
                "set" => ReachMode::Set,
                "tube" => ReachMode::Tube,
                "reach_avoid" => ReachMode::ReachAvoid,
                other => return Err(self.invalid(
                    reach.mode.span(),
                    "reachability.mode",
                    format!("unknown mode `{other}`"),
                    "write `mode = \"set\"` (reachable set), \"tube\" (reachable tube) or \"reach_avoid\" \
                     (tube that avoids `obstacle`)",
                )),
            };
        let states_and_time = |source: &Spanned<String>, field: &str| -> Result<PointFunction> {
            let formula = self.formula(source, field, symbols)?;
            let n = symbols.dimension();
            let inputs = symbols.controls.len();
            if formula.uses()[n..n + inputs].iter().any(|used| *used) {
                return Err(self.invalid(
                    source.span(),
                    field,
                    "the formula may depend on the states and t only".into(),
                    "remove the controls and disturbances from it",
                ));
            }
            Ok(formula)
        };
        let target = states_and_time(&reach.target, "reachability.target")?;
        let obstacle = match (&reach.obstacle, mode) {
            (Some(source), ReachMode::ReachAvoid) => Some(states_and_time(source, "reachability.obstacle")?),
            (None, ReachMode::ReachAvoid) => {
                return Err(self.invalid(
                    reach.mode.span(),
                    "reachability.obstacle",
                    "a reach_avoid problem needs an obstacle".into(),
                    "add `obstacle = \"formula\"` (the obstacle is where it is ≤ 0), or use mode = \"tube\"",
                ))
            }
            (Some(source), _) => {
                return Err(self.invalid(
                    source.span(),
                    "reachability.obstacle",
                    format!("an obstacle only applies to mode = \"reach_avoid\", not \"{}\"", mode.name()),
                    "write `mode = \"reach_avoid\"`, or remove `obstacle`",
                ))
            }
            (None, _) => None,
        };
        let terminal = match &reach.obstacle {
            Some(obstacle) if mode == ReachMode::ReachAvoid => {
                let source = format!("max(({}), -({}))", reach.target.get_ref(), obstacle.get_ref());
                let spanned = Spanned::new(reach.target.span(), source);
                self.formula(&spanned, "reachability.target", symbols)?
            }
            _ => target.clone(),
        };
        Ok(Some((Reachability { mode, target, obstacle }, terminal)))
    }

    /// Games march a finite horizon with explicit steps: policy iteration does not apply to a
    /// min–max (the improvement step of one player undoes the other's), and the semi-Lagrangian
    /// min–max is not built. Located at the solver key.
    pub(super) fn check_game_solver(
        &self,
        spec: &FileSpec,
        options: &SolverOptions,
        stationary: bool,
    ) -> Result<()> {
        let span = spec.solver.as_ref().and_then(|solver| solver.stepping_span()).unwrap_or(0..0);
        if stationary {
            let horizon = spec.horizon.as_ref().map_or(0..0, Spanned::span);
            return Err(self.invalid(
                horizon,
                "horizon.stationary",
                "a differential game or reachability problem needs a finite horizon".into(),
                "write `final_time = T`",
            ));
        }
        match options.settings().map(|settings| settings.stepping) {
            Ok(Stepping::Implicit { .. }) => Err(self.invalid(
                span,
                "solver.scheme",
                "policy iteration does not apply to a differential game: the min–max Hamiltonian is \
                 neither convex nor concave in V's coefficients, so a policy-improvement step of one \
                 player can undo the other's and Howard's iteration need not converge"
                    .into(),
                "write `scheme = \"lax_friedrichs\"` (monotone for any Hamiltonian under the CFL bound), \
                 or `accuracy = \"very_high\"` with differencing = \"lax_friedrichs\"",
            )),
            Ok(Stepping::SemiLagrangian { .. }) => Err(self.invalid(
                span,
                "solver.scheme",
                "the semi-Lagrangian scheme takes a minimum over controls only; it has no min–max for games in \
                 this build"
                    .into(),
                "write `scheme = \"lax_friedrichs\"` (monotone for any Hamiltonian under the CFL bound)",
            )),
            _ => Ok(()),
        }
    }
}

impl ControlSpec {
    /// `(span of norm, group)` when the input belongs to a Euclidean ball; errors for a norm other
    /// than 2 or a norm without a group.
    fn ball_keys(&self, context: &Context, field: &str) -> Result<Option<(std::ops::Range<usize>, String)>> {
        match (&self.norm, &self.group) {
            (None, None) => Ok(None),
            (Some(norm), Some(group)) if *norm.get_ref() == 2 => {
                Ok(Some((norm.span(), group.get_ref().clone())))
            }
            (Some(norm), Some(_)) => Err(context.invalid(
                norm.span(),
                &format!("{field}.norm"),
                format!("norm = {} is not supported", norm.get_ref()),
                "write `norm = 2` (a Euclidean ball with the other members of `group`); leave both keys \
                 out for a box",
            )),
            (Some(norm), None) => Err(context.invalid(
                norm.span(),
                &format!("{field}.group"),
                "`norm = 2` needs a `group` naming the ball".into(),
                "add `group = \"wind\"` to every member of the ball",
            )),
            (None, Some(group)) => Err(context.invalid(
                group.span(),
                &format!("{field}.norm"),
                "`group` without `norm`".into(),
                "add `norm = 2` (the members of the group form a Euclidean ball)",
            )),
        }
    }
}
