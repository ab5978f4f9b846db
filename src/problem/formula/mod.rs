//! Formulas: parsed once, constant-folded, compiled to a stack program evaluated over whole arrays.
//!
//! Grammar (precedence from low to high, `^` is right-associative and binds tighter than unary
//! minus, so `-x^2 = -(x^2)`):
//!
//! ```text
//! expression := term (('+' | '-') term)*
//! term       := unary (('*' | '/') unary)*
//! unary      := ('-' | '+') unary | power
//! power      := primary ('^' unary)?
//! primary    := number | name | name '(' expression (',' expression)* ')' | '(' expression ')'
//! ```
//!
//! Functions: `sin cos tan exp log sqrt abs tanh sign floor` (one argument), `min max` (two or
//! more); constant `pi`. `log` is the natural logarithm.
//!
//! Why our own evaluator rather than `exmex`: the solver tabulates formulas over whole grids
//! (per control sample where needed), so evaluation is done column-wise — one interpreted
//! instruction processes a block of [`BLOCK`] points, which costs about a nanosecond per point
//! instead of ~50 ns per scalar call — and the structural analysis the solver needs
//! ([`Formula::degree_in`]: is the drift affine in the controls, is the cost quadratic?) and the
//! error positions (column inside the formula, mapped back to the file's line and column) are
//! easiest to get right on an AST we own. `exmex` also reserves `e` as a constant, which would
//! make a state named `e` impossible.

mod parse;

pub use parse::{MAX_DEPTH, MAX_NESTING};
use std::fmt;

/// Points processed by one interpreted instruction in [`Formula::evaluate_columns`].
pub const BLOCK: usize = 256;

/// A parse or name-resolution error at a character column (1-based) of the formula text.
#[derive(Debug, Clone, PartialEq)]
pub struct FormulaError {
    /// The character column of the formula text where the error was found (1-based; one past
    /// the end when the formula ends too early).
    pub column: usize,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for FormulaError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "column {}: {}", self.column, self.message)
    }
}

/// One-argument functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Sin,
    Cos,
    Tan,
    Exp,
    Log,
    Sqrt,
    Abs,
    Tanh,
    Sign,
    Floor,
}

impl Function {
    fn from_name(name: &str) -> Option<Function> {
        Some(match name {
            "sin" => Function::Sin,
            "cos" => Function::Cos,
            "tan" => Function::Tan,
            "exp" => Function::Exp,
            "log" => Function::Log,
            "sqrt" => Function::Sqrt,
            "abs" => Function::Abs,
            "tanh" => Function::Tanh,
            "sign" => Function::Sign,
            "floor" => Function::Floor,
            _ => return None,
        })
    }

    #[inline]
    fn apply(self, value: f64) -> f64 {
        match self {
            Function::Sin => value.sin(),
            Function::Cos => value.cos(),
            Function::Tan => value.tan(),
            Function::Exp => value.exp(),
            Function::Log => value.ln(),
            Function::Sqrt => value.sqrt(),
            Function::Abs => value.abs(),
            Function::Tanh => value.tanh(),
            Function::Sign => {
                if value > 0.0 {
                    1.0
                } else if value < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Function::Floor => value.floor(),
        }
    }
}

/// Binary operations (including `min`/`max`, which take two or more arguments in the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binary {
    Add,
    Subtract,
    Multiply,
    Divide,
    Power,
    Min,
    Max,
}

impl Binary {
    #[inline]
    fn apply(self, left: f64, right: f64) -> f64 {
        match self {
            Binary::Add => left + right,
            Binary::Subtract => left - right,
            Binary::Multiply => left * right,
            Binary::Divide => left / right,
            Binary::Power => power(left, right),
            Binary::Min => left.min(right),
            Binary::Max => left.max(right),
        }
    }
}

/// `x^y` with the integer fast path (exact for small integer exponents, and defined for x < 0).
#[inline]
fn power(base: f64, exponent: f64) -> f64 {
    if exponent == exponent.trunc() && exponent.abs() <= 64.0 {
        base.powi(exponent as i32)
    } else {
        base.powf(exponent)
    }
}

