//! Faults: messages delivered twice, bad storefront input, and re-runs.

use std::path::Path;
use std::sync::Arc;
use truereel::homes::embedded::Embedded;
use truereel::ports::Stage;
use truereel::report;
use truereel::{ReelStatus, Usd};
use truereel_tests::{
    TwiceQueue, drain_store, init_logs, renders, run_store, sample_photo, sample_store, small_config, store_with,
};

const TWO: [&str; 2] = ["grey-graphic-tee", "white-off-shoulder-dress"];

/// Every message is delivered twice; every second delivery must change nothing: each shot is
/// rendered once, each paid call is in the ledger once, each reel is published once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_delivered_twice_changes_nothing_the_second_time() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut e = Embedded::open_for_runner(dir.path(), &small_config()).await.unwrap();
    e.ports.queue = Arc::new(TwiceQueue(e.ports.queue.clone()));
    let report = drain_store(&e, &sample_store(), Some(&TWO)).await;
    assert_eq!(report.dead_lettered, 0);

    let reels = e.ports.state.list_reels().await.unwrap();
    assert_eq!(reels.len(), 2);
    let shots: usize = reels.iter().map(|r| r.plan.shots.len()).sum();
    let rendered = renders(&e);
    assert_eq!(rendered.len(), shots, "each shot rendered exactly once: {rendered:#?}");
    for reel in &reels {
        assert_eq!(reel.status, ReelStatus::Published, "{:?}", reel.reasons);
        let history = e.ports.state.history(&reel.id).await.unwrap();
        let published = history.iter().filter(|(s, _)| *s == ReelStatus::Published).count();
        assert_eq!(published, 1, "{} published once: {history:?}", reel.id);
        let ledger = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
        assert_eq!(ledger.len(), reel.plan.shots.len() + 1, "one entry per clip and one for the voice");
        assert_eq!(e.ports.state.clips(&reel.id).await.unwrap().len(), reel.plan.shots.len());
    }
    // Handling more than the pipeline needed proves the duplicates really arrived.
    let handled: u64 = report.handled.values().sum();
    assert!(handled >= 2 * (1 + 2 + 2 + shots as u64 * 2 + 2), "{report:?}");
}

/// A second run over an unchanged store plans, renders and publishes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_of_an_unchanged_store_does_nothing_new() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let only = ["grey-graphic-tee"];
    let (e, _) = run_store(dir.path(), &sample_store(), Some(&only), small_config()).await;
    let before = (renders(&e), e.ports.state.ledger(None).await.unwrap());
    drain_store(&e, &sample_store(), Some(&only)).await;
    let after = (renders(&e), e.ports.state.ledger(None).await.unwrap());
    assert_eq!(before, after);
    let reels = e.ports.state.list_reels().await.unwrap();
    assert_eq!(reels.len(), 1);
    let history = e.ports.state.history(&reels[0].id).await.unwrap();
    assert_eq!(history.iter().filter(|(s, _)| *s == ReelStatus::Published).count(), 1);
}

