//! A loopback stand-in for Veo 3.1 on Vertex AI (`providers.md` §1.6) on a [`TestServer`]: Google's
//! token endpoint for a service account (verifying the RS256 assertion), `predictLongRunning` and
//! `fetchPredictOperation` scripted one submission at a time, a Cloud-Storage-like route for `gcsUri`
//! outputs, a real small MP4 as the video, and counters.
//!
//! ```ignore
//! let stub = VeoStub::start().await;
//! stub.script(Script::RateLimited { hint: Some(3) }); // the first submit gets a 429, the next one runs
//! stub.script(Script::Succeed { polls: 2 });          // not done twice, then done with the video inline
//! let veo = VeoVideo::new(&stub.config(), Duration::from_secs(5))?;
//! ```
//!
//! | route | answer |
//! |---|---|
//! | `POST /token` (form `grant_type`, `assertion`) | `{access_token, expires_in, token_type}`; 400 `invalid_grant` for an assertion that is not signed by the key or names another `iss`, `aud`, `scope` or time |
//! | `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:predictLongRunning` | `{name: "projects/{p}/…/operations/{uuid}"}`, or the script's error; 400 `INVALID_ARGUMENT` for a body Veo would refuse |
//! | `POST …/models/{m}:fetchPredictOperation` `{operationName}` | `{name, done?, error?, response?}`; 404 for an unknown operation |
//! | `GET /storage/v1/b/{bucket}/o/{object}?alt=media` | the clip of a `gcsUri` output; 404 once it has expired |
//!
//! Every `/v1/` and `/storage/` call needs `Authorization: Bearer <a token the stub issued, not
//! expired>`, else Google's 401. The service account's key pair is made when the process first
//! asks for it (never committed): [`VeoStub::credentials`] is its JSON key. Veo has no queued state
//! (an operation is done or not) and no cancel.

use super::{RecordedRequest, Reply, TestServer};
use crate::config::{Secret, VeoConfig};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The project the stub's service account belongs to.
pub const PROJECT: &str = "truereel-test";
/// The service account's email.
pub const CLIENT_EMAIL: &str = "veo-stub@truereel-test.iam.gserviceaccount.com";
/// The bucket `gcsUri` outputs are in.
pub const BUCKET: &str = "truereel-veo-stub";
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const MODELS: &[&str] = &["veo-3.1-generate-001", "veo-3.1-fast-generate-001"];

/// What one submission does.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// Not done for `polls` polls, then done with the clip inline (`bytesBase64Encoded`).
    Succeed { polls: u32 },
    /// Done at once with a `gcsUri`; each poll names a fresh object, which answers 404 once it has
    /// been downloaded `downloads` times.
    Gcs { downloads: u32 },
    /// The submit gets a 429 `RESOURCE_EXHAUSTED` for the per-minute quota, with a
    /// `google.rpc.RetryInfo` of this many seconds when given; no operation is made.
    RateLimited { hint: Option<u32> },
    /// The submit gets a 429 for the per-day quota.
    DailyQuota,
    /// The submit gets a 403: billing is disabled on the project.
    BillingDisabled,
    /// The submit gets a 403: the service account may not predict.
    PermissionDenied,
    /// The submit gets a 404: the model is not available (retired, or not in the region).
    Retired,
    /// The submit gets a 503.
    ServerError,
    /// Done with no video and `raiMediaFilteredCount: 1`; the reason blames the input image or the
    /// generated video.
    Filtered { input: bool },
    /// Done with `error: {code, message}` (a gRPC code: 3, 8, 13, 14…).
    OperationError { code: i32 },
    /// Done with a `response` that has neither videos nor a filter count.
    EmptyDone,
    /// Every poll answers JSON cut short.
    MalformedPoll,
    /// Done at once, the inline clip padded with zeros to this many bytes.
    Oversized(usize),
    /// Never done.
    NeverFinishes,
    /// Not done until this long after the submission, then done inline (a job that takes time).
    Timed(Duration),
}

