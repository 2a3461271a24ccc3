//! `truereel serve`'s origin on a real loopback port with real files: published reels and posters
//! (ranges, HEAD, validators and conditional requests, cache rules), traversal attempts sent as raw
//! request lines, signed links to drafts (none, wrong, expired, valid), a reel never published, and the
//! read-only JSON API. The stable URL after a new version is checked in `flag.rs`, on a real safety pass.

use bytes::Bytes;
use truereel::ports::BlobStore;
use truereel::{BlobKey, Reel, ReelStatus, Version};
use truereel_origin::signing::{KEY_FILE, SigningKey, unix_now};
use truereel_origin::{IMMUTABLE_CACHE_CONTROL, STABLE_CACHE_CONTROL};
use truereel_tests::{RawAnswer, init_logs, raw_request, serve_origin, small_config};

/// Bytes that differ at every offset (a wrong range shows), `n` of them, from `seed`.
fn content(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| ((i as u64).wrapping_mul(2654435761) >> 7) as u8 ^ seed).collect()
}

/// Larger than the origin reads at once, so whole files and open ranges are streamed.
const SIZE: usize = 300_000;

/// A data folder with one published reel (version 1, its poster, its stable copies), a draft, and
/// what must never be served: `state.sqlite` and the signing key beside `blobs/`, a secret outside.
struct Published {
    data: tempfile::TempDir,
    reel: Reel,
    video: Vec<u8>,
}

async fn published() -> Published {
    let data = tempfile::tempdir().unwrap();
    let e = truereel::homes::embedded::Embedded::open(data.path(), &small_config()).unwrap();
    let product = truereel::contract::sample_product();
    e.ports.state.put_product(&product).await.unwrap();
    let mut reel = truereel::contract::sample_reel(&product);
    e.ports.state.create_reel(&reel).await.unwrap();
    let video = content(SIZE, 1);
    let put = |key: BlobKey, bytes: Vec<u8>, kind: &'static str| {
        let blobs = e.ports.blobs.clone();
        async move { blobs.put(&key, Bytes::from(bytes), kind).await.unwrap() }
    };
    put(BlobKey::reel_video(&reel.id, 1), video.clone(), "video/mp4").await;
    put(BlobKey::published_version(&reel.id, 1, None), video.clone(), "video/mp4").await;
    put(BlobKey::published_reel(&reel.id), video.clone(), "video/mp4").await;
    put(BlobKey::published_poster(&reel.id, Some(1)), b"\xff\xd8poster".to_vec(), "image/jpeg").await;
    put(BlobKey::published_poster(&reel.id, None), b"\xff\xd8poster".to_vec(), "image/jpeg").await;
    put(BlobKey::voice_over(&reel.id), b"RIFFwave".to_vec(), "audio/wav").await;
    let mut next = reel.clone();
    next.round = 1;
    next.video = Some(BlobKey::reel_video(&reel.id, 1));
    next.published = Some(BlobKey::published_reel(&reel.id));
    next.versions.push(Version {
        version: 1,
        round: 1,
        file: BlobKey::published_version(&reel.id, 1, None),
        published_ms: 1,
        retired_ms: None,
        flag: None,
        overruled: None,
    });
    // Written as the stages would leave it (their transitions are checked elsewhere).
    for (to, from) in [
        (ReelStatus::Generating, ReelStatus::Planned),
        (ReelStatus::Assembled, ReelStatus::Generating),
        (ReelStatus::Evaluated, ReelStatus::Assembled),
        (ReelStatus::Published, ReelStatus::Evaluated),
    ] {
        next.status = to;
        e.ports.state.transition(&next, from).await.unwrap();
    }
    reel = next;
    std::fs::write(data.path().join("secret.txt"), b"top secret").unwrap();
    Published { data, reel, video }
}

fn path_of(key: &BlobKey) -> String {
    truereel_origin::links::url_path(key).unwrap()
}

async fn get(addr: std::net::SocketAddr, target: &str, headers: &[&str]) -> RawAnswer {
    raw_request(addr, "GET", target, headers).await
}

