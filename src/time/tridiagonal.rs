//! The direct solver of policy iteration's linear systems on one axis: Gaussian elimination with
//! partial pivoting for a tridiagonal matrix, the algorithm of LAPACK's `dgtsv`.
//!
//! **The systems.** On a grid of one non-periodic axis without regimes, every row of the implicit
//! stepper's matrix `M(u)` ([`crate::time::implicit`]) touches only the node and its two
//! neighbours: the centre, the forward and backward slots, and at an extrapolated end the ghost
//! `2V_0 − V_1`, which puts its weight on columns 0 and 1 again. So `M` is tridiagonal,
//!
//! ```text
//! ℓ_i x_{i−1} + d_i x_i + u_i x_{i+1} = b_i,   i = 0 … N−1   (ℓ_0 = u_{N−1} = 0).
//! ```
//!
//! **The elimination.** Column `i` has two nonzeros at and below the diagonal, `d_i` and
//! `ℓ_{i+1}`. The larger in magnitude becomes the pivot (ties keep row `i`): without an
//! interchange, row `i + 1` loses `(ℓ_{i+1}/d_i)` times row `i`; with one, rows `i` and `i + 1`
//! swap first, and the new row `i` (the old row `i + 1`) reaches two columns right of the
//! diagonal — the second superdiagonal `w_i` that partial pivoting creates. The result is an
//! upper-triangular matrix with three diagonals, solved backwards:
//!
//! ```text
//! x_{N−1} = b_{N−1}/d_{N−1},   x_i = (b_i − u_i x_{i+1} − w_i x_{i+2}) / d_i.
//! ```
//!
//! `O(N)` operations (about 8N flops) and four vectors of length `N`, allocated once per
//! stepper and reused by every solve. A zero pivot (a singular matrix) is a [`TridiagonalError`],
//! never a panic. The elimination is sequential, so its result is the same for any thread count.
//!
//! **Why pivoting.** Interior rows of `M(u)` are strictly diagonally dominant M-matrix rows, on
//! which plain Thomas elimination (no interchanges) is stable. The backward-Euler rows at
//! extrapolated ends are not where the drift points out: the ghost puts `+Δt r` off the diagonal
//! and `−2Δt r` on it, so at `Δt ≈ h` with an outward drift of more than a cell per step the
//! diagonal is negative and smaller in magnitude than its neighbour — Thomas's pivot can then be
//! tiny or zero while the matrix is perfectly regular. `dgtsv`'s interchanges handle those rows
//! at the cost of one comparison per row.
//!
//! **Why our own.** faer (0.24) has dense LU, QR, Cholesky and the sparse LU/QR/Cholesky
//! factorisations, but no banded or tridiagonal solver: its only tridiagonal code is the
//! Householder reduction of the symmetric eigenproblem (`linalg::evd::tridiag`); a search of its
//! documentation for a banded or tridiagonal solve finds nothing else. Its general sparse LU on
//! the tridiagonal pattern (symbolic analysis reused) costs about 80 ns per node and solve
//! (refactorisation, solve, allocation), this elimination about 16 ns; a whole backward-Euler step
//! of `lqr_1d_noisy` (three sweeps) drops from a median 520–670 to 330–380 ns per node, the rest being
//! the rows' assembly and the policy improvement (`docs/numerics.md` §4.7, measured 2026-12-03).

use std::fmt;

/// Why a tridiagonal solve failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TridiagonalError {
    /// The pivot of this row was exactly zero after elimination: the matrix is singular.
    ZeroPivot {
        /// The row (0-based).
        row: usize,
    },
    /// A row has an entry outside the three diagonals: the system is not tridiagonal.
    OutOfBand {
        /// The row.
        row: usize,
        /// The column of the entry.
        column: usize,
    },
    /// A vector (diagonal, right-hand side, solution, rows) does not fit the solver's size.
    Lengths {
        /// Unknowns of the solver.
        size: usize,
        /// Length of the vector given.
        given: usize,
    },
}

impl fmt::Display for TridiagonalError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TridiagonalError::ZeroPivot { row } => {
                write!(formatter, "zero pivot in row {row}: the tridiagonal matrix is singular")
            }
            TridiagonalError::OutOfBand { row, column } => {
                write!(formatter, "row {row} has an entry in column {column}, outside the three diagonals")
            }
            TridiagonalError::Lengths { size, given } => {
                write!(
                    formatter,
                    "a system of {size} unknowns given a vector of length {given} that does not fit it"
                )
            }
        }
    }
}

impl std::error::Error for TridiagonalError {}

