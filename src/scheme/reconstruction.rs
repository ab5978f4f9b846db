//! One-sided derivatives of high order along one axis: first-order differences, ENO2, ENO3 and
//! WENO5 (Osher–Shu 1991; Jiang–Peng 2000; Osher–Fedkiw, *Level Set Methods*, §3.3–3.4).
//!
//! A node `i` sees the seven values `V_{i−3} … V_{i+3}` of its axis (ghosts beyond the ends come
//! from the boundary rule, [`crate::scheme::closure::Closure::line_value`]) and the differences
//! `d_k = (V_{k+1} − V_k)/h`. The backward derivative `p⁻ ≈ V_x(x_i)` is reconstructed from the
//! five differences `v_1 … v_5 = d_{i−3} … d_{i+1}` (biased to the left), the forward one `p⁺` from
//! `v_1 … v_5 = d_{i+2} … d_{i−2}` (the mirror image):
//!
//! ```text
//! candidates   φ_1 = v_1/3 − 7v_2/6 + 11v_3/6,  φ_2 = −v_2/6 + 5v_3/6 + v_4/3,
//!              φ_3 = v_3/3 + 5v_4/6 − v_5/6                       (third order each)
//! WENO5        p = ω_1φ_1 + ω_2φ_2 + ω_3φ_3,  ω_k ∝ γ_k/(ε + S_k)²,  γ = (0.1, 0.6, 0.3)
//!              S_1 = 13/12 (v_1 − 2v_2 + v_3)² + 1/4 (v_1 − 4v_2 + 3v_3)²
//!              S_2 = 13/12 (v_2 − 2v_3 + v_4)² + 1/4 (v_2 − v_4)²
//!              S_3 = 13/12 (v_3 − 2v_4 + v_5)² + 1/4 (3v_3 − 4v_4 + v_5)²
//!              ε = 10⁻⁶ max_k d_k²  (relative, as Fedkiw's; the six differences of the node)
//! ENO3         the φ_k whose stencil has the smaller second, then third, differences
//! ENO2         p⁻ = v_3 + ½ minmod-free choice: v_3 + ½·(the smaller in size of v_3 − v_2, v_4 − v_3)
//! first order  p⁻ = v_3
//! ```
//!
//! On smooth data WENO5 is fifth-order accurate, ENO3 third, ENO2 second; near kinks the
//! weights (or the choice) fall back to the smoothest stencil. None of these is monotone.

use crate::settings::Derivatives;

/// `(p⁻, p⁺)` at the middle of `stencil = [V_{i−3}, …, V_{i+3}]` with spacing `1/inverse_spacing`.
#[inline(always)]
pub fn one_sided(derivatives: Derivatives, stencil: &[f64; 7], inverse_spacing: f64) -> (f64, f64) {
    let d = [
        (stencil[1] - stencil[0]) * inverse_spacing,
        (stencil[2] - stencil[1]) * inverse_spacing,
        (stencil[3] - stencil[2]) * inverse_spacing,
        (stencil[4] - stencil[3]) * inverse_spacing,
        (stencil[5] - stencil[4]) * inverse_spacing,
        (stencil[6] - stencil[5]) * inverse_spacing,
    ];
    match derivatives {
        Derivatives::FirstOrder => (d[2], d[3]),
        Derivatives::Eno2 => (eno2(d[1], d[2], d[3]), eno2(d[4], d[3], d[2])),
        Derivatives::Eno3 => (eno3(d[0], d[1], d[2], d[3], d[4]), eno3(d[5], d[4], d[3], d[2], d[1])),
        Derivatives::Weno5 => {
            let scale = weno_scale(d[0], d[1], d[2], d[3], d[4], d[5]);
            (weno5(d[0], d[1], d[2], d[3], d[4], scale), weno5(d[5], d[4], d[3], d[2], d[1], scale))
        }
    }
}

