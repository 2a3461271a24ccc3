//! What every paid video provider's HTTP client shares: the base URL rule, the two HTTP clients (the
//! API's, and the guarded one for downloads), answers read with a size cap, the errors named after
//! the provider, `Retry-After`, redacted URLs, the streamed and capped download, and photos fitted
//! to a provider's limits.
//!
//! ```ignore
//! let api = Api::new("kling", &config.base_url, config.allow_private_network, timeout, "TRUEREEL_KLING_BASE_URL")?;
//! let answer = api.send(api.request(Method::POST, "/v1/videos/image2video").json(&body)).await?;
//! let photo = fit_photo(&bytes, &KLING_PHOTOS).map_err(|why| api.rejected(why))?;   // raw base64, ≤ 10 MB
//! api.download(&output.url, None, dest, max_bytes).await?;                        // through the SSRF guard
//! ```
//!
//! Keys never reach this module's errors or logs: a caller adds its own auth header to
//! [`Api::request`], marked sensitive. A download's URL is shown without its query (a signed link's
//! token), and the guard refuses private and metadata addresses unless the run allows them.

use crate::adapters::http::guard::{GuardedResolver, Refusal, UrlGuard};
use crate::ports::{Downloaded, ProviderError};
use base64::Engine as _;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use sha2::Digest;
use std::io::Cursor;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use url::{Host, Url};

/// The largest API answer read by default (a task is a few hundred bytes).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A provider client could not be set up: the setting at fault and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct SetupError {
    /// The environment variable to fix (`TRUEREEL_KLING_SECRET_KEY`).
    pub setting: String,
    pub reason: String,
}

impl SetupError {
    pub fn new(setting: &str, reason: impl Into<String>) -> Self {
        Self { setting: setting.into(), reason: reason.into() }
    }
}

/// A provider's API: its base URL and the clients that reach it and its outputs.
#[derive(Clone)]
pub struct Api {
    pub provider: &'static str,
    /// Without a trailing slash.
    pub base: String,
    client: reqwest::Client,
    downloads: reqwest::Client,
    guard: UrlGuard,
    allow_private: bool,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("provider", &self.provider).field("base", &self.base).finish_non_exhaustive()
    }
}

