//! The shot list: how many shots a length takes, which role each plays, and which photo each is
//! grounded in, picked by a documented score.
//!
//! **Roles.** A reel opens (ideally on the product worn), has a texture moment on a detail crop, a
//! clean reveal on a studio/flat frame, other views as the length allows, and closes on a call to
//! action over the whole product. A role whose kind of photo the gallery lacks is left out, and the
//! plan's notes say so. The number of shots is `round(length / 3.75 s)`, 2 to 12, and at most two
//! more than the photos there are (a one-photo gallery is looked at from different windows, not
//! repeated six times).
//!
//! **Score** of a photo for a role, 0..1 (the highest wins; ties go to the earlier gallery position):
//!
//! | term | weight | measure |
//! |---|---|---|
//! | kind | 0.50 | how well the photo's kind suits the role ([`KIND_FIT`]), blended towards the role's average by the classifier's doubt: `c·fit + (1−c)·mean` |
//! | resolution | 0.20 | short side / 1080, at most 1 |
//! | sharpness | 0.15 | measured at intake (0.5 when unknown) |
//! | size in frame | 0.15 | the product's share of the photo: 1 from 25 % to 85 %, less outside; 1 for detail crops; 0.7 when unknown (busy background) |
//! | used already | −0.35 | a photo already in the reel, while others are left |
//! | rejected | −0.15 | a photo a rejected plan used in the same role (so a replan shows something else when it can) |
//! | the brand's verdicts | ±0.2 | once the brand has judged clips: [`KIND_LEARNING`] × (the expected pass rate of the photo's kind − 0.5), so a kind of photo the video models keep getting wrong for this brand gives way ([`crate::learning`]) |

use crate::learning::{Facet, PassRates};
use crate::{PhotoKind, Reference, Sha256, ShotRole, SubjectBox};

/// How much the brand's pass rate of a kind of photo moves a photo's score.
pub const KIND_LEARNING: f64 = 0.4;

/// Mean shot length the count is derived from.
const SHOT_MS: f64 = 3_750.0;
pub const MIN_SHOTS: usize = 2;
pub const MAX_SHOTS: usize = 12;
/// Below this classifier confidence a photo does not count as having its kind when deciding which
/// roles a gallery can fill.
const KIND_SURE: f32 = 0.4;

/// How well each kind suits each role: `[model_worn, flat, detail]`.
pub const KIND_FIT: [(ShotRole, [f64; 3]); 5] = [
    (ShotRole::Opening, [1.0, 0.6, 0.1]),
    (ShotRole::Texture, [0.2, 0.3, 1.0]),
    (ShotRole::Reveal, [0.5, 1.0, 0.1]),
    (ShotRole::View, [0.7, 0.7, 0.5]),
    (ShotRole::CallToAction, [0.8, 1.0, 0.0]),
];

/// One planned shot before it has a line, a move and a duration.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick<'a> {
    pub role: ShotRole,
    pub reference: &'a Reference,
    pub score: f64,
}

/// The roles a reel of `length_ms` over `photos` has, and notes on what the gallery lacks.
pub fn roles(photos: &[&Reference], length_ms: u32) -> (Vec<ShotRole>, Vec<String>) {
    let mut notes = Vec::new();
    let by_length = ((f64::from(length_ms) / SHOT_MS).round() as usize).clamp(MIN_SHOTS, MAX_SHOTS);
    let n = by_length.min(photos.len() + 2).max(MIN_SHOTS);
    if n < by_length {
        notes.push(format!(
            "{} photo{} for a {:.0} s reel: {n} shots instead of {by_length}",
            photos.len(),
            if photos.len() == 1 { "" } else { "s" },
            f64::from(length_ms) / 1000.0
        ));
    }
    let has = |k: PhotoKind| photos.iter().any(|r| r.kind == k && r.kind_confidence >= KIND_SURE);
    if !has(PhotoKind::ModelWorn) {
        notes.push("no photo of it worn: the reel opens on the best photo there is".into());
    }
    let mut middle = Vec::new();
    if has(PhotoKind::Detail) {
        middle.push(ShotRole::Texture);
    } else {
        notes.push("no detail crop in the gallery: no texture moment".into());
    }
    if has(PhotoKind::Flat) {
        middle.push(ShotRole::Reveal);
    } else {
        notes.push("no studio or flat photo: no clean reveal".into());
    }
    let room = n.saturating_sub(2);
    middle.truncate(room);
    while middle.len() < room {
        middle.push(ShotRole::View);
    }
    let mut roles = vec![ShotRole::Opening];
    roles.extend(middle);
    roles.push(ShotRole::CallToAction);
    (roles, notes)
}

