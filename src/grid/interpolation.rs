//! Multilinear interpolation on the tensor grid: the one place the rule is written, used by the
//! semi-Lagrangian step (values at the feet, and the MDP chain's rows) and by
//! [`crate::Grid::interpolate`] (feedback in simulations, refinement studies, plot slices).
//!
//! A point's position on axis `k` in cells, `s_k = (x_k − lower_k)/h_k`, gives the cell
//! `i_k = ⌊s_k⌋` and the fraction `θ_k = s_k − i_k`; the value is
//! `Σ_corners Π_k (θ_k or 1 − θ_k) V(corner)`, whose weights are nonnegative and sum to one, so
//! the interpolation is monotone. Beyond a bounded end a point is clamped onto the box
//! ([`AxisRule::Clamp`]) or, for the semi-Lagrangian scheme's extrapolated ends, extrapolated
//! linearly from the last cell ([`AxisRule::Extrapolate`], negative weights, flagged);
//! periodic axes wrap. See `docs/numerics.md` §4.4.

/// How an axis treats positions beyond its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisRule {
    /// Project onto the end (monotone).
    Clamp,
    /// Extrapolate linearly from the end cell (not monotone; flagged in the cell).
    Extrapolate,
    /// Wrap around.
    Periodic,
}

/// The interpolation cell of one point in `D` dimensions.
#[derive(Debug, Clone, Copy)]
pub struct Cell<const D: usize> {
    /// Lower corner index per axis.
    pub base: [usize; D],
    /// Upper corner index per axis (wrapped on periodic axes).
    pub upper: [usize; D],
    /// Fraction of the way from `base` to `upper`.
    pub fraction: [f64; D],
    /// The point lay beyond a bounded end.
    pub outside: bool,
    /// Some weight is negative (an extrapolated end).
    pub extrapolated: bool,
}

impl<const D: usize> Cell<D> {
    /// The cell of a point whose position in cells is `position[k]` on axes of `shape[k]` nodes.
    #[inline(always)]
    pub fn locate(position: &[f64; D], shape: &[usize], rules: &[AxisRule]) -> Cell<D> {
        let mut cell =
            Cell { base: [0; D], upper: [0; D], fraction: [0.0; D], outside: false, extrapolated: false };
        for k in 0..D {
            let points = shape[k];
            let position = position[k];
            match rules[k] {
                AxisRule::Periodic => {
                    let wrapped = position.rem_euclid(points as f64);
                    let index = (wrapped.floor() as usize).min(points - 1);
                    cell.base[k] = index;
                    cell.upper[k] = (index + 1) % points;
                    cell.fraction[k] = wrapped - index as f64;
                }
                AxisRule::Clamp | AxisRule::Extrapolate => {
                    let last = (points - 1) as f64;
                    let beyond = !(0.0..=last).contains(&position);
                    cell.outside |= beyond;
                    let position = if rules[k] == AxisRule::Clamp || !position.is_finite() {
                        position.clamp(0.0, last)
                    } else {
                        cell.extrapolated |= beyond;
                        position
                    };
                    let index = (position.floor().clamp(0.0, last - 1.0)) as usize;
                    cell.base[k] = index;
                    cell.upper[k] = index + 1;
                    cell.fraction[k] = position - index as f64;
                }
            }
        }
        cell
    }

    /// Flat node index and weight of corner `corner` (bit k set: upper node on axis k).
    #[inline(always)]
    pub fn corner(&self, corner: usize, strides: &[usize]) -> (usize, f64) {
        let mut weight = 1.0;
        let mut flat = 0;
        for k in 0..D {
            if corner >> k & 1 == 1 {
                weight *= self.fraction[k];
                flat += self.upper[k] * strides[k];
            } else {
                weight *= 1.0 - self.fraction[k];
                flat += self.base[k] * strides[k];
            }
        }
        (flat, weight)
    }

    /// `Σ_corners weight · field[node]`, skipping corners of zero weight (so a non-finite value
    /// the point does not touch cannot leak in).
    #[inline(always)]
    pub fn apply(&self, field: &[f64], strides: &[usize]) -> f64 {
        let mut total = 0.0;
        for corner in 0..(1usize << D) {
            let (flat, weight) = self.corner(corner, strides);
            if weight != 0.0 {
                total += weight * field[flat];
            }
        }
        total
    }
}
