//! `truereel`: run the whole pipeline on one machine (the embedded default), and look at its state.

mod classify;
mod progress;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use truereel::adapters::aws::AwsConfig;
use truereel::config::{Settings, parse_resolution};
use truereel::embedded::Embedded;
use truereel::messages::{CrawlMsg, Message};
use truereel::ports::{BlobStore, Stage};
use truereel::runner::{self, LogProgress, Progress, RunOptions};
use truereel::{Usd, aws_home, report, stages};

#[derive(Parser)]
#[command(name = "truereel", version, about = "Grounded product reels from a store's real photos")]
struct Cli {
    /// Where state, queues and blobs live.
    #[arg(long, global = true, env = "TRUEREEL_DATA_DIR", default_value = "truereel-data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

/// Where the pipeline's state, queues and blobs live.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    /// One machine: SQLite state and queues, blobs in a folder (no account needed).
    Embedded,
    /// AWS: DynamoDB, SQS and S3 (or an emulator with --endpoint-url).
    Aws,
}

/// How to reach the AWS resources (with `--backend aws`).
#[derive(clap::Args)]
struct AwsFlags {
    /// An AWS-compatible endpoint, e.g. a local emulator (http://127.0.0.1:5000).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// Create the bucket, table and queues (with dead-letter queues) first if they are missing.
    #[arg(long)]
    create_resources: bool,
    /// The S3 bucket.
    #[arg(long, env = "TRUEREEL_BUCKET", default_value = "truereel-reels")]
    bucket: String,
    /// The DynamoDB table.
    #[arg(long, env = "TRUEREEL_TABLE", default_value = "truereel")]
    table: String,
    /// Queues are <prefix>-<stage>, dead-letter queues <prefix>-<stage>-dlq.
    #[arg(long, env = "TRUEREEL_QUEUE_PREFIX", default_value = "truereel")]
    queue_prefix: String,
}