impl Api {
    /// `timeout` bounds each API call, and each wait for the next piece of a download; `setting`
    /// names the base URL's variable in errors.
    pub fn new(
        provider: &'static str,
        base: &str,
        allow_private: bool,
        timeout: Duration,
        setting: &str,
    ) -> Result<Self, SetupError> {
        let base = base.trim_end_matches('/').to_string();
        check_base(&base, allow_private).map_err(|reason| SetupError::new(setting, format!("{base:?}: {reason}")))?;
        let client_error = |e: reqwest::Error| SetupError::new(setting, format!("setting up the HTTP client: {e}"));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(crate::config::DEFAULT_USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(client_error)?;
        let resolver = GuardedResolver { allow_private, trusted_names: Arc::default(), overrides: Arc::default() };
        // No redirects, no environment proxy (it would bypass the guard), only vetted addresses.
        let downloads = reqwest::Client::builder()
            .read_timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(crate::config::DEFAULT_USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .dns_resolver(resolver)
            .build()
            .map_err(client_error)?;
        let guard = UrlGuard::new(allow_private, &[]);
        Ok(Self { provider, base, client, downloads, guard, allow_private })
    }

    /// Whether private and loopback addresses are allowed (the stub servers' runs).
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// A call to `path` under the base URL (JSON accepted); the caller adds its auth header.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base)).header(reqwest::header::ACCEPT, "application/json")
    }

    /// A call to a full URL the provider gave (a status or result URL), which must be on the base
    /// URL's host: a provider's answer never sends our key anywhere else.
    pub fn request_url(&self, method: reqwest::Method, url: &str) -> Result<reqwest::RequestBuilder, ProviderError> {
        let (given, base) = (Url::parse(url), Url::parse(&self.base));
        match (given, base) {
            (Ok(given), Ok(base))
                if given.scheme() == base.scheme()
                    && given.host_str() == base.host_str()
                    && given.port_or_known_default() == base.port_or_known_default() =>
            {
                Ok(self.client.request(method, given).header(reqwest::header::ACCEPT, "application/json"))
            }
            (Ok(given), _) => Err(self.invalid(format!(
                "the answer points at {}, not at the configured API {}",
                redacted(&given),
                self.base
            ))),
            (Err(_), _) => Err(self.invalid("the answer's URL is not a URL".into())),
        }
    }

    /// Sends `request`; its answer with a body of at most [`MAX_ANSWER_BYTES`].
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, ProviderError> {
        self.send_capped(request, MAX_ANSWER_BYTES).await
    }

    /// [`Api::send`] with a body of at most `max` bytes (an answer that carries the video inline).
    pub async fn send_capped(&self, request: reqwest::RequestBuilder, max: usize) -> Result<Answer, ProviderError> {
        let mut response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let retry_after = header("retry-after").as_deref().and_then(parse_retry_after);
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(k, _)| k.as_str().starts_with("x-"))
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            body.extend_from_slice(&chunk);
            if body.len() > max {
                return Err(self.invalid(format!("the answer is larger than {max} bytes")));
            }
        }
        Ok(Answer { status, retry_after, headers, body })
    }

    /// The JSON of an answer's body.
    pub fn json(&self, body: &[u8]) -> Result<Value, ProviderError> {
        serde_json::from_slice(body).map_err(|e| self.invalid(format!("the answer is not JSON: {e}")))
    }

    /// Streams `url` to `dest` through the guard (no redirects; `auth` when the provider's files
    /// need its key), refusing more than `max_bytes`; 403/404/410 is [`ProviderError::Expired`].
    pub async fn download(
        &self,
        url: &str,
        auth: Option<HeaderValue>,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<Downloaded, ProviderError> {
        let url = Url::parse(url).map_err(|_| self.rejected("the output is not a URL".into()))?;
        let shown = redacted(&url);
        self.guard.check(&url).map_err(|Refusal(reason)| self.rejected(format!("{shown}: {reason}")))?;
        let mut request = self.downloads.get(url.clone());
        if let Some(auth) = auth {
            request = request.header(reqwest::header::AUTHORIZATION, auth);
        }
        let mut response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        match status {
            200..=299 => {}
            403 | 404 | 410 => return Err(self.expired(format!("{shown}: HTTP {status}"))),
            408 | 429 | 500..=599 => return Err(self.retryable(format!("{shown}: HTTP {status}"))),
            _ => return Err(self.invalid(format!("{shown}: HTTP {status} (redirects are not followed)"))),
        }
        let header = |name| response.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        let content_type = header(CONTENT_TYPE).map(str::to_string);
        if let Some(len) = header(CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok())
            && len > max_bytes
        {
            return Err(self.rejected(format!("{shown} is {len} bytes, over the cap of {max_bytes}")));
        }
        let mut sink = Sink::create(self, dest).await?;
        let written = async {
            while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
                sink.write(self, &chunk, max_bytes, &shown).await?;
            }
            sink.finish(self, content_type).await
        }
        .await;
        match written {
            Ok(done) => {
                tracing::debug!(provider = self.provider, output = %shown, bytes = done.bytes, "output downloaded");
                Ok(done)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(dest).await;
                Err(e)
            }
        }
    }

    /// Writes a clip the provider gave inline (base64 in its answer) to `dest`, like a download.
    pub async fn save_inline(
        &self,
        base64_text: &str,
        content_type: Option<String>,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<Downloaded, ProviderError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(base64_text.trim())
            .map_err(|e| self.invalid(format!("the inline video is not base64: {e}")))?;
        let mut sink = Sink::create(self, dest).await?;
        let written = async {
            sink.write(self, &bytes, max_bytes, "the inline video").await?;
            sink.finish(self, content_type).await
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(dest).await;
        }
        written
    }

    /// A request that got no answer: Retryable (the guard's refusal: Rejected). The URL is left
    /// out (a download's query is a credential).
    pub fn transport(&self, e: &reqwest::Error) -> ProviderError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut chain = Vec::new();
        while let Some(err) = source {
            if let Some(Refusal(reason)) = err.downcast_ref::<Refusal>() {
                return self.rejected(format!("the address is not allowed: {reason}"));
            }
            chain.push(err.to_string());
            source = err.source();
        }
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "the connection failed"
        };
        let cause = chain.last().filter(|_| chain.len() > 1).cloned().unwrap_or_default();
        let cause = match e.url() {
            Some(url) => cause.replace(url.as_str(), &redacted(url)),
            None => cause,
        };
        self.retryable(if cause.is_empty() { what.to_string() } else { format!("{what}: {cause}") })
    }

    pub fn retryable(&self, message: String) -> ProviderError {
        ProviderError::Retryable { provider: self.provider.into(), message, retry_after: None }
    }

    pub fn retry_after(&self, message: String, retry_after: Option<Duration>) -> ProviderError {
        ProviderError::Retryable { provider: self.provider.into(), message, retry_after }
    }

    pub fn rejected(&self, message: String) -> ProviderError {
        ProviderError::Rejected { provider: self.provider.into(), message, moderation: false }
    }

    /// A refusal by the provider's moderation (at submission: nothing ran).
    pub fn moderated(&self, message: String) -> ProviderError {
        ProviderError::Rejected { provider: self.provider.into(), message, moderation: true }
    }

    pub fn invalid(&self, message: String) -> ProviderError {
        ProviderError::Invalid { provider: self.provider.into(), message }
    }

    pub fn expired(&self, message: String) -> ProviderError {
        ProviderError::Expired { provider: self.provider.into(), message }
    }

    pub fn exhausted(&self, message: String) -> ProviderError {
        ProviderError::Exhausted { provider: self.provider.into(), message }
    }
}

