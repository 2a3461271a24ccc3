//! The embedded pipeline end to end on the sample store, at full size, checked like a viewer would.

use std::path::Path;
use truereel::config::Config;
use truereel::ports::BlobStore;
use truereel::{ReelStatus, Sha256};
use truereel_tests::{SAMPLE_PRODUCTS, expected_frame, init_logs, mean_difference, run_store, sample_store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_store_becomes_one_watchable_reel_per_product() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let (e, report) = run_store(dir.path(), &sample_store(), None, Config::default()).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");

    let reels = e.ports.state.list_reels().await.unwrap();
    let mut products: Vec<String> = reels.iter().map(|r| r.product.to_string()).collect();
    products.sort();
    assert_eq!(products, SAMPLE_PRODUCTS, "one reel per sample product");

    // Every reference of every product, to check each shot shows its own product's photo.
    let mut all_refs = Vec::new();
    for p in e.ports.state.list_products().await.unwrap() {
        for r in e.ports.state.references(&p.handle).await.unwrap() {
            let path = e.blobs.local_path(&r.blob).unwrap();
            all_refs.push((r.product.clone(), r.sha256.clone(), image::open(path).unwrap()));
        }
    }

    for reel in &reels {
        assert_eq!(reel.status, ReelStatus::Published, "{}: {:?}", reel.id, reel.reasons);
        let file = e.blobs.local_path(reel.published.as_ref().unwrap()).expect("the published reel is a file");
        let probe = e.ports.media.probe(&file).await.unwrap();
        let v = probe.video.as_ref().expect("video");
        assert_eq!((v.width, v.height, v.codec.as_str()), (1080, 1920, "h264"), "{}", reel.id);
        assert!((v.fps - 30.0).abs() < 0.01);
        let a = probe.audio.as_ref().expect("audio");
        assert_eq!(a.codec, "aac");
        assert!((10_000..=30_000).contains(&probe.duration_ms), "{}: {} ms", reel.id, probe.duration_ms);
        assert!(probe.faststart, "{}: moov first", reel.id);
        // Provenance: tags in the file, tied to the manifest beside it; a poster beside it too.
        let tags = e.ports.media.probe(&file).await.unwrap().tags;
        let manifest_key = truereel::BlobKey::reel_manifest(&reel.id, reel.round);
        let manifest_bytes = e.ports.blobs.get(&manifest_key).await.unwrap();
        let manifest: truereel::Manifest = serde_json::from_slice(&manifest_bytes).unwrap();
        assert_eq!(tags.get("truereel_manifest"), Some(&Sha256::of(&manifest_bytes).to_string()), "{}", reel.id);
        assert_eq!(tags.get("digital_source_type"), Some(&manifest.digital_source_type), "{}", reel.id);
        assert_eq!(manifest.shots.len(), reel.plan.shots.len());
        assert!(manifest.shots.iter().all(|s| s.reference_url.is_some()), "{manifest:?}");
        let poster = e.ports.blobs.get(&truereel::BlobKey::reel_poster(&reel.id, reel.round)).await.unwrap();
        assert_eq!(image::load_from_memory(&poster).unwrap().width(), 1080);
        let voice = e.blobs.local_path(&truereel::BlobKey::voice_over_aac(&reel.voice_over.audio)).unwrap();
        let audio = |p: &Path| {
            let out = std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-i"])
                .arg(p)
                .args(["-map", "0:a", "-c", "copy", "-f", "data", "-"])
                .output()
                .unwrap();
            Sha256::of(&out.stdout)
        };
        assert_eq!(audio(&voice), audio(&file), "{}: the voice-over's packets, copied", reel.id);
        let volume = e.ports.media.levels_of(&file).await.unwrap().1.unwrap();
        assert!(volume > -35.0, "{}: the voice is audible ({volume} dB)", reel.id);
        assert!((3..=5).contains(&reel.plan.shots.len()));

        let frames = tempfile::tempdir().unwrap();
        let starts = reel.plan.starts_ms();
        for (shot, start) in reel.plan.shots.iter().zip(starts) {
            let frame_path = frames.path().join(format!("{}.png", shot.index));
            let n = (shot.duration_ms * 30).div_ceil(1000);
            let mid = n / 2;
            let at = start + (mid * 1000 + 15) / 30;
            e.ports.media.extract_frame(&file, at, &frame_path).await.unwrap();
            let (sw, sh) = (90, 160);
            let frame =
                image::open(&frame_path).unwrap().resize_exact(sw, sh, image::imageops::FilterType::Triangle).to_rgb8();
            // The caption band is left out: captions are checked on their own below.
            let captions = sh * 50 / 100..sh * 82 / 100;
            let p = mid as f64 / (n - 1) as f64;
            let scored: Vec<(f64, &truereel::Handle, &Sha256)> = all_refs
                .iter()
                .map(|(product, sha, img)| {
                    let want =
                        expected_frame(img, &shot.camera, shot.motion, shot.duration_ms, (1080, 1920), p, (sw, sh));
                    (mean_difference(&frame, &want, captions.clone()), product, sha)
                })
                .collect();
            let best = scored.iter().min_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
            let runner_up = scored.iter().filter(|s| s.2 != best.2).map(|s| s.0).fold(f64::MAX, f64::min);
            println!("{} shot {}: {:.1}/255 from its photo, next best {runner_up:.1}", reel.id, shot.index, best.0);
            assert_eq!(
                (best.1, best.2),
                (&reel.product, &shot.reference),
                "{} shot {}: the frame matches another photo better ({scored:?})",
                reel.id,
                shot.index
            );
            assert!(
                best.0 < 20.0,
                "{} shot {}: the frame differs from its photo by {:.1}/255",
                reel.id,
                shot.index,
                best.0
            );
        }
        captions_are_visible(&e, reel, &file, frames.path()).await;
    }
}

