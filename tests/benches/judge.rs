//! Benchmark and measurement of the local judge. `cargo bench -p truereel-tests --bench judge`:
//! one sample product's 15 s 1080x1920 reel made by the embedded pipeline, then judged the way
//! the evaluate stage judges it (from the assembly's thumbnails) and from the reel alone (sampled
//! from the video), each in a child process, next to decoding the reel with ffmpeg alone; seconds
//! and peak memory. `-- corpus STORE [WxH]`: the judge's confusion table over the corpus made from a
//! store folder's photos (`../shared/fixtures`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use truereel::BlobKey;
use truereel::config::Config;
use truereel::homes::embedded::Embedded;
use truereel::ports::ReelCut;
use truereel_tests::corpus;
use truereel_tests::{children_max_rss_kb, drain_store, sample_store, self_peak_rss_kb};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    match args.first().map(String::as_str) {
        Some("corpus") => rt.block_on(measure_corpus(Path::new(&args[1]), args.get(2).map(String::as_str))),
        Some("child") => rt.block_on(child(Path::new(&args[1]), args[2] == "thumbnails")),
        Some("decode") => decode(Path::new(&args[1])),
        _ => speed(&rt),
    }
}

/// Makes the reel, then times the judge both ways and ffmpeg's decode.
fn speed(rt: &tokio::runtime::Runtime) {
    let data = tempfile::tempdir().unwrap();
    let reel = rt.block_on(async {
        let e = Embedded::open_for_runner(data.path(), &Config::default()).await.unwrap();
        drain_store(&e, &sample_store(), Some(&["pullover-hoodie"])).await;
        e.ports.state.list_reels().await.unwrap().remove(0)
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
    println!("judge benchmark: {} ({} shots, 15 s at 1080x1920)", reel.id, reel.plan.shots.len());
    println!("  ffmpeg decode of the reel alone:   {decode_s:.2} s, peak {decode_mb}");
    println!(
        "  judge from the thumbnails:         {thumbs_s:.2} s ({:.2}x the decode), peak {thumbs_mb}",
        thumbs_s / decode_s
    );
    println!(
        "  judge from the reel alone:         {video_s:.2} s ({:.2}x the decode), peak {video_mb}",
        video_s / decode_s
    );
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
async fn child(data: &Path, thumbnails: bool) {
    let e = Embedded::open(data, &Config::default()).unwrap();
    let reel = e.ports.state.list_reels().await.unwrap().remove(0);
    let blob = |k: &BlobKey| e.ports.blobs.local_path(k).unwrap();
    let references: Vec<_> = e
        .ports
        .state
        .references(&reel.product)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let p = blob(&r.blob);
            (r, p)
        })
        .collect();
    let thumbs = thumbnails.then(|| blob(&BlobKey::reel_thumbnails(&reel.id, reel.round)));
    let cut = ReelCut {
        reel: &reel,
        video: blob(&BlobKey::reel_video(&reel.id, reel.round)),
        references,
        thumbnails: thumbs,
    };
    let checks = e.ports.judge.judge(&cut).await.unwrap();
    assert!(checks.iter().all(|c| c.passed), "{checks:#?}");
    println!("{} MB", (self_peak_rss_kb().max(children_max_rss_kb())) / 1024);
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
