//! What a setting accepts ([`Kind`]) and the one parser for every setting's text ([`parse`]).

use crate::{Handle, Usd};
use std::path::PathBuf;

/// What a setting accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// `1/0`, `true/false`, `yes/no`, `on/off`.
    Bool,
    /// A whole number in a range.
    Whole { min: u64, max: u64 },
    /// US dollars from 0 to `max`.
    Dollars { max: f64 },
    /// A number from 0 to 1.
    Fraction,
    /// `WIDTHxHEIGHT` in a shape social platforms take ([`ASPECTS`]), even sides from 240 to 4096.
    Resolution,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// Some of these words, comma-separated, in order of preference, none twice.
    Chain(&'static [&'static str]),
    /// Any text on one line.
    Text,
    /// A credential on one line: read like [`Kind::Text`], never shown (`truereel config`, errors, `Debug`).
    Secret,
    /// A path (a binary on `PATH` may be a bare name).
    Path,
    /// An existing file.
    File,
    /// A store: an `http(s)://` URL (any case) or a folder path.
    Store,
    /// `host:port` pairs, comma-separated.
    HostPorts,
    /// Product handles, comma-separated (at least one).
    Handles,
    /// An `http(s)://` URL.
    Url,
    /// A `tracing` filter.
    LogFilter,
    /// An S3 bucket name.
    BucketName,
    /// A DynamoDB table name.
    TableName,
    /// An SQS queue name prefix (room left for `-evaluate-dlq`).
    QueueName,
    /// An IP address and a port (`127.0.0.1:8080`, `[::1]:8080`).
    SocketAddr,
    /// An http(s) URL that paths are appended to: no query or fragment, kept without a trailing `/`.
    BaseUrl,
}

/// A setting's value, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Whole(u64),
    Dollars(Usd),
    Fraction(f64),
    Size(u32, u32),
    Text(String),
    Path(PathBuf),
    List(Vec<String>),
}

