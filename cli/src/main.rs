//! `truereel`: run the whole pipeline on one machine (the embedded default), and look at its state.

// First: its print macros replace the standard ones in every module after it.
#[macro_use]
mod output;
mod calibrate;
mod classify;
mod judge;
mod plan;
mod progress;
mod serve;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use truereel::adapters::aws::meter::Meter;
use truereel::adapters::storefront::is_web_locator;
use truereel::config::{Backend, Config};
use truereel::costs::{FixedUsage, MeasuredRun, PriceList, estimate, estimate_fixed};
use truereel::homes::aws as aws_home;
use truereel::homes::embedded::Embedded;
use truereel::ports::{BlobStore, Stage};
use truereel::printable;
use truereel::report;
use truereel::runner::{self, LogProgress, Progress, RunOptions};

/// Every flag that sets a setting is named after it (`--resolution` sets `TRUEREEL_RESOLUTION`); flags,
/// the environment and the defaults are read and checked together by the one configuration
/// (`truereel config` shows the result).
#[derive(Parser)]
#[command(name = "truereel", version, about = "Grounded product reels from a store's real photos")]
struct Cli {
    /// Where state, queues and blobs live [TRUEREEL_DATA_DIR; default truereel-data].
    #[arg(long, global = true)]
    data_dir: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Which store to read, and how.
#[derive(clap::Args, Default)]
struct StoreArgs {
    /// A storefront URL (Shopify, WooCommerce, or any shop with a sitemap and product JSON-LD; a
    /// single product page works too) or a folder with a Shopify-shaped products.json [TRUEREEL_STORE].
    #[arg(long)]
    store: Option<String>,
    /// The platform of a storefront URL, instead of detecting it: shopify, woocommerce, sitemap or page
    /// [TRUEREEL_PLATFORM].
    #[arg(long)]
    platform: Option<String>,
    /// Only these product handles, comma-separated [TRUEREEL_ONLY].
    #[arg(long, allow_hyphen_values = true)]
    only: Option<String>,
    /// Let the crawler reach private and loopback addresses (an intranet store, a local test
    /// server). Cloud metadata addresses stay refused [TRUEREEL_ALLOW_PRIVATE_NETWORK].
    #[arg(long)]
    allow_private_network: bool,
}

/// How reels are planned.
#[derive(clap::Args, Default)]
struct PlanArgs {
    /// The reel length to plan for, in seconds, 6–60 [TRUEREEL_LENGTH; default 15].
    #[arg(long, allow_hyphen_values = true)]
    length: Option<String>,
    /// One reel per colour variant that has photos, instead of one about the hero photo's colour
    /// [TRUEREEL_PER_VARIANT].
    #[arg(long)]
    per_variant: bool,
    /// One product-ad clip for the whole reel from several photos (Runway's product_ad recipe, at
    /// most 15 s) instead of one clip per shot [TRUEREEL_WHOLE_REEL].
    #[arg(long)]
    whole_reel: bool,
    /// Products rated below this (0–1) as candidates for generated video are kept on the offline
    /// renderer, or parked with --below-suitability park [TRUEREEL_MIN_SUITABILITY].
    #[arg(long, allow_hyphen_values = true)]
    min_suitability: Option<String>,
    /// offline or park [TRUEREEL_BELOW_SUITABILITY; default offline].
    #[arg(long)]
    below_suitability: Option<String>,
    /// The brand kit [TRUEREEL_BRAND; default brand.toml beside a folder store].
    #[arg(long)]
    brand: Option<String>,
}

/// Where a run keeps its state, and how to reach AWS.
#[derive(clap::Args, Default)]
struct BackendArgs {
    /// embedded (one machine) or aws [TRUEREEL_BACKEND; default embedded].
    #[arg(long)]
    backend: Option<String>,
    /// An AWS-compatible endpoint, e.g. a local emulator (http://127.0.0.1:5000) [AWS_ENDPOINT_URL].
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Create the bucket, table and queues (with dead-letter queues) first if they are missing.
    #[arg(long)]
    create_resources: bool,
    /// The S3 bucket [TRUEREEL_BUCKET; default truereel-reels].
    #[arg(long)]
    bucket: Option<String>,
    /// The DynamoDB table [TRUEREEL_TABLE; default truereel].
    #[arg(long)]
    table: Option<String>,
    /// Queues are <prefix>-<stage>, dead-letter queues <prefix>-<stage>-dlq [TRUEREEL_QUEUE_PREFIX].
    #[arg(long)]
    queue_prefix: Option<String>,
}

// Parsed once per process; boxing `run`'s flags would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Crawl a store, plan, voice, render, assemble, evaluate and publish a reel per product.
    Run {
        #[command(flatten)]
        store: StoreArgs,
        /// The most this run may spend on paid calls, in US dollars [TRUEREEL_BUDGET_USD].
        #[arg(long, allow_hyphen_values = true)]
        budget_usd: Option<String>,
        /// Reel size as WIDTHxHEIGHT [TRUEREEL_RESOLUTION; default 1080x1920].
        #[arg(long, allow_hyphen_values = true)]
        resolution: Option<String>,
        /// The video models, first choice first, comma-separated: still-motion, runway, kling, veo,
        /// seedance, fal, replicate, luma; a shot goes to the first with a free slot, and a provider
        /// out of quota, credit or budget falls over to the next [TRUEREEL_VIDEO_PROVIDER; default
        /// still-motion].
        #[arg(long)]
        video_provider: Option<String>,
        /// The shapes made, comma-separated: 9:16 (always), 4:5, 1:1; one file each [TRUEREEL_ASPECT].
        #[arg(long)]
        aspect: Option<String>,
        /// Who judges every reel, comma-separated: local (always), gemini (watches the video),
        /// openai, anthropic (read sampled frames); a reel must pass every judge [TRUEREEL_JUDGE;
        /// default local].
        #[arg(long)]
        judge: Option<String>,
        #[command(flatten)]
        plan: PlanArgs,
        /// Stop each reel after planning, so a person can read the script and listen before any
        /// video is paid for; `truereel approve` continues [TRUEREEL_APPROVE_PLAN].
        #[arg(long)]
        approve_plan: bool,
        #[command(flatten)]
        backend: BackendArgs,
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
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Plan every listed product without rendering or paying for video (even one already published):
    /// a table per reel (shot, photo, kind, motion, line, start–end), or one JSON object per reel per
    /// line. The voice-over is made, so the timings are real; it is kept under previews/ to listen to.
    Plan {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        plan: PlanArgs,
        /// One JSON object per reel per line.
        #[arg(long)]
        json: bool,
        /// Reel size as WIDTHxHEIGHT [TRUEREEL_RESOLUTION; default 1080x1920].
        #[arg(long, allow_hyphen_values = true)]
        resolution: Option<String>,
    },
    /// Approve reels awaiting approval: they go on to video (on one machine, right away).
    Approve {
        /// The reel's id (`truereel status` lists them).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        reel: Option<String>,
        /// Every reel awaiting approval.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Reject a reel awaiting approval: it is planned again with the reason in mind.
    Reject {
        /// The reel's id.
        reel: String,
        /// What is wrong with the plan (kept on the reel, given to the writer).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Reopen a published reel that a platform flagged: the flagged shots are made again (another
    /// seed, the move turned round), the voice-over kept, the new cut judged and published as the
    /// next version; its stable URL moves to it and the old version is retired (kept).
    Flag {
        /// The reel's id (`truereel status` lists them).
        reel: String,
        /// What the platform said (kept on the reel and in the ledger).
        #[arg(long)]
        reason: String,
        /// The shots flagged, numbered from 1 as `truereel plan` shows them, comma-separated
        /// (default: every shot).
        #[arg(long, value_delimiter = ',')]
        shots: Vec<u32>,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Publish a reel parked for a person as it is, over the judge's verdict: its latest cut becomes
    /// the next version (the reason is kept on it) and its stable URL moves to it.
    Publish {
        /// The reel's id (`truereel status` lists them).
        reel: String,
        /// Why it may be published although the judge said no (kept on the version).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Send a parked reel's shots back to video: the named shots are made again (another seed, the
    /// move turned round), the voice-over kept, and the new cut judged like any other.
    Regenerate {
        /// The reel's id (`truereel status` lists them).
        reel: String,
        /// The shots to make again, numbered from 1, comma-separated (default: every shot).
        #[arg(long, value_delimiter = ',')]
        shots: Vec<u32>,
        /// Why (kept on the reel).
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Show every reel's state, the queues, and recent problems.
    Status,
    /// Serve the data folder over HTTP: published reels at /reels/<handle>.mp4 (the stable URL embeds
    /// use) and /reels/<handle>/v<n>.mp4 (each version), posters beside them, other files behind signed
    /// links (/files/<key>?expires=…&sig=…), and a read-only JSON API under /api/ (on loopback).
    Serve {
        /// The address to listen on [TRUEREEL_BIND; default 127.0.0.1:8080].
        #[arg(long)]
        bind: Option<String>,
        /// The base of the public URLs the API hands out, e.g. https://video.brand.com
        /// [TRUEREEL_PUBLIC_BASE_URL; default http://<bind>].
        #[arg(long)]
        public_base_url: Option<String>,
        /// Print a signed link to this blob (e.g. reels/<reel>/reel-1.mp4), valid for an hour, and exit.
        #[arg(long, value_name = "BLOB_KEY")]
        sign: Option<String>,
    },
    /// Print the HTML a brand pastes into its product page to play a product's published reel from
    /// its stable URL.
    Embed {
        /// The product's handle, or <handle>.<colour> for a per-variant reel.
        product: String,
        /// The base of the reel URLs: the brand's domain, e.g. https://video.brand.com
        /// [TRUEREEL_PUBLIC_BASE_URL; default http://<TRUEREEL_BIND>].
        #[arg(long)]
        public_base_url: Option<String>,
    },
    /// Send dead letters back to their stage's queue (each as a fresh message) and say how many per stage.
    Redrive {
        /// Only this stage's dead letters: crawl, plan, generate, mirror or evaluate.
        #[arg(long)]
        stage: Option<String>,
        /// Only the messages of this reel (its id) or product (its handle).
        #[arg(long)]
        reel: Option<String>,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// What the ledger says was spent: by product, provider and attempt, with what retries cost.
    Ledger {
        /// One JSON object instead of tables.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Every stored evaluation (scores, verdict, reasons, attempt, cost so far), one JSON object a
    /// line; or, with --summary, each brand's pass rates by provider, model, camera move and photo
    /// kind (what the planner and the provider chain prefer by).
    Evals {
        /// jsonl (one evaluation a line) or json (one array).
        #[arg(long, default_value = "jsonl", value_parser = ["jsonl", "json"])]
        format: String,
        /// The pass-rate table instead (as JSON with --format json).
        #[arg(long)]
        summary: bool,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// What one reel costs in AWS fees (video-model fees excluded), and the idle stack per month.
    Costs {
        /// A measurement written by `truereel run --backend aws --meter FILE` (default: the sample
        /// store's, measured on the emulator and kept in the repo).
        #[arg(long)]
        run: Option<PathBuf>,
    },
    /// Print the kind of each photo (model_worn, flat or detail) and the confidence, one line each.
    Classify(classify::ClassifyArgs),
    /// Judge a clip against photos with the local judge and print the verdict as one JSON object;
    /// exit status 0 pass, 1 fail, 2 bad input.
    Judge(judge::JudgeArgs),
    /// Fit the local judge's thresholds to clips labelled good or bad (FOLDER/labels.csv) and print
    /// precision and recall before and after, and the fitted [thresholds] table for a brand kit;
    /// exit status 0 done, 2 bad input.
    Calibrate(calibrate::CalibrateArgs),
    /// Print every setting: its variable, its effective value and where it came from.
    Config {
        /// One JSON array of settings (variable, flag, value, source, default, accepts, meaning).
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// The configuration table of the README, as Markdown.
        #[arg(long)]
        markdown: bool,
    },
}

impl Cli {
    /// The settings given as flags, by the variable each one sets.
    fn flags(&self) -> Vec<(&'static str, String)> {
        let mut flags = Vec::new();
        let mut set = |var: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                flags.push((var, v.clone()));
            }
        };
        set("TRUEREEL_DATA_DIR", &self.data_dir);
        let truth = |b: bool| b.then(|| "true".to_string());
        let (store, backend, plan) = match &self.command {
            Command::Run {
                store,
                budget_usd,
                resolution,
                backend,
                plan,
                approve_plan,
                video_provider,
                aspect,
                judge,
                ..
            } => {
                set("TRUEREEL_VIDEO_PROVIDER", video_provider);
                set("TRUEREEL_JUDGE", judge);
                set("TRUEREEL_ASPECT", aspect);
                set("TRUEREEL_BUDGET_USD", budget_usd);
                set("TRUEREEL_RESOLUTION", resolution);
                set("TRUEREEL_APPROVE_PLAN", &truth(*approve_plan));
                (Some(store), Some(backend), Some(plan))
            }
            Command::Plan { store, plan, resolution, .. } => {
                set("TRUEREEL_RESOLUTION", resolution);
                (Some(store), None, Some(plan))
            }
            Command::Crawl { store, backend } => (Some(store), Some(backend), None),
            Command::Serve { bind, public_base_url, .. } => {
                set("TRUEREEL_BIND", bind);
                set("TRUEREEL_PUBLIC_BASE_URL", public_base_url);
                (None, None, None)
            }
            Command::Embed { public_base_url, .. } => {
                set("TRUEREEL_PUBLIC_BASE_URL", public_base_url);
                (None, None, None)
            }
            Command::Redrive { backend, .. }
            | Command::Approve { backend, .. }
            | Command::Reject { backend, .. }
            | Command::Flag { backend, .. }
            | Command::Publish { backend, .. }
            | Command::Regenerate { backend, .. }
            | Command::Ledger { backend, .. }
            | Command::Evals { backend, .. } => (None, Some(backend), None),
            _ => (None, None, None),
        };
        if let Some(p) = plan {
            set("TRUEREEL_LENGTH", &p.length);
            set("TRUEREEL_PER_VARIANT", &truth(p.per_variant));
            set("TRUEREEL_WHOLE_REEL", &truth(p.whole_reel));
            set("TRUEREEL_MIN_SUITABILITY", &p.min_suitability);
            set("TRUEREEL_BELOW_SUITABILITY", &p.below_suitability);
            set("TRUEREEL_BRAND", &p.brand);
        }
        if let Some(s) = store {
            set("TRUEREEL_STORE", &s.store);
            set("TRUEREEL_PLATFORM", &s.platform);
            set("TRUEREEL_ONLY", &s.only);
            if s.allow_private_network {
                set("TRUEREEL_ALLOW_PRIVATE_NETWORK", &Some("true".into()));
            }
        }
        if let Some(b) = backend {
            set("TRUEREEL_BACKEND", &b.backend);
            set("AWS_ENDPOINT_URL", &b.endpoint_url);
            set("TRUEREEL_BUCKET", &b.bucket);
            set("TRUEREEL_TABLE", &b.table);
            set("TRUEREEL_QUEUE_PREFIX", &b.queue_prefix);
        }
        flags
    }
}

fn main() -> std::process::ExitCode {
    truereel::allocator::limit_arenas();
    let cli = Cli::parse();
    let config = match Config::load(&|k| std::env::var(k).ok(), &cli.flags()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    for var in Config::unknown_vars(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok())) {
        eprintln!("warning: {var} is not a truereel setting (`truereel config` lists them)");
    }
    let quiet = if std::io::stderr().is_terminal() { "warn" } else { "info" };
    truereel::telemetry::init_text(config.log.as_deref(), quiet);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    match rt.block_on(dispatch(cli, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", printable(&format!("{e:#}")));
            std::process::ExitCode::from(1)
        }
    }
}

async fn dispatch(cli: Cli, config: Config) -> Result<std::process::ExitCode> {
    match cli.command {
        Command::Run { backend, meter, .. } => {
            let target = match config.backend {
                Backend::Embedded if meter.is_some() => bail!("--meter measures AWS calls: use it with --backend aws"),
                Backend::Embedded => Target::Embedded,
                Backend::Aws => Target::Aws { create_resources: backend.create_resources, meter: meter.as_deref() },
            };
            run(target, &config, false).await
        }
        Command::Crawl { backend, .. } => {
            let target = match config.backend {
                Backend::Embedded => Target::Embedded,
                Backend::Aws => Target::Aws { create_resources: backend.create_resources, meter: None },
            };
            run(target, &config, true).await
        }
        Command::Plan { json, .. } => plan::run(&config, json).await,
        Command::Approve { reel, all, backend } => {
            plan::approve(&config, reel.as_deref(), all, backend.create_resources).await
        }
        Command::Reject { reel, reason, backend } => {
            plan::reject(&config, &reel, &reason, backend.create_resources).await
        }
        Command::Flag { reel, reason, shots, backend } => {
            plan::flag(&config, &reel, &reason, shots, backend.create_resources).await
        }
        Command::Publish { reel, reason, backend } => {
            plan::publish(&config, &reel, &reason, backend.create_resources).await
        }
        Command::Regenerate { reel, shots, reason, backend } => {
            plan::regenerate(&config, &reel, &shots, &reason, backend.create_resources).await
        }
        Command::Status => status(&config).await.map(|()| std::process::ExitCode::SUCCESS),
        Command::Serve { sign, .. } => serve::run(&config, sign.as_deref()).await,
        Command::Embed { product, .. } => serve::embed(&config, &product).await,
        Command::Redrive { stage, reel, backend } => {
            redrive(&config, stage.as_deref(), reel.as_deref(), backend.create_resources).await?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Ledger { json, backend } => {
            ledger(&config, json, backend.create_resources).await.map(|()| std::process::ExitCode::SUCCESS)
        }
        Command::Evals { format, summary, backend } => {
            evals(&config, &format, summary, backend.create_resources).await.map(|()| std::process::ExitCode::SUCCESS)
        }
        Command::Costs { run } => costs(run.as_deref()).map(|()| std::process::ExitCode::SUCCESS),
        Command::Classify(args) => Ok(classify::run(&args).await),
        Command::Judge(args) => Ok(judge::run(&args, &config).await),
        Command::Calibrate(args) => Ok(calibrate::run(&args, &config).await),
        Command::Config { json, markdown } => {
            if json {
                println!("{}", serde_json::to_string_pretty(&truereel::config::show::json(&config))?);
            } else if markdown {
                print!("{}", truereel::config::show::markdown());
            } else {
                print!("{}", truereel::config::show::text(&config));
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// The store locator the stages read: a canonical folder path, or the URL with a forced platform as
/// its fragment.
pub(crate) fn locator(config: &Config) -> Result<String> {
    let Some(store) = config.store.as_deref() else {
        bail!("no store: give --store <url|folder> (or set TRUEREEL_STORE)");
    };
    if !is_web_locator(store) {
        if config.platform.is_some() {
            bail!("--platform is for storefront URLs; {store} is a folder");
        }
        let path = std::fs::canonicalize(store).with_context(|| format!("store folder {store}"))?;
        return Ok(path.to_string_lossy().to_string());
    }
    Ok(match &config.platform {
        None => store.to_string(),
        Some(p) => format!("{}#platform={p}", store.split('#').next().unwrap_or(store)),
    })
}

/// The backend a run uses.
enum Target<'a> {
    Embedded,
    Aws { create_resources: bool, meter: Option<&'a Path> },
}

/// A metered AWS run: the meter, the unmetered SDK configuration (for the bucket listing), where
/// the measurement goes.
struct Metering {
    meter: Meter,
    unmetered: aws_config::SdkConfig,
    file: PathBuf,
}

/// Runs the pipeline (or with `crawl_only`, the crawl alone) over a store and prints what came of it.
async fn run(target: Target<'_>, config: &Config, crawl_only: bool) -> Result<std::process::ExitCode> {
    let store = locator(config)?;
    let only = config.only.clone();
    let started = config.settings.run_started_ms;

    // The embedded home holds the data folder's lock for as long as it lives.
    let (ports, _embedded, public, metering) = match target {
        Target::Embedded => {
            let e = Embedded::open_for_runner(&config.data_dir, config).await?;
            let public = e.blobs.root().join("public/reels").display().to_string();
            (e.ports.clone(), Some(e), public, None)
        }
        Target::Aws { create_resources, meter: meter_file } => {
            let unmetered = config.aws.sdk_config().await;
            let meter = Meter::new();
            let sdk = if meter_file.is_some() { meter.wrap(&unmetered) } else { unmetered.clone() };
            let ports =
                aws_home::open_with(&sdk, config, create_resources).await.context("setting up the AWS backend")?;
            // Set-up (resources, queue look-ups) happens once per deployment or cold start, not per reel.
            meter.reset();
            let public = format!("s3://{}/public/reels/", config.aws.bucket);
            let metering = meter_file.map(|f| Metering { meter, unmetered, file: f.to_path_buf() });
            (ports, None, public, metering)
        }
    };
    ports.media.check_available().await.context("truereel needs ffmpeg and ffprobe")?;
    let progress: Arc<dyn Progress> = if std::io::stderr().is_terminal() {
        Arc::new(progress::Bars::new())
    } else {
        Arc::new(LogProgress::default())
    };
    let options = RunOptions::from_config(&config.runner);
    let plan = match crawl_only {
        true => None,
        false => Some(config.plan_options(&store)?),
    };
    let drained = runner::run_store(&ports, &store, only.clone(), plan, &options, progress.clone()).await?;
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
    let awaiting = rows.iter().filter(|r| r.awaiting_approval).count();
    println!("\n{published} of {} reels published; watch them in {public}", rows.len());
    for hold in report::held_providers(&ports, started).await? {
        println!(
            "{} was left out for the rest of this run, its shots made by the next provider in the chain: {}",
            hold.provider,
            printable(&hold.why)
        );
    }
    if awaiting > 0 {
        println!(
            "{awaiting} awaiting approval: read and listen with `truereel status`, then `truereel approve <reel>|--all` \
             or `truereel reject <reel> --reason …`"
        );
    }
    if let Some(m) = metering {
        let place = config.aws.endpoint_url.as_deref().unwrap_or("AWS");
        let build = if cfg!(debug_assertions) { "debug" } else { "release" };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let name = Path::new(&store).file_name().map_or(store.clone(), |n| n.to_string_lossy().to_string());
        let what = format!("store {name}, {} products, against {place}, {build} build on {cores} cores", rows.len());
        let run = aws_home::measured_run(&what, &m.meter, &m.unmetered, &config.aws, &ports, &drained)
            .await
            .map_err(|e| anyhow::anyhow!("measuring the run: {e}"))?;
        std::fs::write(&m.file, serde_json::to_string_pretty(&run)? + "\n")
            .with_context(|| format!("writing {}", m.file.display()))?;
        println!("\nAWS cost per reel of this run (measured, written to {}):\n", m.file.display());
        println!("{}", estimate(&run.per_reel(), &PriceList::US_EAST_1));
    }
    Ok(if published + awaiting == rows.len() && !rows.is_empty() {
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

/// The embedded home over a data folder that a run has already used (a reader makes none).
pub(crate) fn existing_home(config: &Config) -> Result<Embedded> {
    if !config.data_dir.join("state.sqlite").exists() {
        bail!("{} holds no truereel state yet (run `truereel run` first)", config.data_dir.display());
    }
    Ok(Embedded::open(&config.data_dir, config)?)
}

async fn status(config: &Config) -> Result<()> {
    let e = existing_home(config)?;
    let listing = e.ports.state.scan_reels().await?;
    let reels = listing.records;
    println!("{:<44} {:<13} {:>5} {:>5} {:>9}  published", "reel", "status", "round", "shots", "duration");
    for r in &reels {
        let file = r.published.as_ref().map(|k| match e.blobs.local_path(k) {
            Some(p) => p.display().to_string(),
            None => format!("missing: {k} (the next run publishes it again)"),
        });
        println!(
            "{:<44} {:<13} {:>5} {:>5} {:>7.1} s  {}",
            printable(r.id.as_str()),
            r.status.as_str(),
            r.round,
            r.plan.shots.len(),
            r.plan.duration_ms() as f64 / 1000.0,
            printable(&file.unwrap_or_else(|| "-".into()))
        );
        if let Some((round, sheet)) = truereel::stages::sheet::latest_contact_sheet(e.blobs.as_ref(), r).await? {
            println!("    contact sheet (round {round}): {}", printable(&e.blobs.location(&sheet)));
        }
        if let Some(v) = r.current_version().filter(|_| r.versions.len() > 1) {
            let flags = r.flags.iter().map(|f| printable(&f.reason)).collect::<Vec<_>>().join("; ");
            println!("    version {} of {} (earlier ones retired; flagged: {flags})", v.version, r.versions.len());
        }
        if let Some(why) = r.current_version().and_then(|v| v.overruled.as_ref()) {
            println!("    published by a person over the judge: {}", printable(why));
        }
        if !r.reasons.is_empty() {
            let why = if r.status == truereel::ReelStatus::NeedsReview { "needs review" } else { "working on" };
            println!("    {why}: {}", printable(&r.reasons.join("; ")));
        }
        if r.status == truereel::ReelStatus::AwaitingApproval {
            for s in &r.plan.shots {
                println!("    {}. {}", s.index + 1, printable(&s.line));
            }
            println!("    voice-over: {}", printable(&e.blobs.location(&r.voice_over.audio)));
        }
    }
    for u in &listing.unreadable {
        println!("{:<44} unreadable: {}", printable(&u.id), printable(&u.reason));
    }
    let pending = e.queue.pending().await?;
    let queues = truereel::report::queues::gather(&e.ports, &pending, 0).await?;
    print!("\n{}", truereel::report::queues::text(&queues));
    Ok(())
}

/// `truereel ledger`: every ledger entry summed up, from either home.
async fn ledger(config: &Config, json: bool, create_resources: bool) -> Result<()> {
    let entries = match config.backend {
        Backend::Embedded => existing_home(config)?.ports.state.ledger(None).await?,
        Backend::Aws => {
            let ports = aws_home::open(config, create_resources).await.context("setting up the AWS backend")?;
            ports.state.ledger(None).await?
        }
    };
    let summary = truereel::report::ledger::summarise(&entries);
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", truereel::report::ledger::text(&summary));
    }
    Ok(())
}

/// Prints the stored evaluations, or the brands' pass rates.
async fn evals(config: &Config, format: &str, summary: bool, create_resources: bool) -> Result<()> {
    let state = match config.backend {
        Backend::Embedded => existing_home(config)?.ports.state.clone(),
        Backend::Aws => aws_home::open(config, create_resources).await.context("setting up the AWS backend")?.state,
    };
    use truereel::report::evals;
    if summary {
        let rates = evals::pass_rates(state.as_ref()).await?;
        if format == "json" {
            let brands: serde_json::Map<String, serde_json::Value> =
                rates.into_iter().map(|(b, t)| (b, serde_json::json!(t))).collect();
            println!("{}", serde_json::to_string_pretty(&brands)?);
        } else {
            print!("{}", evals::summary_text(&rates));
        }
        return Ok(());
    }
    let all = evals::evaluations(state.as_ref()).await?;
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        print!("{}", evals::jsonl(&all));
    }
    Ok(())
}

/// Sends the dead letters of one stage (or every stage) back to their queue, only those of one reel
/// or product if asked, and prints how many per stage.
async fn redrive(config: &Config, stage: Option<&str>, reel: Option<&str>, create_resources: bool) -> Result<()> {
    let stages = match stage {
        None => Stage::ALL.to_vec(),
        Some(s) => match Stage::parse(s) {
            Some(s) => vec![s],
            None => bail!("--stage {s:?} is not a stage: use crawl, plan, generate, mirror or evaluate"),
        },
    };
    let (ports, _embedded) = match config.backend {
        Backend::Embedded => {
            let e = existing_home(config)?;
            (e.ports.clone(), Some(e))
        }
        Backend::Aws => {
            let ports = aws_home::open(config, create_resources).await.context("setting up the AWS backend")?;
            (ports, None)
        }
    };
    let mut total = 0;
    for stage in stages {
        let pick = |body: &str| {
            reel.is_none_or(|who| truereel::messages::Message::parse(stage, body).is_ok_and(|m| m.concerns(who)))
        };
        let n = ports.queue.redrive(stage, &pick).await?;
        println!("{:<9} {n} sent back", stage.as_str());
        total += n;
    }
    println!("{total} dead letters sent back{}", reel.map(|r| format!(" for {r}")).unwrap_or_default());
    Ok(())
}
