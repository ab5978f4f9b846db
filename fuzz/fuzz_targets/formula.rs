//! The formula compiler and both evaluators: any text either compiles or is refused; a compiled
//! formula evaluates without panicking, point-wise and column-wise to the same values, and a
//! constant formula evaluates to its folded constant.
#![no_main]

use hjb::problem::formula::{Column, Formula};
use libfuzzer_sys::fuzz_target;

const VARIABLES: [&str; 4] = ["x", "y", "t", "u"];
const CONSTANTS: [(&str, f64); 2] = [("a", 0.5), ("sigma", 2.0)];

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(source) = std::str::from_utf8(rest) else { return };
    let count = usize::from(selector % 5);
    let variables = &VARIABLES[..count];
    let Ok(formula) = Formula::compile(source, variables, &CONSTANTS) else { return };
    let _ = formula.source();
    let used = formula.uses();
    assert_eq!(used.len(), count);
    let _ = formula.degree_in(&used);
    let _ = formula.degree_in(&vec![false; count]);

    // A few points, including awkward values.
    let samples = [0.0, -0.0, 1.0, -1.5, 1e300, -1e-300, f64::INFINITY, f64::NAN, 0.25, 3.0];
    let points = 300; // more than one block of the column evaluator
    let columns_data: Vec<Vec<f64>> = (0..count)
        .map(|k| (0..points).map(|i| samples[(i * (k + 3) + k) % samples.len()]).collect())
        .collect();
    let columns: Vec<Column> = columns_data
        .iter()
        .enumerate()
        .map(|(k, values)| if k % 2 == 1 { Column::Scalar(values[0]) } else { Column::Values(values) })
        .collect();
    let mut out = vec![0.0; points];
    formula.evaluate_columns(&columns, &mut out);
    let mut stack = Vec::new();
    for (i, &column_value) in out.iter().enumerate() {
        let point: Vec<f64> = columns
            .iter()
            .map(|column| match column {
                Column::Scalar(value) => *value,
                Column::Values(values) => values[i],
            })
            .collect();
        let value = formula.evaluate_point(&point, &mut stack);
        assert!(same(value, column_value), "point {point:?}: evaluate {value} vs columns {column_value}");
        if let Some(constant) = formula.constant_value() {
            assert!(same(value, constant), "constant {constant} but evaluates to {value}");
        }
    }
});
