//! Veo's client against its stub ([`crate::testing::veo`]).

use super::*;
use crate::adapters::providers::video::testkit::{Logs, finish, ready};
use crate::ports::{Cancelled, FailureClass};
use crate::testing::VeoStub;
use crate::testing::veo::{BUCKET, CLIENT_EMAIL, PROJECT, Script};
use crate::{BlobKey, Motion};
use base64::Engine as _;
use image::ImageFormat;
use std::io::Cursor;

/// A smooth picture (it compresses well, so a big one stays small as a file).
fn png(width: u32, height: u32) -> Bytes {
    let img =
        image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x / 20 % 256) as u8, (y / 20 % 256) as u8, 90]));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
    Bytes::from(out)
}

fn shot() -> ClipRequest {
    ClipRequest {
        reference: BlobKey::parse("references/photo.png").unwrap(),
        image: png(300, 400),
        image_url: "https://bucket.example/presigned".into(),
        image_mime: "image/png".into(),
        image_width: 300,
        image_height: 400,
        motion: Motion::PushIn,
        camera: crate::Camera::default(),
        prompt: "Slow push in on the mug.".into(),
        duration_ms: 4200,
        width: 1080,
        height: 1920,
        fps: 24,
        seed: 42,
        more_images: Vec::new(),
        style_images: Vec::new(),
        whole_reel: None,
    }
}

fn key() -> IdempotencyKey {
    IdempotencyKey::parse("reel-1/shot-1/attempt-1/clip").unwrap()
}

fn veo(config: &VeoConfig) -> VeoVideo {
    VeoVideo::new(config, Duration::from_secs(10)).unwrap()
}

fn setup_error(config: &VeoConfig) -> String {
    VeoVideo::new(config, Duration::from_secs(1)).unwrap_err().to_string()
}

fn failed(status: JobStatus) -> crate::ports::JobFailure {
    match status {
        JobStatus::Failed(f) => f,
        other => panic!("not failed: {other:?}"),
    }
}

/// The private key's base64 body (what must never show), from a JSON key.
fn key_material(credentials: &str) -> String {
    let json: Value = serde_json::from_str(credentials).unwrap();
    json["private_key"].as_str().unwrap().lines().nth(1).unwrap().to_string()
}

