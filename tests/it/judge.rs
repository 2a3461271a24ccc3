//! Judge and retry on the embedded home: a shot the judge fails is made again (its next attempt)
//! with the voice-over kept byte for byte; one that never comes out right parks the reel after its
//! attempts, with every round's reasons, and a person sends its shots back or publishes it anyway.

use std::sync::Arc;
use truereel::homes::embedded::Embedded;
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::stages;
use truereel::stages::evaluate::round_verdict;
use truereel::{BlobKey, Reel, ReelStatus};
use truereel_tests::{
    Misrepresenting, audio_packets, drain_store, init_logs, only_reel, sample_store, small_config, stored_file,
};

const PRODUCT: &str = "pullover-hoodie";
/// Another product's photo: blue shoes, where the hoodie is red.
const OTHER: &str = "slipon-blue-side.jpg";

/// The image-to-video charges of one shot, by attempt.
async fn charged_attempts(e: &Embedded, reel: &Reel, shot: u32) -> Vec<u32> {
    let mut attempts: Vec<u32> = e
        .ports
        .state
        .ledger(Some(&reel.id))
        .await
        .unwrap()
        .iter()
        .filter(|l| l.operation == "image_to_video" && l.shot == Some(shot))
        .filter_map(|l| l.attempt)
        .collect();
    attempts.sort();
    attempts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shot_showing_another_product_is_made_again_and_the_reel_keeps_its_voice_over() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let mut e = Embedded::open_for_runner(data.path(), &small_config()).await.unwrap();
    Misrepresenting::install(&mut e.ports, 1, 1, OTHER);
    let report = drain_store(&e, &sample_store(), Some(&[PRODUCT])).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");

    let reel = only_reel(&e).await;
    let verdicts = e.ports.state.verdicts(&reel.id).await.unwrap();
    let details: Vec<String> = verdicts
        .iter()
        .flat_map(|v| v.checks.iter().map(move |c| format!("{} {} {}", v.round, c.passed, c.detail)))
        .collect();
    assert_eq!(reel.status, ReelStatus::Published, "{:?}\n{details:#?}", reel.reasons);
    let mut expected = vec![1; reel.plan.shots.len()];
    expected[1] = 2;
    assert_eq!(reel.shot_attempts, expected, "only the failing shot was made again: {details:#?}");
    assert_eq!(reel.round, 2);
    // Each judge's verdict stored on its own, every round.
    assert_eq!(
        verdicts.iter().map(|v| (v.round, v.judge.as_str(), v.passed)).collect::<Vec<_>>(),
        [(1, "product-match", false), (1, "spec-checks", false), (2, "product-match", true), (2, "spec-checks", true)]
    );
    let round_1 = round_verdict(&verdicts, 1).unwrap();
    assert_eq!(round_1.judge, "spec-checks+product-match");
    let failed: Vec<_> = round_1.checks.iter().filter(|c| !c.passed).collect();
    assert!(!failed.is_empty() && failed.iter().all(|c| c.shot == Some(1)), "{failed:#?}");
    assert!(failed.iter().any(|c| c.name == "product_match"), "{failed:#?}");

    // Both attempts of shot 1 charged, the other shots once.
    assert_eq!(charged_attempts(&e, &reel, 1).await, [1, 2]);
    for shot in [0, 2, 3].into_iter().filter(|s| (*s as usize) < reel.plan.shots.len()) {
        assert_eq!(charged_attempts(&e, &reel, shot).await, [1], "shot {shot}");
    }

    // The audio of both rounds and of the published reel is the approved voice-over's, packet for packet.
    let voice = audio_packets(&stored_file(&e, &BlobKey::voice_over_aac(&reel.voice_over.audio)));
    assert!(voice.len() > 10_000, "{} bytes of voice-over", voice.len());
    for key in [BlobKey::reel_video(&reel.id, 1), BlobKey::reel_video(&reel.id, 2), BlobKey::published_reel(&reel.id)] {
        assert!(audio_packets(&stored_file(&e, &key)) == voice, "{key}: the audio changed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shot_that_never_comes_out_right_parks_the_reel_and_a_person_sends_it_back_or_publishes_it() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let mut config = small_config();
    config.settings.max_attempts = 3;
    let mut e = Embedded::open_for_runner(data.path(), &config).await.unwrap();
    Misrepresenting::install(&mut e.ports, 1, u32::MAX, OTHER);
    let report = drain_store(&e, &sample_store(), Some(&[PRODUCT])).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");

    let reel = only_reel(&e).await;
    assert_eq!(reel.status, ReelStatus::NeedsReview);
    assert_eq!(reel.shot_attempts[1], 3);
    assert_eq!(charged_attempts(&e, &reel, 1).await, [1, 2, 3]);
    let verdicts = e.ports.state.verdicts(&reel.id).await.unwrap();
    assert_eq!(verdicts.len(), 6, "two judges, three rounds");
    assert!((1..=3).all(|round| !round_verdict(&verdicts, round).unwrap().passed));
    for round in 1..=3 {
        let prefix = format!("round {round}: ");
        assert!(reel.reasons.iter().any(|r| r.starts_with(&prefix) && r.contains("shot 2: ")), "{:#?}", reel.reasons);
    }
    assert!(reel.reasons.iter().any(|r| r == "shot 2 failed all 3 attempts"), "{:#?}", reel.reasons);
    let spent: i64 = e.ports.state.ledger(Some(&reel.id)).await.unwrap().iter().map(|l| l.usd.0).sum();
    assert!(spent <= config.settings.budget.per_reel.0, "within the reel's budget");
    assert!(e.ports.blobs.head(&BlobKey::published_reel(&reel.id)).await.unwrap().is_none(), "nothing published");

    // A person sends shot 2 back once more: its fourth attempt is made and judged (the others'
    // clips reused), and, still wrong, parks the reel again saying so.
    let sent = stages::review::regenerate_parked(&e.ports, &reel.id, &[2], "try the back photo's light").await.unwrap();
    assert!(sent.contains("shot 2 attempt 4"), "{sent}");
    runner::drain(&e.ports, &RunOptions::default(), Arc::new(LogProgress::default())).await.unwrap();
    let again = only_reel(&e).await;
    assert_eq!(again.status, ReelStatus::NeedsReview, "{:?}", again.reasons);
    assert_eq!((again.round, again.shot_attempts[1]), (4, 4));
    assert!(again.reasons.iter().any(|r| r == "shot 2 failed all 4 attempts"), "{:#?}", again.reasons);
    assert_eq!(charged_attempts(&e, &again, 1).await, [1, 2, 3, 4]);
    assert_eq!(charged_attempts(&e, &again, 0).await, [1], "a passing shot is reused, not made again");
    // Anything but a parked reel, a shot it has and (to publish) a reason is refused, changing nothing.
    let refused = |r: Result<String, stages::StageError>| r.unwrap_err().to_string();
    assert!(refused(stages::review::regenerate_parked(&e.ports, &reel.id, &[9], "").await).contains("no shot 9"));
    assert!(refused(stages::review::publish_parked(&e.ports, &reel.id, " ").await).contains("needs a reason"));

    // The person publishes the parked cut over the judge: version 1, the reason kept on it, the voice-over's audio.
    let said = stages::review::publish_parked(&e.ports, &reel.id, "the judge confuses the print; checked by eye")
        .await
        .unwrap();
    assert!(said.contains("published version 1 by a person over the judge (round 4)"), "{said}");
    let published = only_reel(&e).await;
    assert_eq!(published.status, ReelStatus::Published);
    let v = published.current_version().unwrap();
    assert_eq!((v.version, v.round), (1, 4));
    assert_eq!(v.overruled.as_deref(), Some("the judge confuses the print; checked by eye"));
    let stable = stored_file(&e, &BlobKey::published_reel(&reel.id));
    let cut = stored_file(&e, &BlobKey::reel_video(&reel.id, 4));
    assert!(std::fs::read(&stable).unwrap() == std::fs::read(cut).unwrap(), "the stable URL serves the parked cut");
    let voice = audio_packets(&stored_file(&e, &BlobKey::voice_over_aac(&reel.voice_over.audio)));
    assert!(audio_packets(&stable) == voice, "the audio is the voice-over's");
    assert!(refused(stages::review::publish_parked(&e.ports, &reel.id, "again").await).contains("it is published"));
}

/// The judge over the corpus made from the sample store's photos: what it accepts and rejects, by
/// kind of clip (printed as a table).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge_accepts_faithful_clips_and_rejects_misrepresenting_ones() {
    use truereel_tests::corpus::{self, Kind};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_path_buf();
    let clips =
        tokio::task::spawn_blocking(move || corpus::build(&sample_store(), &out, (270, 480), 3, 1)).await.unwrap();
    let judged = corpus::judge(&clips).await;
    println!("{}", corpus::confusion(&judged));
    let faithful: Vec<_> = judged.iter().filter(|j| j.kind.faithful()).collect();
    let refused: Vec<&str> = faithful.iter().filter(|j| j.wrong()).map(|j| j.said.as_str()).collect();
    assert!(faithful.len() >= 20 && refused.len() * 20 <= faithful.len(), "faithful clips refused: {refused:#?}");
    // Every misrepresenting clip is refused.
    let accepted: Vec<&str> =
        judged.iter().filter(|j| j.wrong() && !j.kind.faithful()).map(|j| j.said.as_str()).collect();
    assert!(accepted.is_empty(), "misrepresenting clips accepted: {accepted:#?}");
    // ...and by a check made for its kind, not by chance.
    let missed: Vec<&str> = (judged.iter().filter(|j| !j.kind.faithful()))
        .filter(|j| !j.kind.caught_by().iter().any(|check| j.said.contains(&format!("\"{check}: "))))
        .map(|j| j.said.as_str())
        .collect();
    assert!(missed.is_empty(), "refused, but not by the check made for their kind: {missed:#?}");
    assert_eq!(judged.iter().filter(|j| !j.kind.faithful()).count(), 6 * Kind::BAD.len(), "each bad kind per product");
}

/// The product-match validator in the pipeline: a shot showing another product of the store fails
/// `product_match` naming that product (its photos chosen by print from the store's), the shot is
/// made again, and the reel publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shot_that_looks_like_another_product_of_the_store_fails_product_match_naming_it() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let mut e = Embedded::open_for_runner(data.path(), &small_config()).await.unwrap();
    Misrepresenting::install(&mut e.ports, 1, 1, OTHER);
    let report = drain_store(&e, &sample_store(), Some(&[PRODUCT, "blue-slip-on-sneakers"])).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");

    let reels = e.ports.state.list_reels().await.unwrap();
    let reel = reels.iter().find(|r| r.product.as_str() == PRODUCT).unwrap();
    let verdicts = e.ports.state.verdicts(&reel.id).await.unwrap();
    assert_eq!(reel.status, ReelStatus::Published, "{:?}", reel.reasons);
    let matched = verdicts.iter().find(|v| v.round == 1 && v.judge == "product-match").unwrap();
    let failed: Vec<_> = matched.checks.iter().filter(|c| !c.passed).collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let (check, detail) = (failed[0], &failed[0].detail);
    assert_eq!((check.name.as_str(), check.shot), ("product_match", Some(1)));
    assert!(
        detail.starts_with("shot 2: at ") && detail.contains("looks more like product `blue-slip-on-sneakers`"),
        "{detail}"
    );
    // The other shots, and every shot of the next round, match the hoodie's listing.
    let round_2 = verdicts.iter().find(|v| v.round == 2 && v.judge == "product-match").unwrap();
    assert!(round_2.passed, "{round_2:#?}");
    assert_eq!(round_2.checks.len(), reel.plan.shots.len(), "one product_match check per shot");
}

