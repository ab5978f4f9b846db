//! Linear–quadratic problems and their exact references (`docs/numerics.md` §7.1).
//!
//! `dx = (Ax + Bu) dt + Σ dW`, cost `∫ e^{−ρt}(xᵀQx + uᵀRu) dt + e^{−ρT} x_Tᵀ S x_T`:
//! `V(x, t) = xᵀP(t)x + c(t)` with, in time-to-go `τ = T − t`,
//!
//! ```text
//! dP/dτ = AᵀP + PA − PBR⁻¹BᵀP + Q − ρP,   P(τ=0) = S,
//! dc/dτ = tr(ΣΣᵀP) − ρc,                   c(τ=0) = 0,      u* = −R⁻¹BᵀP x.
//! ```
//!
//! * [`Lqr::riccati`] integrates this with classical RK4, doubling the step count until two
//!   successive solutions differ by less than 1e-12 (RK4 error ≈ difference/15, so the
//!   tolerance is well under 1e-10).
//! * [`Lqr::algebraic_riccati`] solves the discounted stationary equation (`A → A − ρ/2·I`,
//!   `c = tr(ΣΣᵀP)/ρ`) by Newton–Kleinman on faer dense LU (Lyapunov steps by Kronecker
//!   products; n ≤ 6), started from the long-horizon ODE solution, and returns it only when the
//!   residual `‖AᵀP + PA − PBR⁻¹BᵀP + Q‖_max` is below `1e-9·(1 + ‖P‖_max)`.
//! * [`discrete_lqr_backward`] is the discrete-time LQR recursion (the Bellman recursion in closed
//!   form), `Q_t = C + γ Fᵀ V_{t+1} F`, `q_t = c + γ Fᵀ(V_{t+1} f + v_{t+1})`,
//!   `K_t = −Q_uu⁻¹ Q_ux`, `k_t = −Q_uu⁻¹ q_u`, `V_t = Q_xx + Q_xu K_t + K_tᵀ Q_ux + K_tᵀ Q_uu K_t`,
//!   `v_t = q_x + Q_xu k_t + K_tᵀ q_u + K_tᵀ Q_uu k_t`, for the value `½xᵀV_t x + v_tᵀx + const`.
//!   [`Lqr::euler_stage`] gives the Euler discretisation whose `P = V/2` converges to the
//!   continuous `P(0)` at first order in Δt.

use crate::error::{HjbError, Result};
use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::Mat;

/// A linear–quadratic problem.
#[derive(Debug, Clone)]
pub struct Lqr {
    /// State matrix `A` (n × n) of the drift `Ax + Bu`.
    pub a: Mat<f64>,
    /// Control matrix `B` (n × m) of the drift `Ax + Bu`.
    pub b: Mat<f64>,
    /// State weight `Q` (n × n) of the running cost `xᵀQx + uᵀRu`.
    pub q: Mat<f64>,
    /// Control weight `R` (m × m, symmetric positive definite) of the running cost.
    pub r: Mat<f64>,
    /// Terminal weight `S` (n × n) of the terminal cost `x_Tᵀ S x_T`.
    pub s: Mat<f64>,
    /// Noise matrix Σ (n × k); `None` for deterministic problems.
    pub sigma: Option<Mat<f64>>,
    /// Discount rate `ρ`.
    pub discount: f64,
    /// Horizon `T`; `f64::INFINITY` for the discounted stationary problem.
    pub final_time: f64,
}

/// The Riccati solution on a uniform grid of `τ = T − t` from 0 to T.
#[derive(Debug, Clone)]
pub struct RiccatiPath {
    /// Time-to-go of each entry (`τ_k = k·T/steps`).
    pub time_to_go: Vec<f64>,
    /// `P` of the value `xᵀPx + c` at each entry.
    pub p: Vec<Mat<f64>>,
    /// `c` of the value `xᵀPx + c` at each entry.
    pub c: Vec<f64>,
}

impl RiccatiPath {
    /// `P(t = 0)` (the end of the backward integration).
    pub fn p_at_start(&self) -> &Mat<f64> {
        self.p.last().expect("path is never empty")
    }

    pub(crate) fn c_at_start(&self) -> f64 {
        *self.c.last().expect("path is never empty")
    }
}

fn max_abs(matrix: &Mat<f64>) -> f64 {
    let mut largest = 0.0f64;
    for j in 0..matrix.ncols() {
        for i in 0..matrix.nrows() {
            largest = largest.max(matrix[(i, j)].abs());
        }
    }
    largest
}

