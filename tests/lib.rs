//! Helpers shared by the integration tests: the sample store, runs of the embedded pipeline,
//! and a queue that delivers every message twice.

pub mod corpus;

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use truereel::config::Config;
use truereel::homes::embedded::Embedded;
use truereel::ports::{DeadLetter, Delivery, Pick, Queue, QueueDepth, QueueError, Stage};
use truereel::runner::{self, DrainReport, LogProgress, RunOptions};

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repo").to_path_buf()
}

/// The sample store the repo ships (`examples/store`).
pub fn sample_store() -> PathBuf {
    repo_root().join("examples/store")
}

/// Writes a store folder with the given products.json text and photos copied from the sample store.
pub fn store_with(dir: &Path, products_json: &str, photos: &[(&str, &[u8])]) {
    std::fs::create_dir_all(dir.join("photos")).unwrap();
    std::fs::write(dir.join("products.json"), products_json).unwrap();
    for (name, bytes) in photos {
        std::fs::write(dir.join("photos").join(name), bytes).unwrap();
    }
}

/// A photo of the sample store, by file name.
pub fn sample_photo(name: &str) -> Vec<u8> {
    std::fs::read(sample_store().join("photos").join(name)).unwrap()
}

/// A generated store of `n` products (for the benches): four sample photos each, copy that varies.
pub fn generated_store(dir: &Path, n: usize) {
    let names = ["dress-white-worn.jpg", "dress-white-detail.jpg", "tee-grey-front-flat.jpg", "tee-grey-back-flat.jpg"];
    let materials = ["cotton", "linen", "merino wool", "recycled polyester", "denim"];
    let kinds = ["dress", "tee", "shirt", "skirt", "jacket", "hoodie"];
    let products: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let (m, k) = (materials[i % materials.len()], kinds[i % kinds.len()]);
            serde_json::json!({
                "handle": format!("product-{i}"),
                "title": format!("Everyday {m} {k} no. {i}"),
                "vendor": "Bench Co",
                "body_html": format!("<p>A relaxed {k} in soft {m}, cut for every day. Machine wash cold. Made in Portugal.</p>"),
                "variants": [{"id": i + 1, "price": format!("{}.00", 20 + i % 60), "option1": "M"}],
                "options": [{"name": "Size", "values": ["M"]}],
                "images": names.iter().enumerate().map(|(p, n)| serde_json::json!({"src": format!("photos/{n}"), "position": p + 1})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let bytes: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (*n, sample_photo(n))).collect();
    let photos: Vec<(&str, &[u8])> = bytes.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    store_with(dir, &serde_json::json!({ "products": products }).to_string(), &photos);
}

/// A configuration for a quick run: the defaults, with a small frame that keeps encodes cheap where
/// size is not the point.
pub fn small_config() -> Config {
    let mut c = Config::default();
    (c.settings.width, c.settings.height) = (270, 480);
    c
}

/// Logs to the test output once.
pub fn init_logs() {
    truereel::telemetry::init_text(None, "warn");
}

/// Opens the embedded backend over `data_dir` and runs `store` (only some handles, maybe) to the end.
pub async fn run_store(
    data_dir: &Path,
    store: &Path,
    only: Option<&[&str]>,
    config: Config,
) -> (Embedded, DrainReport) {
    let e = Embedded::open_for_runner(data_dir, &config).await.expect("open the data folder");
    let report = drain_store(&e, store, only).await;
    (e, report)
}

/// Where the embedded home keeps `key`; panics when it is not stored.
pub fn stored_file(e: &Embedded, key: &truereel::BlobKey) -> PathBuf {
    e.ports.blobs.local_path(key).filter(|p| p.exists()).unwrap_or_else(|| panic!("{key} is not stored"))
}

/// The one reel on `e`.
pub async fn only_reel(e: &Embedded) -> truereel::Reel {
    let reels = e.ports.state.list_reels().await.unwrap();
    assert_eq!(reels.len(), 1, "{reels:#?}");
    reels.into_iter().next().unwrap()
}

/// Sends the store's crawl message on `e` and drains every queue.
pub async fn drain_store(e: &Embedded, store: &Path, only: Option<&[&str]>) -> DrainReport {
    drain_store_with(e, store, only, Default::default()).await
}

/// [`drain_store`] planning with `plan`.
pub async fn drain_store_with(
    e: &Embedded,
    store: &Path,
    only: Option<&[&str]>,
    plan: truereel::messages::PlanOptions,
) -> DrainReport {
    let store = store.to_string_lossy();
    let only = only.map(|o| o.iter().map(|s| s.to_string()).collect());
    runner::run_store(&e.ports, &store, only, Some(plan), &RunOptions::default(), Arc::new(LogProgress::default()))
        .await
        .expect("send the store and drain the queues")
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
    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.0.dead_letters(stage, max).await
    }
    async fn redrive(&self, stage: Stage, pick: Pick<'_>) -> Result<u64, QueueError> {
        self.0.redrive(stage, pick).await
    }
}

/// A clip as a video file: a provider's stored clip, or a still-motion recipe rendered into `dir`
/// as assembly renders it into the reel.
pub async fn clip_video(e: &Embedded, clip: &truereel::Clip, dir: &Path) -> PathBuf {
    if !clip.recipe {
        return stored_file(e, &clip.blob);
    }
    let recipe = truereel::media::Recipe::parse(&e.ports.blobs.get(&clip.blob).await.unwrap()).unwrap();
    let out = dir.join(format!("shot-{}-attempt-{}.mp4", clip.shot, clip.attempt));
    let photo = stored_file(e, &recipe.photo);
    e.ports.media.render_still_motion(&photo, &recipe.spec, &out).await.unwrap();
    out
}

/// The still-motion renderer's records, one per job actually made (named `<job>.<started>.<nonce>.json`).
pub fn renders(e: &Embedded) -> Vec<String> {
    let dir = e.blobs.root().join(truereel::adapters::providers::video::still_motion::RENDERS);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
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

/// What the still-motion renderer should show at progress `p` of a shot over `photo`, rebuilt
/// independently from the shot's camera (or, for a plan without one, the camera the renderer
/// composes from the photo's framing), at `w`x`h` (small) pixels. A blurred backdrop is stood in
/// for by the photo's darkened mean colour.
pub fn expected_frame(
    photo: &image::DynamicImage,
    camera: &truereel::Camera,
    motion: truereel::Motion,
    duration_ms: u32,
    frame: (u32, u32),
    p: f64,
    (w, h): (u32, u32),
) -> image::RgbImage {
    let framing = truereel::media::analyse(photo);
    let (iw, ih) = (photo.width(), photo.height());
    let camera =
        truereel::media::camera::planned_or_composed(camera, motion, &framing, iw, ih, frame.0, frame.1, duration_ms);
    let win = camera.window_at(p);
    let small = photo.thumbnail(640, 640).to_rgb8();
    let outside = match camera.backdrop {
        truereel::Backdrop::Colour { rgb } => image::Rgb(rgb),
        _ => {
            let mean = image::imageops::thumbnail(&small, 1, 1).get_pixel(0, 0).0;
            image::Rgb(mean.map(|c| (c as f64 * 0.7) as u8))
        }
    };
    // Sampled at 4x and averaged down, as the encoder's scaler averages.
    let (bw, bh) = (w * 4, h * 4);
    let big = image::RgbImage::from_fn(bw, bh, |i, j| {
        let u = win.x0 + (i as f64 + 0.5) / bw as f64 * win.width();
        let v = win.y0 + (j as f64 + 0.5) / bh as f64 * win.height();
        if !(0.0..1.0).contains(&u) || !(0.0..1.0).contains(&v) {
            return outside;
        }
        let x = (u * small.width() as f64) as u32;
        let y = (v * small.height() as f64) as u32;
        *small.get_pixel(x.min(small.width() - 1), y.min(small.height() - 1))
    });
    image::imageops::resize(&big, w, h, image::imageops::FilterType::Triangle)
}

/// Mean absolute difference per channel (0..255) of two same-size images, outside rows `skip`.
pub fn mean_difference(a: &image::RgbImage, b: &image::RgbImage, skip: std::ops::Range<u32>) -> f64 {
    let (mut sum, mut n) = (0u64, 0u64);
    for (x, y, p) in a.enumerate_pixels() {
        if skip.contains(&y) {
            continue;
        }
        let q = b.get_pixel(x, y);
        sum += p.0.iter().zip(q.0.iter()).map(|(a, b)| a.abs_diff(*b) as u64).sum::<u64>();
        n += 3;
    }
    sum as f64 / n.max(1) as f64
}

/// An AWS home on the test emulator with fresh, uniquely named resources; `None` (after saying
/// so) when no emulator is configured — except under CI, where a missing emulator is a failure.
pub async fn aws_ports(config: Config) -> Option<(truereel::stages::Ports, truereel::adapters::aws::AwsConfig)> {
    aws_ports_metered(config, None).await
}

/// [`aws_ports`] with every AWS call counted by `meter` (set-up included: reset it after).
pub async fn aws_ports_metered(
    mut config: Config,
    meter: Option<&truereel::adapters::aws::meter::Meter>,
) -> Option<(truereel::stages::Ports, truereel::adapters::aws::AwsConfig)> {
    let endpoint = truereel::testing::emulator_endpoint()?;
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let id = format!(
        "tr{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        truereel::now_ms() % 1_000_000
    );
    config.aws = truereel::adapters::aws::AwsConfig {
        endpoint_url: Some(endpoint),
        region: Some("us-east-1".into()),
        bucket: id.clone(),
        table: id.clone(),
        queue_prefix: id,
        queue_urls: Default::default(),
    };
    let sdk = config.aws.sdk_config().await;
    let sdk = meter.map_or(sdk.clone(), |m| m.wrap(&sdk));
    let ports = truereel::homes::aws::open_with(&sdk, &config, true).await.expect("the AWS home on the emulator");
    Some((ports, config.aws))
}

/// The largest peak resident memory of this process's waited-for children, kB (for the benchmarks).
pub fn children_max_rss_kb() -> u64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own; RUSAGE_CHILDREN is a valid selector.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as u64
}

/// This process's peak resident memory in KB, from /proc (for the benchmarks).
pub fn self_peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A loopback stand-in for Amazon Polly's `SynthesizeSpeech` (`POST /v1/speech`) that answers what
/// it is asked, in the documented shapes: `OutputFormat: pcm` gives 16 kHz 16-bit PCM (a tone per
/// word, 300 ms each with 80 ms gaps, after 100 ms of silence), `json` the matching word marks
/// (line-delimited, times in ms, byte offsets into the text).
pub async fn polly_stub() -> truereel::testing::TestServer {
    use truereel::testing::Reply;
    let server = truereel::testing::TestServer::start().await;
    server.handle("/v1/speech", |request| {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let text = body["Text"].as_str().unwrap_or_default();
        let words: Vec<(usize, &str)> =
            text.split_whitespace().map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w)).collect();
        let at = |i: usize| 100 + i as u32 * 380;
        match body["OutputFormat"].as_str() {
            Some("json") => {
                let marks: String = words
                    .iter()
                    .enumerate()
                    .map(|(i, (start, w))| {
                        let mark = serde_json::json!({"time": at(i), "type": "word", "start": start, "end": start + w.len(), "value": w});
                        format!("{mark}\n")
                    })
                    .collect();
                Reply::ok(marks).header("Content-Type", "application/x-json-stream")
            }
            Some("pcm") => {
                let samples = |ms: u32| (16 * ms) as usize;
                let mut pcm: Vec<i16> = vec![0; samples(100)];
                for _ in &words {
                    pcm.extend((0..samples(300)).map(|i| ((i as f64 * 0.07).sin() * 9000.0) as i16));
                    pcm.extend(std::iter::repeat_n(0, samples(80)));
                }
                pcm.extend(std::iter::repeat_n(0, samples(200)));
                let bytes: Vec<u8> = pcm.into_iter().flat_map(i16::to_le_bytes).collect();
                Reply::ok(bytes).header("Content-Type", "audio/pcm")
            }
            _ => Reply::status(400)
                .header("Content-Type", "application/json")
                .header("x-amzn-ErrorType", "InvalidParameterValueException")
                .body("{\"message\":\"unknown OutputFormat\"}"),
        }
    });
    server
}

