//! The providers beside Runway through the real generate and mirror stages on the embedded home, each
//! against its own loopback stub: fall-over chains, a busy provider spilling to the next, budget
//! lines, and shots that carry every photo of their product and colour.

use base64::Engine as _;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use truereel::adapters::providers::video::{KlingVideo, RunwayVideo};
use truereel::homes::embedded::Embedded;
use truereel::ports::{VideoModel, VideoModels};
use truereel::testing::kling::Script as Kling;
use truereel::testing::{KlingStub, RunwayStub, Script};
use truereel::{ReelStatus, Usd, report};
use truereel_tests::{drain_store, init_logs, sample_store, small_config};

const TIMEOUT: Duration = Duration::from_secs(10);

fn kling(stub: &KlingStub) -> Arc<dyn VideoModel> {
    Arc::new(KlingVideo::new(&stub.config(), TIMEOUT).unwrap())
}

fn runway(stub: &RunwayStub) -> Arc<dyn VideoModel> {
    Arc::new(RunwayVideo::new(&stub.config(), TIMEOUT).unwrap())
}

async fn home(data: &std::path::Path, config: &truereel::config::Config, chain: VideoModels) -> Embedded {
    let mut e = Embedded::open_for_runner(data, config).await.unwrap();
    e.ports.video = chain;
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kling_out_of_its_resource_pack_is_left_out_and_runway_makes_every_shot() {
    init_logs();
    let kling_stub = KlingStub::start().await;
    kling_stub.script(Kling::Depleted); // 429 code 1102 on the first submit; the next would succeed
    let runway_stub = RunwayStub::animating().await;
    runway_stub.always(Script::Succeed { polls: 1 });
    let data = tempfile::tempdir().unwrap();
    let chain = VideoModels::chain(vec![(kling(&kling_stub), Some(1)), (runway(&runway_stub), Some(2))]);
    let e = home(data.path(), &small_config(), chain).await;
    drain_store(&e, &sample_store(), Some(&["pullover-hoodie"])).await;

    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    assert_eq!(reel.status, ReelStatus::Published, "{:?}", reel.reasons);
    assert_eq!(kling_stub.submissions(), 1, "no second Kling submit after its 1102");
    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    assert_eq!(clips.len(), reel.plan.shots.len());
    assert!(clips.iter().all(|c| c.provider == "runway"), "every shot on Runway: {clips:?}");
    assert_eq!(runway_stub.submissions(), reel.plan.shots.len());
    // The summary says why, once.
    let held = report::held_providers(&e.ports, e.ports.settings.run_started_ms).await.unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].provider, "kling");
    assert!(held[0].why.contains("1102"), "{}", held[0].why);
    // Kling charged nothing in the end: the charge taken before its refusal was refunded.
    let ledger = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
    let kling_spent: Usd = ledger.iter().filter(|l| l.provider == "kling").fold(Usd::ZERO, |s, l| s + l.usd);
    assert_eq!(kling_spent, Usd::ZERO, "{ledger:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_providers_budget_line_spent_sends_the_rest_of_the_run_to_the_next() {
    init_logs();
    let kling_stub = KlingStub::start().await;
    kling_stub.always(Kling::Succeed { polls: 1 });
    let runway_stub = RunwayStub::animating().await;
    runway_stub.always(Script::Succeed { polls: 1 });
    let data = tempfile::tempdir().unwrap();
    let mut config = small_config();
    // One 5 s Kling clip costs $0.21 (kling-v2-5-turbo): the line admits one shot, no more.
    config.settings.provider_budgets = vec![("kling".into(), Usd::from_dollars(0.30))];
    let chain = VideoModels::chain(vec![(kling(&kling_stub), Some(1)), (runway(&runway_stub), Some(2))]);
    let e = home(data.path(), &config, chain).await;
    drain_store(&e, &sample_store(), Some(&["pullover-hoodie"])).await;

    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    assert!(kling_stub.submissions() <= 1, "the line admits one Kling clip: {}", kling_stub.submissions());
    let ledger = e.ports.state.ledger(None).await.unwrap();
    let kling_spent: Usd = ledger.iter().filter(|l| l.provider == "kling").fold(Usd::ZERO, |s, l| s + l.usd);
    assert!(kling_spent <= Usd::from_dollars(0.30), "{kling_spent}");
    let held = report::held_providers(&e.ports, e.ports.settings.run_started_ms).await.unwrap();
    assert!(held.iter().any(|h| h.provider == "kling" && h.why.contains("budget")), "{held:?}");
    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    assert!(clips.iter().filter(|c| c.provider == "runway").count() >= reel.plan.shots.len() - 1, "{clips:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_provider_spills_its_shots_to_the_next_one_in_the_chain() {
    init_logs();
    let kling_stub = KlingStub::start().await;
    kling_stub.always(Kling::Timed(Duration::from_secs(3)));
    let runway_stub = RunwayStub::animating().await;
    runway_stub.always(Script::Succeed { polls: 1 });
    let data = tempfile::tempdir().unwrap();
    let chain = VideoModels::chain(vec![(kling(&kling_stub), Some(1)), (runway(&runway_stub), Some(4))]);
    let e = home(data.path(), &small_config(), chain).await;
    drain_store(&e, &sample_store(), Some(&["pullover-hoodie"])).await;

    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    let on = |p: &str| clips.iter().filter(|c| c.provider == p && c.attempt == 1).count();
    assert!(on("kling") >= 1, "the first choice took what it had room for: {clips:?}");
    assert!(on("runway") >= 1, "the rest did not wait for Kling's one slot: {clips:?}");
    assert!(kling_stub.submissions() + runway_stub.submissions() >= reel.plan.shots.len());
}

/// Every image a Kling multi-image body carries, decoded, with its pixel size.
fn kling_images(body: &serde_json::Value) -> Vec<(Vec<u8>, u32, u32)> {
    body["image_list"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| {
                    let bytes = base64::engine::general_purpose::STANDARD.decode(i["image"].as_str().unwrap()).unwrap();
                    let img = image::load_from_memory(&bytes).unwrap();
                    (bytes, img.width(), img.height())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_photo_shot_sends_every_photo_of_its_product_and_colour_to_kling() {
    init_logs();
    let stub = KlingStub::start().await;
    stub.always(Kling::Succeed { polls: 1 });
    let data = tempfile::tempdir().unwrap();
    let mut config = small_config();
    config.settings.max_attempts = 1;
    let e = home(data.path(), &config, VideoModels::chain(vec![(kling(&stub), Some(2))])).await;
    drain_store(&e, &sample_store(), Some(&["blue-slip-on-sneakers"])).await;

    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    let photos: BTreeSet<String> = e
        .ports
        .state
        .references(&reel.product)
        .await
        .unwrap()
        .iter()
        .map(|r| r.sha256.to_string())
        .collect();
    assert_eq!(photos.len(), 4, "the sneakers have four photos of one colour");
    let bodies = stub.bodies();
    assert_eq!(bodies.len(), reel.plan.shots.len(), "one submission per shot");
    for body in &bodies {
        let images = kling_images(body);
        assert_eq!(images.len(), 4, "a shot carries its photo and the three others: {}", body["image_list"]);
        let sent: BTreeSet<String> =
            images.iter().map(|(b, _, _)| truereel::Sha256::of(b).to_string()).collect();
        assert_eq!(sent, photos, "every photo of the product and colour, each once");
        for (bytes, w, h) in &images {
            assert!(bytes.len() <= 10_000_000 && (*w).min(*h) >= 300, "{} bytes, {w}x{h}", bytes.len());
        }
    }
    // Each shot's own photo goes first.
    let mut firsts: Vec<String> =
        bodies.iter().map(|b| truereel::Sha256::of(&kling_images(b)[0].0).to_string()).collect();
    let mut mains: Vec<String> = reel.plan.shots.iter().map(|s| s.reference.to_string()).collect();
    firsts.sort();
    mains.sort();
    assert_eq!(firsts, mains, "each submission leads with its shot's own photo");
}
