//! The vision judges against the loopback stub ([`crate::testing::vision`]) on a real reel made with
//! ffmpeg from the sample store's photos: what each provider is sent (only the photos and the reel,
//! the schema, the key in its header, within its limits), how each answer maps (a verdict, prose or
//! JSON off the schema, a refusal, a 429 with its wait, 5xx and 529), and the quote.

use super::*;
use crate::adapters::providers::video::testkit::Logs;
use crate::contract::{sample_product, sample_reel, sample_references};
use crate::ports::Decoded;
use crate::testing::vision::{Answer, Aspect, Flaw, KEY, Sent, VisionStub};
use crate::{Reel, Reference, Sha256};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

const KINDS: [VisionKind; 3] = [VisionKind::Gemini, VisionKind::OpenAi, VisionKind::Anthropic];
/// What the generator was told and what is spoken: the judge must never see either.
const DIRECTION: &str = "Slow cinematic dolly with golden sparkles around the hoodie";
const LINE: &str = "Meet the warmest hoodie you will ever own.";
const SHOT_MS: u32 = 1500;

/// A reel of three 1.5 s shots (photo A, photo B, photo A) at 270x480 with a tone, and its photos.
struct Fixture {
    video: PathBuf,
    photos: [PathBuf; 2],
    dir: PathBuf,
}

fn ffmpeg(args: &[&str]) {
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// Made once per process.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/photos");
        let photos = [store.join("hoodie-red-front-flat.jpg"), store.join("hoodie-red-worn.jpg")];
        let video = dir.join("reel.mp4");
        let (a, b) = (photos[0].to_str().unwrap(), photos[1].to_str().unwrap());
        let shot = |i: usize, out: &str| {
            format!("[{i}:v]scale=270:480:force_original_aspect_ratio=increase,crop=270:480,setsar=1,fps=24,format=yuv420p[{out}]")
        };
        let graph = format!("{};{};{};[a][b][c]concat=n=3:v=1:a=0[v]", shot(0, "a"), shot(1, "b"), shot(2, "c"));
        let t = format!("{}", SHOT_MS as f64 / 1000.0);
        ffmpeg(&[
            "-loop", "1", "-t", &t, "-i", a, "-loop", "1", "-t", &t, "-i", b, "-loop", "1", "-t", &t, "-i", a,
            "-f", "lavfi", "-t", "4.5", "-i", "sine=frequency=300:sample_rate=44100",
            "-filter_complex", &graph, "-map", "[v]", "-map", "3:a",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", video.to_str().unwrap(),
        ]);
        Fixture { video, photos, dir }
    })
}

/// A 4000x5000 photo of noise, over 10 MB as a JPEG (more than any provider takes as one picture).
fn big_photo() -> &'static PathBuf {
    static BIG: OnceLock<PathBuf> = OnceLock::new();
    BIG.get_or_init(|| {
        let path = fixture().dir.join("big.jpg");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "nullsrc=s=4000x5000,geq=lum='random(1)*255':cb=128:cr=128",
            "-frames:v",
            "1",
            "-q:v",
            "1",
            path.to_str().unwrap(),
        ]);
        path
    })
}

/// The fixture's reel as planned: three shots over photos A, B, A (a push-in, a pan, a tilt), each
/// with a direction and a line the judge must not be told; and its photos as the cut carries them.
fn planned(photos: &[PathBuf; 2]) -> (Reel, Vec<(Reference, PathBuf)>) {
    let mut product = sample_product();
    product.references = photos.iter().map(|p| Sha256::of(&std::fs::read(p).unwrap())).collect();
    let mut refs = sample_references(&product);
    for (r, p) in refs.iter_mut().zip(photos) {
        (r.width, r.height) = image::image_dimensions(p).unwrap();
    }
    let mut reel = sample_reel(&product);
    let mut third = reel.plan.shots[0].clone();
    third.index = 2;
    third.motion = Motion::TiltUp;
    reel.plan.shots.push(third);
    for s in &mut reel.plan.shots {
        s.duration_ms = SHOT_MS;
        s.direction = DIRECTION.into();
        s.line = LINE.into();
    }
    (reel, refs.into_iter().zip(photos.iter().cloned()).collect())
}

