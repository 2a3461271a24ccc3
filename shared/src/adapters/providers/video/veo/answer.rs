//! What Vertex AI's answers mean: HTTP errors, an operation's state, and where its video is.

use super::super::api::{self, Answer};
use super::NAME;
use crate::JobId;
use crate::ports::{ClipOutput, FailureClass, JobFailure, JobStatus, ProviderError};
use serde_json::Value;
use std::time::Duration;

/// The scheme of a [`ClipOutput::url`] naming an operation whose video came inline (not a real URL:
/// the download reads the operation again).
pub const INLINE_SCHEME: &str = "veo-operation:";

/// Words of a 429 or 403 that mean the account is done for the day or has no billing.
const EXHAUSTED_WORDS: &[&str] = &["per day", "perday", "daily", "billing"];
/// Words of a filtered generation's reasons that put the blame on what we sent.
const INPUT_WORDS: &[&str] =
    &["input image", "your image", "uploaded", "the input", "provided image", "image provided"];

pub fn rejected(message: String) -> ProviderError {
    ProviderError::Rejected { provider: NAME.into(), message, moderation: false }
}

pub fn invalid(message: String) -> ProviderError {
    ProviderError::Invalid { provider: NAME.into(), message }
}

fn exhausted(message: String) -> ProviderError {
    ProviderError::Exhausted { provider: NAME.into(), message }
}

/// Google's `{error: {code, message, status, details}}` words: the status and the message.
fn google_text(body: &[u8]) -> String {
    let json: Value = serde_json::from_slice(body).unwrap_or_default();
    match (json["error"]["status"].as_str(), json["error"]["message"].as_str()) {
        (Some(status), Some(message)) => api::shown(&format!("{status}: {message}"), 300),
        _ => api::error_text(body),
    }
}

/// A `google.rpc.RetryInfo` detail's `retryDelay` (`"30s"`, `"1.5s"`), the body's hint.
pub fn retry_info(body: &[u8]) -> Option<Duration> {
    let json: Value = serde_json::from_slice(body).ok()?;
    json["error"]["details"].as_array()?.iter().find_map(|d| {
        let kind = d["@type"].as_str()?;
        if !kind.ends_with("google.rpc.RetryInfo") {
            return None;
        }
        let secs: f64 = d["retryDelay"].as_str()?.strip_suffix('s')?.parse().ok()?;
        (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
    })
}

/// Which call an answer is to.
#[derive(Debug, Clone, Copy)]
pub enum Call<'a> {
    /// `predictLongRunning` of this model in this location.
    Submit { model: &'a str, location: &'a str },
    /// `fetchPredictOperation`.
    Poll,
}

/// The error for an API answer that is not a 2xx (a 401 here is one the fresh token got too).
pub fn status_error(answer: &Answer, call: Call<'_>) -> ProviderError {
    let status = answer.status;
    let message = google_text(&answer.body);
    // `requests_per_day` reads as "requests per day".
    let lower = message.to_lowercase().replace(['_', '-'], " ");
    let text = format!("HTTP {status}: {message}");
    let exhausted_words = EXHAUSTED_WORDS.iter().any(|w| lower.contains(w));
    match status {
        429 | 403 if exhausted_words => exhausted(text),
        408 | 429 | 500..=599 => ProviderError::Retryable {
            provider: NAME.into(),
            message: text,
            retry_after: answer.retry_after.or_else(|| retry_info(&answer.body)),
        },
        401 => rejected(format!(
            "{text}: the service account's fresh token is refused too (check {})",
            super::auth::SETTING
        )),
        403 => rejected(format!(
            "{text}: the service account may not use Vertex AI in this project (it needs roles/aiplatform.user, \
             and the Vertex AI API enabled)"
        )),
        404 => match call {
            Call::Submit { model, location } => rejected(format!(
                "{text}: the model {model} is not available in {location} (retired, not in this region, or the \
                 project is wrong)"
            )),
            Call::Poll => rejected(format!("{text}: no such operation")),
        },
        _ => rejected(text),
    }
}

