//! The one configuration: every setting is defined once ([`defs::DEFS`]), read once per process by
//! [`Config::load`] from flags, then the environment, then the defaults, and checked by one policy: a bad
//! value stops the program before it does anything, naming the variable or flag, the value and what is
//! accepted (every bad value at once). `truereel config` prints the result ([`show`]), and the README's
//! table is generated from the same definitions. Facts the Lambda runtime sets per process or per
//! invocation (`AWS_LAMBDA_FUNCTION_NAME`, `_X_AMZN_TRACE_ID`) and `PATH` are not settings and are read
//! where they are used.

pub mod brand;
pub mod defs;
mod fetch;
mod settings;
pub mod show;
pub mod value;

pub use defs::{DEFS, Def, Group};
pub use fetch::{DEFAULT_USER_AGENT, FetchPolicy};
pub use settings::{Settings, aspect};
pub use value::{Kind, Value};

use crate::Usd;
use crate::media::Media;
use crate::ports::Stage;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    Env,
    Flag,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::Env => "environment",
            Source::Flag => "flag",
        }
    }
}

/// One setting as it was resolved (`Debug` hides a secret's value).
#[derive(Clone, PartialEq)]
pub struct Entry {
    pub def: &'static Def,
    /// The text it was given (or its default); `None` when unset without a default.
    pub raw: Option<String>,
    pub source: Source,
    value: Option<Value>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = self.def.kind == Kind::Secret;
        let mut d = f.debug_struct("Entry");
        d.field("var", &self.def.var);
        match (&self.raw, secret) {
            (Some(_), true) => d.field("raw", &show::SET_SECRET),
            (raw, _) => d.field("raw", raw),
        };
        d.field("source", &self.source);
        match (&self.value, secret) {
            (Some(_), true) => d.field("value", &show::SET_SECRET),
            (value, _) => d.field("value", value),
        };
        d.finish()
    }
}

/// A credential from the configuration: its `Debug` never shows it (it has no `Display`); [`Secret::expose`] does.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value itself, for the one header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(show::SET_SECRET)
    }
}

/// One setting that was given a value it does not accept.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The variable, or the flag when the value came from one.
    pub name: String,
    pub value: String,
    pub accepts: String,
    /// More about why, when there is more than what is accepted.
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} is not accepted: expected {}", self.name, self.value, self.accepts)?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

/// Settings that were not accepted: the program stops before doing anything.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    fn one(name: &str, value: &str, accepts: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                name: name.into(),
                value: value.into(),
                accepts: accepts.into(),
                detail: String::new(),
            }],
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} settings are not accepted:", many.len())?;
                for p in many {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
        }
    }
}

/// Where the pipeline's state, queues and blobs live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One machine: SQLite state and queues, blobs in a folder (no account needed).
    Embedded,
    /// AWS: DynamoDB, SQS and S3 (or an emulator).
    Aws,
}

/// Which engine speaks (`TRUEREEL_VOICE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceEngine {
    /// Piper for the languages of its installed voices, espeak-ng for the rest.
    Auto,
    Piper,
    Espeak,
    Polly,
    ElevenLabs,
    OpenAi,
}

/// The voices: which engine speaks, and each engine's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceConfig {
    pub engine: VoiceEngine,
    /// `TRUEREEL_TOOLS_DIR` as given; [`VoiceConfig::tools_dir`] finds it.
    pub tools_dir: PathBuf,
    pub espeak: PathBuf,
    pub espeak_voice: String,
    pub espeak_wpm: u32,
    /// A Piper model, the first choice for its language (the tools folder's voices come after it).
    pub piper_model: Option<PathBuf>,
    /// The piper binary; `None` looks in the tools folder, then for `piper` on `PATH`.
    pub piper: Option<PathBuf>,
    pub polly: PollyConfig,
    pub elevenlabs: CloudVoiceConfig,
    pub openai: CloudVoiceConfig,
}

/// The video models: the fall-over chain and each paid provider's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoConfig {
    /// Provider names in order of preference (`still-motion`, `runway`, `kling`…).
    pub chain: Vec<String>,
    pub runway: RunwayConfig,
    pub kling: KlingConfig,
    pub veo: VeoConfig,
    pub seedance: ApiConfig,
    pub fal: ApiConfig,
    pub replicate: ReplicateConfig,
    pub luma: LumaConfig,
}

