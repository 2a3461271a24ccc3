//! Benchmark: one sample product's reel through the embedded pipeline, against the same shots and
//! assembly done by a hand-written ffmpeg script, in the same run. Prints the time ratio and peak
//! memory. `cargo bench -p truereel-tests --bench reel [-- PRODUCT]`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use truereel::config::Config;
use truereel::homes::embedded::Embedded;
use truereel::ports::BlobStore;
use truereel::{Motion, Reel};
use truereel_tests::{children_max_rss_kb, drain_store, drain_store_with, sample_store, self_peak_rss_kb};

fn main() {
    truereel::allocator::limit_arenas();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if args.first().map(String::as_str) == Some("baseline") {
        // Child mode: run the hand-written script for the reel planned in `data`.
        let data = PathBuf::from(&args[1]);
        let out = PathBuf::from(&args[2]);
        let started = Instant::now();
        baseline(&data, &out);
        println!("{} {}", started.elapsed().as_secs_f64(), children_max_rss_kb());
        return;
    }
    let product = args.first().cloned().unwrap_or_else(|| "pullover-hoodie".into());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let data = tempfile::tempdir().unwrap();

    let started = Instant::now();
    let reel = rt.block_on(async {
        let e = Embedded::open_for_runner(data.path(), &Config::default()).await.unwrap();
        drain_store(&e, &sample_store(), Some(&[product.as_str()])).await;
        let reels = e.ports.state.list_reels().await.unwrap();
        assert_eq!(reels.len(), 1, "the product {product} has one reel");
        reels.into_iter().next().unwrap()
    });
    let pipeline_s = started.elapsed().as_secs_f64();
    let pipeline_rss = (self_peak_rss_kb(), children_max_rss_kb());
    assert_eq!(reel.status, truereel::ReelStatus::Published, "{:?}", reel.reasons);

    // The same reel again from its approved plan: the photos taken in and the voice-over made and
    // normalised first, untimed, as the single pass is given its photos and its voice; then timed
    // from the approval to the published reel (render, assembly, judging, publishing).
    let again = tempfile::tempdir().unwrap();
    let rendered_s = rt.block_on(async {
        let e = Embedded::open_for_runner(again.path(), &Config::default()).await.unwrap();
        let planning = truereel::messages::PlanOptions { approve: true, ..Default::default() };
        drain_store_with(&e, &sample_store(), Some(&[product.as_str()]), planning).await;
        let planned = e.ports.state.list_reels().await.unwrap().remove(0);
        let started = Instant::now();
        truereel::stages::plan::approve(&e.ports, &planned.id).await.unwrap();
        let progress = std::sync::Arc::new(truereel::runner::LogProgress::default());
        truereel::runner::drain(&e.ports, &truereel::runner::RunOptions::default(), progress).await.unwrap();
        let done = e.ports.state.get_reel(&planned.id).await.unwrap().unwrap();
        assert_eq!(done.status, truereel::ReelStatus::Published, "{:?}", done.reasons);
        started.elapsed().as_secs_f64()
    });

    let out = data.path().join("baseline.mp4");
    let child =
        Command::new(std::env::current_exe().unwrap()).arg("baseline").arg(data.path()).arg(&out).output().unwrap();
    assert!(child.status.success(), "baseline failed: {}", String::from_utf8_lossy(&child.stderr));
    let text = String::from_utf8_lossy(&child.stdout);
    let mut parts = text.split_whitespace();
    let baseline_s: f64 = parts.next().unwrap().parse().unwrap();
    let baseline_rss: u64 = parts.next().unwrap().parse().unwrap();

    // The one-command baseline: `single-pass-reel.sh` (kept beside this file, from the project's
    // reference) over the reel's first four photos and its voice-over.
    let (single_s, single_rss) = single_pass(data.path(), &reel);

    println!(
        "reel benchmark: {product}, {} shots, {:.1} s of video at 1080x1920",
        reel.plan.shots.len(),
        reel.plan.duration_ms() as f64 / 1000.0
    );
    println!("  pipeline (embedded, all five stages): {pipeline_s:.2} s");
    println!("  hand-written ffmpeg script:           {baseline_s:.2} s");
    println!("  ratio pipeline / script:              {:.2}x (target <= 1.30x)", pipeline_s / baseline_s);
    println!("  single-pass ffmpeg command:           {single_s:.2} s (largest child {} MB)", single_rss / 1024);
    println!("  ratio pipeline / single pass:         {:.2}x (target <= 1.30x)", pipeline_s / single_s);
    println!("  from the approved plan (voice made):  {rendered_s:.2} s");
    println!("  ratio from the plan / single pass:    {:.2}x", rendered_s / single_s);
    println!(
        "  peak memory: pipeline process {} MB, largest child (ffmpeg) {} MB; script's largest child {} MB",
        pipeline_rss.0 / 1024,
        pipeline_rss.1 / 1024,
        baseline_rss / 1024
    );
}

/// Runs the single-pass baseline on the reel's first four photos (repeated when it has fewer) and
/// its stored voice-over; its wall time and its ffmpeg's peak memory.
fn single_pass(data: &Path, reel: &Reel) -> (f64, u64) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (photos, voice) = rt.block_on(async {
        let e = Embedded::open(data, &Config::default()).unwrap();
        let refs = e.ports.state.references(&reel.product).await.unwrap();
        let photos: Vec<PathBuf> = reel
            .plan
            .shots
            .iter()
            .map(|s| e.blobs.local_path(&refs.iter().find(|r| r.sha256 == s.reference).unwrap().blob).unwrap())
            .collect();
        (photos, e.blobs.local_path(&reel.voice_over.audio).unwrap())
    });
    let four: Vec<&PathBuf> = photos.iter().cycle().take(4).collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/single-pass-reel.sh");
    let out = data.join("single-pass.mp4");
    let started = Instant::now();
    let status = Command::new("bash").arg(&script).arg(&out).arg(&voice).args(&four).status().unwrap();
    assert!(status.success(), "the single-pass command failed");
    (started.elapsed().as_secs_f64(), children_max_rss_kb())
}