/// The operation id of a `predictLongRunning` answer's `name`
/// (`projects/…/models/{model}/operations/{id}`), checked to be safe in a job id.
pub fn operation_id(answer: &Value) -> Result<JobId, ProviderError> {
    let name = answer["name"].as_str().ok_or_else(|| invalid("the answer has no operation name".into()))?;
    let id = name
        .rsplit_once("/operations/")
        .map(|(_, id)| id)
        .ok_or_else(|| invalid(format!("{:?} is not an operation name", api::shown(name, 120))))?;
    let safe = (1..=200).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    match JobId::parse(id) {
        Ok(job) if safe => Ok(job),
        _ => Err(invalid(format!("{:?} is not a Veo operation id", api::shown(id, 80)))),
    }
}

/// A gRPC code's name.
fn grpc_name(code: i64) -> &'static str {
    match code {
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// A failed operation's class by its gRPC code (see the module doc): never billed.
pub fn operation_failure(code: i64) -> FailureClass {
    match code {
        8 | 13 | 14 => FailureClass::Retryable,
        _ => FailureClass::Invalid,
    }
}

/// Where a finished operation's video is.
#[derive(Debug, Clone, PartialEq)]
pub enum Video<'a> {
    Inline { base64: &'a str, mime: Option<&'a str> },
    Gcs { uri: &'a str, mime: Option<&'a str> },
}

/// The first video of a done operation's `response.videos`, if it has one.
pub fn video(operation: &Value) -> Option<Video<'_>> {
    let v = operation["response"]["videos"].as_array()?.first()?;
    let mime = v["mimeType"].as_str();
    if let Some(base64) = v["bytesBase64Encoded"].as_str().filter(|b| !b.is_empty()) {
        return Some(Video::Inline { base64, mime });
    }
    v["gcsUri"].as_str().filter(|u| !u.is_empty()).map(|uri| Video::Gcs { uri, mime })
}