/// Expression tree. Variables are indices into the formula's variable list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expression {
    Constant(f64),
    Variable(usize),
    Negate(Box<Expression>),
    Call(Function, Box<Expression>),
    Binary(Binary, Box<Expression>, Box<Expression>),
}

/// Polynomial degree of an expression in a set of variables; `None` = not a polynomial.
pub type Degree = Option<u32>;

impl Expression {
    fn is_constant(&self) -> Option<f64> {
        match self {
            Expression::Constant(value) => Some(*value),
            _ => None,
        }
    }

    /// Fold constant sub-expressions (parameters are already constants when this runs).
    fn fold(self) -> Expression {
        match self {
            Expression::Negate(inner) => match inner.fold() {
                Expression::Constant(value) => Expression::Constant(-value),
                other => Expression::Negate(Box::new(other)),
            },
            Expression::Call(function, inner) => match inner.fold() {
                Expression::Constant(value) => Expression::Constant(function.apply(value)),
                other => Expression::Call(function, Box::new(other)),
            },
            Expression::Binary(operation, left, right) => {
                let (left, right) = (left.fold(), right.fold());
                match (left.is_constant(), right.is_constant()) {
                    (Some(a), Some(b)) => Expression::Constant(operation.apply(a, b)),
                    _ => Expression::Binary(operation, Box::new(left), Box::new(right)),
                }
            }
            other => other,
        }
    }

    /// Degree in the variables flagged in `selected` (structural, conservative).
    fn degree(&self, selected: &[bool]) -> Degree {
        match self {
            Expression::Constant(_) => Some(0),
            Expression::Variable(index) => Some(u32::from(selected[*index])),
            Expression::Negate(inner) => inner.degree(selected),
            Expression::Call(_, inner) => match inner.degree(selected) {
                Some(0) => Some(0),
                _ => None,
            },
            Expression::Binary(operation, left, right) => {
                let (a, b) = (left.degree(selected), right.degree(selected));
                match operation {
                    Binary::Add | Binary::Subtract => Some(a?.max(b?)),
                    Binary::Multiply => Some(a? + b?),
                    Binary::Divide => match b? {
                        0 => a,
                        _ => None,
                    },
                    Binary::Power => match (a?, right.is_constant()) {
                        (0, _) if b? == 0 => Some(0),
                        (base, Some(exponent))
                            if exponent >= 0.0 && exponent == exponent.trunc() && exponent <= 16.0 =>
                        {
                            Some(base * exponent as u32)
                        }
                        _ => None,
                    },
                    Binary::Min | Binary::Max => match (a?, b?) {
                        (0, 0) => Some(0),
                        _ => None,
                    },
                }
            }
        }
    }

    fn uses(&self, used: &mut [bool]) {
        match self {
            Expression::Constant(_) => {}
            Expression::Variable(index) => used[*index] = true,
            Expression::Negate(inner) | Expression::Call(_, inner) => inner.uses(used),
            Expression::Binary(_, left, right) => {
                left.uses(used);
                right.uses(used);
            }
        }
    }
}

/// One instruction of the compiled stack program.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Instruction {
    Constant(f64),
    Variable(usize),
    Negate,
    Call(Function),
    Binary(Binary),
    /// `x^k` for a constant integer exponent `|k| ≤ 64`, `k ≠ 2`: the `powi` that [`power`] takes
    /// for it, without testing the exponent at every value.
    IntegerPower(i32),
    /// `x^2` as `x·x`, the bits of `powi(x, 2)` (its one product) without the call.
    Square,
}

/// A value for one variable during column-wise evaluation: the same for every point, or one per
/// point.
#[derive(Debug, Clone, Copy)]
pub enum Column<'a> {
    /// The same value at every point.
    Scalar(f64),
    /// One value per point.
    Values(&'a [f64]),
}

/// A compiled formula over a fixed list of variable names.
#[derive(Debug, Clone)]
pub struct Formula {
    source: String,
    expression: Expression,
    program: Vec<Instruction>,
    stack_depth: usize,
    variable_count: usize,
}