/// [`one_sided`] for a row of nodes at once: `shifted[j][r]` is `V` at node `r` of the row moved
/// `j − 3` nodes along the axis; `minus[r]`, `plus[r]` receive `p⁻`, `p⁺` and `second[r]` the
/// central second difference `(V_{+1} − 2V + V_{−1})/h²`. Straight-line loops over contiguous
/// slices, so the compiler vectorises them (same operations, same bits as [`one_sided`]).
#[inline(always)]
pub fn one_sided_row(
    derivatives: Derivatives,
    shifted: [&[f64]; 7],
    inverse_spacing: f64,
    minus: &mut [f64],
    plus: &mut [f64],
    second: &mut [f64],
) {
    let length = minus.len();
    let [s0, s1, s2, s3, s4, s5, s6] = shifted.map(|row| &row[..length]);
    let (plus, second) = (&mut plus[..length], &mut second[..length]);
    let squared = inverse_spacing * inverse_spacing;
    macro_rules! row_loop {
        ($backward:expr, $forward:expr) => {
            for r in 0..length {
                let d0 = (s1[r] - s0[r]) * inverse_spacing;
                let d1 = (s2[r] - s1[r]) * inverse_spacing;
                let d2 = (s3[r] - s2[r]) * inverse_spacing;
                let d3 = (s4[r] - s3[r]) * inverse_spacing;
                let d4 = (s5[r] - s4[r]) * inverse_spacing;
                let d5 = (s6[r] - s5[r]) * inverse_spacing;
                minus[r] = ($backward)(d0, d1, d2, d3, d4, d5);
                plus[r] = ($forward)(d0, d1, d2, d3, d4, d5);
                second[r] = (s4[r] - 2.0 * s3[r] + s2[r]) * squared;
            }
        };
    }
    match derivatives {
        Derivatives::FirstOrder => row_loop!(|_, _, d2, _, _, _| d2, |_, _, _, d3, _, _| d3),
        Derivatives::Eno2 => {
            row_loop!(|_, d1, d2, d3, _, _| eno2(d1, d2, d3), |_, _, d2, d3, d4, _| eno2(d4, d3, d2))
        }
        Derivatives::Eno3 => row_loop!(
            |d0, d1, d2, d3, d4, _| eno3(d0, d1, d2, d3, d4),
            |_, d1, d2, d3, d4, d5| eno3(d5, d4, d3, d2, d1)
        ),
        Derivatives::Weno5 => {
            for r in 0..length {
                let d0 = (s1[r] - s0[r]) * inverse_spacing;
                let d1 = (s2[r] - s1[r]) * inverse_spacing;
                let d2 = (s3[r] - s2[r]) * inverse_spacing;
                let d3 = (s4[r] - s3[r]) * inverse_spacing;
                let d4 = (s5[r] - s4[r]) * inverse_spacing;
                let d5 = (s6[r] - s5[r]) * inverse_spacing;
                let scale = weno_scale(d0, d1, d2, d3, d4, d5);
                minus[r] = weno5(d0, d1, d2, d3, d4, scale);
                plus[r] = weno5(d5, d4, d3, d2, d1, scale);
                second[r] = (s4[r] - 2.0 * s3[r] + s2[r]) * squared;
            }
        }
    }
}

/// ENO2 from the differences `v_2, v_3, v_4` (see the module docs): `v_3` corrected by half the
/// smaller of the two second differences around it.
#[inline(always)]
fn eno2(v2: f64, v3: f64, v4: f64) -> f64 {
    let left = v3 - v2;
    let right = v4 - v3;
    v3 + 0.5 * if left.abs() <= right.abs() { left } else { right }
}

/// The three third-order candidates.
#[inline(always)]
fn candidates(v1: f64, v2: f64, v3: f64, v4: f64, v5: f64) -> [f64; 3] {
    // Coefficients as constant products, not `v / 3.0`: a division per term would be kept (it
    // rounds differently from the product) and would cost more than the rest of the stencil.
    const THIRD: f64 = 1.0 / 3.0;
    const SIXTH: f64 = 1.0 / 6.0;
    [
        THIRD * v1 - 7.0 / 6.0 * v2 + 11.0 / 6.0 * v3,
        -SIXTH * v2 + 5.0 / 6.0 * v3 + THIRD * v4,
        THIRD * v3 + 5.0 / 6.0 * v4 - SIXTH * v5,
    ]
}

