//! The formula text → an expression tree: the tokenizer and a recursive-descent parser (the
//! grammar is in the parent module's docs), with located errors and depth limits.
//!
//! Every recursive walk over the tree (folding, degrees, compilation, dropping it) and the parser
//! itself use the thread's stack, so both are bounded: at most [`MAX_NESTING`] levels of
//! parentheses, signs, powers and calls inside one another, and a tree at most [`MAX_DEPTH`]
//! operations deep (a long chain `a + b + c + …` is as deep as it is long).

use super::{Binary, Expression, FormulaError, Function, FUNCTION_NAMES};

/// The most parentheses, signs, powers and function calls nested inside one another.
pub const MAX_NESTING: usize = 256;

/// The deepest expression tree (operations applied to the results of operations).
pub const MAX_DEPTH: usize = 1024;

/// Parse `source` over `variables`, replacing each `(name, value)` of `constants` by its value.
pub(super) fn parse(
    source: &str,
    variables: &[&str],
    constants: &[(&str, f64)],
) -> Result<Expression, FormulaError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser { tokens: &tokens, position: 0, variables, constants, source, nesting: 0 };
    let (expression, _) = parser.expression()?;
    if let Some(token) = parser.peek() {
        return Err(FormulaError {
            column: token.column,
            message: format!(
                "unexpected {} after a complete expression (missing operator?)",
                token.kind.describe()
            ),
        });
    }
    Ok(expression)
}

/// An expression with the depth of its tree.
type Parsed = (Expression, usize);

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Number(f64),
    Name(String),
    Operator(char),
    Open,
    Close,
    Comma,
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            TokenKind::Number(value) => format!("number {value}"),
            TokenKind::Name(name) => format!("name `{name}`"),
            TokenKind::Operator(symbol) => format!("`{symbol}`"),
            TokenKind::Open => "`(`".to_string(),
            TokenKind::Close => "`)`".to_string(),
            TokenKind::Comma => "`,`".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    column: usize,
}

