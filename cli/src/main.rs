//! `truereel`: run the whole pipeline on one machine (the embedded default), and look at its state.

mod classify;
mod progress;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use truereel::adapters::aws::{
    AwsConfig,
    meter::{self, Meter},
};
use truereel::config::{Settings, parse_resolution};
use truereel::costs::{FixedUsage, MeasuredRun, PriceList, estimate, estimate_fixed};
use truereel::homes::aws as aws_home;
use truereel::homes::embedded::Embedded;
use truereel::messages::{CrawlMsg, Message};
use truereel::ports::{BlobStore, Stage};
use truereel::runner::{self, LogProgress, Progress, RunOptions};
use truereel::{Usd, report, stages};

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

/// Which store to read, and how.
#[derive(clap::Args)]
struct StoreArgs {
    /// A storefront URL (Shopify, WooCommerce, or any shop with a sitemap and product JSON-LD; a
    /// single product page works too) or a folder with a Shopify-shaped products.json.
    #[arg(long, env = "TRUEREEL_STORE")]
    store: String,
    /// The platform of a storefront URL, instead of detecting it.
    #[arg(long, value_enum)]
    platform: Option<PlatformArg>,
    /// Only these product handles, comma-separated.
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<String>>,
    /// Let the crawler reach private and loopback addresses (an intranet store, a local test
    /// server). Cloud metadata addresses stay refused.
    #[arg(long, env = "TRUEREEL_ALLOW_PRIVATE_NETWORK")]
    allow_private_network: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PlatformArg {
    Shopify,
    Woocommerce,
    Sitemap,
    Page,
}

impl StoreArgs {
    /// The store locator the stages read: a canonical folder path, or the URL with a forced
    /// platform as its fragment.
    fn locator(&self) -> Result<String> {
        let store = self.store.trim();
        let is_url = store.starts_with("http://") || store.starts_with("https://");
        if !is_url && store.contains("://") {
            bail!("--store {store}: a store is an http(s) URL or a folder");
        }
        if !is_url {
            if self.platform.is_some() {
                bail!("--platform is for storefront URLs; {store} is a folder");
            }
            let path = std::fs::canonicalize(store).with_context(|| format!("store folder {store}"))?;
            return Ok(path.to_string_lossy().to_string());
        }
        Ok(match self.platform {
            None => store.to_string(),
            Some(p) => {
                let name = match p {
                    PlatformArg::Shopify => "shopify",
                    PlatformArg::Woocommerce => "woocommerce",
                    PlatformArg::Sitemap => "sitemap",
                    PlatformArg::Page => "page",
                };
                format!("{}#platform={name}", store.split('#').next().unwrap_or(store))
            }
        })
    }
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
        #[command(flatten)]
        store: StoreArgs,
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
        /// With --backend aws: count every AWS call, the handlers' time and the bucket's bytes, write
        /// the measurement to this JSON file and print what one reel cost (see `truereel costs --run`).
        #[arg(long)]
        meter: Option<PathBuf>,
    },
    /// Crawl a store only: take in every product's photos, classify them and print what was found
    /// per product (nothing is planned or rendered).
    Crawl {
        #[command(flatten)]
        store: StoreArgs,
        /// Where state, queues and blobs live.
        #[arg(long, value_enum, env = "TRUEREEL_BACKEND", default_value = "embedded")]
        backend: Backend,
        #[command(flatten)]
        aws: AwsFlags,
    },
    /// Show every reel's state, the queues, and recent problems.
    Status,
    /// What one reel costs in AWS fees (video-model fees excluded), and the idle stack per month.
    Costs {
        /// A measurement written by `truereel run --backend aws --meter FILE` (default: the sample
        /// store's, measured on the emulator and kept in the repo).
        #[arg(long)]
        run: Option<PathBuf>,
    },
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
        Command::Run { store, budget_usd, resolution, backend, aws, meter } => {
            let target = match backend {
                Backend::Embedded if meter.is_some() => bail!("--meter measures AWS calls: use it with --backend aws"),
                Backend::Embedded => Target::Embedded(&cli.data_dir),
                Backend::Aws => Target::Aws(&aws, meter.as_deref()),
            };
            run(target, &store, budget_usd, resolution.as_deref(), false).await
        }
        Command::Crawl { store, backend, aws } => {
            let target = match backend {
                Backend::Embedded => Target::Embedded(&cli.data_dir),
                Backend::Aws => Target::Aws(&aws, None),
            };
            run(target, &store, None, None, true).await
        }
        Command::Status => status(&cli.data_dir).await.map(|()| std::process::ExitCode::SUCCESS),
        Command::Costs { run } => costs(run.as_deref()).map(|()| std::process::ExitCode::SUCCESS),
        Command::Classify(args) => Ok(classify::run(&args).await),
    }
}

/// The backend a run uses.
enum Target<'a> {
    Embedded(&'a Path),
    Aws(&'a AwsFlags, Option<&'a Path>),
}

/// A metered AWS run: the meter, the unmetered SDK configuration (for the bucket listing), where
/// the measurement goes.
struct Metering {
    meter: Meter,
    unmetered: aws_config::SdkConfig,
    config: AwsConfig,
    file: PathBuf,
}