/// A file being written: its size and hash so far.
struct Sink {
    file: tokio::fs::File,
    hasher: sha2::Sha256,
    bytes: u64,
    dest: std::path::PathBuf,
}

impl Sink {
    async fn create(api: &Api, dest: &Path) -> Result<Self, ProviderError> {
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| api.retryable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| api.retryable(format!("cannot write {}: {e}", dest.display())))?;
        Ok(Self { file, hasher: sha2::Sha256::new(), bytes: 0, dest: dest.to_path_buf() })
    }

    async fn write(&mut self, api: &Api, chunk: &[u8], max_bytes: u64, shown: &str) -> Result<(), ProviderError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > max_bytes {
            return Err(api.rejected(format!("{shown} is over the cap of {max_bytes} bytes")));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await.map_err(|e| api.retryable(format!("writing {}: {e}", self.dest.display())))
    }

    async fn finish(mut self, api: &Api, content_type: Option<String>) -> Result<Downloaded, ProviderError> {
        self.file.flush().await.map_err(|e| api.retryable(format!("writing {}: {e}", self.dest.display())))?;
        Ok(Downloaded { bytes: self.bytes, sha256: crate::Sha256::finish(self.hasher), content_type })
    }
}

/// An answer: status, `Retry-After`, the provider's `x-` headers (lower-case names), body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A provider header (`x-fal-retryable`), by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The provider's words for an error: `error` (a string or `{message}`), `message`, `detail`
    /// (a string, or the first `{msg}` of a list), else the start of the body; printable, ≤ 300 chars.
    pub fn error_text(&self) -> String {
        error_text(&self.body)
    }
}