fn cut<'a>(reel: &'a Reel, video: &Path, references: Vec<(Reference, PathBuf)>) -> ReelCut<'a> {
    ReelCut {
        reel,
        video: video.to_path_buf(),
        references,
        gallery: Vec::new(),
        others: Vec::new(),
        thumbnails: None,
        captions: None,
        frames: Default::default(),
        photos: Decoded::default(),
    }
}

fn judge_with(stub: &VisionStub, kind: VisionKind, frames_per_shot: u32) -> VisionJudge {
    let mut config = stub.config(kind);
    config.frames_per_shot = frames_per_shot;
    VisionJudge::new(kind, &config, Arc::new(Media::default())).unwrap()
}

/// `kind`'s verdict on the fixture's reel when the stub answers `answer` (one frame a shot), and
/// what was sent.
async fn judged(kind: VisionKind, answer: Answer) -> (Result<Vec<Check>, ProviderError>, Vec<Sent>) {
    let f = fixture();
    let (reel, refs) = planned(&f.photos);
    let stub = VisionStub::start().await;
    stub.script(answer);
    let judged = judge_with(&stub, kind, 1).judge(&cut(&reel, &f.video, refs)).await;
    (judged, stub.sent())
}

fn aspects(kind: VisionKind) -> [String; 3] {
    ["product", "motion", "artifacts"].map(|a| format!("{} {a}", kind.as_str()))
}

