//! The still-motion video "model": a real camera move over the real photo, rendered locally.
//!
//! It behaves like a remote provider so the stages cannot tell: `submit` makes a job named after
//! the idempotency key (`sm-<token>`; the same key is the same job and is never rendered twice),
//! the clip lands in the outbox as `<job>.mp4` (rendered to `<job>.mp4.partial` and renamed, so
//! a crash leaves no half clip under the final name), and every render is recorded as one line
//! `<job>\t<started_ms>\t<finished_ms>\t<motion>` in `renders.log`, the provider-side record.
//!
//! Photos are decoded here (EXIF orientation applied) and analysed for framing; a photo ffmpeg
//! would see differently (rotated by EXIF, transparent, or not JPEG/PNG) is handed to ffmpeg as
//! a normalised PNG (transparency flattened onto white), so the render shows exactly the pixels
//! analysed.

use crate::media::{Media, MediaError, MotionSpec, analyse};
use crate::ports::{ClipOutput, ClipRequest, JobStatus, ProviderError, VideoModel};
use crate::{IdempotencyKey, JobId, Usd};
use async_trait::async_trait;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, metadata::Orientation};
use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;

const NAME: &str = "still-motion";

/// Renders clips from local photos with ffmpeg.
pub struct StillMotionVideo {
    media: Arc<Media>,
    outbox: PathBuf,
    price_per_second: Usd,
    /// One lock per job being rendered: concurrent submits of one key render once.
    rendering: Mutex<HashMap<JobId, Arc<tokio::sync::Mutex<()>>>>,
}

impl StillMotionVideo {
    /// Clips go to `outbox` (created on first render; made absolute now).
    pub fn new(media: Arc<Media>, outbox: PathBuf, price_per_second: Usd) -> Self {
        let outbox = std::path::absolute(&outbox).unwrap_or(outbox);
        Self { media, outbox, price_per_second, rendering: Mutex::new(HashMap::new()) }
    }

    /// The provider-side record of every render, one line each.
    pub fn renders_log(&self) -> PathBuf {
        self.outbox.join("renders.log")
    }

    fn clip_path(&self, job: &JobId) -> PathBuf {
        self.outbox.join(format!("{job}.mp4"))
    }

    fn job_lock(&self, job: &JobId) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.rendering.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(job.clone()).or_default().clone()
    }

    fn release(&self, job: &JobId) {
        let mut map = self.rendering.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(job).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(job);
        }
    }

    async fn render(&self, request: &ClipRequest, job: &JobId) -> Result<(), ProviderError> {
        let url = &request.image_url;
        let photo =
            path_of_file_url(url).ok_or_else(|| rejected(format!("still-motion reads local files only, not {url}")))?;
        let bytes = tokio::fs::read(&photo).await.map_err(|e| rejected(format!("cannot read the photo {url}: {e}")))?;
        tokio::fs::create_dir_all(&self.outbox)
            .await
            .map_err(|e| retryable(format!("cannot create the outbox {}: {e}", self.outbox.display())))?;
        let normalised = self.outbox.join(format!("{job}.photo.png"));
        let norm = normalised.clone();
        let decoded = tokio::task::spawn_blocking(move || decode(&bytes, &norm))
            .await
            .map_err(|e| retryable(format!("photo decoding panicked: {e}")))?;
        let (img, rewritten) =
            decoded.map_err(|reason| rejected(format!("cannot decode the photo {url}: {reason}")))?;
        let source = if rewritten { normalised.clone() } else { photo };
        let framing = analyse(&img);
        let spec = MotionSpec {
            motion: request.motion,
            duration_ms: request.duration_ms,
            width: request.width,
            height: request.height,
            fps: request.fps,
            image_width: img.width(),
            image_height: img.height(),
            framing,
        };
        drop(img);
        let final_path = self.clip_path(job);
        let partial = self.outbox.join(format!("{job}.mp4.partial"));
        let started = crate::now_ms();
        let rendered = self.media.render_still_motion(&source, &spec, &partial).await;
        if rewritten {
            let _ = tokio::fs::remove_file(&normalised).await;
        }
        if let Err(e) = rendered {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(match e {
                MediaError::BadInput(m) => rejected(m),
                e => retryable(format!("rendering {job} failed: {e}")),
            });
        }
        tokio::fs::rename(&partial, &final_path)
            .await
            .map_err(|e| retryable(format!("cannot move {} into place: {e}", partial.display())))?;
        let line = format!("{job}\t{started}\t{}\t{}\n", crate::now_ms(), request.motion);
        let log = self.renders_log();
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .await
            .map_err(|e| retryable(format!("cannot open {}: {e}", log.display())))?;
        let appended = async {
            f.write_all(line.as_bytes()).await?;
            // tokio's File writes in the background: flush, or the line may land after we return.
            f.flush().await
        };
        appended.await.map_err(|e| retryable(format!("cannot append to {}: {e}", log.display())))?;
        tracing::debug!(%job, motion = %request.motion, ms = crate::now_ms() - started, "still-motion clip rendered");
        Ok(())
    }
}

