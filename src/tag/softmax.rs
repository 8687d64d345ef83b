//! Multinomial logistic regression (softmax regression): the theme model of coded examples.
//!
//! `p(theme | x) = softmax(x·W + b)`, fitted by minimising the weighted cross-entropy against
//! soft targets (a quote coded with two themes is half of each) plus `alpha/2 · |W|²` (the
//! intercept is not penalised), with L-BFGS from `argmin`. The two matrix products of each
//! step (`X·W` and `Xᵀ·(P − Y)`) run on candle's CPU matmul.
//!
//! Why not the ridge fit of [`super::learn`]: least squares on one-hot targets spends its
//! capacity on matching 0s and 1s rather than on ranking the right theme first. On serdif-dev
//! (leave one session out, the same [sentence ‖ prompt ‖ turn] features, a theme for every
//! sentence) theme accuracy is 0.59 against ridge's 0.55 (BENCHMARKS.md).

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use candle_core::{Device, Tensor, D};
use std::sync::Mutex;

/// L-BFGS memory (pairs of past steps).
const MEMORY: usize = 10;
/// Most L-BFGS iterations of one fit (serdif-dev's converge in about 130 from zero, 90 warm).
const MAX_ITERS: u64 = 400;
/// Stop when the gradient norm is this small (the loss is a sum over rows: O(rows)).
const GRADIENT_TOLERANCE: f64 = 1e-4;
/// Or when a step lowers the loss by less than this per row: the loss is summed in f32, and
/// below this the line search only chases rounding.
const COST_TOLERANCE: f64 = 1e-6;

/// A fitted model.
#[derive(Debug, Clone)]
pub struct Softmax {
    /// Row-major d × k.
    w: Vec<f32>,
    b: Vec<f32>,
}

impl Softmax {
    /// Fits rows `xs` (all of one width) to soft `targets` (k numbers each, summing to 1) with
    /// row weights `weight`; `warm` starts from an earlier fit of the same shape (the folds of a
    /// cross-validation start from the model of all rows and converge in fewer steps).
    pub fn fit(
        xs: &[&[f32]],
        targets: &[Vec<f32>],
        weight: &[f32],
        alpha: f64,
        warm: Option<&Softmax>,
    ) -> Result<Softmax, String> {
        let err = |e: candle_core::Error| format!("softmax regression: {e}");
        let (n, d) = (xs.len(), xs.first().map_or(0, |x| x.len()));
        let k = targets.first().map_or(0, |t| t.len());
        if n == 0 || d == 0 || k == 0 {
            return Err("softmax regression: nothing to fit".into());
        }
        let cpu = &Device::Cpu;
        let flat: Vec<f32> = xs.iter().flat_map(|x| x.iter().copied()).collect();
        let x = Tensor::from_vec(flat, (n, d), cpu).map_err(err)?;
        // Weighted targets: the loss is −Σᵢ cᵢ Σₖ yᵢₖ log pᵢₖ and its gradient Σᵢ cᵢ (pᵢ − yᵢ).
        let cy: Vec<f32> = targets
            .iter()
            .zip(weight)
            .flat_map(|(t, &c)| t.iter().map(move |&y| c * y))
            .collect();
        let problem = Problem {
            xt: x.t().and_then(|t| t.contiguous()).map_err(err)?,
            x,
            cy: Tensor::from_vec(cy, (n, k), cpu).map_err(err)?,
            c: Tensor::from_vec(weight.to_vec(), (n, 1), cpu).map_err(err)?,
            d,
            k,
            alpha,
            last: Mutex::new(None),
        };
        let init: Vec<f64> = match warm {
            Some(m) if m.w.len() == d * k && m.b.len() == k => {
                m.w.iter().chain(&m.b).map(|&v| v as f64).collect()
            }
            _ => vec![0.0; d * k + k],
        };
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), MEMORY)
            .with_tolerance_grad(GRADIENT_TOLERANCE)
            .and_then(|s| s.with_tolerance_cost(COST_TOLERANCE * n as f64))
            .map_err(|e| format!("softmax regression: {e}"))?;
        let result = Executor::new(problem, solver)
            .configure(|s| s.param(init).max_iters(MAX_ITERS))
            .run()
            .map_err(|e| format!("softmax regression: {e}"))?;
        let p = result
            .state()
            .get_best_param()
            .ok_or("softmax regression: no solution")?;
        Ok(Softmax {
            w: p[..d * k].iter().map(|&v| v as f32).collect(),
            b: p[d * k..].iter().map(|&v| v as f32).collect(),
        })
    }

    /// The probability of each class for `x`.
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        let k = self.b.len();
        let mut z = self.b.clone();
        for (&xj, wj) in x.iter().zip(self.w.chunks_exact(k)) {
            if xj != 0.0 {
                for (o, &w) in z.iter_mut().zip(wj) {
                    *o += xj * w;
                }
            }
        }
        let max = z.iter().copied().fold(f32::MIN, f32::max);
        let mut sum = 0.0;
        for v in z.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        z.iter_mut().for_each(|v| *v /= sum);
        z
    }
}

/// Parameters with their loss and gradient.
type Evaluated = (Vec<f64>, f64, Vec<f64>);

