//! Veo's credentials: a Google service account's JSON key (`TRUEREEL_VEO_CREDENTIALS`), and the OAuth
//! access tokens minted from it: an RS256 JWT assertion posted to the key's `token_uri` (the
//! `jwt-bearer` grant), each token cached until five minutes before it expires.
//!
//! The private key is parsed once and kept only as aws-lc's key pair; neither it, the assertion
//! nor a token is ever put in an error, a log line or `Debug`.

use super::super::api::{self, Api, SetupError};
use crate::config::Secret;
use crate::ports::ProviderError;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The variable holding the key (or its file's path).
pub const SETTING: &str = "TRUEREEL_VEO_CREDENTIALS";
/// The scope Vertex AI and Cloud Storage take.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Google's token endpoint, for a key that names none.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The grant a signed assertion is exchanged under.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long an assertion is valid (Google's maximum).
const ASSERTION_LIFETIME_S: u64 = 3600;
/// A token is minted again this long before it expires.
const EARLY: Duration = Duration::from_secs(300);

/// A service account's JSON key, parsed.
pub struct ServiceAccount {
    pub client_email: String,
    /// The key's own project (`TRUEREEL_VEO_PROJECT` overrides it).
    pub project_id: Option<String>,
    pub token_uri: String,
    key_id: Option<String>,
    key: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("project_id", &self.project_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

fn setup(reason: impl Into<String>) -> SetupError {
    SetupError::new(SETTING, reason)
}

impl ServiceAccount {
    /// The key itself when `value` starts with `{`, else the path of its file.
    pub fn from_setting(value: &str) -> Result<Self, SetupError> {
        let value = value.trim().trim_start_matches('\u{feff}');
        if value.starts_with('{') {
            return Self::parse(value);
        }
        // The path is shown only when it names a .json file: a key mangled on its way in (a piece of
        // its base64) must never be quoted.
        let shown = value.len() <= 300
            && value.to_ascii_lowercase().ends_with(".json")
            && !value.contains(['\n', '{', '"', '=', '+']);
        let text = std::fs::read_to_string(value).map_err(|e| match shown {
            true => setup(format!("cannot read the service account key file {:?}: {e}", api::shown(value, 300))),
            false => setup(format!(
                "the value is neither a JSON key (starting with {{) nor the path of a readable .json file ({})",
                e.kind()
            )),
        })?;
        Self::parse(&text)
    }

    /// A service account's JSON key: `{type: "service_account", client_email, private_key (PKCS#8
    /// PEM), token_uri, project_id?, private_key_id?}`.
    pub fn parse(json: &str) -> Result<Self, SetupError> {
        // serde_json's messages name a line and column, never the text.
        let key: Value = serde_json::from_str(json).map_err(|e| {
            setup(format!("the service account key is not JSON (line {}, column {})", e.line(), e.column()))
        })?;
        let text = |field: &str| key[field].as_str().map(str::trim).filter(|s| !s.is_empty());
        match text("type") {
            Some("service_account") => {}
            Some(other) => {
                return Err(setup(format!(
                    "the key is of type {:?}, not a service account's (create a JSON key for a service account)",
                    api::shown(other, 40)
                )));
            }
            None => return Err(setup("the key has no \"type\": it is not a service account's JSON key")),
        }
        let client_email = text("client_email").ok_or_else(|| setup("the key has no client_email"))?;
        if !client_email.contains('@') || client_email.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(setup("the key's client_email is not an email address"));
        }
        let pem = text("private_key").ok_or_else(|| setup("the key has no private_key"))?;
        let key_pair = private_key(pem)?;
        let token_uri = text("token_uri").unwrap_or(GOOGLE_TOKEN_URI).to_string();
        Ok(Self {
            client_email: client_email.to_string(),
            project_id: text("project_id").map(str::to_string),
            token_uri,
            key_id: text("private_key_id").map(str::to_string),
            key: key_pair,
        })
    }

    /// The signed JWT asking `token_uri` for a cloud-platform token, issued at `iat` (Unix seconds).
    pub fn assertion(&self, iat: u64) -> Result<String, String> {
        let mut header = json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.key_id {
            header["kid"] = json!(kid);
        }
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME_S,
        });
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let signing_input = format!("{}.{}", b64(&header), b64(&claims));
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .map_err(|_| "signing the token request failed".to_string())?;
        Ok(format!("{signing_input}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// The RSA key of a PEM `PRIVATE KEY` (PKCS#8, as Google issues them) or `RSA PRIVATE KEY` (PKCS#1).
fn private_key(pem: &str) -> Result<RsaKeyPair, SetupError> {
    let not_pem = || setup("the key's private_key is not a PEM private key");
    let (label, rest) = pem.strip_prefix("-----BEGIN ").and_then(|r| r.split_once("-----")).ok_or_else(not_pem)?;
    let end = format!("-----END {label}-----");
    let body = rest.split_once(end.as_str()).map(|(b, _)| b).ok_or_else(not_pem)?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .map_err(|_| setup("the key's private_key is not valid PEM (its base64 does not decode)"))?;
    let parsed = match label {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        _ => return Err(setup("the key's private_key is not an RSA private key (PEM PRIVATE KEY)")),
    };
    parsed.map_err(|e| setup(format!("the key's private_key is not an RSA key that can sign ({e})")))
}

/// A token and when to mint the next one.
struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// Access tokens for one service account, minted when none is fresh.
pub struct Tokens {
    account: ServiceAccount,
    /// The token endpoint (`token_uri`), checked like a base URL.
    api: Api,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("account", &self.account).finish_non_exhaustive()
    }
}

impl Tokens {
    /// `token_uri` must be https (or http to loopback with `allow_private`), as a base URL.
    pub fn new(account: ServiceAccount, allow_private: bool, timeout: Duration) -> Result<Self, SetupError> {
        let api = Api::new(super::NAME, &account.token_uri, allow_private, timeout, SETTING)
            .map_err(|e| setup(format!("the key's token_uri {}", e.reason)))?;
        Ok(Self { account, api, cached: tokio::sync::Mutex::new(None) })
    }

    pub fn account(&self) -> &ServiceAccount {
        &self.account
    }

    /// A token valid for at least five more minutes (as far as its `expires_in` said).
    pub async fn token(&self) -> Result<Secret, ProviderError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let fresh = self.mint().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Drops `token` from the cache (the API refused it), so the next [`Tokens::token`] mints one.
    pub async fn forget(&self, token: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token.expose() == token.expose()) {
            *cached = None;
        }
    }

    async fn mint(&self) -> Result<Cached, ProviderError> {
        let started = Instant::now();
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let assertion = self.account.assertion(iat).map_err(|why| self.api.invalid(why))?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", GRANT_TYPE)
            .append_pair("assertion", &assertion)
            .finish();
        let request = self
            .api
            .request(reqwest::Method::POST, "")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form);
        let answer = self.api.send(request).await?;
        if !answer.ok() {
            return Err(self.refused(&answer));
        }
        let body = self.api.json(&answer.body)?;
        let token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| self.api.invalid("the token answer has no usable access_token".into()))?;
        if let Some(kind) = body["token_type"].as_str()
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(self.api.invalid(format!("the token answer's type is {:?}, not Bearer", api::shown(kind, 40))));
        }
        let lifetime =
            body["expires_in"].as_u64().ok_or_else(|| self.api.invalid("the token answer has no expires_in".into()))?;
        tracing::debug!(provider = super::NAME, expires_in = lifetime, "access token minted");
        Ok(Cached {
            token: Secret::new(token),
            refresh_at: started + Duration::from_secs(lifetime).saturating_sub(EARLY),
        })
    }

    /// The error for a token endpoint's refusal: OAuth's `{error, error_description}`.
    fn refused(&self, answer: &api::Answer) -> ProviderError {
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        let words = match (body["error"].as_str(), body["error_description"].as_str()) {
            (Some(e), Some(d)) => format!("{e}: {d}"),
            _ => answer.error_text(),
        };
        let words = api::shown(&words, 300);
        let status = answer.status;
        match status {
            408 | 429 | 500..=599 => {
                self.api.retry_after(format!("the token endpoint answered HTTP {status}: {words}"), answer.retry_after)
            }
            _ => self.api.rejected(format!(
                "the service account's key is refused (HTTP {status}: {words}): check {SETTING} (a deleted or \
                 disabled key, or a clock minutes off)"
            )),
        }
    }
}