#[tokio::test]
async fn a_shot_is_submitted_polled_and_downloaded_inline() {
    let logs = Logs::capture();
    let stub = VeoStub::start().await;
    let v = veo(&stub.config());
    assert_eq!((v.name(), v.model(), v.idempotent_submit()), ("veo", "veo-3.1-fast-generate-001", false));
    assert_eq!((v.photos_per_shot(), v.takes_style_images(), v.takes_inline_image()), (3, false, true));
    assert_eq!(v.price(&shot()), Usd::from_dollars(0.90), "6 s at $0.15");
    let job = v.submit(&shot(), &key()).await.unwrap();
    assert_eq!(job.as_str().len(), 36);
    assert_eq!((stub.submissions(), stub.mints()), (1, 1));
    let body = &stub.bodies()[0];
    let instance = &body["instances"][0];
    assert_eq!(instance["prompt"], "Slow push in on the mug.");
    assert_eq!(instance["image"]["mimeType"], "image/png");
    let sent =
        base64::engine::general_purpose::STANDARD.decode(instance["image"]["bytesBase64Encoded"].as_str().unwrap());
    assert_eq!(sent.unwrap(), shot().image, "kept as sent, bare base64");
    assert!(instance.get("referenceImages").is_none());
    let p = &body["parameters"];
    assert_eq!((p["aspectRatio"].as_str(), p["durationSeconds"].as_u64()), (Some("9:16"), Some(6)));
    assert_eq!((p["resolution"].as_str(), p["personGeneration"].as_str()), (Some("720p"), Some("allow_adult")));
    assert_eq!(
        (p["generateAudio"].as_bool(), p["sampleCount"].as_u64(), p["seed"].as_u64()),
        (Some(false), Some(1), Some(42))
    );
    let path = format!(
        "/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/veo-3.1-fast-generate-001:predictLongRunning"
    );
    let request = &stub.server().requests_to(&path)[0];
    assert!(request.header("authorization").unwrap().starts_with("Bearer ya29.stub-"));

    let seen = finish(&v, &job).await;
    let pending = JobStatus::Pending { retry_in: Duration::from_millis(10), queued: false };
    assert_eq!(seen[..2], [pending.clone(), pending]);
    let out = ready(&seen[2]);
    assert_eq!(out.url, format!("veo-operation:{job}"));
    assert_eq!((stub.polls_of(job.as_str()), stub.mints()), (3, 1), "the token is cached");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("clips/a.mp4");
    let got = v.download(&out, &dest, 50 << 20).await.unwrap();
    let clip = stub.clip();
    assert_eq!((got.bytes, got.sha256), (clip.len() as u64, crate::Sha256::of(&clip)));
    assert_eq!(got.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(std::fs::read(&dest).unwrap(), clip);
    assert_eq!(stub.polls_of(job.as_str()), 4, "the download read the operation again");

    let credentials = stub.credentials();
    let logs = logs.text();
    assert!(logs.contains("operation submitted"), "{logs}");
    assert!(!logs.contains("ya29.") && !logs.contains(&key_material(&credentials)), "{logs}");
    let debug = format!("{v:?}");
    assert!(
        !debug.contains("PRIVATE KEY") && !debug.contains(&key_material(&credentials)) && !debug.contains("ya29"),
        "{debug}"
    );
}

#[tokio::test]
async fn tokens_are_cached_minted_again_near_expiry_and_after_a_401() {
    let stub = VeoStub::start().await;
    let v = veo(&stub.config());
    v.submit(&shot(), &key()).await.unwrap();
    v.submit(&shot(), &key()).await.unwrap();
    assert_eq!(stub.mints(), 1);

    stub.revoke_tokens();
    v.submit(&shot(), &key()).await.unwrap();
    assert_eq!((stub.mints(), stub.submissions()), (2, 3), "one fresh token, one submission");

    // A token that lives under five minutes is never reused.
    stub.token_lifetime(299);
    stub.revoke_tokens();
    v.submit(&shot(), &key()).await.unwrap();
    v.submit(&shot(), &key()).await.unwrap();
    assert_eq!(stub.mints(), 4);

    stub.token_lifetime(3599);
    v.submit(&shot(), &key()).await.unwrap();
    stub.refuse_tokens(true);
    let before = stub.mints();
    let e = v.submit(&shot(), &key()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
    assert!(e.to_string().contains("TRUEREEL_VEO_CREDENTIALS") && !e.to_string().contains("ya29"), "{e}");
    assert_eq!(stub.mints(), before + 1, "minted once more, then gave up");
    assert_eq!(stub.submissions(), 6, "refused before it counts");
}

#[tokio::test]
async fn the_token_request_is_a_signed_assertion_the_stub_verifies() {
    let stub = VeoStub::start().await;
    let account = ServiceAccount::parse(&stub.credentials()).unwrap();
    assert_eq!((account.client_email.as_str(), account.project_id.as_deref()), (CLIENT_EMAIL, Some(PROJECT)));
    let jwt = account.assertion(1_700_000_000).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode = |p: &str| -> Value {
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
    };
    let (header, claims) = (decode(parts[0]), decode(parts[1]));
    assert_eq!((header["alg"].as_str(), header["typ"].as_str()), (Some("RS256"), Some("JWT")));
    assert_eq!(claims["iss"], CLIENT_EMAIL);
    assert_eq!(claims["aud"], stub.token_uri());
    assert_eq!(claims["scope"], auth::SCOPE);
    assert_eq!((claims["iat"].as_u64(), claims["exp"].as_u64()), (Some(1_700_000_000), Some(1_700_003_600)));

    v_token_request(&stub).await;

    // A key the stub does not know: Google's invalid_grant, named as the credentials' fault.
    let mut config = stub.config();
    config.api.api_key = Some(Secret::new(stub.other_credentials()));
    let e = veo(&config).submit(&shot(), &key()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Rejected { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("TRUEREEL_VEO_CREDENTIALS") && text.contains("Invalid JWT Signature"), "{text}");
    assert!(!text.contains(&key_material(&stub.other_credentials())));
    assert_eq!(stub.submissions(), 1, "only the submission with the right key");
}

/// The form sent to the token endpoint.
async fn v_token_request(stub: &VeoStub) {
    veo(&stub.config()).submit(&shot(), &key()).await.unwrap();
    let sent = &stub.server().requests_to("/token")[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.header("content-type"), Some("application/x-www-form-urlencoded"));
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&sent.body).into_owned().collect();
    assert_eq!(form["grant_type"], auth::GRANT_TYPE);
    assert_eq!(form["assertion"].split('.').count(), 3);
}

#[tokio::test]
async fn submit_errors_are_classified_and_each_is_one_submission() {
    let stub = VeoStub::start().await;
    let v = veo(&stub.config());
    for s in [
        Script::RateLimited { hint: Some(3) },
        Script::RateLimited { hint: None },
        Script::DailyQuota,
        Script::BillingDisabled,
        Script::PermissionDenied,
        Script::Retired,
        Script::ServerError,
    ] {
        stub.script(s);
    }
    let e = v.submit(&shot(), &key()).await.unwrap_err();
    assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(3))), "{e}");
    assert_eq!(stub.submissions(), 1);
    let e = v.submit(&shot(), &key()).await.unwrap_err();
    assert_eq!((e.is_retryable(), e.retry_after()), (true, None), "{e}");
    assert_eq!(stub.submissions(), 2);
    let e = v.submit(&shot(), &key()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Exhausted { .. }) && e.to_string().contains("per day"), "{e}");
    let e = v.submit(&shot(), &key()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Exhausted { .. }) && e.to_string().contains("billing"), "{e}");
    let e = v.submit(&shot(), &key()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
    assert!(e.to_string().contains("aiplatform.endpoints.predict"), "{e}");
    let e = v.submit(&shot(), &key()).await.unwrap_err();
    assert!(
        matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("not available in us-central1"),
        "{e}"
    );
    let e = v.submit(&shot(), &key()).await.unwrap_err();
    assert!(e.is_retryable() && e.retry_after().is_none(), "{e}");
    assert_eq!(stub.submissions(), 7, "one request per submit, errors included");
    v.submit(&shot(), &key()).await.unwrap();
    assert_eq!((stub.submissions(), stub.mints()), (8, 1));
}

