//! Every setting, defined once: its environment variable, its flag, what it accepts, its default and
//! what it means. [`Config::load`](super::Config::load), `truereel config` and the README's table all
//! read this list.

use super::value::Kind;

/// One setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Def {
    /// The environment variable (`TRUEREEL_…`, or `AWS_…` for the AWS SDK's own).
    pub var: &'static str,
    /// The command-line flag that sets it, if any (flags override the environment).
    pub flag: Option<&'static str>,
    pub kind: Kind,
    /// The default, in the same syntax as the variable; `None` when unset has its own meaning.
    pub default: Option<&'static str>,
    /// What it means to leave it unset when there is no default ("unlimited", "AWS itself").
    pub unset: &'static str,
    pub meaning: &'static str,
    /// What part of the program reads it (groups the README's table).
    pub group: Group,
}

/// The parts of the program, in the order `truereel config` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Run,
    Reel,
    Fetch,
    Media,
    Voice,
    Writer,
    Judge,
    Video,
    Runner,
    Serve,
    Aws,
}

impl Group {
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Run => "run",
            Group::Reel => "reel",
            Group::Fetch => "fetch",
            Group::Media => "media",
            Group::Voice => "voice",
            Group::Writer => "writer",
            Group::Judge => "judge",
            Group::Video => "video",
            Group::Runner => "runner",
            Group::Serve => "serve",
            Group::Aws => "aws",
        }
    }
}

/// The judges `TRUEREEL_JUDGE` may name (`local` always runs).
pub const JUDGES: &[&str] = &["local", "gemini", "openai", "anthropic"];
/// The video models `TRUEREEL_VIDEO_PROVIDER` may name.
pub const VIDEO_PROVIDERS: &[&str] =
    &["still-motion", "runway", "kling", "veo", "seedance", "fal", "replicate", "luma"];
/// The paid ones, each with its own settings (`TRUEREEL_<NAME>_…`) and budget line.
pub const PAID_VIDEO_PROVIDERS: &[&str] = &["runway", "kling", "veo", "seedance", "fal", "replicate", "luma"];
/// Kling's models truereel knows the price of.
pub const KLING_MODELS: &[&str] = &["kling-v1-6", "kling-v2-5-turbo", "kling-v3"];
/// Veo 3.1 on Vertex AI (the Gemini API's previews are retired).
pub const VEO_MODELS: &[&str] = &["veo-3.1-generate-001", "veo-3.1-fast-generate-001"];
/// Runway's image-to-video models truereel knows the price and request shape of.
pub const RUNWAY_MODELS: &[&str] = &["gen4_turbo", "gen4.5", "veo3.1", "veo3.1_fast", "seedance2"];

const fn def(group: Group, var: &'static str, kind: Kind, default: Option<&'static str>, meaning: &'static str) -> Def {
    Def { var, flag: None, kind, default, unset: "", meaning, group }
}

impl Def {
    const fn flag(mut self, flag: &'static str) -> Self {
        self.flag = Some(flag);
        self
    }
    const fn unset(mut self, unset: &'static str) -> Self {
        self.unset = unset;
        self
    }
}

use Group::*;
use Kind::*;

const PRESETS: &[&str] =
    &["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"];

