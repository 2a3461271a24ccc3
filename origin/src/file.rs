//! Answering a GET or HEAD for one file: strong validators (`ETag` from the inode, size and
//! modification time, so a republished stable file gets a new one; `Last-Modified`), conditional
//! requests (`If-None-Match`, `If-Modified-Since` → `304`; `If-Range`), one byte range (`206`,
//! `416`), and the body streamed from the open file in bounded chunks, so memory stays flat
//! whatever the file's size. A HEAD gets the same headers and no body. The file stays open while it
//! is streamed: a new version renamed over the stable path meanwhile does not change what this
//! answer sends (its `ETag` and length were sent first).

use crate::hot::Hot;
use crate::paths::Folder;
use crate::range::Ranged;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::fs::Metadata;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::io::ReaderStream;

/// The most read at a time from disk for one response (and bodies up to this are read at once).
const CHUNK: usize = 128 * 1024;

/// What a request asks beyond the file: the headers that change the answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Asked<'a> {
    pub head: bool,
    range: Option<&'a str>,
    if_range: Option<&'a str>,
    if_none_match: Option<&'a str>,
    if_modified_since: Option<&'a str>,
}

impl<'a> Asked<'a> {
    pub fn from(headers: &'a HeaderMap, head: bool) -> Self {
        let get = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        Self {
            head,
            range: get(header::RANGE),
            if_range: get(header::IF_RANGE),
            if_none_match: get(header::IF_NONE_MATCH),
            if_modified_since: get(header::IF_MODIFIED_SINCE),
        }
    }
}

/// How a file is served: its content type and its `Cache-Control`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Serving {
    pub content_type: &'static str,
    pub cache_control: &'static str,
    /// Public files may be embedded by any page (as CloudFront's response headers say).
    pub public: bool,
}

/// A file's length and validators, with their header values made once (a hot file keeps them).
#[derive(Debug, Clone)]
pub(crate) struct Validators {
    len: u64,
    last_modified: SystemTime,
    /// The quoted tag, as sent.
    etag: HeaderValue,
    last_modified_header: HeaderValue,
}

impl Validators {
    pub(crate) fn of(meta: &Metadata) -> Self {
        let modified = meta.modified().unwrap_or(UNIX_EPOCH);
        let nanos = modified.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_nanos();
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        Self {
            len: meta.len(),
            etag: value(&format!("\"{inode:x}-{:x}-{nanos:x}\"", meta.len())),
            last_modified: modified,
            last_modified_header: value(&httpdate::fmt_http_date(modified)),
        }
    }

    /// `If-None-Match` (weak comparison, as RFC 9110 wants for it): `*` or one of the tags is ours.
    fn none_match(&self, header: &str) -> bool {
        header
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t).as_bytes() == self.etag.as_bytes())
    }

    /// Whether the file is unchanged since the `If-Modified-Since` date (HTTP dates have whole seconds).
    fn not_modified_since(&self, header: &str) -> bool {
        httpdate::parse_http_date(header).is_ok_and(|since| whole_seconds(self.last_modified) <= whole_seconds(since))
    }

    /// `If-Range`: a strong tag equal to ours, or exactly our `Last-Modified` date.
    fn range_still_valid(&self, header: &str) -> bool {
        let header = header.trim();
        if header.starts_with('"') || header.starts_with("W/") {
            return header.as_bytes() == self.etag.as_bytes();
        }
        httpdate::parse_http_date(header).is_ok_and(|d| whole_seconds(d) == whole_seconds(self.last_modified))
    }
}

fn whole_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The status and bytes decided for a request, before any body is read.
enum Decision {
    NotModified,
    Unsatisfiable,
    Bytes { status: StatusCode, start: u64, len: u64 },
}