#[tokio::test]
async fn operations_that_end_without_a_video_fail_with_their_class() {
    let stub = VeoStub::start().await;
    let v = veo(&stub.config());
    let scripts = [
        Script::Filtered { input: false },
        Script::Filtered { input: true },
        Script::OperationError { code: 3 },
        Script::OperationError { code: 8 },
        Script::OperationError { code: 13 },
        Script::OperationError { code: 14 },
        Script::OperationError { code: 7 },
        Script::EmptyDone,
        Script::MalformedPoll,
    ];
    let mut jobs = Vec::new();
    for s in scripts {
        stub.script(s);
        jobs.push(v.submit(&shot(), &key()).await.unwrap());
    }
    let f = failed(v.poll(&jobs[0]).await.unwrap());
    assert_eq!(
        (f.class, f.billed, f.code.as_deref()),
        (FailureClass::ModerationOutput, false, Some("RAI_MEDIA_FILTERED"))
    );
    assert!(f.reason.contains("You will not be charged") && f.reason.contains("Support codes"), "{}", f.reason);
    let f = failed(v.poll(&jobs[1]).await.unwrap());
    assert_eq!((f.class, f.billed), (FailureClass::ModerationInput, false));
    use FailureClass::{Invalid, Retryable};
    for (job, class, code) in [
        (&jobs[2], Invalid, "3 INVALID_ARGUMENT"),
        (&jobs[3], Retryable, "8 RESOURCE_EXHAUSTED"),
        (&jobs[4], Retryable, "13 INTERNAL"),
        (&jobs[5], Retryable, "14 UNAVAILABLE"),
        (&jobs[6], Invalid, "7 PERMISSION_DENIED"),
    ] {
        let f = failed(v.poll(job).await.unwrap());
        assert_eq!((f.class, f.billed, f.code.as_deref()), (class, false, Some(code)));
    }
    let f = failed(v.poll(&jobs[7]).await.unwrap());
    assert_eq!((f.class, f.billed), (Retryable, true), "done with nothing is a failure, never Ready");
    assert!(matches!(v.poll(&jobs[8]).await, Err(ProviderError::Invalid { .. })));
    let unknown = JobId::new("00000000-0000-4000-a000-000000000000");
    let e = v.poll(&unknown).await.unwrap_err();
    assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("no such operation"), "{e:?}");
}

