//! Property test of the formula compiler: random expression trees, printed as text, compiled
//! (parsed, constant-folded, turned into a stack program) and evaluated pointwise and over columns,
//! give the same bits as a plain tree-walking evaluator of the same tree.
//!
//! The trees come from a small seeded generator (no test dependency), 4000 of them over three
//! variables and a parameter, evaluated at points that include zeros and negatives so that NaN
//! and infinities occur and must agree too.

use hjb::problem::formula::{Column, Formula};

/// A deterministic generator (xorshift64*).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const FUNCTIONS: [&str; 10] = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sign", "floor"];
const VARIABLES: [&str; 3] = ["x", "u", "t"];
const PARAMETER: (&str, f64) = ("a", 0.75);

#[derive(Debug, Clone)]
enum Tree {
    Number(f64),
    Variable(usize),
    Parameter,
    Negate(Box<Tree>),
    Call(usize, Box<Tree>),
    Binary(char, Box<Tree>, Box<Tree>),
    Extremum(bool, Vec<Tree>),
}

fn generate(random: &mut Random, depth: u32) -> Tree {
    let leaf = depth == 0 || random.below(4) == 0;
    if leaf {
        return match random.below(4) {
            0 => Tree::Number([0.0, 1.0, 2.0, 0.5, 3.0, 1e-3, 64.0, 65.0][random.below(8) as usize]),
            1 => Tree::Parameter,
            _ => Tree::Variable(random.below(3) as usize),
        };
    }
    let child = |random: &mut Random| Box::new(generate(random, depth - 1));
    match random.below(9) {
        0 => Tree::Negate(child(random)),
        1 => {
            let function = random.below(FUNCTIONS.len() as u64) as usize;
            Tree::Call(function, child(random))
        }
        2 => {
            let (is_min, count) = (random.below(2) == 0, 2 + random.below(2));
            Tree::Extremum(is_min, (0..count).map(|_| generate(random, depth - 1)).collect())
        }
        k => {
            let operator = ['+', '-', '*', '/', '^', '+', '*'][(k - 3) as usize];
            Tree::Binary(operator, child(random), child(random))
        }
    }
}

/// Fully parenthesised text, with random spaces and unary plus signs.
fn print(tree: &Tree, random: &mut Random) -> String {
    let space = |random: &mut Random| if random.below(3) == 0 { " " } else { "" };
    let text = match tree {
        Tree::Number(value) => format!("{value:?}"),
        Tree::Variable(index) => VARIABLES[*index].to_string(),
        Tree::Parameter => PARAMETER.0.to_string(),
        Tree::Negate(inner) => format!("-({})", print(inner, random)),
        Tree::Call(function, inner) => format!("{}({})", FUNCTIONS[*function], print(inner, random)),
        Tree::Binary(operator, left, right) => {
            let (left, right) = (print(left, random), print(right, random));
            format!("({left}){}{operator}{}({right})", space(random), space(random))
        }
        Tree::Extremum(is_min, arguments) => {
            let arguments: Vec<String> = arguments.iter().map(|a| print(a, random)).collect();
            format!("{}({})", if *is_min { "min" } else { "max" }, arguments.join(", "))
        }
    };
    if random.below(10) == 0 {
        format!("+{text}")
    } else {
        text
    }
}

fn power(base: f64, exponent: f64) -> f64 {
    if exponent == exponent.trunc() && exponent.abs() <= 64.0 {
        base.powi(exponent as i32)
    } else {
        base.powf(exponent)
    }
}

/// The reference: evaluate the tree as written.
fn evaluate(tree: &Tree, point: &[f64]) -> f64 {
    match tree {
        Tree::Number(value) => *value,
        Tree::Variable(index) => point[*index],
        Tree::Parameter => PARAMETER.1,
        Tree::Negate(inner) => -evaluate(inner, point),
        Tree::Call(function, inner) => {
            let x = evaluate(inner, point);
            match FUNCTIONS[*function] {
                "sin" => x.sin(),
                "cos" => x.cos(),
                "tan" => x.tan(),
                "exp" => x.exp(),
                "log" => x.ln(),
                "sqrt" => x.sqrt(),
                "abs" => x.abs(),
                "tanh" => x.tanh(),
                "sign" if x > 0.0 => 1.0,
                "sign" if x < 0.0 => -1.0,
                "sign" => 0.0,
                _ => x.floor(),
            }
        }
        Tree::Binary(operator, left, right) => {
            let (a, b) = (evaluate(left, point), evaluate(right, point));
            match operator {
                '+' => a + b,
                '-' => a - b,
                '*' => a * b,
                '/' => a / b,
                _ => power(a, b),
            }
        }
        Tree::Extremum(is_min, arguments) => {
            let mut values = arguments.iter().map(|a| evaluate(a, point));
            let first = values.next().expect("two or more arguments");
            values.fold(first, |acc, v| if *is_min { acc.min(v) } else { acc.max(v) })
        }
    }
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn compiled_formulas_agree_with_a_tree_walking_evaluator() {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let points: Vec<[f64; 3]> =
        vec![[0.3, -1.2, 0.5], [0.0, 0.0, 0.0], [-2.5, 1.0, 3.0], [1e-8, -0.5, 1.0], [7.0, 2.0, -0.25]];
    for case in 0..4000 {
        let tree = generate(&mut random, 1 + (case % 7) as u32);
        let text = print(&tree, &mut random);
        let formula = Formula::compile(&text, &VARIABLES, &[PARAMETER])
            .unwrap_or_else(|error| panic!("`{text}` does not compile: {error}"));
        for point in &points {
            let expected = evaluate(&tree, point);
            let pointwise = formula.evaluate(point);
            assert!(
                same(pointwise, expected),
                "`{text}` at {point:?}: compiled {pointwise}, tree {expected}"
            );
        }
        // Column-wise over all points at once (x per point, u a column, t a scalar per batch).
        let xs: Vec<f64> = points.iter().map(|p| p[0]).collect();
        let us: Vec<f64> = points.iter().map(|p| p[1]).collect();
        for t in [0.5, -1.0] {
            let mut out = vec![0.0; points.len()];
            formula
                .evaluate_columns(&[Column::Values(&xs), Column::Values(&us), Column::Scalar(t)], &mut out);
            for (k, value) in out.iter().enumerate() {
                let expected = evaluate(&tree, &[xs[k], us[k], t]);
                assert!(same(*value, expected), "`{text}` columns at {k}, t = {t}: {value} vs {expected}");
            }
        }
    }
}

#[test]
fn malformed_formulas_are_errors_not_panics() {
    let mut random = Random(42);
    let alphabet: Vec<char> = "xut a1.e(),+-*/^ sinlogmax".chars().collect();
    for _ in 0..20_000 {
        let length = 1 + random.below(24) as usize;
        let text: String =
            (0..length).map(|_| alphabet[random.below(alphabet.len() as u64) as usize]).collect();
        let compiled = std::panic::catch_unwind(|| {
            Formula::compile(&text, &VARIABLES, &[PARAMETER]).map(|f| f.evaluate(&[1.0, 2.0, 3.0]))
        });
        assert!(compiled.is_ok(), "`{text}` panicked");
    }
}