fn decide(asked: &Asked, v: &Validators) -> Decision {
    let len = v.len;
    let not_modified = match (asked.if_none_match, asked.if_modified_since) {
        (Some(tags), _) => v.none_match(tags),
        (None, Some(date)) => v.not_modified_since(date),
        (None, None) => false,
    };
    if not_modified {
        return Decision::NotModified;
    }
    let range = match asked.if_range {
        Some(cond) if !v.range_still_valid(cond) => None,
        _ => asked.range,
    };
    match Ranged::of(range, len) {
        Ranged::Whole => Decision::Bytes { status: StatusCode::OK, start: 0, len },
        Ranged::Part { start, end } => {
            Decision::Bytes { status: StatusCode::PARTIAL_CONTENT, start, len: end - start + 1 }
        }
        Ranged::Unsatisfiable => Decision::Unsatisfiable,
    }
}

/// Serves `relative` under `folder`; `None` when there is no such file (or it is refused). A file in
/// the `hot` set that is still the one there is answered from memory after one `stat`; any other is
/// opened and read on the calling thread (a few system calls and page-cache copies, as nginx's event
/// loop makes them; the hot set, when there is one, reads it in for later requests): a body up to
/// [`CHUNK`] at once, a larger one a chunk at a time.
pub(crate) fn serve(
    folder: &Folder,
    relative: &str,
    serving: Serving,
    asked: &Asked,
    hot: Option<&Hot>,
) -> Option<Response> {
    if let Some((v, whole)) = hot.and_then(|h| h.unchanged(folder, relative)) {
        let decision = decide(asked, &v);
        return Some(respond(relative, &v, decision, Source::Memory(whole), serving, asked));
    }
    let (file, meta) = match folder.open(relative) {
        Ok(Some(found)) => found,
        Ok(None) => return None,
        Err(e) => return Some(failed(relative, &e)),
    };
    let v = Validators::of(&meta);
    // Read into the hot set only for a body (a HEAD or a 304 reads nothing).
    let decision = decide(asked, &v);
    let body_wanted = !asked.head && matches!(decision, Decision::Bytes { .. });
    let source = match hot.filter(|_| body_wanted).and_then(|h| h.whole(relative, &file, &meta, &v)) {
        Some(whole) => Source::Memory(whole),
        None => Source::File(file),
    };
    Some(respond(relative, &v, decision, source, serving, asked))
}

/// Where a body's bytes come from.
enum Source {
    /// The whole file, in memory.
    Memory(Bytes),
    File(std::fs::File),
}