#[tokio::test]
async fn a_gcs_output_is_read_with_the_token_and_expires() {
    let stub = VeoStub::start().await;
    let v = veo(&stub.config());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("clip.mp4");
    stub.script(Script::Gcs { downloads: 1 });
    let job = v.submit(&shot(), &key()).await.unwrap();
    let first = ready(&v.poll(&job).await.unwrap());
    assert!(first.url.starts_with(&format!("gs://{BUCKET}/veo/{job}/")), "{}", first.url);
    let got = v.download(&first, &dest, u64::MAX).await.unwrap();
    assert_eq!(got.sha256, crate::Sha256::of(&stub.clip()));
    let read = stub.server().requests().into_iter().find(|r| r.path().starts_with("/storage/")).unwrap();
    assert_eq!(read.target, format!("/storage/v1/b/{BUCKET}/o/veo%2F{job}%2F1%2Fsample_0.mp4?alt=media"));
    assert!(read.header("authorization").unwrap().starts_with("Bearer ya29.stub-"));
    let e = v.download(&first, &dest, u64::MAX).await.unwrap_err();
    assert!(matches!(e, ProviderError::Expired { .. }), "{e:?}");
    let fresh = ready(&v.poll(&job).await.unwrap());
    assert_ne!(fresh.url, first.url);
    assert_eq!(v.download(&fresh, &dest, u64::MAX).await.unwrap().bytes, stub.clip().len() as u64);
    assert_eq!(stub.downloads(), 3);
    for bad in ["gs://Not_A_Bucket/x", "https://storage.googleapis.com/b/o", "veo-operation:../x", "file:///etc/passwd"]
    {
        let out = ClipOutput { url: bad.into(), content_type: None };
        let e = v.download(&out, &dest, u64::MAX).await.unwrap_err();
        assert!(!e.is_retryable(), "{bad}: {e:?}");
    }
    assert_eq!(stub.downloads(), 3, "nothing odd was fetched");
    assert_eq!(super::storage_base("https://us-central1-aiplatform.googleapis.com"), STORAGE_BASE);
    assert_eq!(super::storage_base("http://127.0.0.1:8080/x"), "http://127.0.0.1:8080");
}

#[tokio::test]
async fn an_inline_download_is_capped() {
    let stub = VeoStub::start().await;
    let v = veo(&stub.config());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("clip.mp4");
    stub.always(Script::Oversized(300_000));
    let job = v.submit(&shot(), &key()).await.unwrap();
    let out = ready(&v.poll(&job).await.unwrap());
    // The operation's answer is over max_bytes * 4/3: refused while it is read.
    let e = v.download(&out, &dest, 200_000).await.unwrap_err();
    assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("over the cap"), "{e}");
    assert!(!dest.exists());
    // The answer fits but the video is over max_bytes: refused while it is written.
    let e = v.download(&out, &dest, 290_000).await.unwrap_err();
    assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("over the cap"), "{e}");
    assert!(!dest.exists());
    assert_eq!(v.download(&out, &dest, 300_000).await.unwrap().bytes, 300_000);
}