/// The photo for each role, best score first (the call to action last, so it can take the best
/// whole-product photo even if used), never a photo twice while others are left.
/// `rates`: the brand's pass rates (none known: the score alone).
pub fn pick<'a>(
    roles: &[ShotRole],
    photos: &[&'a Reference],
    rejected: &[(ShotRole, Sha256)],
    rates: &PassRates,
) -> Vec<Pick<'a>> {
    let learned = rates.knows(Facet::Photo);
    let mut used: Vec<&Sha256> = Vec::new();
    let mut picks = Vec::with_capacity(roles.len());
    for &role in roles {
        let all_used = photos.iter().all(|p| used.contains(&&p.sha256));
        let best = photos
            .iter()
            .map(|p| {
                let mut s = score(p, role);
                if !all_used && used.contains(&&p.sha256) {
                    s -= 0.35;
                }
                if rejected.iter().any(|(r, sha)| *r == role && *sha == p.sha256) {
                    s -= 0.15;
                }
                if learned {
                    s += KIND_LEARNING * (rates.expected(Facet::Photo, p.kind.as_str()) - 0.5);
                }
                (p, s)
            })
            .fold(None::<(&&Reference, f64)>, |best, (p, s)| match best {
                Some((_, b)) if b >= s => best,
                _ => Some((p, s)),
            });
        if let Some((p, s)) = best {
            used.push(&p.sha256);
            picks.push(Pick { role, reference: p, score: s });
        }
    }
    picks
}