/// While a word is spoken, the caption band holds white text with a black outline that the
/// shot's own clip (no captions) does not have at the same moment.
async fn captions_are_visible(e: &truereel::homes::embedded::Embedded, reel: &truereel::Reel, file: &Path, dir: &Path) {
    let word = &reel.voice_over.words[reel.voice_over.words.len() / 2];
    let at = (word.start_ms + word.end_ms) / 2;
    let starts = reel.plan.starts_ms();
    let shot = starts.iter().rposition(|s| *s <= at).unwrap();
    let clips = e.ports.state.clips(&reel.id).await.unwrap();
    let clip = clips.iter().find(|c| c.shot == shot as u32).unwrap();
    let with = dir.join("with.png");
    let without = dir.join("without.png");
    e.ports.media.extract_frame(file, at, &with).await.unwrap();
    let video = truereel_tests::clip_video(e, clip, dir).await;
    e.ports.media.extract_frame(&video, at - starts[shot], &without).await.unwrap();
    let (with, without) = (image::open(with).unwrap().to_rgb8(), image::open(without).unwrap().to_rgb8());
    let band = (with.height() * 55 / 100)..(with.height() * 80 / 100);
    let (mut white, mut dark, mut differ) = (0u32, 0u32, 0u32);
    for y in band.clone() {
        for x in 0..with.width() {
            let p = with.get_pixel(x, y).0;
            let q = without.get_pixel(x, y).0;
            let d: i32 = p.iter().zip(q.iter()).map(|(a, b)| (*a as i32 - *b as i32).abs()).sum();
            if d > 120 {
                differ += 1;
                if p.iter().all(|c| *c > 220) {
                    white += 1;
                }
                if p.iter().all(|c| *c < 40) {
                    dark += 1;
                }
            }
        }
    }
    assert!(
        differ > 2_000 && (white > 300 || dark > 300),
        "{}: no caption in the band at {at} ms ({differ} changed, {white} white, {dark} dark)",
        reel.id
    );
}

/// `--aspect 9:16,4:5,1:1`: one published file per shape, each from the same clips and voice-over,
/// each its own size, each tagged with its provenance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_aspects_are_published_beside_the_reel() {
    truereel_tests::init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut config = truereel_tests::small_config();
    config.settings.extra_aspects =
        ["4:5", "1:1"].iter().filter_map(|a| truereel::config::aspect(a, config.settings.width)).collect();
    let (e, _) = truereel_tests::run_store(
        dir.path(),
        &truereel_tests::sample_store(),
        Some(&["green-chunky-knit-beanie"]),
        config,
    )
    .await;
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    assert_eq!(reel.status, truereel::ReelStatus::Published, "{:?}", reel.reasons);
    let main = e.ports.media.probe(&e.blobs.local_path(reel.published.as_ref().unwrap()).unwrap()).await.unwrap();
    for (aspect, w, h) in [("4x5", 270, 338), ("1x1", 270, 270)] {
        let key = truereel::BlobKey::published_aspect(&reel.id, aspect);
        assert_eq!(key.as_str(), format!("public/reels/green-chunky-knit-beanie.{aspect}.mp4"));
        let path = e.blobs.local_path(&key).expect("published");
        let p = e.ports.media.probe(&path).await.unwrap();
        let v = p.video.as_ref().unwrap();
        assert_eq!((v.width, v.height), (w, h), "{aspect}");
        assert!(p.duration_ms.abs_diff(main.duration_ms) <= 100, "{aspect}: {p:?} vs {main:?}");
        let tags = e.ports.media.probe(&path).await.unwrap().tags;
        assert!(tags.get("digital_source_type").is_some_and(|t| t.contains("iptc")), "{aspect}: {tags:?}");
    }
}