impl Kind {
    /// What is accepted, in words, for error messages and `truereel config`.
    pub fn accepts(&self) -> String {
        match self {
            Kind::Bool => "1/0, true/false, yes/no or on/off".into(),
            Kind::Whole { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Dollars { max } => format!("US dollars from 0 to {max}"),
            Kind::Fraction => "a number from 0 to 1".into(),
            Kind::Resolution => format!(
                "WIDTHxHEIGHT with even sides from {MIN_SIDE} to {MAX_SIDE} in a shape platforms take ({}), e.g. 1080x1920",
                ASPECTS.iter().map(|(w, h)| format!("{w}:{h}")).collect::<Vec<_>>().join(", ")
            ),
            Kind::OneOf(words) => format!("one of {}", words.join(", ")),
            Kind::Chain(words) => format!("some of {}, comma-separated", words.join(", ")),
            Kind::Text => "text on one line".into(),
            Kind::Secret => "a secret on one line (never shown)".into(),
            Kind::Path => "a path".into(),
            Kind::File => "the path of an existing file".into(),
            Kind::Store => "an http(s) URL or a folder".into(),
            Kind::HostPorts => "host:port pairs, comma-separated".into(),
            Kind::Handles => "product handles, comma-separated".into(),
            Kind::Url => "an http(s) URL".into(),
            Kind::LogFilter => "a log filter such as info or truereel=debug,warn".into(),
            Kind::BucketName => "an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens".into(),
            Kind::TableName => "a DynamoDB table name: 3-255 letters, digits, '_', '-' and '.'".into(),
            Kind::QueueName => "an SQS queue prefix: 1-67 letters, digits, '_' and '-'".into(),
            Kind::SocketAddr => "an IP address and a port, e.g. 127.0.0.1:8080 or [::1]:8080".into(),
            Kind::BaseUrl => "an http(s) URL without a query or fragment".into(),
        }
    }
}

/// Parses a setting's text. The error is a detail beyond [`Kind::accepts`] (empty when there is none).
pub fn parse(kind: &Kind, raw: &str) -> Result<Value, String> {
    let v = raw.trim();
    let none = || String::new();
    if v.chars().any(char::is_control) {
        return Err("it holds control characters".into());
    }
    match kind {
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Value::Bool(true)),
            "0" | "false" | "no" | "off" => Ok(Value::Bool(false)),
            _ => Err(none()),
        },
        Kind::Whole { min, max } => match v.parse::<u64>() {
            Ok(n) if (*min..=*max).contains(&n) => Ok(Value::Whole(n)),
            _ => Err(none()),
        },
        Kind::Dollars { max } => match v.trim_start_matches('$').parse::<f64>() {
            Ok(d) if d.is_finite() && (0.0..=*max).contains(&d) => Ok(Value::Dollars(Usd::from_dollars(d))),
            _ => Err(none()),
        },
        Kind::Fraction => match v.parse::<f64>() {
            Ok(f) if f.is_finite() && (0.0..=1.0).contains(&f) => Ok(Value::Fraction(f)),
            _ => Err(none()),
        },
        Kind::Resolution => match resolution(v) {
            Some((w, h)) if aspect_of(w, h).is_none() => Err(format!("{w}:{h} is no shape a platform takes")),
            Some((w, h)) if w.min(h) < MIN_SIDE => Err(format!("a side under {MIN_SIDE}")),
            Some((w, h)) => Ok(Value::Size(w, h)),
            None => Err(none()),
        },
        Kind::OneOf(words) => {
            let lower = v.to_ascii_lowercase();
            words.iter().find(|w| **w == lower).map(|w| Value::Text(w.to_string())).ok_or_else(none)
        }
        Kind::Chain(words) => {
            let mut chosen: Vec<String> = Vec::new();
            for name in v.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()) {
                if !words.contains(&name.as_str()) {
                    return Err(format!("{name} is not one of them"));
                }
                if chosen.contains(&name) {
                    return Err(format!("{name} is named twice"));
                }
                chosen.push(name);
            }
            if chosen.is_empty() { Err("none given".into()) } else { Ok(Value::List(chosen)) }
        }
        Kind::Text | Kind::Secret | Kind::LogFilter if v.is_empty() => Err(none()),
        Kind::Text | Kind::Secret => Ok(Value::Text(v.to_string())),
        Kind::LogFilter => {
            tracing_subscriber::EnvFilter::try_new(v).map(|_| Value::Text(v.to_string())).map_err(|e| e.to_string())
        }
        Kind::Path if v.is_empty() => Err(none()),
        Kind::Path => Ok(Value::Path(PathBuf::from(v))),
        Kind::File => {
            let path = PathBuf::from(v);
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => Ok(Value::Path(path)),
                Ok(_) => Err("not a regular file".into()),
                Err(e) => Err(e.to_string()),
            }
        }
        Kind::Store => {
            if v.is_empty() {
                return Err(none());
            }
            if let Some((scheme, _)) = v.split_once("://") {
                let scheme = scheme.to_ascii_lowercase();
                if scheme != "http" && scheme != "https" {
                    return Err(format!("{scheme}:// is not a storefront scheme"));
                }
                let url = url::Url::parse(v).map_err(|e| e.to_string())?;
                if !url.username().is_empty() || url.password().is_some() {
                    return Err("credentials in a store URL are not accepted (user:password@ is refused)".into());
                }
                return Ok(Value::Text(url.to_string()));
            }
            Ok(Value::Text(v.to_string()))
        }
        Kind::Url => {
            let url = url::Url::parse(v).map_err(|e| e.to_string())?;
            match url.scheme() {
                "http" | "https" if url.host().is_some() => Ok(Value::Text(v.to_string())),
                _ => Err(none()),
            }
        }
        Kind::HostPorts => {
            let hosts: Vec<String> = v.split(',').map(str::trim).filter(|h| !h.is_empty()).map(String::from).collect();
            match hosts
                .iter()
                .find(|h| h.rsplit_once(':').is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err()))
            {
                Some(bad) => Err(format!("{bad} is not host:port")),
                None => Ok(Value::List(hosts)),
            }
        }
        Kind::Handles => {
            let handles: Vec<&str> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            if handles.is_empty() {
                return Err("no handle given".into());
            }
            handles
                .into_iter()
                .map(|h| Handle::parse(h).map(|h| h.to_string()).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List)
        }
        Kind::BucketName => {
            let ok = (3..=63).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
                && v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric())
                && !v.contains("..");
            if ok { Ok(Value::Text(v.to_string())) } else { Err(none()) }
        }
        Kind::TableName => {
            let ok = (3..=255).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if ok { Ok(Value::Text(v.to_string())) } else { Err(none()) }
        }
        Kind::QueueName => {
            let ok =
                (1..=67).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
            if ok { Ok(Value::Text(v.to_string())) } else { Err(none()) }
        }
        Kind::BaseUrl => match parse(&Kind::Url, v) {
            Ok(_) if !v.contains(['?', '#']) => Ok(Value::Text(v.trim_end_matches('/').to_string())),
            _ => Err(none()),
        },
        Kind::SocketAddr => match v.parse::<std::net::SocketAddr>() {
            Ok(a) => Ok(Value::Text(a.to_string())),
            Err(_) => Err(none()),
        },
    }
}

