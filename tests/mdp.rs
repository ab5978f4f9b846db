//! The MDP bridge: identities between the PDE steppers and the Bellman backup of their Markov
//! chain, agreement of the MDP solvers within their bounds, convergence to Riccati, bad input.

mod common;

use hjb::mdp::{build, solve, Chain, Method, SolveOptions};
use hjb::settings::Characteristic;
use hjb::{parse_problem, Problem, ProblemFile, Settings, Silent, Stepping};

/// The shipped MDP example file at another sample count.
fn discounted_file(samples: usize) -> ProblemFile {
    let path = common::repository_path("problems/lqr_1d_discounted.toml");
    let text =
        std::fs::read_to_string(&path).unwrap().replace("samples = 41", &format!("samples = {samples}"));
    parse_problem(&text, &path).unwrap()
}

/// The shipped MDP example at another grid / step / sample count, with its file's settings.
fn discounted(points: usize, samples: usize) -> (Problem, Settings) {
    let file = discounted_file(samples);
    let settings = file.settings().unwrap();
    (file.problem.with_points(&[points]).unwrap(), settings)
}

/// The foot rule and refinement of semi-Lagrangian settings.
fn semi_lagrangian(settings: &Settings) -> (Characteristic, bool) {
    match settings.stepping {
        Stepping::SemiLagrangian { characteristic, refine, .. } => (characteristic, refine),
        other => panic!("not semi-Lagrangian stepping: {other:?}"),
    }
}

fn interior(problem: &Problem, half_width: f64) -> Vec<usize> {
    (0..problem.grid.node_count()).filter(|node| problem.grid.point(*node)[0].abs() <= half_width).collect()
}

#[test]
fn one_explicit_upwind_step_is_one_value_iteration_backup() {
    // Sampled Hamiltonian (the MDP's actions are the samples), a step under the CFL bound.
    let file = discounted_file(41);
    let mut options = common::with_scheme(&file.solver, "upwind");
    options.time_step = None;
    options.force_sampled = true;
    let settings = common::settings(&options);
    let characteristic = file.solver.characteristic.unwrap_or(Characteristic::Euler);
    let problem = file.problem.with_points(&[201]).unwrap();
    let preparation = hjb::solver::prepare(&problem, &settings).unwrap();
    let plan = &preparation.plan;
    let mdp = build(&problem, Chain::Upwind, plan.time_step, characteristic).unwrap();
    let start: Vec<f64> =
        (0..problem.grid.node_count()).map(|x| (3.0 * problem.grid.point(x)[0]).sin()).collect();
    let stepper =
        hjb::time::ExplicitStepper::new(&problem, settings.differencing, &preparation.model, plan.time_step);
    let mut stepped = vec![0.0; start.len()];
    let mut controls = vec![0.0; start.len()];
    stepper.step(&preparation.table, &start, &mut stepped, &mut controls, None);
    let mut backed_up = vec![0.0; start.len()];
    let mut policy = vec![0; start.len()];
    mdp.backup(&start, &mut backed_up, &mut policy);
    // Away from the two end nodes (extrapolated ghost in the PDE, state constraint in the MDP).
    let largest = (1..start.len() - 1).map(|x| (stepped[x] - backed_up[x]).abs()).fold(0.0, f64::max);
    assert!(largest < 1e-13, "explicit step vs backup: {largest:e}");
}

#[test]
fn one_semi_lagrangian_step_is_one_backup_of_its_chain() {
    let (problem, settings) = discounted(401, 41);
    let (characteristic, refine) = semi_lagrangian(&settings);
    let preparation = hjb::solver::prepare(&problem, &settings).unwrap();
    let mdp = build(&problem, Chain::SemiLagrangian, 0.05, characteristic).unwrap();
    let start: Vec<f64> = (0..problem.grid.node_count()).map(|x| problem.grid.point(x)[0].powi(2)).collect();
    let mut stepper = hjb::time::SemiLagrangianStepper::new(
        &problem,
        &preparation.model,
        &preparation.table,
        0.05,
        preparation.plan.time_step_max,
        characteristic,
        refine,
    )
    .unwrap();
    let mut stepped = vec![0.0; start.len()];
    let mut controls = vec![0.0; start.len()];
    stepper.step(&preparation.table, 0.0, &start, &mut stepped, &mut controls, None);
    let mut backed_up = vec![0.0; start.len()];
    let mut policy = vec![0; start.len()];
    mdp.backup(&start, &mut backed_up, &mut policy);
    // Feet of all actions stay inside for |x| ≤ 1.7 (|f| ≤ 0.5·2 + 4, Δt = 0.05).
    let largest =
        interior(&problem, 1.7).iter().map(|x| (stepped[*x] - backed_up[*x]).abs()).fold(0.0, f64::max);
    assert!(largest < 1e-13, "semi-Lagrangian step vs backup: {largest:e}");
}

