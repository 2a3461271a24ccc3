//! The linear model: per-kind weights over the features, scores, probabilities and the decision.

use super::features::Features;
use crate::PhotoKind;
use crate::ports::Classification;

/// Number of inputs to the linear score, the constant 1 included.
pub const INPUTS: usize = 10;

/// Per-kind weights of the linear score, in [`KINDS`] order.
pub type Weights = [[f32; INPUTS]; 3];

/// The kinds, in the order of the scores.
pub const KINDS: [PhotoKind; 3] = [PhotoKind::ModelWorn, PhotoKind::Flat, PhotoKind::Detail];

impl Features {
    /// The inputs of the linear score: a constant 1, then framing, skin and texture evidence.
    pub fn inputs(&self) -> [f32; INPUTS] {
        let [top, bottom, left, right] = self.touch;
        [
            1.0,
            top.max(bottom).max(left).max(right),
            (left + right) / 2.0,
            top,
            bottom,
            self.border_uniform,
            self.head_skin,
            self.skin,
            self.box_w * self.box_h,
            self.edges,
        ]
    }
}

/// Scores (logits) per kind in [`KINDS`] order.
pub fn scores(weights: &Weights, f: &Features) -> [f32; 3] {
    let x = f.inputs();
    weights.map(|w| w.iter().zip(&x).map(|(a, b)| a * b).sum())
}

/// Softmax of scores.
pub fn probabilities(scores: [f32; 3]) -> [f32; 3] {
    let max = scores.iter().copied().fold(f32::MIN, f32::max);
    let e = scores.map(|s| (s - max).exp());
    let sum: f32 = e.iter().sum();
    e.map(|v| v / sum)
}

/// The best kind and its confidence: the margin between the best and second-best probability.
pub(super) fn decide(scores: [f32; 3]) -> Classification {
    let p = probabilities(scores);
    let mut order = [0usize, 1, 2];
    order.sort_by(|a, b| p[*b].total_cmp(&p[*a]));
    Classification { kind: KINDS[order[0]], confidence: (p[order[0]] - p[order[1]]).clamp(0.0, 1.0) }
}

/// The shipped weights: `fit` over the `training_views` of the 37 labelled fixture photos, printed by
/// `cargo bench -p truereel-tests --bench classify -- --fit` (see docs/classifier.md for the
/// leave-one-out figure). Rows: model-worn, flat, detail; columns as in [`Features::inputs`].
pub const WEIGHTS: Weights = [
    [0.17, 0.19, -0.60, -0.08, 0.43, -0.10, 2.27, 0.99, -0.34, 0.04],
    [0.87, -1.69, -0.20, -1.32, -0.87, 0.63, -1.08, -0.42, -0.50, 0.17],
    [-1.05, 1.50, 0.81, 1.41, 0.44, -0.53, -1.19, -0.57, 0.85, -0.21],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_is_the_margin_between_the_two_best() {
        let sure = decide([5.0, 0.0, 0.0]);
        let torn = decide([1.0, 0.98, -3.0]);
        assert_eq!(sure.kind, PhotoKind::ModelWorn);
        assert!(sure.confidence > 0.95, "{sure:?}");
        assert!(torn.confidence < 0.05, "{torn:?}");
        for s in [[0.0; 3], [-50.0, 50.0, 0.0], [f32::MAX, 0.0, f32::MIN]] {
            let c = decide(s);
            assert!((0.0..=1.0).contains(&c.confidence), "{s:?} -> {c:?}");
        }
    }

    #[test]
    fn probabilities_sum_to_one_and_keep_the_order() {
        let p = probabilities([2.0, -1.0, 0.5]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{p:?}");
        assert!(p[0] > p[2] && p[2] > p[1], "{p:?}");
    }
}
