//! Helpers shared by the integration tests: the sample store, runs of the embedded pipeline,
//! and a queue that delivers every message twice.

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use truereel::config::Settings;
use truereel::embedded::Embedded;
use truereel::messages::{CrawlMsg, Message};
use truereel::ports::{Delivery, Queue, QueueDepth, QueueError, Stage};
use truereel::runner::{self, DrainReport, LogProgress, RunOptions};

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repo").to_path_buf()
}

/// The sample store the repo ships (`examples/store`).
pub fn sample_store() -> PathBuf {
    repo_root().join("examples/store")
}

/// Settings for a quick run: a small frame keeps encodes cheap where size is not the point.
pub fn small_settings() -> Settings {
    Settings { width: 270, height: 480, ..Settings::default() }
}

/// Logs to the test output once.
pub fn init_logs() {
    truereel::telemetry::init_text("info");
}

/// Opens the embedded backend over `data_dir` and runs `store` (only some handles, maybe) to the end.
pub async fn run_store(
    data_dir: &Path,
    store: &Path,
    only: Option<&[&str]>,
    settings: Settings,
) -> (Embedded, DrainReport) {
    let e = Embedded::open_for_runner(data_dir, settings).await.expect("open the data folder");
    let report = drain_store(&e, store, only).await;
    (e, report)
}

/// Sends the store's crawl message on `e` and drains every queue.
pub async fn drain_store(e: &Embedded, store: &Path, only: Option<&[&str]>) -> DrainReport {
    let msg = Message::from(CrawlMsg::Store {
        store: store.to_string_lossy().to_string(),
        only: only.map(|o| o.iter().map(|s| s.to_string()).collect()),
    });
    e.ports.queue.send(Stage::Crawl, &msg.to_json(), Duration::ZERO).await.expect("send the crawl message");
    runner::drain(&e.ports, &RunOptions::default(), Arc::new(LogProgress)).await.expect("drain the queues")
}

/// A real queue that delivers every message it is sent twice, as SQS may.
pub struct TwiceQueue(pub Arc<dyn Queue>);

#[async_trait]
impl Queue for TwiceQueue {
    async fn send(&self, stage: Stage, body: &str, delay: Duration) -> Result<(), QueueError> {
        self.0.send(stage, body, delay).await?;
        self.0.send(stage, body, delay).await
    }
    async fn receive(&self, stage: Stage, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        self.0.receive(stage, max, visibility).await
    }
    async fn ack(&self, stage: Stage, receipt: &str) -> Result<(), QueueError> {
        self.0.ack(stage, receipt).await
    }
    async fn release(&self, stage: Stage, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        self.0.release(stage, receipt, delay).await
    }
    async fn depth(&self, stage: Stage) -> Result<QueueDepth, QueueError> {
        self.0.depth(stage).await
    }
}

/// The lines of the still-motion renderer's log: one per render actually done.
pub fn renders(e: &Embedded) -> Vec<String> {
    std::fs::read_to_string(e.video.renders_log()).unwrap_or_default().lines().map(str::to_string).collect()
}

/// The product handles of the sample store.
pub const SAMPLE_PRODUCTS: [&str; 6] = [
    "blue-slip-on-sneakers",
    "green-chunky-knit-beanie",
    "grey-graphic-tee",
    "light-wash-ripped-jeans",
    "pullover-hoodie",
    "white-off-shoulder-dress",
];