fn tokenize(source: &str) -> Result<Vec<Token>, FormulaError> {
    let characters: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        let column = index + 1;
        if character.is_whitespace() {
            index += 1;
        } else if character.is_ascii_digit() || character == '.' {
            let start = index;
            while index < characters.len() && (characters[index].is_ascii_digit() || characters[index] == '.')
            {
                index += 1;
            }
            if index < characters.len() && (characters[index] == 'e' || characters[index] == 'E') {
                let mut look = index + 1;
                if look < characters.len() && (characters[look] == '+' || characters[look] == '-') {
                    look += 1;
                }
                if look < characters.len() && characters[look].is_ascii_digit() {
                    index = look;
                    while index < characters.len() && characters[index].is_ascii_digit() {
                        index += 1;
                    }
                }
            }
            let text: String = characters[start..index].iter().collect();
            let value: f64 = text
                .parse()
                .map_err(|_| FormulaError { column, message: format!("`{text}` is not a number") })?;
            tokens.push(Token { kind: TokenKind::Number(value), column });
        } else if character.is_alphabetic() || character == '_' {
            let start = index;
            while index < characters.len()
                && (characters[index].is_alphanumeric() || characters[index] == '_')
            {
                index += 1;
            }
            let name: String = characters[start..index].iter().collect();
            tokens.push(Token { kind: TokenKind::Name(name), column });
        } else {
            let kind = match character {
                '+' | '-' | '*' | '/' | '^' => TokenKind::Operator(character),
                '(' => TokenKind::Open,
                ')' => TokenKind::Close,
                ',' => TokenKind::Comma,
                other => {
                    return Err(FormulaError {
                        column,
                        message: format!(
                            "unexpected character `{other}`; formulas use + - * / ^, parentheses, \
                             numbers, names and functions"
                        ),
                    })
                }
            };
            tokens.push(Token { kind, column });
            index += 1;
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [Token],
    position: usize,
    variables: &'a [&'a str],
    constants: &'a [(&'a str, f64)],
    source: &'a str,
    /// Nesting levels open now (see [`MAX_NESTING`]).
    nesting: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn end_column(&self) -> usize {
        self.source.chars().count() + 1
    }

    fn next_is_operator(&self, symbols: &[char]) -> Option<char> {
        match self.peek() {
            Some(Token { kind: TokenKind::Operator(symbol), .. }) if symbols.contains(symbol) => {
                Some(*symbol)
            }
            _ => None,
        }
    }

    /// The column of the next token (one past the end at the end).
    fn column(&self) -> usize {
        self.peek().map_or_else(|| self.end_column(), |token| token.column)
    }

    /// `operation(left, right)`, refused past [`MAX_DEPTH`] at `column`.
    fn combine(
        &self,
        operation: Binary,
        left: Parsed,
        right: Parsed,
        column: usize,
    ) -> Result<Parsed, FormulaError> {
        let depth = left.1.max(right.1) + 1;
        self.check_depth(depth, column)?;
        Ok((Expression::Binary(operation, Box::new(left.0), Box::new(right.0)), depth))
    }

    fn check_depth(&self, depth: usize, column: usize) -> Result<(), FormulaError> {
        if depth > MAX_DEPTH {
            return Err(FormulaError {
                column,
                message: format!(
                    "the formula is more than {MAX_DEPTH} operations deep here; split it into \
                     [parameters] or shorter formulas"
                ),
            });
        }
        Ok(())
    }

    fn expression(&mut self) -> Result<Parsed, FormulaError> {
        let mut left = self.term()?;
        while let Some(symbol) = self.next_is_operator(&['+', '-']) {
            let column = self.column();
            self.position += 1;
            let right = self.term()?;
            let operation = if symbol == '+' { Binary::Add } else { Binary::Subtract };
            left = self.combine(operation, left, right, column)?;
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Parsed, FormulaError> {
        let mut left = self.unary()?;
        while let Some(symbol) = self.next_is_operator(&['*', '/']) {
            let column = self.column();
            self.position += 1;
            let right = self.unary()?;
            let operation = if symbol == '*' { Binary::Multiply } else { Binary::Divide };
            left = self.combine(operation, left, right, column)?;
        }
        Ok(left)
    }

    /// Every nested construct passes through here: the nesting limit is kept here.
    fn unary(&mut self) -> Result<Parsed, FormulaError> {
        if self.nesting >= MAX_NESTING {
            return Err(FormulaError {
                column: self.column(),
                message: format!(
                    "the formula nests parentheses, signs, powers and calls more than {MAX_NESTING} \
                     levels deep here; simplify it"
                ),
            });
        }
        self.nesting += 1;
        let parsed = self.unary_inner();
        self.nesting -= 1;
        parsed
    }

    fn unary_inner(&mut self) -> Result<Parsed, FormulaError> {
        match self.next_is_operator(&['-', '+']) {
            Some('-') => {
                let column = self.column();
                self.position += 1;
                let (inner, depth) = self.unary()?;
                self.check_depth(depth + 1, column)?;
                Ok((Expression::Negate(Box::new(inner)), depth + 1))
            }
            Some(_) => {
                self.position += 1;
                self.unary()
            }
            None => self.power(),
        }
    }

    fn power(&mut self) -> Result<Parsed, FormulaError> {
        let base = self.primary()?;
        if self.next_is_operator(&['^']).is_some() {
            let column = self.column();
            self.position += 1;
            let exponent = self.unary()?;
            return self.combine(Binary::Power, base, exponent, column);
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Parsed, FormulaError> {
        let Some(token) = self.peek().cloned() else {
            return Err(FormulaError {
                column: self.end_column(),
                message: "the formula ends where a number, name or `(` was expected".to_string(),
            });
        };
        self.position += 1;
        match token.kind {
            TokenKind::Number(value) => Ok((Expression::Constant(value), 1)),
            TokenKind::Open => {
                let inner = self.expression()?;
                self.expect_close(token.column)?;
                Ok(inner)
            }
            TokenKind::Name(name) => {
                if matches!(self.peek(), Some(Token { kind: TokenKind::Open, .. })) {
                    return self.call(&name, token.column);
                }
                if let Some(index) = self.variables.iter().position(|candidate| *candidate == name) {
                    return Ok((Expression::Variable(index), 1));
                }
                if let Some((_, value)) = self.constants.iter().find(|(key, _)| *key == name) {
                    return Ok((Expression::Constant(*value), 1));
                }
                if name == "pi" {
                    return Ok((Expression::Constant(std::f64::consts::PI), 1));
                }
                let mut known: Vec<&str> = self.variables.to_vec();
                known.extend(self.constants.iter().map(|(key, _)| *key));
                known.push("pi");
                let message = if FUNCTION_NAMES.split(' ').any(|function| function == name) {
                    format!("function `{name}` needs its argument in parentheses: `{name}(...)`")
                } else {
                    format!(
                        "unknown name `{name}`{}; names available here: {}",
                        suggestion(&name, &known),
                        known.join(", ")
                    )
                };
                Err(FormulaError { column: token.column, message })
            }
            other => Err(FormulaError {
                column: token.column,
                message: format!("expected a number, name or `(`, found {}", other.describe()),
            }),
        }
    }

    fn expect_close(&mut self, open_column: usize) -> Result<(), FormulaError> {
        match self.peek() {
            Some(Token { kind: TokenKind::Close, .. }) => {
                self.position += 1;
                Ok(())
            }
            Some(token) => Err(FormulaError {
                column: token.column,
                message: format!(
                    "expected `)` to close the `(` at column {open_column}, found {}",
                    token.kind.describe()
                ),
            }),
            None => Err(FormulaError {
                column: self.end_column(),
                message: format!("missing `)` to close the `(` at column {open_column}"),
            }),
        }
    }

    fn call(&mut self, name: &str, column: usize) -> Result<Parsed, FormulaError> {
        let open_column = self.peek().map(|token| token.column).unwrap_or(column);
        self.position += 1; // '('
        let mut arguments = vec![self.expression()?];
        while matches!(self.peek(), Some(Token { kind: TokenKind::Comma, .. })) {
            self.position += 1;
            arguments.push(self.expression()?);
        }
        self.expect_close(open_column)?;
        if name == "min" || name == "max" {
            if arguments.len() < 2 {
                return Err(FormulaError {
                    column,
                    message: format!("`{name}` needs at least two arguments: `{name}(a, b)`"),
                });
            }
            let operation = if name == "min" { Binary::Min } else { Binary::Max };
            let mut iterator = arguments.into_iter();
            let first = iterator.next().expect("checked length");
            return iterator
                .try_fold(first, |accumulated, next| self.combine(operation, accumulated, next, column));
        }
        let Some(function) = Function::from_name(name) else {
            return Err(FormulaError {
                column,
                message: format!(
                    "unknown function `{name}`{}; functions: {FUNCTION_NAMES}",
                    suggestion(name, &FUNCTION_NAMES.split(' ').collect::<Vec<_>>())
                ),
            });
        };
        if arguments.len() != 1 {
            return Err(FormulaError {
                column,
                message: format!("`{name}` takes one argument, found {}", arguments.len()),
            });
        }
        let (argument, depth) = arguments.pop().expect("one argument");
        self.check_depth(depth + 1, column)?;
        Ok((Expression::Call(function, Box::new(argument)), depth + 1))
    }
}

/// " (did you mean `x`?)" for the closest known name within edit distance 2.
fn suggestion(name: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2 && *distance < name.chars().count())
        .min()
        .map(|(_, candidate)| format!(" (did you mean `{candidate}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}