#[tokio::test]
async fn a_shot_of_several_photos_sends_each_as_an_asset_reference_within_limits() {
    let stub = VeoStub::start().await;
    let v = veo(&stub.config());
    let mut request = shot();
    // A photo over the side cap (re-encoded smaller), one kept as sent, and one too many.
    request.more_images = vec![png(4500, 2400), png(640, 640), png(500, 500)];
    assert_eq!(v.price(&request), Usd::from_dollars(1.20), "8 s at $0.15 with references");
    v.submit(&request, &key()).await.unwrap();
    let body = &stub.bodies()[0];
    let instance = &body["instances"][0];
    assert!(instance.get("image").is_none(), "references go without a first frame");
    assert_eq!(body["parameters"]["durationSeconds"], 8);
    let references = instance["referenceImages"].as_array().unwrap();
    assert_eq!(references.len(), 3, "the main photo and two more");
    let mut sizes = Vec::new();
    for r in references {
        assert_eq!(r["referenceType"], "asset");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(r["image"]["bytesBase64Encoded"].as_str().unwrap())
            .unwrap();
        assert!(bytes.len() <= MAX_PHOTO_BYTES, "{} bytes", bytes.len());
        let img = image::load_from_memory(&bytes).unwrap();
        let (w, h) = (img.width(), img.height());
        assert!(w.max(h) <= MAX_SIDE && (0.5..=2.0).contains(&(w as f64 / h as f64)), "{w}x{h}");
        let format = image::guess_format(&bytes).unwrap();
        assert_eq!(r["image"]["mimeType"], format.to_mime_type());
        sizes.push((w, h));
    }
    assert_eq!(sizes[0], (300, 400), "the main photo first");
    assert_eq!(sizes[1], (4096, 2184), "shrunk to the side cap, shape kept");
    assert_eq!(sizes[2], (640, 640));

    request.more_images = vec![png(1200, 400)];
    let e = v.submit(&request, &key()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
    assert!(e.to_string().contains("photo 2") && e.to_string().contains("aspect"), "{e}");
    assert_eq!(stub.submissions(), 1, "nothing sent for a photo it cannot take");
}

#[tokio::test]
async fn a_never_ending_operation_stays_pending_and_cannot_be_cancelled() {
    let stub = VeoStub::start().await;
    let v = veo(&stub.config());
    stub.script(Script::NeverFinishes);
    let job = v.submit(&shot(), &key()).await.unwrap();
    for _ in 0..3 {
        assert!(matches!(v.poll(&job).await.unwrap(), JobStatus::Pending { queued: false, .. }));
    }
    assert_eq!(v.cancel(&job).await.unwrap(), Cancelled::Unsupported);
    stub.script(Script::Timed(Duration::from_millis(80)));
    let job = v.submit(&shot(), &key()).await.unwrap();
    assert!(matches!(v.poll(&job).await.unwrap(), JobStatus::Pending { .. }));
    tokio::time::sleep(Duration::from_millis(100)).await;
    ready(&v.poll(&job).await.unwrap());
}

#[tokio::test]
async fn setup_checks_every_setting_and_never_shows_the_key() {
    let stub = VeoStub::start().await;
    let good = stub.config();
    let credentials = stub.credentials();
    let material = key_material(&credentials);
    let mut config = good.clone();
    config.api.api_key = None;
    assert!(setup_error(&config).contains("TRUEREEL_VEO_CREDENTIALS"));
    config.api.api_key = Some(Secret::new("  "));
    assert!(setup_error(&config).contains("TRUEREEL_VEO_CREDENTIALS"));

    // A path to the key file works like the key itself.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sa.json");
    std::fs::write(&file, &credentials).unwrap();
    config.api.api_key = Some(Secret::new(file.to_str().unwrap()));
    veo(&config).submit(&shot(), &key()).await.unwrap();
    config.api.api_key = Some(Secret::new(dir.path().join("missing.json").to_str().unwrap()));
    let e = setup_error(&config);
    assert!(e.contains("TRUEREEL_VEO_CREDENTIALS") && e.contains("missing.json"), "{e}");
    // A key that lost its braces on the way in is not taken for a path and quoted.
    for mangled in [credentials.trim_start_matches('{').to_string(), format!("'{credentials}'"), material.clone()] {
        config.api.api_key = Some(Secret::new(mangled));
        let e = setup_error(&config);
        assert!(e.starts_with("TRUEREEL_VEO_CREDENTIALS") && !e.contains(&material[..40]), "{e}");
    }

    let json: Value = serde_json::from_str(&credentials).unwrap();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut key = json.clone();
        edit(&mut key);
        let mut c = good.clone();
        c.api.api_key = Some(Secret::new(key.to_string()));
        c
    };
    let broken = format!("{}, oops", &credentials[..credentials.len() - 1]);
    let mut c = good.clone();
    c.api.api_key = Some(Secret::new(broken));
    for (c, words) in [
        (c, "not JSON"),
        (with(&|k| k["type"] = json!("authorized_user")), "authorized_user"),
        (with(&|k| k["client_email"] = json!("nobody")), "client_email"),
        (
            with(&|k| {
                k["private_key"] = json!(
                    format!("-----BEGIN PRIVATE KEY-----\n{material}\n-----END PRIVATE KEY-----\n").replace('A', "B")
                )
            }),
            "private_key",
        ),
        (with(&|k| k["private_key"] = json!(material.clone())), "not a PEM"),
        (with(&|k| k["token_uri"] = json!("http://oauth2.example.com/token")), "token_uri"),
        (with(&|k| k["project_id"] = json!("Bad Project")), "TRUEREEL_VEO_PROJECT"),
        (
            with(&|k| {
                k.as_object_mut().unwrap().remove("project_id");
            }),
            "TRUEREEL_VEO_PROJECT",
        ),
    ] {
        let e = setup_error(&c);
        assert!(e.contains(words), "{words}: {e}");
        if words != "TRUEREEL_VEO_PROJECT" {
            assert!(e.starts_with("TRUEREEL_VEO_CREDENTIALS"), "{e}");
        }
        assert!(!e.contains(&material[..40]) && !e.contains("BEGIN"), "{e}");
    }
    // The key's project is only the default.
    let mut c = with(&|k| {
        k.as_object_mut().unwrap().remove("project_id");
    });
    c.project = Some(PROJECT.into());
    veo(&c).submit(&shot(), &key()).await.unwrap();
    let mut c = good.clone();
    c.project = Some("other-project".into());
    let e = veo(&c).submit(&shot(), &key()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("other-project"), "{e}");

    let mut c = good.clone();
    c.api.model = "veo-3.1-generate-preview".into();
    assert!(setup_error(&c).contains("TRUEREEL_VEO_MODEL"));
    c.api.model = "veo-3.1-generate-001".into();
    assert_eq!(veo(&c).price(&shot()), Usd::from_dollars(2.40), "6 s at $0.40");
    c.api.usd_per_second = Some(Usd::from_dollars(0.30));
    assert_eq!(veo(&c).price(&shot()), Usd::from_dollars(1.80));
    let mut c = good.clone();
    c.location = "us central".into();
    assert!(setup_error(&c).contains("TRUEREEL_VEO_LOCATION"));
    for (url, allow, ok) in [
        ("http://127.0.0.1:9", false, false),
        ("http://10.0.0.5", true, false),
        ("https://user:pw@us-central1-aiplatform.googleapis.com", false, false),
    ] {
        let mut c = good.clone();
        c.api.base_url = url.into();
        c.api.allow_private_network = allow;
        assert_eq!(VeoVideo::new(&c, Duration::from_secs(1)).is_ok(), ok, "{url}");
    }
    let mut c = good.clone();
    c.api.base_url = "http://10.0.0.5".into();
    assert!(setup_error(&c).starts_with("TRUEREEL_VEO_BASE_URL"));
    assert_eq!(regional_base(DEFAULT_BASE, "europe-west4"), "https://europe-west4-aiplatform.googleapis.com");
    assert_eq!(regional_base(DEFAULT_BASE, "global"), "https://aiplatform.googleapis.com");
    assert_eq!(regional_base("https://proxy.example/", "europe-west4"), "https://proxy.example");
}