/// The shapes reels are published in: vertical 9:16 (Reels, TikTok, Shorts), 4:5 and 2:3 (feeds, pins),
/// square 1:1, and landscape 16:9.
pub const ASPECTS: [(u32, u32); 5] = [(9, 16), (4, 5), (2, 3), (1, 1), (16, 9)];
/// A side shorter than this is no video a platform shows; longer than [`MAX_SIDE`] none takes.
pub const MIN_SIDE: u32 = 240;
pub const MAX_SIDE: u32 = 4096;

/// `1080x1920` → (1080, 1920); sides must be even (H.264 4:2:0), non-zero and at most [`MAX_SIDE`]
/// ([`parse`] also wants a shape from [`ASPECTS`] and sides of at least [`MIN_SIDE`]).
pub fn resolution(v: &str) -> Option<(u32, u32)> {
    let (w, h) = v.trim().split_once(['x', 'X'])?;
    let (w, h): (u32, u32) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    let side = 2..=MAX_SIDE;
    (side.contains(&w) && side.contains(&h) && w % 2 == 0 && h % 2 == 0).then_some((w, h))
}

/// Which of [`ASPECTS`] `w`x`h` is, within 1 % (even sides round some shapes: 1080x1350 is 4:5 exactly,
/// 270x480 is 9:16, 406x720 is 9:16 within rounding).
pub fn aspect_of(w: u32, h: u32) -> Option<(u32, u32)> {
    let ratio = w as f64 / h as f64;
    ASPECTS.into_iter().find(|(aw, ah)| (ratio / (*aw as f64 / *ah as f64) - 1.0).abs() <= 0.01)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_take_every_usual_spelling() {
        for (raw, want) in [
            ("1", true),
            ("yes", true),
            ("TRUE", true),
            ("on", true),
            ("0", false),
            ("No", false),
            ("false", false),
            ("off", false),
        ] {
            assert_eq!(parse(&Kind::Bool, raw), Ok(Value::Bool(want)), "{raw}");
        }
        for raw in ["maybe", "2", "", "y"] {
            assert!(parse(&Kind::Bool, raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn numbers_sizes_and_names_are_checked() {
        let crf = Kind::Whole { min: 0, max: 51 };
        assert_eq!(parse(&crf, " 23 "), Ok(Value::Whole(23)));
        for raw in ["abc", "-5", "52", "2.5", "zero"] {
            assert!(parse(&crf, raw).is_err(), "{raw}");
        }
        assert_eq!(parse(&Kind::Dollars { max: 10.0 }, "2.5"), Ok(Value::Dollars(Usd(2_500_000))));
        for raw in ["-1", "NaN", "inf", "11", "a"] {
            assert!(parse(&Kind::Dollars { max: 10.0 }, raw).is_err(), "{raw}");
        }
        assert_eq!(parse(&Kind::Fraction, "0.4"), Ok(Value::Fraction(0.4)));
        for raw in ["-0.1", "1.5", "NaN", "x"] {
            assert!(parse(&Kind::Fraction, raw).is_err(), "{raw}");
        }
        assert_eq!(parse(&Kind::Resolution, "540X960"), Ok(Value::Size(540, 960)));
        for raw in ["0x0", "1081x1920", "1080", "8x8", "5000x1920", "x", "4096x16", "1080x1000", "200x356"] {
            assert!(parse(&Kind::Resolution, raw).is_err(), "{raw}");
        }
        for raw in ["1080x1920", "720x1280", "270x480", "1080x1350", "1080x1080", "1920x1080", "1000x1500", "406x720"] {
            assert!(parse(&Kind::Resolution, raw).is_ok(), "{raw}");
        }
        assert!(parse(&Kind::Resolution, "4096x16").unwrap_err().contains("4096:16 is no shape"));
        assert!(parse(&Kind::Resolution, "180x320").unwrap_err().contains("a side under 240"));
        assert_eq!(parse(&Kind::OneOf(&["a", "b"]), "B"), Ok(Value::Text("b".into())));
        let chain = Kind::Chain(&["runway", "still-motion"]);
        assert_eq!(
            parse(&chain, "Runway, still-motion"),
            Ok(Value::List(vec!["runway".into(), "still-motion".into()]))
        );
        assert!(parse(&chain, "runway,runway").unwrap_err().contains("twice"));
        assert!(parse(&chain, "runway,sora").unwrap_err().contains("sora"));
        assert!(parse(&chain, " , ").is_err());
        assert!(parse(&Kind::OneOf(&["a", "b"]), "c").is_err());
        assert!(parse(&Kind::BucketName, "truereel-reels").is_ok());
        for raw in ["Upper", "ab", "-x-bucket", "a..b", "under_score"] {
            assert!(parse(&Kind::BucketName, raw).is_err(), "{raw}");
        }
        assert!(parse(&Kind::QueueName, &"q".repeat(68)).is_err());
        assert!(parse(&Kind::Text, "two\nlines").is_err());
        assert_eq!(parse(&Kind::Secret, " sk-1 "), Ok(Value::Text("sk-1".into())));
        assert!(parse(&Kind::Secret, "sk\n1").is_err());
    }

    #[test]
    fn stores_urls_hosts_and_handles() {
        assert_eq!(parse(&Kind::Store, "HTTP://Shop.Example/"), Ok(Value::Text("http://shop.example/".into())));
        assert_eq!(parse(&Kind::Store, "examples/store"), Ok(Value::Text("examples/store".into())));
        assert!(parse(&Kind::Store, "file:///etc/passwd").unwrap_err().contains("file://"));
        assert!(parse(&Kind::Store, "").is_err());
        assert!(parse(&Kind::Url, "http://127.0.0.1:5000").is_ok());
        assert!(parse(&Kind::Url, "ftp://x").is_err() && parse(&Kind::Url, "127.0.0.1:5000").is_err());
        assert_eq!(
            parse(&Kind::BaseUrl, "https://video.brand.com/"),
            Ok(Value::Text("https://video.brand.com".into()))
        );
        assert!(parse(&Kind::BaseUrl, "https://video.brand.com/?a=1").is_err());
        assert!(parse(&Kind::BaseUrl, "https://video.brand.com/#x").is_err());
        assert_eq!(
            parse(&Kind::HostPorts, "127.0.0.1:8080, shop.lan:443"),
            Ok(Value::List(vec!["127.0.0.1:8080".into(), "shop.lan:443".into()]))
        );
        assert!(parse(&Kind::HostPorts, "shop.lan").unwrap_err().contains("not host:port"));
        assert_eq!(parse(&Kind::Handles, "tee, hoodie"), Ok(Value::List(vec!["tee".into(), "hoodie".into()])));
        assert!(parse(&Kind::Handles, " , ").unwrap_err().contains("no handle"));
        assert!(parse(&Kind::Handles, "Bad Handle").is_err());
        assert!(parse(&Kind::LogFilter, "info,truereel=debug").is_ok());
        assert!(parse(&Kind::LogFilter, "truereel=loud").is_err());
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(parse(&Kind::File, file.path().to_str().unwrap()).is_ok());
        assert!(parse(&Kind::File, "/nonexistent/voice.onnx").is_err());
        assert!(parse(&Kind::File, "/tmp").unwrap_err().contains("not a regular file"));
    }
}
