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
    let photos: BTreeSet<String> =
        e.ports.state.references(&reel.product).await.unwrap().iter().map(|r| r.sha256.to_string()).collect();
    assert_eq!(photos.len(), 4, "the sneakers have four photos of one colour");
    let bodies = stub.bodies();
    assert_eq!(bodies.len(), reel.plan.shots.len(), "one submission per shot");
    for body in &bodies {
        let images = kling_images(body);
        assert_eq!(images.len(), 4, "a shot carries its photo and the three others: {}", body["image_list"]);
        let sent: BTreeSet<String> = images.iter().map(|(b, _, _)| truereel::Sha256::of(b).to_string()).collect();
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

/// Every paid provider through the real generate and mirror stages: one submission per shot, each
/// clip mirrored byte for byte, each charge in the ledger under the provider's name and model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_makes_its_clips_once_mirrored_and_charged() {
    use truereel::adapters::providers::video::{FalVideo, LumaVideo, ReplicateVideo, SeedanceVideo, VeoVideo};
    use truereel::testing::{FalStub, LumaStub, ReplicateStub, SeedanceStub, VeoStub};
    init_logs();
    let (kling_stub, veo_stub, seedance_stub) =
        (KlingStub::start().await, VeoStub::start().await, SeedanceStub::start().await);
    let (fal_stub, replicate_stub, luma_stub) =
        (FalStub::start().await, ReplicateStub::start().await, LumaStub::start().await);
    let mut luma = luma_stub.config();
    luma.photo_base_url = Some("http://127.0.0.1:9/data".into());
    type Count<'a> = Box<dyn Fn() -> usize + 'a>;
    let cases: Vec<(&str, Arc<dyn VideoModel>, Count, bytes::Bytes)> = vec![
        ("kling", kling(&kling_stub), Box::new(|| kling_stub.submissions()), kling_stub.clip()),
        (
            "veo",
            Arc::new(VeoVideo::new(&veo_stub.config(), TIMEOUT).unwrap()),
            Box::new(|| veo_stub.submissions()),
            veo_stub.clip(),
        ),
        (
            "seedance",
            Arc::new(SeedanceVideo::new(&seedance_stub.config(), TIMEOUT).unwrap()),
            Box::new(|| seedance_stub.submissions()),
            seedance_stub.clip(),
        ),
        (
            "fal",
            Arc::new(FalVideo::new(&fal_stub.config(), TIMEOUT).unwrap()),
            Box::new(|| fal_stub.submissions()),
            fal_stub.clip(),
        ),
        (
            "replicate",
            Arc::new(ReplicateVideo::new(&replicate_stub.config(), TIMEOUT).unwrap()),
            Box::new(|| replicate_stub.submissions()),
            replicate_stub.clip(),
        ),
        (
            "luma",
            Arc::new(LumaVideo::new(&luma, TIMEOUT).unwrap()),
            Box::new(|| luma_stub.submissions()),
            luma_stub.clip(),
        ),
    ];
    let mut config = small_config();
    config.settings.max_attempts = 1;
    for (name, model, submissions, clip) in cases {
        let data = tempfile::tempdir().unwrap();
        let e = home(data.path(), &config, VideoModels::chain(vec![(model.clone(), Some(2))])).await;
        drain_store(&e, &sample_store(), Some(&["grey-graphic-tee"])).await;
        let reel = e.ports.state.list_reels().await.unwrap().remove(0);
        let shots = reel.plan.shots.len();
        assert_eq!(submissions(), shots, "{name}: one submission per shot");
        let clips = e.ports.state.clips(&reel.id).await.unwrap();
        assert_eq!(clips.len(), shots, "{name}: {:?} {:?}", reel.status, reel.reasons);
        for c in &clips {
            assert_eq!(c.provider, name);
            assert_eq!(e.ports.blobs.get(&c.blob).await.unwrap(), clip, "{name}: the clip is ours, byte for byte");
        }
        let ledger = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
        let paid: Vec<_> = ledger.iter().filter(|l| l.provider == name && l.usd > Usd::ZERO).collect();
        assert_eq!(paid.len(), shots, "{name}: {ledger:#?}");
        assert!(paid.iter().all(|l| l.model.as_deref() == Some(model.model())), "{name}: {paid:#?}");
    }
}

