//! Compressed sparse rows and the ILU(0) preconditioner on them.
//!
//! ILU(0) (Meijerink–van der Vorst) is Gaussian elimination in row order (the IKJ variant)
//! that keeps only the entries of `M`'s own pattern: for each row `i` and each `k < i` in it,
//!
//! ```text
//! l_ik = m_ik / u_kk,      m_ij ← m_ij − l_ik u_kj   for every j > k with (i, j) in the pattern,
//! ```
//!
//! so `M ≈ LU` with `L` unit lower and `U` upper triangular on the pattern of `M`. The fill that
//! falls outside the pattern, `Σ_j l_ik u_kj`, is not thrown away entirely: a fraction
//! `ω` = [`RELAXATION`] of it is subtracted from `u_ii` (relaxed ILU, Axelsson–Lindskog; `ω = 1`
//! is the modified ILU, which keeps `LU·1 = M·1`). On a diffusion-dominated 2-D problem this cuts
//! the BiCGSTAB iterations about 1.7× against plain ILU(0) (`ω = 0`: 973 → 562 at `ω` = 0.9 on
//! `lqr_stochastic_2d` at 301², 413 at 0.99, 629 at 1, where the modified factors approach
//! singularity); 0.95 stays clear of that edge. For an M-matrix
//! the factors exist with positive pivots (Meijerink–van der Vorst 1977); a pivot that is not
//! positive and finite (a row of the backward-Euler steps with an extrapolated outflow ghost) is
//! replaced by the row's own diagonal, which changes only how well the preconditioner works,
//! never the answer (BiCGSTAB checks the true residual of `M`).

/// The fraction of the dropped fill added to the diagonal (RILU, module docs).
pub const RELAXATION: f64 = 0.95;

/// A square matrix in compressed sparse rows, columns sorted and unique within each row.
#[derive(Debug, Clone)]
pub struct SparseRows {
    /// `start[i]..start[i + 1]`: the entries of row `i`.
    pub start: Vec<usize>,
    /// Column of each entry.
    pub columns: Vec<usize>,
    /// Position of the diagonal entry of each row.
    pub diagonal: Vec<usize>,
    /// Value of each entry.
    pub values: Vec<f64>,
}

impl SparseRows {
    /// The pattern of `width` entries per row at `columns[row * width + j]` (repeats merged, the
    /// diagonal always present), and for each of those the position its value is summed into.
    pub fn from_rows(columns_of: &[usize], width: usize) -> (SparseRows, Vec<usize>) {
        let rows = columns_of.len() / width;
        let mut start = Vec::with_capacity(rows + 1);
        let mut columns = Vec::with_capacity(columns_of.len());
        let mut diagonal = Vec::with_capacity(rows);
        let mut position = vec![0usize; columns_of.len()];
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(width + 1);
        start.push(0);
        for row in 0..rows {
            order.clear();
            order.extend((0..width).map(|j| (columns_of[row * width + j], j)));
            order.push((row, usize::MAX));
            order.sort_unstable();
            let mut last = usize::MAX;
            for &(column, j) in &order {
                if column != last {
                    if column == row {
                        diagonal.push(columns.len());
                    }
                    columns.push(column);
                    last = column;
                }
                if j != usize::MAX {
                    position[row * width + j] = columns.len() - 1;
                }
            }
            start.push(columns.len());
        }
        let values = vec![0.0; columns.len()];
        (SparseRows { start, columns, diagonal, values }, position)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.diagonal.len()
    }

    /// `out = M x`.
    pub fn apply(&self, x: &[f64], out: &mut [f64]) {
        for (row, out) in out.iter_mut().enumerate() {
            let mut sum = 0.0;
            for q in self.start[row]..self.start[row + 1] {
                sum += self.values[q] * x[self.columns[q]];
            }
            *out = sum;
        }
    }

    /// `out = b − M x`, returning `‖b − M x‖∞`.
    pub fn residual(&self, b: &[f64], x: &[f64], out: &mut [f64]) -> f64 {
        let mut largest = 0.0f64;
        for (row, out) in out.iter_mut().enumerate() {
            let mut sum = b[row];
            for q in self.start[row]..self.start[row + 1] {
                sum -= self.values[q] * x[self.columns[q]];
            }
            *out = sum;
            largest = largest.max(sum.abs());
        }
        largest
    }
}

