//! Whether a problem is linearly solvable (Todorov; Kappen's path-integral control): the
//! structure under which `z = e^{−V/λ}` turns the HJB, and the scheme's Bellman equation with a
//! KL control cost, into a linear equation.
//!
//! The conditions, checked numerically at every grid node (at the tabulation time) in this order,
//! each refusal naming the one that failed:
//!
//! 1. no regime switching and no correlated noise (`[diffusion_matrix]`): the passive chain is
//!    the diagonal diffusion's;
//! 2. no explicit dependence on `t` (one passive chain for the whole horizon);
//! 3. no discount (`ρ = 0`): with `γ = e^{−ρΔt} < 1` the backup `z = e^{−qΔt} (P z)^γ` is not
//!    linear in `z`;
//! 4. one control per state that enters the drift with gain one: `f(x, u) = a(x) + u`;
//! 5. a quadratic control cost without cross or linear terms: `ℓ(x, u) = q(x) + ½ Σ_j r_j u_j²`,
//!    `r_j > 0` constant;
//! 6. noise `σ_i` independent of `u`, present on every axis, and compatible with the control
//!    cost: `λ = σ_i² r_i` the same on every axis and at every node (Todorov's `σσᵀ = λR⁻¹`).
//!    `λ` is the temperature: the KL cost of the controlled chain is `λ KL(π ‖ P)`.
//!
//! Control bounds are not conditions: the linear solution is that of the unconstrained control.

use super::Problem;

/// A problem in the linearly solvable class: `dX = (a(x) + u) dt + σ dW`, running cost
/// `q(x) + ½ Σ r_j u_j²`, with `σ_i² r_i = λ` on every axis.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearlySolvable {
    /// The temperature `λ = σ_i² r_i`.
    pub temperature: f64,
    /// The control weights `r_j`.
    pub control_weights: Vec<f64>,
}

/// Relative tolerance of the numerical probes (the formulas are evaluated in f64).
const TOLERANCE: f64 = 1e-9;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * (1.0 + a.abs().max(b.abs()))
}

/// Check the conditions of the module docs; the error says which one failed (and where).
pub fn linearly_solvable(problem: &Problem) -> Result<LinearlySolvable, String> {
    let n = problem.grid.dimension();
    let m = problem.controls.len();
    if problem.game.is_some() || problem.reachability.is_some() {
        return Err("a differential game or reachability problem: the linearly solvable MDP has one \
                    player minimising a KL-regularised cost"
            .into());
    }
    if problem.switching.is_some() {
        return Err("the problem switches regimes: the jumps are not controlled, so no KL-control \
                    chain has this HJB as its limit"
            .into());
    }
    if problem.diffusion_matrix.is_some() {
        return Err("correlated noise ([diffusion_matrix]): this build checks the condition \
                    λ = σ_i² r_i axis by axis only"
            .into());
    }
    if problem.is_time_dependent() {
        return Err("the coefficients depend on t: one passive chain per step is not built here".into());
    }
    if problem.discount != 0.0 {
        return Err(format!(
            "the discount ρ = {} > 0: the backup z = e^(−qΔt)·(P z)^γ with γ = e^(−ρΔt) < 1 is not linear in z",
            problem.discount
        ));
    }
    if m != n {
        return Err(format!(
            "{m} controls for {n} states: the drift must be f(x, u) = a(x) + u, one control per state"
        ));
    }
    let coordinates = problem.grid.coordinate_columns();
    let t = problem.tabulation_time();
    let zeros = vec![0.0; m];
    let at = |formula, controls: &[f64]| problem.tabulate(formula, &coordinates, controls, t);
    let unit = |j: usize, scale: f64| -> Vec<f64> {
        let mut u = zeros.clone();
        u[j] = scale;
        u
    };
    // Probes: each control alone at +1 and −3, and all at once at 1, 2, …
    let mut probes: Vec<Vec<f64>> = (0..m).flat_map(|j| [unit(j, 1.0), unit(j, -3.0)]).collect();
    probes.push((0..m).map(|j| 1.0 + j as f64).collect());
    let states = problem.state_names();
    let controls = problem.control_names();

    // 4. f(x, u) − f(x, 0) = u.
    for (i, formula) in problem.dynamics.iter().enumerate() {
        let base = at(formula, &zeros);
        for probe in &probes {
            let moved = at(formula, probe);
            if let Some(node) = (0..base.len()).find(|&k| !close(moved[k] - base[k], probe[i])) {
                return Err(format!(
                    "the drift of {} is not a(x) + {} (gain one, no other control): at {:?} with controls \
                     {probe:?} it moves by {} instead of {}",
                    states[i],
                    controls[i],
                    problem.grid.point(node),
                    moved[node] - base[node],
                    probe[i]
                ));
            }
        }
    }

    // 5. ℓ(x, u) − ℓ(x, 0) = ½ Σ r_j u_j².
    let base = at(&problem.running_cost, &zeros);
    let mut weights = Vec::with_capacity(m);
    for j in 0..m {
        let rise = at(&problem.running_cost, &unit(j, 1.0));
        let r = 2.0 * (rise[0] - base[0]);
        if !(r.is_finite() && r > 0.0) {
            return Err(format!(
                "the control cost is not ½ r u² in {} with r > 0 (r = {r} at {:?})",
                controls[j],
                problem.grid.point(0)
            ));
        }
        weights.push(r);
    }
    for probe in &probes {
        let expected: f64 = probe.iter().zip(&weights).map(|(u, r)| 0.5 * r * u * u).sum();
        let cost = at(&problem.running_cost, probe);
        if let Some(node) = (0..base.len()).find(|&k| !close(cost[k] - base[k], expected)) {
            return Err(format!(
                "the control cost is not q(x) + ½ Σ r_j u_j² with constant r = {weights:?}: at {:?} with \
                 controls {probe:?} it rises by {} instead of {expected}",
                problem.grid.point(node),
                cost[node] - base[node]
            ));
        }
    }

    // 6. σ_i independent of u and σ_i² r_i = λ everywhere.
    let Some(noise) = &problem.diffusion else {
        return Err("no noise: λ = σ² r would be 0 (a deterministic problem is not linearly solvable)".into());
    };
    let mut temperature: Option<(f64, usize)> = None;
    for (i, formula) in noise.iter().enumerate() {
        let sigma = at(formula, &zeros);
        for probe in &probes {
            let moved = at(formula, probe);
            if let Some(node) = (0..sigma.len()).find(|&k| !close(moved[k], sigma[k])) {
                return Err(format!(
                    "the noise of {} depends on the controls (at {:?})",
                    states[i],
                    problem.grid.point(node)
                ));
            }
        }
        for (node, s) in sigma.iter().enumerate() {
            let lambda = s * s * weights[i];
            match temperature {
                None if lambda > 0.0 && lambda.is_finite() => temperature = Some((lambda, i)),
                None => {
                    return Err(format!(
                        "the noise of {} is {s} at {:?}: λ = σ² r must be positive",
                        states[i],
                        problem.grid.point(node)
                    ))
                }
                Some((first, axis)) if !close(lambda, first) => {
                    return Err(format!(
                        "λ = σ² r is {lambda} on {} at {:?} but {first} on {}: the noise is not compatible with \
                         the control cost (the condition σ_i² r_i = λ, the same on every axis and at every node)",
                        states[i],
                        problem.grid.point(node),
                        states[axis]
                    ))
                }
                Some(_) => {}
            }
        }
    }
    let (temperature, _) = temperature.ok_or_else(|| "no noise on any axis".to_string())?;
    Ok(LinearlySolvable { temperature, control_weights: weights })
}
