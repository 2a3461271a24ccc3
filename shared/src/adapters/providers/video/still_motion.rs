//! The still-motion video "model": a real camera move over the real photo, rendered with ffmpeg.
//!
//! It behaves like a remote provider so the stages cannot tell, and it works in both homes. Its
//! output is not a video but a *recipe*: the photo and the [`MotionSpec`] that carries out the
//! request's camera, which every assembly renders straight into the reel (`media::feed`). An offline
//! render is the same every time, so an intermediate clip would only cost an encode and a decode
//! (about 1.2 s of CPU for a 3.4 s shot at 1080x1920) and its storage; the reel alone is encoded.
//!
//! `submit` makes a job named after the idempotency key (`sm-<token>`: the same key is the same
//! job and is never made twice) and stores its recipe under `provider/still-motion/` (a folder
//! locally, S3 on AWS), only once complete, so a crash leaves no half recipe; every job writes one
//! record in `provider/still-motion/renders/`, the provider-side log of jobs: `<job>.json` for a
//! job's first recipe, and `<job>.<started_ms>.<nonce>.json` for any made after it (a job made twice
//! leaves two records). The record follows the recipe, so a process killed between the two leaves a
//! recipe with no record; the next submit of that key finds the recipe and writes the missing record
//! then (marked `late`), so the log misses no delivered job.
//!
//! The recipe carries out the request's camera (the window and move the plan chose); a request from
//! a plan made before cameras were planned ([`crate::Camera::default`]) gets one composed here from
//! the photo's framing and the requested motion ([`crate::media::camera::planned_or_composed`]).
//!
//! Photos are decoded here (EXIF orientation applied) and analysed for framing; a photo ffmpeg
//! would see differently (rotated by EXIF, transparent, or not JPEG/PNG) is stored beside the recipe
//! as a normalised PNG (transparency flattened onto white) and the recipe names that, so the render
//! shows exactly the pixels analysed.

use crate::media::camera::planned_or_composed;
use crate::media::{MotionSpec, RECIPE_TYPE, Recipe, analyse, photo};
use crate::ports::{
    BlobError, BlobStore, ClipOutput, ClipRequest, Downloaded, FailureClass, JobFailure, JobStatus, ProviderError,
    VideoModel,
};
use crate::{BlobKey, IdempotencyKey, JobId, Usd};
use async_trait::async_trait;
use bytes::Bytes;
use image::{DynamicImage, ImageFormat};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const NAME: &str = "still-motion";
/// Where the renderer keeps its recipes (and normalised photos) in the blob store.
pub const OUTBOX: &str = "provider/still-motion";
/// Where it records each job, one object per job made.
pub const RENDERS: &str = "provider/still-motion/renders";
/// Output URLs point into the blob store with this scheme.
const SCHEME: &str = "blob:";
/// Makes still-motion recipes from stored photos.
pub struct StillMotionVideo {
    blobs: Arc<dyn BlobStore>,
    price_per_second: Usd,
    /// One lock per job being made: concurrent submits of one key in one process make it once.
    making: Mutex<HashMap<JobId, Arc<tokio::sync::Mutex<()>>>>,
}

impl StillMotionVideo {
    /// Recipes need no tool to be made: only the blob store the photos and recipes are in.
    pub fn new(blobs: Arc<dyn BlobStore>, price_per_second: Usd) -> Self {
        Self { blobs, price_per_second, making: Mutex::new(HashMap::new()) }
    }

    /// Where a job's recipe is stored.
    pub fn recipe_key(job: &JobId) -> BlobKey {
        BlobKey::parse(&format!("{OUTBOX}/{job}.json")).expect("job names are key-safe")
    }

    /// Where a job's normalised photo is stored, when it needs one.
    fn photo_key(job: &JobId) -> BlobKey {
        BlobKey::parse(&format!("{OUTBOX}/{job}.png")).expect("job names are key-safe")
    }