#[tokio::test]
async fn published_reels_answer_ranges_head_and_conditional_requests() {
    init_logs();
    let p = published().await;
    let (addr, _origin) = serve_origin(p.data.path(), true).await;
    let stable = path_of(&BlobKey::published_reel(&p.reel.id));
    assert_eq!(stable, format!("/reels/{}.mp4", p.reel.product));
    let len = p.video.len();

    let whole = get(addr, &stable, &[]).await;
    assert_eq!(whole.status, 200, "{}", whole.head);
    assert_eq!(whole.body, p.video);
    assert_eq!(whole.header("content-type"), Some("video/mp4"));
    assert_eq!(whole.header("content-length"), Some(len.to_string().as_str()));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(whole.header("cache-control"), Some(STABLE_CACHE_CONTROL));
    assert!(whole.header("last-modified").is_some_and(|d| d.ends_with(" GMT")), "{}", whole.head);
    let etag = whole.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "a strong tag: {etag}");

    // One range of each form: first bytes, middle, suffix, open-ended (streamed: past one read).
    for (range, start, end) in [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=-500", len - 500, len - 1),
        ("bytes=1000-", 1000, len - 1),
    ] {
        let part = get(addr, &stable, &[&format!("Range: {range}")]).await;
        assert_eq!(part.status, 206, "{range}: {}", part.head);
        assert_eq!(part.header("content-range"), Some(format!("bytes {start}-{end}/{len}").as_str()), "{range}");
        assert_eq!(part.header("content-length"), Some((end - start + 1).to_string().as_str()), "{range}");
        assert!(part.body == p.video[start..=end], "{range}: wrong bytes");
        assert_eq!(part.header("etag"), Some(etag.as_str()));
    }
    // Past the end: 416 naming the length; several ranges: the whole file in one 200 (documented).
    let past = get(addr, &stable, &[&format!("Range: bytes={len}-")]).await;
    assert_eq!(past.status, 416, "{}", past.head);
    assert_eq!(past.header("content-range"), Some(format!("bytes */{len}").as_str()));
    assert!(past.body.is_empty());
    let several = get(addr, &stable, &["Range: bytes=0-1,5-6"]).await;
    assert_eq!((several.status, several.body.len()), (200, len), "{}", several.head);

    // HEAD: the same headers, no body.
    let head = raw_request(addr, "HEAD", &stable, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for h in ["content-type", "content-length", "accept-ranges", "etag", "last-modified", "cache-control"] {
        assert_eq!(head.header(h), whole.header(h), "{h}");
    }
    let head_part = raw_request(addr, "HEAD", &stable, &["Range: bytes=0-99"]).await;
    assert_eq!((head_part.status, head_part.header("content-length"), head_part.body.len()), (206, Some("100"), 0));

    // Conditional requests: our tag (or a list holding it) is 304, another tag is the file.
    for tags in [etag.clone(), format!("\"other\", {etag}"), "*".into()] {
        let same = get(addr, &stable, &[&format!("If-None-Match: {tags}")]).await;
        assert_eq!(same.status, 304, "{tags}: {}", same.head);
        assert!(same.body.is_empty());
        assert_eq!(same.header("etag"), Some(etag.as_str()));
    }
    let other = get(addr, &stable, &["If-None-Match: \"other\""]).await;
    assert_eq!((other.status, other.body.len()), (200, len));
    let since = format!("If-Modified-Since: {}", whole.header("last-modified").unwrap());
    assert_eq!(get(addr, &stable, &[&since]).await.status, 304);

    // Version and poster URLs: immutable, the right types; a stable poster is short-lived.
    let v1 = get(addr, &path_of(&BlobKey::published_version(&p.reel.id, 1, None)), &[]).await;
    assert_eq!((v1.status, v1.header("cache-control")), (200, Some(IMMUTABLE_CACHE_CONTROL)));
    assert_eq!(v1.body, p.video);
    let poster = get(addr, &path_of(&BlobKey::published_poster(&p.reel.id, None)), &[]).await;
    assert_eq!((poster.status, poster.header("content-type")), (200, Some("image/jpeg")));
    assert_eq!(poster.header("cache-control"), Some(STABLE_CACHE_CONTROL));
    let poster_1 = get(addr, &path_of(&BlobKey::published_poster(&p.reel.id, Some(1))), &[]).await;
    assert_eq!((poster_1.status, poster_1.header("cache-control")), (200, Some(IMMUTABLE_CACHE_CONTROL)));

    // The stable file replaced (as a new version lands): a new tag; the old one no longer matches,
    // and a range under the old tag's If-Range gets the whole new file.
    let newer = content(SIZE / 2, 2);
    let blobs = truereel::adapters::embedded::folder_blobs::FolderBlobStore::new(p.data.path().join("blobs")).unwrap();
    blobs.put(&BlobKey::published_reel(&p.reel.id), Bytes::from(newer.clone()), "video/mp4").await.unwrap();
    let after = get(addr, &stable, &[&format!("If-None-Match: {etag}")]).await;
    assert_eq!(after.status, 200, "{}", after.head);
    assert_eq!(after.body, newer);
    assert_ne!(after.header("etag"), Some(etag.as_str()), "a replaced file has a new tag");
    let stale = get(addr, &stable, &["Range: bytes=0-9", &format!("If-Range: {etag}")]).await;
    assert_eq!((stale.status, stale.body.len()), (200, newer.len()));
    let fresh = format!("If-Range: {}", after.header("etag").unwrap());
    assert_eq!(get(addr, &stable, &["Range: bytes=0-9", &fresh]).await.status, 206);
    // Rewritten in place (the same inode, as `cp` over it does): held in memory or not, the new bytes.
    let rewritten = content(SIZE / 3, 3);
    std::fs::write(p.data.path().join("blobs").join(BlobKey::published_reel(&p.reel.id).as_str()), &rewritten).unwrap();
    let now = get(addr, &stable, &[]).await;
    assert!(now.body == rewritten, "served {} bytes, not the {} rewritten", now.body.len(), rewritten.len());
    assert_ne!(now.header("etag"), after.header("etag"));

    // Only GET and HEAD.
    assert_eq!(raw_request(addr, "POST", &stable, &["Content-Length: 0"]).await.status, 405);
}