/// The wiring builds every provider from its settings, and refuses one without its key by name.
#[tokio::test]
async fn every_provider_is_wired_from_its_settings_and_a_missing_key_is_named() {
    use truereel::testing::{FalStub, LumaStub, ReplicateStub, SeedanceStub, VeoStub};
    let data = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(data.path(), &small_config()).await.unwrap();
    let (k, v, s, f, r, l) = (
        KlingStub::start().await,
        VeoStub::start().await,
        SeedanceStub::start().await,
        FalStub::start().await,
        ReplicateStub::start().await,
        LumaStub::start().await,
    );
    let mut config = small_config();
    config.video.chain =
        ["kling", "veo", "seedance", "fal", "replicate", "luma", "still-motion"].map(String::from).to_vec();
    (config.video.kling, config.video.veo, config.video.seedance) = (k.config(), v.config(), s.config());
    (config.video.fal, config.video.replicate, config.video.luma) = (f.config(), r.config(), l.config());
    // Luma takes photos by URL only: on one machine it needs a public address for them.
    let e1 = truereel::homes::video(&config, &e.ports.blobs).map(|_| ()).unwrap_err();
    assert_eq!(e1.setting, "TRUEREEL_LUMA_PHOTO_BASE_URL", "{}", e1.reason);
    config.video.luma.photo_base_url = Some("http://127.0.0.1:9/data".into());
    let chain = truereel::homes::video(&config, &e.ports.blobs).unwrap();
    let names: Vec<&str> = chain.models().map(|m| m.name()).collect();
    assert_eq!(names, ["kling", "veo", "seedance", "fal", "replicate", "luma", "still-motion"]);
    assert_eq!(chain.limit("still-motion"), None);
    assert!(chain.limit("veo").is_some());
    for (provider, unset) in [
        ("kling", "TRUEREEL_KLING_SECRET_KEY"),
        ("veo", "TRUEREEL_VEO_CREDENTIALS"),
        ("seedance", "TRUEREEL_SEEDANCE_API_KEY"),
        ("fal", "TRUEREEL_FAL_API_KEY"),
        ("replicate", "TRUEREEL_REPLICATE_API_KEY"),
        ("luma", "TRUEREEL_LUMA_API_KEY"),
    ] {
        let mut c = config.clone();
        c.video.chain = vec![provider.into()];
        match provider {
            "kling" => c.video.kling.secret_key = None,
            "veo" => c.video.veo.api.api_key = None,
            "seedance" => c.video.seedance.api_key = None,
            "fal" => c.video.fal.api_key = None,
            "replicate" => c.video.replicate.api.api_key = None,
            _ => c.video.luma.api.api_key = None,
        }
        let err = truereel::homes::video(&c, &e.ports.blobs).map(|_| ()).unwrap_err();
        assert_eq!(err.setting, unset, "{provider}: {}", err.reason);
    }
}