fn respond(
    relative: &str,
    v: &Validators,
    decision: Decision,
    source: Source,
    serving: Serving,
    asked: &Asked,
) -> Response {
    let total = v.len;
    let mut headers = HeaderMap::with_capacity(10);
    headers.insert(header::ETAG, v.etag.clone());
    headers.insert(header::LAST_MODIFIED, v.last_modified_header.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(serving.cache_control));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if serving.public {
        headers.insert(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        );
    }
    let (status, body) = match decision {
        Decision::NotModified => (StatusCode::NOT_MODIFIED, Body::empty()),
        Decision::Unsatisfiable => {
            headers.insert(header::CONTENT_RANGE, value(&format!("bytes */{total}")));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            (StatusCode::RANGE_NOT_SATISFIABLE, Body::empty())
        }
        Decision::Bytes { status, start, len } => {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(serving.content_type));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            if status == StatusCode::PARTIAL_CONTENT {
                headers.insert(header::CONTENT_RANGE, value(&format!("bytes {start}-{}/{total}", start + len - 1)));
            }
            let body = if asked.head || len == 0 {
                Body::empty()
            } else {
                match source {
                    Source::Memory(whole) => Body::from(whole.slice(start as usize..(start + len) as usize)),
                    Source::File(file) if len as usize <= CHUNK => match read_at(&file, start, len as usize) {
                        Ok(bytes) => Body::from(bytes),
                        Err(e) => return failed(relative, &e),
                    },
                    Source::File(file) => stream(file, start, len),
                }
            };
            (status, body)
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// A header value from text we made (digits, dates, quoted hex).
fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("made of visible ASCII")
}

fn failed(relative: &str, e: &std::io::Error) -> Response {
    tracing::error!(file = relative, error = %e, "Reading a served file failed.");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// `len` bytes from `start`, read [`CHUNK`] at a time as the connection takes them (hyper asks for
/// the next chunk only once the last one is written), so one chunk per connection is all it holds.
fn stream(file: std::fs::File, start: u64, len: u64) -> Body {
    Body::from_stream(ReaderStream::with_capacity(Chunks { file, offset: start, remaining: len }, CHUNK))
}

/// An open file read from `offset` for `remaining` bytes, each read a `pread` on the polling thread
/// (a page-cache copy, as nginx reads files in its event loop without `aio threads`).
struct Chunks {
    file: std::fs::File,
    offset: u64,
    remaining: u64,
}

impl tokio::io::AsyncRead for Chunks {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let want = (buf.remaining() as u64).min(self.remaining) as usize;
        if want == 0 {
            return std::task::Poll::Ready(Ok(()));
        }
        let n = pread(&self.file, buf.initialize_unfilled_to(want), self.offset)?;
        if n == 0 {
            // The file is shorter than it was when the answer's length was sent.
            return std::task::Poll::Ready(Err(std::io::ErrorKind::UnexpectedEof.into()));
        }
        buf.advance(n);
        self.offset += n as u64;
        self.remaining -= n as u64;
        std::task::Poll::Ready(Ok(()))
    }
}

/// One `pread` into `dst` at `offset` (retried when interrupted): how many bytes were read, 0 at the
/// end of the file.
fn pread(file: &std::fs::File, dst: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match file.read_at(dst, offset) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            read => return read,
        }
    }
}

/// `len` (at most [`CHUNK`]) bytes at `offset`, read into a reused buffer (a body is read once per
/// request; allocating and clearing a fresh one each time cost more than the read). The buffer goes
/// back to the pool once the body is written.
fn read_at(file: &std::fs::File, offset: u64, len: usize) -> std::io::Result<Bytes> {
    let mut buf = Pooled::take(len);
    let mut filled = 0;
    while filled < len {
        let n = pread(file, &mut buf.bytes[filled..len], offset + filled as u64)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
    }
    buf.len = len;
    Ok(Bytes::from_owner(buf))
}

/// The whole of `file` (`len` bytes long when it was opened) in one buffer of its own.
pub(crate) fn read_whole(file: &std::fs::File, len: u64) -> std::io::Result<Bytes> {
    let mut buf = vec![0; len as usize];
    let mut filled = 0;
    while filled < buf.len() {
        let n = pread(file, &mut buf[filled..], filled as u64)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
    }
    Ok(Bytes::from(buf))
}

/// Read buffers of [`CHUNK`] bytes (zeroed once, when made) kept for reuse: at most [`POOLED`]
/// (8 MB), as many as 64 connections reading at once hold.
static POOL: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
const POOLED: usize = 64;

/// A body read into a pooled buffer (its first `len` bytes); the buffer returns there when dropped.
struct Pooled {
    bytes: Vec<u8>,
    len: usize,
}

/// Bodies up to this are read into a buffer of their own size (the allocator keeps small ones
/// cheaply); larger ones into a pooled [`CHUNK`].
const POOLED_FROM: usize = 16 * 1024;

impl Pooled {
    /// A buffer with room for `len` (at most [`CHUNK`]) bytes.
    fn take(len: usize) -> Self {
        if len <= POOLED_FROM {
            return Self { bytes: vec![0; len], len: 0 };
        }
        let reused = POOL.lock().ok().and_then(|mut p| p.pop());
        Self { bytes: reused.unwrap_or_else(|| vec![0; CHUNK]), len: 0 }
    }
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.bytes);
        if buf.len() == CHUNK
            && let Ok(mut pool) = POOL.lock()
            && pool.len() < POOLED
        {
            pool.push(buf);
        }
    }
}
