//! Before/after of `scheme = "auto"` on stationary problems, in one binary: value iteration of
//! explicit upwind (what these problems ran before) against what `auto` picks now — policy
//! iteration for the discounted stochastic LQR of issue 14 (`lqr_stochastic_discounted`, 801
//! nodes, extrapolated ends), fast sweeping for the exit-time problems `min_time_ball` (161²) and
//! `double_integrator_min_time` (241²). The two methods run alternately; the medians of wall and
//! CPU time (all threads, `getrusage`) of the solve are printed with their ratio, the sweep
//! counts, the errors and the largest difference between the two values. The timed solves leave
//! out the exact reference (computed once, untimed, for the errors). Not a timed test: a loaded
//! machine moves the wall times, the CPU times and counts less.
//!
//! Run: `cargo bench --bench stationary_solvers` (about a minute: one value-iteration run of the
//! LQR takes 12–30 s). `HJB_BENCH_REPEATS=N` sets the alternations (default 3).

use hjb::problem::load_problem;
use std::path::Path;
use std::time::Instant;

/// CPU seconds of this process so far (user + system, all threads).
fn cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        // SAFETY: getrusage writes into the zeroed struct we own.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
            let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
            return seconds(usage.ru_utime) + seconds(usage.ru_stime);
        }
    }
    f64::NAN
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

struct Timed {
    solution: hjb::Solution,
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

/// One timed solve of `problem` without its reference (the double integrator's exact minimum
/// time costs more than the fast solve), the first one also with it, untimed, for the errors.
fn run(problem: &hjb::Problem, settings: &hjb::Settings, timed: &mut Option<Timed>) {
    let mut bare = problem.clone();
    bare.reference = None;
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    hjb::solve(&bare, settings, &mut hjb::Silent).expect("solve");
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    match timed {
        Some(timed) => {
            timed.wall.push(wall);
            timed.cpu.push(cpu);
        }
        None => {
            let solution = hjb::solve(problem, settings, &mut hjb::Silent).expect("solve");
            *timed = Some(Timed { solution, wall: vec![wall], cpu: vec![cpu] })
        }
    }
}

fn case(name: &str, repeats: usize, before_repeats: usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("problems/{name}.toml"));
    let file = load_problem(&path).expect("shipped problem");
    let after = file.settings().expect("auto settings");
    let mut options = file.solver.clone();
    (options.scheme, options.differencing, options.stepping) = (Some("upwind".into()), None, None);
    let before = options.settings().expect("upwind settings");
    let (mut old, mut new) = (None, None);
    for k in 0..repeats {
        if k < before_repeats {
            run(&file.problem, &before, &mut old);
        }
        run(&file.problem, &after, &mut new);
    }
    let (old, new) = (old.expect("ran"), new.expect("ran"));
    let difference = old
        .solution
        .values
        .iter()
        .zip(&new.solution.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    let describe = |timed: &Timed| {
        let d = &timed.solution.diagnostics;
        format!(
            "{:>14} {:>7} sweeps  wall {:>8.4} s  cpu {:>8.4} s  L∞ {:.4e}",
            d.settings.scheme_name(),
            d.steps,
            median(timed.wall.clone()),
            median(timed.cpu.clone()),
            timed.solution.error.as_ref().map_or(f64::NAN, |e| e.linf)
        )
    };
    println!("{name} ({} nodes):", file.problem.grid.node_count());
    println!("  before {}", describe(&old));
    println!("  after  {}", describe(&new));
    println!(
        "  ratio  wall {:.1}×, cpu {:.1}×; max |V_after − V_before| = {difference:.3e}; auto: {}",
        median(old.wall.clone()) / median(new.wall.clone()),
        median(old.cpu.clone()) / median(new.cpu.clone()),
        new.solution.diagnostics.settings.choice.reason()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let repeats =
        std::env::var("HJB_BENCH_REPEATS").ok().and_then(|r| r.parse().ok()).unwrap_or(3usize).max(1);
    println!("stationary solvers, before (explicit upwind value iteration) / after (scheme = \"auto\"), medians of {repeats}, {} threads", rayon::current_num_threads());
    case("lqr_stochastic_discounted", repeats.max(5), 1);
    case("min_time_ball", repeats, repeats);
    case("double_integrator_min_time", repeats, repeats);
}
