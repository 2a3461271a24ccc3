//! Planning on real photos and real voices: galleries of every shape, one colour per reel, the asked
//! length, hostile copy, the brand kit, and approval before anything is paid for.

use std::path::Path;
use std::sync::Arc;
use truereel::config::Config;
use truereel::homes::embedded::Embedded;
use truereel::ports::Stage;
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::stages::plan::{Planned, preview};
use truereel::{PlanOptions, ReelId, ReelStatus, ShotRole};
use truereel_tests::{init_logs, sample_photo, sample_store, small_config, store_with};

/// Crawls `store` (photos only) into a fresh data folder.
async fn crawled(data: &Path, store: &Path, config: &Config) -> Embedded {
    let e = Embedded::open_for_runner(data, config).await.unwrap();
    let store = store.to_string_lossy();
    runner::run_store(&e.ports, &store, None, None, &RunOptions::default(), Arc::new(LogProgress::default()))
        .await
        .unwrap();
    e
}

/// Every reel `options` plan for `handle`.
async fn plans(e: &Embedded, handle: &str, options: &PlanOptions) -> Vec<Result<Planned, String>> {
    let product = e.ports.state.get_product(&truereel::Handle::parse(handle).unwrap()).await.unwrap();
    let product = product.unwrap_or_else(|| panic!("{handle} was not taken in"));
    preview(&e.ports, &product, options).await.unwrap()
}

fn one(mut plans: Vec<Result<Planned, String>>) -> Planned {
    assert_eq!(plans.len(), 1, "{plans:#?}");
    plans.remove(0).unwrap_or_else(|e| panic!("not planned: {e}"))
}

/// What holds for every plan: shots grounded in the product's photos, timings monotonic and
/// inside their shot, the length as asked (or longer only with a note), a normalised voice-over.
fn check(p: &Planned, photos: &[&str], length_ms: u32) {
    let plan = &p.plan;
    assert_eq!(plan.shots.last().unwrap().role, ShotRole::CallToAction);
    for source in &p.sources {
        assert!(photos.iter().any(|ph| source.ends_with(ph)), "{source} is not one of {photos:?}");
    }
    let total = plan.duration_ms();
    assert!(total == length_ms || plan.notes.iter().any(|n| n.contains("longer than")), "{total} ms: {:?}", plan.notes);
    let starts = plan.starts_ms();
    let mut last = 0;
    for line in &p.voice_over.lines {
        let shot = line.shot as usize;
        assert!(
            line.start_ms >= starts[shot] && line.end_ms <= starts[shot] + plan.shots[shot].duration_ms,
            "{line:?}"
        );
        assert!(line.start_ms >= last && line.end_ms > line.start_ms, "{line:?}");
        last = line.end_ms;
    }
    let mut last = 0;
    for w in &p.voice_over.words {
        assert!(w.start_ms >= last && w.end_ms >= w.start_ms && w.end_ms <= total, "{w:?}");
        last = w.start_ms;
    }
    let loud = p.voice_over.loudness.expect("the voice-over is measured");
    assert!((loud.integrated + 14.0).abs() <= 1.0 && loud.true_peak <= -1.0, "{loud:?}");
    assert!(plan.shots.iter().all(|s| !s.direction.is_empty()), "every shot has motion direction");
    assert!(plan.suitability.score > 0.0 && !plan.suitability.reasons.is_empty());
}

const GALLERIES: &str = r#"{"products": [
  {"handle": "all-kinds", "title": "White Off-Shoulder Dress", "vendor": "Sample Co",
   "body_html": "<p>Short white off-the-shoulder dress in cotton poplin, with a ruffled bodice.</p>",
   "variants": [{"id": 1, "price": "79.00", "option1": "S"}],
   "options": [{"name": "Size", "values": ["S"]}],
   "images": [{"src": "photos/worn.jpg", "position": 1}, {"src": "photos/detail.jpg", "position": 2},
              {"src": "photos/front.jpg", "position": 3}, {"src": "photos/back.jpg", "position": 4}]},
  {"handle": "only-flats", "title": "Grey Graphic Tee", "body_html": "Soft cotton tee.",
   "images": [{"src": "photos/front.jpg", "position": 1}, {"src": "photos/back.jpg", "position": 2}]},
  {"handle": "single-photo", "title": "Green Beanie", "body_html": "A chunky knit beanie.",
   "images": [{"src": "photos/beanie.jpg", "position": 1}]}
]}"#;