/// Broken products each get a clear error naming them; the good one still gets its reel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_products_fail_alone_with_their_name_and_reason() {
    init_logs();
    let store = tempfile::tempdir().unwrap();
    let tee_front = sample_photo("tee-grey-front-flat.jpg");
    let tee_back = sample_photo("tee-grey-back-flat.jpg");
    let products = r#"{"products": [
      {"handle": "good-tee", "title": "Grey Tee", "body_html": "<p>A light grey tee.</p>",
       "images": [{"src": "photos/front.jpg", "position": 1, "alt": "front"},
                  {"src": "photos/back.jpg", "position": 2, "alt": "back"},
                  {"src": "photos/page.jpg", "position": 3, "alt": "broken"}]},
      {"handle": "no-photos", "title": "Ghost Product", "body_html": "", "images": []},
      {"handle": "html-photo", "title": "Lying Photo", "body_html": "x",
       "images": [{"src": "photos/page.jpg", "position": 1}]},
      {"handle": "empty-photo", "title": "Empty Photo", "body_html": "x",
       "images": [{"src": "photos/empty.jpg", "position": 1}]},
      {"handle": "missing-photo", "title": "Missing Photo", "body_html": "x",
       "images": [{"src": "photos/nowhere.jpg", "position": 1}]},
      {"handle": "escaping-photo", "title": "Escaping Photo", "body_html": "x",
       "images": [{"src": "../../../etc/passwd", "position": 1}]},
      {"handle": "no-title", "images": [{"src": "photos/front.jpg"}]},
      "not an object"
    ]}"#;
    store_with(
        store.path(),
        products,
        &[
            ("front.jpg", &tee_front),
            ("back.jpg", &tee_back),
            ("page.jpg", b"<!DOCTYPE html><html><body>Not found</body></html>"),
            ("empty.jpg", b""),
        ],
    );
    let data = tempfile::tempdir().unwrap();
    let config = small_config();
    let started = config.settings.run_started_ms;
    let (e, _) = run_store(data.path(), store.path(), None, config).await;
    let store_name = store.path().to_string_lossy().to_string();
    let rows = report::summary(&e.ports, &store_name, None, started).await.unwrap();
    let row = |p: &str| rows.iter().find(|r| r.product == p).unwrap_or_else(|| panic!("no row for {p}: {rows:#?}"));

    assert!(row("good-tee").published, "{:?}", row("good-tee"));
    let expect = [
        ("no-photos", "no images"),
        ("html-photo", "HTML"),
        ("empty-photo", "empty"),
        ("missing-photo", "no such file"),
        ("escaping-photo", "passwd"),
        ("no-title", "title"),
    ];
    for (product, reason) in expect {
        let r = row(product);
        assert!(!r.published);
        assert!(r.verdict.starts_with("failed: "), "{product}: {}", r.verdict);
        assert!(r.verdict.to_lowercase().contains(&reason.to_lowercase()), "{product}: {} lacks {reason:?}", r.verdict);
    }
    assert!(rows.iter().any(|r| r.product.contains("#8") || r.verdict.contains("not an object")), "{rows:#?}");
    // The good product's broken third photo is reported as a warning, not a failure.
    let issues = e.ports.state.issues_since(started).await.unwrap();
    assert!(
        issues.iter().any(|i| i.product == "good-tee" && !i.fatal && i.message.contains("page.jpg")),
        "{issues:#?}"
    );
    assert_eq!(e.ports.state.spent(None, 0).await.unwrap(), Usd::ZERO);
}

/// A products.json that is not JSON is one clear error naming the file; nothing is planned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_products_file_that_is_not_json_is_reported_with_where() {
    init_logs();
    let store = tempfile::tempdir().unwrap();
    store_with(store.path(), "{\"products\": [ {\"handle\": \"x\",, } ", &[]);
    let data = tempfile::tempdir().unwrap();
    let config = small_config();
    let started = config.settings.run_started_ms;
    let (e, _) = run_store(data.path(), store.path(), None, config).await;
    let issues = e.ports.state.issues_since(started).await.unwrap();
    assert_eq!(issues.len(), 1, "{issues:#?}");
    let msg = &issues[0].message;
    assert!(msg.contains("products.json") && msg.contains("JSON") && msg.contains("line 1"), "{msg}");
    assert!(e.ports.state.list_reels().await.unwrap().is_empty());
}

/// With a priced renderer and a run budget, nothing is submitted past the budget: the reels that
/// would overrun it are parked with the reason, and the ledger total stays within it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_submitted_past_the_run_budget() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config();
    let budget = Usd::from_dollars(0.60);
    config.settings.budget.per_run = Some(budget);
    let mut e = Embedded::open_for_runner(dir.path(), &config).await.unwrap();
    // $0.05 per second of video, as a paid image-to-video provider might charge.
    let priced = truereel::adapters::providers::video::still_motion::StillMotionVideo::new(
        e.blobs.clone(),
        Usd::from_dollars(0.05),
    );
    e.ports.video = truereel::ports::VideoModels::one(Arc::new(priced));
    drain_store(&e, &sample_store(), Some(&TWO)).await;

    let spent = e.ports.state.spent(None, 0).await.unwrap();
    assert!(spent <= budget, "spent {spent} of a {budget} budget");
    assert!(spent > Usd::ZERO, "something was paid for");
    let reels = e.ports.state.list_reels().await.unwrap();
    let parked: Vec<_> = reels.iter().filter(|r| r.status == ReelStatus::NeedsReview).collect();
    assert!(!parked.is_empty(), "two reels of ~$0.50 each cannot both fit in $0.60");
    assert!(parked.iter().all(|r| r.reasons.iter().any(|w| w.contains("run's budget"))), "{parked:#?}");
    let charged = e.ports.state.ledger(None).await.unwrap().iter().filter(|l| l.operation == "image_to_video").count();
    let rendered = renders(&e).len();
    assert_eq!(rendered, charged, "every render was charged first, and nothing uncharged was rendered");
}