/// The loss of one fit, for argmin. Parameters: W (d × k, row-major), then b (k).
struct Problem {
    x: Tensor,
    xt: Tensor,
    /// Targets times row weights (n × k).
    cy: Tensor,
    /// Row weights (n × 1).
    c: Tensor,
    d: usize,
    k: usize,
    alpha: f64,
    /// The last parameters evaluated with their loss and gradient: the line search asks for
    /// both at each point.
    last: Mutex<Option<Evaluated>>,
}

impl Problem {
    fn evaluate(&self, p: &[f64]) -> Result<(f64, Vec<f64>), candle_core::Error> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((q, loss, grad)) = last.as_ref() {
            if q.as_slice() == p {
                return Ok((*loss, grad.clone()));
            }
        }
        let (d, k) = (self.d, self.k);
        let cpu = &Device::Cpu;
        let w = Tensor::from_vec(
            p[..d * k].iter().map(|&v| v as f32).collect::<Vec<_>>(),
            (d, k),
            cpu,
        )?;
        let b = Tensor::from_vec(
            p[d * k..].iter().map(|&v| v as f32).collect::<Vec<_>>(),
            (1, k),
            cpu,
        )?;
        let z = self.x.matmul(&w)?.broadcast_add(&b)?;
        let z = z.broadcast_sub(&z.max_keepdim(D::Minus1)?)?;
        let log_p = z.broadcast_sub(&z.exp()?.sum_keepdim(D::Minus1)?.log()?)?;
        let data_loss = -(log_p.mul(&self.cy)?.sum_all()?.to_scalar::<f32>()? as f64);
        // Σᵢ cᵢ (pᵢ − yᵢ), with Σₖ yᵢₖ = 1.
        let g = log_p.exp()?.broadcast_mul(&self.c)?.sub(&self.cy)?;
        let gw: Vec<f32> = self.xt.matmul(&g)?.flatten_all()?.to_vec1()?;
        let gb: Vec<f32> = g.sum(0)?.to_vec1()?;
        let penalty: f64 = p[..d * k].iter().map(|v| v * v).sum::<f64>() * self.alpha / 2.0;
        let mut grad: Vec<f64> = gw
            .iter()
            .zip(&p[..d * k])
            .map(|(&g, &w)| g as f64 + self.alpha * w)
            .collect();
        grad.extend(gb.iter().map(|&v| v as f64));
        let loss = data_loss + penalty;
        *last = Some((p.to_vec(), loss, grad.clone()));
        Ok((loss, grad))
    }
}

impl CostFunction for Problem {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Ok(self.evaluate(p)?.0)
    }
}

impl Gradient for Problem {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.evaluate(p)?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three classes around three centres in 2-D: the fit puts each centre in its class, and
    /// its probabilities sum to one.
    #[test]
    fn separates_three_clusters() {
        let centres = [[1.0f32, 0.0], [0.0, 1.0], [-1.0, -1.0]];
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for k in 0..90 {
            let c = centres[k % 3];
            let jitter = ((k * 37 % 11) as f32 - 5.0) / 25.0;
            xs.push(vec![c[0] + jitter, c[1] - jitter]);
            let mut y = vec![0.0; 3];
            y[k % 3] = 1.0;
            ys.push(y);
        }
        let refs: Vec<&[f32]> = xs.iter().map(|x| x.as_slice()).collect();
        let m = Softmax::fit(&refs, &ys, &vec![1.0; 90], 0.1, None).unwrap();
        for (k, c) in centres.iter().enumerate() {
            let p = m.predict(c);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            assert_eq!(best, k, "{p:?}");
            assert!(p[k] > 0.8, "{p:?}");
        }
        // Warm-started from itself, the fit stays where it was.
        let again = Softmax::fit(&refs, &ys, &vec![1.0; 90], 0.1, Some(&m)).unwrap();
        let (a, b) = (m.predict(&[0.3, 0.2]), again.predict(&[0.3, 0.2]));
        assert!(
            a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-3),
            "{a:?} {b:?}"
        );
    }

    /// A stronger penalty pulls the probabilities towards uniform, and a soft target of one half
    /// each keeps the two classes level.
    #[test]
    fn penalty_and_soft_targets() {
        let xs = [vec![1.0f32], vec![-1.0]];
        let refs: Vec<&[f32]> = xs.iter().map(|x| x.as_slice()).collect();
        let ys = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let loose = Softmax::fit(&refs, &ys, &[1.0, 1.0], 0.01, None).unwrap();
        let tight = Softmax::fit(&refs, &ys, &[1.0, 1.0], 10.0, None).unwrap();
        assert!(loose.predict(&[1.0])[0] > tight.predict(&[1.0])[0]);
        assert!(tight.predict(&[1.0])[0] > 0.5);
        let half = vec![vec![0.5, 0.5], vec![0.5, 0.5]];
        let m = Softmax::fit(&refs, &half, &[1.0, 1.0], 0.1, None).unwrap();
        let p = m.predict(&[1.0]);
        assert!((p[0] - 0.5).abs() < 1e-3, "{p:?}");
    }
}