/// What a `fetchPredictOperation` answer says about operation `job`.
pub fn status(operation: &Value, job: &JobId, poll_interval: Duration) -> Result<JobStatus, ProviderError> {
    if !operation.is_object() {
        return Err(invalid("the operation is not a JSON object".into()));
    }
    let done = match &operation["done"] {
        Value::Null => false,
        Value::Bool(b) => *b,
        _ => return Err(invalid("the operation's done is not true or false".into())),
    };
    if !done {
        return Ok(JobStatus::Pending { retry_in: poll_interval, queued: false });
    }
    let error = &operation["error"];
    if !error.is_null() {
        let code = error["code"].as_i64().ok_or_else(|| invalid("the operation's error has no code".into()))?;
        let message = error["message"].as_str().map_or_else(|| "the operation failed".into(), |m| api::shown(m, 300));
        let name = grpc_name(code);
        return Ok(JobStatus::Failed(JobFailure {
            class: operation_failure(code),
            code: Some(format!("{code} {name}")),
            reason: format!("{message} ({name})"),
            billed: false,
        }));
    }
    let response = &operation["response"];
    match video(operation) {
        Some(Video::Inline { mime, .. }) => Ok(JobStatus::Ready(ClipOutput {
            url: format!("{INLINE_SCHEME}{job}"),
            content_type: Some(mime.unwrap_or("video/mp4").to_string()),
        })),
        Some(Video::Gcs { uri, mime }) => {
            gcs_object(uri)?;
            Ok(JobStatus::Ready(ClipOutput { url: uri.to_string(), content_type: mime.map(str::to_string) }))
        }
        None if response["raiMediaFilteredCount"].as_u64().unwrap_or(0) > 0 => {
            let reasons: Vec<&str> = response["raiMediaFilteredReasons"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let reason = if reasons.is_empty() {
                "the video was blocked by Vertex AI's safety filters".to_string()
            } else {
                api::shown(&reasons.join(" | "), 300)
            };
            let lower = reason.to_lowercase();
            let class = if INPUT_WORDS.iter().any(|w| lower.contains(w)) {
                FailureClass::ModerationInput
            } else {
                FailureClass::ModerationOutput
            };
            Ok(JobStatus::Failed(JobFailure { class, code: Some("RAI_MEDIA_FILTERED".into()), reason, billed: false }))
        }
        None => Ok(JobStatus::Failed(JobFailure {
            class: FailureClass::Retryable,
            code: None,
            reason: "the operation is done with neither a video nor a reason".into(),
            billed: true,
        })),
    }
}

/// The bucket and object of `gs://bucket/object`, checked (a bucket is 3 to 222 of `a-z0-9._-`; an
/// object 1 to 1024 bytes with no control characters).
pub fn gcs_object(uri: &str) -> Result<(&str, &str), ProviderError> {
    let bad = || invalid(format!("{:?} is not a gs://bucket/object URI", api::shown(uri, 120)));
    let (bucket, object) = uri.strip_prefix("gs://").and_then(|r| r.split_once('/')).ok_or_else(bad)?;
    let bucket_ok = (3..=222).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    let object_ok = (1..=1024).contains(&object.len()) && !object.chars().any(char::is_control);
    if bucket_ok && object_ok { Ok((bucket, object)) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: Value) -> Answer {
        Answer { status, retry_after: None, headers: Vec::new(), body: body.to_string().into_bytes() }
    }

    fn google(status: u16, state: &str, message: &str) -> Answer {
        answer(status, json!({ "error": { "code": status, "message": message, "status": state } }))
    }

    #[test]
    fn http_answers_map_to_errors() {
        let err = |a: &Answer| status_error(a, Call::Submit { model: "veo-3.1-generate-001", location: "us-central1" });
        let minute = google(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for online_prediction_requests_per_base_model per minute",
        );
        let e = err(&minute);
        assert!(e.is_retryable() && e.retry_after().is_none(), "{e:?}");
        let mut hinted = minute.clone();
        hinted.retry_after = Some(Duration::from_secs(9));
        assert_eq!(err(&hinted).retry_after(), Some(Duration::from_secs(9)), "the header");
        let body = json!({ "error": { "code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED",
            "details": [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12.5s" }] } });
        assert_eq!(err(&answer(429, body)).retry_after(), Some(Duration::from_millis(12_500)), "RetryInfo");
        for (status, text) in [
            (429, "Quota exceeded for aiplatform.googleapis.com/generate_video_requests_per_day"),
            (429, "Quota exceeded: requests per day per project"),
            (403, "This API method requires billing to be enabled. Please enable billing on project #1"),
            (403, "The billing account for the owning project is disabled in state absent"),
        ] {
            assert!(matches!(err(&google(status, "x", text)), ProviderError::Exhausted { .. }), "{text}");
        }
        let e = err(&google(403, "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied"));
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("roles/aiplatform.user"), "{e}");
        let e = err(&google(404, "NOT_FOUND", "Publisher Model was not found"));
        assert!(e.to_string().contains("not available in us-central1") && e.to_string().contains("retired"), "{e}");
        let e = status_error(&google(404, "NOT_FOUND", "Operation not found"), Call::Poll);
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("no such operation"), "{e}");
        let e = err(&google(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."));
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("TRUEREEL_VEO_CREDENTIALS"));
        let e = err(&google(400, "INVALID_ARGUMENT", "durationSeconds must be 4, 6 or 8"));
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        assert!(e.to_string().contains("INVALID_ARGUMENT: durationSeconds"), "{e}");
        for s in [500, 503, 504] {
            assert!(err(&google(s, "UNAVAILABLE", "The service is currently unavailable.")).is_retryable(), "{s}");
        }
        assert!(err(&answer(502, json!("<html>bad gateway</html>"))).is_retryable());
    }

    #[test]
    fn operation_states_map_to_statuses() {
        let job = JobId::new("1234-abcd");
        let tick = Duration::from_millis(10);
        let s = |v: Value| status(&v, &job, tick);
        assert_eq!(s(json!({ "name": "x" })).unwrap(), JobStatus::Pending { retry_in: tick, queued: false });
        assert_eq!(
            s(json!({ "name": "x", "done": false })).unwrap(),
            JobStatus::Pending { retry_in: tick, queued: false }
        );
        let ready = s(
            json!({ "done": true, "response": { "videos": [{ "bytesBase64Encoded": "AAAA", "mimeType": "video/mp4" }] } }),
        );
        assert_eq!(
            ready.unwrap(),
            JobStatus::Ready(ClipOutput {
                url: "veo-operation:1234-abcd".into(),
                content_type: Some("video/mp4".into())
            })
        );
        let gcs = s(json!({ "done": true, "response": { "videos": [{ "gcsUri": "gs://b-1/out/sample_0.mp4" }] } }));
        assert_eq!(
            gcs.unwrap(),
            JobStatus::Ready(ClipOutput { url: "gs://b-1/out/sample_0.mp4".into(), content_type: None })
        );
        use FailureClass::*;
        for (code, class) in
            [(3, Invalid), (8, Retryable), (13, Retryable), (14, Retryable), (7, Invalid), (99, Invalid)]
        {
            let JobStatus::Failed(f) = s(json!({ "done": true, "error": { "code": code, "message": "no" } })).unwrap()
            else {
                panic!("failed")
            };
            assert_eq!((f.class, f.billed), (class, false), "{code}");
            assert!(f.code.unwrap().starts_with(&code.to_string()));
        }
        let filtered = |reason: &str| {
            let v = json!({ "done": true, "response": { "raiMediaFilteredCount": 1, "raiMediaFilteredReasons": [reason] } });
            match s(v).unwrap() {
                JobStatus::Failed(f) => f,
                other => panic!("{other:?}"),
            }
        };
        let out = filtered(
            "Unable to show generated videos that violate our policies. You will not be charged. Support codes: 90789179",
        );
        assert_eq!((out.class, out.billed), (ModerationOutput, false));
        assert!(out.reason.contains("Support codes: 90789179"), "{}", out.reason);
        let input = filtered("The input image contains content that was blocked. You will not be charged.");
        assert_eq!((input.class, input.billed), (ModerationInput, false));
        let JobStatus::Failed(empty) = s(json!({ "done": true, "response": {} })).unwrap() else { panic!("failed") };
        assert_eq!((empty.class, empty.billed), (Retryable, true));
        let JobStatus::Failed(none) = s(json!({ "done": true })).unwrap() else { panic!("failed") };
        assert_eq!(none.class, Retryable);
        for odd in [json!([]), json!({ "done": "yes" }), json!({ "done": true, "error": { "message": "x" } })] {
            assert!(matches!(s(odd.clone()), Err(ProviderError::Invalid { .. })), "{odd}");
        }
        assert!(
            s(json!({ "done": true, "response": { "videos": [{ "gcsUri": "https://evil.example/x" }] } })).is_err()
        );
    }

    #[test]
    fn operation_ids_and_gcs_uris_are_checked() {
        let name = json!({ "name": "projects/p/locations/us-central1/publishers/google/models/m/operations/a1-b2" });
        assert_eq!(operation_id(&name).unwrap().as_str(), "a1-b2");
        for bad in [
            json!({}),
            json!({ "name": "projects/p/operations/../x" }),
            json!({ "name": "no-operation" }),
            json!({ "name": "projects/p/operations/a/b" }),
        ] {
            assert!(matches!(operation_id(&bad), Err(ProviderError::Invalid { .. })), "{bad}");
        }
        assert_eq!(gcs_object("gs://my-bucket/a/b c.mp4").unwrap(), ("my-bucket", "a/b c.mp4"));
        for bad in ["gs://ab/x", "gs://Bucket/x", "gs://bucket/", "s3://bucket/x", "gs://bucket", "gs://bucket/a\nb"] {
            assert!(gcs_object(bad).is_err(), "{bad}");
        }
    }
}
