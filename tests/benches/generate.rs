//! Benchmark: N products × 4 shots through the real generate and mirror stages against the loopback
//! Runway stub, whose jobs take 2 s, with a shared limit of 20 jobs at once.
//!
//! `cargo bench -p truereel-tests --bench generate [-- PRODUCTS [chain]]` (default 100; the issue's
//! figure is 500). With `chain`, a second provider joins the chain behind Runway: the Kling stub,
//! whose jobs take 3 s, with a limit of 10; a shot goes to whichever has a free slot first, and the
//! ideal is the sum of both (20 / 3 s + 10 / 4 s). The products are taken in and planned first (espeak-ng, 15 s reels of 4 shots, untimed),
//! each reel stopping for approval; then all are approved at once and the clock runs until every
//! clip is mirrored. Reports jobs/s against the ideal, 20 jobs per (2 s + the first poll wait), the
//! most jobs the stub saw running at once, the runner's peak memory, and how many reels were
//! assembled meanwhile (assembly runs alongside on the same cores, as it would, taking turns
//! behind the clips).

use std::sync::Arc;
use std::time::{Duration, Instant};
use truereel::adapters::providers::video::{KlingVideo, RunwayVideo, StillMotionVideo};
use truereel::homes::embedded::Embedded;
use truereel::messages::PlanOptions;
use truereel::ports::{VideoModel, VideoModels};
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::testing::{KlingStub, RunwayStub, Script};
use truereel::{ReelStatus, Usd};
use truereel_tests::{generated_store, self_peak_rss_kb, small_config};

const LIMIT: u32 = 20;
const JOB: Duration = Duration::from_secs(2);
const KLING_LIMIT: u32 = 10;
const KLING_JOB: Duration = Duration::from_secs(3);
const FIRST_POLL: Duration = Duration::from_secs(1);

