//! Missing blobs: a published file, reference photos or a stored clip deleted by hand are found and
//! put back by the next run, with nothing charged twice.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use truereel::homes::embedded::Embedded;
use truereel::messages::{FlagDetail, FlagMsg, Message, PlanMsg};
use truereel::ports::Stage;
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::{Handle, ReelStatus, Usd};
use truereel_tests::{drain_store, init_logs, renders, run_store, sample_store, small_config};

const TEE: &str = "grey-graphic-tee";

/// A configuration whose renderer charges, so the ledger shows any second payment.
fn charging() -> truereel::config::Config {
    let mut c = small_config();
    c.still_motion_per_second = Usd::from_dollars(0.01);
    c
}

/// Every ledger key is charged once, and there is one per shot plus the voice-over.
async fn assert_charged_once(e: &Embedded, shots: usize) {
    let ledger = e.ports.state.ledger(None).await.unwrap();
    let keys: BTreeSet<String> = ledger.iter().map(|l| l.key.to_string()).collect();
    assert_eq!(keys.len(), ledger.len(), "a key charged twice: {ledger:#?}");
    assert_eq!(ledger.len(), shots + 1, "one charge per shot and the voice-over: {ledger:#?}");
}

/// Where the blob store keeps `key`.
fn file_of(e: &Embedded, key: &truereel::BlobKey) -> PathBuf {
    e.blobs.root().join(key.as_str())
}

fn published_transitions(history: &[(ReelStatus, i64)]) -> usize {
    history.iter().filter(|(s, _)| *s == ReelStatus::Published).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_file_deleted_by_hand_is_reported_and_published_again_by_the_next_run() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let store = sample_store();
    let (e, _) = run_store(dir.path(), &store, Some(&[TEE]), charging()).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    let file = file_of(&e, reel.published.as_ref().unwrap());
    let (before_renders, before_ledger) = (renders(&e), e.ports.state.ledger(None).await.unwrap());
    std::fs::remove_file(&file).unwrap();

    let only = Some(vec![TEE.to_string()]);
    let since = truereel::now_ms();
    let rows = truereel::report::summary(&e.ports, &store.to_string_lossy(), only.as_deref(), since).await.unwrap();
    assert!(!rows[0].published && rows[0].verdict.contains("file is missing"), "{rows:?}");

    drain_store(&e, &store, Some(&[TEE])).await;
    assert!(file.is_file(), "published again");
    assert_eq!((renders(&e), e.ports.state.ledger(None).await.unwrap()), (before_renders, before_ledger));
    assert_eq!(published_transitions(&e.ports.state.history(&reel.id).await.unwrap()), 1);
    let rows = truereel::report::summary(&e.ports, &store.to_string_lossy(), only.as_deref(), since).await.unwrap();
    assert!(rows[0].published, "{rows:?}");
    assert_eq!(rows[0].file.as_deref(), Some(file.to_string_lossy().as_ref()));
}

/// The reference photos of `product`, deleted from the blob store; returns their files.
async fn delete_references(e: &Embedded, product: &str, keep: usize) -> Vec<std::path::PathBuf> {
    let refs = e.ports.state.references(&Handle::parse(product).unwrap()).await.unwrap();
    let mut gone = Vec::new();
    for r in refs.iter().skip(keep) {
        let path = file_of(e, &r.blob);
        std::fs::remove_file(&path).unwrap();
        gone.push(path);
    }
    gone
}

/// Takes one product's photos in (nothing planned).
async fn crawl_only(e: &Embedded, store: &std::path::Path, handle: &str) {
    let (store, only) = (store.to_string_lossy(), Some(vec![handle.to_string()]));
    let progress = Arc::new(LogProgress::default());
    runner::run_store(&e.ports, &store, only, None, &RunOptions::default(), progress).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_photos_deleted_after_a_crawl_are_fetched_again_by_the_next_run() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let store = sample_store();
    let e = Embedded::open_for_runner(dir.path(), &charging()).await.unwrap();
    crawl_only(&e, &store, TEE).await;
    let gone = delete_references(&e, TEE, 0).await;
    assert!(!gone.is_empty());

    drain_store(&e, &store, Some(&[TEE])).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    assert_eq!(reel.status, ReelStatus::Published, "{:?}", e.ports.state.issues_since(0).await.unwrap());
    assert!(gone.iter().all(|p| p.is_file()), "every photo fetched again");
    assert_charged_once(&e, reel.plan.shots.len()).await;
}