#[test]
fn the_solvers_agree_within_their_bounds_and_with_the_stationary_pde_solution() {
    let (problem, settings) = discounted(1001, 41);
    let (characteristic, _) = semi_lagrangian(&settings);
    let mdp = build(&problem, Chain::SemiLagrangian, 0.05, characteristic).unwrap();
    let options = SolveOptions::default();
    let pi = solve(&mdp, Method::PolicyIteration, &options).unwrap();
    let pde = hjb::solve(&problem, &settings, &mut Silent).unwrap();
    for method in [Method::ValueIteration, Method::GaussSeidel, Method::ModifiedPolicyIteration(20)] {
        let other = solve(&mdp, method, &options).unwrap();
        let difference = other.value.iter().zip(&pi.value).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
        eprintln!(
            "{}: {} iterations, bound {:.3e}, |V − V_pi| {difference:.3e}",
            method.name(),
            other.iterations,
            other.error_bound
        );
        assert!(
            difference <= other.error_bound + pi.error_bound + 1e-12,
            "{} differs by {difference:e}",
            method.name()
        );
        assert_eq!(other.policy, pi.policy, "{}: greedy policies differ", method.name());
    }
    // The stationary PDE solve (value iteration of the semi-Lagrangian step, stopped at a
    // 1e-9 relative bound) reaches the same fixed point.
    let size = pi.value.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let difference = pde.values.iter().zip(&pi.value).fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    assert!(difference <= 2e-9 * (1.0 + size), "PDE vs MDP fixed point: {difference:e}");
    // Policy iteration: few exact evaluations, a round-off Bellman residual.
    assert!(
        pi.iterations < 30 && pi.error_bound < 1e-9,
        "{} iterations, bound {:e}",
        pi.iterations,
        pi.error_bound
    );
}

#[test]
fn the_mdp_value_converges_to_riccati_as_step_and_grid_shrink() {
    // Δt = 2.5h (the feet move 2.5 cells per unit speed), 161 samples (spacing 0.05).
    let exact_p = (0.9 + (0.81f64 + 4.0).sqrt()) / 2.0;
    let mut errors = Vec::new();
    for points in [101, 201, 401, 801] {
        let (problem, settings) = discounted(points, 161);
        let (characteristic, _) = semi_lagrangian(&settings);
        let h = problem.grid.spacings()[0];
        let mdp = build(&problem, Chain::SemiLagrangian, 2.5 * h, characteristic).unwrap();
        let solution = solve(&mdp, Method::PolicyIteration, &SolveOptions::default()).unwrap();
        let error = interior(&problem, 1.0)
            .iter()
            .map(|x| (solution.value[*x] - exact_p * problem.grid.point(*x)[0].powi(2)).abs())
            .fold(0.0, f64::max);
        errors.push((h, error));
    }
    for k in 1..errors.len() {
        let order = (errors[k - 1].1 / errors[k].1).ln() / (errors[k - 1].0 / errors[k].0).ln();
        eprintln!("h = {:.4}: L∞ {:.4e}, order {order:.3}", errors[k].0, errors[k].1);
        assert!((0.8..=1.5).contains(&order), "order {order}");
    }
}