/// ENO3: the candidate on the stencil with the smaller divided differences.
#[inline(always)]
fn eno3(v1: f64, v2: f64, v3: f64, v4: f64, v5: f64) -> f64 {
    let [phi1, phi2, phi3] = candidates(v1, v2, v3, v4, v5);
    if (v3 - v2).abs() <= (v4 - v3).abs() {
        // Stencil grows to the left: compare the third differences of {v1,v2,v3} and {v2,v3,v4}.
        if (v3 - 2.0 * v2 + v1).abs() <= (v4 - 2.0 * v3 + v2).abs() {
            phi1
        } else {
            phi2
        }
    } else if (v4 - 2.0 * v3 + v2).abs() <= (v5 - 2.0 * v4 + v3).abs() {
        phi2
    } else {
        phi3
    }
}

/// WENO5 (Jiang–Peng): the candidates blended by their smoothness indicators. `inverse_scale`
/// is `1/(max_k d_k² + 10⁻³⁰⁰)` over the node's six differences: the indicators are measured in
/// that unit, so `ε = 10⁻⁶` is relative (Fedkiw's `10⁻⁶ max v_k²`, over both sides' stencils)
/// and the weights `γ_k ∏_{l≠k} (ε + S_l)²` stay within `[10⁻²⁴, 10⁷]`: one division per
/// derivative and no underflow, whatever the size of V.
#[inline(always)]
fn weno5(v1: f64, v2: f64, v3: f64, v4: f64, v5: f64, inverse_scale: f64) -> f64 {
    let [phi1, phi2, phi3] = candidates(v1, v2, v3, v4, v5);
    let s1 = 13.0 / 12.0 * (v1 - 2.0 * v2 + v3).powi(2) + 0.25 * (v1 - 4.0 * v2 + 3.0 * v3).powi(2);
    let s2 = 13.0 / 12.0 * (v2 - 2.0 * v3 + v4).powi(2) + 0.25 * (v2 - v4).powi(2);
    let s3 = 13.0 / 12.0 * (v3 - 2.0 * v4 + v5).powi(2) + 0.25 * (3.0 * v3 - 4.0 * v4 + v5).powi(2);
    let t1 = (1e-6 + s1 * inverse_scale).powi(2);
    let t2 = (1e-6 + s2 * inverse_scale).powi(2);
    let t3 = (1e-6 + s3 * inverse_scale).powi(2);
    // α_k = γ_k/t_k over the common denominator t_1 t_2 t_3.
    let a1 = 0.1 * t2 * t3;
    let a2 = 0.6 * t1 * t3;
    let a3 = 0.3 * t1 * t2;
    (a1 * phi1 + a2 * phi2 + a3 * phi3) / (a1 + a2 + a3)
}