fn trace(matrix: &Mat<f64>) -> f64 {
    (0..matrix.nrows()).map(|i| matrix[(i, i)]).sum()
}

impl Lqr {
    /// The LQ problem `dx = (Ax + Bu) dt`, cost `∫ e^{−ρt}(xᵀQx + uᵀRu) dt + x_Tᵀ S x_T`, from
    /// matrices given by rows; checked like the file's `[lqr]` table.
    pub fn from_rows(
        a: &[Vec<f64>],
        b: &[Vec<f64>],
        q: &[Vec<f64>],
        r: &[Vec<f64>],
        s: &[Vec<f64>],
        discount: f64,
        final_time: f64,
    ) -> Result<Lqr> {
        for (name, rows) in [("A", a), ("B", b), ("Q", q), ("R", r), ("S", s)] {
            if rows.iter().any(|row| row.len() != rows[0].len()) {
                return Err(HjbError::InvalidProblem {
                    field: format!("lqr.{name}"),
                    message: "rows of different lengths".to_string(),
                });
            }
        }
        let lqr = Lqr {
            a: matrix_from_rows(a),
            b: matrix_from_rows(b),
            q: matrix_from_rows(q),
            r: matrix_from_rows(r),
            s: matrix_from_rows(s),
            sigma: None,
            discount,
            final_time,
        };
        lqr.validate()?;
        Ok(lqr)
    }

    pub(crate) fn state_dimension(&self) -> usize {
        self.a.nrows()
    }

    pub(crate) fn control_dimension(&self) -> usize {
        self.b.ncols()
    }

    /// Check shapes and that R is symmetric positive definite.
    pub fn validate(&self) -> Result<()> {
        let n = self.a.nrows();
        let m = self.b.ncols();
        let shape_error = |name: &str, expected: String| {
            Err(HjbError::InvalidProblem {
                field: format!("lqr.{name}"),
                message: format!("must be {expected}"),
            })
        };
        if self.a.ncols() != n {
            return shape_error("A", format!("square, found {}×{}", n, self.a.ncols()));
        }
        if self.b.nrows() != n {
            return shape_error("B", format!("{n}×m, found {}×{}", self.b.nrows(), m));
        }
        for (name, matrix, size) in [("Q", &self.q, n), ("R", &self.r, m), ("S", &self.s, n)] {
            if matrix.nrows() != size || matrix.ncols() != size {
                return shape_error(
                    name,
                    format!("{size}×{size}, found {}×{}", matrix.nrows(), matrix.ncols()),
                );
            }
        }
        if let Some(sigma) = &self.sigma {
            if sigma.nrows() != n {
                return shape_error("Sigma", format!("{n}×k, found {}×{}", sigma.nrows(), sigma.ncols()));
            }
        }
        if self.r.llt(faer::Side::Lower).is_err() {
            return Err(HjbError::InvalidProblem {
                field: "lqr.R".to_string(),
                message: "R must be symmetric positive definite".to_string(),
            });
        }
        Ok(())
    }

    /// `B R⁻¹ Bᵀ`.
    fn control_weight(&self) -> Mat<f64> {
        let r_inverse = self.r.partial_piv_lu().inverse();
        &self.b * &r_inverse * self.b.transpose()
    }

    /// `ΣΣᵀ`, or zero.
    fn noise_covariance(&self) -> Mat<f64> {
        match &self.sigma {
            Some(sigma) => sigma * sigma.transpose(),
            None => Mat::zeros(self.a.nrows(), self.a.nrows()),
        }
    }

    fn riccati_rate(
        &self,
        p: &Mat<f64>,
        c: f64,
        weight: &Mat<f64>,
        covariance: &Mat<f64>,
    ) -> (Mat<f64>, f64) {
        let at_p = self.a.transpose() * p;
        let rate = &at_p + at_p.transpose() - p * weight * p + &self.q - p * faer::Scale(self.discount);
        let c_rate = trace(&(covariance * p)) - self.discount * c;
        (rate, c_rate)
    }

