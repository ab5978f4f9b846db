//! Ensembles of closed-loop paths: the terminal states of every path, their sample moments with
//! standard errors, and — when the exact law of `X_T` is known (a Gaussian-mixture reference:
//! the Föllmer process samples `p_data`) — the comparison against it: mean and covariance in
//! standard errors, and a one-sample Kolmogorov–Smirnov distance per coordinate against the
//! exact marginal CDF.
//!
//! Everything here is computed sequentially in path order, so the numbers depend only on the
//! terminal states, never on the thread count that produced them.

use crate::problem::mixture::GaussianMixture;

/// Bytes an ensemble of `paths` paths in `dimension` states needs at its peak: per path, the
/// terminal state as the path returns it (a vector: 24 bytes, its allocation and the state), its
/// cost and record slot, then the flat copy of the terminal state, the cost, and one coordinate
/// sorted for the KS distance; rounded up to `64 + 24·dimension` bytes.
pub fn ensemble_bytes(paths: usize, dimension: usize) -> f64 {
    paths as f64 * (64.0 + 24.0 * dimension as f64)
}

/// Sample moments of the terminal states and, when known, their comparison with the exact law.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleStatistics {
    /// The sample mean per coordinate.
    pub mean: Vec<f64>,
    /// The sample covariance (divisor `N − 1`), row-major `n × n`.
    pub covariance: Vec<Vec<f64>>,
    /// Standard error of each mean coordinate, `sqrt(C_ii / N)`.
    pub mean_standard_error: Vec<f64>,
    /// Standard error of each covariance entry, `sqrt(Var[(X_i − μ_i)(X_j − μ_j)] / N)` from the
    /// sample fourth moments.
    pub covariance_standard_error: Vec<Vec<f64>>,
    /// The comparison with the exact law of `X_T`, when the problem knows it.
    pub target: Option<TargetComparison>,
}

/// The sample against the exact law of `X_T`.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetComparison {
    /// The exact mean.
    pub mean: Vec<f64>,
    /// The exact covariance.
    pub covariance: Vec<Vec<f64>>,
    /// The largest `|sample mean − exact| / standard error` over the coordinates.
    pub mean_z: f64,
    /// The largest `|sample covariance − exact| / standard error` over the entries.
    pub covariance_z: f64,
    /// The Kolmogorov–Smirnov distance `sup |F_N − F|` per coordinate, against the exact
    /// marginal CDF.
    pub ks: Vec<f64>,
    /// The 95 % critical value of the KS distance for `N` samples, `1.358/√N` (asymptotic).
    pub ks_critical: f64,
}

/// The KS distance `sup_x |F_N(x) − F(x)|` of `samples` against `cdf` (sorts `samples`).
pub fn kolmogorov_smirnov(samples: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let count = samples.len() as f64;
    samples.iter().enumerate().fold(0.0, |distance: f64, (k, x)| {
        let f = cdf(*x);
        distance.max((k as f64 + 1.0) / count - f).max(f - k as f64 / count)
    })
}

impl EnsembleStatistics {
    /// Moments of `terminal` (row-major `paths × dimension`), compared with `target` when given.
    pub fn new(terminal: &[f64], dimension: usize, target: Option<&GaussianMixture>) -> EnsembleStatistics {
        let n = dimension;
        let count = terminal.len() / n;
        let rows = || terminal.chunks_exact(n);
        let mut mean = vec![0.0; n];
        for row in rows() {
            for (m, x) in mean.iter_mut().zip(row) {
                *m += x;
            }
        }
        mean.iter_mut().for_each(|m| *m /= count as f64);
        let mut covariance = vec![vec![0.0; n]; n];
        let mut fourth = vec![vec![0.0; n]; n];
        for row in rows() {
            for i in 0..n {
                for j in 0..n {
                    let product = (row[i] - mean[i]) * (row[j] - mean[j]);
                    covariance[i][j] += product;
                    fourth[i][j] += product * product;
                }
            }
        }
        let divisor = (count as f64 - 1.0).max(1.0);
        let mut covariance_standard_error = vec![vec![0.0; n]; n];
        for i in 0..n {
            for j in 0..n {
                let second = covariance[i][j] / count as f64;
                let spread = (fourth[i][j] / count as f64 - second * second).max(0.0);
                covariance_standard_error[i][j] = (spread / count as f64).sqrt();
                covariance[i][j] /= divisor;
            }
        }
        let mean_standard_error = (0..n).map(|i| (covariance[i][i] / count as f64).sqrt()).collect();
        let mut statistics = EnsembleStatistics {
            mean,
            covariance,
            mean_standard_error,
            covariance_standard_error,
            target: None,
        };
        statistics.target = target.map(|law| statistics.compare(terminal, n, law));
        statistics
    }

