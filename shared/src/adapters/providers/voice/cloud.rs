//! What the paid HTTP voices share: one client with timeouts, the key checked before a call, and one
//! mapping of answers to [`ProviderError`].
//!
//! | answer | error |
//! |---|---|
//! | 429 | Retryable, with `Retry-After` (seconds or an HTTP date) when sent; except OpenAI's `insufficient_quota`, Rejected |
//! | 408, 409, 5xx, a connection or timeout failure | Retryable |
//! | 400, 401, 403, 404, 422 and any other 4xx | Rejected (`moderation` when the error names a policy, safety or moderation) |
//! | 200 whose body is not what was asked (bad JSON, bad base64, no audio) | Invalid: the call was billed, and the same request tends to get the same answer; the stage's attempts decide |
//!
//! An API key goes into its one header and nowhere else: errors carry the provider's own error
//! text (cut to 300 characters), never the request.

use crate::Usd;
use crate::config::Secret;
use crate::ports::ProviderError;
use std::time::Duration;

/// Words per second of a paid voice at its natural pace: typical narration (about 155 words a
/// minute), not measured here (no account); Piper's joe measured 2.8 and espeak-ng is set by its wpm.
pub const WORDS_PER_SECOND: f32 = 2.6;

/// One call, send to last body byte.
const TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read (a 5000-character line is about 10 MB of 22 kHz PCM in base64).
const MAX_BODY_BYTES: usize = 64 << 20;

/// The HTTP client the cloud voices use (HTTP/1.1 over rustls, no system proxy).
pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(crate::config::DEFAULT_USER_AGENT)
        .build()
        .expect("a client with timeouts builds")
}

/// The key, or Rejected naming the setting that is unset.
pub(super) fn key<'a>(provider: &str, key: Option<&'a Secret>, setting: &str) -> Result<&'a str, ProviderError> {
    key.map(Secret::expose).filter(|k| !k.is_empty()).ok_or_else(|| ProviderError::Rejected {
        provider: provider.into(),
        message: format!("no API key: set {setting}"),
        moderation: false,
    })
}

/// What `chars` characters cost at `per_million` dollars a million, rounded up to the micro-dollar.
pub(super) fn per_char(per_million: Usd, chars: usize) -> Usd {
    Usd(((per_million.0 as i128 * chars as i128 + 999_999) / 1_000_000) as i64)
}

/// Sends `request`; the body of a 2xx, else the mapped error (see the module doc).
pub(super) async fn send(provider: &str, request: reqwest::RequestBuilder) -> Result<Vec<u8>, ProviderError> {
    let mut response = request.send().await.map_err(|e| transport(provider, &e))?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY_BYTES {
                    return Err(invalid(provider, format!("the answer is larger than {MAX_BODY_BYTES} bytes")));
                }
            }
            Ok(None) => break,
            Err(e) => return Err(transport(provider, &e)),
        }
    }
    if (200..300).contains(&status) {
        return Ok(body);
    }
    Err(status_error(provider, status, retry_after, &body))
}

/// A request that got no answer: Retryable.
fn transport(provider: &str, e: &reqwest::Error) -> ProviderError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    // reqwest's text names the URL, which holds no secret (keys travel in headers).
    ProviderError::Retryable { provider: provider.into(), message: format!("{what}: {e}"), retry_after: None }
}

pub(super) fn invalid(provider: &str, message: String) -> ProviderError {
    ProviderError::Invalid { provider: provider.into(), message }
}

/// The provider's error code and message from a JSON error body (`{"error":{"code","message"}}`,
/// `{"detail":{"status","message"}}`, `{"detail":"…"}`), else the start of the body.
pub(super) fn error_text(body: &[u8]) -> (String, String) {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let (code, message) = if json["error"].is_object() {
        let e = &json["error"];
        (s(&e["code"]).or_else(|| s(&e["type"])), s(&e["message"]))
    } else if json["detail"].is_object() {
        let d = &json["detail"];
        (s(&d["status"]).or_else(|| s(&d["code"])), s(&d["message"]))
    } else {
        (None, s(&json["detail"]).or_else(|| s(&json["message"])))
    };
    let message = message.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let message: String = crate::printable(message.trim()).chars().take(300).collect();
    (code.unwrap_or_default(), message)
}

/// The error for a non-2xx answer (see the module doc).
pub(super) fn status_error(provider: &str, status: u16, retry_after: Option<Duration>, body: &[u8]) -> ProviderError {
    let (code, message) = error_text(body);
    let text =
        if code.is_empty() { format!("HTTP {status}: {message}") } else { format!("HTTP {status} {code}: {message}") };
    let lower = format!("{code} {message}").to_ascii_lowercase();
    match status {
        429 if code == "insufficient_quota" => {
            ProviderError::Rejected { provider: provider.into(), message: text, moderation: false }
        }
        408 | 409 | 429 | 500..=599 => {
            ProviderError::Retryable { provider: provider.into(), message: text, retry_after }
        }
        _ => {
            let moderation = ["policy", "moderation", "safety", "flagged"].iter().any(|w| lower.contains(w));
            ProviderError::Rejected { provider: provider.into(), message: text, moderation }
        }
    }
}

/// `Retry-After` in seconds or as an HTTP date (a date in the past is zero).
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?)
}

pub(super) fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_errors() {
        let e = status_error(
            "p",
            429,
            Some(Duration::from_secs(3)),
            br#"{"detail":{"status":"system_busy","message":"busy"}}"#,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.to_string().contains("system_busy: busy"), "{e}");
        let e = status_error(
            "p",
            429,
            None,
            br#"{"error":{"code":"insufficient_quota","message":"You exceeded your quota"}}"#,
        );
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        assert!(status_error("p", 503, None, b"<html>bad gateway</html>").is_retryable());
        let e = status_error("p", 400, None, br#"{"error":{"code":"content_policy_violation","message":"no"}}"#);
        assert!(matches!(e, ProviderError::Rejected { moderation: true, .. }), "{e:?}");
        let e = status_error("p", 401, None, br#"{"detail":{"status":"invalid_api_key","message":"Invalid API key"}}"#);
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }) && e.to_string().contains("401"), "{e}");
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(per_char(Usd::from_dollars(16.0), 1000), Usd(16_000));
        assert_eq!(per_char(Usd::from_dollars(16.0), 1), Usd(16));
        assert_eq!(per_char(Usd::from_dollars(0.5), 1), Usd(1), "rounded up");
    }
}