/// A passing verdict passes three checks per shot; the call carries the schema, the key in its
/// header alone, each photo once labelled with its shots, the reel (Gemini's video with each
/// shot's time, the others' frames from inside each shot) and the move asked for, and never the
/// generator's direction or the spoken line; every picture within the provider's limits.
#[tokio::test]
async fn a_passing_verdict_passes_every_check_and_only_the_photos_and_the_reel_are_sent() {
    let f = fixture();
    let (reel, refs) = planned(&f.photos);
    let photo_sizes: Vec<(u32, u32)> = f.photos.iter().map(|p| image::image_dimensions(p).unwrap()).collect();
    for kind in KINDS {
        let stub = VisionStub::start().await;
        stub.script(Answer::pass(3));
        let judge = judge_with(&stub, kind, 3);
        let logs = Logs::capture();
        let checks = judge.judge(&cut(&reel, &f.video, refs.clone())).await.unwrap();
        assert!(!logs.text().contains(KEY), "{kind:?}: the key was logged");

        assert_eq!(checks.len(), 9, "{kind:?}: {checks:#?}");
        for (k, c) in checks.iter().enumerate() {
            assert_eq!((c.name.as_str(), c.shot), (aspects(kind)[k % 3].as_str(), Some(k as u32 / 3)), "{kind:?}");
            assert!(c.passed && c.score == 1.0, "{kind:?}: {c:?}");
            assert!(c.detail.starts_with(&format!("shot {}: ", k / 3 + 1)), "{kind:?}: {c:?}");
        }

        let sent = stub.sent();
        assert_eq!(sent.len(), 1, "{kind:?}: one call");
        let s = &sent[0];
        let (path, key_header) = match kind {
            VisionKind::Gemini => ("/v1beta/models/gemini-3.5-flash:generateContent", "x-goog-api-key"),
            VisionKind::OpenAi => ("/v1/responses", "authorization"),
            VisionKind::Anthropic => ("/v1/messages", "x-api-key"),
        };
        assert_eq!(s.path, path);
        let carrying: Vec<&str> = s.headers.iter().filter(|(_, v)| v.contains(KEY)).map(|(k, _)| k.as_str()).collect();
        assert_eq!(carrying, [key_header], "{kind:?}: the key in its header only");
        assert!(!s.body.to_string().contains(KEY), "{kind:?}: the key in the body");
        assert_eq!(judge.name(), format!("{}:{}", kind.as_str(), judge.dialect.model));

        let schema = s.schema().unwrap_or_else(|| panic!("{kind:?}: no schema in {}", s.body));
        assert_eq!(schema["additionalProperties"], false);
        let item = &schema["properties"]["shots"]["items"];
        assert_eq!(item["additionalProperties"], false);
        assert_eq!(
            item["required"],
            json!(["shot", "product_looks_right", "motion_plausible", "looks_artificial_or_warped", "reasons"])
        );
        match kind {
            VisionKind::Gemini => {
                assert_eq!(s.body["generationConfig"]["responseMimeType"], "application/json");
                assert_eq!(schema["properties"]["shots"]["maxItems"], 3);
            }
            VisionKind::OpenAi => assert_eq!(s.body["text"]["format"]["strict"], true),
            VisionKind::Anthropic => {
                assert_eq!(s.header("anthropic-version"), Some("2023-06-01"));
                assert_eq!(s.body["output_config"]["format"]["type"], "json_schema");
            }
        }

        let text = s.text();
        for untold in [DIRECTION, LINE, Motion::PushIn.direction(), Motion::TiltUp.direction(), "sparkle", "warmest"] {
            assert!(!text.contains(untold), "{kind:?} was told {untold:?}:\n{text}");
        }
        assert!(text.contains("Photo 1 (the photo of shot 1 and 3):"), "{kind:?}:\n{text}");
        assert!(text.contains("Photo 2 (the photo of shot 2):"), "{kind:?}:\n{text}");
        assert!(
            text.contains(
                "Shot 1: from 0.00 s to 1.50 s of the reel, made from photo 1; the camera was asked for a push-in"
            ),
            "{text}"
        );
        assert!(text.contains("Shot 3: from 3.00 s to 4.50 s of the reel, made from photo 1; the camera was asked for a tilt from bottom to top"), "{text}");

        let images = s.images();
        // The photos first, each once, at their own size (both are under 1536 px).
        assert_eq!(images[..2].iter().map(|i| (i.width, i.height)).collect::<Vec<_>>(), photo_sizes, "{kind:?}");
        match kind {
            VisionKind::Gemini => {
                assert_eq!(images.len(), 2, "{kind:?}: the photos, and the video for the frames");
                assert_eq!(s.videos(), vec![std::fs::metadata(&f.video).unwrap().len() as usize]);
                assert_eq!(s.kinds(), ["text", "text", "image", "text", "image", "text", "video", "text", "text"]);
            }
            _ => {
                assert!(s.videos().is_empty());
                assert_eq!(images.len(), 2 + 9, "{kind:?}: the photos and three frames of each shot");
                assert!(images[2..].iter().all(|i| (i.width, i.height) == (270, 480)), "{kind:?}: {images:?}");
                // Inside each shot, away from its cuts.
                assert!(text.contains("3 frames from inside the shot, at 0.33 s, 0.75 s, 1.17 s:"), "{text}");
                assert!(text.contains("at 1.83 s, 2.25 s, 2.67 s:"), "{text}");
            }
        }
        let limits = judge.limits();
        for i in &images {
            assert_eq!(i.mime, "image/jpeg");
            assert!(i.base64_bytes <= limits.image_bytes && i.width.max(i.height) <= limits.max_side(images.len()));
        }
        assert!(s.bytes <= limits.request_bytes);
    }
}

/// A shot the model fails fails its checks, with the model's reasons in the detail.
#[tokio::test]
async fn a_failing_verdict_fails_the_named_shots_with_the_models_reasons() {
    for kind in KINDS {
        let flaws = vec![
            Flaw { shot: 2, aspect: Aspect::Product, reason: "the drawstrings are missing".into() },
            Flaw { shot: 3, aspect: Aspect::Artifacts, reason: "the sleeve melts into the background".into() },
            Flaw { shot: 3, aspect: Aspect::Motion, reason: "the camera jumps halfway".into() },
        ];
        let (checks, _) = judged(kind, Answer::Verdict { shots: 3, flaws }).await;
        let checks = checks.unwrap();
        let failed: Vec<(&str, Option<u32>)> =
            checks.iter().filter(|c| !c.passed).map(|c| (c.name.as_str(), c.shot)).collect();
        let [product, motion, artifacts] = aspects(kind);
        assert_eq!(failed, [(product.as_str(), Some(1)), (motion.as_str(), Some(2)), (artifacts.as_str(), Some(2))]);
        let detail =
            |name: &str, shot: u32| &checks.iter().find(|c| c.name == name && c.shot == Some(shot)).unwrap().detail;
        let said = detail(&product, 1);
        assert!(said.starts_with("shot 2: ") && said.contains("the drawstrings are missing"), "{said}");
        assert!(detail(&artifacts, 2).contains("the sleeve melts into the background"));
        assert!(detail(&motion, 2).contains("the camera jumps halfway") && detail(&motion, 2).contains("a tilt"));
    }
}