/// A paid video provider's API (`providers.md` §1): where it is, its key, its model, price and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    /// Without a trailing slash.
    pub base_url: String,
    /// The API key (Veo: the service account's JSON key or its path; Kling: unused, see [`KlingConfig`]).
    pub api_key: Option<Secret>,
    pub model: String,
    /// `None`: the model's list price.
    pub usd_per_second: Option<Usd>,
    /// Jobs at once across every worker (the account's concurrency).
    pub concurrency: u32,
    /// The first wait between polls.
    pub poll_interval: Duration,
    /// Plain `http` is allowed for the base URL only on loopback and only with this.
    pub allow_private_network: bool,
}

/// Runway's API (`providers.md` §1.1).
pub type RunwayConfig = ApiConfig;

/// Kling's API (§1.3): a JWT minted from the access and secret keys.
#[derive(Debug, Clone, PartialEq)]
pub struct KlingConfig {
    pub api: ApiConfig,
    pub access_key: Option<Secret>,
    pub secret_key: Option<Secret>,
    /// `std` or `pro`.
    pub mode: String,
}

/// Veo 3.1 on Vertex AI (§1.6): the service account is [`ApiConfig::api_key`].
#[derive(Debug, Clone, PartialEq)]
pub struct VeoConfig {
    pub api: ApiConfig,
    /// `None`: the service account's own project.
    pub project: Option<String>,
    pub location: String,
}

/// Replicate (§1.5): the model input the photo goes in.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicateConfig {
    pub api: ApiConfig,
    pub image_input: String,
}

/// Luma's Agents API (§1.2): photos by URL only.
#[derive(Debug, Clone, PartialEq)]
pub struct LumaConfig {
    pub api: ApiConfig,
    /// A public base URL under which blob keys are served (one machine).
    pub photo_base_url: Option<String>,
}

/// Amazon Polly (through the AWS SDK: credentials, region and endpoint from the AWS configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct PollyConfig {
    pub voice: String,
    /// `neural`, `standard`, `generative` or `long-form`.
    pub engine: String,
    /// `None`: the engine's list price.
    pub usd_per_million_chars: Option<Usd>,
}

/// A voice behind an HTTP API with a key.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudVoiceConfig {
    pub base_url: String,
    /// `None` until set (or, on Lambda, read from the provider secret).
    pub api_key: Option<Secret>,
    pub voice: String,
    pub model: String,
    pub usd_per_million_chars: Usd,
}

impl VoiceConfig {
    /// The tools folder (absolute), if it exists: an absolute `TRUEREEL_TOOLS_DIR` as it is; a relative
    /// one in the current folder, else two folders above the executable's folder (`<checkout>/.tools` for
    /// `<checkout>/target/debug/truereel`; a test binary in `target/debug/deps/` does not reach it).
    pub fn tools_dir(&self) -> Option<PathBuf> {
        let dir = &self.tools_dir;
        if dir.is_absolute() {
            return dir.is_dir().then(|| dir.clone());
        }
        if dir.is_dir() {
            return std::path::absolute(dir).ok();
        }
        let exe = std::env::current_exe().ok()?;
        let beside = exe.parent()?.parent()?.parent()?.join(dir);
        beside.is_dir().then_some(beside)
    }
}

/// How this process plans reels by default (a run carries them in its messages as `PlanOptions`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanConfig {
    pub length_ms: u32,
    pub per_variant: bool,
    pub whole_reel: bool,
    pub approve: bool,
    pub min_suitability: Option<f32>,
    pub below: crate::messages::BelowSuitability,
    /// `--brand`; `None` looks for `brand.toml` beside a folder store.
    pub brand: Option<PathBuf>,
}

impl Config {
    /// The plan options of a run over `store`: these settings and the brand kit (`--brand`, or
    /// `brand.toml` beside a folder store), whose reel length bounds narrow the program's.
    pub fn plan_options(&self, store: &str) -> Result<crate::messages::PlanOptions, brand::BrandError> {
        let file = self.plan.brand.clone().or_else(|| brand::beside_store(store));
        let brand = match &file {
            Some(f) => brand::load(f)?,
            None => crate::BrandKit::default(),
        };
        Ok(crate::messages::PlanOptions {
            length_ms: Some(self.plan.length_ms),
            per_variant: self.plan.per_variant,
            approve: self.plan.approve,
            min_suitability: self.plan.min_suitability,
            below: self.plan.below,
            brand,
            whole_reel: self.plan.whole_reel,
        })
    }
}

/// Who writes the spoken lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterKind {
    /// The offline template: lines from the product copy alone.
    Template,
    OpenAi,
    Anthropic,
    Gemini,
}