#[derive(Subcommand)]
enum Command {
    /// Crawl a store, plan, voice, render, assemble, evaluate and publish a reel per product.
    Run {
        /// A store folder with a Shopify-shaped products.json (images as relative paths).
        #[arg(long, env = "TRUEREEL_STORE")]
        store: PathBuf,
        /// Only these product handles, comma-separated.
        #[arg(long, value_delimiter = ',')]
        only: Option<Vec<String>>,
        /// The most this run may spend on paid calls, in US dollars.
        #[arg(long, env = "TRUEREEL_BUDGET_USD")]
        budget_usd: Option<f64>,
        /// Reel size as WIDTHxHEIGHT (default 1080x1920).
        #[arg(long, env = "TRUEREEL_RESOLUTION")]
        resolution: Option<String>,
        /// Where state, queues and blobs live.
        #[arg(long, value_enum, env = "TRUEREEL_BACKEND", default_value = "embedded")]
        backend: Backend,
        #[command(flatten)]
        aws: AwsFlags,
    },
    /// Show every reel's state, the queues, and recent problems.
    Status,
    /// What one reel costs in AWS fees (video-model fees excluded), and the idle stack per month.
    Costs,
    /// Print the kind of each photo (model_worn, flat or detail) and the confidence, one line each.
    Classify(classify::ClassifyArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    truereel::telemetry::init_text(if std::io::stderr().is_terminal() { "warn" } else { "info" });
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    match rt.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn dispatch(cli: Cli) -> Result<std::process::ExitCode> {
    match cli.command {
        Command::Run { store, only, budget_usd, resolution, backend, aws } => {
            let target = match backend {
                Backend::Embedded => Target::Embedded(&cli.data_dir),
                Backend::Aws => Target::Aws(&aws),
            };
            run(target, &store, only, budget_usd, resolution.as_deref()).await
        }
        Command::Status => status(&cli.data_dir).await.map(|()| std::process::ExitCode::SUCCESS),
        Command::Costs => {
            costs();
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Classify(args) => Ok(classify::run(&args).await),
    }
}

/// The backend a run uses.
enum Target<'a> {
    Embedded(&'a Path),
    Aws(&'a AwsFlags),
}

async fn run(
    target: Target<'_>,
    store: &Path,
    only: Option<Vec<String>>,
    budget_usd: Option<f64>,
    resolution: Option<&str>,
) -> Result<std::process::ExitCode> {
    let mut settings = Settings::from_env()?;
    if let Some(b) = budget_usd {
        if !(b.is_finite() && b >= 0.0) {
            bail!("--budget-usd must be a non-negative number, got {b}");
        }
        settings.budget.per_run = Some(Usd::from_dollars(b));
    }
    if let Some(r) = resolution {
        (settings.width, settings.height) = parse_resolution(r)
            .with_context(|| format!("--resolution {r:?}: expected WIDTHxHEIGHT with even sides"))?;
    }
    let only = match only {
        Some(list) => Some(stages::crawl::parse_only(&list.join(",")).context("--only")?),
        None => None,
    };
    let store = std::fs::canonicalize(store).with_context(|| format!("store folder {}", store.display()))?;
    let store = store.to_string_lossy().to_string();
    let started = settings.run_started_ms;

    // The embedded home holds the data folder's lock for as long as it lives.
    let (ports, _embedded, public) = match target {
        Target::Embedded(data_dir) => {
            let e = Embedded::open_for_runner(data_dir, settings).await?;
            let public = e.blobs.root().join("public").display().to_string();
            (e.ports.clone(), Some(e), public)
        }
        Target::Aws(flags) => {
            let mut config = AwsConfig::named(&flags.bucket, &flags.table, &flags.queue_prefix);
            config.endpoint_url = flags.endpoint_url.clone().or(config.endpoint_url);
            let ports = aws_home::open(&config, settings, flags.create_resources)
                .await
                .context("setting up the AWS backend")?;
            (ports, None, format!("s3://{}/public/", config.bucket))
        }
    };
    ports.media.check_available().await.context("truereel needs ffmpeg and ffprobe")?;
    let first = Message::from(CrawlMsg::Store { store: store.clone(), only: only.clone() });
    ports.queue.send(Stage::Crawl, &first.to_json(), Duration::ZERO).await?;

    let progress: Arc<dyn Progress> =
        if std::io::stderr().is_terminal() { Arc::new(progress::Bars::new()) } else { Arc::new(LogProgress) };
    let drained = runner::drain(&ports, &RunOptions::from_env(), progress.clone()).await?;
    drop(progress);
    tracing::info!(?drained, "Queues drained.");

    let rows = report::summary(&ports, &store, only.as_deref(), started).await?;
    print!("{}", report::table(&rows));
    let published = rows.iter().filter(|r| r.published).count();
    println!("\n{published} of {} reels published; watch them in {public}", rows.len());
    Ok(if published == rows.len() && !rows.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(2)
    })
}

fn costs() {
    use truereel::costs::{FixedUsage, PriceList, Usage, estimate, estimate_fixed};
    let prices = PriceList::US_EAST_1;
    println!("AWS cost of one reel (the sample store's pullover-hoodie: 4 shots, 15.5 s), us-east-1 list prices,");
    println!("free tiers excluded, video-model and voice fees excluded (those are in the ledger):\n");
    println!("{}", estimate(&Usage::reference_reel(), &prices));
    println!("The stack itself, per month with no reels:\n");
    println!("{}", estimate_fixed(&FixedUsage::reference_stack(), &prices));
    println!("The model and its counts are documented in shared/src/costs.rs and docs/deploy.md.");
}

async fn status(data_dir: &Path) -> Result<()> {
    if !data_dir.join("state.sqlite").exists() {
        bail!("{} holds no truereel state yet (run `truereel run` first)", data_dir.display());
    }
    let e = Embedded::open(data_dir, Settings::from_env()?)?;
    let reels = e.ports.state.list_reels().await?;
    println!("{:<44} {:<13} {:>5} {:>5} {:>9}  published", "reel", "status", "round", "shots", "duration");
    for r in &reels {
        let file = r.published.as_ref().and_then(|k| e.blobs.local_path(k)).map(|p| p.display().to_string());
        println!(
            "{:<44} {:<13} {:>5} {:>5} {:>7.1} s  {}",
            r.id.as_str(),
            r.status.as_str(),
            r.round,
            r.plan.shots.len(),
            r.plan.duration_ms() as f64 / 1000.0,
            file.unwrap_or_else(|| "-".into())
        );
        if !r.reasons.is_empty() {
            println!("    needs review: {}", r.reasons.join("; "));
        }
    }
    println!();
    for stage in Stage::ALL {
        let d = e.ports.queue.depth(stage).await?;
        println!(
            "queue {:<9} visible {:>3}  delayed {:>3}  in flight {:>3}  dead letters {:>3}",
            stage.as_str(),
            d.visible,
            d.delayed,
            d.in_flight,
            d.dead
        );
    }
    let issues = e.ports.state.issues_since(0).await?;
    if !issues.is_empty() {
        println!("\nrecent problems:");
        for i in issues.iter().rev().take(20) {
            println!("  {} [{}{}] {}", i.product, i.stage, if i.fatal { ", failed" } else { "" }, i.message);
        }
    }
    Ok(())
}
