//! Exact policy evaluation for policy iteration: the sparse linear system
//!
//! ```text
//! (I − γ P_π) V = c_π   (non-terminal rows),   V(x) = g(x)   (terminal rows),
//! ```
//!
//! solved block-triangularly. The policy's chain is a directed graph (edge `x → y` when
//! `P_π(x, y) > 0`); its strongly connected components (Tarjan, iterative), in the order Tarjan
//! emits them, are a topological order with every component after all the components it reaches.
//! So component by component, with the values it reaches already known:
//!
//! * a single state `x` (no cycle, or only a self-loop `p = P_π(x, x)`):
//!   `V(x) = (c_π(x) + γ Σ_{y≠x} P_π(x, y) V(y)) / (1 − γ p)`;
//! * a cycle of `m ≤ 512` states: the `m × m` system `(I − γP_CC) V_C = c_C + γ P_C,out V_out`
//!   by dense Gaussian elimination with partial pivoting (sequential);
//! * a larger component: that system by faer's sparse LU.
//!
//! Drift-dominated chains (deterministic dynamics, the semi-Lagrangian feet moving towards an
//! attractor) are almost acyclic: the evaluation is one pass over the nonzeros plus small solves.
//! Noisy chains are one component: the whole system goes to the sparse LU, as before. The
//! arithmetic does not depend on the thread count (everything but faer's LU is sequential here).

use super::Mdp;
use crate::error::{HjbError, Result};
use faer::linalg::solvers::Solve;
use faer::sparse::linalg::solvers::{Lu, SymbolicLu};
use faer::sparse::{Pair, SparseColMat, SymbolicSparseColMat};
use faer::Mat;

/// Components up to this size are solved densely.
const DENSE: usize = 512;

/// The chain of one policy, compact: row `x` at `start[x]..start[x + 1]` (terminal rows empty).
#[derive(Debug, Default)]
pub(crate) struct PolicyChain {
    pub(crate) start: Vec<usize>,
    pub(crate) target: Vec<u32>,
    pub(crate) probability: Vec<f64>,
    /// `c_π(x)`, or `g(x)` at terminal states.
    pub(crate) cost: Vec<f64>,
}

impl PolicyChain {
    /// Extract the rows of `policy` from the state-major rows of `mdp` (reusing the buffers).
    pub(crate) fn extract(&mut self, mdp: &Mdp, policy: &[usize]) {
        let t = &mdp.transitions;
        self.start.clear();
        self.target.clear();
        self.probability.clear();
        self.cost.clear();
        self.start.reserve(mdp.nodes + 1);
        self.cost.reserve(mdp.nodes);
        let entries = mdp.transitions.width.max(2) * mdp.nodes;
        self.target.reserve(entries);
        self.probability.reserve(entries);
        self.start.push(0);
        for x in 0..mdp.nodes {
            if mdp.terminal[x] {
                self.cost.push(mdp.terminal_value[x]);
            } else {
                let row = x * mdp.action_count + policy[x];
                t.push_row_into(row, &mut self.target, &mut self.probability);
                self.cost.push(mdp.cost[row]);
            }
            self.start.push(self.target.len());
        }
    }

    fn row(&self, x: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (start, end) = (self.start[x], self.start[x + 1]);
        self.target[start..end].iter().map(|y| *y as usize).zip(self.probability[start..end].iter().copied())
    }
}

/// The policy evaluator of one policy iteration run (its buffers are reused).
#[derive(Debug, Default)]
pub struct PolicyEvaluation {
    chain: PolicyChain,
    /// Position of each state inside its component (while the component is solved).
    local: Vec<u32>,
}

impl PolicyEvaluation {
    /// An evaluator for `mdp`.
    pub fn new(mdp: &Mdp) -> Self {
        PolicyEvaluation { chain: PolicyChain::default(), local: vec![u32::MAX; mdp.nodes] }
    }

    /// The value of `policy`.
    pub fn evaluate(&mut self, mdp: &Mdp, policy: &[usize]) -> Result<Vec<f64>> {
        self.chain.extract(mdp, policy);
        let (order, bounds) = components(&self.chain.start, &self.chain.target);
        let gamma = mdp.discount;
        let mut values = vec![f64::NAN; mdp.nodes];
        for pair in bounds.windows(2) {
            let members = &order[pair[0]..pair[1]];
            if let [x] = members {
                let x = *x as usize;
                let (mut known, mut stay) = (0.0, 0.0);
                for (y, p) in self.chain.row(x) {
                    if y == x {
                        stay += p;
                    } else {
                        known += p * values[y];
                    }
                }
                values[x] = (self.chain.cost[x] + gamma * known) / (1.0 - gamma * stay);
            } else {
                for (i, x) in members.iter().enumerate() {
                    self.local[*x as usize] = i as u32;
                }
                let solved = if members.len() <= DENSE {
                    dense_component(&self.chain, members, &self.local, &values, gamma)
                } else {
                    sparse_component(&self.chain, members, &self.local, &values, gamma)?
                };
                for (x, value) in members.iter().zip(solved) {
                    values[*x as usize] = value;
                    self.local[*x as usize] = u32::MAX;
                }
            }
        }
        if let Some(x) = values.iter().position(|v| !v.is_finite()) {
            return Err(HjbError::Numerical(format!(
                "MDP policy evaluation: non-finite value at state {x}: the policy never reaches a \
                 terminal state (with γ = 1 every state must reach one)"
            )));
        }
        Ok(values)
    }
}