/// A service account's key pair made for this process (never written anywhere).
struct TestKey {
    pem: String,
    public: Vec<u8>,
}

fn make_key() -> TestKey {
    let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("aws-lc makes an RSA key");
    let der = pair.as_der().expect("PKCS#8 of the key");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64")).collect();
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
    TestKey { pem, public: pair.public_key().as_ref().to_vec() }
}

/// The stub's own key.
fn key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(make_key)
}

/// Another key, which the stub does not know.
fn other_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(make_key)
}

struct Operation {
    name: String,
    born: Instant,
    script: Script,
    polls: u32,
}

struct Object {
    downloads: u32,
    limit: u32,
}

struct State {
    queue: VecDeque<Script>,
    default: Script,
    operations: HashMap<String, Operation>,
    objects: HashMap<String, Object>,
    bodies: Vec<Value>,
    keep_bodies: bool,
    submissions: usize,
    polls: usize,
    mints: usize,
    downloads: usize,
    /// Issued tokens and when each expires.
    tokens: HashMap<String, Instant>,
    token_lifetime: u64,
    /// Every token is refused (a 401 however fresh).
    refuse_tokens: bool,
    clip: Bytes,
    token_uri: String,
}

/// The stub server; it stops when dropped.
pub struct VeoStub {
    server: TestServer,
    state: Arc<Mutex<State>>,
}