/// Gaussian elimination with partial pivoting for tridiagonal systems of one size (module
/// docs); the buffers are reused by every solve.
#[derive(Debug, Clone)]
pub struct Tridiagonal {
    /// `ℓ_i` (row `i`, column `i − 1`; `ℓ_0` unused), then the second superdiagonal `w_{i−1}`.
    lower: Vec<f64>,
    /// `d_i`, then the reciprocals of the pivots.
    diagonal: Vec<f64>,
    /// `u_i` (row `i`, column `i + 1`; `u_{N−1}` unused), then the eliminated first superdiagonal.
    upper: Vec<f64>,
    /// The right-hand side, then its eliminated form.
    right: Vec<f64>,
}

impl Tridiagonal {
    /// A solver for systems of `size` unknowns.
    pub fn new(size: usize) -> Tridiagonal {
        Tridiagonal {
            lower: vec![0.0; size],
            diagonal: vec![0.0; size],
            upper: vec![0.0; size],
            right: vec![0.0; size],
        }
    }

    /// The number of unknowns.
    pub fn size(&self) -> usize {
        self.diagonal.len()
    }

    /// Solve `M x = right` for the matrix given row by row as `width` entries per row in
    /// `entries` with their columns in `columns` (entries of the same column are summed; every
    /// column must lie within one of its row), writing `x` into `solution`.
    pub fn solve_rows(
        &mut self,
        entries: &[f64],
        columns: &[usize],
        width: usize,
        right: &[f64],
        solution: &mut [f64],
    ) -> Result<(), TridiagonalError> {
        let size = self.size();
        if width == 0 || entries.len() != size * width || columns.len() != size * width {
            let given = if entries.len() != size * width { entries.len() } else { columns.len() };
            return Err(TridiagonalError::Lengths { size, given });
        }
        self.lower.fill(0.0);
        self.diagonal.fill(0.0);
        self.upper.fill(0.0);
        for (row, (values, columns)) in entries.chunks(width).zip(columns.chunks(width)).enumerate() {
            for (value, column) in values.iter().zip(columns) {
                if *column == row {
                    self.diagonal[row] += value;
                } else if *column + 1 == row {
                    self.lower[row] += value;
                } else if *column == row + 1 && *column < size {
                    self.upper[row] += value;
                } else {
                    return Err(TridiagonalError::OutOfBand { row, column: *column });
                }
            }
        }
        self.eliminate_and_substitute(right, solution)
    }

    /// Solve `M x = right` for the tridiagonal `M` with subdiagonal `lower` (`lower[i]` in row
    /// `i + 1`), diagonal `diagonal` and superdiagonal `upper` (`upper[i]` in row `i`), writing
    /// `x` into `solution`.
    pub fn solve(
        &mut self,
        lower: &[f64],
        diagonal: &[f64],
        upper: &[f64],
        right: &[f64],
        solution: &mut [f64],
    ) -> Result<(), TridiagonalError> {
        let size = self.size();
        let off = size.saturating_sub(1);
        for (given, expected) in [(diagonal.len(), size), (lower.len(), off), (upper.len(), off)] {
            if given != expected {
                return Err(TridiagonalError::Lengths { size, given });
            }
        }
        self.diagonal.copy_from_slice(diagonal);
        self.lower.fill(0.0);
        self.upper.fill(0.0);
        if size > 0 {
            self.lower[1..].copy_from_slice(lower);
            self.upper[..off].copy_from_slice(upper);
        }
        self.eliminate_and_substitute(right, solution)
    }