fn shot(n: u32) -> serde_json::Value {
    json!({"shot": n, "product_looks_right": true, "motion_plausible": true,
           "looks_artificial_or_warped": false, "reasons": []})
}

/// Prose, a shot missing or extra, a string for a boolean, nothing at all: never a pass.
#[tokio::test]
async fn malformed_and_off_schema_answers_are_invalid() {
    let mut stringly = shot(2);
    stringly["motion_plausible"] = json!("yes");
    let cases = [
        ("prose", "All three shots look great to me!".to_string()),
        ("a shot missing", json!({"shots": [shot(1), shot(2)]}).to_string()),
        ("an extra shot", json!({"shots": [shot(1), shot(2), shot(3), shot(4)]}).to_string()),
        ("a shot twice", json!({"shots": [shot(1), shot(2), shot(2)]}).to_string()),
        ("a string for a bool", json!({"shots": [shot(1), stringly, shot(3)]}).to_string()),
        ("nothing", String::new()),
    ];
    for kind in KINDS {
        for (what, text) in &cases {
            let (read, sent) = judged(kind, Answer::Text(text.clone())).await;
            let err = read.unwrap_err();
            assert!(matches!(err, ProviderError::Invalid { .. }), "{kind:?} {what}: {err:?}");
            assert!(!err.is_retryable() && !err.to_string().contains(KEY), "{kind:?} {what}: {err}");
            assert_eq!(sent.len(), 1);
        }
    }
}

/// A refusal, or an answer stopped by the provider's filter, is a moderation rejection.
#[tokio::test]
async fn a_refusal_is_a_moderation_rejection() {
    for kind in KINDS {
        for answer in [Answer::Refusal, Answer::Blocked] {
            let (refused, _) = judged(kind, answer.clone()).await;
            let err = refused.unwrap_err();
            assert!(matches!(err, ProviderError::Rejected { moderation: true, .. }), "{kind:?} {answer:?}: {err:?}");
            assert!(!err.to_string().contains("lines"), "{kind:?}: a judge-neutral message: {err}");
        }
    }
}

