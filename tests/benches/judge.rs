//! Benchmark and measurement of the local judge. `cargo bench -p truereel-tests --bench judge`:
//! one sample product's 15 s 1080x1920 reel made by the embedded pipeline, then judged the way
//! the evaluate stage judges it (from the assembly's thumbnails) and from the reel alone (sampled
//! from the video), each in a child process, next to decoding the reel with ffmpeg alone; seconds
//! and peak memory. `-- corpus STORE [WxH]`: the judge's confusion table over the corpus made from a
//! store folder's photos (`../shared/fixtures`). `-- product-match STORE [WxH]`: the product-match
//! validator's figures over that corpus (each clip against its product's whole gallery and every
//! other product's photos): the fits its thresholds were chosen from. `-- corpus-folder STORE OUT
//! [WxH] [PHOTOS_EACH]`: that corpus kept in a folder with its `labels.csv`, for `truereel calibrate`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use truereel::BlobKey;
use truereel::config::Config;
use truereel::homes::embedded::Embedded;
use truereel::ports::ReelCut;
use truereel::stages::gallery::match_photos;
use truereel_tests::corpus;
use truereel_tests::{children_max_rss_kb, drain_store, sample_store, self_peak_rss_kb};

fn main() {
    truereel::allocator::limit_arenas();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    match args.first().map(String::as_str) {
        Some("corpus") => rt.block_on(measure_corpus(Path::new(&args[1]), args.get(2).map(String::as_str))),
        Some("product-match") => {
            rt.block_on(measure_product_match(Path::new(&args[1]), args.get(2).map(String::as_str)))
        }
        Some("corpus-folder") => corpus_folder(&args[1..]),
        Some("child") => rt.block_on(child(Path::new(&args[1]), args[2] == "thumbnails", args.get(3).is_some())),
        Some("decode") => decode(Path::new(&args[1])),
        _ => speed(&rt),
    }
}

