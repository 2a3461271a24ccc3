//! What the provider clients' tests share: a photo, a shot's request, an idempotency key, and
//! polling a job to its end.

use crate::ports::{ClipOutput, ClipRequest, JobFailure, JobStatus, VideoModel};
use crate::{BlobKey, IdempotencyKey, JobId, Motion};
use bytes::Bytes;
use image::ImageFormat;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

/// A `width` x `height` PNG of gradients (it compresses well, so it fits every provider as sent).
pub fn png(width: u32, height: u32) -> Bytes {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
    Bytes::from(out)
}

/// A push-in shot over `image` for a `width` x `height` reel.
pub fn request(image: Bytes, width: u32, height: u32, duration_ms: u32) -> ClipRequest {
    ClipRequest {
        reference: BlobKey::parse("references/photo.png").unwrap(),
        image,
        image_url: "https://bucket.example/presigned".into(),
        image_mime: "image/png".into(),
        image_width: 300,
        image_height: 400,
        motion: Motion::PushIn,
        camera: crate::Camera::default(),
        prompt: "Slow push in on the mug.".into(),
        duration_ms,
        width,
        height,
        fps: 24,
        seed: 42,
        more_images: Vec::new(),
        style_images: Vec::new(),
        whole_reel: None,
    }
}

/// A 4.2 s shot of a 300x400 photo for a 1080x1920 reel.
pub fn shot() -> ClipRequest {
    request(png(300, 400), 1080, 1920, 4200)
}

pub fn key() -> IdempotencyKey {
    IdempotencyKey::parse("reel-1/shot-1/attempt-1/clip").unwrap()
}

/// Polls `job` until it is no longer pending (at most 20 times); every status seen.
pub async fn finish(v: &dyn VideoModel, job: &JobId) -> Vec<JobStatus> {
    let mut seen = Vec::new();
    for _ in 0..20 {
        let status = v.poll(job).await.unwrap();
        let done = !matches!(status, JobStatus::Pending { .. });
        seen.push(status);
        if done {
            break;
        }
    }
    seen
}

/// The output of a ready job (a panic naming the status otherwise).
pub fn ready(status: &JobStatus) -> ClipOutput {
    match status {
        JobStatus::Ready(out) => out.clone(),
        other => panic!("not ready: {other:?}"),
    }
}

/// The failure of a failed job (a panic naming the status otherwise).
pub fn failure(status: JobStatus) -> JobFailure {
    match status {
        JobStatus::Failed(f) => f,
        other => panic!("not failed: {other:?}"),
    }
}

/// The image bytes of a `data:image/…;base64,` URI.
pub fn decoded(uri: &str) -> Vec<u8> {
    use base64::Engine as _;
    let (_, data) = uri.strip_prefix("data:image/").and_then(|u| u.split_once(";base64,")).expect("a data URI");
    base64::engine::general_purpose::STANDARD.decode(data).unwrap()
}

/// Every tracing line written on this thread while it is held, at any level: what a test checks
/// was (or was not) logged.
pub struct Logs {
    lines: Arc<Mutex<Vec<u8>>>,
    _default: tracing::subscriber::DefaultGuard,
    _second: tracing::Dispatch,
}

#[derive(Clone)]
struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub fn capture() -> Self {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let writer = Writer(lines.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let default = tracing::subscriber::set_default(subscriber);
        // With one dispatcher alive, tracing asks only the registering thread's dispatcher whether a
        // callsite is of interest, so a callsite another test's thread meets first would be cached
        // as unwanted here. A second dispatcher makes it ask each one, every time; and the cache is
        // built again now that both are in place.
        let second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        tracing::callsite::rebuild_interest_cache();
        Self { lines, _default: default, _second: second }
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lines.lock().unwrap()).into_owned()
    }
}
