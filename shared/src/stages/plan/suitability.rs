//! How good a candidate a reel's photos are for generated video: a video model given one small
//! photo, or only detail crops, has to guess at the product.
//!
//! The score starts at 1 and loses, for each weakness found (each is a reason):
//!
//! | weakness | loss |
//! |---|---|
//! | no photo of the whole product (only detail crops) | 0.45 |
//! | the largest photo's short side under 720 px / under 1080 px | 0.30 / 0.10 |
//! | only one photo | 0.25 |
//! | every photo soft (sharpness under 0.15) | 0.20 |
//! | the product small in every whole-product photo (under 10 % of it) | 0.15 |
//!
//! A score with no loss gives one reason saying what is good.

use crate::{PhotoKind, Reference, SubjectBox, Suitability};

/// A whole-product photo counts when the classifier is at least this sure it is not a detail crop.
const WHOLE_SURE: f32 = 0.4;

pub fn rate(photos: &[&Reference]) -> Suitability {
    let mut score = 1.0f32;
    let mut reasons = Vec::new();
    let mut lose = |by: f32, why: String| {
        score -= by;
        reasons.push(why);
    };
    let whole: Vec<&&Reference> =
        photos.iter().filter(|r| r.kind != PhotoKind::Detail && r.kind_confidence >= WHOLE_SURE).collect();
    if whole.is_empty() {
        lose(0.45, "no photo of the whole product (only detail crops)".into());
    }
    let short = photos.iter().map(|r| r.width.min(r.height)).max().unwrap_or(0);
    if short < 720 {
        lose(0.30, format!("the largest photo is {short} px on its short side (under 720)"));
    } else if short < 1080 {
        lose(0.10, format!("the largest photo is {short} px on its short side (under 1080)"));
    }
    if photos.len() == 1 {
        lose(0.25, "only one photo".into());
    }
    let sharpest = photos.iter().filter_map(|r| r.sharpness).fold(None::<f32>, |m, s| Some(m.map_or(s, |m| m.max(s))));
    if let Some(s) = sharpest
        && s < 0.15
    {
        lose(0.20, format!("every photo is soft (sharpest {s:.2})"));
    }
    let shares: Vec<f64> = whole
        .iter()
        .filter_map(|r| r.framing.filter(|f| f.uniform_background && f.subject != SubjectBox::WHOLE))
        .map(|f| f.subject.width() * f.subject.height())
        .collect();
    if !shares.is_empty() && shares.len() == whole.len() && shares.iter().all(|s| *s < 0.10) {
        lose(0.15, "the product is small in every photo of it (under 10 % of the frame)".into());
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "{} photo{}, {} of the whole product, up to {short} px on the short side",
            photos.len(),
            if photos.len() == 1 { "" } else { "s" },
            whole.len()
        ));
    }
    Suitability { score: (score.clamp(0.0, 1.0) * 100.0).round() / 100.0, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::plan::testutil::reference;

    #[test]
    fn good_galleries_score_high_and_weak_ones_say_why() {
        let good = [reference(1, PhotoKind::ModelWorn, 1200, 1600), reference(2, PhotoKind::Flat, 1500, 1500)];
        let s = rate(&good.iter().collect::<Vec<_>>());
        assert_eq!(s.score, 1.0);
        assert!(s.reasons[0].contains("2 photos, 2 of the whole product"), "{s:?}");

        let one_small = [reference(1, PhotoKind::Flat, 500, 400)];
        let s = rate(&one_small.iter().collect::<Vec<_>>());
        assert_eq!(s.score, 0.45);
        assert_eq!(s.reasons.len(), 2, "{s:?}");

        let details = [reference(1, PhotoKind::Detail, 1200, 1200), reference(2, PhotoKind::Detail, 1200, 1200)];
        let s = rate(&details.iter().collect::<Vec<_>>());
        assert_eq!(s.score, 0.55);
        assert!(s.reasons[0].contains("whole product"), "{s:?}");
    }
}