#[tokio::test]
async fn traversal_attempts_and_links_out_of_the_folder_are_refused() {
    init_logs();
    let p = published().await;
    let data = p.data.path();
    let public = data.join("blobs/public/reels");
    // A symlink to a file outside the blob folder, a folder link up to the data folder, and a link
    // from the public folder to a draft (inside blobs/, but not public).
    std::os::unix::fs::symlink(data.join("secret.txt"), public.join("leak.mp4")).unwrap();
    std::os::unix::fs::symlink(data.join("state.sqlite"), public.join("state.mp4")).unwrap();
    std::os::unix::fs::symlink(data, public.join("up")).unwrap();
    let draft = data.join("blobs").join(BlobKey::reel_video(&p.reel.id, 1).as_str());
    std::os::unix::fs::symlink(&draft, public.join("draft.mp4")).unwrap();
    std::os::unix::fs::symlink(data.join("secret.txt"), data.join("blobs/reels/leak.mp4")).unwrap();
    let (addr, origin) = serve_origin(data, true).await;

    let secret_state = std::fs::read(data.join("state.sqlite")).unwrap();
    let secret_key = std::fs::read(data.join(KEY_FILE)).unwrap();
    for target in [
        "/reels/../state.sqlite",
        "/reels/../../state.sqlite",
        "/reels/%2e%2e/state.sqlite",
        "/reels/%2E%2e/state.sqlite",
        "/reels/%2e%2e%2fstate.sqlite",
        "/reels/%252e%252e/state.sqlite",
        "/reels/%252e%252e%252fstate.sqlite",
        "/reels/..%5c..%5cstate.sqlite",
        "/reels/..\\..\\state.sqlite",
        "/reels//etc/passwd",
        "/reels/%2fetc%2fpasswd",
        "/reels/x.mp4%00.jpg",
        "/reels/leak.mp4",
        "/reels/state.mp4",
        "/reels/up/state.sqlite",
        "/reels/up/origin.key",
        "/reels/up/blobs/public/reels/leak.mp4",
        "/reels/draft.mp4",
        "/files/../state.sqlite",
        "/files//etc/passwd",
        "/files/%2fetc%2fpasswd",
        "/files/..%2f..%2fstate.sqlite",
        "/files/%252e%252e/origin.key",
        "/state.sqlite",
        "/origin.key",
        "/blobs/public/reels/x.mp4",
        "/../state.sqlite",
    ] {
        let answer = get(addr, target, &[]).await;
        assert!(matches!(answer.status, 400 | 404), "{target}: {}", answer.head);
        for secret in [&b"top secret"[..], &secret_state[..16], &secret_key[..], b"root:"] {
            assert!(!answer.body.windows(secret.len()).any(|w| w == secret), "{target} leaked");
        }
    }
    // A valid signature does not open a link out of the folder either.
    let leak = BlobKey::parse("reels/leak.mp4").unwrap();
    let signed = origin.signed_link(&leak);
    let target = signed.trim_start_matches(&format!("http://{addr}"));
    assert_eq!(get(addr, target, &[]).await.status, 404, "{target}");
    // A link that stays inside the public folder is followed.
    std::os::unix::fs::symlink(public.join(format!("{}.mp4", p.reel.product)), public.join("alias.mp4")).unwrap();
    assert_eq!(get(addr, "/reels/alias.mp4", &[]).await.status, 200);
}