/// A job each provider's moderation refuses, through the real stages: the reel is parked saying
/// so, and the ledger follows that provider's billing: a billed failure stays owed with its own
/// line (fal and Luma counted billed, unknown; Replicate bills the compute), an unbilled one (Kling
/// does not charge failed tasks; Veo says filtered generations are free; ModelArk bills output) is
/// refunded saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_parks_the_shot_and_the_ledger_follows_each_providers_billing() {
    use truereel::adapters::providers::video::{FalVideo, LumaVideo, ReplicateVideo, SeedanceVideo, VeoVideo};
    use truereel::testing::{
        FalStub, LumaStub, ReplicateStub, SeedanceStub, VeoStub, fal, luma, replicate, seedance, veo,
    };
    init_logs();
    let (kling_stub, veo_stub, seedance_stub) =
        (KlingStub::start().await, VeoStub::start().await, SeedanceStub::start().await);
    let (fal_stub, replicate_stub, luma_stub) =
        (FalStub::start().await, ReplicateStub::start().await, LumaStub::start().await);
    kling_stub.script(Kling::Fail("The content failed the risk control review"));
    veo_stub.script(veo::Script::Filtered { input: false });
    seedance_stub.script(seedance::Script::SensitiveOutput);
    fal_stub.script(fal::Script::PolicyViolation { input: false });
    replicate_stub.script(replicate::Script::Fail("NSFW content detected (E005)"));
    luma_stub.script(luma::Script::Fail { code: "moderation", reason: "the generated video failed moderation" });
    let mut luma = luma_stub.config();
    luma.photo_base_url = Some("http://127.0.0.1:9/data".into());
    let cases: Vec<(&str, Arc<dyn VideoModel>, bool)> = vec![
        ("kling", kling(&kling_stub), false),
        ("veo", Arc::new(VeoVideo::new(&veo_stub.config(), TIMEOUT).unwrap()), false),
        ("seedance", Arc::new(SeedanceVideo::new(&seedance_stub.config(), TIMEOUT).unwrap()), false),
        ("fal", Arc::new(FalVideo::new(&fal_stub.config(), TIMEOUT).unwrap()), true),
        ("replicate", Arc::new(ReplicateVideo::new(&replicate_stub.config(), TIMEOUT).unwrap()), true),
        ("luma", Arc::new(LumaVideo::new(&luma, TIMEOUT).unwrap()), true),
    ];
    let mut config = small_config();
    config.settings.max_attempts = 1;
    for (name, model, billed) in cases {
        let data = tempfile::tempdir().unwrap();
        // One slot: the refused job is the reel's first, and the shots after it are not submitted.
        let e = home(data.path(), &config, VideoModels::chain(vec![(model, Some(1))])).await;
        drain_store(&e, &sample_store(), Some(&["green-chunky-knit-beanie"])).await;
        let reel = e.ports.state.list_reels().await.unwrap().remove(0);
        let what = format!("{name}: {:?} {:?}", reel.status, reel.reasons);
        assert_eq!(reel.status, ReelStatus::NeedsReview, "{what}");
        assert!(reel.reasons.iter().any(|r| r.contains("moderation")), "{what}");
        let ledger = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
        let mine: Vec<_> = ledger.iter().filter(|l| l.provider == name).collect();
        let refunds: Vec<_> = mine.iter().filter(|l| l.usd < Usd::ZERO).collect();
        if billed {
            assert!(mine.iter().any(|l| l.operation == "billed_failure"), "{what}: {mine:#?}");
            assert!(refunds.is_empty(), "{what}: a billed failure is not refunded: {mine:#?}");
        } else {
            assert_eq!(refunds.len(), 1, "{what}: {mine:#?}");
            assert!(refunds[0].note.as_deref().is_some_and(|n| n.contains("not billed")), "{what}: {refunds:#?}");
        }
    }
}

/// The chain as the brand's verdicts rank it: Kling failed this brand's judge 9 times in 10 and
/// Runway passed 9 times in 10 (as earlier runs left the tallies), so a reel planned now tries
/// Runway first, says why, and every shot goes there although Kling leads the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_tries_first_the_provider_that_passes_for_the_brand() {
    use truereel::learning::{ClipOutcome, Facet, brand_of};
    init_logs();
    let kling_stub = KlingStub::start().await;
    kling_stub.always(Kling::Succeed { polls: 1 });
    let runway_stub = RunwayStub::animating().await;
    runway_stub.always(Script::Succeed { polls: 1 });
    let data = tempfile::tempdir().unwrap();
    let chain = VideoModels::chain(vec![(kling(&kling_stub), Some(4)), (runway(&runway_stub), Some(4))]);
    let e = home(data.path(), &small_config(), chain).await;
    let store = sample_store().to_string_lossy().into_owned();
    let brand = brand_of(&store);
    for i in 0..10 {
        for (provider, passed) in [("kling", i == 0), ("runway", i != 0)] {
            let outcome = ClipOutcome {
                key: format!("earlier-{provider}-{i}/shot-1/attempt-1"),
                passed,
                facets: vec![(Facet::Provider, provider.into())],
            };
            assert!(e.ports.state.record_outcome(&brand, &outcome).await.unwrap());
        }
    }
    drain_store(&e, &sample_store(), Some(&["pullover-hoodie"])).await;

    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    let product = e.ports.state.get_product(&reel.product).await.unwrap().unwrap();
    assert_eq!(brand_of(&product.store), brand, "the brand is the store the run was given");
    assert_eq!(reel.status, ReelStatus::Published, "{:?}", reel.reasons);
    assert_eq!(reel.plan.providers, ["runway", "kling"]);
    assert!(
        reel.plan.notes.iter().any(|n| n == "providers in the order they pass for this brand: runway, kling"),
        "{:?}",
        reel.plan.notes
    );
    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    assert!(clips.iter().all(|c| c.provider == "runway"), "{clips:?}");
    assert_eq!(kling_stub.submissions(), 0);
}