/// The relaxed incomplete factors `L` (unit lower) and `U` of a [`SparseRows`] matrix, on its
/// pattern.
#[derive(Debug, Clone)]
pub struct Ilu0 {
    factors: Vec<f64>,
    marker: Vec<usize>,
    relaxation: f64,
}

impl Ilu0 {
    /// Room for the factors of `matrix`'s pattern.
    pub fn new(matrix: &SparseRows) -> Ilu0 {
        Ilu0 {
            factors: vec![0.0; matrix.values.len()],
            marker: vec![usize::MAX; matrix.rows()],
            relaxation: RELAXATION,
        }
    }

    /// Factor `matrix` (module docs).
    pub fn factor(&mut self, matrix: &SparseRows) {
        let SparseRows { start, columns, diagonal, values } = matrix;
        let lu = &mut self.factors;
        lu.copy_from_slice(values);
        for row in 0..diagonal.len() {
            for q in start[row]..start[row + 1] {
                self.marker[columns[q]] = q;
            }
            let mut dropped = 0.0;
            for q in start[row]..diagonal[row] {
                let k = columns[q];
                let multiplier = lu[q] / lu[diagonal[k]];
                lu[q] = multiplier;
                for upper in diagonal[k] + 1..start[k + 1] {
                    let at = self.marker[columns[upper]];
                    if at != usize::MAX {
                        lu[at] -= multiplier * lu[upper];
                    } else {
                        dropped -= multiplier * lu[upper];
                    }
                }
            }
            lu[diagonal[row]] += self.relaxation * dropped;
            for q in start[row]..start[row + 1] {
                self.marker[columns[q]] = usize::MAX;
            }
            let pivot = lu[diagonal[row]];
            if !(pivot > 0.0 && pivot.is_finite()) {
                lu[diagonal[row]] = values[diagonal[row]];
            }
        }
    }

    /// `x ← (LU)⁻¹ x`: forward substitution with `L`, back substitution with `U`.
    pub fn apply_in_place(&self, matrix: &SparseRows, x: &mut [f64]) {
        let SparseRows { start, columns, diagonal, .. } = matrix;
        let lu = &self.factors;
        for row in 0..diagonal.len() {
            let mut sum = x[row];
            for q in start[row]..diagonal[row] {
                sum -= lu[q] * x[columns[q]];
            }
            x[row] = sum;
        }
        for row in (0..diagonal.len()).rev() {
            let mut sum = x[row];
            for q in diagonal[row] + 1..start[row + 1] {
                sum -= lu[q] * x[columns[q]];
            }
            x[row] = sum / lu[diagonal[row]];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 1-D matrix tridiag(−1, 2 + ρ, −1): ILU(0) of a tridiagonal matrix is its exact LU,
    /// so one application solves the system.
    #[test]
    fn ilu0_of_a_tridiagonal_m_matrix_is_exact() {
        let n = 7;
        // Entries per row: centre, left, right (the ends repeat the centre with a zero).
        let mut columns = Vec::new();
        let mut entries = Vec::new();
        for i in 0..n {
            columns.extend([i, if i > 0 { i - 1 } else { i }, if i + 1 < n { i + 1 } else { i }]);
            entries.extend([2.5, if i > 0 { -1.0 } else { 0.0 }, if i + 1 < n { -1.0 } else { 0.0 }]);
        }
        let (mut matrix, position) = SparseRows::from_rows(&columns, 3);
        assert_eq!(matrix.values.len(), 3 * n - 2);
        for (k, value) in entries.iter().enumerate() {
            matrix.values[position[k]] += value;
        }
        let mut ilu = Ilu0::new(&matrix);
        ilu.factor(&matrix);
        let b: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
        let mut x = b.clone();
        ilu.apply_in_place(&matrix, &mut x);
        let mut scratch = vec![0.0; n];
        assert!(matrix.residual(&b, &x, &mut scratch) < 1e-14);
    }
}