/// Makes the reel, then times the judge both ways and ffmpeg's decode.
fn speed(rt: &tokio::runtime::Runtime) {
    let data = tempfile::tempdir().unwrap();
    let reel = rt.block_on(async {
        let e = Embedded::open_for_runner(data.path(), &Config::default()).await.unwrap();
        // The whole store: the product-match validator matches the reel against the others.
        drain_store(&e, &sample_store(), None).await;
        hoodie_reel(&e).await
    });
    let video = data.path().join("blobs").join(BlobKey::reel_video(&reel.id, reel.round).as_str());
    let me = std::env::current_exe().unwrap();
    let timed = |c: &mut Command| {
        let started = Instant::now();
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (started.elapsed().as_secs_f64(), String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    // Each in a child of its own, so its peak memory is its own (not the pipeline's encodes').
    let (decode_s, decode_mb) = timed(Command::new(&me).arg("decode").arg(&video));
    let (thumbs_s, thumbs_mb) = timed(Command::new(&me).arg("child").arg(data.path()).arg("thumbnails"));
    let (video_s, video_mb) = timed(Command::new(&me).arg("child").arg(data.path()).arg("video"));
    let (spec_s, spec_mb) = timed(Command::new(&me).arg("child").arg(data.path()).arg("thumbnails").arg("spec"));
    println!("judge benchmark: {} ({} shots, 15 s at 1080x1920)", reel.id, reel.plan.shots.len());
    println!("  ffmpeg decode of the reel alone:   {decode_s:.2} s, peak {decode_mb}");
    println!(
        "  judge from the thumbnails:         {thumbs_s:.2} s ({:.2}x the decode), peak {thumbs_mb}",
        thumbs_s / decode_s
    );
    println!(
        "  spec checks alone (thumbnails):    {spec_s:.2} s ({:.2}x the decode), peak {spec_mb}",
        spec_s / decode_s
    );
    println!(
        "  judge from the reel alone:         {video_s:.2} s ({:.2}x the decode), peak {video_mb}",
        video_s / decode_s
    );
    // For profiling a child on its own: `KEEP_DATA=1` keeps the data folder.
    if std::env::var("KEEP_DATA").is_ok() {
        println!("kept {}", data.keep().display());
    }
}

/// The sample hoodie's reel, the one timed.
async fn hoodie_reel(e: &Embedded) -> truereel::Reel {
    let reels = e.ports.state.list_reels().await.unwrap();
    reels.into_iter().find(|r| r.product.as_str() == "pullover-hoodie").expect("the hoodie's reel")
}

/// Child mode: decodes `video` with ffmpeg alone (every frame, all cores) and prints ffmpeg's peak
/// memory.
fn decode(video: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-threads", "0", "-i"])
        .arg(video)
        .args(["-f", "null", "-"])
        .status()
        .unwrap();
    assert!(status.success());
    println!("{} MB", children_max_rss_kb() / 1024);
}

/// Child mode: judges the reel in `data` once and prints its peak memory (MB, itself and ffmpeg).
async fn child(data: &Path, thumbnails: bool, spec_only: bool) {
    let e = Embedded::open(data, &Config::default()).unwrap();
    let reel = hoodie_reel(&e).await;
    let blob = |k: &BlobKey| e.ports.blobs.local_path(k).unwrap();
    let all = e.ports.state.references(&reel.product).await.unwrap();
    let references: Vec<_> = all
        .iter()
        .filter(|r| reel.plan.shots.iter().any(|s| s.reference == r.sha256))
        .map(|r| (r.clone(), blob(&r.blob)))
        .collect();
    let thumbs = thumbnails.then(|| blob(&BlobKey::reel_thumbnails(&reel.id, reel.round)));
    let video = blob(&BlobKey::reel_video(&reel.id, reel.round));
    // The photos to match against, chosen as the evaluate stage chooses them.
    let scratch = tempfile::tempdir().unwrap();
    let photos = truereel::ports::Decoded::default();
    for (r, path) in &references {
        let (photos, sha, path) = (photos.clone(), r.sha256.clone(), path.clone());
        tokio::spawn(async move { truereel::media::Grounding::shared(&photos, &sha, &path).await.map(|_| ()) });
    }
    let source = thumbs.clone().unwrap_or_else(|| video.clone());
    let size = truereel::media::thumbnail_size(e.ports.settings.width, e.ports.settings.height);
    let frames = e.ports.media.sampled_frames(&source, truereel::media::THUMBNAIL_FPS, size).await.unwrap();
    let matched = match_photos(&e.ports, &reel, &all, Some(&frames), scratch.path()).await.unwrap();
    assert!(!matched.others.is_empty(), "other products to match against");
    let cut = ReelCut {
        reel: &reel,
        video,
        references,
        gallery: matched.gallery,
        others: matched.others,
        thumbnails: thumbs,
        captions: Some(blob(&BlobKey::captions(&reel.id))),
        frames: frames.into(),
        photos,
    };
    // Both judges at once, as the evaluate stage runs them, each timed.
    let timed = |judge: &std::sync::Arc<dyn truereel::ports::Judge>| {
        let cut = &cut;
        let judge = judge.clone();
        async move {
            let started = Instant::now();
            let checks = judge.judge(cut).await.unwrap();
            assert!(checks.iter().all(|c| c.passed), "{checks:#?}");
            format!("{} {:.2} s", judge.name(), started.elapsed().as_secs_f64())
        }
    };
    let [spec, product] = &e.ports.judges[..] else { panic!("two judges") };
    let times = if spec_only {
        vec![timed(spec).await]
    } else {
        let (a, b) = tokio::join!(timed(spec), timed(product));
        vec![a, b]
    };
    // One line: the peak, then each judge's time.
    println!("{} MB ({})", (self_peak_rss_kb().max(children_max_rss_kb())) / 1024, times.join(", "));
}

/// The confusion table over the corpus made from `store`'s photos.
async fn measure_corpus(store: &Path, size: Option<&str>) {
    let (w, h) = size
        .and_then(|s| s.split_once('x'))
        .map(|(w, h)| (w.parse().unwrap(), h.parse().unwrap()))
        .unwrap_or((540, 960));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (out, store_path): (PathBuf, PathBuf) = (dir.path().to_path_buf(), store.to_path_buf());
    let clips = tokio::task::spawn_blocking(move || corpus::build(&store_path, &out, (w, h), 3, 2)).await.unwrap();
    let built = started.elapsed().as_secs_f64();
    let judging = Instant::now();
    let judged = corpus::judge(&clips).await;
    for j in judged.iter().filter(|j| j.wrong()) {
        println!("wrong: {}", j.said);
    }
    println!(
        "corpus of {}: {} clips at {w}x{h} ({} faithful) built in {built:.0} s, judged in {:.0} s\n",
        store.display(),
        clips.len(),
        clips.iter().filter(|c| c.kind.faithful()).count(),
        judging.elapsed().as_secs_f64()
    );
    println!("{}", corpus::confusion(&judged));
}

/// `corpus-folder STORE OUT [WxH] [PHOTOS_EACH]`: the corpus of `STORE` built into `OUT` and kept,
/// with its `labels.csv`, for `truereel calibrate` (fit on one store's corpus, check on another's
/// with `--brand`).
fn corpus_folder(args: &[String]) {
    let (store, out) = (Path::new(&args[0]), Path::new(&args[1]));
    let (w, h) = args
        .get(2)
        .and_then(|s| s.split_once('x'))
        .map(|(w, h)| (w.parse().unwrap(), h.parse().unwrap()))
        .unwrap_or((540, 960));
    let each = args.get(3).map_or(2, |n| n.parse().unwrap());
    std::fs::create_dir_all(out).unwrap();
    let clips = corpus::build(store, out, (w, h), 3, each);
    let faithful = clips.iter().filter(|c| c.kind.faithful()).count();
    println!("{} clips ({faithful} faithful) at {w}x{h} in {}", clips.len(), out.display());
}

/// The product-match figures over the corpus made from `store`'s photos: per clip, its frames'
/// worst fit among its own listing's photos and the most another product's photo fits better.
async fn measure_product_match(store: &Path, size: Option<&str>) {
    use truereel::adapters::providers::judge::product_match::{Catalogue, MatchPhoto, frame_matches};
    use truereel::adapters::providers::judge::shots::ShotFrames;
    use truereel_tests::corpus::Kind;
    let (w, h) = size
        .and_then(|s| s.split_once('x'))
        .map(|(w, h)| (w.parse().unwrap(), h.parse().unwrap()))
        .unwrap_or((270, 480));
    let dir = tempfile::tempdir().unwrap();
    let (out, store_path): (PathBuf, PathBuf) = (dir.path().to_path_buf(), store.to_path_buf());
    let clips = tokio::task::spawn_blocking(move || corpus::build(&store_path, &out, (w, h), 3, 2)).await.unwrap();
    let products = corpus::store_photos(store);
    let media = truereel::media::Media::default();
    let started = Instant::now();
    let mut rows: Vec<(Kind, f64, f64, f64)> = Vec::new();
    for (product, photos) in &products {
        let own: Vec<MatchPhoto> =
            photos.iter().map(|p| MatchPhoto::open(p.display().to_string(), p).unwrap()).collect();
        let others: Vec<MatchPhoto> = (products.iter().filter(|(q, _)| q != product))
            .flat_map(|(q, ps)| ps.iter().map(move |p| MatchPhoto::open(q.clone(), p).unwrap()))
            .collect();
        let catalogue = Catalogue { own, others };
        let kinds = |k: Kind| k.faithful() || matches!(k, Kind::OtherProduct | Kind::CutToOther);
        for c in clips.iter().filter(|c| &c.product == product && kinds(c.kind)) {
            let frames = media.sampled_frames(&c.path, 10, (w, h)).await.unwrap();
            let n = frames.len() as u32;
            let shot = ShotFrames {
                index: 0,
                frames: (0..)
                    .zip(frames)
                    .map(|(k, f)| (k * 100, f))
                    .filter(|(t, _)| *t >= 120 && t + 120 < n * 100)
                    .collect(),
            };
            let m = frame_matches(&shot, &catalogue, None);
            let own = m.iter().map(|m| m.own).fold(f64::INFINITY, f64::min);
            let worst = m.iter().max_by(|a, b| a.gain().total_cmp(&b.gain())).unwrap();
            let who = worst.other.as_ref().map(|(f, l)| format!("{l} {f:.2}")).unwrap_or_default();
            let rough = m.iter().map(|m| m.rough_gain).fold(f64::NEG_INFINITY, f64::max);
            println!(
                "{product} {:?}: own at least {own:.2}, other gains {:+.2} ({who}), rough {rough:+.2}",
                c.kind,
                worst.gain()
            );
            rows.push((c.kind, own, worst.gain(), rough));
        }
    }
    let of = |faithful: bool| rows.iter().filter(move |r| r.0.faithful() == faithful);
    let fold = |it: &mut dyn Iterator<Item = f64>, min: bool| {
        it.fold(if min { f64::INFINITY } else { f64::NEG_INFINITY }, |a, b| if min { a.min(b) } else { a.max(b) })
    };
    println!(
        "\nproduct-match over {} clips at {w}x{h}, matched in {:.1} s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  faithful: own fit at least {:.2}; another product gains at most {:+.2} (lined up), {:+.2} (rough)",
        fold(&mut of(true).map(|r| r.1), true),
        fold(&mut of(true).map(|r| r.2), false),
        fold(&mut of(true).map(|r| r.3), false)
    );
    for kind in [Kind::OtherProduct, Kind::CutToOther] {
        let rs: Vec<_> = rows.iter().filter(|r| r.0 == kind).collect();
        println!(
            "  {}: own fit at most {:.2}; another product gains at least {:+.2} (lined up), {:+.2} (rough)",
            kind.name(),
            fold(&mut rs.iter().map(|r| r.1), false),
            fold(&mut rs.iter().map(|r| r.2), true),
            fold(&mut rs.iter().map(|r| r.3), true)
        );
    }
}