/// The corpus's clips of a two-product store judged as `truereel judge --gallery --other` judges
/// them: the clip of another product fails `product_match` naming it; faithful clips pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corpus_clip_of_another_product_fails_product_match_and_faithful_ones_pass() {
    use truereel::adapters::providers::judge::clip::{Listing, judge_clip_under};
    use truereel_tests::corpus::{self, Kind};
    let dir = tempfile::tempdir().unwrap();
    let photos = sample_store().join("photos");
    let reference = photos.join("hoodie-red-front-flat.jpg");
    // Another product's photo, named by its handle (`--other` names it by file stem).
    let other = dir.path().join("blue-slip-on-sneakers.jpg");
    std::fs::copy(photos.join("slipon-blue-side.jpg"), &other).unwrap();
    let media = std::sync::Arc::new(truereel::media::Media::default());
    let settings = truereel::config::Settings::default();
    let gallery = [photos.join("hoodie-red-worn.jpg")];
    let others = [other.clone()];
    let listing = Listing { gallery: &gallery, others: &others };
    let judge = |kind: Kind| {
        let (media, settings, reference, other) = (media.clone(), settings.clone(), reference.clone(), other.clone());
        let clip = dir.path().join(format!("{kind:?}.mp4"));
        async move {
            let (path, photo) = (clip.clone(), reference.clone());
            tokio::task::spawn_blocking(move || corpus::render(kind, &photo, &other, &path, (216, 384), 2))
                .await
                .unwrap();
            judge_clip_under(
                media,
                &settings,
                &clip,
                std::slice::from_ref(&reference),
                listing,
                false,
                &Default::default(),
            )
            .await
            .unwrap()
        }
    };
    let v = judge(Kind::OtherProduct).await;
    assert!(!v.passed);
    let matched = v.checks.iter().find(|c| c.name == "product_match").unwrap();
    assert!(!matched.passed, "{matched:?}");
    assert!(matched.detail.contains("looks more like product `blue-slip-on-sneakers`"), "{}", matched.detail);
    assert!(v.to_json()["reasons"].to_string().contains("product_match: shot 1: at "), "{}", v.to_json());
    for kind in [Kind::PushIn, Kind::Pan, Kind::Exposure] {
        let v = judge(kind).await;
        let matched = v.checks.iter().find(|c| c.name == "product_match").unwrap();
        assert!(v.passed && matched.passed, "{kind:?}: {:#?}", v.checks);
    }
}