    fn riccati_with_steps(&self, steps: usize) -> RiccatiPath {
        let weight = self.control_weight();
        let covariance = self.noise_covariance();
        let step = self.final_time / steps as f64;
        let mut p = self.s.clone();
        let mut c = 0.0;
        let mut path = RiccatiPath { time_to_go: vec![0.0], p: vec![p.clone()], c: vec![c] };
        for k in 0..steps {
            let (k1, l1) = self.riccati_rate(&p, c, &weight, &covariance);
            let p2 = &p + &k1 * faer::Scale(step / 2.0);
            let (k2, l2) = self.riccati_rate(&p2, c + step / 2.0 * l1, &weight, &covariance);
            let p3 = &p + &k2 * faer::Scale(step / 2.0);
            let (k3, l3) = self.riccati_rate(&p3, c + step / 2.0 * l2, &weight, &covariance);
            let p4 = &p + &k3 * faer::Scale(step);
            let (k4, l4) = self.riccati_rate(&p4, c + step * l3, &weight, &covariance);
            p = &p + (&k1 + &k2 * faer::Scale(2.0) + &k3 * faer::Scale(2.0) + &k4) * faer::Scale(step / 6.0);
            c += step / 6.0 * (l1 + 2.0 * l2 + 2.0 * l3 + l4);
            path.time_to_go.push((k + 1) as f64 * step);
            path.p.push(p.clone());
            path.c.push(c);
        }
        path
    }

    /// Finite-horizon Riccati solution `P(t), c(t)` (see the module docs for the tolerance).
    pub fn riccati(&self) -> Result<RiccatiPath> {
        self.validate()?;
        if !(self.final_time.is_finite() && self.final_time > 0.0) {
            return Err(HjbError::Numerical(
                "the finite-horizon Riccati equation needs a final time T > 0".to_string(),
            ));
        }
        let mut steps = 64usize;
        let mut previous = self.riccati_with_steps(steps);
        while steps < 1 << 22 {
            steps *= 2;
            let current = self.riccati_with_steps(steps);
            let difference = max_abs(&(current.p_at_start() - previous.p_at_start()))
                .max((current.c_at_start() - previous.c_at_start()).abs());
            let scale = 1.0 + max_abs(current.p_at_start()) + current.c_at_start().abs();
            if !difference.is_finite() {
                break;
            }
            if difference <= 1e-12 * scale {
                return Ok(current);
            }
            previous = current;
        }
        Err(HjbError::Numerical(
            "the Riccati ODE did not converge to 1e-10 (finite escape or a stiff problem?)".to_string(),
        ))
    }

    /// `(P(0), c(0))` of the value `V(x, 0) = xᵀP(0)x + c(0)`; for an infinite horizon
    /// (`final_time = ∞`) the discounted stationary solution.
    pub fn value_coefficients_at_start(&self) -> Result<(Mat<f64>, f64)> {
        if self.final_time.is_infinite() {
            return self.algebraic_riccati();
        }
        let path = self.riccati()?;
        Ok((path.p_at_start().clone(), path.c_at_start()))
    }

    /// Largest `|(R⁻¹BᵀP(t)x)_j|` over `t ∈ [0, T]` and the box corners: the control range the
    /// unconstrained optimal feedback uses on the box.
    pub fn largest_optimal_controls(&self, lower: &[f64], upper: &[f64]) -> Result<Vec<f64>> {
        let path = if self.final_time.is_infinite() {
            let (p, c) = self.algebraic_riccati()?;
            RiccatiPath { time_to_go: vec![0.0], p: vec![p], c: vec![c] }
        } else {
            self.riccati()?
        };
        let r_inverse = self.r.partial_piv_lu().inverse();
        let n = self.state_dimension();
        let m = self.control_dimension();
        let mut largest = vec![0.0f64; m];
        let stride = (path.p.len() / 256).max(1);
        for p in path.p.iter().step_by(stride).chain(std::iter::once(path.p_at_start())) {
            let gain = &r_inverse * self.b.transpose() * p;
            for (j, entry) in largest.iter_mut().enumerate() {
                // max over the box of |Σ_i gain_ji x_i| is attained at a corner.
                let extreme: f64 = (0..n)
                    .map(|i| (gain[(j, i)] * lower[i]).abs().max((gain[(j, i)] * upper[i]).abs()))
                    .sum();
                *entry = entry.max(extreme);
            }
        }
        Ok(largest)
    }