    fn job_lock(&self, job: &JobId) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.making.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(job.clone()).or_default().clone()
    }

    fn release(&self, job: &JobId) {
        let mut map = self.making.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(job).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(job);
        }
    }

    async fn stored(&self, job: &JobId) -> Result<bool, ProviderError> {
        self.has(&Self::recipe_key(job)).await
    }

    async fn make(&self, request: &ClipRequest, job: &JobId) -> Result<(), ProviderError> {
        let reference = &request.reference;
        let bytes = self.blobs.get(reference).await.map_err(|e| match e {
            BlobError::NotFound(_) => rejected(format!("the photo {reference} is not stored")),
            e => retryable(format!("reading the photo {reference}: {e}")),
        })?;
        let decoded = tokio::task::spawn_blocking(move || decode(&bytes))
            .await
            .map_err(|e| retryable(format!("photo decoding panicked: {e}")))?;
        let (img, normalised) =
            decoded.map_err(|reason| rejected(format!("cannot decode the photo {reference}: {reason}")))?;
        let photo = match normalised {
            Some(png) => {
                let key = Self::photo_key(job);
                self.blobs
                    .put(&key, Bytes::from(png), "image/png")
                    .await
                    .map_err(|e| retryable(format!("storing {key}: {e}")))?;
                key
            }
            None => reference.clone(),
        };
        let framing = analyse(&img);
        let camera = planned_or_composed(
            &request.camera,
            request.motion,
            &framing,
            img.width(),
            img.height(),
            request.width,
            request.height,
            request.duration_ms,
        );
        let spec = MotionSpec {
            camera,
            duration_ms: request.duration_ms,
            width: request.width,
            height: request.height,
            fps: request.fps,
            image_width: img.width(),
            image_height: img.height(),
        };
        drop(img);
        spec.validate().map_err(|e| rejected(e.to_string()))?;
        let started = crate::now_ms();
        let recipe = Recipe { photo, spec };
        let json = serde_json::to_vec(&recipe).map_err(|e| retryable(format!("writing the recipe: {e}")))?;
        let key = Self::recipe_key(job);
        self.blobs
            .put(&key, Bytes::from(json), RECIPE_TYPE)
            .await
            .map_err(|e| retryable(format!("storing {key}: {e}")))?;
        let record = serde_json::json!({
            "job": job, "started_ms": started, "finished_ms": crate::now_ms(), "motion": request.motion,
            "photo": reference, "camera": camera,
        });
        let first = Self::first_record_key(job);
        let record_key = if self.has(&first).await? {
            let nonce = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            BlobKey::parse(&format!("{RENDERS}/{job}.{started}.{nonce:09}.json")).expect("key-safe")
        } else {
            first
        };
        self.record(&record_key, &record).await?;
        tracing::debug!(%job, motion = %request.motion, "still-motion recipe made");
        Ok(())
    }

    /// The record of a job's first recipe.
    fn first_record_key(job: &JobId) -> BlobKey {
        BlobKey::parse(&format!("{RENDERS}/{job}.json")).expect("job names are key-safe")
    }

    async fn has(&self, key: &BlobKey) -> Result<bool, ProviderError> {
        self.blobs.head(key).await.map(|m| m.is_some()).map_err(|e| retryable(format!("checking {key}: {e}")))
    }

    async fn record(&self, key: &BlobKey, record: &serde_json::Value) -> Result<(), ProviderError> {
        self.blobs
            .put(key, Bytes::from(record.to_string()), "application/json")
            .await
            .map_err(|e| retryable(format!("recording the job in {key}: {e}")))
    }

    /// A stored recipe whose record is missing (the process died between storing the one and
    /// writing the other) gets its record now.
    async fn record_if_missing(&self, request: &ClipRequest, job: &JobId) -> Result<(), ProviderError> {
        let key = Self::first_record_key(job);
        if self.has(&key).await? {
            return Ok(());
        }
        let record = serde_json::json!({
            "job": job, "late": true, "recorded_ms": crate::now_ms(), "motion": request.motion,
            "photo": request.reference,
        });
        tracing::info!(%job, "a stored recipe had no record; recording it now");
        self.record(&key, &record).await
    }
}