/// See [`Answer::error_text`].
pub fn error_text(body: &[u8]) -> String {
    let json: Value = serde_json::from_slice(body).unwrap_or_default();
    let message = json["error"]
        .as_str()
        .or_else(|| json["error"]["message"].as_str())
        .or_else(|| json["message"].as_str())
        .or_else(|| json["detail"].as_str())
        .or_else(|| json["detail"][0]["msg"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    crate::printable(message.trim()).chars().take(300).collect()
}

/// Provider text for a message: printable, at most `max` characters.
pub fn shown(text: &str, max: usize) -> String {
    crate::printable(text).chars().take(max).collect()
}

/// `https`, or plain `http` to a loopback address with `allow_private`.
pub fn check_base(base: &str, allow_private: bool) -> Result<(), String> {
    let url = Url::parse(base).map_err(|e| format!("not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials in the URL are not allowed".into());
    }
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(_)) => false,
        None => return Err("no host".into()),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback && allow_private => Ok(()),
        "http" if loopback => Err("plain http needs TRUEREEL_ALLOW_PRIVATE_NETWORK (and a loopback address)".into()),
        "http" => Err("must be https (plain http only to a loopback address)".into()),
        other => Err(format!("scheme {other}: must be https")),
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// A URL for messages: scheme, host and path, no query (a signed link's token).
pub fn redacted(url: &Url) -> String {
    format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or_default(), url.path())
}

/// A job id as a provider gives it, checked to be safe in a URL path: letters, digits, `-`, `_`,
/// `.` and `:`, 1 to 200 of them.
pub fn job_id(api: &Api, id: Option<&str>) -> Result<crate::JobId, ProviderError> {
    let id = id.ok_or_else(|| api.invalid("the answer has no job id".into()))?;
    let safe = (1..=200).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    match crate::JobId::parse(id) {
        Ok(job) if safe => Ok(job),
        _ => Err(api.invalid(format!("{:?} is not a {} job id", shown(id, 80), api.provider))),
    }
}

/// How a provider takes a photo inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inline {
    /// `data:image/jpeg;base64,…`; the size limit counts the whole URI.
    DataUri,
    /// Bare base64 (Kling, Vertex); the size limit counts the decoded bytes.
    Base64,
}

/// What a provider takes as a photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotoLimits {
    pub inline: Inline,
    /// Bytes: of the data URI ([`Inline::DataUri`]) or of the file ([`Inline::Base64`]).
    pub max_bytes: usize,
    pub max_side: u32,
    /// The shortest side taken (a smaller photo is refused, never scaled up).
    pub min_side: u32,
    /// Width / height, lowest and highest.
    pub aspect: (f64, f64),
}

/// A photo made ready for a provider: its MIME type and its inline text.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedPhoto {
    pub mime: &'static str,
    /// The data URI or bare base64, as [`PhotoLimits::inline`] says.
    pub inline: String,
    /// The size of the photo's file, bytes.
    pub bytes: usize,
}

/// The photo made to fit `limits`: kept as sent when it is JPEG, PNG or WebP within the limits;
/// else turned upright, flattened on white and re-encoded as JPEG (quality 90, then smaller or a
/// lower quality down to 60) until it fits. A photo outside the aspect range or under the shortest
/// side is refused with the reason, never cropped, stretched or scaled up.
pub fn fit_photo(bytes: &[u8], limits: &PhotoLimits) -> Result<FittedPhoto, String> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("the photo cannot be read: {e}"))?;
    let mime = match reader.format() {
        Some(ImageFormat::Jpeg) => Some("image/jpeg"),
        Some(ImageFormat::Png) => Some("image/png"),
        Some(ImageFormat::WebP) => Some("image/webp"),
        _ => None,
    };
    let mut decoder = reader.into_decoder().map_err(|e| format!("the photo cannot be read: {e}"))?;
    let (w, h) = decoder.dimensions();
    let aspect = w as f64 / h.max(1) as f64;
    if w == 0 || h == 0 || !(limits.aspect.0..=limits.aspect.1).contains(&aspect) {
        return Err(format!(
            "the photo is {w}x{h} (aspect {aspect:.2}); it takes aspect ratios from {:?} to {:?} only, and the photo \
             is not cropped or stretched to fit",
            limits.aspect.0, limits.aspect.1
        ));
    }
    if w.min(h) < limits.min_side {
        return Err(format!("the photo is {w}x{h}; it takes photos at least {} px a side", limits.min_side));
    }
    if let Some(mime) = mime
        && w.max(h) <= limits.max_side
        && inline_len(limits.inline, mime, bytes.len()) <= limits.max_bytes
    {
        return Ok(FittedPhoto { mime, inline: inline(limits.inline, mime, bytes), bytes: bytes.len() });
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| format!("the photo cannot be read: {e}"))?;
    img.apply_orientation(orientation);
    jpeg_that_fits(img, limits)
}