/// Every setting truereel reads, in the order it lists them.
pub static DEFS: &[Def] = &[
    // What to run, and where.
    def(Run, "TRUEREEL_DATA_DIR", Path, Some("truereel-data"), "where the embedded state, queues and blobs live")
        .flag("--data-dir"),
    def(Run, "TRUEREEL_STORE", Store, None, "the store: a storefront URL or a folder with a products.json")
        .flag("--store")
        .unset("given per command"),
    def(
        Run,
        "TRUEREEL_PLATFORM",
        OneOf(&["shopify", "woocommerce", "sitemap", "page"]),
        None,
        "the platform of a storefront URL",
    )
    .flag("--platform")
    .unset("detected"),
    def(Run, "TRUEREEL_ONLY", Handles, None, "only these product handles, comma-separated")
        .flag("--only")
        .unset("every product"),
    def(
        Run,
        "TRUEREEL_BACKEND",
        OneOf(&["embedded", "aws"]),
        Some("embedded"),
        "where state, queues and blobs live: one machine, or AWS",
    )
    .flag("--backend"),
    def(Run, "TRUEREEL_LOG", LogFilter, None, "log filter (`info`, `truereel=debug`, …)")
        .unset("`warn` on a terminal, else `info`"),
    // The reel.
    def(Reel, "TRUEREEL_RESOLUTION", Resolution, Some("1080x1920"), "reel size, WIDTHxHEIGHT").flag("--resolution"),
    def(Reel, "TRUEREEL_FPS", Whole { min: 1, max: 120 }, Some("30"), "frames per second"),
    def(
        Reel,
        "TRUEREEL_MIN_REEL_MS",
        Whole { min: 6_000, max: 60_000 },
        Some("6000"),
        "shortest reel, in milliseconds (a brand kit may narrow it)",
    ),
    def(
        Reel,
        "TRUEREEL_MAX_REEL_MS",
        Whole { min: 6_000, max: 60_000 },
        Some("60000"),
        "longest reel, in milliseconds (a brand kit may narrow it)",
    ),
    def(Reel, "TRUEREEL_LENGTH", Whole { min: 6, max: 60 }, Some("15"), "the reel length planned for, in seconds")
        .flag("--length"),
    def(Reel, "TRUEREEL_PER_VARIANT", Bool, Some("false"), "one reel per colour variant that has photos")
        .flag("--per-variant"),
    def(
        Reel,
        "TRUEREEL_WHOLE_REEL",
        Bool,
        Some("false"),
        "one product-ad clip for the whole reel (Runway's product_ad recipe, 15 s at most) instead of one per shot",
    )
    .flag("--whole-reel"),
    def(
        Reel,
        "TRUEREEL_APPROVE_PLAN",
        Bool,
        Some("false"),
        "stop each reel after planning until `truereel approve` (nothing paid before)",
    )
    .flag("--approve-plan"),
    def(
        Reel,
        "TRUEREEL_MIN_SUITABILITY",
        Fraction,
        None,
        "products rated below this (0–1) as candidates for generated video are handled as the next setting says",
    )
    .flag("--min-suitability")
    .unset("every product is a candidate"),
    def(
        Reel,
        "TRUEREEL_BELOW_SUITABILITY",
        OneOf(&["offline", "park"]),
        Some("offline"),
        "a poor candidate's reel: `offline` renders it without a paid video model, `park` stops it for a person",
    )
    .flag("--below-suitability"),
    def(Reel, "TRUEREEL_BRAND", File, None, "the brand kit (brand.toml)")
        .flag("--brand")
        .unset("`brand.toml` beside a folder store, if there is one"),
    def(Reel, "TRUEREEL_BUDGET_USD", Dollars { max: 1e9 }, None, "the most one run may spend on paid calls")
        .flag("--budget-usd")
        .unset("unlimited"),
    def(Reel, "TRUEREEL_REEL_BUDGET_USD", Dollars { max: 1e9 }, Some("5"), "the most one reel may spend"),
    def(Reel, "TRUEREEL_MAX_ATTEMPTS", Whole { min: 1, max: 20 }, Some("3"), "attempts per shot"),
    def(
        Reel,
        "TRUEREEL_MAX_FLAG_PASSES",
        Whole { min: 0, max: 20 },
        Some("2"),
        "safety passes a published reel may be reopened for by platform flags (`truereel flag`)",
    ),
    def(
        Reel,
        "TRUEREEL_STILL_MOTION_USD_PER_SECOND",
        Dollars { max: 100.0 },
        Some("0"),
        "what the still-motion renderer charges per second, to rehearse budgets before a paid provider",
    ),
    // The storefront fetcher.
    def(
        Fetch,
        "TRUEREEL_ALLOW_PRIVATE_NETWORK",
        Bool,
        Some("false"),
        "let the crawler reach loopback and private addresses (never cloud metadata)",
    )
    .flag("--allow-private-network"),
    def(
        Fetch,
        "TRUEREEL_TRUSTED_HOSTS",
        HostPorts,
        None,
        "exact host:port pairs reachable even on private addresses, comma-separated",
    )
    .unset("none"),
    def(Fetch, "TRUEREEL_IGNORE_ROBOTS", Bool, Some("false"), "skip robots.txt (only for your own sites)"),
    def(Fetch, "TRUEREEL_USER_AGENT", Text, None, "the User-Agent header")
        .unset("truereel/<version> (+https://github.com/truereel/truereel)"),
    def(
        Fetch,
        "TRUEREEL_FETCH_TIMEOUT_SECS",
        Whole { min: 1, max: 3600 },
        Some("30"),
        "one attempt, send to last body byte",
    ),
    def(Fetch, "TRUEREEL_FETCH_CONNECT_TIMEOUT_SECS", Whole { min: 1, max: 600 }, Some("10"), "TCP and TLS connect"),
    def(Fetch, "TRUEREEL_FETCH_MAX_REDIRECTS", Whole { min: 0, max: 20 }, Some("5"), "redirect hops followed"),
    def(
        Fetch,
        "TRUEREEL_FETCH_ATTEMPTS",
        Whole { min: 1, max: 10 },
        Some("3"),
        "attempts per hop for transient failures",
    ),
    def(
        Fetch,
        "TRUEREEL_FETCH_MAX_RETRY_WAIT_SECS",
        Whole { min: 0, max: 3600 },
        Some("30"),
        "longest wait the fetcher sleeps itself before a retry",
    ),
    def(Fetch, "TRUEREEL_HOST_CONCURRENCY", Whole { min: 1, max: 64 }, Some("4"), "requests in flight per host"),
    def(
        Fetch,
        "TRUEREEL_HOST_INTERVAL_MS",
        Whole { min: 0, max: 60_000 },
        Some("100"),
        "least time between request starts per host",
    ),
    def(
        Fetch,
        "TRUEREEL_FETCH_MIN_RATE",
        Whole { min: 0, max: 104_857_600 },
        Some("1024"),
        "a transfer slower than this many bytes per second over the window is cut (0: never)",
    ),
    def(
        Fetch,
        "TRUEREEL_FETCH_MIN_RATE_WINDOW_SECS",
        Whole { min: 1, max: 600 },
        Some("10"),
        "the window the minimum rate is measured over",
    ),
    def(
        Fetch,
        "TRUEREEL_FETCH_PHOTO_BUDGET_SECS",
        Whole { min: 1, max: 3600 },
        Some("60"),
        "the most one photo may take, every attempt and wait included; then it is skipped",
    ),
    def(
        Fetch,
        "TRUEREEL_FETCH_PRODUCT_BUDGET_SECS",
        Whole { min: 1, max: 43_200 },
        Some("300"),
        "the most one product's photos may take together; the photos left are skipped",
    ),
    def(
        Fetch,
        "TRUEREEL_MAX_PHOTOS_PER_PRODUCT",
        Whole { min: 1, max: 500 },
        Some("30"),
        "photos taken per product, the first ones in the store's order",
    ),
    // Media tools.
    def(Media, "TRUEREEL_FFMPEG", Path, Some("ffmpeg"), "the ffmpeg binary"),
    def(Media, "TRUEREEL_FFPROBE", Path, Some("ffprobe"), "the ffprobe binary"),
    def(Media, "TRUEREEL_X264_PRESET", OneOf(PRESETS), Some("veryfast"), "libx264 preset for renders and assembly"),
    def(Media, "TRUEREEL_CRF", Whole { min: 0, max: 51 }, Some("20"), "libx264 quality (lower is better)"),
    // Voices.
    def(
        Voice,
        "TRUEREEL_VOICE",
        OneOf(&["auto", "piper", "espeak", "polly", "elevenlabs", "openai"]),
        Some("auto"),
        "which engine speaks: auto is Piper for the languages of its installed voices and espeak-ng for the rest; \
         polly, elevenlabs and openai are paid",
    ),
    def(
        Voice,
        "TRUEREEL_TOOLS_DIR",
        Path,
        Some(".tools"),
        "where scripts/setup.sh installs Piper and its voices (<dir>/piper); a relative path is looked for in the \
         current folder, then two folders above the executable's (the checkout of target/debug/truereel)",
    ),
    def(Voice, "TRUEREEL_ESPEAK", Path, Some("espeak-ng"), "the espeak-ng binary"),
    def(
        Voice,
        "TRUEREEL_ESPEAK_VOICE",
        Text,
        Some("en-us"),
        "the espeak-ng voice for its own language; other languages get espeak-ng's preferred voice for them",
    ),
    def(
        Voice,
        "TRUEREEL_ESPEAK_WPM",
        Whole { min: 80, max: 450 },
        Some("165"),
        "espeak-ng speaking rate, words per minute",
    ),
    def(
        Voice,
        "TRUEREEL_PIPER_MODEL",
        File,
        None,
        "a Piper voice model (.onnx, its .onnx.json beside it), the first choice for its language",
    )
    .unset("the voices in <tools>/piper/voices"),
    def(Voice, "TRUEREEL_PIPER", File, None, "the piper binary").unset("<tools>/piper/bin/piper, else `piper` on PATH"),
    def(Voice, "TRUEREEL_POLLY_VOICE", Text, Some("Joanna"), "the Amazon Polly VoiceId for its own language"),
    def(
        Voice,
        "TRUEREEL_POLLY_ENGINE",
        OneOf(&["neural", "standard", "generative", "long-form"]),
        Some("neural"),
        "the Amazon Polly engine",
    ),
    def(
        Voice,
        "TRUEREEL_POLLY_USD_PER_MILLION_CHARS",
        Dollars { max: 10_000.0 },
        None,
        "what Polly charges per million characters (two calls a line: audio and word marks)",
    )
    .unset("the engine's list price: neural 16, standard 4, generative 30, long-form 100"),
    def(Voice, "TRUEREEL_ELEVENLABS_API_KEY", Secret, None, "the ElevenLabs API key (never shown)").unset("none"),
    def(Voice, "TRUEREEL_ELEVENLABS_BASE_URL", Url, Some("https://api.elevenlabs.io"), "the ElevenLabs API"),
    def(
        Voice,
        "TRUEREEL_ELEVENLABS_VOICE",
        Text,
        Some("21m00Tcm4TlvDq8ikWAM"),
        "the ElevenLabs voice id (the default is the premade Rachel)",
    ),
    def(Voice, "TRUEREEL_ELEVENLABS_MODEL", Text, Some("eleven_multilingual_v2"), "the ElevenLabs model id"),
    def(
        Voice,
        "TRUEREEL_ELEVENLABS_USD_PER_MILLION_CHARS",
        Dollars { max: 10_000.0 },
        Some("300"),
        "what ElevenLabs charges per million characters (the Creator plan's overage rate; less on larger plans)",
    ),
    def(
        Voice,
        "TRUEREEL_OPENAI_API_KEY",
        Secret,
        None,
        "the OpenAI API key, for its voice and its writer (never shown)",
    )
    .unset("none"),
    def(Voice, "TRUEREEL_OPENAI_BASE_URL", Url, Some("https://api.openai.com"), "the OpenAI API (a proxy or a stub)"),
    def(Voice, "TRUEREEL_OPENAI_VOICE", Text, Some("coral"), "the OpenAI voice"),
    def(Voice, "TRUEREEL_OPENAI_TTS_MODEL", Text, Some("gpt-4o-mini-tts"), "the OpenAI speech model"),
    def(
        Voice,
        "TRUEREEL_OPENAI_USD_PER_MILLION_CHARS",
        Dollars { max: 10_000.0 },
        Some("15"),
        "what OpenAI speech costs per million characters (gpt-4o-mini-tts: about $0.015 a minute)",
    ),
    // The script writer.
    def(
        Writer,
        "TRUEREEL_WRITER",
        OneOf(&["template", "openai", "anthropic", "gemini"]),
        Some("template"),
        "who writes the spoken lines: the offline template (from the copy alone) or an LLM",
    ),
    def(
        Writer,
        "TRUEREEL_ANTHROPIC_API_KEY",
        Secret,
        None,
        "the Anthropic API key (required for the anthropic writer)",
    )
    .unset("none"),
    def(Writer, "TRUEREEL_GEMINI_API_KEY", Secret, None, "the Gemini API key (required for the gemini writer)")
        .unset("none"),
    def(Writer, "TRUEREEL_WRITER_OPENAI_MODEL", Text, Some("gpt-5.4-mini"), "the OpenAI model that writes lines"),
    def(
        Writer,
        "TRUEREEL_WRITER_ANTHROPIC_MODEL",
        Text,
        Some("claude-sonnet-4-6"),
        "the Anthropic model that writes lines",
    ),
    def(Writer, "TRUEREEL_WRITER_GEMINI_MODEL", Text, Some("gemini-3.5-flash"), "the Gemini model that writes lines"),
    def(
        Writer,
        "TRUEREEL_ANTHROPIC_BASE_URL",
        Url,
        Some("https://api.anthropic.com"),
        "the Anthropic API (a proxy or a stub)",
    ),
    def(
        Writer,
        "TRUEREEL_GEMINI_BASE_URL",
        Url,
        Some("https://generativelanguage.googleapis.com"),
        "the Gemini API (a proxy or a stub)",
    ),
    def(
        Writer,
        "TRUEREEL_WRITER_TIMEOUT_SECS",
        Whole { min: 1, max: 600 },
        Some("60"),
        "the longest one call to an LLM writer may take",
    ),
    // The judges.
    def(
        Judge,
        "TRUEREEL_JUDGE",
        Chain(JUDGES),
        Some("local"),
        "who judges every reel: the local judge always runs; a vision model (gemini watches the video, openai and \
         anthropic see sampled frames) is a second pair of eyes, and a reel must pass every judge named",
    )
    .flag("--judge"),
    def(Judge, "TRUEREEL_JUDGE_GEMINI_MODEL", Text, Some("gemini-3.5-flash"), "the Gemini model that watches reels"),
    def(Judge, "TRUEREEL_JUDGE_OPENAI_MODEL", Text, Some("gpt-5.4-mini"), "the OpenAI model that judges frames"),
    def(Judge, "TRUEREEL_JUDGE_ANTHROPIC_MODEL", Text, Some("claude-sonnet-4-6"), "the Anthropic model that judges frames"),
    def(
        Judge,
        "TRUEREEL_JUDGE_GEMINI_USD_PER_MILLION_INPUT",
        Dollars { max: 1000.0 },
        Some("0.50"),
        "what the Gemini judge's model charges per million input tokens (re-check the list price)",
    ),
    def(
        Judge,
        "TRUEREEL_JUDGE_GEMINI_USD_PER_MILLION_OUTPUT",
        Dollars { max: 1000.0 },
        Some("3"),
        "what the Gemini judge's model charges per million output tokens",
    ),
    def(
        Judge,
        "TRUEREEL_JUDGE_OPENAI_USD_PER_MILLION_INPUT",
        Dollars { max: 1000.0 },
        Some("0.75"),
        "what the OpenAI judge's model charges per million input tokens (re-check the list price)",
    ),
    def(
        Judge,
        "TRUEREEL_JUDGE_OPENAI_USD_PER_MILLION_OUTPUT",
        Dollars { max: 1000.0 },
        Some("4.50"),
        "what the OpenAI judge's model charges per million output tokens",
    ),
    def(
        Judge,
        "TRUEREEL_JUDGE_ANTHROPIC_USD_PER_MILLION_INPUT",
        Dollars { max: 1000.0 },
        Some("3"),
        "what the Anthropic judge's model charges per million input tokens (re-check the list price)",
    ),
    def(
        Judge,
        "TRUEREEL_JUDGE_ANTHROPIC_USD_PER_MILLION_OUTPUT",
        Dollars { max: 1000.0 },
        Some("15"),
        "what the Anthropic judge's model charges per million output tokens",
    ),
    def(
        Judge,
        "TRUEREEL_JUDGE_FRAMES_PER_SHOT",
        Whole { min: 1, max: 8 },
        Some("3"),
        "how many frames of each shot a frame-reading judge (openai, anthropic) sees, beside the shot's photo",
    ),
    def(
        Judge,
        "TRUEREEL_JUDGE_TIMEOUT_SECS",
        Whole { min: 5, max: 900 },
        Some("120"),
        "the longest one call to a vision judge may take",
    ),
    // Video models.
    def(
        Video,
        "TRUEREEL_VIDEO_PROVIDER",
        Chain(VIDEO_PROVIDERS),
        Some("still-motion"),
        "which video model animates the shots; a list is a chain: a shot goes to the first with a free slot, and a \
         provider out of quota, credit or its budget line is skipped for the rest of the run; still-motion is the \
         offline renderer",
    )
    .flag("--video-provider"),
    def(
        Video,
        "TRUEREEL_JOB_TIMEOUT_SECS",
        Whole { min: 30, max: 86_400 },
        Some("1800"),
        "how long a paid job may run before it is cancelled (and resubmitted only once the cancel is confirmed)",
    ),
    def(
        Reel,
        "TRUEREEL_ASPECT",
        Chain(&["9:16", "4:5", "1:1"]),
        Some("9:16"),
        "the shapes each reel is made in, one file each (9:16 is always made; 4:5 and 1:1 are cut from the same \
         clips, captions laid out for the shape)",
    )
    .flag("--aspect"),
    def(Video, "TRUEREEL_MAX_CLIP_MB", Whole { min: 1, max: 4096 }, Some("512"), "the largest clip mirrored, MB"),
    def(Video, "TRUEREEL_RUNWAY_API_KEY", Secret, None, "the Runway API key (never shown)").unset("none"),
    def(
        Video,
        "TRUEREEL_RUNWAY_BASE_URL",
        Url,
        Some("https://api.dev.runwayml.com"),
        "the Runway API (plain http only on loopback, with --allow-private-network)",
    ),
    def(Video, "TRUEREEL_RUNWAY_MODEL", OneOf(RUNWAY_MODELS), Some("gen4_turbo"), "the Runway image-to-video model"),
    def(
        Video,
        "TRUEREEL_RUNWAY_USD_PER_SECOND",
        Dollars { max: 10.0 },
        None,
        "what Runway charges per second of video",
    )
    .unset("the model's list price: gen4_turbo 0.05, gen4.5 0.12, veo3.1 0.40, veo3.1_fast 0.15, seedance2 0.36"),
    def(
        Video,
        "TRUEREEL_RUNWAY_BUDGET_USD",
        Dollars { max: 1e9 },
        None,
        "the most one run may spend on Runway; past it Runway is left out and the chain falls over to the next provider",
    )
    .unset("no line of its own (the run and reel budgets still hold)"),
    def(
        Video,
        "TRUEREEL_RUNWAY_CONCURRENCY",
        Whole { min: 1, max: 100 },
        Some("1"),
        "Runway jobs running at once, across every worker and Lambda (the account tier's limit: 1 at tier 1)",
    ),
    def(
        Video,
        "TRUEREEL_RUNWAY_POLL_SECS",
        Whole { min: 1, max: 300 },
        Some("5"),
        "the first wait before asking a Runway job again (it doubles up to a minute)",
    ),
    def(Video, "TRUEREEL_KLING_ACCESS_KEY", Secret, None, "the Kling access key (the JWT's issuer; never shown)").unset("none"),
    def(Video, "TRUEREEL_KLING_SECRET_KEY", Secret, None, "the Kling secret key (signs the JWT; never shown)").unset("none"),
    def(Video, "TRUEREEL_KLING_MODE", OneOf(&["std", "pro"]), Some("std"), "Kling's quality mode (pro costs twice std)"),
    def(Video, "TRUEREEL_KLING_BASE_URL", Url, Some("https://api-singapore.klingai.com"), "Kling's API (plain http only on loopback, with --allow-private-network)"),
    def(Video, "TRUEREEL_KLING_MODEL", OneOf(KLING_MODELS), Some("kling-v2-5-turbo"), "the Kling model (`multi-image2video` uses kling-v1-6 whatever is chosen)"),
    def(Video, "TRUEREEL_KLING_USD_PER_SECOND", Dollars { max: 10.0 }, None, "what Kling charges per second of video")
        .unset("the model's list price: kling-v1-6 0.056, kling-v2-5-turbo 0.042, kling-v3 0.084 (pro 0.168); other pro prices must be set"),
    def(
        Video,
        "TRUEREEL_KLING_BUDGET_USD",
        Dollars { max: 1e9 },
        None,
        "the most one run may spend on Kling; past it Kling is left out and the chain falls over to the next provider",
    )
    .unset("no line of its own (the run and reel budgets still hold)"),
    def(Video, "TRUEREEL_KLING_CONCURRENCY", Whole { min: 1, max: 100 }, Some("2"), "Kling jobs running at once, across every worker and Lambda"),
    def(Video, "TRUEREEL_KLING_POLL_SECS", Whole { min: 1, max: 300 }, Some("10"), "the first wait before asking a Kling job again (it grows up to a minute)"),
    def(Video, "TRUEREEL_VEO_CREDENTIALS", Secret, None, "the Google service account's JSON key, or the path of its file (never shown)").unset("none"),
    def(Video, "TRUEREEL_VEO_PROJECT", Text, None, "the Google Cloud project Veo runs in").unset("the service account's project"),
    def(Video, "TRUEREEL_VEO_LOCATION", Text, Some("us-central1"), "the Vertex AI region"),
    def(Video, "TRUEREEL_VEO_BASE_URL", Url, Some("https://us-central1-aiplatform.googleapis.com"), "Veo on Vertex AI's API (plain http only on loopback, with --allow-private-network)"),
    def(Video, "TRUEREEL_VEO_MODEL", OneOf(VEO_MODELS), Some("veo-3.1-fast-generate-001"), "the Veo 3.1 model on Vertex AI"),
    def(Video, "TRUEREEL_VEO_USD_PER_SECOND", Dollars { max: 10.0 }, None, "what Veo on Vertex AI charges per second of video")
        .unset("the model's list price: veo-3.1-generate-001 0.40, veo-3.1-fast-generate-001 0.15"),
    def(
        Video,
        "TRUEREEL_VEO_BUDGET_USD",
        Dollars { max: 1e9 },
        None,
        "the most one run may spend on Veo; past it Veo is left out and the chain falls over to the next provider",
    )
    .unset("no line of its own (the run and reel budgets still hold)"),
    def(Video, "TRUEREEL_VEO_CONCURRENCY", Whole { min: 1, max: 100 }, Some("2"), "Veo on Vertex AI jobs running at once, across every worker and Lambda"),
    def(Video, "TRUEREEL_VEO_POLL_SECS", Whole { min: 1, max: 300 }, Some("10"), "the first wait before asking a Veo on Vertex AI job again (it grows up to a minute)"),
    def(Video, "TRUEREEL_SEEDANCE_API_KEY", Secret, None, "the ModelArk API key of the base URL's region (never shown)").unset("none"),
    def(Video, "TRUEREEL_SEEDANCE_BASE_URL", Url, Some("https://ark.ap-southeast.bytepluses.com/api/v3"), "Seedance on BytePlus ModelArk's API (plain http only on loopback, with --allow-private-network)"),
    def(Video, "TRUEREEL_SEEDANCE_MODEL", Text, Some("dreamina-seedance-2-0-260128"), "the Seedance model id on ModelArk"),
    def(Video, "TRUEREEL_SEEDANCE_USD_PER_SECOND", Dollars { max: 10.0 }, None, "what Seedance on BytePlus ModelArk charges per second of video")
        .unset("must be set: ModelArk's rates are not in the reference (a run refuses to start without it when Seedance is chosen)"),
    def(
        Video,
        "TRUEREEL_SEEDANCE_BUDGET_USD",
        Dollars { max: 1e9 },
        None,
        "the most one run may spend on Seedance; past it Seedance is left out and the chain falls over to the next provider",
    )
    .unset("no line of its own (the run and reel budgets still hold)"),
    def(Video, "TRUEREEL_SEEDANCE_CONCURRENCY", Whole { min: 1, max: 100 }, Some("2"), "Seedance on BytePlus ModelArk jobs running at once, across every worker and Lambda"),
    def(Video, "TRUEREEL_SEEDANCE_POLL_SECS", Whole { min: 1, max: 300 }, Some("5"), "the first wait before asking a Seedance on BytePlus ModelArk job again (it grows up to a minute)"),
    def(Video, "TRUEREEL_FAL_API_KEY", Secret, None, "the fal API key (never shown)").unset("none"),
    def(Video, "TRUEREEL_FAL_BASE_URL", Url, Some("https://queue.fal.run"), "fal's API (plain http only on loopback, with --allow-private-network)"),
    def(Video, "TRUEREEL_FAL_MODEL", Text, Some("fal-ai/kling-video/o3/standard/reference-to-video"), "the fal model id (any image-to-video or reference-to-video model fal hosts)"),
    def(Video, "TRUEREEL_FAL_USD_PER_SECOND", Dollars { max: 10.0 }, None, "what fal charges per second of video")
        .unset("the list price of the known ids (Kling O3/V3 standard 0.084, pro 0.168; Kling 2.5 turbo standard 0.042; Veo 3.1 0.40, fast 0.15); another id must have its price set"),
    def(
        Video,
        "TRUEREEL_FAL_BUDGET_USD",
        Dollars { max: 1e9 },
        None,
        "the most one run may spend on fal; past it fal is left out and the chain falls over to the next provider",
    )
    .unset("no line of its own (the run and reel budgets still hold)"),
    def(Video, "TRUEREEL_FAL_CONCURRENCY", Whole { min: 1, max: 100 }, Some("2"), "fal jobs running at once, across every worker and Lambda"),
    def(Video, "TRUEREEL_FAL_POLL_SECS", Whole { min: 1, max: 300 }, Some("3"), "the first wait before asking a fal job again (it grows up to a minute)"),
    def(Video, "TRUEREEL_REPLICATE_API_KEY", Secret, None, "the Replicate API token (never shown)").unset("none"),
    def(
        Video,
        "TRUEREEL_REPLICATE_IMAGE_INPUT",
        Text,
        Some("start_image"),
        "the model input the shot's photo goes in (models name it differently: start_image, image, first_frame_image)",
    ),
    def(Video, "TRUEREEL_REPLICATE_BASE_URL", Url, Some("https://api.replicate.com/v1"), "Replicate's API (plain http only on loopback, with --allow-private-network)"),
    def(Video, "TRUEREEL_REPLICATE_MODEL", Text, Some("kwaivgi/kling-v2.5-turbo-pro"), "the Replicate model (`owner/name`, or `owner/name:version`)"),
    def(Video, "TRUEREEL_REPLICATE_USD_PER_SECOND", Dollars { max: 10.0 }, None, "what Replicate charges per second of video")
        .unset("must be set: Replicate prices by model (a run refuses to start without it when Replicate is chosen)"),
    def(
        Video,
        "TRUEREEL_REPLICATE_BUDGET_USD",
        Dollars { max: 1e9 },
        None,
        "the most one run may spend on Replicate; past it Replicate is left out and the chain falls over to the next provider",
    )
    .unset("no line of its own (the run and reel budgets still hold)"),
    def(Video, "TRUEREEL_REPLICATE_CONCURRENCY", Whole { min: 1, max: 100 }, Some("2"), "Replicate jobs running at once, across every worker and Lambda"),
    def(Video, "TRUEREEL_REPLICATE_POLL_SECS", Whole { min: 1, max: 300 }, Some("3"), "the first wait before asking a Replicate job again (it grows up to a minute)"),
    def(Video, "TRUEREEL_LUMA_API_KEY", Secret, None, "the Luma API key (`luma-api-…`, never shown)").unset("none"),
    def(
        Video,
        "TRUEREEL_LUMA_PHOTO_BASE_URL",
        Url,
        None,
        "a public https URL under which the blob store's files are served, for Luma (which takes photos by URL only)",
    )
    .unset("on AWS a presigned S3 link; on one machine Luma cannot be used"),
    def(Video, "TRUEREEL_LUMA_BASE_URL", Url, Some("https://agents.lumalabs.ai"), "Luma's API (plain http only on loopback, with --allow-private-network)"),
    def(Video, "TRUEREEL_LUMA_MODEL", Text, Some("ray-3.2"), "the Luma model (Agents API)"),
    def(Video, "TRUEREEL_LUMA_USD_PER_SECOND", Dollars { max: 10.0 }, None, "what Luma charges per second of video")
        .unset("must be set: Luma's price is not documented (a run refuses to start without it when Luma is chosen)"),
    def(
        Video,
        "TRUEREEL_LUMA_BUDGET_USD",
        Dollars { max: 1e9 },
        None,
        "the most one run may spend on Luma; past it Luma is left out and the chain falls over to the next provider",
    )
    .unset("no line of its own (the run and reel budgets still hold)"),
    def(Video, "TRUEREEL_LUMA_CONCURRENCY", Whole { min: 1, max: 100 }, Some("2"), "Luma jobs running at once, across every worker and Lambda"),
    def(Video, "TRUEREEL_LUMA_POLL_SECS", Whole { min: 1, max: 300 }, Some("5"), "the first wait before asking a Luma job again (it grows up to a minute)"),
    // The local runner.
    def(Runner, "TRUEREEL_CONCURRENCY_CRAWL", Whole { min: 1, max: 64 }, Some("4"), "crawl messages handled at once"),
    def(Runner, "TRUEREEL_CONCURRENCY_PLAN", Whole { min: 1, max: 64 }, Some("2"), "plan messages handled at once"),
    def(
        Runner,
        "TRUEREEL_CONCURRENCY_GENERATE",
        Whole { min: 1, max: 64 },
        Some("2"),
        "generate messages handled at once",
    ),
    def(
        Runner,
        "TRUEREEL_CONCURRENCY_MIRROR",
        Whole { min: 1, max: 64 },
        Some("4"),
        "mirror messages handled at once (clip downloads; assemblies take turns, one per two cores)",
    ),
    def(
        Runner,
        "TRUEREEL_CONCURRENCY_EVALUATE",
        Whole { min: 1, max: 64 },
        Some("1"),
        "evaluate messages handled at once",
    ),
    def(
        Runner,
        "TRUEREEL_VISIBILITY_SECONDS",
        Whole { min: 1, max: 43_200 },
        Some("600"),
        "how long a received message stays hidden",
    ),
    // The local origin (`truereel serve`, `truereel embed`).
    def(Serve, "TRUEREEL_BIND", SocketAddr, Some("127.0.0.1:8080"), "the address `truereel serve` listens on")
        .flag("--bind"),
    def(
        Serve,
        "TRUEREEL_PUBLIC_BASE_URL",
        BaseUrl,
        None,
        "the base of the public reel URLs the API and the embed snippet give (the brand's domain)",
    )
    .flag("--public-base-url")
    .unset("http://<TRUEREEL_BIND>"),
    def(
        Serve,
        "TRUEREEL_SERVE_CACHE_MB",
        Whole { min: 0, max: 65_536 },
        Some("256"),
        "the memory `truereel serve` keeps published reels in (the hot set; 0: none); a file over a quarter of it is streamed",
    ),
    // AWS.
    def(Aws, "AWS_ENDPOINT_URL", Url, None, "an AWS-compatible endpoint, e.g. an emulator")
        .flag("--endpoint-url")
        .unset("AWS itself"),
    def(Aws, "AWS_REGION", Text, None, "the AWS region").unset("from the AWS config chain"),
    def(Aws, "TRUEREEL_BUCKET", BucketName, Some("truereel-reels"), "the S3 bucket (required on Lambda)")
        .flag("--bucket"),
    def(Aws, "TRUEREEL_TABLE", TableName, Some("truereel"), "the DynamoDB table (required on Lambda)").flag("--table"),
    def(
        Aws,
        "TRUEREEL_QUEUE_PREFIX",
        QueueName,
        Some("truereel"),
        "queues are <prefix>-<stage>, dead letters <prefix>-<stage>-dlq",
    )
    .flag("--queue-prefix"),
    def(Aws, "TRUEREEL_QUEUE_URL_CRAWL", Url, None, "the crawl queue's URL (the SAM template sets these)")
        .unset("by prefix"),
    def(Aws, "TRUEREEL_QUEUE_URL_PLAN", Url, None, "the plan queue's URL").unset("by prefix"),
    def(Aws, "TRUEREEL_QUEUE_URL_GENERATE", Url, None, "the generate queue's URL").unset("by prefix"),
    def(Aws, "TRUEREEL_QUEUE_URL_MIRROR", Url, None, "the mirror queue's URL").unset("by prefix"),
    def(Aws, "TRUEREEL_QUEUE_URL_EVALUATE", Url, None, "the evaluate queue's URL").unset("by prefix"),
    def(
        Aws,
        "TRUEREEL_PROVIDER_SECRET_ARN",
        Text,
        None,
        "a Secrets Manager secret holding provider API keys as a JSON object",
    )
    .unset("no provider keys"),
];

/// Environment variables with the `TRUEREEL_` prefix that are not settings: the test harness's own.
pub const NOT_SETTINGS: &[&str] = &["TRUEREEL_TEST_AWS_ENDPOINT", "TRUEREEL_FIXTURES"];

/// The definition of `var`.
pub fn find(var: &str) -> Option<&'static Def> {
    DEFS.iter().find(|d| d.var == var)
}