#[tokio::test]
async fn drafts_need_a_valid_signature_and_an_unpublished_reel_has_no_public_url() {
    init_logs();
    let p = published().await;
    let data = p.data.path();
    // A second product whose reel is planned, never published: its draft exists, its stable URL does not.
    let e = truereel::homes::embedded::Embedded::open(data, &small_config()).unwrap();
    let product = truereel::contract::sample_product();
    e.ports.state.put_product(&product).await.unwrap();
    let planned = truereel::contract::sample_reel(&product);
    e.ports.state.create_reel(&planned).await.unwrap();
    let draft = BlobKey::reel_video(&planned.id, 1);
    let draft_bytes = content(SIZE, 3);
    e.ports.blobs.put(&draft, Bytes::from(draft_bytes.clone()), "video/mp4").await.unwrap();
    let (addr, origin) = serve_origin(data, true).await;

    assert_eq!(get(addr, &path_of(&BlobKey::published_reel(&planned.id)), &[]).await.status, 404);
    assert_eq!(get(addr, &path_of(&BlobKey::published_poster(&planned.id, None)), &[]).await.status, 404);

    let path = format!("/files/{draft}");
    let key = SigningKey::load_or_create(data).unwrap();
    let now = unix_now();
    let expired = format!("{path}?expires={}&sig={}", now - 10, key.sign(&path, now - 10));
    let other_key = SigningKey::from_bytes([9; 32]);
    let forged = format!("{path}?expires={}&sig={}", now + 600, other_key.sign(&path, now + 600));
    let moved = format!("{path}?expires={}&sig={}", now + 600, key.sign("/files/reels/x/reel-1.mp4", now + 600));
    let later = format!("{path}?expires={}&sig={}", now + 6000, key.sign(&path, now + 600));
    for (target, status) in [
        (path.clone(), 404),
        (format!("{path}?expires={}", now + 600), 404),
        (format!("{path}?expires={}&sig=nothex", now + 600), 404),
        (forged, 404),
        (moved, 404),
        (later, 404),
        (expired, 403),
    ] {
        let answer = get(addr, &target, &[]).await;
        assert_eq!(answer.status, status, "{target}: {}", answer.head);
        assert!(answer.body.len() < 1000, "{target}: no file sent");
    }
    // The same answer for a key that does not exist: a missing signature reveals nothing.
    assert_eq!(get(addr, "/files/reels/none/reel-1.mp4", &[]).await.status, 404);

    let link = origin.signed_link(&draft);
    let target = link.trim_start_matches(&format!("http://{addr}"));
    let ok = get(addr, target, &[]).await;
    assert_eq!(ok.status, 200, "{}", ok.head);
    assert_eq!(ok.body, draft_bytes);
    assert_eq!(ok.header("content-type"), Some("video/mp4"));
    assert_eq!(ok.header("cache-control"), Some("private, no-store"));
    let part = get(addr, target, &["Range: bytes=-100"]).await;
    assert_eq!((part.status, part.body.as_slice()), (206, &draft_bytes[SIZE - 100..]));
    // A voice-over and a reel's file that is not there.
    let voice = origin.signed_link(&BlobKey::voice_over(&p.reel.id));
    let wav = get(addr, voice.trim_start_matches(&format!("http://{addr}")), &[]).await;
    assert_eq!((wav.status, wav.header("content-type")), (200, Some("audio/wav")));
    let missing = origin.signed_link(&BlobKey::reel_video(&planned.id, 9));
    assert_eq!(get(addr, missing.trim_start_matches(&format!("http://{addr}")), &[]).await.status, 404);
}