/// `1/(max_k d_k² + 10⁻³⁰⁰)`: the unit of the WENO5 smoothness indicators at a node.
#[inline(always)]
fn weno_scale(d0: f64, d1: f64, d2: f64, d3: f64, d4: f64, d5: f64) -> f64 {
    let largest = (d0 * d0).max(d1 * d1).max(d2 * d2).max(d3 * d3).max(d4 * d4).max(d5 * d5);
    1.0 / (largest + 1e-300)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stencil_of(f: impl Fn(f64) -> f64, x: f64, h: f64) -> [f64; 7] {
        std::array::from_fn(|k| f(x + (k as f64 - 3.0) * h))
    }

    /// The error of `p⁻` and `p⁺` for sin at x = 0.3 with spacing h.
    fn error(derivatives: Derivatives, h: f64) -> f64 {
        let (backward, forward) = one_sided(derivatives, &stencil_of(f64::sin, 0.3, h), 1.0 / h);
        (backward - 0.3f64.cos()).abs().max((forward - 0.3f64.cos()).abs())
    }

    #[test]
    fn orders_on_smooth_data_match_the_theory() {
        for (derivatives, order) in [
            (Derivatives::FirstOrder, 1.0),
            (Derivatives::Eno2, 2.0),
            (Derivatives::Eno3, 3.0),
            (Derivatives::Weno5, 5.0),
        ] {
            let (coarse, fine) = (error(derivatives, 0.02), error(derivatives, 0.01));
            let observed = (coarse / fine).log2();
            assert!(
                (observed - order).abs() < 0.35,
                "{derivatives:?}: observed order {observed:.3}, expected {order}"
            );
        }
    }

    #[test]
    fn polynomials_of_the_stencil_degree_are_exact() {
        // ENO2 is exact for quadratics, ENO3 and WENO5 for cubics (each candidate is).
        let cubic = |x: f64| 2.0 * x * x * x - x * x + 3.0 * x - 1.0;
        let slope = |x: f64| 6.0 * x * x - 2.0 * x + 3.0;
        let quadratic = |x: f64| -x * x + 3.0 * x - 1.0;
        let h = 0.1;
        let (b, f) = one_sided(Derivatives::Eno2, &stencil_of(quadratic, 0.7, h), 1.0 / h);
        assert!((b - (-1.4 + 3.0)).abs() < 1e-12 && (f - (-1.4 + 3.0)).abs() < 1e-12);
        for derivatives in [Derivatives::Eno3, Derivatives::Weno5] {
            let (b, f) = one_sided(derivatives, &stencil_of(cubic, 0.7, h), 1.0 / h);
            assert!((b - slope(0.7)).abs() < 1e-10, "{derivatives:?} backward {b}");
            assert!((f - slope(0.7)).abs() < 1e-10, "{derivatives:?} forward {f}");
        }
    }

    #[test]
    fn the_row_form_gives_the_same_bits_as_the_node_form() {
        let values: Vec<f64> =
            (0..40).map(|k| (0.37 * k as f64).sin() + (k as f64 - 20.0).abs() * 0.1).collect();
        let length = values.len() - 6;
        for derivatives in [Derivatives::FirstOrder, Derivatives::Eno2, Derivatives::Eno3, Derivatives::Weno5]
        {
            let shifted: [&[f64]; 7] = std::array::from_fn(|j| &values[j..j + length]);
            let (mut minus, mut plus, mut second) = (vec![0.0; length], vec![0.0; length], vec![0.0; length]);
            one_sided_row(derivatives, shifted, 7.0, &mut minus, &mut plus, &mut second);
            for r in 0..length {
                let stencil: [f64; 7] = std::array::from_fn(|j| values[r + j]);
                let (b, f) = one_sided(derivatives, &stencil, 7.0);
                assert_eq!(
                    (b.to_bits(), f.to_bits()),
                    (minus[r].to_bits(), plus[r].to_bits()),
                    "{derivatives:?} at {r}"
                );
                assert_eq!(second[r], (stencil[4] - 2.0 * stencil[3] + stencil[2]) * 49.0);
            }
        }
    }

    #[test]
    fn flat_and_huge_data_give_finite_derivatives() {
        for scale in [0.0, 1e-200, 1e150] {
            let stencil = stencil_of(|x| scale * x.sin(), 0.3, 0.1);
            for derivatives in [Derivatives::Eno2, Derivatives::Eno3, Derivatives::Weno5] {
                let (b, f) = one_sided(derivatives, &stencil, 10.0);
                assert!(b.is_finite() && f.is_finite(), "{derivatives:?} at scale {scale}: {b}, {f}");
            }
        }
    }

    #[test]
    fn at_a_kink_the_one_sided_values_are_the_one_sided_slopes() {
        // |x| at 0: the backward derivative is −1 and the forward +1 for every reconstruction,
        // because each picks (or weighs almost entirely) the stencil on its own side.
        let h = 0.1;
        let stencil = stencil_of(f64::abs, 0.0, h);
        for derivatives in [Derivatives::FirstOrder, Derivatives::Eno2, Derivatives::Eno3, Derivatives::Weno5]
        {
            let (b, f) = one_sided(derivatives, &stencil, 1.0 / h);
            assert!((b + 1.0).abs() < 0.02 && (f - 1.0).abs() < 0.02, "{derivatives:?}: {b}, {f}");
        }
    }
}