    fn compare(&self, terminal: &[f64], n: usize, law: &GaussianMixture) -> TargetComparison {
        let count = terminal.len() / n;
        let (mean, covariance) = (law.mean(), law.covariance());
        let z =
            |difference: f64, error: f64| if error > 0.0 { difference.abs() / error } else { f64::INFINITY };
        let mean_z =
            (0..n).map(|i| z(self.mean[i] - mean[i], self.mean_standard_error[i])).fold(0.0, f64::max);
        let covariance_z = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| z(self.covariance[i][j] - covariance[i][j], self.covariance_standard_error[i][j]))
            .fold(0.0, f64::max);
        let ks = (0..n)
            .map(|i| {
                let mut column: Vec<f64> = terminal.chunks_exact(n).map(|row| row[i]).collect();
                kolmogorov_smirnov(&mut column, |x| law.marginal_cdf(i, x))
            })
            .collect();
        TargetComparison {
            mean,
            covariance,
            mean_z,
            covariance_z,
            ks,
            ks_critical: 1.358 / (count as f64).sqrt(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::mixture::normal_cdf;

    /// Exact quantiles of N(0, 1) at (k + ½)/N: a "perfect" sample with KS distance 1/(2N).
    fn perfect_normal_sample(count: usize) -> Vec<f64> {
        (0..count)
            .map(|k| {
                let p = (k as f64 + 0.5) / count as f64;
                // Bisection on Φ (monotone): enough for a test.
                let (mut low, mut high) = (-10.0, 10.0);
                for _ in 0..200 {
                    let middle = 0.5 * (low + high);
                    if normal_cdf(middle) < p {
                        low = middle;
                    } else {
                        high = middle;
                    }
                }
                0.5 * (low + high)
            })
            .collect()
    }

    #[test]
    fn ks_distance_of_exact_quantiles_is_half_a_step() {
        let mut sample = perfect_normal_sample(1000);
        let distance = kolmogorov_smirnov(&mut sample, normal_cdf);
        assert!((distance - 0.5e-3).abs() < 1e-12, "{distance}");
        // Shifted by δ: the distance becomes about φ(0)·δ.
        let mut shifted: Vec<f64> = perfect_normal_sample(1000).iter().map(|x| x + 0.01).collect();
        let distance = kolmogorov_smirnov(&mut shifted, normal_cdf);
        assert!((distance - 0.01 / (2.0 * std::f64::consts::PI).sqrt()).abs() < 6e-4, "{distance}");
    }

    #[test]
    fn moments_and_standard_errors() {
        // Two coordinates: x ~ the perfect sample, y = 2x + 1 (so Cov = [[1, 2], [2, 4]]).
        let xs = perfect_normal_sample(2000);
        let terminal: Vec<f64> = xs.iter().flat_map(|x| [*x, 2.0 * x + 1.0]).collect();
        let target = GaussianMixture::new(vec![1.0], vec![vec![0.0, 1.0]], vec![vec![1.0, 4.0]]).unwrap();
        let statistics = EnsembleStatistics::new(&terminal, 2, Some(&target));
        assert!(statistics.mean[0].abs() < 1e-12 && (statistics.mean[1] - 1.0).abs() < 1e-12);
        assert!((statistics.covariance[0][1] - 2.0).abs() < 5e-3, "{:?}", statistics.covariance);
        assert!((statistics.mean_standard_error[0] - (1.0f64 / 2000.0).sqrt()).abs() < 1e-4);
        // Var[X²] = 2 for a standard normal.
        assert!((statistics.covariance_standard_error[0][0] - (2.0f64 / 2000.0).sqrt()).abs() < 2e-3);
        let comparison = statistics.target.unwrap();
        assert!(comparison.mean_z < 1e-6 && comparison.ks[0] < 1e-3 && comparison.ks[1] < 1e-3);
        // The target has no correlation, the sample has Cov_xy = 2: far outside.
        assert!(comparison.covariance_z > 10.0);
        assert!((comparison.ks_critical - 1.358 / 2000f64.sqrt()).abs() < 1e-15);
    }
}