async fn json(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    let answer = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    assert_eq!(answer.status(), 200, "{path}");
    assert_eq!(answer.headers()["content-type"], "application/json", "{path}");
    serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn the_api_reads_products_reels_shots_verdicts_ledger_and_queues() {
    init_logs();
    let p = published().await;
    let data = p.data.path();
    let e = truereel::homes::embedded::Embedded::open(data, &small_config()).unwrap();
    let id = &p.reel.id;
    for usd in [0.25, 0.5] {
        let entry = truereel::contract::sample_ledger_entry(id, truereel::Usd::from_dollars(usd), 5);
        e.ports.state.append_ledger(&entry).await.unwrap();
    }
    e.ports.state.put_clip(&truereel::contract::sample_clip(id, 0, 1)).await.unwrap();
    e.ports.blobs.put(&BlobKey::clip(id, 0, 1), Bytes::from_static(b"clip"), "video/mp4").await.unwrap();
    e.ports.state.put_verdict(&truereel::contract::sample_verdict(id, 1, true)).await.unwrap();
    let (addr, _origin) = serve_origin(data, true).await;

    let products = json(addr, "/api/products").await;
    assert_eq!(products["products"][0]["handle"], p.reel.product.as_str());
    let reels = json(addr, "/api/reels").await;
    let summary = &reels["reels"][0];
    assert_eq!(summary["id"], id.as_str());
    assert_eq!(summary["status"], "published");
    assert_eq!(summary["cost_usd"], 0.75);
    let stable = format!("http://{addr}/reels/{}.mp4", p.reel.product);
    assert_eq!(summary["stable_url"], stable.as_str());
    assert_eq!(summary["versions"][0]["url"], format!("http://{addr}/reels/{}/v1.mp4", p.reel.product).as_str());
    assert_eq!(summary["versions"][0]["current"], true);

    let one = json(addr, &format!("/api/reels/{id}")).await;
    assert_eq!(one["reel"]["id"], id.as_str());
    assert_eq!(one["reel"]["plan"]["shots"].as_array().unwrap().len(), p.reel.plan.shots.len());
    assert!(one["history"].as_array().unwrap().len() >= 4, "{}", one["history"]);
    let clip = &one["shots"][0]["clips"][0];
    assert_eq!(clip["clip"]["attempt"], 1);
    // The links the API gives open the files they name.
    for link in [&clip["link"], &one["files"]["video"], &one["files"]["voice_over"]] {
        let answer = reqwest::get(link.as_str().unwrap_or_else(|| panic!("no link: {one}"))).await.unwrap();
        assert_eq!(answer.status(), 200, "{link}");
    }
    assert_eq!(reqwest::get(stable).await.unwrap().status(), 200);

    let verdicts = json(addr, &format!("/api/reels/{id}/verdicts")).await;
    assert_eq!(verdicts["verdicts"][0]["judge"], "spec-checks");
    assert_eq!(verdicts["rounds"][0]["passed"], true);
    let ledger = json(addr, "/api/ledger").await;
    assert_eq!(ledger["summary"]["total_usd"], 0.75);
    assert_eq!(ledger["entries"].as_array().unwrap().len(), 2);
    let queues = json(addr, "/api/queues").await;
    let stages: Vec<&str> = queues["queues"].as_array().unwrap().iter().map(|q| q["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["crawl", "plan", "generate", "mirror", "evaluate"]);
    assert_eq!(queues["queues"][0]["dead"], 0);
    assert!(queues["stuck"].as_array().unwrap().is_empty(), "{}", queues["stuck"]);
    assert_eq!(reqwest::get(format!("http://{addr}/api/reels/nope--0123456789ab")).await.unwrap().status(), 404);

    // Not on loopback (here: asked not to answer it), the API needs the review login; reels do not.
    let (closed, _) = serve_origin(data, false).await;
    assert_eq!(get(closed, "/api/reels", &[]).await.status, 401);
    assert_eq!(get(closed, &format!("/reels/{}.mp4", p.reel.product), &[]).await.status, 200);
}