    /// Discounted stationary solution `(P, c)` with residual check (see module docs).
    pub fn algebraic_riccati(&self) -> Result<(Mat<f64>, f64)> {
        self.validate()?;
        if self.discount <= 0.0 && self.sigma.is_some() {
            return Err(HjbError::Numerical(
                "the stationary stochastic LQR needs a discount ρ > 0 (c = tr(ΣΣᵀP)/ρ)".to_string(),
            ));
        }
        let n = self.state_dimension();
        let weight = self.control_weight();
        let shifted = &self.a - Mat::<f64>::identity(n, n) * faer::Scale(self.discount / 2.0);
        // Initial guess: march the (undiscounted, shifted) Riccati ODE to steady state.
        let mut p = self.q.clone();
        let step = 1e-3;
        let rate = |p: &Mat<f64>| {
            let at_p = shifted.transpose() * p;
            &at_p + at_p.transpose() - p * &weight * p + &self.q
        };
        let mut converged = false;
        for _ in 0..2_000_000 {
            let k1 = rate(&p);
            let k2 = rate(&(&p + &k1 * faer::Scale(step / 2.0)));
            let k3 = rate(&(&p + &k2 * faer::Scale(step / 2.0)));
            let k4 = rate(&(&p + &k3 * faer::Scale(step)));
            p = &p + (&k1 + &k2 * faer::Scale(2.0) + &k3 * faer::Scale(2.0) + &k4) * faer::Scale(step / 6.0);
            let size = max_abs(&k1);
            if !size.is_finite() {
                break;
            }
            if size < 1e-6 * (1.0 + max_abs(&p)) {
                converged = true;
                break;
            }
        }
        if !converged {
            return Err(HjbError::Numerical(
                "the Riccati flow did not reach a steady state; is (A − ρ/2·I, B) stabilisable?".to_string(),
            ));
        }
        // Newton–Kleinman polish.
        for _ in 0..50 {
            let gain = self.r.partial_piv_lu().solve(self.b.transpose() * &p);
            let closed_loop = &shifted - &self.b * &gain;
            let right = &self.q + gain.transpose() * &self.r * &gain;
            let next = solve_lyapunov(&closed_loop, &right)?;
            let change = max_abs(&(&next - &p));
            p = next;
            if change <= 1e-14 * (1.0 + max_abs(&p)) {
                break;
            }
        }
        let residual = max_abs(&rate(&p));
        if !(residual <= 1e-9 * (1.0 + max_abs(&p))) {
            return Err(HjbError::Numerical(format!(
                "algebraic Riccati residual {residual:e} is above 1e-9·(1 + ‖P‖)"
            )));
        }
        let c =
            if self.sigma.is_some() { trace(&(self.noise_covariance() * &p)) / self.discount } else { 0.0 };
        Ok((p, c))
    }

    /// Residual `AᵀP + PA − PBR⁻¹BᵀP + Q` of the shifted algebraic equation.
    pub fn algebraic_residual(&self, p: &Mat<f64>) -> f64 {
        let n = self.state_dimension();
        let shifted = &self.a - Mat::<f64>::identity(n, n) * faer::Scale(self.discount / 2.0);
        let at_p = shifted.transpose() * p;
        max_abs(&(&at_p + at_p.transpose() - p * self.control_weight() * p + &self.q))
    }

    /// Euler discretisation with step Δt as a discrete LQR stage: `x' = (I + AΔt)x + BΔt u`,
    /// stage cost `Δt(xᵀQx + uᵀRu) = ½ zᵀ C z` with `z = [x; u]`, `C = 2Δt·diag(Q, R)`.
    pub fn euler_stage(&self, time_step: f64) -> DiscreteLqrStage {
        let n = self.state_dimension();
        let m = self.control_dimension();
        let dynamics = Mat::from_fn(n, n + m, |i, j| {
            if j < n {
                f64::from(u8::from(i == j)) + time_step * self.a[(i, j)]
            } else {
                time_step * self.b[(i, j - n)]
            }
        });
        let cost_hessian = Mat::from_fn(n + m, n + m, |i, j| {
            if i < n && j < n {
                2.0 * time_step * self.q[(i, j)]
            } else if i >= n && j >= n {
                2.0 * time_step * self.r[(i - n, j - n)]
            } else {
                0.0
            }
        });
        DiscreteLqrStage {
            dynamics,
            offset: Mat::zeros(n, 1),
            cost_hessian,
            cost_gradient: Mat::zeros(n + m, 1),
            discount: (-self.discount * time_step).exp(),
        }
    }
}