/// A 429 is retried after the wait it names (`Retry-After`, or Gemini's `RetryInfo`); 5xx and
/// Anthropic's 529 are retried.
#[tokio::test]
async fn rate_limits_and_server_errors_are_retryable() {
    for kind in KINDS {
        let (limited, _) = judged(kind, Answer::RateLimited { secs: 7 }).await;
        let err = limited.unwrap_err();
        assert!(err.is_retryable(), "{kind:?}: {err:?}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)), "{kind:?}: {err:?}");
        let mut statuses = vec![500, 503];
        if kind == VisionKind::Anthropic {
            statuses.push(529);
        }
        for status in statuses {
            let (failed, _) = judged(kind, Answer::Status(status)).await;
            let err = failed.unwrap_err();
            assert!(matches!(err, ProviderError::Retryable { .. }), "{kind:?} {status}: {err:?}");
            assert!(err.to_string().contains(&status.to_string()), "{kind:?}: {err}");
        }
    }
}

/// The quote comes before any call, is the same for the same cut, and grows with what is sent.
#[tokio::test]
async fn the_quote_is_priced_before_the_call_and_stable() {
    let f = fixture();
    let (reel, refs) = planned(&f.photos);
    let stub = VisionStub::start().await;
    for kind in KINDS {
        let judge = judge_with(&stub, kind, 3);
        let cut = cut(&reel, &f.video, refs.clone());
        let quote = judge.quote(&cut).expect("a paid judge quotes");
        assert_eq!(judge.quote(&cut), Some(quote.clone()), "{kind:?}: the same cut, the same quote");
        assert_eq!(
            (quote.provider.as_str(), quote.model.as_str(), quote.unit.as_str()),
            (kind.as_str(), judge.dialect.model.as_str(), "tokens")
        );
        let max_output = max_output_tokens(3) as f64;
        assert!(quote.units > max_output && quote.usd > Usd::ZERO, "{kind:?}: {quote:?}");
        // Not less than the output allowed and the photos, at the configured prices.
        let prices = stub.config(kind).endpoint(kind).clone();
        assert!(quote.usd.0 as f64 >= max_output * prices.usd_per_million_output.0 as f64 / 1e6, "{kind:?}: {quote:?}");
        let more = judge_with(&stub, kind, 6).quote(&cut).unwrap();
        if kind == VisionKind::Gemini {
            assert_eq!(more, quote, "Gemini is sent the video whatever the frames");
        } else {
            assert!(more.units > quote.units && more.usd > quote.usd, "{kind:?}: more frames, more tokens");
        }
    }
    assert_eq!(stub.calls(), 0, "quoting calls nobody");
    // Gemini: the two photos at 258 tokens each, and the video's 5 s at 258 + 32 tokens a second.
    let gemini = judge_with(&stub, VisionKind::Gemini, 3).quote(&cut(&reel, &f.video, refs.clone())).unwrap();
    assert!(gemini.units >= (2 * 258 + 5 * 290 + max_output_tokens(3) as u64) as f64, "{gemini:?}");
}

/// More frames than a request may carry are shrunk and dropped to fit (each shot keeps one, the
/// photos all stay), as the recorded request shows; what cannot fit at all is not sent.
#[tokio::test]
async fn a_request_over_the_limits_is_fitted_before_it_is_sent() {
    let f = fixture();
    let (reel, refs) = planned(&f.photos);
    for kind in [VisionKind::OpenAi, VisionKind::Anthropic] {
        let stub = VisionStub::start().await;
        let roomy = judge_with(&stub, kind, 4);
        let full = roomy.judge(&cut(&reel, &f.video, refs.clone())).await.map(|c| c.len());
        assert_eq!(full.unwrap(), 9);
        let whole = stub.sent()[0].clone();
        assert_eq!(whole.images().len(), 2 + 12);

        let budget = whole.bytes / 2;
        let tight = Limits { request_bytes: budget, ..*roomy.limits() };
        let judge = judge_with(&stub, kind, 4).with_limits(tight);
        judge.judge(&cut(&reel, &f.video, refs.clone())).await.unwrap();
        let fitted = stub.sent()[1].clone();
        assert!(fitted.bytes <= budget, "{kind:?}: {} > {budget}", fitted.bytes);
        let images = fitted.images();
        let photos: Vec<(u32, u32)> = whole.images()[..2].iter().map(|i| (i.width, i.height)).collect();
        assert_eq!(images[..2].iter().map(|i| (i.width, i.height)).collect::<Vec<_>>(), photos, "photos kept whole");
        assert!(images.len() < 2 + 12 && images.len() >= 2 + 3, "{kind:?}: {} pictures", images.len());
        for n in 1..=3 {
            assert!(fitted.text().contains(&format!("Shot {n}: ")), "{kind:?}: shot {n} is still shown");
        }

        // One picture may be at most a third of the largest photo as sent: it is made smaller.
        let cap = whole.images()[..2].iter().map(|i| i.base64_bytes).max().unwrap() / 3;
        let per_picture = Limits { image_bytes: cap, ..*roomy.limits() };
        judge_with(&stub, kind, 2).with_limits(per_picture).judge(&cut(&reel, &f.video, refs.clone())).await.unwrap();
        let small = stub.sent()[2].images();
        assert_eq!(small.len(), 2 + 6);
        assert!(small.iter().all(|i| i.base64_bytes <= cap), "{kind:?}: {small:?}");
        assert!(small[0].width < photos[0].0, "{kind:?}: the photo was made smaller");

        let hopeless = Limits { request_bytes: 20_000, ..*roomy.limits() };
        let err = judge_with(&stub, kind, 2)
            .with_limits(hopeless)
            .judge(&cut(&reel, &f.video, refs.clone()))
            .await
            .unwrap_err();
        assert!(matches!(&err, ProviderError::Invalid { message, .. } if message.contains("cannot fit")), "{err:?}");
        assert_eq!(stub.calls(), 3, "{kind:?}: what cannot fit is not sent");
    }
}

/// Gemini is sent frames instead of the video when the reel and the photos (in base64, with a
/// megabyte for the text) would take the request over its limit, and the video when they would not.
#[tokio::test]
async fn gemini_sends_frames_when_the_video_would_be_over_the_limit() {
    let f = fixture();
    let (reel, refs) = planned(&f.photos);
    let stub = VisionStub::start().await;
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as usize;
    let base64 = |n: usize| n.div_ceil(3) * 4;
    let needed = base64(size(&f.video)) + base64(f.photos.iter().map(|p| size(p)).sum()) + 1_000_000;
    let below = Limits { request_bytes: needed - 1, ..gemini::LIMITS };
    let judge = judge_with(&stub, VisionKind::Gemini, 2).with_limits(below);
    let cut = cut(&reel, &f.video, refs);
    assert_eq!(judge.judge(&cut).await.unwrap().len(), 9);
    let s = &stub.sent()[0];
    assert!(s.videos().is_empty(), "no video");
    assert_eq!(s.images().len(), 2 + 6, "the photos and two frames of each shot");
    assert!(s.text().contains("2 frames from inside the shot"), "{}", s.text());
    assert!(s.bytes <= below.request_bytes);
    let frames_quote = judge.quote(&cut).unwrap();

    let at = Limits { request_bytes: needed, ..gemini::LIMITS };
    let judge = judge_with(&stub, VisionKind::Gemini, 2).with_limits(at);
    judge.judge(&cut).await.unwrap();
    assert_eq!(stub.sent()[1].videos().len(), 1, "the video");
    assert_ne!(judge.quote(&cut).unwrap(), frames_quote, "the quote prices what is sent");
}

/// A photo far over any provider's picture limit (4000x5000, over 10 MB) is sent at 1536 px, within
/// Anthropic's real limits (the stub refuses what Anthropic refuses).
#[tokio::test]
async fn a_big_photo_is_sent_within_the_limits() {
    let f = fixture();
    let big = big_photo();
    assert!(std::fs::metadata(big).unwrap().len() > 10_000_000, "the photo is big");
    let photos = [big.clone(), f.photos[1].clone()];
    let (reel, refs) = planned(&photos);
    let stub = VisionStub::start().await;
    let checks = judge_with(&stub, VisionKind::Anthropic, 1).judge(&cut(&reel, &f.video, refs)).await.unwrap();
    assert_eq!(checks.len(), 9);
    let images = stub.sent()[0].images();
    assert_eq!((images[0].width, images[0].height), (1229, 1536));
    assert!(images.iter().all(|i| i.base64_bytes <= 5_000_000), "{images:?}");
}

/// A shot whose photo is not in the cut cannot be judged: nothing is sent, nothing is quoted.
#[tokio::test]
async fn a_shot_without_its_photo_is_not_judged() {
    let f = fixture();
    let (reel, refs) = planned(&f.photos);
    let stub = VisionStub::start().await;
    let judge = judge_with(&stub, VisionKind::OpenAi, 1);
    let cut = cut(&reel, &f.video, refs[..1].to_vec());
    let err = judge.judge(&cut).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Invalid { message, .. } if message.starts_with("shot 2: its photo")),
        "{err:?}"
    );
    assert_eq!(judge.quote(&cut), None);
    assert_eq!(stub.calls(), 0);
}