/// A re-crawl asks the source whether each photo changed and reads none that did not: here the
/// photos are overwritten with junk of the same length and given back their old modification time,
/// so reading one would fail intake. Nothing is planned again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recrawl_reads_no_unchanged_photo_and_plans_nothing() {
    init_logs();
    let store = tempfile::tempdir().unwrap();
    let products = r#"{"products": [{"handle": "tee", "title": "Grey Tee", "body_html": "<p>A light grey tee.</p>",
       "images": [{"src": "photos/front.jpg", "position": 1, "alt": "front"},
                  {"src": "photos/back.jpg", "position": 2, "alt": "back"}]}]}"#;
    let front = sample_photo("tee-grey-front-flat.jpg");
    let back = sample_photo("tee-grey-back-flat.jpg");
    store_with(store.path(), products, &[("front.jpg", &front), ("back.jpg", &back)]);
    let data = tempfile::tempdir().unwrap();
    let (e, first) = run_store(data.path(), store.path(), None, small_config()).await;
    assert_eq!(first.handled[&Stage::Plan], 1);
    let refs = e.ports.state.references(&truereel::Handle::parse("tee").unwrap()).await.unwrap();
    assert_eq!(refs.len(), 2);
    assert!(refs.iter().all(|r| !r.validators.is_empty() && r.print.is_some()), "{refs:?}");

    for name in ["front.jpg", "back.jpg"] {
        let path = store.path().join("photos").join(name);
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        std::fs::write(&path, vec![b'x'; len]).unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(modified).unwrap();
    }
    let second = drain_store(&e, store.path(), None).await;
    assert_eq!(second.handled[&Stage::Crawl], 2, "listing and intake ran");
    assert_eq!(second.handled[&Stage::Plan], 0, "an unchanged gallery plans nothing");
    let issues = e.ports.state.issues_since(0).await.unwrap();
    assert!(issues.is_empty(), "no photo was read, so none was rejected: {issues:?}");
    assert_eq!(e.ports.state.references(&truereel::Handle::parse("tee").unwrap()).await.unwrap(), refs);
}

/// Two renditions of one photo (a half-size PNG of the JPEG) are one reference, the larger one;
/// the same file listed twice is one reference too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renditions_of_one_photo_collapse_to_the_largest() {
    init_logs();
    let store = tempfile::tempdir().unwrap();
    let front = sample_photo("tee-grey-front-flat.jpg");
    let back = sample_photo("tee-grey-back-flat.jpg");
    let full = image::load_from_memory(&front).unwrap();
    let half = full.resize(full.width() / 2, full.height() / 2, image::imageops::FilterType::Triangle);
    let mut small = Vec::new();
    half.write_to(&mut std::io::Cursor::new(&mut small), image::ImageFormat::Png).unwrap();
    let products = r#"{"products": [{"handle": "tee", "title": "Grey Tee", "body_html": "<p>A light grey tee.</p>",
       "images": [{"src": "photos/small.png", "position": 1}, {"src": "photos/back.jpg", "position": 2},
                  {"src": "photos/front.jpg", "position": 3}, {"src": "photos/back.jpg", "position": 4}]}]}"#;
    store_with(store.path(), products, &[("small.png", &small), ("front.jpg", &front), ("back.jpg", &back)]);
    let data = tempfile::tempdir().unwrap();
    let (e, _) = run_store(data.path(), store.path(), None, small_config()).await;
    let product = e.ports.state.get_product(&truereel::Handle::parse("tee").unwrap()).await.unwrap().unwrap();
    let refs = e.ports.state.references(&product.handle).await.unwrap();
    let current: Vec<_> = refs.iter().filter(|r| product.references.contains(&r.sha256)).collect();
    assert_eq!(current.len(), 2, "{current:?}");
    let first = current.iter().find(|r| r.position == 1).expect("the rendition keeps the first position");
    assert_eq!((first.width, first.height), (full.width(), full.height()), "the larger rendition is kept");
    assert_eq!(first.source_url, "photos/front.jpg");
}