    /// The elimination of `dgtsv` on the loaded diagonals and the back substitution (module
    /// docs).
    fn eliminate_and_substitute(
        &mut self,
        right: &[f64],
        solution: &mut [f64],
    ) -> Result<(), TridiagonalError> {
        let size = self.size();
        for given in [right.len(), solution.len()] {
            if given != size {
                return Err(TridiagonalError::Lengths { size, given });
            }
        }
        if size == 0 {
            return Ok(());
        }
        self.right.copy_from_slice(right);
        let (lower, diagonal, upper, b) =
            (&mut self.lower, &mut self.diagonal, &mut self.upper, &mut self.right);
        // After step i, lower[i + 1] holds w_i, the entry of row i two columns right of the
        // diagonal (zero unless rows i and i + 1 were swapped), and diagonal[i] the reciprocal
        // of the pivot (the back substitution multiplies; the divisions stay off its chain).
        for i in 0..size - 1 {
            let (pivot, below) = (diagonal[i], lower[i + 1]);
            if pivot.abs() >= below.abs() {
                // No interchange: row i + 1 −= (ℓ_{i+1}/d_i) row i.
                if pivot == 0.0 {
                    return Err(TridiagonalError::ZeroPivot { row: i });
                }
                let inverse = 1.0 / pivot;
                diagonal[i + 1] -= below * upper[i] / pivot;
                b[i + 1] -= below * inverse * b[i];
                lower[i + 1] = 0.0;
                diagonal[i] = inverse;
            } else {
                // Swap rows i and i + 1, then eliminate: the new row i is (ℓ_{i+1}, d_{i+1},
                // u_{i+1}) in columns i, i + 1, i + 2.
                let inverse = 1.0 / below;
                let factor = pivot * inverse;
                let centre = diagonal[i + 1];
                diagonal[i + 1] = upper[i] - factor * centre;
                let far = if i + 2 < size { upper[i + 1] } else { 0.0 };
                if i + 2 < size {
                    upper[i + 1] = -factor * far;
                }
                upper[i] = centre;
                lower[i + 1] = far;
                let top = b[i];
                b[i] = b[i + 1];
                b[i + 1] = top - factor * b[i + 1];
                diagonal[i] = inverse;
            }
        }
        if diagonal[size - 1] == 0.0 {
            return Err(TridiagonalError::ZeroPivot { row: size - 1 });
        }
        solution[size - 1] = b[size - 1] / diagonal[size - 1];
        if size >= 2 {
            let i = size - 2;
            solution[i] = (b[i] - upper[i] * solution[i + 1]) * diagonal[i];
        }
        for i in (0..size.saturating_sub(2)).rev() {
            solution[i] = (b[i] - upper[i] * solution[i + 1] - lower[i + 1] * solution[i + 2]) * diagonal[i];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::linalg::solvers::Solve;
    use faer::Mat;

    /// A deterministic generator of numbers in [−1, 1) (xorshift64*).
    struct Numbers(u64);

    impl Numbers {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
            2.0 * (bits as f64 / (1u64 << 53) as f64) - 1.0
        }
    }

    /// `x` by faer's dense LU with partial pivoting on the full matrix.
    fn dense(lower: &[f64], diagonal: &[f64], upper: &[f64], right: &[f64]) -> Vec<f64> {
        let size = diagonal.len();
        let matrix = Mat::from_fn(size, size, |i, j| {
            if i == j {
                diagonal[i]
            } else if i == j + 1 {
                lower[j]
            } else if j == i + 1 {
                upper[i]
            } else {
                0.0
            }
        });
        let lu = matrix.as_ref().partial_piv_lu();
        let x = lu.solve(&Mat::from_fn(size, 1, |i, _| right[i]));
        (0..size).map(|i| x[(i, 0)]).collect()
    }

    fn relative_difference(a: &[f64], b: &[f64]) -> f64 {
        let size = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / size
    }

    #[test]
    fn random_systems_match_dense_lu_including_rows_that_are_not_diagonally_dominant() {
        let mut numbers = Numbers(0x9e37_79b9_7f4a_7c15);
        for size in [1, 2, 3, 4, 7, 50, 301] {
            for trial in 0..20 {
                let lower: Vec<f64> = (1..size).map(|_| numbers.next()).collect();
                let upper: Vec<f64> = (1..size).map(|_| numbers.next()).collect();
                // Half the trials: random diagonals (no dominance, many interchanges); the
                // others: M-matrix rows with a few ghost-like rows (positive off-diagonal,
                // negative diagonal smaller than its neighbour).
                let diagonal: Vec<f64> = (0..size)
                    .map(|i| {
                        if trial % 2 == 0 {
                            numbers.next()
                        } else if i % 17 == 3 {
                            -0.1 * numbers.next().abs()
                        } else {
                            2.5 + numbers.next().abs()
                        }
                    })
                    .collect();
                let right: Vec<f64> = (0..size).map(|_| 10.0 * numbers.next()).collect();
                let mut solver = Tridiagonal::new(size);
                let mut x = vec![0.0; size];
                solver.solve(&lower, &diagonal, &upper, &right, &mut x).unwrap();
                let reference = dense(&lower, &diagonal, &upper, &right);
                let difference = relative_difference(&x, &reference);
                // Random matrices can be ill-conditioned; scale the bound by a condition
                // estimate (the size of the solution against the right-hand side).
                let growth = reference.iter().fold(1.0f64, |m, v| m.max(v.abs())) / 10.0;
                assert!(difference < 1e-12 * growth.max(1.0), "size {size}, trial {trial}: {difference:.2e}");
            }
        }
    }

    #[test]
    fn a_zero_leading_pivot_needs_the_interchange_and_gets_it() {
        // d_0 = 0: Thomas would divide by zero; the matrix [[0, 1, 0], [2, 1, 1], [0, 1, 3]] is
        // regular (determinant −5).
        let (lower, diagonal, upper) = ([2.0, 1.0], [0.0, 1.0, 3.0], [1.0, 1.0]);
        let right = [1.0, 4.0, 5.0];
        let mut x = [0.0; 3];
        Tridiagonal::new(3).solve(&lower, &diagonal, &upper, &right, &mut x).unwrap();
        let reference = dense(&lower, &diagonal, &upper, &right);
        assert!(relative_difference(&x, &reference) < 1e-15, "{x:?} against {reference:?}");
        // The exact solution: x_1 = 1, x_0 = (4 − 1 − x_2)/2, x_2 = (5 − 1)/3.
        assert!((x[1] - 1.0).abs() < 1e-15 && (x[2] - 4.0 / 3.0).abs() < 1e-15);
        assert!((x[0] - (3.0 - 4.0 / 3.0) / 2.0).abs() < 1e-15);
    }

    #[test]
    fn a_ghost_row_with_a_negative_diagonal_is_solved() {
        // A backward-Euler row at an extrapolated end with an outward drift of 3 cells per step:
        // 1 + Δt r − 2Δt r = −2 on the diagonal, +Δt r = 3 off it; M-matrix rows elsewhere.
        let size = 6;
        let mut diagonal = vec![3.0; size];
        let mut upper = vec![-1.0; size - 1];
        let lower = vec![-1.0; size - 1];
        diagonal[0] = -2.0;
        upper[0] = 3.0;
        let right: Vec<f64> = (0..size).map(|i| i as f64 - 2.0).collect();
        let mut x = vec![0.0; size];
        let mut solver = Tridiagonal::new(size);
        solver.solve(&lower, &diagonal, &upper, &right, &mut x).unwrap();
        let reference = dense(&lower, &diagonal, &upper, &right);
        assert!(relative_difference(&x, &reference) < 1e-14);
        // The same system given as rows (centre, forward, backward; the ghost's column 1 twice).
        let mut entries = Vec::new();
        let mut columns = Vec::new();
        for row in 0..size {
            let (forward, backward) = match row {
                0 => ((1.0, 1), (2.0, 1)),
                r if r + 1 == size => ((0.0, r), (lower[r - 1], r - 1)),
                r => ((upper[r], r + 1), (lower[r - 1], r - 1)),
            };
            entries.extend([diagonal[row], forward.0, backward.0]);
            columns.extend([row, forward.1, backward.1]);
        }
        let mut from_rows = vec![0.0; size];
        solver.solve_rows(&entries, &columns, 3, &right, &mut from_rows).unwrap();
        assert_eq!(from_rows, x);
    }

    #[test]
    fn singular_systems_and_bad_patterns_are_errors() {
        // Two equal rows: [[1, 1], [1, 1]].
        let mut x = [0.0; 2];
        let error = Tridiagonal::new(2).solve(&[1.0], &[1.0, 1.0], &[1.0], &[1.0, 2.0], &mut x).unwrap_err();
        assert_eq!(error, TridiagonalError::ZeroPivot { row: 1 });
        assert!(error.to_string().contains("singular"));
        // A zero column: nothing to pivot on.
        let mut x = [0.0; 3];
        let error = Tridiagonal::new(3)
            .solve(&[0.0, 1.0], &[0.0, 1.0, 1.0], &[1.0, 1.0], &[1.0; 3], &mut x)
            .unwrap_err();
        assert_eq!(error, TridiagonalError::ZeroPivot { row: 0 });
        // An entry two columns away.
        let error = Tridiagonal::new(3)
            .solve_rows(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0], &[0, 2, 1, 1, 0, 2], 2, &[1.0; 3], &mut x)
            .unwrap_err();
        assert_eq!(error, TridiagonalError::OutOfBand { row: 0, column: 2 });
        let error = Tridiagonal::new(3).solve(&[1.0], &[1.0; 3], &[1.0; 2], &[1.0; 3], &mut x).unwrap_err();
        assert!(matches!(error, TridiagonalError::Lengths { size: 3, .. }));
        let error = Tridiagonal::new(3).solve_rows(&[], &[], 0, &[1.0; 3], &mut x).unwrap_err();
        assert!(matches!(error, TridiagonalError::Lengths { size: 3, .. }));
    }
}
