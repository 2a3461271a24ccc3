//! The life of a paid clip end to end on the embedded home, against the loopback Runway stub:
//! submitted once, polled by delayed messages, mirrored at once, charged in the ledger; a provider
//! out of quota falls over to the next; a job that never finishes is cancelled before it is
//! submitted again; a redelivered message never pays twice.

use std::sync::Arc;
use std::time::Duration;
use truereel::adapters::providers::video::{RunwayVideo, StillMotionVideo};
use truereel::config::Config;
use truereel::homes::embedded::Embedded;
use truereel::ports::{VideoModel, VideoModels};
use truereel::testing::{RunwayStub, Script};
use truereel::{ReelStatus, Usd};
use truereel_tests::{TwiceQueue, drain_store, drain_store_with, init_logs, sample_store, small_config};

const PRODUCT: &str = "pullover-hoodie";

/// An embedded home whose video chain is Runway (on the stub), then, if asked, the offline renderer.
async fn home(data: &std::path::Path, stub: &RunwayStub, fall_over: bool) -> Embedded {
    home_with(data, stub, fall_over, small_config()).await
}

/// [`home`] with `config`.
async fn home_with(data: &std::path::Path, stub: &RunwayStub, fall_over: bool, mut config: Config) -> Embedded {
    config.settings.job_timeout = Duration::from_millis(400);
    let mut e = Embedded::open_for_runner(data, &config).await.unwrap();
    let runway: Arc<dyn VideoModel> = Arc::new(RunwayVideo::new(&stub.config(), Duration::from_secs(10)).unwrap());
    let mut chain = vec![(runway, Some(2))];
    if fall_over {
        let offline = StillMotionVideo::new(e.ports.blobs.clone(), Usd::ZERO);
        chain.push((Arc::new(offline) as Arc<dyn VideoModel>, None));
    }
    e.ports.video = VideoModels::chain(chain);
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runway_clips_are_submitted_once_mirrored_and_charged() {
    init_logs();
    let stub = RunwayStub::animating().await;
    stub.always(Script::Throttled { polls: 2 });
    let data = tempfile::tempdir().unwrap();
    let e = home(data.path(), &stub, false).await;
    drain_store(&e, &sample_store(), Some(&[PRODUCT])).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    let shots = reel.plan.shots.len();
    assert_eq!(stub.submissions(), shots, "one submission per shot");
    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    assert_eq!(clips.len(), shots, "every clip mirrored: {:?} {:?}", reel.status, reel.reasons);
    for c in &clips {
        assert_eq!(c.provider, "runway");
        let bytes = e.ports.blobs.get(&c.blob).await.unwrap();
        assert_eq!(bytes, stub.output_of(c.job.as_str()), "the clip we paid for is ours, byte for byte");
    }
    let ledger = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
    let paid: Vec<_> = ledger.iter().filter(|l| l.provider == "runway").collect();
    assert_eq!(paid.len(), shots, "{ledger:#?}");
    assert!(paid.iter().all(|l| l.model.as_deref() == Some("gen4_turbo") && l.usd > Usd::ZERO && l.shot.is_some()));
    assert!(!matches!(reel.status, ReelStatus::Generating | ReelStatus::Planned), "{:?}", reel.status);
    // Every submission carried the photo inline and asked for the reel's shape.
    for body in stub.bodies() {
        assert!(body["promptImage"].as_str().unwrap().starts_with("data:image/"), "{body}");
        assert_eq!(body["ratio"], "720:1280");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_generate_message_submits_once() {
    init_logs();
    let stub = RunwayStub::animating().await;
    stub.always(Script::Succeed { polls: 1 });
    let data = tempfile::tempdir().unwrap();
    let mut e = home(data.path(), &stub, false).await;
    e.ports.queue = Arc::new(TwiceQueue(e.ports.queue.clone()));
    drain_store(&e, &sample_store(), Some(&[PRODUCT])).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    assert_eq!(stub.submissions(), reel.plan.shots.len(), "every message came twice; every shot was paid once");
    let charges = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
    assert_eq!(charges.iter().filter(|l| l.provider == "runway").count(), reel.plan.shots.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_quota_falls_over_to_the_next_provider_and_refunds_the_charge() {
    init_logs();
    let stub = RunwayStub::animating().await;
    stub.always(Script::DailyQuota);
    let data = tempfile::tempdir().unwrap();
    let e = home(data.path(), &stub, true).await;
    drain_store(&e, &sample_store(), Some(&[PRODUCT])).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    // Shots submitted at once may each meet the quota before the hold is seen: at most the slots.
    assert!((1..=2).contains(&stub.submissions()), "{} submissions after the quota", stub.submissions());
    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    assert_eq!(clips.len(), reel.plan.shots.len());
    assert!(clips.iter().all(|c| c.provider == "still-motion"), "the next provider made every clip");
    let ledger = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
    let runway: Usd = ledger.iter().filter(|l| l.provider == "runway").fold(Usd::ZERO, |s, l| s + l.usd);
    assert_eq!(runway, Usd::ZERO, "nothing was made, so nothing is owed: {ledger:#?}");
    let issues = e.ports.state.issues_since(0).await.unwrap();
    assert!(issues.iter().any(|i| i.message.contains("out of quota")), "{issues:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_never_finishes_is_cancelled_before_it_is_submitted_again() {
    init_logs();
    let stub = RunwayStub::animating().await;
    stub.always(Script::NeverFinishes);
    let data = tempfile::tempdir().unwrap();
    let e = home(data.path(), &stub, false).await;
    drain_store(&e, &sample_store(), Some(&["green-chunky-knit-beanie"])).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    assert_eq!(reel.status, ReelStatus::NeedsReview, "{:?}", reel.reasons);
    assert!(reel.reasons.iter().any(|r| r.contains("cancelled")), "{:?}", reel.reasons);
    assert_eq!(stub.cancels(), stub.submissions(), "every submission after the first followed a confirmed cancel");
    let ledger = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
    let owed: Usd = ledger.iter().filter(|l| l.provider == "runway").fold(Usd::ZERO, |s, l| s + l.usd);
    assert_eq!(owed, Usd::ZERO, "cancelled jobs are refunded in the ledger: {ledger:#?}");
}

/// Each way a Runway job can go wrong, through the real generate and mirror stages: how it ends,
/// how many jobs were paid for, and what the ledger says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_runway_failure_ends_the_right_way_and_the_ledger_says_so() {
    init_logs();
    struct Case {
        script: Script,
        /// Words the parked reel's reasons must hold; `None`: every clip is mirrored.
        parked: Option<&'static str>,
        /// Whether a failed job stays billed in the ledger (moderation on Runway).
        billed: bool,
    }
    let cases = [
        Case { script: Script::Fail("SAFETY.INPUT.IMAGE"), parked: Some("moderation (the input)"), billed: true },
        Case { script: Script::Fail("SAFETY.OUTPUT.VIDEO"), parked: Some("moderation (the output)"), billed: true },
        Case { script: Script::Fail("ASSET.INVALID"), parked: Some("rejected as invalid"), billed: false },
        Case { script: Script::NotVideo, parked: Some("not a video"), billed: true },
        Case { script: Script::Oversized(40 * 1024 * 1024), parked: Some("cap"), billed: true },
        Case { script: Script::MalformedPoll, parked: Some("polling job"), billed: true },
        Case { script: Script::Expiring { downloads: 1, after: None }, parked: None, billed: true },
        Case { script: Script::RateLimited, parked: None, billed: true },
        Case { script: Script::ServerError, parked: None, billed: true },
    ];
    for case in cases {
        let stub = RunwayStub::animating().await;
        stub.script(case.script.clone());
        let data = tempfile::tempdir().unwrap();
        let mut e = home(data.path(), &stub, false).await;
        e.ports.settings.max_clip_bytes = 20 * 1024 * 1024;
        e.ports.settings.job_timeout = Duration::from_secs(30);
        drain_store(&e, &sample_store(), Some(&["green-chunky-knit-beanie"])).await;
        let reel = e.ports.state.list_reels().await.unwrap().remove(0);
        let what = format!("{:?}: {:?} {:?}", case.script, reel.status, reel.reasons);
        let clips = e.ports.state.clips(&reel.id).await.unwrap();
        let ledger = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
        let owed: Usd = ledger.iter().filter(|l| l.provider == "runway").fold(Usd::ZERO, |s, l| s + l.usd);
        match case.parked {
            Some(words) => {
                assert_eq!(reel.status, ReelStatus::NeedsReview, "{what}");
                assert!(reel.reasons.iter().any(|r| r.contains(words)), "{what}");
            }
            None => {
                assert_eq!(clips.len(), reel.plan.shots.len(), "{what}");
                // Refreshed, never regenerated: one job per shot whatever went wrong on the way.
                let jobs =
                    stub.submissions() - usize::from(matches!(case.script, Script::RateLimited | Script::ServerError));
                assert_eq!(jobs, reel.plan.shots.len(), "{what}");
            }
        }
        if case.billed {
            assert!(owed > Usd::ZERO, "{what}: {ledger:#?}");
        } else {
            // The failed job's charge is taken back, saying why; the other shots' jobs are still owed.
            let refund = ledger.iter().find(|l| l.usd < Usd::ZERO).expect("a refund");
            assert!(refund.note.as_deref().is_some_and(|n| n.contains("not billed")), "{what}: {refund:#?}");
            let charged = ledger
                .iter()
                .find(|l| {
                    l.key.as_str().ends_with("/refund").then_some(()).is_none()
                        && refund.key.as_str().starts_with(l.key.as_str())
                })
                .unwrap();
            assert_eq!(refund.usd, Usd(-charged.usd.0), "{what}");
        }
        if let Script::Fail(code) = case.script
            && code.starts_with("SAFETY")
        {
            assert!(ledger.iter().any(|l| l.operation == "billed_failure"), "{what}: {ledger:#?}");
        }
    }
}

/// A brand kit that names its video provider overrides the chain's order for its reels; its
/// `[thresholds]` are the limits the evaluate stage judges its reels by.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brand_kit_chooses_the_video_provider_and_the_judges_limits() {
    init_logs();
    let stub = RunwayStub::animating().await;
    let data = tempfile::tempdir().unwrap();
    let e = home(data.path(), &stub, true).await;
    let mut options = truereel::messages::PlanOptions::default();
    options.brand.video_provider = vec!["still-motion".into()];
    options.brand.thresholds.set("structure", 0.5).unwrap();
    drain_store_with(&e, &sample_store(), Some(&[PRODUCT]), options).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    assert_eq!(clips.len(), reel.plan.shots.len());
    assert!(clips.iter().all(|c| c.provider == "still-motion"), "{clips:#?}");
    assert_eq!(stub.submissions(), 0, "Runway, first in the chain, was not asked");

    // Every shot's structure check judged by the brand's limit, and saying so.
    let verdicts = e.ports.state.verdicts(&reel.id).await.unwrap();
    let structure: Vec<_> = verdicts.iter().flat_map(|v| &v.checks).filter(|c| c.name == "structure").collect();
    assert_eq!(structure.len(), reel.plan.shots.len() * reel.round as usize, "{verdicts:#?}");
    for c in structure {
        assert_eq!(c.measure.map(|m| (m.limit, m.at_least)), Some((0.5, true)), "{c:?}");
        assert!(c.detail.ends_with(" (brand threshold 0.5)") && c.passed, "{c:?}");
    }
}

/// A product rated a poor candidate (`--min-suitability`, `offline`) is never sent to a paid
/// provider, whatever the chain's first choice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poor_candidate_stays_on_the_offline_renderer() {
    init_logs();
    let stub = RunwayStub::animating().await;
    let data = tempfile::tempdir().unwrap();
    let e = home(data.path(), &stub, true).await;
    let options = truereel::messages::PlanOptions { min_suitability: Some(1.0), ..Default::default() };
    // Rated 0.9: no studio photo.
    drain_store_with(&e, &sample_store(), Some(&["green-chunky-knit-beanie"]), options).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    assert!(reel.plan.offline_only, "{:?} is under 1.0", reel.plan.suitability);
    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    assert_eq!(clips.len(), reel.plan.shots.len());
    assert!(clips.iter().all(|c| c.provider == "still-motion"));
    assert_eq!(stub.submissions(), 0, "nothing paid for a poor candidate");
}

/// `--whole-reel` (here from the brand kit): one product-ad task for the reel, made from every photo
/// of the reel's colour, the brand's style image (the URL one left out, said in the plan) and the
/// product's title and lines; one clip across the reel, one ledger line, the lines still timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_reel_is_one_product_ad_from_every_photo_of_the_colour() {
    init_logs();
    let stub = RunwayStub::animating().await;
    stub.always(Script::Succeed { polls: 1 });
    let data = tempfile::tempdir().unwrap();
    let kit_dir = tempfile::tempdir().unwrap();
    let kit = kit_dir.path().join("brand.toml");
    let style = sample_store().join("photos/hoodie-black-front-flat.jpg");
    let text = format!("whole_reel = true\nreference_images = [{style:?}, \"https://cdn.example/look.jpg\"]\n");
    std::fs::write(&kit, text).unwrap();
    let mut config = small_config();
    config.plan.brand = Some(kit);
    let options = config.plan_options(&sample_store().to_string_lossy()).unwrap();
    assert!(options.whole_reel() && !options.whole_reel, "from the brand kit, not the flag");
    let e = home_with(data.path(), &stub, false, config).await;
    drain_store_with(&e, &sample_store(), Some(&[PRODUCT]), options).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    let plan = &reel.plan;
    assert!(plan.whole_reel && plan.shots.len() == 1, "{plan:#?}");
    let shot = &plan.shots[0];
    assert!(!shot.extra_references.is_empty(), "the colour's other photos go too: {shot:#?}");
    assert!(reel.voice_over.lines.len() > 1, "the lines keep their own times: {:?}", reel.voice_over.lines);
    assert!(plan.notes.iter().any(|n| n.contains("cdn.example") && n.contains("left out")), "{:?}", plan.notes);

    assert_eq!(stub.submissions(), 1, "one task for the whole reel: {:?} {:#?}", reel.status, reel.reasons);
    assert_eq!(stub.server().requests_to("/v1/recipes/product_ad").len(), 1);
    let body = stub.bodies().remove(0);
    let photos = body["productImages"].as_array().unwrap();
    assert_eq!(photos.len(), 1 + shot.extra_references.len(), "{body}");
    assert!(photos.iter().all(|p| p.as_str().unwrap().starts_with("data:image/")));
    assert_eq!(body["styleImages"].as_array().unwrap().len(), 1, "{body}");
    assert!(body["productInfo"].as_str().unwrap().contains("Pullover Hoodie"), "{body}");
    assert_eq!(body["duration"], shot.duration_ms.div_ceil(1000));
    assert_eq!(body["ratio"], "720:1280");

    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    assert_eq!(clips.len(), 1, "{:?} {:?}", reel.status, reel.reasons);
    assert_eq!(e.ports.blobs.get(&clips[0].blob).await.unwrap(), stub.output_of(clips[0].job.as_str()));
    let ledger = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
    let paid: Vec<_> = ledger.iter().filter(|l| l.provider == "runway").collect();
    assert_eq!(paid.len(), 1, "{ledger:#?}");
    let seconds = i64::from(shot.duration_ms.div_ceil(1000));
    assert_eq!(paid[0].usd, Usd::from_dollars(0.05 * seconds as f64), "gen4_turbo's price for the ad's seconds");
    assert!(!matches!(reel.status, ReelStatus::Generating | ReelStatus::Planned), "{:?}", reel.status);
    let video = e.ports.blobs.local_path(reel.video.as_ref().unwrap()).unwrap();
    let probe = e.ports.media.probe(&video).await.unwrap();
    assert!(probe.duration_ms.abs_diff(shot.duration_ms) <= 100, "the one clip fills the reel: {probe:?}");
}