/// Counts downloads of finished clips, passing everything through to the real renderer.
struct CountingDownloads {
    inner: Arc<dyn truereel::ports::VideoModel>,
    downloads: std::sync::atomic::AtomicUsize,
    /// Bytes of photo handed over inline across submissions.
    inline_bytes: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl truereel::ports::VideoModel for CountingDownloads {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn idempotent_submit(&self) -> bool {
        self.inner.idempotent_submit()
    }
    fn price(&self, request: &truereel::ports::ClipRequest) -> Usd {
        self.inner.price(request)
    }
    fn takes_inline_image(&self) -> bool {
        self.inner.takes_inline_image()
    }
    fn renders_in_assembly(&self) -> bool {
        self.inner.renders_in_assembly()
    }
    async fn submit(
        &self,
        request: &truereel::ports::ClipRequest,
        key: &truereel::IdempotencyKey,
    ) -> Result<truereel::JobId, truereel::ports::ProviderError> {
        self.inline_bytes.fetch_add(request.image.len(), std::sync::atomic::Ordering::SeqCst);
        self.inner.submit(request, key).await
    }
    async fn poll(&self, job: &truereel::JobId) -> Result<truereel::ports::JobStatus, truereel::ports::ProviderError> {
        self.inner.poll(job).await
    }
    async fn download(
        &self,
        output: &truereel::ports::ClipOutput,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<truereel::ports::Downloaded, truereel::ports::ProviderError> {
        self.downloads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.download(output, dest, max_bytes).await
    }
}

/// A crash between storing a clip and recording it leaves the clip in storage: handled again, the
/// mirror keeps that clip (no download, no rewrite) and records it. Staged here by putting shot 0's
/// clip, from an identical earlier run, where the mirror will look before the run makes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_stored_before_a_crash_is_kept_not_downloaded_again() {
    init_logs();
    let only = ["grey-graphic-tee"];
    let earlier = tempfile::tempdir().unwrap();
    let (first, _) = run_store(earlier.path(), &sample_store(), Some(&only), small_config()).await;
    let reel = first.ports.state.list_reels().await.unwrap().remove(0);
    let clips = first.ports.state.clips(&reel.id).await.unwrap();
    let shot0 = clips.iter().find(|c| c.shot == 0 && c.attempt == reel.shot_attempts[0]).unwrap().blob.clone();
    let clip = first.ports.blobs.get(&shot0).await.unwrap();

    let data = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(data.path(), &small_config()).await.unwrap();
    e.ports.blobs.put(&shot0, clip.clone(), truereel::media::RECIPE_TYPE).await.unwrap();
    let kept_at = std::fs::metadata(e.ports.blobs.local_path(&shot0).unwrap()).unwrap().modified().unwrap();
    let counting = Arc::new(CountingDownloads {
        inner: e.ports.video.first().clone(),
        downloads: Default::default(),
        inline_bytes: Default::default(),
    });
    let ports =
        truereel::stages::Ports { video: truereel::ports::VideoModels::one(counting.clone()), ..e.ports.clone() };
    let store = sample_store().to_string_lossy().to_string();
    let options = truereel::runner::RunOptions::default();
    let progress = Arc::new(truereel::runner::LogProgress::default());
    truereel::runner::run_store(
        &ports,
        &store,
        Some(vec![only[0].to_string()]),
        Some(Default::default()),
        &options,
        progress,
    )
    .await
    .unwrap();

    let again = ports.state.get_reel(&reel.id).await.unwrap().expect("the same reel");
    assert_eq!(again.status, ReelStatus::Published, "{:?}", again.reasons);
    let shots = again.plan.shots.len();
    assert_eq!(counting.downloads.load(std::sync::atomic::Ordering::SeqCst), shots - 1, "shot 0 was not downloaded");
    let inline = counting.inline_bytes.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(inline, 0, "the still-motion renderer reads the photo itself: none is read for it inline");
    assert_eq!(ports.blobs.get(&shot0).await.unwrap(), clip, "the kept clip is the one stored");
    let now = std::fs::metadata(ports.blobs.local_path(&shot0).unwrap()).unwrap().modified().unwrap();
    assert_eq!(now, kept_at, "the kept clip was not written again");
    let clips = ports.state.clips(&reel.id).await.unwrap();
    assert!(clips.iter().any(|c| c.shot == 0 && c.blob == shot0), "and it is recorded");
}
