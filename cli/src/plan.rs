//! `truereel plan`, `approve` and `reject`: plans to read and listen to before any video is paid for;
//! and `flag`, a person's or a platform's word after it was published.

use crate::{existing_home, locator};
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;
use truereel::config::{Backend, Config};
use truereel::homes::aws as aws_home;
use truereel::homes::embedded::Embedded;
use truereel::ports::BlobStore;
use truereel::printable;
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::stages::{self, Ports, plan::Planned};
use truereel::{ReelId, ReelStatus};

/// Crawls the store (photos only), then plans every listed product's reels and prints them.
pub async fn run(config: &Config, as_json: bool) -> Result<ExitCode> {
    let store = locator(config)?;
    let options = config.plan_options(&store)?;
    let e = Embedded::open_for_runner(&config.data_dir, config).await?;
    e.ports.media.check_available().await.context("truereel needs ffmpeg and ffprobe")?;
    let quiet = Arc::new(LogProgress::default());
    runner::run_store(&e.ports, &store, config.only.clone(), None, &RunOptions::from_config(&config.runner), quiet)
        .await?;
    let wanted = |h: &str| config.only.as_ref().is_none_or(|o| o.iter().any(|x| x == h));
    let mut products: Vec<_> = e
        .ports
        .state
        .list_products()
        .await?
        .into_iter()
        .filter(|p| p.store == store && wanted(p.handle.as_str()))
        .collect();
    products.sort_by(|a, b| a.handle.cmp(&b.handle));
    if products.is_empty() {
        bail!("no products with usable photos in {store} (see `truereel crawl`)");
    }
    let mut failed = 0;
    for product in &products {
        for planned in stages::plan::preview(&e.ports, product, &options).await? {
            match planned {
                Ok(p) if as_json => println!("{}", serde_json::to_string(&reel_json(&p))?),
                Ok(p) => print!("{}", reel_text(&p, &e.blobs.location(&p.voice_over.audio))),
                Err(why) => {
                    failed += 1;
                    if as_json {
                        println!("{}", json!({ "product": product.handle.as_str(), "error": why }));
                    } else {
                        println!("{}: cannot be planned: {}\n", printable(product.handle.as_str()), printable(&why));
                    }
                }
            }
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// One reel as `plan --json` prints it.
fn reel_json(p: &Planned) -> serde_json::Value {
    let starts = p.plan.starts_ms();
    let shots: Vec<_> = p
        .plan
        .shots
        .iter()
        .zip(&p.sources)
        .zip(&starts)
        .map(|((s, source), start)| {
            json!({
                "index": s.index,
                "role": s.role,
                "kind": s.kind,
                "reference": source,
                "motion": s.motion,
                "direction": s.direction,
                "camera": s.camera,
                "line": s.line,
                "start": f64::from(*start) / 1000.0,
                "end": f64::from(start + s.duration_ms) / 1000.0,
            })
        })
        .collect();
    json!({
        "product": p.plan.product.as_str(),
        "reel": p.plan.reel.as_str(),
        "variant": p.plan.variant,
        "language": p.plan.language,
        "duration": f64::from(p.plan.duration_ms()) / 1000.0,
        "shots": shots,
        "notes": p.plan.notes,
        "dropped_claims": p.plan.dropped_claims,
        "suitability": p.plan.suitability,
        "offline_only": p.plan.offline_only,
        "voice": p.voice_over.voice,
        "loudness": p.voice_over.loudness,
        "voice_over": p.voice_over.audio.as_str(),
        "lines": p.voice_over.lines,
    })
}

/// One reel as a table.
fn reel_text(p: &Planned, voice_over: &str) -> String {
    let plan = &p.plan;
    let mut out = format!(
        "{}{} — reel {}, {:.1} s, {} shots, suitability {:.2}\n",
        printable(plan.product.as_str()),
        plan.variant.as_ref().map(|v| format!(" ({})", printable(v))).unwrap_or_default(),
        plan.reel,
        f64::from(plan.duration_ms()) / 1000.0,
        plan.shots.len(),
        plan.suitability.score
    );
    out += &format!(
        "  {:>2}  {:<14} {:<34} {:<10} {:<9} {:>11}  line\n",
        "#", "role", "photo", "kind", "motion", "start–end"
    );
    for (s, (source, start)) in plan.shots.iter().zip(p.sources.iter().zip(plan.starts_ms())) {
        let role = serde_json::to_value(s.role).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let photo: String = printable(source.rsplit('/').next().unwrap_or(source)).chars().take(34).collect();
        out += &format!(
            "  {:>2}  {:<14} {:<34} {:<10} {:<9} {:>5.1}–{:<5.1}  {}\n",
            s.index + 1,
            role,
            photo,
            s.kind.as_str(),
            s.motion.as_str(),
            f64::from(start) / 1000.0,
            f64::from(start + s.duration_ms) / 1000.0,
            printable(&s.line)
        );
    }
    for n in &plan.notes {
        out += &format!("  note: {}\n", printable(n));
    }
    for d in &plan.dropped_claims {
        out += &format!(
            "  dropped from line {}: {:?} ({}): {}\n",
            d.shot + 1,
            printable(&d.claim),
            d.category,
            printable(&d.reason)
        );
    }
    out += &format!("  suitability: {}\n", printable(&plan.suitability.reasons.join("; ")));
    let loud = p.voice_over.loudness.map(|l| format!(", {:.1} LUFS", l.integrated)).unwrap_or_default();
    out += &format!("  voice-over ({}{loud}): {}\n\n", printable(&p.voice_over.voice), printable(voice_over));
    out
}

/// The ports approval works on: the embedded data folder (whose queues this process then drains),
/// or AWS (whose Lambdas go on by themselves).
async fn open(config: &Config, create_resources: bool) -> Result<(Ports, Option<Embedded>)> {
    match config.backend {
        Backend::Embedded => {
            existing_home(config)?;
            let e = Embedded::open_for_runner(&config.data_dir, config).await?;
            Ok((e.ports.clone(), Some(e)))
        }
        Backend::Aws => {
            let ports = aws_home::open(config, create_resources).await.context("setting up the AWS backend")?;
            Ok((ports, None))
        }
    }
}

pub async fn approve(config: &Config, reel: Option<&str>, all: bool, create_resources: bool) -> Result<ExitCode> {
    let (ports, embedded) = open(config, create_resources).await?;
    let ids: Vec<ReelId> = if all {
        ports
            .state
            .list_reels()
            .await?
            .into_iter()
            .filter(|r| r.status == ReelStatus::AwaitingApproval)
            .map(|r| r.id)
            .collect()
    } else {
        vec![ReelId::parse(reel.unwrap_or_default())?]
    };
    if ids.is_empty() {
        println!("no reels are awaiting approval");
        return Ok(ExitCode::SUCCESS);
    }
    for id in &ids {
        println!("{}", printable(&stages::plan::approve(&ports, id).await?));
    }
    finish(config, &ports, embedded, &ids).await
}

pub async fn reject(config: &Config, reel: &str, reason: &str, create_resources: bool) -> Result<ExitCode> {
    let (ports, embedded) = open(config, create_resources).await?;
    let id = ReelId::parse(reel)?;
    println!("{}", printable(&stages::plan::reject(&ports, &id, reason).await?));
    finish(config, &ports, embedded, std::slice::from_ref(&id)).await
}

/// Sends a flag on a published reel; on one machine, runs the safety pass it opens.
pub async fn flag(
    config: &Config,
    reel: &str,
    reason: &str,
    shots: Vec<u32>,
    create_resources: bool,
) -> Result<ExitCode> {
    let (ports, embedded) = open(config, create_resources).await?;
    let id = ReelId::parse(reel)?;
    let detail = truereel::messages::FlagDetail { reel: id.clone(), reason: reason.to_string(), shots };
    let event = stages::flag::request(&ports, detail).await?;
    println!("{}: flag {event} sent", printable(id.as_str()));
    finish(config, &ports, embedded, std::slice::from_ref(&id)).await
}

/// Publishes a parked reel's latest cut over the judge (nothing to run after: it is published).
pub async fn publish(config: &Config, reel: &str, reason: &str, create_resources: bool) -> Result<ExitCode> {
    let (ports, _) = open(config, create_resources).await?;
    let id = ReelId::parse(reel)?;
    println!("{}", printable(&stages::review::publish_parked(&ports, &id, reason).await?));
    Ok(ExitCode::SUCCESS)
}

/// Sends a parked reel's shots back to video; on one machine, runs them and the new cut's judging.
pub async fn regenerate(
    config: &Config,
    reel: &str,
    shots: &[u32],
    reason: &str,
    create_resources: bool,
) -> Result<ExitCode> {
    let (ports, embedded) = open(config, create_resources).await?;
    let id = ReelId::parse(reel)?;
    println!("{}", printable(&stages::review::regenerate_parked(&ports, &id, shots, reason).await?));
    finish(config, &ports, embedded, std::slice::from_ref(&id)).await
}

/// On one machine, runs the queues until nothing is left and prints where each reel ended up.
async fn finish(config: &Config, ports: &Ports, embedded: Option<Embedded>, ids: &[ReelId]) -> Result<ExitCode> {
    let Some(e) = embedded else {
        println!("sent to the queues: the Lambda functions take it from here");
        return Ok(ExitCode::SUCCESS);
    };
    e.ports.media.check_available().await.context("truereel needs ffmpeg and ffprobe")?;
    runner::drain(ports, &RunOptions::from_config(&config.runner), Arc::new(LogProgress::default())).await?;
    let mut ok = true;
    for id in ids {
        let Some(reel) = ports.state.get_reel(id).await? else { continue };
        let place = reel.published.as_ref().map(|k| e.blobs.location(k)).unwrap_or_default();
        println!("{:<44} {:<17} {}", printable(id.as_str()), reel.status.as_str(), printable(&place));
        if let Some(v) = reel.current_version().filter(|_| reel.versions.len() > 1) {
            println!("    version {} (its own file: {})", v.version, printable(&e.blobs.location(&v.file)));
        }
        for r in reel.reasons.iter().filter(|_| reel.status == ReelStatus::NeedsReview) {
            println!("    {}", printable(r));
        }
        if reel.status == ReelStatus::AwaitingApproval {
            for s in &reel.plan.shots {
                println!("    {}. {}", s.index + 1, printable(&s.line));
            }
            println!("    voice-over: {}", printable(&e.blobs.location(&reel.voice_over.audio)));
        }
        ok &= matches!(reel.status, ReelStatus::Published | ReelStatus::AwaitingApproval);
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
