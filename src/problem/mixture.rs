//! Gaussian mixtures and the Cole–Hopf solution of the "sampling by optimal control" problem.
//!
//! Minimise `E[∫₀ᵀ ½|u|² dt + g(X_T)]` with `dX = u dt + dW` (unit noise). With `V = −log h` the
//! HJB `−V_t − ½ΔV + ½|∇V|² = 0` becomes the backward heat equation `h_t + ½Δh = 0`,
//! `h(·, T) = e^{−g}`, so `V(x, t) = −log E[exp(−g(x + W_{T−t}))]` and `u* = −∇V = ∇log h`.
//! For `g = log(φ_T / p)` (φ_T the `N(0, T·I)` density, `p` this mixture) every quantity has a
//! closed form, because a Gaussian times a Gaussian is a Gaussian: per component `k` and axis
//! `i` (variance `s²`, mean `m`, time to go `τ = T − t`),
//!
//! ```text
//! log h_ki(x) = ½ log(T / (τ s² a)) + b²/(2a) + c,
//!     a = 1/τ + 1/s² − 1/T,   b = x/τ + m/s²,   c = −x²/(2τ) − m²/(2s²),
//! V(x, t) = −log Σ_k w_k exp(Σ_i log h_ki(x_i)),      ∂_i log h_ki = (b/a − x)/τ.
//! ```
//!
//! At `t = 0` this is `V(x, 0) = |x|²/(2T) − log Σ_k w_k exp(x·m_k/T + Σ_i s_ki² x_i²/(2T²))`.
//! The optimally controlled process from `X₀ = 0` (the Föllmer process) has `X_T ~ p`; given
//! `X_T = y` it is a Brownian bridge, so its marginal at `t` is the mixture with means
//! `(t/T) m_k` and variances `(t/T)² s² + t(T − t)/T` ([`GaussianMixture::follmer_marginal`]),
//! and `u*(x, t) = ∇log p_t(x) + x/t` (the score of the marginal plus the Brownian term).

use std::f64::consts::PI;

/// A Gaussian mixture with diagonal covariances: `p(x) = Σ_k w_k Π_i N(x_i; m_ki, s_ki²)`.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    variances: Vec<Vec<f64>>,
}

/// `log Σ_k exp(terms_k)` without overflow; `−∞` for no terms.
fn log_sum_exp(terms: impl Iterator<Item = f64> + Clone) -> f64 {
    let top = terms.clone().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return top;
    }
    top + terms.map(|term| (term - top).exp()).sum::<f64>().ln()
}

/// The standard normal CDF `Φ(z) = ½ erfc(−z/√2)` (accurate in both tails).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