/// The score of `photo` for `role` (see the module doc), without the reel's penalties.
pub fn score(photo: &Reference, role: ShotRole) -> f64 {
    let fits = KIND_FIT.iter().find(|(r, _)| *r == role).map(|(_, f)| *f).unwrap_or([0.5; 3]);
    let k = match photo.kind {
        PhotoKind::ModelWorn => 0,
        PhotoKind::Flat => 1,
        PhotoKind::Detail => 2,
    };
    let c = f64::from(photo.kind_confidence.clamp(0.0, 1.0));
    let mean = fits.iter().sum::<f64>() / 3.0;
    let kind = c * fits[k] + (1.0 - c) * mean;
    let resolution = (f64::from(photo.width.min(photo.height)) / 1080.0).min(1.0);
    let sharpness = photo.sharpness.map_or(0.5, |s| f64::from(s.clamp(0.0, 1.0)));
    let size = match (photo.kind, photo.framing) {
        (PhotoKind::Detail, _) => 1.0,
        (_, Some(f)) if f.uniform_background && f.subject != SubjectBox::WHOLE => {
            let share = (f.subject.width() * f.subject.height()).clamp(0.0, 1.0);
            if share < 0.25 {
                share / 0.25
            } else if share > 0.85 {
                1.0 - (share - 0.85)
            } else {
                1.0
            }
        }
        _ => 0.7,
    };
    0.5 * kind + 0.2 * resolution + 0.15 * sharpness + 0.15 * size
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::plan::testutil::reference;

    #[test]
    fn a_full_gallery_opens_worn_has_texture_reveal_and_a_call_to_action() {
        let refs = [
            reference(1, PhotoKind::Flat, 1280, 1120),
            reference(2, PhotoKind::ModelWorn, 960, 1280),
            reference(3, PhotoKind::Detail, 820, 616),
            reference(4, PhotoKind::Flat, 1280, 1120),
        ];
        let photos: Vec<&Reference> = refs.iter().collect();
        let (roles, notes) = roles(&photos, 15_000);
        assert_eq!(roles, [ShotRole::Opening, ShotRole::Texture, ShotRole::Reveal, ShotRole::CallToAction]);
        assert!(notes.is_empty(), "{notes:?}");
        let picks = pick(&roles, &photos, &[], &PassRates::default());
        let positions: Vec<u32> = picks.iter().map(|p| p.reference.position).collect();
        assert_eq!(positions, [2, 3, 1, 4], "every photo once, each where it suits best");
        let (long, _) = super::roles(&photos, 30_000);
        assert_eq!(long.len(), 6, "four photos: at most six shots");
        assert_eq!(long.iter().filter(|r| **r == ShotRole::View).count(), 2);
    }

    #[test]
    fn only_flat_shots_and_a_single_photo_say_what_is_missing() {
        let flats = [reference(1, PhotoKind::Flat, 1000, 1000), reference(2, PhotoKind::Flat, 1000, 1000)];
        let photos: Vec<&Reference> = flats.iter().collect();
        let (roles, notes) = roles(&photos, 15_000);
        assert_eq!(roles, [ShotRole::Opening, ShotRole::Reveal, ShotRole::View, ShotRole::CallToAction]);
        assert!(notes.iter().any(|n| n.contains("no detail crop")), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("worn")), "{notes:?}");
        let one = [reference(1, PhotoKind::ModelWorn, 1000, 1500)];
        let photos: Vec<&Reference> = one.iter().collect();
        let (roles, notes) = super::roles(&photos, 15_000);
        assert_eq!(roles.len(), 3);
        assert!(notes.iter().any(|n| n.contains("1 photo for a 15 s reel")), "{notes:?}");
        assert!(pick(&roles, &photos, &[], &PassRates::default()).iter().all(|p| p.reference.position == 1));
        let (short, _) = super::roles(&photos, 6_000);
        assert_eq!(short, [ShotRole::Opening, ShotRole::CallToAction]);
    }

    #[test]
    fn the_score_prefers_sharp_large_confident_photos_and_a_rejection_moves_the_pick() {
        let mut sharp = reference(1, PhotoKind::Flat, 2000, 2000);
        sharp.sharpness = Some(0.9);
        let mut soft = reference(2, PhotoKind::Flat, 600, 600);
        soft.sharpness = Some(0.1);
        assert!(score(&sharp, ShotRole::Reveal) > score(&soft, ShotRole::Reveal));
        let mut unsure = reference(3, PhotoKind::Detail, 2000, 2000);
        unsure.kind_confidence = 0.1;
        let mut sure = unsure.clone();
        sure.kind_confidence = 0.95;
        assert!(score(&sure, ShotRole::Texture) > score(&unsure, ShotRole::Texture));

        let a = reference(1, PhotoKind::Flat, 1000, 1000);
        let b = reference(2, PhotoKind::Flat, 990, 990);
        let photos = vec![&a, &b];
        assert_eq!(pick(&[ShotRole::Reveal], &photos, &[], &PassRates::default())[0].reference.position, 1);
        let rejected = [(ShotRole::Reveal, a.sha256.clone())];
        assert_eq!(pick(&[ShotRole::Reveal], &photos, &rejected, &PassRates::default())[0].reference.position, 2);
    }

    #[test]
    fn a_kind_of_photo_that_keeps_failing_for_the_brand_gives_way() {
        use crate::learning::Tally;
        let worn = reference(1, PhotoKind::ModelWorn, 1200, 1200);
        let flat = reference(2, PhotoKind::Flat, 1200, 1200);
        let photos = vec![&worn, &flat];
        let none = PassRates::default();
        assert_eq!(pick(&[ShotRole::Opening], &photos, &[], &none)[0].reference.kind, PhotoKind::ModelWorn);
        let t = |kind: PhotoKind, passed, failed| Tally {
            facet: Facet::Photo,
            value: kind.as_str().into(),
            passed,
            failed,
        };
        // One failure is not enough to leave the best photo for the opening.
        let once = PassRates::new(&[t(PhotoKind::ModelWorn, 3, 1), t(PhotoKind::Flat, 3, 0)]);
        assert_eq!(pick(&[ShotRole::Opening], &photos, &[], &once)[0].reference.kind, PhotoKind::ModelWorn);
        // Worn photos failed this brand's judge 6 times of 6: the opening shows the flat one.
        let often = PassRates::new(&[t(PhotoKind::ModelWorn, 0, 6), t(PhotoKind::Flat, 6, 0)]);
        assert_eq!(pick(&[ShotRole::Opening], &photos, &[], &often)[0].reference.kind, PhotoKind::Flat);
    }
}