impl WriterKind {
    /// The `TRUEREEL_WRITER` value.
    pub fn as_str(self) -> &'static str {
        match self {
            WriterKind::Template => "template",
            WriterKind::OpenAi => "openai",
            WriterKind::Anthropic => "anthropic",
            WriterKind::Gemini => "gemini",
        }
    }
}

/// A vision model that judges reels beside the local judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VisionKind {
    /// Gemini: watches the reel's video.
    Gemini,
    /// OpenAI: reads frames sampled from each shot.
    OpenAi,
    /// Anthropic: reads frames sampled from each shot.
    Anthropic,
}

impl VisionKind {
    /// The `TRUEREEL_JUDGE` value.
    pub fn as_str(self) -> &'static str {
        match self {
            VisionKind::Gemini => "gemini",
            VisionKind::OpenAi => "openai",
            VisionKind::Anthropic => "anthropic",
        }
    }
    /// The variable of its key (shared with the writer).
    pub fn key_var(self) -> &'static str {
        match self {
            VisionKind::Gemini => "TRUEREEL_GEMINI_API_KEY",
            VisionKind::OpenAi => "TRUEREEL_OPENAI_API_KEY",
            VisionKind::Anthropic => "TRUEREEL_ANTHROPIC_API_KEY",
        }
    }
}

/// One vision judge's endpoint and prices.
#[derive(Debug, Clone, PartialEq)]
pub struct VisionEndpoint {
    pub endpoint: LlmEndpoint,
    pub usd_per_million_input: Usd,
    pub usd_per_million_output: Usd,
}

/// The judges of every reel: the local judge always; the vision models `TRUEREEL_JUDGE` names.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeConfig {
    /// The vision judges named, in their order (the local judge is not among them: it always runs).
    pub vision: Vec<VisionKind>,
    pub gemini: VisionEndpoint,
    pub openai: VisionEndpoint,
    pub anthropic: VisionEndpoint,
    /// How many frames of a shot a frame-reading judge sees.
    pub frames_per_shot: u32,
    /// The longest one call may take.
    pub timeout: Duration,
}

impl JudgeConfig {
    pub fn endpoint(&self, kind: VisionKind) -> &VisionEndpoint {
        match kind {
            VisionKind::Gemini => &self.gemini,
            VisionKind::OpenAi => &self.openai,
            VisionKind::Anthropic => &self.anthropic,
        }
    }
}

/// One LLM provider's endpoint for the writer.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmEndpoint {
    pub key: Option<Secret>,
    pub model: String,
    /// The API's base URL, version path included (`https://api.openai.com/v1`).
    pub base_url: String,
}

/// The script writer and the LLM providers it may call.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterConfig {
    pub kind: WriterKind,
    pub openai: LlmEndpoint,
    pub anthropic: LlmEndpoint,
    pub gemini: LlmEndpoint,
    /// The longest one call may take.
    pub timeout: Duration,
}

impl WriterConfig {
    /// The chosen LLM's endpoint and the variable of its key (`None` for the template).
    pub fn chosen(&self) -> Option<(&LlmEndpoint, &'static str)> {
        match self.kind {
            WriterKind::Template => None,
            WriterKind::OpenAi => Some((&self.openai, "TRUEREEL_OPENAI_API_KEY")),
            WriterKind::Anthropic => Some((&self.anthropic, "TRUEREEL_ANTHROPIC_API_KEY")),
            WriterKind::Gemini => Some((&self.gemini, "TRUEREEL_GEMINI_API_KEY")),
        }
    }
}

/// How the local runner works the queues.
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerConfig {
    pub concurrency: BTreeMap<Stage, usize>,
    pub visibility: Duration,
}

/// The local origin: where `truereel serve` listens and the base of the public URLs it hands out.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    pub bind: std::net::SocketAddr,
    /// Without a trailing slash; `None`: `http://<bind>`.
    pub public_base_url: Option<String>,
    /// Bytes of published files kept in memory.
    pub cache_bytes: u64,
}

impl ServeConfig {
    /// The base of public reel URLs, without a trailing slash: the configured one, else `http://<bind>`.
    pub fn public_base_url(&self) -> String {
        self.public_base_url.clone().unwrap_or_else(|| format!("http://{}", self.bind))
    }
}

/// Where truereel's AWS resources are.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsConfig {
    /// An emulator or other endpoint; `None` for AWS itself.
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub bucket: String,
    pub table: String,
    pub queue_prefix: String,
    /// Explicit queue URLs by stage; stages not here are found by name from `queue_prefix`.
    pub queue_urls: BTreeMap<Stage, String>,
}