impl GaussianMixture {
    /// A mixture from weights (≥ 0, summing to one within 1e-9), means and diagonal variances
    /// (> 0), one row per component; every row has the same length (the dimension). The error
    /// says what is wrong.
    pub fn new(weights: Vec<f64>, means: Vec<Vec<f64>>, variances: Vec<Vec<f64>>) -> Result<Self, String> {
        if weights.is_empty() {
            return Err("a mixture needs at least one component".into());
        }
        if means.len() != weights.len() || variances.len() != weights.len() {
            return Err(format!(
                "{} weights, {} means and {} variances: give one of each per component",
                weights.len(),
                means.len(),
                variances.len()
            ));
        }
        if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(format!("weight {w} is not a number ≥ 0"));
        }
        let total: f64 = weights.iter().sum();
        if (total - 1.0).abs() > 1e-9 {
            return Err(format!("the weights sum to {total}, not 1"));
        }
        let n = means[0].len();
        if n == 0 || means.iter().chain(&variances).any(|row| row.len() != n) {
            return Err(format!("every mean and variance needs {} coordinates (one per state)", n.max(1)));
        }
        if let Some(m) = means.iter().flatten().find(|m| !m.is_finite()) {
            return Err(format!("mean coordinate {m} is not finite"));
        }
        if let Some(s) = variances.iter().flatten().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(format!("variance {s} is not positive"));
        }
        Ok(GaussianMixture { weights, means, variances })
    }

    /// The number of coordinates.
    pub fn dimension(&self) -> usize {
        self.means[0].len()
    }

    /// The component weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The component means (one row per component).
    pub fn means(&self) -> &[Vec<f64>] {
        &self.means
    }

    /// The component variances (diagonal, one row per component).
    pub fn variances(&self) -> &[Vec<f64>] {
        &self.variances
    }

    /// `log p(x)`.
    pub fn log_density(&self, x: &[f64]) -> f64 {
        log_sum_exp((0..self.weights.len()).map(|k| self.weights[k].ln() + self.log_component(k, x)))
    }

    /// `log N(x; m_k, diag s_k²)`.
    fn log_component(&self, k: usize, x: &[f64]) -> f64 {
        x.iter()
            .zip(&self.means[k])
            .zip(&self.variances[k])
            .map(|((x, m), s2)| -0.5 * (x - m).powi(2) / s2 - 0.5 * (2.0 * PI * s2).ln())
            .sum()
    }

    /// The score `∇log p(x)`.
    pub fn score(&self, x: &[f64]) -> Vec<f64> {
        let logs: Vec<f64> =
            (0..self.weights.len()).map(|k| self.weights[k].ln() + self.log_component(k, x)).collect();
        let total = log_sum_exp(logs.iter().copied());
        let mut score = vec![0.0; x.len()];
        for (k, log) in logs.iter().enumerate() {
            let r = (log - total).exp();
            for (i, s) in score.iter_mut().enumerate() {
                *s += r * (self.means[k][i] - x[i]) / self.variances[k][i];
            }
        }
        score
    }

    /// The mean `Σ_k w_k m_k`.
    pub fn mean(&self) -> Vec<f64> {
        (0..self.dimension())
            .map(|i| self.weights.iter().zip(&self.means).map(|(w, m)| w * m[i]).sum())
            .collect()
    }

    /// The covariance `Σ_k w_k (diag s_k² + m_k m_kᵀ) − m mᵀ`, row-major `n × n`.
    pub fn covariance(&self) -> Vec<Vec<f64>> {
        let n = self.dimension();
        let mean = self.mean();
        let mut covariance = vec![vec![0.0; n]; n];
        for (i, row) in covariance.iter_mut().enumerate() {
            for (j, entry) in row.iter_mut().enumerate() {
                *entry = (0..self.weights.len())
                    .map(|k| {
                        let diagonal = if i == j { self.variances[k][i] } else { 0.0 };
                        self.weights[k] * (diagonal + self.means[k][i] * self.means[k][j])
                    })
                    .sum::<f64>()
                    - mean[i] * mean[j];
            }
        }
        covariance
    }

    /// The CDF of coordinate `axis`'s marginal at `x`: `Σ_k w_k Φ((x − m_ki)/s_ki)`.
    pub fn marginal_cdf(&self, axis: usize, x: f64) -> f64 {
        (0..self.weights.len())
            .map(|k| self.weights[k] * normal_cdf((x - self.means[k][axis]) / self.variances[k][axis].sqrt()))
            .sum()
    }

    /// The law at time `t ∈ (0, T]` of the Föllmer process from 0 that ends at this mixture at
    /// `T`: means `(t/T) m_k`, variances `(t/T)² s² + t(T − t)/T`.
    pub fn follmer_marginal(&self, t: f64, horizon: f64) -> GaussianMixture {
        let r = t / horizon;
        GaussianMixture {
            weights: self.weights.clone(),
            means: self.means.iter().map(|m| m.iter().map(|m| r * m).collect()).collect(),
            variances: self
                .variances
                .iter()
                .map(|s| s.iter().map(|s2| r * r * s2 + t * (horizon - t) / horizon).collect())
                .collect(),
        }
    }

    /// The terminal cost `g(x) = log φ_T(x) − log p(x)` whose Cole–Hopf solution drives the
    /// Föllmer process to this mixture.
    pub fn terminal_cost(&self, x: &[f64], horizon: f64) -> f64 {
        let n = x.len() as f64;
        let log_phi =
            -x.iter().map(|x| x * x).sum::<f64>() / (2.0 * horizon) - 0.5 * n * (2.0 * PI * horizon).ln();
        log_phi - self.log_density(x)
    }

    /// `log h_k(x, t)` per component and its gradient, for `t < T` (see the module docs).
    fn log_h_component(&self, k: usize, x: &[f64], t: f64, horizon: f64, gradient: &mut [f64]) -> f64 {
        let tau = horizon - t;
        let mut total = self.weights[k].ln();
        for i in 0..x.len() {
            let (m, s2) = (self.means[k][i], self.variances[k][i]);
            let a = 1.0 / tau + 1.0 / s2 - 1.0 / horizon;
            let b = x[i] / tau + m / s2;
            let c = -x[i] * x[i] / (2.0 * tau) - m * m / (2.0 * s2);
            total += 0.5 * (horizon / (tau * s2 * a)).ln() + b * b / (2.0 * a) + c;
            gradient[i] = (b / a - x[i]) / tau;
        }
        total
    }

    /// The value `V(x, t) = −log E[exp(−g(x + W_{T−t}))]` for `g` = [`Self::terminal_cost`], and
    /// the optimal drift `u*(x, t) = −∇V(x, t)`; `t ∈ [0, T]` (at `t = T`, `V = g`).
    pub fn cole_hopf(&self, x: &[f64], t: f64, horizon: f64) -> (f64, Vec<f64>) {
        let n = x.len();
        if t >= horizon {
            let score = self.score(x);
            let drift = score.iter().zip(x).map(|(s, x)| s + x / horizon).collect();
            return (self.terminal_cost(x, horizon), drift);
        }
        let mut gradients = vec![vec![0.0; n]; self.weights.len()];
        let logs: Vec<f64> = (0..self.weights.len())
            .map(|k| self.log_h_component(k, x, t, horizon, &mut gradients[k]))
            .collect();
        let total = log_sum_exp(logs.iter().copied());
        let mut drift = vec![0.0; n];
        for (log, gradient) in logs.iter().zip(&gradients) {
            let r = (log - total).exp();
            for (d, g) in drift.iter_mut().zip(gradient) {
                *d += r * g;
            }
        }
        (-total, drift)
    }

    /// The law of `X_T` under the optimal control from `X_0 = start` (horizon `T`): the density
    /// `p(y) φ_T(y − start)/φ_T(y) / h(start, 0)`, each component tilted by `exp(start·y/T)`,
    /// so means `m_k + s_k² start/T` and weights `∝ w_k exp(start·m_k/T + Σ_i s_ki² start_i²/(2T²))`.
    /// From `start = 0` it is the mixture itself (the Föllmer process samples `p`).
    pub fn terminal_law(&self, start: &[f64], horizon: f64) -> GaussianMixture {
        let logs: Vec<f64> = (0..self.weights.len())
            .map(|k| {
                self.weights[k].ln()
                    + start
                        .iter()
                        .zip(&self.means[k])
                        .zip(&self.variances[k])
                        .map(|((x, m), s2)| x * m / horizon + s2 * x * x / (2.0 * horizon * horizon))
                        .sum::<f64>()
            })
            .collect();
        let total = log_sum_exp(logs.iter().copied());
        GaussianMixture {
            weights: logs.iter().map(|log| (log - total).exp()).collect(),
            means: self
                .means
                .iter()
                .zip(&self.variances)
                .map(|(m, s)| m.iter().zip(s).zip(start).map(|((m, s2), x)| m + s2 * x / horizon).collect())
                .collect(),
            variances: self.variances.clone(),
        }
    }

    /// The drift written as a score: `∇log p_t(x) + x/t` with `p_t` the Föllmer marginal, `t > 0`.
    /// Equal to the drift of [`Self::cole_hopf`]; computed independently as a check and for the
    /// score view.
    pub fn score_drift(&self, x: &[f64], t: f64, horizon: f64) -> Vec<f64> {
        let marginal = self.follmer_marginal(t, horizon);
        marginal.score(x).iter().zip(x).map(|(s, x)| s + x / t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_bumps() -> GaussianMixture {
        GaussianMixture::new(vec![0.3, 0.7], vec![vec![-1.5], vec![1.5]], vec![vec![0.25], vec![0.36]])
            .unwrap()
    }

    /// `V(x, t)` by quadrature of `−log ∫ φ_τ(y − x) e^{−g(y)} dy` (trapezoid, fine grid).
    fn value_by_quadrature(mixture: &GaussianMixture, x: f64, t: f64, horizon: f64) -> f64 {
        let tau = horizon - t;
        let (lower, upper, count) = (-15.0, 15.0, 60_001);
        let h = (upper - lower) / (count - 1) as f64;
        let mut sum = 0.0;
        for j in 0..count {
            let y = lower + j as f64 * h;
            let kernel = (-(y - x).powi(2) / (2.0 * tau)).exp() / (2.0 * PI * tau).sqrt();
            let weight = if j == 0 || j == count - 1 { 0.5 } else { 1.0 };
            sum += weight * kernel * (-mixture.terminal_cost(&[y], horizon)).exp();
        }
        -(sum * h).ln()
    }

    #[test]
    fn value_matches_quadrature_and_the_t0_formula() {
        let mixture = two_bumps();
        for &t in &[0.0, 0.3, 0.7, 0.95] {
            for &x in &[-3.0, -1.0, 0.0, 0.4, 2.5] {
                let (value, _) = mixture.cole_hopf(&[x], t, 1.0);
                let quadrature = value_by_quadrature(&mixture, x, t, 1.0);
                assert!((value - quadrature).abs() < 1e-9, "t = {t}, x = {x}: {value} vs {quadrature}");
            }
        }
        // t = 0: V = x²/(2T) − log Σ w exp(x m/T + s² x²/(2T²)), here with T = 2.
        let x: f64 = 0.8;
        let explicit = x * x / 4.0
            - (0.3 * (x * -1.5 / 2.0 + 0.25 * x * x / 8.0).exp()
                + 0.7 * (x * 1.5 / 2.0 + 0.36 * x * x / 8.0).exp())
            .ln();
        assert!((mixture.cole_hopf(&[x], 0.0, 2.0).0 - explicit).abs() < 1e-13);
    }

    #[test]
    fn drift_is_minus_the_gradient_and_equals_the_score_form() {
        let mixture = GaussianMixture::new(
            vec![0.5, 0.25, 0.25],
            vec![vec![1.0, 0.0], vec![-0.5, 0.8], vec![-0.5, -0.8]],
            vec![vec![0.1, 0.2], vec![0.15, 0.15], vec![0.3, 0.05]],
        )
        .unwrap();
        let e = 1e-6;
        for &t in &[0.0, 0.2, 0.5, 0.9, 1.0] {
            for x in [[0.3, -0.2], [-1.0, 1.2], [2.0, 0.5]] {
                let (_, drift) = mixture.cole_hopf(&x, t, 1.0);
                for i in 0..2 {
                    let (mut up, mut down) = (x, x);
                    up[i] += e;
                    down[i] -= e;
                    // At t = T use the one-sided rule inside [0, T].
                    let derivative =
                        (mixture.cole_hopf(&up, t, 1.0).0 - mixture.cole_hopf(&down, t, 1.0).0) / (2.0 * e);
                    assert!(
                        (drift[i] + derivative).abs() < 1e-6,
                        "t = {t} x = {x:?}: {} vs {}",
                        drift[i],
                        -derivative
                    );
                }
                if t > 0.0 {
                    let score = mixture.score_drift(&x, t, 1.0);
                    for i in 0..2 {
                        assert!((score[i] - drift[i]).abs() < 1e-9, "t = {t}: {score:?} vs {drift:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn value_is_continuous_at_the_horizon() {
        let mixture = two_bumps();
        for &x in &[-2.0, 0.0, 1.0] {
            let near = mixture.cole_hopf(&[x], 1.0 - 1e-9, 1.0).0;
            let at = mixture.cole_hopf(&[x], 1.0, 1.0).0;
            assert!((near - at).abs() < 1e-6, "{near} vs {at}");
        }
    }

    #[test]
    fn moments_and_cdf() {
        let mixture = two_bumps();
        let mean = 0.3 * -1.5 + 0.7 * 1.5;
        assert!((mixture.mean()[0] - mean).abs() < 1e-15);
        let second = 0.3 * (0.25 + 2.25) + 0.7 * (0.36 + 2.25);
        assert!((mixture.covariance()[0][0] - (second - mean * mean)).abs() < 1e-14);
        assert!(
            mixture.marginal_cdf(0, -50.0) < 1e-300 && (mixture.marginal_cdf(0, 50.0) - 1.0).abs() < 1e-15
        );
        // Between the bumps the CDF is the weight on the left one, nearly.
        assert!((mixture.marginal_cdf(0, 0.0) - 0.3).abs() < 0.02);
        // Φ against known values.
        assert!((normal_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
        assert!((normal_cdf(-3.0) - 1.349_898_031_630_094_6e-3).abs() < 1e-17);
        assert!((normal_cdf(-10.0) - 7.619_853_024_160_527e-24).abs() < 1e-36);
    }

    #[test]
    fn follmer_marginal_ends_at_the_mixture_and_is_brownian_early() {
        let mixture = two_bumps();
        assert_eq!(mixture.follmer_marginal(1.0, 1.0), mixture);
        let early = mixture.follmer_marginal(1e-6, 1.0);
        assert!((early.covariance()[0][0] - 1e-6).abs() < 1e-10);
    }

    #[test]
    fn terminal_law_is_the_tilted_mixture() {
        let mixture = two_bumps();
        assert_eq!(mixture.terminal_law(&[0.0], 1.0).weights(), mixture.weights());
        let (start, horizon) = (0.7, 1.3);
        let law = mixture.terminal_law(&[start], horizon);
        let h = (-mixture.cole_hopf(&[start], 0.0, horizon).0).exp();
        for &y in &[-2.0, -0.3, 0.5, 1.9] {
            let phi = |z: f64| (-z * z / (2.0 * horizon)).exp() / (2.0 * PI * horizon).sqrt();
            let expected = mixture.log_density(&[y]).exp() * phi(y - start) / phi(y) / h;
            let density = law.log_density(&[y]).exp();
            assert!((density - expected).abs() < 1e-12 * expected.max(1.0), "{density} vs {expected}");
        }
    }

    #[test]
    fn refuses_bad_mixtures() {
        let bad =
            |w: Vec<f64>, m: Vec<Vec<f64>>, s: Vec<Vec<f64>>| GaussianMixture::new(w, m, s).unwrap_err();
        assert!(bad(vec![0.5, 0.6], vec![vec![0.0], vec![1.0]], vec![vec![1.0], vec![1.0]])
            .contains("sum to 1.1"));
        assert!(bad(vec![1.0], vec![vec![0.0]], vec![vec![0.0]]).contains("not positive"));
        assert!(bad(vec![1.0], vec![vec![0.0]], vec![vec![-1.0]]).contains("not positive"));
        assert!(bad(vec![1.0], vec![vec![0.0, 1.0]], vec![vec![1.0]]).contains("coordinates"));
        assert!(bad(vec![1.5, -0.5], vec![vec![0.0], vec![1.0]], vec![vec![1.0], vec![1.0]]).contains("≥ 0"));
    }
}