/// A missing key names its variable, a model name a URL cannot carry names the model's, and the
/// key never shows in a debug print.
#[test]
fn setup_errors_name_the_variable_and_the_key_stays_hidden() {
    let mut config = crate::config::Config::default().judge;
    config.gemini.endpoint.key = None;
    let media = Arc::new(Media::default());
    let err = VisionJudge::new(VisionKind::Gemini, &config, media.clone()).unwrap_err();
    assert!(err.to_string().contains("TRUEREEL_GEMINI_API_KEY"), "{err}");

    config.gemini.endpoint.key = Some(Secret::new(KEY));
    config.gemini.endpoint.model = "gemini-3.5-flash:generateContent?key=x".into();
    let err = VisionJudge::new(VisionKind::Gemini, &config, media.clone()).unwrap_err();
    assert!(err.to_string().contains("TRUEREEL_JUDGE_GEMINI_MODEL"), "{err}");
    config.anthropic.endpoint.key = Some(Secret::new(KEY));
    config.anthropic.endpoint.model = "claude sonnet".into();
    let err = VisionJudge::new(VisionKind::Anthropic, &config, media.clone()).unwrap_err();
    assert!(err.to_string().contains("TRUEREEL_JUDGE_ANTHROPIC_MODEL"), "{err}");

    config.gemini.endpoint.model = "models/gemini-3.5-flash".into();
    let judge = VisionJudge::new(VisionKind::Gemini, &config, media).unwrap();
    assert_eq!(judge.name(), "gemini:gemini-3.5-flash");
    assert!(!format!("{judge:?}").contains(KEY));
}