/// A video model that misrepresents on purpose, for the judge's tests: the still-motion renderer,
/// except that shot `shot`'s attempts up to `bad_attempts` are rendered from another product's
/// photo (`other`, stored in the blob store at first use) instead of their own reference.
pub struct Misrepresenting {
    inner: truereel::adapters::providers::video::StillMotionVideo,
    blobs: Arc<dyn truereel::ports::BlobStore>,
    shot: u32,
    bad_attempts: u32,
    /// Every attempt that makes this camera move is misrepresented too (a provider that cannot do it).
    bad_motion: Option<truereel::Motion>,
    other: Vec<u8>,
}

impl Misrepresenting {
    /// Replaces `ports`' video models with one: shot `shot` shows `other_photo` (a sample-store
    /// photo's name) for its first `bad_attempts` attempts.
    pub fn install(ports: &mut truereel::stages::Ports, shot: u32, bad_attempts: u32, other_photo: &str) {
        Self::install_with(ports, shot, bad_attempts, None, other_photo);
    }

    /// Replaces `ports`' video models with one that shows `other_photo` in every shot that makes
    /// camera move `motion`, whatever the shot or attempt: a provider that cannot do that move.
    pub fn install_for_motion(ports: &mut truereel::stages::Ports, motion: truereel::Motion, other_photo: &str) {
        Self::install_with(ports, u32::MAX, 0, Some(motion), other_photo);
    }