/// A reel left generating because a reference photo went missing is named as stuck; then one of its
/// stored clips (and the renderer's copy) is deleted too. The next run fetches the photo, renders the
/// missing shots and the lost clip (the lost one under its old key: no second charge) and publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reel_stuck_on_a_missing_photo_and_a_lost_clip_is_repaired_by_the_next_run_without_paying_twice() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let store = sample_store();
    let e = Embedded::open_for_runner(dir.path(), &charging()).await.unwrap();
    crawl_only(&e, &store, TEE).await;
    let gone = delete_references(&e, TEE, 1).await;
    assert!(!gone.is_empty());
    let plan = Message::from(PlanMsg::new(Handle::parse(TEE).unwrap(), Default::default()));
    e.ports.queue.send(Stage::Plan, &plan.to_json(), std::time::Duration::ZERO).await.unwrap();
    let report = runner::drain(&e.ports, &RunOptions::default(), Arc::new(LogProgress::default())).await.unwrap();
    assert_eq!(report.dead_lettered, 0, "a missing photo is no failure to retry: {report:?}");

    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    assert_eq!(reel.status, ReelStatus::Generating);
    let issues = e.ports.state.issues_since(0).await.unwrap();
    assert!(issues.iter().any(|i| i.message.contains("is missing from the blob store")), "{issues:#?}");
    let stuck = truereel::stuck::stuck_reels(&e.ports, &e.queue.pending().await.unwrap()).await.unwrap();
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert!(stuck[0].why.contains("reference photos missing"), "{stuck:?}");
    assert!(stuck[0].fix.starts_with("truereel run --store "), "{stuck:?}");

    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    assert!(!clips.is_empty() && clips.len() < reel.plan.shots.len(), "some shots rendered: {clips:?}");
    let lost = &clips[0];
    std::fs::remove_file(file_of(&e, &lost.blob)).unwrap();
    let outbox = dir.path().join("blobs/provider/still-motion").join(format!("{}.json", lost.job));
    std::fs::remove_file(&outbox).unwrap();

    drain_store(&e, &store, Some(&[TEE])).await;
    let reel = e.ports.state.get_reel(&reel.id).await.unwrap().unwrap();
    assert_eq!(reel.status, ReelStatus::Published, "{:#?}", e.ports.state.issues_since(0).await.unwrap());
    assert!(file_of(&e, &lost.blob).is_file(), "the lost clip is back");
    assert_charged_once(&e, reel.plan.shots.len()).await;
    let rendered = renders(&e);
    assert_eq!(rendered.len(), reel.plan.shots.len() + 1, "every shot once, the lost one twice: {rendered:#?}");
    assert!(truereel::stuck::stuck_reels(&e.ports, &e.queue.pending().await.unwrap()).await.unwrap().is_empty());
}

/// A still-motion shot is rendered from its photo at every assembly. A photo deleted after publishing,
/// then a flag on a shot made from another photo: the new cut stops with the missing photo named (no
/// half-made reel), and the next run, which fetches the photo again, publishes the new version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_gone_before_a_recipe_is_rendered_again_is_named_and_the_next_run_mends_it() {
    init_logs();
    const HOODIE: &str = "pullover-hoodie";
    let dir = tempfile::tempdir().unwrap();
    let store = sample_store();
    let e = Embedded::open_for_runner(dir.path(), &small_config()).await.unwrap();
    drain_store(&e, &store, Some(&[HOODIE])).await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    assert_eq!(reel.status, ReelStatus::Published, "{:?}", reel.reasons);
    let shots = &reel.plan.shots;
    let flagged = &shots[0];
    let kept = shots.iter().find(|s| s.reference != flagged.reference).expect("the hoodie's shots use two photos");
    let refs = e.ports.state.references(&Handle::parse(HOODIE).unwrap()).await.unwrap();
    let photo = refs.iter().find(|r| r.sha256 == kept.reference).unwrap();
    std::fs::remove_file(file_of(&e, &photo.blob)).unwrap();

    let detail = FlagDetail { reel: reel.id.clone(), reason: "Meta: the collar looks altered".into(), shots: vec![1] };
    let body = Message::from(FlagMsg { flag: detail, event: "e-1".into() }).to_json();
    e.ports.queue.send(Stage::Evaluate, &body, std::time::Duration::ZERO).await.unwrap();
    let report = runner::drain(&e.ports, &RunOptions::default(), Arc::new(LogProgress::default())).await.unwrap();
    assert_eq!(report.dead_lettered, 0, "a missing photo is no failure to retry: {report:?}");
    let stopped = e.ports.state.get_reel(&reel.id).await.unwrap().unwrap();
    assert_eq!(stopped.status, ReelStatus::Generating);
    assert_eq!(stopped.versions.len(), 1, "nothing new published");
    let issues = e.ports.state.issues_since(0).await.unwrap();
    let said = issues.iter().find(|i| i.message.contains("reference photos missing")).expect("the photo is named");
    assert!(said.message.contains(photo.blob.as_str()) && said.fatal, "{said:?}");

    drain_store(&e, &store, Some(&[HOODIE])).await;
    let mended = e.ports.state.get_reel(&reel.id).await.unwrap().unwrap();
    assert_eq!(mended.status, ReelStatus::Published, "{:?}", mended.reasons);
    assert_eq!(mended.versions.len(), 2, "the flag's cut is the next version");
    assert!(file_of(&e, &photo.blob).is_file(), "the photo was fetched again");
}
