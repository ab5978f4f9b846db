//! State constraints at the box boundary (`boundary = "state_constraint"`, as in Achdou–Moll).
//!
//! At a node on the lower (upper) end of a state-constrained axis `i` only controls with inward
//! or zero drift are admissible, `f_i(x, u) ≥ 0` (`≤ 0`), and, where some control achieves it,
//! no noise across that face (`σ_i(x, u) = 0`: a diffusing path would leave the box — e.g.
//! Merton's risky share must vanish at the wealth floor). Each sample gets an admissibility level
//! (2: inward drift and no outward noise, 1: inward drift, 0: outward drift) and at each node only
//! the samples of the best level present compete; affine closed-form controls are restricted to
//! the interval of inward drift. The ghost value at a constrained end equals the node value (a
//! reflecting, Neumann closure), so every row stays an M-matrix row and every chain row a
//! probability; where no control is admissible the outward move is blocked that way.

use crate::grid::MAX_DIMENSIONS;
use crate::problem::{Boundary, Problem};

/// Per axis, the side of the box a node sits on for the constraint: `+1` upper end (drift must
/// be ≤ 0), `−1` lower end (drift must be ≥ 0), `0` interior or not constrained.
pub type Sides = [i8; MAX_DIMENSIONS];

/// Which axes are state constrained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateConstraints {
    constrained: Vec<bool>,
    shape: Vec<usize>,
}

impl StateConstraints {
    pub(crate) fn new(problem: &Problem) -> StateConstraints {
        StateConstraints {
            constrained: problem.boundaries.iter().map(|b| matches!(b, Boundary::StateConstraint)).collect(),
            shape: problem.grid.shape(),
        }
    }

    /// Whether any axis is constrained.
    pub fn any(&self) -> bool {
        self.constrained.iter().any(|c| *c)
    }

    /// The constrained sides of the node with multi-index `index` (`None`: no constraint here).
    #[inline]
    pub fn sides(&self, index: &[usize]) -> Option<Sides> {
        let mut sides = [0i8; MAX_DIMENSIONS];
        let mut any = false;
        for (k, constrained) in self.constrained.iter().enumerate() {
            if *constrained {
                if index[k] == 0 {
                    sides[k] = -1;
                    any = true;
                } else if index[k] + 1 == self.shape[k] {
                    sides[k] = 1;
                    any = true;
                }
            }
        }
        any.then_some(sides)
    }
}

/// Admissibility level of a control with `drift` and diagonal diffusion `diffusion` (empty: none)
/// on the constrained `sides`: 2 inward drift and no noise across a constrained face, 1 inward
/// drift only, 0 outward drift.
#[inline]
pub fn admissibility(drift: &[f64], diffusion: &[f64], sides: &Sides) -> u8 {
    let inward = drift.iter().zip(sides).all(|(f, side)| match side {
        1 => *f <= 0.0,
        -1 => *f >= 0.0,
        _ => true,
    });
    let quiet = diffusion.iter().zip(sides).all(|(a, side)| *side == 0 || *a == 0.0);
    match (inward, quiet) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    }
}

/// The level the samples must reach at a node: the best any of the `count` samples reaches.
#[inline]
pub fn required_level(count: usize, level_of: impl Fn(usize) -> u8) -> u8 {
    (0..count).map(level_of).max().unwrap_or(0)
}

/// The controls `u ∈ [lower, upper]` keeping `base[k] + gain[k]·u` admissible for the driven
/// axes `axes` (affine drift): an interval, or `None` when it is empty.
pub fn admissible_interval(
    base: &[f64],
    gain: &[f64],
    axes: &[usize],
    sides: &Sides,
    lower: f64,
    upper: f64,
) -> Option<(f64, f64)> {
    let (mut low, mut high) = (lower, upper);
    for &i in axes {
        let (a, b, side) = (base[i], gain[i], f64::from(sides[i]));
        if side == 0.0 {
            continue;
        }
        // Need side·(a + b u) ≤ 0.
        let (a, b) = (side * a, side * b);
        if b > 0.0 {
            high = high.min(-a / b);
        } else if b < 0.0 {
            low = low.max(-a / b);
        } else if a > 0.0 {
            return None;
        }
    }
    (low <= high).then_some((low, high))
}