impl Formula {
    /// Parse `source` over `variables` (in this order), replacing each `(name, value)` of
    /// `constants` by its value, and compile it.
    pub fn compile(
        source: &str,
        variables: &[&str],
        constants: &[(&str, f64)],
    ) -> Result<Formula, FormulaError> {
        let expression = parse::parse(source, variables, constants)?.fold();
        let mut program = Vec::new();
        let stack_depth = emit(&expression, &mut program);
        Ok(Formula {
            source: source.to_string(),
            expression,
            program,
            stack_depth,
            variable_count: variables.len(),
        })
    }

    /// The text the formula was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The constant value, when the formula does not depend on any variable.
    pub fn constant_value(&self) -> Option<f64> {
        self.expression.is_constant()
    }

    /// Which variables the formula references (after constant folding).
    pub fn uses(&self) -> Vec<bool> {
        let mut used = vec![false; self.variable_count];
        self.expression.uses(&mut used);
        used
    }

    /// Polynomial degree in the flagged variables (`None`: not polynomial in them).
    pub fn degree_in(&self, selected: &[bool]) -> Degree {
        self.expression.degree(selected)
    }

    /// Evaluate at one point (`values[k]` = variable k). For tests and for rare scalar uses;
    /// the solver uses [`Formula::evaluate_columns`].
    pub fn evaluate(&self, values: &[f64]) -> f64 {
        self.evaluate_point(values, &mut Vec::new())
    }

    /// Evaluate at one point with a caller-owned stack (no allocation once `stack` has grown):
    /// for per-node scalar uses in hot loops (semi-Lagrangian control refinement, Heun feet).
    pub fn evaluate_point(&self, values: &[f64], stack: &mut Vec<f64>) -> f64 {
        debug_assert_eq!(values.len(), self.variable_count);
        stack.clear();
        for instruction in &self.program {
            match *instruction {
                Instruction::Constant(value) => stack.push(value),
                Instruction::Variable(index) => stack.push(values[index]),
                Instruction::Negate => {
                    let top = stack.len() - 1;
                    stack[top] = -stack[top];
                }
                Instruction::Call(function) => {
                    let top = stack.len() - 1;
                    stack[top] = function.apply(stack[top]);
                }
                Instruction::Binary(operation) => {
                    let right = stack.pop().unwrap_or(f64::NAN);
                    let top = stack.len() - 1;
                    stack[top] = operation.apply(stack[top], right);
                }
                Instruction::IntegerPower(exponent) => {
                    let top = stack.len() - 1;
                    stack[top] = stack[top].powi(exponent);
                }
                Instruction::Square => {
                    let top = stack.len() - 1;
                    stack[top] *= stack[top];
                }
            }
        }
        stack.first().copied().unwrap_or(f64::NAN)
    }

    /// Evaluate at `out.len()` points: variable k takes `columns[k]` (a scalar or a slice of
    /// `out.len()` values). Processes blocks of [`BLOCK`] points per instruction.
    pub fn evaluate_columns(&self, columns: &[Column], out: &mut [f64]) {
        debug_assert_eq!(columns.len(), self.variable_count);
        let mut stack = vec![[0.0f64; BLOCK]; self.stack_depth.max(1)];
        let mut start = 0;
        while start < out.len() {
            let length = BLOCK.min(out.len() - start);
            let mut top = 0usize;
            for instruction in &self.program {
                match *instruction {
                    Instruction::Constant(value) => {
                        stack[top][..length].fill(value);
                        top += 1;
                    }
                    Instruction::Variable(index) => {
                        match columns[index] {
                            Column::Scalar(value) => stack[top][..length].fill(value),
                            Column::Values(values) => {
                                stack[top][..length].copy_from_slice(&values[start..start + length])
                            }
                        }
                        top += 1;
                    }
                    Instruction::Negate => {
                        for value in &mut stack[top - 1][..length] {
                            *value = -*value;
                        }
                    }
                    Instruction::Call(function) => {
                        for value in &mut stack[top - 1][..length] {
                            *value = function.apply(*value);
                        }
                    }
                    Instruction::Binary(operation) => {
                        let (lower, upper) = stack.split_at_mut(top - 1);
                        let left = &mut lower[top - 2][..length];
                        let right = &upper[0][..length];
                        match operation {
                            Binary::Add => left.iter_mut().zip(right).for_each(|(a, b)| *a += b),
                            Binary::Subtract => left.iter_mut().zip(right).for_each(|(a, b)| *a -= b),
                            Binary::Multiply => left.iter_mut().zip(right).for_each(|(a, b)| *a *= b),
                            Binary::Divide => left.iter_mut().zip(right).for_each(|(a, b)| *a /= b),
                            _ => left.iter_mut().zip(right).for_each(|(a, b)| *a = operation.apply(*a, *b)),
                        }
                        top -= 1;
                    }
                    Instruction::IntegerPower(exponent) => {
                        for value in &mut stack[top - 1][..length] {
                            *value = value.powi(exponent);
                        }
                    }
                    Instruction::Square => {
                        for value in &mut stack[top - 1][..length] {
                            *value *= *value;
                        }
                    }
                }
            }
            out[start..start + length].copy_from_slice(&stack[0][..length]);
            start += length;
        }
    }
}