/// Solve `Aᵀ X + X A = −C` by the Kronecker form (small n).
fn solve_lyapunov(a: &Mat<f64>, c: &Mat<f64>) -> Result<Mat<f64>> {
    let n = a.nrows();
    // vec(AᵀX + XA) = (I ⊗ Aᵀ + Aᵀ ⊗ I) vec(X), column-major vec.
    let system = Mat::from_fn(n * n, n * n, |row, column| {
        let (i, j) = (row % n, row / n);
        let (k, l) = (column % n, column / n);
        let mut value = 0.0;
        if j == l {
            value += a[(k, i)];
        }
        if i == k {
            value += a[(l, j)];
        }
        value
    });
    let right = Mat::from_fn(n * n, 1, |row, _| -c[(row % n, row / n)]);
    let solution = system.partial_piv_lu().solve(&right);
    let x = Mat::from_fn(n, n, |i, j| 0.5 * (solution[(i + j * n, 0)] + solution[(j + i * n, 0)]));
    if !max_abs(&x).is_finite() {
        return Err(HjbError::Numerical("singular Lyapunov equation in Newton–Kleinman".into()));
    }
    Ok(x)
}

/// One stage of a discrete-time LQ problem in `z = [x; u]`:
/// `x' = F z + f`, stage cost `½ zᵀCz + cᵀz`, future discounted by `discount`.
#[derive(Debug, Clone)]
pub struct DiscreteLqrStage {
    /// `F` (n × (n + m)) of the dynamics `x' = F z + f`.
    pub dynamics: Mat<f64>,
    /// `f` (n × 1) of the dynamics `x' = F z + f`.
    pub offset: Mat<f64>,
    /// `C` ((n + m) × (n + m)) of the stage cost `½ zᵀCz + cᵀz`.
    pub cost_hessian: Mat<f64>,
    /// `c` ((n + m) × 1) of the stage cost `½ zᵀCz + cᵀz`.
    pub cost_gradient: Mat<f64>,
    /// Discount factor `γ` of the next stage's value.
    pub discount: f64,
}

/// The backward recursion's output; index `t` runs from 0 (start) to `steps` (terminal).
#[derive(Debug, Clone)]
pub struct DiscreteLqrSolution {
    /// `V_t` of the value `½xᵀV_t x + v_tᵀx + const`.
    pub value_hessians: Vec<Mat<f64>>,
    /// `v_t` of the value `½xᵀV_t x + v_tᵀx + const`.
    pub value_gradients: Vec<Mat<f64>>,
    /// Feedback `u = K_t x + k_t`.
    pub gains: Vec<Mat<f64>>,
    /// Feedforward `k_t` of the feedback `u = K_t x + k_t`.
    pub feedforwards: Vec<Mat<f64>>,
}

/// The discrete-time LQR backward recursion (module docs) over `steps` identical stages.
pub fn discrete_lqr_backward(
    stage: &DiscreteLqrStage,
    terminal_hessian: &Mat<f64>,
    terminal_gradient: &Mat<f64>,
    steps: usize,
) -> Result<DiscreteLqrSolution> {
    let n = stage.dynamics.nrows();
    let m = stage.dynamics.ncols() - n;
    let mut value_hessian = terminal_hessian.clone();
    let mut value_gradient = terminal_gradient.clone();
    let mut solution = DiscreteLqrSolution {
        value_hessians: vec![value_hessian.clone()],
        value_gradients: vec![value_gradient.clone()],
        gains: Vec::new(),
        feedforwards: Vec::new(),
    };
    let f = &stage.dynamics;
    let gamma = faer::Scale(stage.discount);
    for _ in 0..steps {
        let big_q = &stage.cost_hessian + f.transpose() * &value_hessian * f * gamma;
        let small_q =
            &stage.cost_gradient + f.transpose() * (&value_hessian * &stage.offset + &value_gradient) * gamma;
        let q_xx = big_q.submatrix(0, 0, n, n).to_owned();
        let q_xu = big_q.submatrix(0, n, n, m).to_owned();
        let q_ux = big_q.submatrix(n, 0, m, n).to_owned();
        let q_uu = big_q.submatrix(n, n, m, m).to_owned();
        let q_x = small_q.submatrix(0, 0, n, 1).to_owned();
        let q_u = small_q.submatrix(n, 0, m, 1).to_owned();
        if q_uu.llt(faer::Side::Lower).is_err() {
            return Err(HjbError::Numerical(
                "Q_uu is not positive definite in the discrete LQR recursion".to_string(),
            ));
        }
        let lu = q_uu.partial_piv_lu();
        let gain = -lu.solve(&q_ux);
        let feedforward = -lu.solve(&q_u);
        let next_hessian =
            &q_xx + &q_xu * &gain + gain.transpose() * &q_ux + gain.transpose() * &q_uu * &gain;
        let next_gradient =
            &q_x + &q_xu * &feedforward + gain.transpose() * &q_u + gain.transpose() * &q_uu * &feedforward;
        value_hessian = (&next_hessian + next_hessian.transpose()) * faer::Scale(0.5);
        value_gradient = next_gradient;
        solution.value_hessians.push(value_hessian.clone());
        solution.value_gradients.push(value_gradient.clone());
        solution.gains.push(gain);
        solution.feedforwards.push(feedforward);
    }
    solution.value_hessians.reverse();
    solution.value_gradients.reverse();
    solution.gains.reverse();
    solution.feedforwards.reverse();
    Ok(solution)
}