fn inline_len(kind: Inline, mime: &str, bytes: usize) -> usize {
    match kind {
        Inline::DataUri => "data:;base64,".len() + mime.len() + bytes.div_ceil(3) * 4,
        Inline::Base64 => bytes,
    }
}

fn inline(kind: Inline, mime: &str, bytes: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    match kind {
        Inline::DataUri => format!("data:{mime};base64,{b64}"),
        Inline::Base64 => b64,
    }
}

/// `data:{mime};base64,…` of `bytes`.
pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    inline(Inline::DataUri, mime, bytes)
}

fn jpeg_that_fits(img: DynamicImage, limits: &PhotoLimits) -> Result<FittedPhoto, String> {
    let mut rgb = crate::media::photo::on_white(img);
    let (w, h) = rgb.dimensions();
    if w.max(h) > limits.max_side {
        rgb = resize(&rgb, limits.max_side as f64 / w.max(h) as f64);
    }
    let mut quality = 90u8;
    for _ in 0..12 {
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
            .encode_image(&rgb)
            .map_err(|e| format!("re-encoding the photo: {e}"))?;
        let len = inline_len(limits.inline, "image/jpeg", jpeg.len());
        if len <= limits.max_bytes {
            tracing::debug!(width = rgb.width(), height = rgb.height(), quality, bytes = len, "photo re-encoded");
            return Ok(FittedPhoto {
                mime: "image/jpeg",
                inline: inline(limits.inline, "image/jpeg", &jpeg),
                bytes: jpeg.len(),
            });
        }
        let over = len as f64 / limits.max_bytes as f64;
        // Never below the shortest side taken: past it only the quality can give.
        let floor = limits.min_side as f64 / rgb.width().min(rgb.height()) as f64;
        let scale = ((1.0 / over).sqrt().min(0.9) * 0.95).max(floor);
        if (over < 1.5 || scale >= 0.99) && quality > 60 {
            quality -= 10;
        } else if scale < 0.99 {
            rgb = resize(&rgb, scale);
        } else {
            break;
        }
    }
    Err(format!("the photo does not fit in {} bytes", limits.max_bytes))
}

/// `rgb` scaled by `scale` (at least a pixel a side).
fn resize(rgb: &image::RgbImage, scale: f64) -> image::RgbImage {
    let (w, h) = rgb.dimensions();
    let (nw, nh) = (((w as f64 * scale) as u32).max(1), ((h as f64 * scale) as u32).max(1));
    image::imageops::resize(rgb, nw, nh, image::imageops::FilterType::Triangle)
}

/// An `Authorization` value that never shows in `Debug`.
pub fn sensitive(value: &str) -> HeaderValue {
    let mut v = HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    v.set_sensitive(true);
    v
}

/// The seconds asked for (and billed) for a shot of `duration_ms`: the shortest of `durations`
/// (ascending) that covers it, else the longest.
pub fn seconds_for(durations: &[u32], duration_ms: u32) -> u32 {
    let needed = duration_ms.div_ceil(1000).max(1);
    durations.iter().copied().find(|&s| s >= needed).unwrap_or(durations[durations.len() - 1])
}

/// `prompt` cut to `max` characters at a character boundary.
pub fn prompt_cut(prompt: &str, max: usize) -> String {
    prompt.chars().take(max).collect()
}