impl VeoStub {
    /// Starts on 127.0.0.1 with [`super::runway::test_clip`] as every video.
    pub async fn start() -> Self {
        let clip = tokio::task::spawn_blocking(super::runway::test_clip).await.expect("making the test clip");
        tokio::task::spawn_blocking(key).await.expect("making the test key");
        let server = TestServer::start().await;
        let state = Arc::new(Mutex::new(State {
            queue: VecDeque::new(),
            default: Script::Succeed { polls: 2 },
            operations: HashMap::new(),
            objects: HashMap::new(),
            bodies: Vec::new(),
            keep_bodies: true,
            submissions: 0,
            polls: 0,
            mints: 0,
            downloads: 0,
            tokens: HashMap::new(),
            token_lifetime: 3599,
            refuse_tokens: false,
            clip,
            token_uri: server.url("/token"),
        }));
        let s = state.clone();
        server.handle("/token", move |r| token(&s, r));
        let s = state.clone();
        server.handle_prefix("/v1/", move |r| authorised(&s, r).unwrap_or_else(|| api(&s, r)));
        let s = state.clone();
        server.handle_prefix("/storage/v1/b/", move |r| authorised(&s, r).unwrap_or_else(|| object(&s, r)));
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>`: the base URL (and the storage host).
    pub fn base_url(&self) -> String {
        self.server.url("")
    }

    /// The token endpoint the key names.
    pub fn token_uri(&self) -> String {
        self.server.url("/token")
    }

    /// The service account's JSON key (a key pair made for this process).
    pub fn credentials(&self) -> String {
        self.credentials_with(&key().pem)
    }

    /// A JSON key of the same account with another private key, which the stub refuses.
    pub fn other_credentials(&self) -> String {
        self.credentials_with(&other_key().pem)
    }

    fn credentials_with(&self, pem: &str) -> String {
        json!({
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "0123456789abcdef0123456789abcdef01234567",
            "private_key": pem,
            "client_email": CLIENT_EMAIL,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri(),
            "universe_domain": "googleapis.com",
        })
        .to_string()
    }

    /// A Veo configuration for this stub: its URL and key, `veo-3.1-fast-generate-001`, the key's
    /// project, us-central1, private network allowed (the stub is on loopback), polls 10 ms apart,
    /// the model's list price.
    pub fn config(&self) -> VeoConfig {
        let mut config = crate::config::Config::default().video.veo;
        config.api.base_url = self.base_url();
        config.api.api_key = Some(Secret::new(self.credentials()));
        config.api.model = "veo-3.1-fast-generate-001".into();
        config.api.allow_private_network = true;
        config.api.poll_interval = Duration::from_millis(10);
        config.project = None;
        config.location = "us-central1".into();
        config
    }

    /// What the next submission (after those already queued) does.
    pub fn script(&self, script: Script) {
        self.lock().queue.push_back(script);
    }

    /// What every submission does once the queue is empty.
    pub fn always(&self, script: Script) {
        self.lock().default = script;
    }

    /// The clip the videos are.
    pub fn clip(&self) -> Bytes {
        self.lock().clip.clone()
    }

    /// Submit requests that passed the token check (answered 2xx or not).
    pub fn submissions(&self) -> usize {
        self.lock().submissions
    }

    /// The JSON bodies of the submissions, in order (those within the recording cap).
    pub fn bodies(&self) -> Vec<Value> {
        self.lock().bodies.clone()
    }

    /// `fetchPredictOperation` requests that passed the token check.
    pub fn polls(&self) -> usize {
        self.lock().polls
    }

    /// Polls of operation `id`.
    pub fn polls_of(&self, id: &str) -> u32 {
        self.lock().operations.get(id).map_or(0, |o| o.polls)
    }

    /// Tokens issued.
    pub fn mints(&self) -> usize {
        self.lock().mints
    }

    /// Storage object requests that passed the token check (answered or refused).
    pub fn downloads(&self) -> usize {
        self.lock().downloads
    }

    /// Every token issued so far is refused from now on (as if revoked): the next call gets a 401.
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// Every token, however fresh, is refused (or accepted again).
    pub fn refuse_tokens(&self, on: bool) {
        self.lock().refuse_tokens = on;
    }

    /// The `expires_in` of the tokens issued from now on, seconds.
    pub fn token_lifetime(&self, seconds: u64) {
        self.lock().token_lifetime = seconds;
    }

    /// Stops (or starts again) keeping requests and submission bodies; the counters go on.
    pub fn keep_records(&self, on: bool) {
        self.server.keep_requests(on);
        self.lock().keep_bodies = on;
    }

    /// The server underneath, for its request log.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply::status(status).header("Content-Type", "application/json; charset=UTF-8").body(body.to_string())
}

/// Google's error shape.
fn google(status: u16, state: &str, message: &str) -> Reply {
    json_reply(status, &json!({ "error": { "code": status, "message": message, "status": state } }))
}

fn oauth_error(error: &str, description: &str) -> Reply {
    json_reply(400, &json!({ "error": error, "error_description": description }))
}

fn uuid() -> String {
    let hex = |n: usize| (0..n).map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap()).collect::<String>();
    format!("{}-{}-4{}-a{}-{}", hex(8), hex(4), hex(3), hex(3), hex(12))
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Why Google would refuse `assertion`, if it would.
fn check_assertion(assertion: &str, audience: &str) -> Result<(), &'static str> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else { return Err("Invalid JWT: not a JWT") };
    let decode = |part: &str| b64.decode(part).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let (Some(header_json), Some(claims_json)) = (decode(header), decode(claims)) else {
        return Err("Invalid JWT: its parts do not decode");
    };
    if header_json["alg"] != "RS256" {
        return Err("Invalid JWT: alg must be RS256");
    }
    let signature = b64.decode(signature).map_err(|_| "Invalid JWT Signature.")?;
    let signed = format!("{header}.{claims}");
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key().public)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "Invalid JWT Signature.")?;
    if claims_json["iss"] != CLIENT_EMAIL {
        return Err("Invalid email or User ID");
    }
    if claims_json["aud"] != audience {
        return Err("Invalid JWT: Failed audience check.");
    }
    if !claims_json["scope"].as_str().is_some_and(|s| s.split(' ').any(|s| s == SCOPE)) {
        return Err("Invalid OAuth scope or ID token audience provided.");
    }
    let (Some(iat), Some(exp)) = (claims_json["iat"].as_u64(), claims_json["exp"].as_u64()) else {
        return Err("Invalid JWT: no iat or exp");
    };
    let now = now_s();
    if iat > now + 60 || exp <= now || exp < iat || exp - iat > 3600 {
        return Err(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your \
             iat and exp values in the JWT claim.",
        );
    }
    Ok(())
}

fn token(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    if r.method != "POST" {
        return json_reply(405, &json!({ "error": "invalid_request", "error_description": "POST only" }));
    }
    if !r.header("content-type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded")) {
        return oauth_error("invalid_request", "Expected a form-encoded body");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&r.body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some(GRANT) {
        return oauth_error("unsupported_grant_type", "Invalid grant_type");
    }
    let Some(assertion) = form.get("assertion") else { return oauth_error("invalid_request", "Missing assertion") };
    let mut s = lock(state);
    if let Err(why) = check_assertion(assertion, &s.token_uri) {
        return oauth_error("invalid_grant", why);
    }
    let token = format!("ya29.stub-{}", uuid().replace('-', ""));
    let lifetime = s.token_lifetime;
    s.tokens.insert(token.clone(), Instant::now() + Duration::from_secs(lifetime));
    s.mints += 1;
    json_reply(200, &json!({ "access_token": token, "expires_in": lifetime, "token_type": "Bearer" }))
}

/// Google's 401 unless the request carries a token the stub issued that has not expired.
fn authorised(state: &Mutex<State>, r: &RecordedRequest) -> Option<Reply> {
    let s = lock(state);
    let token = r.header("authorization").and_then(|h| h.strip_prefix("Bearer "));
    let valid = token.and_then(|t| s.tokens.get(t)).is_some_and(|expires| Instant::now() < *expires);
    if valid && !s.refuse_tokens {
        return None;
    }
    Some(google(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid \
         authentication credential.",
    ))
}

fn api(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let path = r.path().trim_start_matches("/v1/projects/");
    let parts: Vec<&str> = path.split('/').collect();
    let [project, "locations", location, "publishers", "google", "models", call] = parts[..] else {
        return google(404, "NOT_FOUND", "Not found");
    };
    let Some((model, method)) = call.split_once(':') else { return google(404, "NOT_FOUND", "Not found") };
    if project != PROJECT {
        return google(403, "PERMISSION_DENIED", &format!("Permission denied on resource project {project}."));
    }
    if !MODELS.contains(&model) {
        let message = format!(
            "Publisher Model `projects/{project}/locations/{location}/publishers/google/models/{model}` was not \
             found or your project does not have access to it."
        );
        return google(404, "NOT_FOUND", &message);
    }
    if r.method != "POST" {
        return google(405, "INVALID_ARGUMENT", "POST only");
    }
    let base = format!("projects/{project}/locations/{location}/publishers/google/models/{model}");
    match method {
        "predictLongRunning" => submit(state, r, &base),
        "fetchPredictOperation" => poll(state, r, &base),
        _ => google(404, "NOT_FOUND", "Not found"),
    }
}

/// Why Veo 3.1 would refuse a `predictLongRunning` body, if it would.
fn check_body(body: &Value) -> Result<(), String> {
    let instances = body["instances"].as_array().filter(|i| i.len() == 1).ok_or("one instance is expected")?;
    let instance = &instances[0];
    if instance["prompt"].as_str().is_none_or(|p| p.trim().is_empty()) {
        return Err("instances[0].prompt is required".into());
    }
    let image = |v: &Value, at: &str| -> Result<(), String> {
        let mime = v["mimeType"].as_str().unwrap_or_default();
        if !["image/jpeg", "image/png", "image/webp"].contains(&mime) {
            return Err(format!("{at}.mimeType {mime:?} is not supported"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v["bytesBase64Encoded"].as_str().unwrap_or_default())
            .map_err(|_| format!("{at}.bytesBase64Encoded is not base64"))?;
        if bytes.is_empty() || bytes.len() > 20_000_000 {
            return Err(format!("{at} must be 1 byte to 20 MB"));
        }
        Ok(())
    };
    let references = instance["referenceImages"].as_array();
    match (&instance["image"], references) {
        (Value::Null, None) => return Err("image or referenceImages is required for image input".into()),
        (Value::Null, Some(refs)) => {
            if refs.is_empty() || refs.len() > 3 {
                return Err("referenceImages takes 1 to 3 asset images".into());
            }
            for (i, r) in refs.iter().enumerate() {
                if r["referenceType"] != "asset" {
                    return Err(format!("referenceImages[{i}].referenceType must be asset"));
                }
                image(&r["image"], &format!("referenceImages[{i}].image"))?;
            }
        }
        (one, None) => image(one, "image")?,
        (_, Some(_)) => return Err("image cannot be used with referenceImages".into()),
    }
    let p = &body["parameters"];
    let seconds = p["durationSeconds"].as_u64().ok_or("parameters.durationSeconds must be an integer")?;
    if ![4, 6, 8].contains(&seconds) || (references.is_some() && seconds != 8) {
        return Err(format!("durationSeconds {seconds} is not supported (4, 6 or 8; 8 with referenceImages)"));
    }
    if !["9:16", "16:9"].contains(&p["aspectRatio"].as_str().unwrap_or_default()) {
        return Err("aspectRatio must be 16:9 or 9:16".into());
    }
    if !["720p", "1080p"].contains(&p["resolution"].as_str().unwrap_or("720p")) {
        return Err("resolution must be 720p or 1080p".into());
    }
    if !p["generateAudio"].is_boolean() {
        return Err("generateAudio is required for Veo 3 models".into());
    }
    if !["allow_adult", "dont_allow"].contains(&p["personGeneration"].as_str().unwrap_or("allow_adult")) {
        return Err("personGeneration must be allow_adult or dont_allow for image input".into());
    }
    if !(1..=4).contains(&p["sampleCount"].as_u64().unwrap_or(1)) {
        return Err("sampleCount must be 1 to 4".into());
    }
    if p["seed"].as_u64().is_some_and(|s| s > u32::MAX as u64) {
        return Err("seed must be a uint32".into());
    }
    Ok(())
}

fn submit(state: &Mutex<State>, r: &RecordedRequest, base: &str) -> Reply {
    let mut s = lock(state);
    s.submissions += 1;
    if (r.body.len() as u64) < super::http_server::MAX_RECORDED_BODY {
        let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
            return google(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
        };
        if let Err(why) = check_body(&body) {
            return google(400, "INVALID_ARGUMENT", &why);
        }
        if s.keep_bodies {
            s.bodies.push(body);
        }
    }
    let script = s.queue.pop_front().unwrap_or_else(|| s.default.clone());
    let quota = "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: \
                 veo-3.1. Please submit a quota increase request.";
    match script {
        Script::RateLimited { hint } => {
            let mut body = json!({ "error": { "code": 429, "message": quota, "status": "RESOURCE_EXHAUSTED" } });
            if let Some(secs) = hint {
                body["error"]["details"] =
                    json!([{ "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{secs}s") }]);
            }
            return json_reply(429, &body);
        }
        Script::DailyQuota => {
            let message = "Quota exceeded for quota metric 'Generate video requests' and limit 'Generate video \
                           requests per day per project per base model' of service 'aiplatform.googleapis.com'.";
            return google(429, "RESOURCE_EXHAUSTED", message);
        }
        Script::BillingDisabled => {
            let message = format!(
                "This API method requires billing to be enabled. Please enable billing on project {PROJECT} by \
                 visiting https://console.developers.google.com/billing/enable?project={PROJECT} then retry."
            );
            return google(403, "PERMISSION_DENIED", &message);
        }
        Script::PermissionDenied => {
            let message = format!(
                "Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/{base}' \
                 (or it may not exist)."
            );
            return google(403, "PERMISSION_DENIED", &message);
        }
        Script::Retired => {
            let message = format!("Publisher Model `{base}` was not found or your project does not have access to it.");
            return google(404, "NOT_FOUND", &message);
        }
        Script::ServerError => return google(503, "UNAVAILABLE", "The service is currently unavailable."),
        _ => {}
    }
    let id = uuid();
    let name = format!("{base}/operations/{id}");
    s.operations.insert(id, Operation { name: name.clone(), born: Instant::now(), script, polls: 0 });
    json_reply(200, &json!({ "name": name }))
}

fn poll(state: &Mutex<State>, r: &RecordedRequest, base: &str) -> Reply {
    let mut s = lock(state);
    let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
        return google(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    };
    let name = body["operationName"].as_str().unwrap_or_default().to_string();
    let id = name.rsplit_once("/operations/").map(|(_, id)| id.to_string()).unwrap_or_default();
    s.polls += 1;
    let clip = s.clip.clone();
    let Some(op) = s.operations.get_mut(&id).filter(|op| op.name == name && name.starts_with(base)) else {
        return google(404, "NOT_FOUND", &format!("Operation {name:?} not found."));
    };
    op.polls += 1;
    let n = op.polls;
    let script = op.script.clone();
    let not_done = json!({ "name": name });
    let inline = |bytes: &[u8]| {
        json!({ "name": name, "done": true, "response": {
            "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
            "raiMediaFilteredCount": 0,
            "videos": [{ "bytesBase64Encoded": base64::engine::general_purpose::STANDARD.encode(bytes), "mimeType": "video/mp4" }],
        } })
    };
    let answer = match script {
        Script::Succeed { polls } if n <= polls => not_done,
        Script::NeverFinishes => not_done,
        Script::Timed(takes) if op.born.elapsed() < takes => not_done,
        Script::MalformedPoll => {
            return Reply::ok(format!("{{\"name\":\"{name}\",\"done\":tr")).header("Content-Type", "application/json");
        }
        Script::Oversized(size) => {
            let mut padded = clip.to_vec();
            padded.resize(size.max(clip.len()), 0);
            inline(&padded)
        }
        Script::Gcs { downloads } => {
            let object = format!("veo/{id}/{n}/sample_0.mp4");
            s.objects.insert(object.clone(), Object { downloads: 0, limit: downloads });
            json!({ "name": name, "done": true, "response": {
                "raiMediaFilteredCount": 0,
                "videos": [{ "gcsUri": format!("gs://{BUCKET}/{object}"), "mimeType": "video/mp4" }],
            } })
        }
        Script::Filtered { input } => {
            let reason = if input {
                "The input image contains content that has been blocked by your current safety settings. You will \
                 not be charged for blocked videos. Support codes: 17301594"
            } else {
                "Unable to show generated videos that may violate Vertex AI's usage guidelines. You will not be \
                 charged for blocked videos. Support codes: 90789179"
            };
            json!({ "name": name, "done": true, "response": {
                "raiMediaFilteredCount": 1, "raiMediaFilteredReasons": [reason],
            } })
        }
        Script::OperationError { code } => json!({ "name": name, "done": true, "error": {
            "code": code, "message": format!("The operation failed (code {code})."),
        } }),
        Script::EmptyDone => json!({ "name": name, "done": true, "response": {
            "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
        } }),
        _ => inline(&clip),
    };
    json_reply(200, &answer)
}

/// `%XX` escapes decoded (an object name in a storage path).
fn percent_decoded(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn object(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = lock(state);
    s.downloads += 1;
    let rest = r.path().trim_start_matches("/storage/v1/b/");
    let Some((bucket, encoded)) = rest.split_once("/o/") else { return google(404, "NOT_FOUND", "Not Found") };
    let name = percent_decoded(encoded).unwrap_or_default();
    let missing = || google(404, "NOT_FOUND", &format!("No such object: {bucket}/{name}"));
    if bucket != BUCKET {
        return missing();
    }
    let clip = s.clip.clone();
    let Some(object) = s.objects.get_mut(&name) else { return missing() };
    if object.downloads >= object.limit {
        return missing();
    }
    if !r.target.split_once('?').is_some_and(|(_, q)| q.split('&').any(|p| p == "alt=media")) {
        return json_reply(200, &json!({ "kind": "storage#object", "bucket": bucket, "name": name }));
    }
    object.downloads += 1;
    Reply::ok(clip).header("Content-Type", "video/mp4")
}