#[async_trait]
impl VideoModel for StillMotionVideo {
    fn name(&self) -> &str {
        NAME
    }

    fn idempotent_submit(&self) -> bool {
        true
    }

    fn price(&self, request: &ClipRequest) -> Usd {
        let micros = self.price_per_second.0 as i128 * request.duration_ms as i128;
        Usd(((micros + 500) / 1000) as i64)
    }

    async fn submit(&self, request: &ClipRequest, key: &IdempotencyKey) -> Result<JobId, ProviderError> {
        let job = JobId::new(format!("sm-{}", key.token()));
        if tokio::fs::try_exists(self.clip_path(&job)).await.unwrap_or(false) {
            return Ok(job);
        }
        let lock = self.job_lock(&job);
        let result = {
            let _held = lock.lock().await;
            if tokio::fs::try_exists(self.clip_path(&job)).await.unwrap_or(false) {
                Ok(())
            } else {
                self.render(request, &job).await
            }
        };
        drop(lock);
        self.release(&job);
        result.map(|()| job)
    }

    async fn poll(&self, job: &JobId) -> Result<JobStatus, ProviderError> {
        let path = self.clip_path(job);
        let known = is_job_name(job.as_str()) && tokio::fs::try_exists(&path).await.unwrap_or(false);
        Ok(if known {
            JobStatus::Ready(ClipOutput { url: file_url_of(&path), content_type: Some("video/mp4".into()) })
        } else {
            JobStatus::Failed { reason: "unknown job".into(), moderation: false }
        })
    }

    async fn download(&self, output: &ClipOutput, dest: &Path) -> Result<u64, ProviderError> {
        let path = path_of_file_url(&output.url)
            .filter(|p| p.parent() == Some(self.outbox.as_path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".mp4")).is_some_and(is_job_name)
            })
            .ok_or_else(|| rejected(format!("{} is not a clip in the still-motion outbox", output.url)))?;
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| retryable(format!("cannot create {}: {e}", dir.display())))?;
        }
        tokio::fs::copy(&path, dest).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ProviderError::Expired {
                provider: NAME.into(),
                message: format!("{} is gone from the outbox", path.display()),
            },
            _ => retryable(format!("copying {} to {}: {e}", path.display(), dest.display())),
        })
    }
}

fn rejected(message: String) -> ProviderError {
    ProviderError::Rejected { provider: NAME.into(), message, moderation: false }
}

fn retryable(message: String) -> ProviderError {
    ProviderError::Retryable { provider: NAME.into(), message, retry_after: None }
}