/// Parse a matrix given as rows (for problem files and tests).
pub fn matrix_from_rows(rows: &[Vec<f64>]) -> Mat<f64> {
    let columns = rows.first().map_or(0, Vec::len);
    Mat::from_fn(rows.len(), columns, |i, j| rows[i][j])
}

/// Recognise a linear–quadratic problem written as formulas and extract its matrices.
///
/// Structural check first (degree ≤ 1 of every drift and ≤ 2 of the costs in the states and
/// controls jointly, no `t`), then the coefficients by exact finite differences of those
/// polynomials at unit vectors; constant, linear and state–control cross terms are refused.
pub fn from_formulas(problem: &super::Problem) -> std::result::Result<Lqr, String> {
    let n = problem.grid.dimension();
    let m = problem.controls.len();
    let variable_count = n + m + 1;
    let mut selected = vec![true; variable_count];
    selected[n + m] = false;
    let time = problem.time_variable();
    let all = problem.dynamics.iter().chain([&problem.running_cost, &problem.terminal_cost]);
    if all.clone().any(|formula| formula.uses()[time]) {
        return Err("a formula depends on t".to_string());
    }
    for (i, formula) in problem.dynamics.iter().enumerate() {
        if !matches!(formula.degree_in(&selected), Some(0 | 1)) {
            return Err(format!("the drift of state {} is not linear", i + 1));
        }
    }
    for (name, formula) in [("running", &problem.running_cost), ("terminal", &problem.terminal_cost)] {
        if !matches!(formula.degree_in(&selected), Some(0..=2)) {
            return Err(format!("the {name} cost is not quadratic"));
        }
    }
    let size = n + m;
    let point = |entries: &[(usize, f64)]| {
        let mut values = vec![0.0; variable_count];
        for (index, value) in entries {
            values[*index] += value;
        }
        values
    };
    let origin = point(&[]);
    let mut a = Mat::zeros(n, n);
    let mut b = Mat::zeros(n, m);
    for (i, formula) in problem.dynamics.iter().enumerate() {
        let base = formula.evaluate(&origin);
        if base.abs() > 1e-12 {
            return Err(format!("the drift of state {} has a constant term {base}", i + 1));
        }
        for k in 0..size {
            let slope = formula.evaluate(&point(&[(k, 1.0)])) - base;
            if k < n {
                a[(i, k)] = slope;
            } else {
                b[(i, k - n)] = slope;
            }
        }
    }
    let hessian = |formula: &super::PointFunction, dimension: usize| {
        let base = formula.evaluate(&origin);
        let mut matrix = Mat::zeros(dimension, dimension);
        for k in 0..dimension {
            let plus = formula.evaluate(&point(&[(k, 1.0)]));
            let minus = formula.evaluate(&point(&[(k, -1.0)]));
            if (plus - minus).abs() > 1e-12 * (1.0 + plus.abs()) || base.abs() > 1e-12 {
                return Err("cost with constant or linear terms".to_string());
            }
            matrix[(k, k)] = (plus + minus - 2.0 * base) / 2.0;
        }
        for k in 0..dimension {
            for l in 0..dimension {
                if k != l {
                    let both = formula.evaluate(&point(&[(k, 1.0), (l, 1.0)]));
                    let single_k = formula.evaluate(&point(&[(k, 1.0)]));
                    let single_l = formula.evaluate(&point(&[(l, 1.0)]));
                    matrix[(k, l)] = (both - single_k - single_l + base) / 2.0;
                }
            }
        }
        Ok(matrix)
    };
    let running = hessian(&problem.running_cost, size)?;
    for i in 0..n {
        for j in 0..m {
            if running[(i, n + j)].abs() > 1e-12 {
                return Err("state–control cross terms in the running cost".to_string());
            }
        }
    }
    let q = running.submatrix(0, 0, n, n).to_owned();
    let r = running.submatrix(n, n, m, m).to_owned();
    let s = hessian(&problem.terminal_cost, n)?;
    let constant = |formula: &super::PointFunction, what: String| {
        formula
            .constant_value()
            .ok_or_else(|| format!("the noise {what} is not constant (multiplicative noise)"))
    };
    let sigma = match &problem.diffusion {
        None if problem.diffusion_matrix.is_some() => {
            let rows = problem.diffusion_matrix.as_ref().expect("checked");
            let mut sigma = Mat::zeros(n, rows[0].len());
            for (i, row) in rows.iter().enumerate() {
                for (k, formula) in row.iter().enumerate() {
                    sigma[(i, k)] = constant(formula, format!("σ[{i}][{k}]"))?;
                }
            }
            Some(sigma)
        }
        None => None,
        Some(formulas) => {
            let mut sigma = Mat::zeros(n, n);
            for (i, formula) in formulas.iter().enumerate() {
                sigma[(i, i)] = formula.constant_value().ok_or_else(|| {
                    format!("the noise of state {} is not constant (multiplicative noise)", i + 1)
                })?;
            }
            Some(sigma)
        }
    };
    let lqr = Lqr { a, b, q, r, s, sigma, discount: problem.discount, final_time: problem.final_time };
    lqr.validate().map_err(|error| error.to_string())?;
    Ok(lqr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(value: f64) -> Mat<f64> {
        Mat::from_fn(1, 1, |_, _| value)
    }

    #[test]
    fn scalar_riccati_matches_closed_form() {
        // dP/dτ = 2aP − P² + q, P(0) = 0: P(τ) = (λ tanh(λτ)) ... compare with the steady
        // state on a long horizon and with the explicit solution on a short one.
        let a = 0.5;
        let lqr = Lqr {
            a: scalar(a),
            b: scalar(1.0),
            q: scalar(1.0),
            r: scalar(1.0),
            s: scalar(0.0),
            sigma: None,
            discount: 0.0,
            final_time: 1.0,
        };
        let (p, _) = lqr.value_coefficients_at_start().unwrap();
        // Solution of P' = −(P − p₊)(P − p₋) with p± = a ± √(a²+1), P(0) = 0.
        let root = (a * a + 1.0f64).sqrt();
        let (plus, minus) = (a + root, a - root);
        let ratio = ((plus - minus) * 1.0).exp();
        let exact = plus * minus * (ratio - 1.0) / (minus * ratio - plus);
        assert!((p[(0, 0)] - exact).abs() < 1e-10, "{} vs {exact}", p[(0, 0)]);
    }

    #[test]
    fn algebraic_riccati_residual_and_scalar_root() {
        let lqr = Lqr {
            a: matrix_from_rows(&[vec![0.0, 1.0], vec![0.0, 0.0]]),
            b: matrix_from_rows(&[vec![0.0], vec![1.0]]),
            q: Mat::identity(2, 2),
            r: scalar(1.0),
            s: Mat::identity(2, 2),
            sigma: Some(matrix_from_rows(&[vec![0.0], vec![0.3]])),
            discount: 0.1,
            final_time: 1.0,
        };
        let (p, c) = lqr.algebraic_riccati().unwrap();
        assert!(lqr.algebraic_residual(&p) < 1e-12);
        assert!((c - 0.09 * p[(1, 1)] / 0.1).abs() < 1e-12);
        // Scalar discounted case: 2(a − ρ/2)P − P² + 1 = 0.
        let scalar_problem = Lqr {
            a: scalar(0.5),
            b: scalar(1.0),
            q: scalar(1.0),
            r: scalar(1.0),
            s: scalar(0.0),
            sigma: None,
            discount: 0.1,
            final_time: 1.0,
        };
        let (p, _) = scalar_problem.algebraic_riccati().unwrap();
        let shifted = 0.5 - 0.05;
        let exact = shifted + (shifted * shifted + 1.0f64).sqrt();
        assert!((p[(0, 0)] - exact).abs() < 1e-12);
    }
}