    fn install_with(
        ports: &mut truereel::stages::Ports,
        shot: u32,
        bad_attempts: u32,
        bad_motion: Option<truereel::Motion>,
        other_photo: &str,
    ) {
        let inner = truereel::adapters::providers::video::StillMotionVideo::new(
            ports.blobs.clone(),
            truereel::Usd::from_dollars(0.01),
        );
        let other = sample_photo(other_photo);
        let model = Self { inner, blobs: ports.blobs.clone(), shot, bad_attempts, bad_motion, other };
        ports.video = truereel::ports::VideoModels::one(Arc::new(model));
    }

    fn is_bad(&self, key: &truereel::IdempotencyKey) -> bool {
        let marker = format!("/shot-{:02}/attempt-", self.shot);
        let attempt =
            key.as_str().split_once(&marker).and_then(|(_, rest)| rest.split('/').next()?.parse::<u32>().ok());
        attempt.is_some_and(|a| a <= self.bad_attempts)
    }
}

#[async_trait]
impl truereel::ports::VideoModel for Misrepresenting {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn idempotent_submit(&self) -> bool {
        true
    }
    fn takes_inline_image(&self) -> bool {
        false
    }
    fn renders_in_assembly(&self) -> bool {
        self.inner.renders_in_assembly()
    }
    fn price(&self, request: &truereel::ports::ClipRequest) -> truereel::Usd {
        self.inner.price(request)
    }
    async fn submit(
        &self,
        request: &truereel::ports::ClipRequest,
        key: &truereel::IdempotencyKey,
    ) -> Result<truereel::JobId, truereel::ports::ProviderError> {
        if !self.is_bad(key) && self.bad_motion != Some(request.motion) {
            return self.inner.submit(request, key).await;
        }
        let other = truereel::BlobKey::parse("references/another-product.jpg").unwrap();
        self.blobs.put(&other, bytes::Bytes::from(self.other.clone()), "image/jpeg").await.unwrap();
        let request = truereel::ports::ClipRequest { reference: other, camera: Default::default(), ..request.clone() };
        self.inner.submit(&request, key).await
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
        self.inner.download(output, dest, max_bytes).await
    }
}