/// The same work by hand: voice each line, render each shot with one zoompan command, mix the
/// voice, then one assembly command with the captions the pipeline wrote.
fn baseline(data: &Path, out: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (reel, photos): (Reel, Vec<PathBuf>) = rt.block_on(async {
        let e = Embedded::open(data, &Config::default()).unwrap();
        let reel = e.ports.state.list_reels().await.unwrap().remove(0);
        let refs = e.ports.state.references(&reel.product).await.unwrap();
        let photos = reel
            .plan
            .shots
            .iter()
            .map(|s| e.blobs.local_path(&refs.iter().find(|r| r.sha256 == s.reference).unwrap().blob).unwrap())
            .collect();
        (reel, photos)
    });
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let starts = reel.plan.starts_ms();
    let mut mix = vec!["-y".to_string(), "-loglevel".into(), "error".into()];
    let mut filter = String::new();
    for (i, (shot, photo)) in reel.plan.shots.iter().zip(&photos).enumerate() {
        let wav = w.join(format!("line{i}.wav"));
        run("espeak-ng", &["-v", "en-us", "-s", "165", "-w", wav.to_str().unwrap(), &shot.line]);
        mix.extend(["-i".into(), wav.to_string_lossy().to_string()]);
        filter.push_str(&format!("[{i}:a]adelay={}|{}[a{i}];", starts[i] + 250, starts[i] + 250));

        let frames = (shot.duration_ms as u64 * 30).div_ceil(1000);
        let z = match shot.motion {
            Motion::PushIn => format!("1+0.12*on/{frames}"),
            Motion::PullOut => format!("1.12-0.12*on/{frames}"),
            _ => "1.3".to_string(),
        };
        let (x, y) = match shot.motion {
            Motion::PanRight => (format!("(iw-iw/zoom)*on/{frames}"), "ih/2-(ih/zoom/2)".to_string()),
            Motion::PanLeft => (format!("(iw-iw/zoom)*(1-on/{frames})"), "ih/2-(ih/zoom/2)".to_string()),
            Motion::TiltDown => ("iw/2-(iw/zoom/2)".to_string(), format!("(ih-ih/zoom)*on/{frames}")),
            Motion::TiltUp => ("iw/2-(iw/zoom/2)".to_string(), format!("(ih-ih/zoom)*(1-on/{frames})")),
            _ => ("iw/2-(iw/zoom/2)".to_string(), "ih/2-(ih/zoom/2)".to_string()),
        };
        let vf = format!(
            "scale=2160:3840:force_original_aspect_ratio=decrease,pad=2160:3840:(ow-iw)/2:(oh-ih)/2:white,\
             zoompan=z='{z}':x='{x}':y='{y}':d={frames}:s=1080x1920:fps=30,setsar=1,format=yuv420p"
        );
        let clip = w.join(format!("shot{i}.mp4"));
        run(
            "ffmpeg",
            &[
                "-y",
                "-loglevel",
                "error",
                "-i",
                photo.to_str().unwrap(),
                "-vf",
                &vf,
                "-frames:v",
                &frames.to_string(),
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "20",
                clip.to_str().unwrap(),
            ],
        );
    }
    let n = reel.plan.shots.len();
    for i in 0..n {
        filter.push_str(&format!("[a{i}]"));
    }
    filter.push_str(&format!("amix=inputs={n}:normalize=0[a]"));
    let voice = w.join("voice.wav");
    let total = format!("{:.3}", reel.plan.duration_ms() as f64 / 1000.0);
    mix.extend([
        "-filter_complex".into(),
        filter,
        "-map".into(),
        "[a]".into(),
        "-t".into(),
        total.clone(),
        voice.to_string_lossy().to_string(),
    ]);
    run("ffmpeg", &mix.iter().map(String::as_str).collect::<Vec<_>>());

    let captions = data.join(format!("blobs/reels/{}/captions.ass", reel.id));
    let mut args: Vec<String> = vec!["-y".into(), "-loglevel".into(), "error".into()];
    let mut graph = String::new();
    for (i, shot) in reel.plan.shots.iter().enumerate() {
        args.extend(["-i".into(), w.join(format!("shot{i}.mp4")).to_string_lossy().to_string()]);
        graph.push_str(&format!(
            "[{i}:v]trim=duration={:.3},setpts=PTS-STARTPTS[v{i}];",
            shot.duration_ms as f64 / 1000.0
        ));
    }
    args.extend(["-i".into(), voice.to_string_lossy().to_string()]);
    for i in 0..n {
        graph.push_str(&format!("[v{i}]"));
    }
    graph.push_str(&format!("concat=n={n}:v=1:a=0,ass={}[v]", captions.display()));
    args.extend([
        "-filter_complex".into(),
        graph,
        "-map".into(),
        "[v]".into(),
        "-map".into(),
        format!("{n}:a"),
        "-c:v".into(),
        "libx264".into(),
        "-preset".into(),
        "veryfast".into(),
        "-crf".into(),
        "20".into(),
        "-pix_fmt".into(),
        "yuv420p".into(),
        "-c:a".into(),
        "aac".into(),
        "-b:a".into(),
        "128k".into(),
        "-t".into(),
        total,
        "-movflags".into(),
        "+faststart".into(),
        out.to_string_lossy().to_string(),
    ]);
    run("ffmpeg", &args.iter().map(String::as_str).collect::<Vec<_>>());
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}
