use hjb::*;
#[test]
fn probe() {
    for file in ["problems/lqr_1d.toml", "problems/lqr_double_integrator.toml"] {
        let problem = load_problem(std::path::Path::new(file)).unwrap();
        println!("{:?}", problem.controls);
        let levels = hjb::validate::refinement_levels(&problem, 5, 2).unwrap();
        for lf in [Scheme::Upwind, Scheme::LaxFriedrichs] {
            let mut p = problem.clone(); p.settings.scheme = lf;
            let study = hjb::validate::convergence_study(&p, &levels).unwrap();
            for l in study { println!("{file} {:?} {:?} h={:.4} dt={:.5} linf={:.3e} l2={:.3e} o={:?} {:?} t={:.2}", lf, l.points, l.h, l.time_step, l.linf, l.l2, l.order_linf, l.order_l2, l.seconds); }
        }
    }
}
