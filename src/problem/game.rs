//! Differential games: a second player, the disturbance, and reachability.
//!
//! A game problem has `[[disturbance]]` inputs besides its `[[control]]` inputs. Both enter the
//! variable list of every formula (states, controls, disturbances, `t`) and the tabulated
//! coefficients exactly like controls; [`Game`] records which inputs belong to the disturbance,
//! which way each player optimises, and which groups of inputs form Euclidean balls. The
//! Hamiltonian of a game is
//!
//! ```text
//! H(x, p) = opt_u opt'_d { f(x, u, d, t)·p + ½tr(σσᵀD²V) + ℓ(x, u, d, t) },
//! ```
//!
//! with `opt = min` (the default) or `max` for the control and the other one for the
//! disturbance. The control's optimum is the outer one: the disturbance answers knowing the
//! control (it plays a nonanticipative strategy), the conservative value for the controller and
//! the one reachability analysis uses (Mitchell, Bayen & Tomlin 2005). Where the Isaacs condition
//! holds — dynamics and cost split into a control part plus a disturbance part, always the case
//! for the closed forms — the order does not matter and the game has a value. See
//! `docs/numerics.md` §11.
//!
//! [`Reachability`] turns a game (or a control problem) into a reachable-set computation: the
//! value starts from the target's implicit surface `l(x)` and, for a tube or a reach–avoid
//! problem, is projected after every step (see [`Reachability::project`]).

use super::function::PointFunction;

/// Which way a player optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sense {
    /// The player minimises the Hamiltonian (the cost, or the signed distance to a target).
    Minimise,
    /// The player maximises it.
    Maximise,
}

impl Sense {
    /// The other player's sense.
    pub fn opposite(self) -> Sense {
        match self {
            Sense::Minimise => Sense::Maximise,
            Sense::Maximise => Sense::Minimise,
        }
    }

    /// `min` or `max`.
    pub fn name(self) -> &'static str {
        match self {
            Sense::Minimise => "min",
            Sense::Maximise => "max",
        }
    }
}

/// A group of inputs whose joint set is the Euclidean ball `|w| ≤ radius` (`norm = 2`), centred
/// at 0, instead of a box.
#[derive(Debug, Clone, PartialEq)]
pub struct Ball {
    /// The name of the group (`group = "..."` in the file).
    pub name: String,
    /// Indices of the inputs (in the list of controls, disturbances included).
    pub inputs: Vec<usize>,
    /// The radius (the common bound of the members, `bounds = [-R, R]`).
    pub radius: f64,
}

/// The second player of a differential game (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Game {
    /// How the controls optimise; the disturbances do the opposite.
    pub control_sense: Sense,
    /// The disturbances are the last `disturbances` entries of [`super::Problem::controls`].
    pub disturbances: usize,
    /// Groups of inputs that form Euclidean balls.
    pub balls: Vec<Ball>,
}

impl Game {
    /// Whether input `j` of `inputs` belongs to the disturbance.
    #[inline]
    pub fn is_disturbance(&self, j: usize, inputs: usize) -> bool {
        j + self.disturbances >= inputs
    }

    /// How input `j` of `inputs` is optimised.
    #[inline]
    pub fn sense_of(&self, j: usize, inputs: usize) -> Sense {
        if self.is_disturbance(j, inputs) {
            self.control_sense.opposite()
        } else {
            self.control_sense
        }
    }

    /// The ball input `j` belongs to, if any.
    pub fn ball_of(&self, j: usize) -> Option<&Ball> {
        self.balls.iter().find(|ball| ball.inputs.contains(&j))
    }

    /// `min_u max_d` or `max_u min_d`.
    pub fn describe(&self) -> String {
        format!("{}_u {}_d", self.control_sense.name(), self.control_sense.opposite().name())
    }
}