/// Emit postfix code; returns the stack depth needed.
fn emit(expression: &Expression, program: &mut Vec<Instruction>) -> usize {
    match expression {
        Expression::Constant(value) => {
            program.push(Instruction::Constant(*value));
            1
        }
        Expression::Variable(index) => {
            program.push(Instruction::Variable(*index));
            1
        }
        Expression::Negate(inner) => {
            let depth = emit(inner, program);
            program.push(Instruction::Negate);
            depth
        }
        Expression::Call(function, inner) => {
            let depth = emit(inner, program);
            program.push(Instruction::Call(*function));
            depth
        }
        Expression::Binary(Binary::Power, left, right) if matches!(**right, Expression::Constant(k) if k == k.trunc() && k.abs() <= 64.0) =>
        {
            let Expression::Constant(exponent) = **right else { unreachable!("matched above") };
            let depth = emit(left, program);
            program.push(if exponent == 2.0 {
                Instruction::Square
            } else {
                Instruction::IntegerPower(exponent as i32)
            });
            depth
        }
        Expression::Binary(operation, left, right) => {
            let left_depth = emit(left, program);
            let right_depth = emit(right, program);
            program.push(Instruction::Binary(*operation));
            left_depth.max(right_depth + 1)
        }
    }
}

/// Names of the built-in functions (reserved in problem files).
pub const FUNCTION_NAMES: &str = "sin cos tan exp log sqrt abs tanh sign floor min max";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_integer_exponents_give_the_general_powers_bits() {
        // `x^k` with a constant integer k compiles to its own instruction; it must keep the bits
        // of the general power (`powi` for integer exponents), pointwise and column-wise.
        let mut x = -3.7f64;
        while x < 3.7 {
            for k in [-3, -2, -1, 0, 1, 2, 3, 5, 64] {
                let formula = Formula::compile(&format!("x^({k})"), &["x"], &[]).unwrap();
                assert_eq!(
                    formula.evaluate(&[x]).to_bits(),
                    power(x, k as f64).to_bits(),
                    "x = {x}, k = {k}"
                );
            }
            x += 0.137;
        }
        let formula = Formula::compile("sqrt(x^2 + y^2) - x^(-3) + x^2.5", &["x", "y"], &[]).unwrap();
        let xs: Vec<f64> = (0..700).map(|i| 0.01 + i as f64 * 0.013).collect();
        let ys: Vec<f64> = (0..700).map(|i| -4.0 + i as f64 * 0.011).collect();
        let mut out = vec![0.0; xs.len()];
        formula.evaluate_columns(&[Column::Values(&xs), Column::Values(&ys)], &mut out);
        for ((x, y), value) in xs.iter().zip(&ys).zip(&out) {
            let expected = (power(*x, 2.0) + power(*y, 2.0)).sqrt() - power(*x, -3.0) + power(*x, 2.5);
            assert_eq!(value.to_bits(), expected.to_bits());
        }
    }

    #[test]
    fn precedence_and_associativity() {
        let formula = Formula::compile("-x^2 + 2^3^2 / 64 - (1 - x) * 3", &["x"], &[]).unwrap();
        let x: f64 = 1.5;
        let expected = -(x.powi(2)) + 2f64.powi(9) / 64.0 - (1.0 - x) * 3.0;
        assert_eq!(formula.evaluate(&[x]), expected);
    }

    #[test]
    fn parameters_are_folded() {
        let formula = Formula::compile("a*x + b", &["x"], &[("a", 2.0), ("b", 1.0)]).unwrap();
        assert_eq!(formula.evaluate(&[3.0]), 7.0);
        let constant = Formula::compile("a*b + pi", &["x"], &[("a", 2.0), ("b", 1.0)]).unwrap();
        assert_eq!(constant.constant_value(), Some(2.0 + std::f64::consts::PI));
    }

    #[test]
    fn degrees() {
        let variables = ["x", "u", "w"];
        let controls = [false, true, true];
        let degree =
            |text: &str| Formula::compile(text, &variables, &[("a", 0.5)]).unwrap().degree_in(&controls);
        assert_eq!(degree("a*x + u"), Some(1));
        assert_eq!(degree("sin(x)*u + x^2"), Some(1));
        assert_eq!(degree("x^2 + u^2 + w^2/2"), Some(2));
        assert_eq!(degree("u*w"), Some(2));
        assert_eq!(degree("abs(u)"), None);
        assert_eq!(degree("x/u"), None);
        assert_eq!(degree("min(x, 1)"), Some(0));
        assert_eq!(degree("exp(x)^u"), None);
    }

    #[test]
    fn errors_point_at_the_column() {
        let error = Formula::compile("x + y", &["x", "u"], &[]).unwrap_err();
        assert_eq!(error.column, 5);
        assert!(error.message.contains("unknown name `y`"), "{}", error.message);
        let error = Formula::compile("sin(x", &["x"], &[]).unwrap_err();
        assert_eq!(error.column, 6);
        let error = Formula::compile("2 * (x + 1))", &["x"], &[]).unwrap_err();
        assert_eq!(error.column, 12);
        let error = Formula::compile("sine(x)", &["x"], &[]).unwrap_err();
        assert!(error.message.contains("did you mean `sin`"), "{}", error.message);
        let error = Formula::compile("x $ 2", &["x"], &[]).unwrap_err();
        assert_eq!(error.column, 3);
        let error = Formula::compile("x +", &["x"], &[]).unwrap_err();
        assert_eq!(error.column, 4);
    }

    #[test]
    fn deep_formulas_are_refused_without_overflowing_the_stack() {
        let nested = format!("{}x{}", "(".repeat(9000), ")".repeat(9000));
        let error = Formula::compile(&nested, &["x"], &[]).unwrap_err();
        assert!(error.message.contains("more than 256 levels"), "{}", error.message);
        assert_eq!(error.column, MAX_NESTING + 1);
        let minus = format!("{}x", "-".repeat(50_000));
        assert!(Formula::compile(&minus, &["x"], &[]).is_err());
        let tower = vec!["1"; 50_000].join("^");
        assert!(Formula::compile(&tower, &["x"], &[]).is_err());
        let chain = vec!["x"; 50_000].join("+");
        let error = Formula::compile(&chain, &["x"], &[]).unwrap_err();
        assert!(error.message.contains("more than 1024 operations deep"), "{}", error.message);
        let arguments = vec!["x"; 5_000].join(",");
        assert!(Formula::compile(&format!("max({arguments})"), &["x"], &[]).is_err());
        // Within the limits: fine, and evaluated correctly.
        let within = format!("{}x{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(Formula::compile(&within, &["x"], &[]).unwrap().evaluate(&[2.0]), 2.0);
        let sum = vec!["x"; 1000].join("+");
        assert_eq!(Formula::compile(&sum, &["x"], &[]).unwrap().evaluate(&[1.0]), 1000.0);
    }
}