/// `sm-` and lowercase hex: the only job names this provider makes.
fn is_job_name(s: &str) -> bool {
    s.strip_prefix("sm-").is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Decodes the photo with its EXIF orientation applied. Returns it and whether it was also written
/// to `normalised` as a PNG (when ffmpeg would not see the same pixels in the original).
fn decode(bytes: &[u8], normalised: &Path) -> Result<(DynamicImage, bool), String> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    let format = reader.format().ok_or("not a recognised image format")?;
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    img.apply_orientation(orientation);
    let plain = matches!(format, ImageFormat::Jpeg | ImageFormat::Png) && orientation == Orientation::NoTransforms;
    if plain && !img.color().has_alpha() {
        return Ok((img, false));
    }
    if img.color().has_alpha() {
        let mut rgb = image::RgbImage::new(img.width(), img.height());
        for (p, q) in img.to_rgba8().pixels().zip(rgb.pixels_mut()) {
            let a = p.0[3] as u32;
            q.0 = [0, 1, 2].map(|c| ((p.0[c] as u32 * a + 255 * (255 - a)) / 255) as u8);
        }
        img = DynamicImage::ImageRgb8(rgb);
    }
    img.save_with_format(normalised, ImageFormat::Png)
        .map_err(|e| format!("cannot write {}: {e}", normalised.display()))?;
    Ok((img, true))
}

/// `file:///abs/path` (percent-decoded) → `/abs/path`; anything else → None.
fn path_of_file_url(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    use std::os::unix::ffi::OsStringExt;
    Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
}