fn galleries(dir: &Path) {
    let photos = [
        ("worn.jpg", "dress-white-worn.jpg"),
        ("detail.jpg", "dress-white-detail.jpg"),
        ("front.jpg", "tee-grey-front-flat.jpg"),
        ("back.jpg", "tee-grey-back-flat.jpg"),
        ("beanie.jpg", "beanie-green-worn.jpg"),
    ];
    let bytes: Vec<(&str, Vec<u8>)> = photos.iter().map(|(n, s)| (*n, sample_photo(s))).collect();
    let refs: Vec<(&str, &[u8])> = bytes.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    store_with(dir, GALLERIES, &refs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gallery_shape_is_planned_on_its_own_photos_and_says_what_it_lacks() {
    init_logs();
    let (store, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    galleries(store.path());
    let e = crawled(data.path(), store.path(), &small_config()).await;
    let options = PlanOptions::default();

    let full = one(plans(&e, "all-kinds", &options).await);
    check(&full, &["worn.jpg", "detail.jpg", "front.jpg", "back.jpg"], 15_000);
    let roles: Vec<ShotRole> = full.plan.shots.iter().map(|s| s.role).collect();
    assert_eq!(roles, [ShotRole::Opening, ShotRole::Texture, ShotRole::Reveal, ShotRole::CallToAction]);
    assert!(full.sources[0].ends_with("worn.jpg") && full.sources[1].ends_with("detail.jpg"), "{:?}", full.sources);
    let distinct: std::collections::BTreeSet<&String> = full.sources.iter().collect();
    assert_eq!(distinct.len(), 4, "no photo twice while others are left: {:?}", full.sources);

    let flats = one(plans(&e, "only-flats", &options).await);
    check(&flats, &["front.jpg", "back.jpg"], 15_000);
    assert!(flats.plan.shots.iter().all(|s| s.role != ShotRole::Texture));
    assert!(flats.plan.notes.iter().any(|n| n.contains("no detail crop")), "{:?}", flats.plan.notes);

    let single = one(plans(&e, "single-photo", &options).await);
    check(&single, &["beanie.jpg"], 15_000);
    assert!(single.plan.notes.iter().any(|n| n.contains("1 photo")), "{:?}", single.plan.notes);
    assert!(single.plan.suitability.reasons.iter().any(|r| r.contains("only one photo")));

    for length in [6, 60] {
        let options = PlanOptions { length_ms: Some(length * 1000), ..PlanOptions::default() };
        let p = one(plans(&e, "all-kinds", &options).await);
        check(&p, &["worn.jpg", "detail.jpg", "front.jpg", "back.jpg"], length * 1000);
        assert_eq!(p.plan.shots.len(), if length == 6 { 2 } else { 6 }, "{length} s");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reel_never_cuts_between_colours_and_per_variant_makes_one_reel_each() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let e = crawled(data.path(), &sample_store(), &small_config()).await;
    let red = ["hoodie-red-front-flat.jpg", "hoodie-red-worn.jpg"];

    let hero = one(plans(&e, "pullover-hoodie", &PlanOptions::default()).await);
    check(&hero, &red, 15_000);
    assert_eq!(hero.plan.variant.as_deref(), Some("Red"));
    assert_eq!(hero.plan.reel.variant(), None, "the default reel keeps its id");
    assert!(
        hero.plan.notes.iter().any(|n| n.contains("Black") && n.contains("--per-variant")),
        "{:?}",
        hero.plan.notes
    );

    let options = PlanOptions { per_variant: true, ..PlanOptions::default() };
    let reels: Vec<Planned> = plans(&e, "pullover-hoodie", &options).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(reels.len(), 2);
    let (r, b) = (&reels[0], &reels[1]);
    check(r, &red, 15_000);
    check(b, &["hoodie-black-front-flat.jpg"], 15_000);
    assert_eq!(r.plan.reel.variant().unwrap().as_str(), "red");
    assert_eq!(b.plan.reel.variant().unwrap().as_str(), "black");
    assert_eq!(truereel::BlobKey::published_reel(&b.plan.reel).as_str(), "public/reels/pullover-hoodie.black.mp4");

    // A product with one colour plans as it always did.
    let tee = one(plans(&e, "grey-graphic-tee", &options).await);
    assert_eq!(
        tee.plan.reel,
        ReelId::new(
            &tee.plan.product,
            &e.ports.state.get_product(&tee.plan.product).await.unwrap().unwrap().gallery_hash
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_copy_is_fitted_or_refused_by_name_and_the_rest_goes_on() {
    init_logs();
    let (store, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let long = "Soft cotton fleece with ribbed cuffs and a roomy hood. ".repeat(1000);
    let products = serde_json::json!({"products": [
        {"handle": "empty-copy", "title": "Grey Tee", "body_html": "", "images": [{"src": "photos/front.jpg"}]},
        {"handle": "html-copy", "title": "Grey Tee",
         "body_html": "<script>alert('x')</script><style>p{}</style><p>Soft <b>cotton</b> tee.</p><img src=x onerror=alert(1)>",
         "images": [{"src": "photos/front.jpg"}]},
        {"handle": "long-copy", "title": "Grey Hoodie", "body_html": long, "images": [{"src": "photos/front.jpg"}]},
        {"handle": "japanese-copy", "title": "グレーのTシャツ",
         "body_html": "柔らかいコットンのTシャツです。胸に小さな青い文字があります。毎日着られる定番の一枚です。",
         "images": [{"src": "photos/front.jpg"}]},
        {"handle": "arabic-copy", "title": "قميص رمادي",
         "body_html": "قميص قطني ناعم بأكمام قصيرة. مريح للاستخدام اليومي.",
         "images": [{"src": "photos/front.jpg"}]},
        {"handle": "long-title", "title": "Tee ".repeat(1250), "body_html": "Soft cotton.",
         "images": [{"src": "photos/front.jpg"}]}
    ]});
    store_with(store.path(), &products.to_string(), &[("front.jpg", &sample_photo("tee-grey-front-flat.jpg"))]);
    let e = crawled(data.path(), store.path(), &small_config()).await;
    for handle in ["empty-copy", "html-copy", "long-copy", "japanese-copy", "arabic-copy", "long-title"] {
        let planned = plans(&e, handle, &PlanOptions::default()).await;
        assert_eq!(planned.len(), 1, "{handle}");
        match &planned[0] {
            Ok(p) => {
                check(p, &["front.jpg"], 15_000);
                for s in &p.plan.shots {
                    assert!(!s.line.contains('<') && !s.line.contains("alert"), "{handle}: {:?}", s.line);
                    assert!(s.line.chars().count() < 300, "{handle}: a line fitted to its shot: {:?}", s.line);
                }
                if handle == "japanese-copy" {
                    assert_eq!(p.plan.language, "ja");
                    assert!(
                        p.plan.shots.iter().any(|s| s.line.contains('コ') || s.line.contains('T')),
                        "{:?}",
                        p.plan.shots
                    );
                }
                if handle == "arabic-copy" {
                    assert_eq!(p.plan.language, "ar");
                }
            }
            // A language no voice speaks is refused by name, not with a panic or an English voice.
            Err(why) => assert!(
                matches!(handle, "japanese-copy" | "arabic-copy") && why.contains("no configured voice"),
                "{handle}: {why}"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brand_kit_is_obeyed_and_a_bad_one_names_its_key() {
    init_logs();
    let (store, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    galleries(store.path());
    std::fs::write(
        store.path().join("brand.toml"),
        "name = \"Sample Co\"\ncall_to_action = \"Shop the drop.\"\navoid = [\"dress\", \"ruffled\"]\n\
         [say]\ncotton = \"COTTON\"\n[length]\nmax_seconds = 12\n",
    )
    .unwrap();
    let store_text = store.path().to_string_lossy().to_string();
    let mut config = small_config();
    let options = config.plan_options(&store_text).unwrap();
    assert_eq!(options.brand.max_reel_ms, Some(12_000));
    let e = crawled(data.path(), store.path(), &config).await;
    let p = one(plans(&e, "all-kinds", &options).await);
    assert!(p.plan.duration_ms() <= 12_000, "the brand's longest reel: {}", p.plan.duration_ms());
    assert!(p.plan.notes.iter().any(|n| n.contains("15 s asked, 12 s planned")), "{:?}", p.plan.notes);
    assert!(p.plan.shots.last().unwrap().line.contains("Shop the drop."), "{:?}", p.plan.shots.last());
    for s in &p.plan.shots {
        let lower = s.line.to_lowercase();
        assert!(!lower.contains("dress") && !lower.contains("ruffled"), "a word to avoid: {:?}", s.line);
        assert!(!s.line.contains("cotton"), "said the brand's way: {:?}", s.line);
    }

    std::fs::write(store.path().join("brand.toml"), "[caption]\ncolour = \"blue\"\n[voice]\nrate = 9\n").unwrap();
    let err = config.plan_options(&store_text).unwrap_err().to_string();
    assert!(err.contains("brand.toml") && err.contains("caption.colour") && err.contains("voice.rate"), "{err}");
    config.plan.brand = Some(store.path().join("missing.toml"));
    assert!(config.plan_options(&store_text).unwrap_err().to_string().contains("missing.toml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_waits_for_approval_and_a_rejection_plans_it_again() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let config = small_config();
    let e = Embedded::open_for_runner(data.path(), &config).await.unwrap();
    let store = sample_store().to_string_lossy().to_string();
    let options = PlanOptions { approve: true, ..PlanOptions::default() };
    let only = Some(vec!["grey-graphic-tee".to_string()]);
    let quiet = || Arc::new(LogProgress::default());
    runner::run_store(&e.ports, &store, only, Some(options), &RunOptions::default(), quiet()).await.unwrap();
    let reels = e.ports.state.list_reels().await.unwrap();
    assert_eq!(reels.len(), 1);
    let reel = &reels[0];
    assert_eq!(reel.status, ReelStatus::AwaitingApproval);
    assert!(e.ports.state.clips(&reel.id).await.unwrap().is_empty(), "nothing rendered before approval");
    assert!(
        e.ports.blobs.head(&reel.voice_over.audio).await.unwrap().is_some(),
        "the voice-over is there to listen to"
    );
    assert_eq!(e.ports.queue.depth(Stage::Generate).await.unwrap().visible, 0);

    let said = truereel::stages::plan::reject(&e.ports, &reel.id, "open on the back of the tee").await.unwrap();
    assert!(said.contains("planning it again"), "{said}");
    runner::drain(&e.ports, &RunOptions::default(), quiet()).await.unwrap();
    let again = e.ports.state.get_reel(&reel.id).await.unwrap().unwrap();
    assert_eq!((again.status, again.revision), (ReelStatus::AwaitingApproval, 2));
    assert_eq!(again.rejections, ["open on the back of the tee"]);
    assert_ne!(again.voice_over.audio, reel.voice_over.audio, "a new revision has its own voice-over");
    assert!(again.plan.notes.iter().any(|n| n.contains("revision 2")), "{:?}", again.plan.notes);
    assert_ne!(
        again.plan.shots[0].reference, reel.plan.shots[0].reference,
        "the rejected opening is not shown first again"
    );
    assert!(truereel::stages::plan::reject(&e.ports, &reel.id, " ").await.is_err(), "a rejection needs a reason");

    let said = truereel::stages::plan::approve(&e.ports, &reel.id).await.unwrap();
    assert!(said.contains("approved"), "{said}");
    runner::drain(&e.ports, &RunOptions::default(), quiet()).await.unwrap();
    let done = e.ports.state.get_reel(&reel.id).await.unwrap().unwrap();
    assert_eq!(done.status, ReelStatus::Published, "{:?}", done.reasons);
    assert_eq!(done.voice_over, again.voice_over, "the approved voice-over is the one published");
    let history: Vec<ReelStatus> = e.ports.state.history(&reel.id).await.unwrap().into_iter().map(|(s, _)| s).collect();
    assert_eq!(history[0], ReelStatus::AwaitingApproval);
    assert!(truereel::stages::plan::reject(&e.ports, &reel.id, "too late").await.is_err(), "an approved plan stays");
}

/// An LLM writer (OpenAI's Responses API on a loopback stub) that invents a material, a price, another
/// colour and a certification: the honesty guard takes each out, says why, and the reel is still planned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_honesty_guard_takes_out_what_an_llm_invented() {
    init_logs();
    let server = truereel::testing::TestServer::start().await;
    server.handle("/v1/responses", |request| {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        // One brief per shot names its max_words; the rules name it once more.
        let shots = body.to_string().matches("max_words").count().saturating_sub(1).max(1);
        let invented = [
            "Meet the Pullover Hoodie in pure silk.",
            "Only $20 today, in black too.",
            "GOTS-certified organic cotton, made to last.",
            "Ribbed cuffs and hem, with a kangaroo pocket.",
        ];
        let lines: Vec<&str> = (0..shots).map(|i| invented[i.min(invented.len() - 1)]).collect();
        let text = serde_json::json!({ "lines": lines }).to_string();
        let answer = serde_json::json!({"status": "completed", "output": [
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}]});
        truereel::testing::Reply::ok(answer.to_string()).header("Content-Type", "application/json")
    });
    let data = tempfile::tempdir().unwrap();
    let url = server.url("");
    let vars = [
        ("TRUEREEL_WRITER", "openai"),
        ("TRUEREEL_OPENAI_API_KEY", "sk-test"),
        ("TRUEREEL_OPENAI_BASE_URL", url.as_str()),
    ];
    let mut config = Config::load(&|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()), &[]).unwrap();
    (config.settings.width, config.settings.height) = (270, 480);
    let e = crawled(data.path(), &sample_store(), &config).await;
    assert_eq!(e.ports.writer.name(), "openai:gpt-5.4-mini");
    let p = one(plans(&e, "pullover-hoodie", &PlanOptions::default()).await);
    assert!(!server.requests_to("/v1/responses").is_empty(), "the LLM was asked");
    let categories: Vec<&str> = p.plan.dropped_claims.iter().map(|d| d.category.as_str()).collect();
    for wanted in ["material", "price", "colour", "certification"] {
        assert!(categories.contains(&wanted), "no {wanted} taken out: {:#?}", p.plan.dropped_claims);
    }
    for s in &p.plan.shots {
        let lower = s.line.to_lowercase();
        for invented in ["silk", "$20", "black", "gots"] {
            assert!(!lower.contains(invented), "{invented} left in {:?}", s.line);
        }
    }
    assert!(p.plan.dropped_claims.iter().all(|d| !d.reason.is_empty() && !d.original.is_empty()));
}

/// `--per-variant` end to end: one published reel per colour, each file naming its colour, each reel
/// showing only its colour's photos.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_variant_publishes_one_reel_per_colour() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(data.path(), &small_config()).await.unwrap();
    let store = sample_store().to_string_lossy().to_string();
    let options = PlanOptions { per_variant: true, length_ms: Some(8_000), ..PlanOptions::default() };
    let only = Some(vec!["pullover-hoodie".to_string()]);
    runner::run_store(&e.ports, &store, only, Some(options), &RunOptions::default(), Arc::new(LogProgress::default()))
        .await
        .unwrap();
    let mut reels = e.ports.state.list_reels().await.unwrap();
    reels.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(reels.len(), 2);
    let refs = e.ports.state.references(&reels[0].product).await.unwrap();
    for (reel, colour) in reels.iter().zip(["black", "red"]) {
        assert_eq!(reel.status, ReelStatus::Published, "{:?}", reel.reasons);
        let file = format!("public/reels/pullover-hoodie.{colour}.mp4");
        assert_eq!(reel.published.as_ref().map(|k| k.as_str()), Some(file.as_str()));
        assert!(e.ports.blobs.head(reel.published.as_ref().unwrap()).await.unwrap().is_some());
        for shot in &reel.plan.shots {
            let source = &refs.iter().find(|r| r.sha256 == shot.reference).unwrap().source_url;
            assert!(source.contains(colour), "the {colour} reel shows {source}");
        }
    }
}
