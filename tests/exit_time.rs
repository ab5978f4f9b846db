//! Exit-time problems: the target set holds V = g, value iteration runs to the fixed point.

mod common;

#[test]
fn minimum_time_to_a_ball_converges_at_first_order() {
    let (problem, settings) = common::shipped("min_time_ball");
    let levels: Vec<Vec<usize>> = [81, 161].iter().map(|n| vec![*n, *n]).collect();
    let study = hjb::validate::convergence_study(&problem, &settings, &levels).unwrap();
    for level in &study {
        eprintln!("min time {:?}: L∞ {:.4e} order {:?}", level.points, level.linf, level.order_linf);
    }
    let order = study[1].order_linf.unwrap();
    assert!(order >= 0.8, "order {order}");
    // First order with C ≈ 0.9: 2.2e-2 at h = 0.025.
    assert!(study[1].linf < 0.03);
    // Target nodes hold V = g = 0 exactly.
    let solution = hjb::solve(&problem.with_points(&[81, 81]).unwrap(), &settings, &mut hjb::Silent).unwrap();
    let grid = problem.with_points(&[81, 81]).unwrap().grid;
    for node in 0..grid.node_count() {
        let p = grid.point(node);
        if p[0] * p[0] + p[1] * p[1] <= 0.25 {
            assert_eq!(solution.values.as_slice().unwrap()[node], 0.0);
        }
    }
}

#[test]
fn an_empty_target_is_refused() {
    let path = common::repository_path("problems/min_time_ball.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace("r = 0.5", "r = 0.001");
    let (problem, settings) = common::parse(&text, &path);
    let problem = problem.with_points(&[40, 40]).unwrap();
    let error = hjb::solve(&problem, &settings, &mut hjb::Silent).unwrap_err();
    assert_eq!(error.kind(), hjb::error::ErrorKind::BadInput);
    assert!(error.to_string().contains("contains no grid node"), "{error}");
}

#[test]
fn double_integrator_minimum_time_converges_in_l1_and_at_order_one_half_in_l_infinity() {
    // The value is Hölder-½ across the switching curve: L∞ orders near ½, L1 orders near 1.
    let (problem, settings) = common::shipped("double_integrator_min_time");
    let levels: Vec<Vec<usize>> = [61, 121, 241].iter().map(|n| vec![*n, *n]).collect();
    let study = hjb::validate::convergence_study(&problem, &settings, &levels).unwrap();
    for level in &study[1..] {
        let (l1, linf) = (level.order_l1.unwrap(), level.order_linf.unwrap());
        eprintln!(
            "double integrator min time {:?}: L1 {:.4e} (order {l1:.3}), L∞ {:.4e} (order {linf:.3})",
            level.points, level.l1, level.linf
        );
        assert!(l1 >= 0.9, "L1 order {l1}");
        assert!((0.3..=0.75).contains(&linf), "L∞ order {linf} should sit near the Hölder-½ cap");
    }
}
