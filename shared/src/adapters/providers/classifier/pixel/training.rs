//! Training the linear model: label-keeping views of the labelled photos and the logistic fit (bench and tests only).

use super::features::Features;
use super::model::{INPUTS, KINDS, Weights, probabilities};
use crate::PhotoKind;
use image::DynamicImage;

/// The views of one labelled photo that [`fit`] learns from: the photo itself and, for model-worn
/// and detail photos, two crops that keep the label. A model photo cut below the chin or to the
/// torso is still model-worn (stores often frame models that way: no face, the garment filling the
/// frame), and a crop of a close-up is still a close-up. A flat photo gets no crops: cutting into
/// the product would make it a detail.
pub fn training_views(image: &DynamicImage, kind: PhotoKind) -> Vec<DynamicImage> {
    let (w, h) = (image.width(), image.height());
    let mut views = vec![image.clone()];
    if kind != PhotoKind::Flat && w >= 10 && h >= 10 {
        // Below the chin: the top 30 % (head and neck on a full-length shot) cut off.
        views.push(image.crop_imm(0, h * 3 / 10, w, h - h * 3 / 10));
        // The torso: the middle 70 % of the width, from 20 % to 90 % of the height.
        views.push(image.crop_imm(w * 15 / 100, h / 5, w * 7 / 10, h * 7 / 10));
    }
    views
}

/// Fits the weights by multinomial logistic regression with an L2 penalty (full-batch gradient descent).
pub fn fit(samples: &[(Features, PhotoKind)]) -> Weights {
    /// Strength of the L2 penalty: keeps a few dozen photos from pinning a weight on one outlier.
    const L2: f32 = 0.01;
    const STEP: f32 = 0.5;
    const ROUNDS: usize = 5000;
    let xs: Vec<([f32; INPUTS], usize)> =
        samples.iter().map(|(f, k)| (f.inputs(), KINDS.iter().position(|x| x == k).unwrap_or(0))).collect();
    let mut w: Weights = [[0.0; INPUTS]; 3];
    let n = xs.len().max(1) as f32;
    for _ in 0..ROUNDS {
        let mut grad = [[0.0f32; INPUTS]; 3];
        for (x, y) in &xs {
            let p = probabilities(w.map(|wk| wk.iter().zip(x).map(|(a, b)| a * b).sum()));
            for k in 0..3 {
                let err = p[k] - f32::from(u8::from(k == *y));
                for j in 0..INPUTS {
                    grad[k][j] += err * x[j] / n;
                }
            }
        }
        for k in 0..3 {
            for j in 0..INPUTS {
                let penalty = if j == 0 { 0.0 } else { L2 * w[k][j] };
                w[k][j] -= STEP * (grad[k][j] + penalty);
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::super::features::features;
    use super::super::model::{decide, scores};
    use super::super::testutil::person_in_room;
    use super::*;

    #[test]
    fn training_views_crop_model_and_detail_photos_but_not_flats() {
        let img = person_in_room();
        assert_eq!(training_views(&img, PhotoKind::Flat).len(), 1);
        let views = training_views(&img, PhotoKind::ModelWorn);
        assert_eq!(views.len(), 3);
        assert_eq!((views[0].width(), views[0].height()), (300, 400));
        // Below the chin: the whole width, the face gone.
        assert_eq!((views[1].width(), views[1].height()), (300, 280));
        assert!(features(&views[1]).head_skin < features(&img).head_skin);
        // The torso: narrower and shorter than the photo.
        assert_eq!((views[2].width(), views[2].height()), (210, 280));
        assert_eq!(training_views(&DynamicImage::new_rgb8(4, 4), PhotoKind::Detail).len(), 1);
    }

    #[test]
    fn fit_learns_separable_features() {
        let f = |skin: f32, touch: f32, uniform: f32| Features {
            head_skin: skin,
            touch: [touch; 4],
            border_uniform: uniform,
            ..Features::default()
        };
        let samples = [
            (f(0.6, 0.1, 0.8), PhotoKind::ModelWorn),
            (f(0.7, 0.0, 0.9), PhotoKind::ModelWorn),
            (f(0.0, 0.0, 1.0), PhotoKind::Flat),
            (f(0.1, 0.0, 0.95), PhotoKind::Flat),
            (f(0.0, 1.0, 0.2), PhotoKind::Detail),
            (f(0.1, 0.9, 0.4), PhotoKind::Detail),
        ];
        let w = fit(&samples);
        for (x, kind) in samples {
            assert_eq!(decide(scores(&w, &x)).kind, kind, "{x:?}");
        }
    }
}