#[async_trait]
impl VideoModel for StillMotionVideo {
    fn name(&self) -> &str {
        NAME
    }

    fn takes_inline_image(&self) -> bool {
        false
    }

    fn renders_in_assembly(&self) -> bool {
        true
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
        let lock = self.job_lock(&job);
        let result = {
            let _held = lock.lock().await;
            if self.stored(&job).await? {
                self.record_if_missing(request, &job).await
            } else {
                self.make(request, &job).await
            }
        };
        drop(lock);
        self.release(&job);
        result.map(|()| job)
    }

    async fn poll(&self, job: &JobId) -> Result<JobStatus, ProviderError> {
        let known = is_job_name(job.as_str()) && self.stored(job).await?;
        Ok(if known {
            JobStatus::Ready(ClipOutput {
                url: format!("{SCHEME}{}", Self::recipe_key(job)),
                content_type: Some(RECIPE_TYPE.into()),
            })
        } else {
            JobStatus::Failed(unknown_job())
        })
    }

    async fn download(
        &self,
        output: &ClipOutput,
        dest: &std::path::Path,
        max_bytes: u64,
    ) -> Result<Downloaded, ProviderError> {
        let key = output
            .url
            .strip_prefix(SCHEME)
            .and_then(|k| k.strip_prefix(OUTBOX)?.strip_prefix('/')?.strip_suffix(".json"))
            .filter(|job| is_job_name(job))
            .map(|job| Self::recipe_key(&JobId::new(job)))
            .ok_or_else(|| rejected(format!("{} is not a still-motion recipe", output.url)))?;
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| retryable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let bytes = self.blobs.get_to_file(&key, dest).await.map_err(|e| match e {
            BlobError::NotFound(_) => {
                ProviderError::Expired { provider: NAME.into(), message: format!("{key} is gone") }
            }
            e => retryable(format!("copying {key} to {}: {e}", dest.display())),
        })?;
        if bytes > max_bytes {
            return Err(rejected(format!("{key} is {bytes} bytes, over the cap of {max_bytes}")));
        }
        let sha256 =
            crate::Sha256::of_file(dest).await.map_err(|e| retryable(format!("hashing {}: {e}", dest.display())))?;
        Ok(Downloaded { bytes, sha256, content_type: Some(RECIPE_TYPE.into()) })
    }
}