/// Runs the pipeline (or with `crawl_only`, the crawl alone) over a store and prints what came of it.
async fn run(
    target: Target<'_>,
    args: &StoreArgs,
    budget_usd: Option<f64>,
    resolution: Option<&str>,
    crawl_only: bool,
) -> Result<std::process::ExitCode> {
    let mut settings = Settings::from_env()?;
    settings.fetch.allow_private_network |= args.allow_private_network;
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
    let only = match &args.only {
        Some(list) => Some(stages::crawl::parse_only(&list.join(",")).context("--only")?),
        None => None,
    };
    let store = args.locator()?;
    let started = settings.run_started_ms;

    // The embedded home holds the data folder's lock for as long as it lives.
    let (ports, _embedded, public, metering) = match target {
        Target::Embedded(data_dir) => {
            let e = Embedded::open_for_runner(data_dir, settings).await?;
            let public = e.blobs.root().join("public").display().to_string();
            (e.ports.clone(), Some(e), public, None)
        }
        Target::Aws(flags, meter_file) => {
            let mut config = AwsConfig::named(&flags.bucket, &flags.table, &flags.queue_prefix);
            config.endpoint_url = flags.endpoint_url.clone().or(config.endpoint_url);
            let unmetered = config.sdk_config().await;
            let meter = Meter::new();
            let sdk = if meter_file.is_some() { meter.wrap(&unmetered) } else { unmetered.clone() };
            let ports = aws_home::open_with(&sdk, &config, settings, flags.create_resources)
                .await
                .context("setting up the AWS backend")?;
            // Set-up (resources, queue look-ups) happens once per deployment or cold start, not per reel.
            meter.reset();
            let public = format!("s3://{}/public/", config.bucket);
            let metering = meter_file.map(|f| Metering { meter, unmetered, config, file: f.to_path_buf() });
            (ports, None, public, metering)
        }
    };
    ports.media.check_available().await.context("truereel needs ffmpeg and ffprobe")?;
    let first = Message::from(CrawlMsg::Store { store: store.clone(), only: only.clone(), crawl_only });
    ports.queue.send(Stage::Crawl, &first.to_json(), Duration::ZERO).await?;

    let progress: Arc<dyn Progress> =
        if std::io::stderr().is_terminal() { Arc::new(progress::Bars::new()) } else { Arc::new(LogProgress) };
    let drained = runner::drain(&ports, &RunOptions::from_env(), progress.clone()).await?;
    drop(progress);
    tracing::info!(?drained, "Queues drained.");

    if crawl_only {
        let rows = report::crawl_summary(&ports, &store, only.as_deref(), started).await?;
        print!("{}", report::crawl_table(&rows));
        let ok = rows.iter().filter(|r| r.kinds.iter().sum::<usize>() > 0).count();
        let photos: usize = rows.iter().map(|r| r.kinds.iter().sum::<usize>()).sum();
        println!("\n{ok} of {} products have usable photos ({photos} photos)", rows.len());
        return Ok(if ok == rows.len() && !rows.is_empty() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::from(2)
        });
    }
    let rows = report::summary(&ports, &store, only.as_deref(), started).await?;
    print!("{}", report::table(&rows));
    let published = rows.iter().filter(|r| r.published).count();
    println!("\n{published} of {} reels published; watch them in {public}", rows.len());
    if let Some(m) = metering {
        let place = m.config.endpoint_url.as_deref().unwrap_or("AWS");
        let build = if cfg!(debug_assertions) { "debug" } else { "release" };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let name = Path::new(&store).file_name().map_or(store.clone(), |n| n.to_string_lossy().to_string());
        let what = format!("store {name}, {} products, against {place}, {build} build on {cores} cores", rows.len());
        let run = meter::measured_run(&what, &m.meter, &m.unmetered, &m.config, &ports, &drained)
            .await
            .map_err(|e| anyhow::anyhow!("measuring the run: {e}"))?;
        std::fs::write(&m.file, serde_json::to_string_pretty(&run)? + "\n")
            .with_context(|| format!("writing {}", m.file.display()))?;
        println!("\nAWS cost per reel of this run (measured, written to {}):\n", m.file.display());
        println!("{}", estimate(&run.per_reel(), &PriceList::US_EAST_1));
    }
    Ok(if published == rows.len() && !rows.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(2)
    })
}

fn costs(run: Option<&Path>) -> Result<()> {
    let prices = PriceList::US_EAST_1;
    let run = match run {
        Some(path) => {
            serde_json::from_slice(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
                .with_context(|| format!("{} is not a measurement written by --meter", path.display()))?
        }
        None => MeasuredRun::reference(),
    };
    println!("AWS cost of one reel, counted: {}.", run.what);
    println!("Mean over {} reels; us-east-1 list prices as of {}, free tiers excluded,", run.reels, prices.as_of);
    println!("video-model and voice fees excluded (those are in the ledger):\n");
    println!("{}", estimate(&run.per_reel(), &prices));
    println!("Calls counted over the whole run: {}", call_list(&run.counts.calls));
    println!("\nThe stack itself, per month with no reels:\n");
    println!("{}", estimate_fixed(&FixedUsage::reference_stack(), &prices));
    println!("The model and its billing rules: shared/src/costs.rs, shared/src/adapters/aws/meter.rs, docs/deploy.md.");
    Ok(())
}

/// `Service.Operation ×n` for every counted call.
fn call_list(calls: &std::collections::BTreeMap<String, u64>) -> String {
    calls.iter().map(|(op, n)| format!("{op} x{n}")).collect::<Vec<_>>().join(", ")
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