/// Of `choices` (`w:h` strings), the one closest in shape to `width:height` (the first of equals).
pub fn closest_ratio(choices: &[&'static str], width: u32, height: u32) -> &'static str {
    let shape = |w: f64, h: f64| (w.max(1.0) / h.max(1.0)).ln();
    let want = shape(width as f64, height as f64);
    let distance = |r: &&str| {
        let (w, h) = r.split_once(':').expect("ratios are w:h");
        (shape(w.parse().unwrap_or(1.0), h.parse().unwrap_or(1.0)) - want).abs()
    };
    choices.iter().copied().min_by(|a, b| distance(a).total_cmp(&distance(b))).expect("a model has ratios")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x / 4 % 255) as u8, (y / 5 % 255) as u8, 90]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    const LIMITS: PhotoLimits = PhotoLimits {
        inline: Inline::Base64,
        max_bytes: 10_000_000,
        max_side: 4000,
        min_side: 300,
        aspect: (0.4, 2.5),
    };

    #[test]
    fn a_photo_in_limits_is_sent_as_it_is_and_others_are_fitted_or_refused() {
        let small = png(400, 600);
        let fitted = fit_photo(&small, &LIMITS).unwrap();
        assert_eq!((fitted.mime, fitted.bytes), ("image/png", small.len()));
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(&fitted.inline).unwrap(), small);
        let uri = fit_photo(&small, &PhotoLimits { inline: Inline::DataUri, ..LIMITS }).unwrap();
        assert!(uri.inline.starts_with("data:image/png;base64,"));

        let tight = PhotoLimits { max_bytes: 60_000, max_side: 500, ..LIMITS };
        let fitted = fit_photo(&png(900, 1200), &tight).unwrap();
        let jpeg = base64::engine::general_purpose::STANDARD.decode(&fitted.inline).unwrap();
        let img = image::load_from_memory(&jpeg).unwrap();
        assert_eq!(fitted.mime, "image/jpeg");
        assert!(jpeg.len() <= 60_000 && img.width().max(img.height()) <= 500, "{} bytes", jpeg.len());
        assert!(img.width().min(img.height()) >= 300);

        assert!(fit_photo(&png(200, 400), &LIMITS).unwrap_err().contains("at least 300"));
        assert!(fit_photo(&png(300, 900), &LIMITS).unwrap_err().contains("aspect"));
        assert!(fit_photo(b"GIF89a...", &LIMITS).is_err());
    }

    #[test]
    fn bases_ids_and_error_texts() {
        assert!(check_base("https://api.example.com", false).is_ok());
        assert!(check_base("http://127.0.0.1:9", false).unwrap_err().contains("PRIVATE"));
        assert!(check_base("http://127.0.0.1:9", true).is_ok());
        assert!(check_base("http://example.com", true).is_err());
        assert!(check_base("https://u:p@example.com", false).is_err());
        let api =
            Api::new("x", "https://api.example.com/", false, Duration::from_secs(1), "TRUEREEL_X_BASE_URL").unwrap();
        assert_eq!(api.base, "https://api.example.com");
        assert!(job_id(&api, Some("ab-12_c.d:e")).is_ok());
        assert!(job_id(&api, Some("../etc")).is_err() && job_id(&api, None).is_err());
        assert!(api.request_url(reqwest::Method::GET, "https://evil.example/x").is_err());
        assert!(api.request_url(reqwest::Method::GET, "https://api.example.com/r/1").is_ok());
        assert_eq!(error_text(br#"{"detail":[{"msg":"flagged","type":"content_policy_violation"}]}"#), "flagged");
        assert_eq!(error_text(br#"{"error":{"message":"no"}}"#), "no");
        assert_eq!(seconds_for(&[5, 10], 5200), 10);
        assert_eq!(seconds_for(&[5, 10], 12_000), 10);
        assert_eq!(closest_ratio(&["16:9", "9:16", "1:1"], 1080, 1920), "9:16");
    }
}