/// A job id the renderer never made.
fn unknown_job() -> JobFailure {
    JobFailure { class: FailureClass::Invalid, code: None, reason: "unknown job".into(), billed: false }
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

/// Decodes the photo upright ([`crate::media::photo`]). Returns it, and a PNG of it when ffmpeg
/// would not see the same pixels in the original (turned by EXIF, transparent, or not JPEG/PNG).
fn decode(bytes: &[u8]) -> Result<(DynamicImage, Option<Vec<u8>>), String> {
    let up = photo::decode_upright(bytes)?;
    let plain = matches!(up.format, ImageFormat::Jpeg | ImageFormat::Png) && !up.turned;
    if plain && !up.image.color().has_alpha() {
        return Ok((up.image, None));
    }
    let img = DynamicImage::ImageRgb8(photo::on_white(up.image));
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| format!("cannot make a PNG of it: {e}"))?;
    Ok((img, Some(png)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Motion;
    use crate::adapters::embedded::folder_blobs::FolderBlobStore;
    use crate::media::{Media, testutil};
    use std::io::Cursor;
    use std::path::Path;

    fn provider(blobs: &Arc<FolderBlobStore>) -> StillMotionVideo {
        StillMotionVideo::new(blobs.clone(), Usd::from_dollars(0.05))
    }

    fn store(dir: &Path) -> Arc<FolderBlobStore> {
        Arc::new(FolderBlobStore::new(dir.join("blobs")).unwrap())
    }

    fn request(reference: BlobKey, motion: Motion) -> ClipRequest {
        ClipRequest {
            image: Bytes::new(),
            reference,
            image_url: "https://bucket.example/presigned".into(),
            image_mime: "image/png".into(),
            image_width: 400,
            image_height: 600,
            motion,
            camera: crate::Camera::default(),
            prompt: motion.direction().into(),
            duration_ms: 800,
            width: 180,
            height: 320,
            fps: 15,
            seed: 1,
            more_images: Vec::new(),
            style_images: Vec::new(),
            whole_reel: None,
        }
    }

    async fn photo(blobs: &FolderBlobStore, name: &str) -> BlobKey {
        let img = testutil::picture(400, 600, testutil::WHITE, &[(120, 150, 280, 450, testutil::RED)]);
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        let key = BlobKey::parse(&format!("references/{name}.png")).unwrap();
        blobs.put(&key, Bytes::from(png), "image/png").await.unwrap();
        key
    }

    fn key(operation: &str) -> IdempotencyKey {
        IdempotencyKey::for_reel(&crate::ReelId::parse("tee--0123456789ab").unwrap(), operation)
    }

    fn renders(blobs: &FolderBlobStore) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(blobs.root().join(RENDERS))
            .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The job's recipe, read back and checked.
    fn recipe(blobs: &FolderBlobStore, job: &JobId) -> Recipe {
        Recipe::parse(&std::fs::read(blobs.local_path(&StillMotionVideo::recipe_key(job)).unwrap()).unwrap()).unwrap()
    }

    /// The job's recipe rendered to a file, as assembly renders it into a reel.
    async fn rendered(blobs: &FolderBlobStore, job: &JobId, dir: &Path) -> std::path::PathBuf {
        let r = recipe(blobs, job);
        let out = dir.join(format!("{job}.mp4"));
        Media::default().render_still_motion(&blobs.local_path(&r.photo).unwrap(), &r.spec, &out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn makes_one_recipe_per_key_and_serves_it() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let v = provider(&blobs);
        let req = request(photo(&blobs, "a").await, Motion::PushIn);
        let first = key("reel/shot-00/attempt-1/video");
        assert_eq!((v.name(), v.idempotent_submit()), ("still-motion", true));
        assert_eq!(v.price(&req), Usd::from_dollars(0.04));

        // Two submits at once and one after: one job, one recipe.
        let (a, b) = tokio::join!(v.submit(&req, &first), v.submit(&req, &first));
        let job = a.unwrap();
        assert_eq!(b.unwrap(), job);
        assert_eq!(v.submit(&req, &first).await.unwrap(), job);
        assert!(job.as_str().starts_with("sm-"));
        let records = renders(&blobs);
        assert_eq!(records.len(), 1, "{records:?}");
        assert!(records[0].starts_with(job.as_str()));
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(blobs.root().join(RENDERS).join(&records[0])).unwrap()).unwrap();
        assert_eq!(record["motion"], "push_in");

        let JobStatus::Ready(out) = v.poll(&job).await.unwrap() else { panic!("not ready") };
        assert_eq!(out.content_type.as_deref(), Some(RECIPE_TYPE));
        let dest = dir.path().join("mirror/clip");
        let n = v.download(&out, &dest, u64::MAX).await.unwrap();
        assert_eq!(n.bytes, std::fs::metadata(&dest).unwrap().len());
        let got = Recipe::parse(&std::fs::read(&dest).unwrap()).unwrap();
        assert_eq!(got.photo, req.reference, "a plain photo is rendered from the reference itself");
        assert_eq!((got.spec.width, got.spec.height, got.spec.frames()), (180, 320, 12));
        let p = Media::default().probe(&rendered(&blobs, &job, dir.path()).await).await.unwrap();
        let vi = p.video.unwrap();
        assert_eq!((vi.width, vi.height, vi.frames), (180, 320, Some(12)));

        // Another key is another job and another recipe.
        let other = key("reel/shot-00/attempt-2/video");
        let job2 = v.submit(&request(req.reference.clone(), Motion::PanLeft), &other).await.unwrap();
        assert_ne!(job2, job);
        assert_eq!(renders(&blobs).len(), 2);
    }

    /// Killed between storing the recipe and recording it: the next submit records it, late, once;
    /// a recipe lost and made again leaves a second record.
    #[tokio::test]
    async fn a_recipe_stored_without_its_record_is_recorded_at_the_next_submit() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let v = provider(&blobs);
        let req = request(photo(&blobs, "a").await, Motion::PushIn);
        let k = key("reel/shot-00/attempt-1/video");
        let job = v.submit(&req, &k).await.unwrap();
        assert_eq!(renders(&blobs), [format!("{job}.json")]);
        std::fs::remove_file(blobs.root().join(RENDERS).join(format!("{job}.json"))).unwrap();
        let clip = blobs.root().join(StillMotionVideo::recipe_key(&job).as_str());
        let made_at = std::fs::metadata(&clip).unwrap().modified().unwrap();

        assert_eq!(v.submit(&req, &k).await.unwrap(), job);
        assert_eq!(v.submit(&req, &k).await.unwrap(), job);
        assert_eq!(renders(&blobs), [format!("{job}.json")]);
        assert_eq!(record(&blobs, &job)["late"], true);
        assert_eq!(std::fs::metadata(&clip).unwrap().modified().unwrap(), made_at, "not made again");

        std::fs::remove_file(&clip).unwrap();
        assert_eq!(v.submit(&req, &k).await.unwrap(), job);
        let records = renders(&blobs);
        assert_eq!(records.len(), 2, "{records:?}");
        assert!(records.iter().all(|r| r.starts_with(job.as_str())), "{records:?}");
    }

    #[tokio::test]
    async fn missing_and_bad_photos_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let v = provider(&blobs);
        let missing = request(BlobKey::parse("references/nothing.png").unwrap(), Motion::PushIn);
        let e = v.submit(&missing, &key("k")).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("not stored"), "{e}");
        let junk = BlobKey::parse("references/junk.jpg").unwrap();
        blobs.put(&junk, Bytes::from_static(b"\xff\xd8\xffnot really a jpeg"), "image/jpeg").await.unwrap();
        let e = v.submit(&request(junk, Motion::PushIn), &key("k")).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("junk.jpg"), "{e}");
        assert!(renders(&blobs).is_empty());
    }

    #[tokio::test]
    async fn poll_and_download_only_serve_outbox_clips() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let v = provider(&blobs);
        let unknown = v.poll(&JobId::new("sm-00")).await.unwrap();
        assert_eq!(unknown, JobStatus::Failed(unknown_job()));
        let dest = dir.path().join("d.mp4");
        for url in [
            "file:///etc/passwd",
            "https://x/sm-00.json",
            "blob:references/x.json",
            "blob:provider/still-motion/../x.json",
            "blob:provider/still-motion/sm-00.mp4",
        ] {
            let out = ClipOutput { url: url.into(), content_type: None };
            assert!(matches!(v.download(&out, &dest, u64::MAX).await, Err(ProviderError::Rejected { .. })), "{url}");
        }
        let gone = ClipOutput { url: "blob:provider/still-motion/sm-00.json".into(), content_type: None };
        assert!(matches!(v.download(&gone, &dest, u64::MAX).await, Err(ProviderError::Expired { .. })));
    }

    fn record(blobs: &FolderBlobStore, job: &JobId) -> serde_json::Value {
        let name = renders(blobs).into_iter().find(|r| r.starts_with(job.as_str())).expect("a render record");
        serde_json::from_slice(&std::fs::read(blobs.root().join(RENDERS).join(name)).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn the_plans_camera_is_carried_out_and_old_plans_get_one_composed() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let v = provider(&blobs);
        let reference = photo(&blobs, "a").await;

        // An old plan (no camera): one is composed from the photo's framing.
        let old = v.submit(&request(reference.clone(), Motion::PushIn), &key("old")).await.unwrap();
        let composed: crate::Camera = serde_json::from_value(record(&blobs, &old)["camera"].clone()).unwrap();
        let img = testutil::picture(400, 600, testutil::WHITE, &[(120, 150, 280, 450, testutil::RED)]);
        let framing = crate::media::analyse(&DynamicImage::ImageRgb8(img));
        assert_eq!(composed, crate::media::compose_for(400, 600, &framing, Motion::PushIn, 180, 320, 800));
        assert_eq!(composed.fit, crate::Fit::Fill);

        // A planned camera is carried out as it is: a pan over the upper left of the photo.
        let start = crate::SubjectBox { x0: 0.0, y0: 0.1, x1: 0.675, y1: 0.9 };
        let end = crate::SubjectBox { x0: 0.325, x1: 1.0, ..start };
        let planned = crate::Camera { start, end, fit: crate::Fit::Fill, backdrop: crate::Backdrop::None };
        let req = ClipRequest { camera: planned, ..request(reference, Motion::PanRight) };
        let job = v.submit(&req, &key("planned")).await.unwrap();
        assert_eq!(serde_json::from_value::<crate::Camera>(record(&blobs, &job)["camera"].clone()).unwrap(), planned);
        let clip = rendered(&blobs, &job, dir.path()).await;
        let frame = dir.path().join("last.png");
        Media::default().extract_frame(&clip, 733, &frame).await.unwrap();
        let f = image::open(&frame).unwrap().to_rgb8();
        // The garment's left edge (x = 120 of 400) through the last window: (0.3 - 0.325) / 0.675 of 180 px.
        let left = (0..180).find(|&x| f.get_pixel(x, 160).0[0] > 180 && f.get_pixel(x, 160).0[1] < 90).unwrap();
        assert!(left <= 1, "the garment starts at the frame's left edge, not at {left}");
        let right = (0..180).rev().find(|&x| f.get_pixel(x, 160).0[1] < 90).unwrap();
        let want = ((0.7 - 0.325) / 0.675 * 180.0) as u32;
        assert!(right.abs_diff(want) <= 2, "the garment ends at {right}, the window puts it at {want}");
    }

    #[tokio::test]
    async fn a_transparent_cutout_is_shown_on_white() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let v = provider(&blobs);
        let cutout = image::RgbaImage::from_fn(300, 300, |x, y| {
            if (100..200).contains(&x) && (50..250).contains(&y) {
                image::Rgba([20, 40, 220, 255])
            } else {
                image::Rgba([0, 0, 0, 0])
            }
        });
        let mut png = Vec::new();
        DynamicImage::ImageRgba8(cutout).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        let key_ = BlobKey::parse("references/cutout.png").unwrap();
        blobs.put(&key_, Bytes::from(png), "image/png").await.unwrap();
        let job = v.submit(&request(key_, Motion::PullOut), &key("cut")).await.unwrap();
        let frame = dir.path().join("last.png");
        let normalised = recipe(&blobs, &job).photo;
        assert_eq!(normalised, StillMotionVideo::photo_key(&job), "rendered from its own flattened copy");
        let clip = rendered(&blobs, &job, dir.path()).await;
        Media::default().extract_frame(&clip, 700, &frame).await.unwrap();
        let f = image::open(&frame).unwrap().to_rgb8();
        let corner = f.get_pixel(2, 2).0;
        assert!(corner.iter().all(|&c| c > 235), "transparent became white, not black: {corner:?}");
        let centre = f.get_pixel(90, 160).0;
        assert!(centre[2] > 180 && centre[0] < 80, "the product is there: {centre:?}");
    }
}