/// Everything truereel is configured with, built once per process.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub data_dir: PathBuf,
    pub store: Option<String>,
    /// A storefront URL's platform, instead of detecting it.
    pub platform: Option<String>,
    pub only: Option<Vec<String>>,
    pub backend: Backend,
    /// The log filter; `None` leaves the choice to the program (quieter on a terminal).
    pub log: Option<String>,
    pub settings: Settings,
    pub fetch: FetchPolicy,
    pub media: Media,
    pub voice: VoiceConfig,
    pub plan: PlanConfig,
    pub writer: WriterConfig,
    pub judge: JudgeConfig,
    /// What the still-motion renderer charges per second of video.
    pub still_motion_per_second: Usd,
    pub video: VideoConfig,
    pub runner: RunnerConfig,
    pub serve: ServeConfig,
    pub aws: AwsConfig,
    pub provider_secret_arn: Option<String>,
    entries: Vec<Entry>,
}

impl Default for Config {
    /// Every default, nothing from the environment.
    fn default() -> Self {
        Self::load(&|_| None, &[]).expect("the defaults are accepted")
    }
}

impl Config {
    /// From the process environment alone.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(&|k| std::env::var(k).ok(), &[])
    }

    /// Flags (`(variable, value)` pairs: a flag sets its setting's variable) override `env`, which
    /// overrides the defaults. An empty variable counts as unset; an empty flag is a bad value.
    pub fn load(env: &dyn Fn(&str) -> Option<String>, flags: &[(&str, String)]) -> Result<Self, ConfigError> {
        for (var, _) in flags {
            assert!(defs::find(var).is_some(), "{var} is not a setting");
        }
        let mut entries = Vec::with_capacity(DEFS.len());
        let mut problems = Vec::new();
        for def in DEFS {
            let flag = flags.iter().rev().find(|(v, _)| *v == def.var).map(|(_, x)| x.clone());
            let (raw, source) = match flag {
                Some(v) => (Some(v), Source::Flag),
                None => match env(def.var).filter(|v| !v.trim().is_empty()) {
                    Some(v) => (Some(v), Source::Env),
                    None => (def.default.map(String::from), Source::Default),
                },
            };
            let value = match &raw {
                None => None,
                Some(text) => match value::parse(&def.kind, text) {
                    Ok(v) => Some(v),
                    Err(detail) => {
                        let name = match (source, def.flag) {
                            (Source::Flag, Some(flag)) => flag,
                            _ => def.var,
                        };
                        problems.push(Problem {
                            name: name.into(),
                            // A refused URL may carry a password, and a secret is never shown.
                            value: if def.kind == Kind::Secret { show::SET_SECRET.into() } else { crate::redact(text) },
                            accepts: def.kind.accepts(),
                            detail,
                        });
                        None
                    }
                },
            };
            entries.push(Entry { def, raw, source, value });
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Self::build(entries)
    }

    fn build(entries: Vec<Entry>) -> Result<Self, ConfigError> {
        let r = Read(&entries);
        let (width, height) = r.size("TRUEREEL_RESOLUTION");
        let min_reel_ms = r.whole("TRUEREEL_MIN_REEL_MS") as u32;
        let max_reel_ms = r.whole("TRUEREEL_MAX_REEL_MS") as u32;
        if min_reel_ms > max_reel_ms {
            return Err(ConfigError::one(
                "TRUEREEL_MIN_REEL_MS",
                &min_reel_ms.to_string(),
                format!("at most TRUEREEL_MAX_REEL_MS ({max_reel_ms})"),
            ));
        }
        let settings = Settings {
            width,
            height,
            fps: r.whole("TRUEREEL_FPS") as u32,
            budget: crate::Budget {
                per_reel: r.dollars("TRUEREEL_REEL_BUDGET_USD"),
                per_run: r.opt_dollars("TRUEREEL_BUDGET_USD"),
                provider_run: None,
            },
            max_attempts: r.whole("TRUEREEL_MAX_ATTEMPTS") as u32,
            max_flag_passes: r.whole("TRUEREEL_MAX_FLAG_PASSES") as u32,
            min_reel_ms,
            max_reel_ms,
            max_photos_per_product: r.whole("TRUEREEL_MAX_PHOTOS_PER_PRODUCT") as usize,
            max_clip_bytes: r.whole("TRUEREEL_MAX_CLIP_MB") * 1024 * 1024,
            job_timeout: Duration::from_secs(r.whole("TRUEREEL_JOB_TIMEOUT_SECS")),
            extra_aspects: r
                .opt_list("TRUEREEL_ASPECT")
                .unwrap_or_default()
                .iter()
                .filter_map(|a| settings::aspect(a, width))
                .collect(),
            photo_budget: Duration::from_secs(r.whole("TRUEREEL_FETCH_PHOTO_BUDGET_SECS")),
            product_budget: Duration::from_secs(r.whole("TRUEREEL_FETCH_PRODUCT_BUDGET_SECS")),
            provider_budgets: defs::PAID_VIDEO_PROVIDERS
                .iter()
                .filter_map(|name| {
                    let usd = r.opt_dollars(&format!("TRUEREEL_{}_BUDGET_USD", name.to_uppercase()))?;
                    Some((name.to_string(), usd))
                })
                .collect(),
            ..Settings::default()
        };
        let fetch = FetchPolicy {
            user_agent: r.opt_text("TRUEREEL_USER_AGENT").unwrap_or_else(|| DEFAULT_USER_AGENT.to_string()),
            allow_private_network: r.bool("TRUEREEL_ALLOW_PRIVATE_NETWORK"),
            trusted_hosts: r.opt_list("TRUEREEL_TRUSTED_HOSTS").unwrap_or_default(),
            respect_robots: !r.bool("TRUEREEL_IGNORE_ROBOTS"),
            max_redirects: r.whole("TRUEREEL_FETCH_MAX_REDIRECTS") as usize,
            timeout: Duration::from_secs(r.whole("TRUEREEL_FETCH_TIMEOUT_SECS")),
            connect_timeout: Duration::from_secs(r.whole("TRUEREEL_FETCH_CONNECT_TIMEOUT_SECS")),
            max_attempts: r.whole("TRUEREEL_FETCH_ATTEMPTS") as u32,
            max_retry_wait: Duration::from_secs(r.whole("TRUEREEL_FETCH_MAX_RETRY_WAIT_SECS")),
            per_host_concurrency: r.whole("TRUEREEL_HOST_CONCURRENCY") as usize,
            per_host_interval: Duration::from_millis(r.whole("TRUEREEL_HOST_INTERVAL_MS")),
            min_rate: r.whole("TRUEREEL_FETCH_MIN_RATE"),
            min_rate_window: Duration::from_secs(r.whole("TRUEREEL_FETCH_MIN_RATE_WINDOW_SECS")),
            ..FetchPolicy::default()
        };
        let media = Media {
            ffmpeg: r.path("TRUEREEL_FFMPEG"),
            ffprobe: r.path("TRUEREEL_FFPROBE"),
            x264_preset: r.text("TRUEREEL_X264_PRESET"),
            crf: r.whole("TRUEREEL_CRF") as u8,
            scratch: crate::media::Scratch::default(),
        };
        let cloud = |p: &str| CloudVoiceConfig {
            // OpenAI's URL is shared with its writer and judge (`TRUEREEL_OPENAI_BASE_URL`).
            base_url: match p {
                "OPENAI" => r.text("TRUEREEL_OPENAI_BASE_URL"),
                _ => r.text(&format!("TRUEREEL_{p}_URL")),
            },
            api_key: r.opt_text(&format!("TRUEREEL_{p}_API_KEY")).map(Secret),
            voice: r.text(&format!("TRUEREEL_{p}_VOICE")),
            model: match p {
                "OPENAI" => r.text("TRUEREEL_OPENAI_TTS_MODEL"),
                _ => r.text(&format!("TRUEREEL_{p}_MODEL")),
            },
            usd_per_million_chars: r.dollars(&format!("TRUEREEL_{p}_USD_PER_MILLION_CHARS")),
        };
        let voice = VoiceConfig {
            engine: match r.text("TRUEREEL_VOICE").as_str() {
                "piper" => VoiceEngine::Piper,
                "espeak" => VoiceEngine::Espeak,
                "polly" => VoiceEngine::Polly,
                "elevenlabs" => VoiceEngine::ElevenLabs,
                "openai" => VoiceEngine::OpenAi,
                _ => VoiceEngine::Auto,
            },
            tools_dir: r.path("TRUEREEL_TOOLS_DIR"),
            espeak: r.path("TRUEREEL_ESPEAK"),
            espeak_voice: r.text("TRUEREEL_ESPEAK_VOICE"),
            espeak_wpm: r.whole("TRUEREEL_ESPEAK_WPM") as u32,
            piper_model: r.opt_path("TRUEREEL_PIPER_MODEL"),
            piper: r.opt_path("TRUEREEL_PIPER"),
            polly: PollyConfig {
                voice: r.text("TRUEREEL_POLLY_VOICE"),
                engine: r.text("TRUEREEL_POLLY_ENGINE"),
                usd_per_million_chars: r.opt_dollars("TRUEREEL_POLLY_USD_PER_MILLION_CHARS"),
            },
            elevenlabs: cloud("ELEVENLABS"),
            openai: cloud("OPENAI"),
        };
        let plan = PlanConfig {
            length_ms: r.whole("TRUEREEL_LENGTH") as u32 * 1000,
            per_variant: r.bool("TRUEREEL_PER_VARIANT"),
            whole_reel: r.bool("TRUEREEL_WHOLE_REEL"),
            approve: r.bool("TRUEREEL_APPROVE_PLAN"),
            min_suitability: r.opt_fraction("TRUEREEL_MIN_SUITABILITY").map(|f| f as f32),
            below: match r.text("TRUEREEL_BELOW_SUITABILITY").as_str() {
                "park" => crate::messages::BelowSuitability::Park,
                _ => crate::messages::BelowSuitability::Offline,
            },
            brand: r.opt_path("TRUEREEL_BRAND"),
        };
        // One URL setting per provider (its voice and its writer share it); the API version is the client's.
        let endpoint = |key: &str, model: &str, url: &str, version: &str| LlmEndpoint {
            key: r.opt_text(key).map(Secret::new),
            model: r.text(model),
            base_url: format!("{}/{version}", r.text(url).trim_end_matches('/')),
        };
        let writer = WriterConfig {
            kind: match r.text("TRUEREEL_WRITER").as_str() {
                "openai" => WriterKind::OpenAi,
                "anthropic" => WriterKind::Anthropic,
                "gemini" => WriterKind::Gemini,
                _ => WriterKind::Template,
            },
            openai: endpoint(
                "TRUEREEL_OPENAI_API_KEY",
                "TRUEREEL_WRITER_OPENAI_MODEL",
                "TRUEREEL_OPENAI_BASE_URL",
                "v1",
            ),
            anthropic: endpoint(
                "TRUEREEL_ANTHROPIC_API_KEY",
                "TRUEREEL_WRITER_ANTHROPIC_MODEL",
                "TRUEREEL_ANTHROPIC_BASE_URL",
                "v1",
            ),
            gemini: endpoint(
                "TRUEREEL_GEMINI_API_KEY",
                "TRUEREEL_WRITER_GEMINI_MODEL",
                "TRUEREEL_GEMINI_BASE_URL",
                "v1beta",
            ),
            timeout: Duration::from_secs(r.whole("TRUEREEL_WRITER_TIMEOUT_SECS")),
        };
        // On Lambda the key may be in the provider secret, read at cold start (and checked when wiring).
        if let Some((endpoint, var)) = writer.chosen()
            && endpoint.key.is_none()
            && r.opt_text("TRUEREEL_PROVIDER_SECRET_ARN").is_none()
        {
            return Err(ConfigError {
                problems: vec![Problem {
                    name: var.into(),
                    value: String::new(),
                    accepts: format!("an API key when TRUEREEL_WRITER is {}", writer.kind.as_str()),
                    detail: "it is not set".into(),
                }],
            });
        }
        let vision = |kind: VisionKind, url: &str, version: &str| {
            let name = kind.as_str().to_uppercase();
            VisionEndpoint {
                endpoint: endpoint(kind.key_var(), &format!("TRUEREEL_JUDGE_{name}_MODEL"), url, version),
                usd_per_million_input: r.dollars(&format!("TRUEREEL_JUDGE_{name}_USD_PER_MILLION_INPUT")),
                usd_per_million_output: r.dollars(&format!("TRUEREEL_JUDGE_{name}_USD_PER_MILLION_OUTPUT")),
            }
        };
        let mut named: Vec<VisionKind> = Vec::new();
        for j in r.opt_list("TRUEREEL_JUDGE").unwrap_or_default() {
            let kind = match j.as_str() {
                "gemini" => VisionKind::Gemini,
                "openai" => VisionKind::OpenAi,
                "anthropic" => VisionKind::Anthropic,
                _ => continue,
            };
            if !named.contains(&kind) {
                named.push(kind);
            }
        }
        let judge = JudgeConfig {
            vision: named,
            gemini: vision(VisionKind::Gemini, "TRUEREEL_GEMINI_BASE_URL", "v1beta"),
            openai: vision(VisionKind::OpenAi, "TRUEREEL_OPENAI_BASE_URL", "v1"),
            anthropic: vision(VisionKind::Anthropic, "TRUEREEL_ANTHROPIC_BASE_URL", "v1"),
            frames_per_shot: r.whole("TRUEREEL_JUDGE_FRAMES_PER_SHOT") as u32,
            timeout: Duration::from_secs(r.whole("TRUEREEL_JUDGE_TIMEOUT_SECS")),
        };
        // On Lambda the keys may be in the provider secret, read at cold start (and checked when wiring).
        if r.opt_text("TRUEREEL_PROVIDER_SECRET_ARN").is_none() {
            let missing: Vec<Problem> = (judge.vision.iter())
                .filter(|k| judge.endpoint(**k).endpoint.key.is_none())
                .map(|k| Problem {
                    name: k.key_var().into(),
                    value: String::new(),
                    accepts: format!("an API key when TRUEREEL_JUDGE names {}", k.as_str()),
                    detail: "it is not set".into(),
                })
                .collect();
            if !missing.is_empty() {
                return Err(ConfigError { problems: missing });
            }
        }
        let runner = RunnerConfig {
            concurrency: Stage::ALL
                .into_iter()
                .map(|s| (s, r.whole(&format!("TRUEREEL_CONCURRENCY_{}", s.as_str().to_uppercase())) as usize))
                .collect(),
            visibility: Duration::from_secs(r.whole("TRUEREEL_VISIBILITY_SECONDS")),
        };
        let aws = AwsConfig {
            endpoint_url: r.opt_text("AWS_ENDPOINT_URL"),
            region: r.opt_text("AWS_REGION"),
            bucket: r.text("TRUEREEL_BUCKET"),
            table: r.text("TRUEREEL_TABLE"),
            queue_prefix: r.text("TRUEREEL_QUEUE_PREFIX"),
            queue_urls: Stage::ALL
                .into_iter()
                .filter_map(|s| Some((s, r.opt_text(&format!("TRUEREEL_QUEUE_URL_{}", s.as_str().to_uppercase()))?)))
                .collect(),
        };
        let backend = match r.text("TRUEREEL_BACKEND").as_str() {
            "aws" => Backend::Aws,
            _ => Backend::Embedded,
        };
        Ok(Self {
            data_dir: r.path("TRUEREEL_DATA_DIR"),
            store: r.opt_text("TRUEREEL_STORE"),
            platform: r.opt_text("TRUEREEL_PLATFORM"),
            only: r.opt_list("TRUEREEL_ONLY"),
            backend,
            log: r.opt_text("TRUEREEL_LOG"),
            settings,
            fetch,
            media,
            voice,
            plan,
            writer,
            judge,
            still_motion_per_second: r.dollars("TRUEREEL_STILL_MOTION_USD_PER_SECOND"),
            video: VideoConfig {
                chain: r.opt_list("TRUEREEL_VIDEO_PROVIDER").unwrap_or_else(|| vec!["still-motion".into()]),
                runway: r.api("RUNWAY"),
                kling: KlingConfig {
                    api: r.api("KLING"),
                    access_key: r.opt_text("TRUEREEL_KLING_ACCESS_KEY").map(Secret::new),
                    secret_key: r.opt_text("TRUEREEL_KLING_SECRET_KEY").map(Secret::new),
                    mode: r.text("TRUEREEL_KLING_MODE"),
                },
                veo: VeoConfig {
                    api: r.api("VEO"),
                    project: r.opt_text("TRUEREEL_VEO_PROJECT"),
                    location: r.text("TRUEREEL_VEO_LOCATION"),
                },
                seedance: r.api("SEEDANCE"),
                fal: r.api("FAL"),
                replicate: ReplicateConfig {
                    api: r.api("REPLICATE"),
                    image_input: r.text("TRUEREEL_REPLICATE_IMAGE_INPUT"),
                },
                luma: LumaConfig {
                    api: r.api("LUMA"),
                    photo_base_url: r
                        .opt_text("TRUEREEL_LUMA_PHOTO_BASE_URL")
                        .map(|u| u.trim_end_matches('/').to_string()),
                },
            },
            runner,
            serve: ServeConfig {
                bind: r.text("TRUEREEL_BIND").parse().expect("TRUEREEL_BIND was checked as an address"),
                public_base_url: r.opt_text("TRUEREEL_PUBLIC_BASE_URL"),
                cache_bytes: r.whole("TRUEREEL_SERVE_CACHE_MB") << 20,
            },
            aws,
            provider_secret_arn: r.opt_text("TRUEREEL_PROVIDER_SECRET_ARN"),
            entries,
        })
    }

    /// Every setting as resolved, in [`DEFS`] order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Where `var`'s value came from.
    pub fn source(&self, var: &str) -> Source {
        self.entries.iter().find(|e| e.def.var == var).map_or(Source::Default, |e| e.source)
    }

    /// `TRUEREEL_*` variables in `vars` that are no setting (a typo, or a setting that was renamed).
    pub fn unknown_vars(vars: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut unknown: Vec<String> = vars
            .into_iter()
            .filter(|v| v.starts_with("TRUEREEL_"))
            .filter(|v| defs::find(v).is_none() && !defs::NOT_SETTINGS.contains(&v.as_str()))
            .collect();
        unknown.sort();
        unknown
    }
}

