//! The formula compiler against Rust closures on random inputs, column-wise and pointwise.

use hjb::problem::formula::{Column, Formula};

type Reference = fn(&[f64]) -> f64;

fn cases() -> Vec<(&'static str, Reference)> {
    vec![
        ("a*x + u", |v| 0.7 * v[0] + v[1]),
        ("x^2 + u^2", |v| v[0] * v[0] + v[1] * v[1]),
        ("-x^2", |v| -(v[0] * v[0])),
        ("2^-1 * x", |v| 0.5 * v[0]),
        ("x^3 - 3*x*y + y^2/4", |v| v[0].powi(3) - 3.0 * v[0] * v[2] + v[2] * v[2] / 4.0),
        ("sin(x)*cos(y) + tan(u/4)", |v| v[0].sin() * v[2].cos() + (v[1] / 4.0).tan()),
        ("exp(-x^2/2) * log(1 + u^2)", |v| (-(v[0] * v[0]) / 2.0).exp() * (1.0 + v[1] * v[1]).ln()),
        ("sqrt(abs(x*y)) + tanh(t)", |v| (v[0] * v[2]).abs().sqrt() + v[3].tanh()),
        ("min(x, y) - max(u, t, 0.5)", |v| v[0].min(v[2]) - v[1].max(v[3]).max(0.5)),
        ("sign(x) * floor(3*y)", |v| {
            v[0].signum() * (3.0 * v[2]).floor() * if v[0] == 0.0 { 0.0 } else { 1.0 }
        }),
        ("pi*x - (1 - (u - (t - y)))", |v| std::f64::consts::PI * v[0] - (1.0 - (v[1] - (v[3] - v[2])))),
        ("x/(1 + y^2) / 2", |v| v[0] / (1.0 + v[2] * v[2]) / 2.0),
        ("1.5e-1*x + 2E2*u", |v| 0.15 * v[0] + 200.0 * v[1]),
        ("abs(x)^1.5", |v| v[0].abs().powf(1.5)),
        ("+x - -u", |v| v[0] + v[1]),
    ]
}

#[test]
fn compiled_formulas_agree_with_closures() {
    let variables = ["x", "u", "y", "t"];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 6.0 - 3.0
    };
    let count = 1000; // spans several evaluation blocks
    let columns: Vec<Vec<f64>> = (0..4).map(|_| (0..count).map(|_| random()).collect()).collect();
    for (source, reference) in cases() {
        let formula = Formula::compile(source, &variables, &[("a", 0.7)]).unwrap();
        let mut out = vec![0.0; count];
        let inputs: Vec<Column> = columns.iter().map(|c| Column::Values(c)).collect();
        formula.evaluate_columns(&inputs, &mut out);
        for k in 0..count {
            let point: Vec<f64> = columns.iter().map(|c| c[k]).collect();
            let expected = reference(&point);
            let pointwise = formula.evaluate(&point);
            let tolerance = 1e-12 * (1.0 + expected.abs());
            assert!(
                (out[k] - expected).abs() <= tolerance,
                "{source} at {point:?}: {} vs {expected}",
                out[k]
            );
            assert_eq!(out[k].to_bits(), pointwise.to_bits(), "{source}: column and point evaluation differ");
        }
    }
}

#[test]
fn scalar_columns_broadcast() {
    let formula = Formula::compile("x * u + t", &["x", "u", "t"], &[]).unwrap();
    let xs: Vec<f64> = (0..700).map(|k| k as f64 * 0.01).collect();
    let mut out = vec![0.0; xs.len()];
    formula.evaluate_columns(&[Column::Values(&xs), Column::Scalar(2.0), Column::Scalar(0.5)], &mut out);
    for (x, value) in xs.iter().zip(&out) {
        assert_eq!(*value, x * 2.0 + 0.5);
    }
}