/// The audio stream of an MP4 (or M4A) file, its packets copied out as they are (ADTS framing).
pub fn audio_packets(file: &Path) -> Vec<u8> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0:a:0", "-c", "copy", "-f", "adts", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// `truereel serve`'s origin over the data folder `data_dir` (its own reader of the embedded home), on
/// an ephemeral loopback port: the address and the origin. The API is answered when `api`.
pub async fn serve_origin(data_dir: &Path, api: bool) -> (std::net::SocketAddr, Arc<truereel_origin::Origin>) {
    let config = small_config();
    let home = Embedded::open(data_dir, &config).expect("open the data folder");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let origin = Arc::new(truereel_origin::Origin::new(home, config, addr, api).unwrap());
    tokio::spawn(truereel_origin::serve(listener, truereel_origin::router(origin.clone())));
    (addr, origin)
}

/// One HTTP/1.1 answer as sent: the status, the header block (lowercase names) and the body.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One request sent as written (`target` is not normalised, so `..` and escapes reach the server):
/// `Host: <addr>` unless `extra` names another host, the `extra` header lines, and `body` (a form,
/// sent with its length) when there is one.
pub async fn raw_request_with(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    extra: &[&str],
    body: &str,
) -> RawAnswer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    if !extra.iter().any(|h| h.to_ascii_lowercase().starts_with("host:")) {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    for h in extra {
        request.push_str(h);
        request.push_str("\r\n");
    }
    if !body.is_empty() {
        request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    let split =
        answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no header block: {answer:?}"));
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status: {head}"));
    RawAnswer { status, head, body: answer[split + 4..].to_vec() }
}

/// [`raw_request_with`] without a body.
pub async fn raw_request(addr: std::net::SocketAddr, method: &str, target: &str, extra: &[&str]) -> RawAnswer {
    raw_request_with(addr, method, target, extra, "").await
}
