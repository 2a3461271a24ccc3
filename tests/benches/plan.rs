//! Benchmark: plan the sample store and a generated store (offline writer, the configured voice:
//! Piper when set up) through the plan stage's own code, and report products/s, peak memory, and the
//! voice's real-time factor next to the same lines spoken by running `piper` by hand, in the same run.
//!
//! `cargo bench -p truereel-tests --bench plan [-- PRODUCTS...]` (default: the sample store, then 500).
//! Each store is taken in (the crawl, untimed) by one child process and planned by another, so the
//! peak memory reported is planning's alone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use truereel::config::Config;
use truereel::homes::embedded::Embedded;
use truereel::runner::{self, LogProgress, RunOptions};
use truereel_tests::{generated_store, sample_store, self_peak_rss_kb};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    match args.first().map(String::as_str) {
        Some("intake") => return intake(Path::new(&args[1]), Path::new(&args[2])),
        Some("plan") => return plan(&args[1], Path::new(&args[2]), Path::new(&args[3])),
        _ => {}
    }
    let sizes: Vec<String> = if args.is_empty() { vec!["sample".into(), "500".into()] } else { args };
    println!("plan benchmark: offline writer, the configured voice, loudness normalisation");
    for size in sizes {
        let work = tempfile::tempdir().unwrap();
        let store: PathBuf = if size == "sample" {
            sample_store()
        } else {
            generated_store(&work.path().join("store"), size.parse().unwrap());
            work.path().join("store")
        };
        let (store, data) =
            (store.to_string_lossy().to_string(), work.path().join("data").to_string_lossy().to_string());
        for phase in [vec!["intake", &store, &data], vec!["plan", &size, &store, &data]] {
            let out = Command::new(std::env::current_exe().unwrap()).args(phase).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            print!("{}", String::from_utf8_lossy(&out.stdout));
        }
    }
}

/// Takes the store's photos in (the crawl), untimed, in a process of its own.
fn intake(store: &Path, data: &Path) {
    let config = Config::from_env().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let e = Embedded::open_for_runner(data, &config).await.unwrap();
        let locator = std::fs::canonicalize(store).unwrap().to_string_lossy().to_string();
        runner::run_store(&e.ports, &locator, None, None, &RunOptions::default(), Arc::new(LogProgress::default()))
            .await
            .unwrap();
    });
}

/// Plans every product taken in, in a process of its own, so its peak memory is planning's.
fn plan(size: &str, store: &Path, data: &Path) {
    let config = Config::from_env().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let e = Embedded::open_for_runner(data, &config).await.unwrap();
        let locator = std::fs::canonicalize(store).unwrap().to_string_lossy().to_string();
        let options = config.plan_options(&locator).unwrap();
        let products = e.ports.state.list_products().await.unwrap();

        // Two products at a time, as the plan stage's default concurrency (TRUEREEL_CONCURRENCY_PLAN).
        let started = Instant::now();
        let mut lines: Vec<String> = Vec::new();
        let mut speech_ms = 0u64;
        let at_once = config.runner.concurrency[&truereel::ports::Stage::Plan];
        let gate = Arc::new(tokio::sync::Semaphore::new(at_once));
        let mut tasks = tokio::task::JoinSet::new();
        for p in products.clone() {
            let (ports, options, gate) = (e.ports.clone(), options.clone(), gate.clone());
            tasks.spawn(async move {
                let _turn = gate.acquire_owned().await.unwrap();
                let planned = truereel::stages::plan::preview(&ports, &p, &options).await.unwrap();
                (p.handle, planned)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (handle, planned) = done.unwrap();
            for planned in planned {
                let planned = planned.unwrap_or_else(|why| panic!("{handle}: {why}"));
                speech_ms += planned.voice_over.lines.iter().map(|l| u64::from(l.end_ms - l.start_ms)).sum::<u64>();
                lines.extend(planned.plan.shots.iter().map(|s| s.line.clone()).filter(|l| !l.is_empty()));
            }
        }
        let took = started.elapsed().as_secs_f64();
        let n = products.len();
        println!(
            "  {size:>6}: {n} products planned in {took:.1} s ({at_once} at a time), {:.1} products/s; {} lines, {:.0} s of speech ({}); peak memory {} MB",
            n as f64 / took,
            lines.len(),
            speech_ms as f64 / 1000.0,
            e.ports.voice.name(),
            self_peak_rss_kb() / 1024
        );
        voice_rtf(&e, &lines, &config).await;
    });
}

/// Piper's real-time factor through the adapter, beside `piper` run by hand on the same lines.
async fn voice_rtf(e: &Embedded, lines: &[String], config: &Config) {
    let _ = e;
    let piper = truereel::adapters::providers::voice::PiperVoice::from_config(&config.voice, &config.media.scratch);
    let Ok(Some(piper)) = piper else {
        println!("          Piper is not set up (scripts/setup.sh): no real-time factor");
        return;
    };
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let b = piper.bench(&lines[..lines.len().min(20)], 3).await.unwrap();
    println!("          {b}");
}
