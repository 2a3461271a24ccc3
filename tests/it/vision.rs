//! A vision model as a second judge on the embedded home, against the loopback stub of its API: a
//! reel the local judge passes but the model fails is made again and, failing on, parked with both
//! judges' reasons; anything but a valid verdict never lets a reel through; a rate limit asks again
//! later; every call is priced in the ledger before it is made and never made twice for one cut.

use std::sync::Arc;
use truereel::config::{Config, VisionKind};
use truereel::homes::embedded::Embedded;
use truereel::messages::PlanOptions;
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::testing::VisionStub;
use truereel::testing::vision::{Answer, Aspect};
use truereel::{BlobKey, Reel, ReelStatus, Usd};
use truereel_tests::{Misrepresenting, drain_store, drain_store_with, init_logs, sample_store, small_config};

const PRODUCT: &str = "pullover-hoodie";
/// Another product's photo: blue shoes, where the hoodie is red.
const OTHER: &str = "slipon-blue-side.jpg";

fn with_judge(stub: &VisionStub, kind: VisionKind) -> Config {
    let mut config = small_config();
    config.judge = stub.config(kind);
    config
}

/// The judge's ledger entries of `reel`: (key, usd).
async fn judge_charges(e: &Embedded, reel: &Reel) -> Vec<(String, Usd)> {
    let ledger = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
    ledger.iter().filter(|l| l.operation == "judge").map(|l| (l.key.to_string(), l.usd)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reel_the_vision_judge_keeps_failing_is_made_again_then_parked_with_both_judges_reasons() {
    init_logs();
    let stub = VisionStub::start().await;
    let data = tempfile::tempdir().unwrap();
    let mut e = Embedded::open_for_runner(data.path(), &with_judge(&stub, VisionKind::Gemini)).await.unwrap();
    // Shot 2's first clip shows another product (the local judge sees it); the model fails shot 2
    // every time, whatever it is shown.
    Misrepresenting::install(&mut e.ports, 1, 1, OTHER);
    drain_store_with(&e, &sample_store(), Some(&[PRODUCT]), PlanOptions { approve: true, ..Default::default() }).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    let shots = reel.plan.shots.len() as u32;
    stub.always(Answer::failing(shots, 2, Aspect::Product, "the hood has no drawstrings in the photo"));
    truereel::stages::plan::approve(&e.ports, &reel.id).await.unwrap();
    runner::drain(&e.ports, &RunOptions::default(), Arc::new(LogProgress::default())).await.unwrap();

    let reel = e.ports.state.get_reel(&reel.id).await.unwrap().unwrap();
    assert_eq!(reel.status, ReelStatus::NeedsReview, "{:?}", reel.reasons);
    assert_eq!(reel.shot_attempts[1], 3, "shot 2 made three times");
    assert!(reel.shot_attempts.iter().enumerate().all(|(i, a)| i == 1 || *a == 1), "{:?}", reel.shot_attempts);
    // Both judges' reasons, every round: the local judge's on round 1, the model's on all three.
    let reasons = reel.reasons.join("\n");
    assert!(reel.reasons.iter().any(|r| r.starts_with("round 1: product_match: shot 2")), "{reasons}");
    for round in 1..=3 {
        let said = format!("round {round}: gemini product: shot 2: ");
        assert!(reel.reasons.iter().any(|r| r.starts_with(&said) && r.contains("no drawstrings")), "{reasons}");
    }
    assert!(!reel.reasons.iter().any(|r| r.contains("round 2: product_match")), "round 2's clip is right: {reasons}");
    assert!(e.ports.blobs.head(&BlobKey::published_reel(&reel.id)).await.unwrap().is_none(), "nothing published");

    // One call per round (each a different cut), each priced in the ledger before it was made.
    assert_eq!(stub.calls(), 3);
    let charges = judge_charges(&e, &reel).await;
    assert_eq!(charges.len(), 3, "{charges:?}");
    for (round, (key, usd)) in (1..=3).zip(&charges) {
        assert!(key.ends_with(&format!("/judge/round-{round}/gemini:gemini-3.5-flash/call-1")), "{key}");
        assert!(*usd > Usd::ZERO, "{key}");
    }
    // The model saw only the photos and the reel: never the words the video model was given.
    for sent in stub.sent() {
        assert_eq!(sent.videos().len(), 1, "Gemini watches the reel");
        let text = sent.text();
        for shot in &reel.plan.shots {
            assert!(!text.contains(&shot.direction) && !text.contains(&shot.line), "{text}");
        }
    }
    // Each round's verdicts stored per judge, and the evaluations export them.
    let verdicts = e.ports.state.verdicts(&reel.id).await.unwrap();
    let gemini: Vec<_> = verdicts.iter().filter(|v| v.judge == "gemini:gemini-3.5-flash").collect();
    assert_eq!(gemini.len(), 3);
    assert!(gemini.iter().all(|v| !v.passed && v.spent > Usd::ZERO));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vision_judge_that_answers_prose_or_refuses_never_lets_a_reel_through() {
    init_logs();
    for (kind, answer, said) in [
        (VisionKind::OpenAi, Answer::Text("The reel looks great, ship it!".into()), "not the json asked for"),
        (VisionKind::Anthropic, Answer::Refusal, "refused"),
    ] {
        let stub = VisionStub::start().await;
        stub.always(answer);
        let data = tempfile::tempdir().unwrap();
        let e = Embedded::open_for_runner(data.path(), &with_judge(&stub, kind)).await.unwrap();
        let report = drain_store(&e, &sample_store(), Some(&[PRODUCT])).await;
        assert_eq!(report.dead_lettered, 0, "{report:?}");
        let reel = e.ports.state.list_reels().await.unwrap().remove(0);
        assert_eq!(reel.status, ReelStatus::NeedsReview, "{kind:?}: {:?}", reel.reasons);
        let why = reel.reasons.join("\n");
        assert!(
            why.contains(&format!("the judge {}:", kind.as_str())) && why.contains("gave no valid verdict"),
            "{why}"
        );
        assert!(why.to_lowercase().contains(said), "{kind:?}: {why}");
        assert!(e.ports.blobs.head(&BlobKey::published_reel(&reel.id)).await.unwrap().is_none());
        assert_eq!(stub.calls(), 1, "{kind:?}: asked once");
        assert_eq!(judge_charges(&e, &reel).await.len(), 1, "the call was priced before it was made");
        // The message again (a redelivery): the reel is parked, nobody is asked again.
        let again = truereel::messages::EvaluateMsg { reel: reel.id.clone(), round: reel.round };
        truereel::stages::handle(&e.ports, again.into()).await.unwrap();
        assert_eq!(stub.calls(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_vision_judge_is_asked_again_later_and_the_unbilled_call_refunded() {
    init_logs();
    let stub = VisionStub::start().await;
    stub.script(Answer::RateLimited { secs: 1 });
    stub.always(Answer::PassAll);
    let data = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(data.path(), &with_judge(&stub, VisionKind::Gemini)).await.unwrap();
    let report = drain_store(&e, &sample_store(), Some(&[PRODUCT])).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    assert_eq!(reel.status, ReelStatus::Published, "{:?}", reel.reasons);
    assert_eq!(stub.calls(), 2, "asked again after the wait, once");
    let charges = judge_charges(&e, &reel).await;
    let keys: Vec<&str> = charges.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys[0].ends_with("/call-1") && keys[2].ends_with("/call-2"), "{keys:?}");
    assert!(keys[1].ends_with("/call-1/refund"), "{keys:?}");
    let net: i64 = charges.iter().map(|(_, u)| u.0).sum();
    assert_eq!(net, charges[2].1.0, "the 429 cost nothing");
    let verdicts = e.ports.state.verdicts(&reel.id).await.unwrap();
    assert!(verdicts.iter().any(|v| v.judge == "gemini:gemini-3.5-flash" && v.passed), "{verdicts:#?}");
}
