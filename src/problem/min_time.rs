//! Exact minimum time for the double integrator `ẋ = v, v̇ = u, |u| ≤ 1` (bang–bang control).
//!
//! From `(x0, v0)` to `(x1, v1)`: one switch, `u = a` for `t1` then `u = −a` for `t2`,
//! `a ∈ {+1, −1}`. The velocity condition gives `t2 = t1 + (v0 − v1)/a`; the position condition
//! then reads `a t1² + 2v0 t1 + v0 d − a d²/2 − (x1 − x0) = 0` with `d = (v0 − v1)/a`, and the
//! time is the smallest `t1 + t2` over both signs and the roots with `t1, t2 ≥ 0`
//! ([`point_to_point`]). To the origin this is the classic `v + 2√(x + v²/2)` above the
//! switching curve `x = −v|v|/2` and `−v + 2√(−x + v²/2)` below it.
//!
//! To the disc `x² + v² ≤ r²` ([`to_disc`]): the first hitting point lies on the circle, so the
//! time is the minimum of the point-to-point time over the circle: 720 angles, then
//! golden-section refinement in the best bracket (the minimiser is interior to it; accuracy
//! ~1e-12 in the angle where the time is smooth there).
//!
//! The value is only Hölder-½ across the switching curve (`∂T/∂x ~ (x + v|v|/2)^{−1/2}`), which
//! caps the L∞ order of any first-order monotone scheme at ½; L1 errors converge at first order.

/// Minimum time from `(x0, v0)` to `(x1, v1)` (infinite if no bang–bang path exists, which does
/// not happen for this controllable system).
pub fn point_to_point(x0: f64, v0: f64, x1: f64, v1: f64) -> f64 {
    let mut best = f64::INFINITY;
    for a in [1.0f64, -1.0] {
        let d = (v0 - v1) / a;
        let (qa, qb, qc) = (a, 2.0 * v0, v0 * d - a * d * d / 2.0 - (x1 - x0));
        let discriminant = qb * qb - 4.0 * qa * qc;
        if discriminant < 0.0 {
            continue;
        }
        let root = discriminant.sqrt();
        for t1 in [(-qb + root) / (2.0 * qa), (-qb - root) / (2.0 * qa)] {
            let t2 = t1 + d;
            if t1 >= -1e-12 && t2 >= -1e-12 {
                best = best.min(t1.max(0.0) + t2.max(0.0));
            }
        }
    }
    best
}

/// Minimum time from `(x, v)` to the disc of radius `radius` around the origin (0 inside).
pub fn to_disc(x: f64, v: f64, radius: f64) -> f64 {
    if x * x + v * v <= radius * radius {
        return 0.0;
    }
    if radius == 0.0 {
        return point_to_point(x, v, 0.0, 0.0);
    }
    let time = |angle: f64| point_to_point(x, v, radius * angle.cos(), radius * angle.sin());
    const SAMPLES: usize = 720;
    let step = std::f64::consts::TAU / SAMPLES as f64;
    let (mut best_angle, mut best) = (0.0, f64::INFINITY);
    for k in 0..SAMPLES {
        let angle = k as f64 * step;
        let value = time(angle);
        if value < best {
            (best_angle, best) = (angle, value);
        }
    }
    // Golden-section refinement in [best − step, best + step].
    const INVERSE_PHI: f64 = 0.618_033_988_749_894_8;
    let (mut a, mut b) = (best_angle - step, best_angle + step);
    let mut c = b - INVERSE_PHI * (b - a);
    let mut d = a + INVERSE_PHI * (b - a);
    let (mut fc, mut fd) = (time(c), time(d));
    for _ in 0..60 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - INVERSE_PHI * (b - a);
            fc = time(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + INVERSE_PHI * (b - a);
            fd = time(d);
        }
    }
    best.min(fc).min(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_the_origin_it_is_the_switching_curve_formula() {
        for (x, v) in [(1.0, 0.0), (0.0, 1.0), (-0.5, 1.0), (1.0, -3.0), (-2.0, 0.5), (0.3, -0.2)] {
            let s = x + v * f64::abs(v) / 2.0;
            let exact = if s > 0.0 {
                v + 2.0 * (x + v * v / 2.0).sqrt()
            } else {
                -v + 2.0 * (-x + v * v / 2.0).sqrt()
            };
            assert!((point_to_point(x, v, 0.0, 0.0) - exact).abs() < 1e-12, "({x}, {v})");
            assert_eq!(to_disc(x, v, 0.0), point_to_point(x, v, 0.0, 0.0));
        }
    }

    #[test]
    fn the_disc_time_is_below_the_origin_time_and_consistent_with_a_brute_force_minimum() {
        for (x, v) in [(1.0, 0.0), (0.0, 1.0), (-1.0, -1.0), (0.7, 0.4)] {
            let disc = to_disc(x, v, 0.2);
            let brute = (0..100_000)
                .map(|k| {
                    let angle = std::f64::consts::TAU * k as f64 / 100_000.0;
                    point_to_point(x, v, 0.2 * angle.cos(), 0.2 * angle.sin())
                })
                .fold(f64::INFINITY, f64::min);
            assert!(disc <= brute + 1e-12 && brute - disc < 1e-6, "({x}, {v}): {disc} vs {brute}");
            assert!(disc < point_to_point(x, v, 0.0, 0.0));
        }
    }
}