fn main() {
    truereel::allocator::limit_arenas();
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100);
    let two = std::env::args().any(|a| a == "chain");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let work = tempfile::tempdir().unwrap();
        let store = work.path().join("store");
        generated_store(&store, n);
        let mut config = small_config();
        config.voice.engine = truereel::config::VoiceEngine::Espeak;
        config.settings.budget.per_reel = Usd::from_dollars(100.0);
        let mut e = Embedded::open_for_runner(&work.path().join("data"), &config).await.unwrap();
        let locator = std::fs::canonicalize(&store).unwrap().to_string_lossy().to_string();
        let quiet = Arc::new(LogProgress::default());
        let mut options = RunOptions::default();
        options.concurrency.insert(truereel::ports::Stage::Generate, 32);
        options.concurrency.insert(truereel::ports::Stage::Mirror, 8);
        let plan = PlanOptions { approve: true, length_ms: Some(15_000), ..PlanOptions::default() };
        runner::run_store(&e.ports, &locator, None, Some(plan), &options, quiet.clone()).await.unwrap();

        let planned_peak = self_peak_rss_kb();
        let stub = RunwayStub::start().await;
        stub.always(Script::Timed(JOB));
        // The stub shares this process: what it would keep of every request is not the runner's.
        stub.keep_records(false);
        let mut runway = stub.config();
        runway.poll_interval = FIRST_POLL;
        let model: Arc<dyn VideoModel> = Arc::new(RunwayVideo::new(&runway, Duration::from_secs(30)).unwrap());
        let offline = StillMotionVideo::new(e.ports.blobs.clone(), Usd::ZERO);
        let kling = KlingStub::start().await;
        kling.always(truereel::testing::kling::Script::Timed(KLING_JOB));
        kling.keep_records(false);
        let mut chain = vec![(model, Some(LIMIT))];
        if two {
            let mut k = kling.config();
            k.api.poll_interval = FIRST_POLL;
            let second: Arc<dyn VideoModel> = Arc::new(KlingVideo::new(&k, Duration::from_secs(30)).unwrap());
            chain.push((second, Some(KLING_LIMIT)));
        }
        chain.push((Arc::new(offline), None));
        e.ports.video = VideoModels::chain(chain);
        let reels = e.ports.state.list_reels().await.unwrap();
        let shots: usize = reels.iter().map(|r| r.plan.shots.len()).sum();
        assert!(reels.iter().all(|r| r.status == ReelStatus::AwaitingApproval));

        let started = Instant::now();
        for r in &reels {
            truereel::stages::plan::approve(&e.ports, &r.id).await.unwrap();
        }
        let ports = e.ports.clone();
        let drain = tokio::spawn(async move { runner::drain(&ports, &options, quiet).await });
        let mut downloaded_at = None;
        let mut submitted_at = None;
        let clips_done = loop {
            if downloaded_at.is_none() && stub.downloads() + kling.downloads() >= shots {
                downloaded_at = Some(started.elapsed());
            }
            if submitted_at.is_none() && stub.submissions() + kling.submissions() >= shots {
                submitted_at = Some(started.elapsed());
            }
            let mut stored = 0;
            for r in &reels {
                stored += e.ports.state.clips(&r.id).await.unwrap().len();
            }
            if stored >= shots {
                break started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(3600), "{stored} of {shots} clips after an hour");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        // Assembly takes turns behind the clips: how far it got meanwhile.
        let mut assembled = 0;
        for r in &reels {
            let status = e.ports.state.get_reel(&r.id).await.unwrap().unwrap().status;
            assembled += usize::from(!matches!(status, ReelStatus::Planned | ReelStatus::Generating));
        }
        drain.abort();
        // What the submissions beyond one per shot were: new attempts after the judge refused an
        // assembled reel's shot (the stubs' clips are not the product), or a job paid twice.
        let ledger = e.ports.state.ledger(None).await.unwrap();
        let charges: Vec<_> = ledger.iter().filter(|l| l.usd > Usd::ZERO && l.shot.is_some()).collect();
        let retries = charges.iter().filter(|l| l.attempt.unwrap_or(1) > 1).count();
        let mut jobs: Vec<(String, Option<u32>, Option<u32>)> =
            charges.iter().map(|l| (l.reel.to_string(), l.shot, l.attempt)).collect();
        jobs.sort();
        let before = jobs.len();
        jobs.dedup();
        let achieved = shots as f64 / clips_done.as_secs_f64();
        let mut ideal = f64::from(LIMIT) / (JOB + FIRST_POLL).as_secs_f64();
        if two {
            ideal += f64::from(KLING_LIMIT) / (KLING_JOB + FIRST_POLL).as_secs_f64();
            println!(
                "chain: runway ({LIMIT} at once, {} s jobs) then kling ({KLING_LIMIT} at once, {} s jobs); jobs made: \
                 runway {}, kling {}",
                JOB.as_secs(),
                KLING_JOB.as_secs(),
                stub.submissions(),
                kling.submissions()
            );
        }
        println!(
            "generate benchmark: {n} products, {shots} jobs of {} s, limit {LIMIT} at once, first poll after {} s",
            JOB.as_secs(),
            FIRST_POLL.as_secs()
        );
        println!(
            "  every clip mirrored in {:.1} s: {achieved:.2} jobs/s against an ideal {ideal:.2} = {:.2} of ideal",
            clips_done.as_secs_f64(),
            achieved / ideal
        );
        if let Some(at) = submitted_at {
            println!("  every job submitted by {:.1} s", at.as_secs_f64());
        }
        if let Some(at) = downloaded_at {
            let rate = shots as f64 / at.as_secs_f64();
            println!(
                "  every clip downloaded by {:.1} s: {rate:.2} jobs/s = {:.2} of ideal",
                at.as_secs_f64(),
                rate / ideal
            );
        }
        println!("  reels assembled meanwhile, on the same cores: {assembled} of {}", reels.len());
        println!(
            "  charges {} for {} distinct shot attempts (paid twice: {}); new attempts after the judge: {retries}",
            before,
            jobs.len(),
            before - jobs.len()
        );
        println!(
            "  submissions {} (one per shot: {}), most running at once on runway {} (limit {LIMIT}); peak memory {} MB",
            stub.submissions() + kling.submissions(),
            stub.submissions() + kling.submissions() == shots,
            stub.max_running(),
            self_peak_rss_kb() / 1024
        );
        println!("  (peak memory after taking in and planning, before the clock: {} MB)", planned_peak / 1024);
    });
}