/// Strongly connected components of the graph with rows `start`/`target` (Tarjan, iterative):
/// the states grouped by component, and the component bounds in `order`, each component after
/// every component it reaches.
pub(crate) fn components(start: &[usize], target: &[u32]) -> (Vec<u32>, Vec<usize>) {
    const UNSEEN: u32 = u32::MAX;
    let nodes = start.len() - 1;
    let mut index = vec![UNSEEN; nodes];
    let mut low = vec![0u32; nodes];
    let mut on_stack = vec![false; nodes];
    let mut stack: Vec<u32> = Vec::new();
    let mut calls: Vec<(u32, usize)> = Vec::new();
    let mut counter = 0u32;
    let mut order = Vec::with_capacity(nodes);
    let mut bounds = vec![0];
    for root in 0..nodes {
        if index[root] != UNSEEN {
            continue;
        }
        macro_rules! visit {
            ($v:expr) => {{
                let v: usize = $v;
                index[v] = counter;
                low[v] = counter;
                counter += 1;
                stack.push(v as u32);
                on_stack[v] = true;
                calls.push((v as u32, start[v]));
            }};
        }
        visit!(root);
        while let Some(&(v, edge)) = calls.last() {
            let v = v as usize;
            if edge < start[v + 1] {
                if let Some(call) = calls.last_mut() {
                    call.1 += 1;
                }
                let w = target[edge] as usize;
                if index[w] == UNSEEN {
                    visit!(w);
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent as usize] = low[parent as usize].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    order.push(w);
                    if w as usize == v {
                        break;
                    }
                }
                bounds.push(order.len());
            }
        }
    }
    (order, bounds)
}

/// The component's matrix `I − γP_CC` (row-major, `m × m`) and right side
/// `c_C + γ P_C,out V_out`.
fn component_system(
    chain: &PolicyChain,
    members: &[u32],
    local: &[u32],
    values: &[f64],
    gamma: f64,
    mut entry: impl FnMut(usize, usize, f64),
) -> Vec<f64> {
    members
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let x = *x as usize;
            entry(i, i, 1.0);
            let mut right = chain.cost[x];
            for (y, p) in chain.row(x) {
                match local[y] {
                    u32::MAX => right += gamma * p * values[y],
                    j => entry(i, j as usize, -gamma * p),
                }
            }
            right
        })
        .collect()
}

/// A small component by dense Gaussian elimination with partial pivoting.
fn dense_component(
    chain: &PolicyChain,
    members: &[u32],
    local: &[u32],
    values: &[f64],
    gamma: f64,
) -> Vec<f64> {
    let m = members.len();
    let mut a = vec![0.0; m * m];
    let mut b = component_system(chain, members, local, values, gamma, |i, j, v| a[i * m + j] += v);
    for k in 0..m {
        let pivot =
            (k..m).fold(k, |best, i| if a[i * m + k].abs() > a[best * m + k].abs() { i } else { best });
        if pivot != k {
            for j in 0..m {
                a.swap(k * m + j, pivot * m + j);
            }
            b.swap(k, pivot);
        }
        let diagonal = a[k * m + k];
        for i in k + 1..m {
            let factor = a[i * m + k] / diagonal;
            if factor != 0.0 {
                for j in k..m {
                    a[i * m + j] -= factor * a[k * m + j];
                }
                b[i] -= factor * b[k];
            }
        }
    }
    for k in (0..m).rev() {
        let known: f64 = (k + 1..m).map(|j| a[k * m + j] * b[j]).sum();
        b[k] = (b[k] - known) / a[k * m + k];
    }
    b
}

/// A large component by faer's sparse LU.
fn sparse_component(
    chain: &PolicyChain,
    members: &[u32],
    local: &[u32],
    values: &[f64],
    gamma: f64,
) -> Result<Vec<f64>> {
    let m = members.len();
    let mut pairs = Vec::new();
    let mut entries = Vec::new();
    let right = component_system(chain, members, local, values, gamma, |i, j, v| {
        pairs.push(Pair::new(i, j));
        entries.push(v);
    });
    let numerical = |message: String| HjbError::Numerical(format!("MDP policy evaluation: {message}"));
    let (symbolic, argsort) = SymbolicSparseColMat::try_new_from_indices(m, m, &pairs)
        .map_err(|error| numerical(format!("sparsity pattern: {error:?}")))?;
    let matrix = SparseColMat::new_from_argsort(symbolic.clone(), &argsort, &entries)
        .map_err(|error| numerical(format!("assembly: {error:?}")))?;
    let symbolic_lu = SymbolicLu::try_new(symbolic.as_ref())
        .map_err(|error| numerical(format!("symbolic LU: {error:?}")))?;
    let lu = Lu::try_new_with_symbolic(symbolic_lu, matrix.as_ref()).map_err(|error| {
        numerical(format!(
            "LU (is the policy proper? with γ = 1 every state must reach a terminal one): {error:?}"
        ))
    })?;
    let right = Mat::from_fn(m, 1, |i, _| right[i]);
    let solution = lu.solve(&right);
    Ok((0..m).map(|i| solution[(i, 0)]).collect())
}