#[test]
fn an_undiscounted_mdp_without_a_target_is_refused() {
    let path = common::repository_path("problems/lqr_1d_discounted.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace("discount = 0.1", "discount = 0.0");
    // The file itself is refused already (stationary needs a discount or a target) …
    assert_eq!(parse_problem(&text, &path).unwrap_err().kind(), hjb::error::ErrorKind::BadInput);
    // … and so is the MDP of a problem whose discount is removed afterwards.
    let (mut problem, settings) = discounted(101, 5);
    let (characteristic, _) = semi_lagrangian(&settings);
    problem.discount = 0.0;
    let error = build(&problem, Chain::SemiLagrangian, 0.05, characteristic).unwrap_err();
    assert_eq!(error.kind(), hjb::error::ErrorKind::BadInput, "{error}");
}

#[test]
fn an_upwind_chain_above_its_cfl_bound_is_refused_with_the_bound() {
    let (problem, settings) = discounted(1001, 41);
    let (characteristic, _) = semi_lagrangian(&settings);
    let error = build(&problem, Chain::Upwind, 0.05, characteristic).unwrap_err();
    assert_eq!(error.kind(), hjb::error::ErrorKind::BadInput, "{error}");
    assert!(error.to_string().contains("Δt"), "{error}");
}

#[test]
fn the_cli_exports_a_file_whose_value_solves_its_own_bellman_equation() {
    let directory = common::scratch_directory("mdp_export");
    let out = directory.join("mdp.h5");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["mdp", "problems/lqr_1d_discounted.toml", "--method", "pi", "--json", "--export"])
        .arg(&out)
        .current_dir(common::repository_path(""))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["states"], 1001);
    assert_eq!(summary["actions"], 41);
    assert!(summary["max_difference_from_pde"].as_f64().unwrap() < 1e-7, "{summary}");
    assert!(summary["error"]["linf"].as_f64().unwrap() < 0.1, "{summary}");
    // Read the CSR matrices back and apply one Bellman backup to /mdp/value.
    let file = rust_hdf5::H5File::open(&out).unwrap();
    let discount = summary["discount"].as_f64().unwrap();
    assert!((discount - (-0.1f64 * 0.05).exp()).abs() < 1e-15);
    let read = |name: &str| -> Vec<f64> { file.dataset(name).unwrap().read_raw::<f64>().unwrap() };
    let read_int = |name: &str| -> Vec<i64> { file.dataset(name).unwrap().read_raw::<i64>().unwrap() };
    let value = read("mdp/value");
    let cost = read("mdp/cost");
    let actions = 41;
    let mut backup = vec![f64::INFINITY; value.len()];
    for a in 0..actions {
        let indptr = read_int(&format!("mdp/transitions/{a}/indptr"));
        let indices = read_int(&format!("mdp/transitions/{a}/indices"));
        let data = read(&format!("mdp/transitions/{a}/data"));
        for x in 0..value.len() {
            let expectation: f64 = (indptr[x] as usize..indptr[x + 1] as usize)
                .map(|k| data[k] * value[indices[k] as usize])
                .sum();
            backup[x] = backup[x].min(cost[x * actions + a] + discount * expectation);
        }
    }
    let residual = backup.iter().zip(&value).fold(0.0f64, |a, (b, v)| a.max((b - v).abs()));
    assert!(residual < 1e-10, "Bellman residual of the exported solution: {residual:e}");
}

#[test]
fn the_cli_refuses_a_chain_above_the_memory_limit_before_building_it() {
    // 10⁷ states × 41 actions: about 25 GB of rows, costs and tables, against a 1 GiB limit.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["mdp", "problems/lqr_1d_discounted.toml", "--points", "10000001", "--skip-pde"])
        .args(["--max-memory", "1G"])
        .current_dir(common::repository_path(""))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("10000001") && stderr.contains("limit"), "{stderr}");
}

#[test]
fn the_cli_can_skip_the_pde_solve() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hjb"))
        .args(["mdp", "problems/lqr_1d_discounted.toml", "--method", "mpi", "--skip-pde", "--json"])
        .current_dir(common::repository_path(""))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(summary["max_difference_from_pde"].is_null(), "{summary}");
    assert_eq!(summary["layout"], "interpolation pairs");
    // 20 evaluation sweeps after every improvement but the last.
    let iterations = summary["iterations"].as_u64().unwrap();
    assert_eq!(summary["evaluation_sweeps"].as_u64().unwrap(), 20 * (iterations - 1), "{summary}");
}