/// Typed reads of resolved entries. Each setting's kind is fixed by its definition, so a read of the
/// wrong shape is a programming error (and the default configuration reads every one in a test).
struct Read<'a>(&'a [Entry]);

impl Read<'_> {
    fn value(&self, var: &str) -> Option<&Value> {
        let entry = self.0.iter().find(|e| e.def.var == var).unwrap_or_else(|| panic!("{var} is not defined"));
        entry.value.as_ref()
    }
    fn bad(var: &str, v: Option<&Value>) -> ! {
        panic!("{var} read as the wrong kind: {v:?}")
    }
    /// A paid video provider's settings, `TRUEREEL_{name}_…` (Veo's key is its credentials).
    fn api(&self, name: &str) -> ApiConfig {
        let var = |what: &str| format!("TRUEREEL_{name}_{what}");
        let key = match name {
            "VEO" => "TRUEREEL_VEO_CREDENTIALS".to_string(),
            "KLING" => String::new(),
            _ => var("API_KEY"),
        };
        ApiConfig {
            base_url: self.text(&var("BASE_URL")).trim_end_matches('/').to_string(),
            api_key: if key.is_empty() { None } else { self.opt_text(&key).map(Secret::new) },
            model: self.text(&var("MODEL")),
            usd_per_second: self.opt_dollars(&var("USD_PER_SECOND")),
            concurrency: self.whole(&var("CONCURRENCY")) as u32,
            poll_interval: Duration::from_secs(self.whole(&var("POLL_SECS"))),
            allow_private_network: self.bool("TRUEREEL_ALLOW_PRIVATE_NETWORK"),
        }
    }

    fn whole(&self, var: &str) -> u64 {
        match self.value(var) {
            Some(Value::Whole(n)) => *n,
            v => Self::bad(var, v),
        }
    }
    fn bool(&self, var: &str) -> bool {
        match self.value(var) {
            Some(Value::Bool(b)) => *b,
            v => Self::bad(var, v),
        }
    }
    fn size(&self, var: &str) -> (u32, u32) {
        match self.value(var) {
            Some(Value::Size(w, h)) => (*w, *h),
            v => Self::bad(var, v),
        }
    }
    fn opt_dollars(&self, var: &str) -> Option<Usd> {
        match self.value(var) {
            Some(Value::Dollars(d)) => Some(*d),
            None => None,
            v => Self::bad(var, v),
        }
    }
    fn opt_fraction(&self, var: &str) -> Option<f64> {
        match self.value(var) {
            Some(Value::Fraction(f)) => Some(*f),
            None => None,
            v => Self::bad(var, v),
        }
    }
    fn dollars(&self, var: &str) -> Usd {
        self.opt_dollars(var).unwrap_or_else(|| Self::bad(var, None))
    }
    fn opt_text(&self, var: &str) -> Option<String> {
        match self.value(var) {
            Some(Value::Text(t)) => Some(t.clone()),
            None => None,
            v => Self::bad(var, v),
        }
    }
    fn text(&self, var: &str) -> String {
        self.opt_text(var).unwrap_or_else(|| Self::bad(var, None))
    }
    fn opt_path(&self, var: &str) -> Option<PathBuf> {
        match self.value(var) {
            Some(Value::Path(p)) => Some(p.clone()),
            None => None,
            v => Self::bad(var, v),
        }
    }
    fn path(&self, var: &str) -> PathBuf {
        self.opt_path(var).unwrap_or_else(|| Self::bad(var, None))
    }
    fn opt_list(&self, var: &str) -> Option<Vec<String>> {
        match self.value(var) {
            Some(Value::List(l)) => Some(l.clone()),
            None => None,
            v => Self::bad(var, v),
        }
    }
}

#[cfg(test)]
mod tests;