/// An absolute path as a `file://` URL, percent-encoding all but unreserved characters and `/`.
fn file_url_of(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Motion;
    use crate::media::{Media, testutil};

    fn provider(dir: &Path) -> StillMotionVideo {
        StillMotionVideo::new(Arc::new(Media::default()), dir.join("outbox"), Usd::from_dollars(0.05))
    }

    fn request(photo: &Path, motion: Motion) -> ClipRequest {
        ClipRequest {
            image_url: file_url_of(photo),
            image_mime: "image/png".into(),
            image_width: 400,
            image_height: 600,
            motion,
            prompt: motion.direction().into(),
            duration_ms: 800,
            width: 180,
            height: 320,
            fps: 15,
            seed: 1,
        }
    }

    fn photo(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        testutil::picture(400, 600, testutil::WHITE, &[(120, 150, 280, 450, testutil::RED)]).save(&p).unwrap();
        p
    }

    fn key(operation: &str) -> IdempotencyKey {
        IdempotencyKey::for_reel(&crate::ReelId::parse("tee--0123456789ab").unwrap(), operation)
    }

    fn log_lines(v: &StillMotionVideo) -> Vec<String> {
        std::fs::read_to_string(v.renders_log()).unwrap_or_default().lines().map(String::from).collect()
    }

    #[tokio::test]
    async fn renders_once_per_key_and_serves_the_clip() {
        let dir = tempfile::tempdir().unwrap();
        let v = provider(dir.path());
        let photo = photo(dir.path(), "my photo #1.png");
        let req = request(&photo, Motion::PushIn);
        let first = key("reel/shot-00/attempt-1/video");
        assert_eq!((v.name(), v.idempotent_submit()), ("still-motion", true));
        assert_eq!(v.price(&req), Usd::from_dollars(0.04));

        // Two submits at once and one after: one job, one render.
        let (a, b) = tokio::join!(v.submit(&req, &first), v.submit(&req, &first));
        let job = a.unwrap();
        assert_eq!(b.unwrap(), job);
        assert_eq!(v.submit(&req, &first).await.unwrap(), job);
        assert!(job.as_str().starts_with("sm-"));
        let lines = log_lines(&v);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let fields: Vec<&str> = lines[0].split('\t').collect();
        assert_eq!((fields[0], fields[3]), (job.as_str(), "push_in"));
        assert!(fields[1].parse::<i64>().unwrap() <= fields[2].parse::<i64>().unwrap());

        let JobStatus::Ready(out) = v.poll(&job).await.unwrap() else { panic!("not ready") };
        assert_eq!(out.content_type.as_deref(), Some("video/mp4"));
        let dest = dir.path().join("mirror/clip.mp4");
        let n = v.download(&out, &dest).await.unwrap();
        assert_eq!(n, std::fs::metadata(&dest).unwrap().len());
        let p = Media::default().probe(&dest).await.unwrap();
        let vi = p.video.unwrap();
        assert_eq!((vi.width, vi.height, vi.frames), (180, 320, Some(12)));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("partial") || n.contains(".photo."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        // Another key is another job and another render.
        let other = key("reel/shot-00/attempt-2/video");
        let job2 = v.submit(&request(&photo, Motion::PanLeft), &other).await.unwrap();
        assert_ne!(job2, job);
        assert_eq!(log_lines(&v).len(), 2);
    }

    #[tokio::test]
    async fn bad_photos_and_urls_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let v = provider(dir.path());
        let key = key("k");
        let mut req = request(&photo(dir.path(), "p.png"), Motion::PushIn);
        req.image_url = "https://example.com/p.png".into();
        let e = v.submit(&req, &key).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("local files only"), "{e}");
        let junk = dir.path().join("junk.jpg");
        std::fs::write(&junk, b"\xff\xd8\xffnot really a jpeg").unwrap();
        req.image_url = file_url_of(&junk);
        let e = v.submit(&req, &key).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("junk.jpg"), "{e}");
        assert!(log_lines(&v).is_empty());
    }

    #[tokio::test]
    async fn poll_and_download_only_serve_outbox_clips() {
        let dir = tempfile::tempdir().unwrap();
        let v = provider(dir.path());
        let unknown = v.poll(&JobId::new("sm-00")).await.unwrap();
        assert_eq!(unknown, JobStatus::Failed { reason: "unknown job".into(), moderation: false });
        assert!(matches!(v.poll(&JobId::new("../../etc/passwd")).await.unwrap(), JobStatus::Failed { .. }));
        let dest = dir.path().join("d.mp4");
        for url in ["file:///etc/passwd", "https://x/sm-00.mp4"] {
            let out = ClipOutput { url: url.into(), content_type: None };
            assert!(matches!(v.download(&out, &dest).await, Err(ProviderError::Rejected { .. })), "{url}");
        }
        let escaping = file_url_of(&dir.path().join("outbox/../sm-00.mp4"));
        let out = ClipOutput { url: escaping, content_type: None };
        assert!(matches!(v.download(&out, &dest).await, Err(ProviderError::Rejected { .. })));
        let gone = ClipOutput { url: file_url_of(&dir.path().join("outbox/sm-00.mp4")), content_type: None };
        assert!(matches!(v.download(&gone, &dest).await, Err(ProviderError::Expired { .. })));
    }

    #[tokio::test]
    async fn a_transparent_cutout_is_shown_on_white() {
        let dir = tempfile::tempdir().unwrap();
        let v = provider(dir.path());
        let cutout = image::RgbaImage::from_fn(300, 300, |x, y| {
            if (100..200).contains(&x) && (50..250).contains(&y) {
                image::Rgba([20, 40, 220, 255])
            } else {
                image::Rgba([0, 0, 0, 0])
            }
        });
        let path = dir.path().join("cutout.png");
        cutout.save(&path).unwrap();
        let job = v.submit(&request(&path, Motion::PullOut), &key("cut")).await.unwrap();
        let frame = dir.path().join("last.png");
        let media = Media::default();
        media.extract_frame(&v.clip_path(&job), 700, &frame).await.unwrap();
        let f = image::open(&frame).unwrap().to_rgb8();
        let corner = f.get_pixel(2, 2).0;
        assert!(corner.iter().all(|&c| c > 235), "transparent became white, not black: {corner:?}");
        let centre = f.get_pixel(90, 160).0;
        assert!(centre[2] > 180 && centre[0] < 80, "the product is there: {centre:?}");
    }

    #[test]
    fn file_urls_round_trip() {
        let p = Path::new("/tmp/a b/#1%/ü.png");
        let url = file_url_of(p);
        assert_eq!(url, "file:///tmp/a%20b/%231%25/%C3%BC.png");
        assert_eq!(path_of_file_url(&url).as_deref(), Some(p));
        assert_eq!(path_of_file_url("file://localhost/x").as_deref(), Some(Path::new("/x")));
        assert_eq!(path_of_file_url("file://relative/x"), None);
        assert_eq!(path_of_file_url("file:///bad%zz"), None);
    }
}