/// What a reachability problem computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReachMode {
    /// The backward reachable set: the plain HJ(I) equation from `V(x, T) = l(x)`; the set is
    /// `{V(·, 0) ≤ 0}`, the states that are in the target exactly at `T`.
    Set,
    /// The backward reachable tube: `V ← min(V, l)` after every step, so the set `{V ≤ 0}` holds
    /// the states that reach the target at some time in `[0, T]`.
    Tube,
    /// Reach while avoiding: `V ← max(min(V, l), −o)` after every step, with `V(x, T) = max(l,
    /// −o)`; the obstacle is `{o ≤ 0}`.
    ReachAvoid,
}

impl ReachMode {
    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            ReachMode::Set => "set",
            ReachMode::Tube => "tube",
            ReachMode::ReachAvoid => "reach_avoid",
        }
    }
}

/// A reachability problem: the target `{l ≤ 0}`, optionally an obstacle `{o ≤ 0}`, formulas of
/// the states and `t` (time-varying targets and obstacles).
#[derive(Debug, Clone)]
pub struct Reachability {
    /// Set, tube or reach–avoid.
    pub mode: ReachMode,
    /// `l(x, t)`: the target is where it is ≤ 0.
    pub target: PointFunction,
    /// `o(x, t)`: the obstacle is where it is ≤ 0 (reach–avoid only).
    pub obstacle: Option<PointFunction>,
}

impl Reachability {
    /// Whether the value is projected after every step (tube and reach–avoid).
    pub fn projects(&self) -> bool {
        self.mode != ReachMode::Set
    }

    /// The projection after a step: `V ← min(V, l)` (tube), `V ← max(min(V, l), −o)`
    /// (reach–avoid), with `l`, `o` tabulated at the new time level.
    pub fn project(&self, values: &mut [f64], target: &[f64], obstacle: Option<&[f64]>) {
        match (self.mode, obstacle) {
            (ReachMode::Set, _) => {}
            (ReachMode::Tube, _) | (ReachMode::ReachAvoid, None) => {
                for (value, l) in values.iter_mut().zip(target) {
                    *value = value.min(*l);
                }
            }
            (ReachMode::ReachAvoid, Some(obstacle)) => {
                for ((value, l), o) in values.iter_mut().zip(target).zip(obstacle) {
                    *value = value.min(*l).max(-o);
                }
            }
        }
    }
}

/// The zero sublevel set of a value field: how many nodes have `V ≤ 0`, and their fraction.
pub fn inside_count(values: &[f64]) -> (usize, f64) {
    let inside = values.iter().filter(|v| **v <= 0.0).count();
    (inside, inside as f64 / values.len().max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projections_follow_the_documented_formulas() {
        let target = [1.0, -1.0, 0.5];
        let obstacle = [2.0, 0.5, -1.0];
        let zero = PointFunction::from(
            crate::problem::formula::Formula::compile("0", &["x", "t"], &[]).expect("formula"),
        );
        let mut tube = Reachability { mode: ReachMode::Tube, target: zero.clone(), obstacle: None };
        let mut values = [0.0, 0.0, 3.0];
        tube.project(&mut values, &target, None);
        assert_eq!(values, [0.0, -1.0, 0.5]);
        tube.mode = ReachMode::ReachAvoid;
        let mut values = [0.0, -3.0, 3.0];
        tube.project(&mut values, &target, Some(&obstacle));
        // max(min(V, l), −o): −2 does not bind at 0; −0.5 lifts −1; +1 lifts 0.5.
        assert_eq!(values, [0.0, -0.5, 1.0]);
        assert_eq!(inside_count(&values), (2, 2.0 / 3.0));
    }

    #[test]
    fn senses_split_the_players() {
        let game = Game { control_sense: Sense::Maximise, disturbances: 1, balls: Vec::new() };
        assert_eq!(game.sense_of(0, 2), Sense::Maximise);
        assert_eq!(game.sense_of(1, 2), Sense::Minimise);
        assert_eq!(game.describe(), "max_u min_d");
    }
}