/// The frames of a shot are spread inside it, away from its cuts.
#[test]
fn frames_are_read_inside_each_shot() {
    assert_eq!(frame_times(0, 1500, 3), [330, 750, 1170]);
    assert_eq!(frame_times(3000, 6000, 1), [4500]);
    assert_eq!(frame_times(1000, 1200, 4), [1100], "a shot too short for its edges gets its middle");
    for at in frame_times(2000, 4000, 8) {
        assert!((2000 + CUT_EDGE_MS..4000 - CUT_EDGE_MS).contains(&at));
    }
}

/// The token rules as documented.
#[test]
fn image_tokens_follow_the_documented_rules() {
    assert_eq!(anthropic::image_tokens(1000, 1000), 1334);
    // Tiles: 1024x1024 is scaled to 768x768, four tiles: 85 + 4 x 170 = 765; patches: 1024 x 1.62.
    assert_eq!(openai::image_tokens(1024, 1024), 1659);
    // A small picture: one tile (255) against 16 patches x 1.62 (26).
    assert_eq!(openai::image_tokens(128, 128), 255);
}

/// A shot made from several photos (a whole-reel clip) is judged against all of them: the other
/// views go once each, labelled with the shot they are for.
#[test]
fn more_views_of_a_shot_are_sent_labelled() {
    let f = fixture();
    let (mut reel, refs) = planned(&f.photos);
    // Every shot shows photo A; photo B is in the listing's gallery only, one more view for shot 1.
    reel.plan.shots[1].reference = refs[0].0.sha256.clone();
    reel.plan.shots[0].extra_references = vec![refs[1].0.sha256.clone(), Sha256::of(b"not stored")];
    let mut cut = cut(&reel, &f.video, refs[..1].to_vec());
    cut.gallery = refs.clone();
    let layout = Layout::of(&cut, 1, "openai").unwrap();
    assert_eq!(layout.photos.len(), 2, "each photo once; a view not stored is left out");
    let text: Vec<String> = layout
        .message(Some(&[vec![750], vec![2250], vec![3750]]))
        .into_iter()
        .filter_map(|p| if let Piece::Text(t) = p { Some(t) } else { None })
        .collect();
    let text = text.join("\n");
    assert!(text.contains("Photo 1 (the photo of shot 1, 2 and 3):"), "{text}");
    assert!(text.contains("Photo 2 (another view of the same product for shot 1):"), "{text}");
    assert!(text.contains("made from photo 1 (photo 2 shows the same product from other views)"), "{text}");
}
