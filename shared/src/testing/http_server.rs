//! A small HTTP/1.1 server on 127.0.0.1 for tests: canned replies, handlers, sequences, a static folder,
//! conditional GETs, redirects, dropped, stalled and trickling connections, and a log of every request and connection.
//!
//! ```ignore
//! let server = TestServer::start().await;
//! server.route("/robots.txt", Reply::ok("User-agent: *\nDisallow: /private"));
//! server.sequence("/flaky", [Reply::status(503), Reply::ok("fine")]); // the last reply repeats
//! server.route("/photo.jpg", Reply::ok(jpeg).etag("\"v1\"")); // If-None-Match: "v1" gets a 304
//! let url = server.url("/flaky");
//! assert_eq!(server.requests_to("/flaky").len(), 2);
//! ```
//!
//! Routes match the request target (path and query) exactly, else by the longest registered prefix; anything
//! else is a 404. Connections are kept alive until the client closes them or asks for `Connection: close`.

use bytes::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    /// When the request line arrived.
    pub at: Instant,
    /// Which connection (0, 1, …) it came on.
    pub connection: usize,
    /// The body, up to [`MAX_RECORDED_BODY`] bytes (or the server's own cap,
    /// [`TestServer::keep_bodies_up_to`]); the rest is read and dropped.
    pub body: Bytes,
}

/// The most of a request body a [`RecordedRequest`] keeps.
pub const MAX_RECORDED_BODY: u64 = 1 << 20;

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

/// What to do with a request.
#[derive(Debug, Clone)]
enum Action {
    Respond,
    /// Close the connection without answering.
    Drop,
    /// Keep the connection open and never answer.
    Stall,
}

/// A response (or a misbehaviour). Built with [`Reply::ok`], [`Reply::status`], [`Reply::redirect`],
/// [`Reply::drop_connection`] or [`Reply::stall`], then adjusted.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    delay: Option<Duration>,
    action: Action,
    content_length: bool,
    /// Send the whole response (head and body) this many bytes at a time, pausing between pieces.
    trickle: Option<(usize, Duration)>,
}

impl Reply {
    /// 200 with this body.
    pub fn ok(body: impl Into<Bytes>) -> Self {
        Self::status(200).body(body)
    }

    /// This status with an empty body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: None,
            action: Action::Respond,
            content_length: true,
            trickle: None,
        }
    }

    /// A redirect (301, 302, 303, 307, 308) to any URL.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Self::status(status).header("Location", location)
    }

    /// Close the connection without a response.
    pub fn drop_connection() -> Self {
        Self { action: Action::Drop, ..Self::status(0) }
    }

    /// Never answer (until the client gives up or the server is dropped).
    pub fn stall() -> Self {
        Self { action: Action::Stall, ..Self::status(0) }
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// An `ETag`; a request whose `If-None-Match` names it gets a 304.
    pub fn etag(self, etag: impl Into<String>) -> Self {
        self.header("ETag", etag)
    }

    /// A `Last-Modified`; a request whose `If-Modified-Since` is the same string gets a 304.
    pub fn last_modified(self, date: impl Into<String>) -> Self {
        self.header("Last-Modified", date)
    }

    /// Wait this long before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Send the response `bytes` at a time with `every` between pieces (a trickling head and body).
    pub fn trickle(mut self, bytes: usize, every: Duration) -> Self {
        self.trickle = Some((bytes.max(1), every));
        self
    }

    /// Send no `Content-Length`: the body ends when the server closes the connection.
    pub fn without_content_length(mut self) -> Self {
        self.content_length = false;
        self
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

type Handler = Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>;

#[derive(Default)]
struct Routes {
    exact: HashMap<String, Handler>,
    prefix: Vec<(String, Handler)>,
}

#[derive(Default)]
struct Shared {
    routes: Mutex<Routes>,
    log: Mutex<Vec<RecordedRequest>>,
    /// Requests are not kept in `log` (for benchmarks: it grows with every request).
    quiet: std::sync::atomic::AtomicBool,
    connections: AtomicUsize,
    /// The most of a request body kept ([`MAX_RECORDED_BODY`] unless raised).
    body_cap: std::sync::atomic::AtomicU64,
}

/// The server; it stops (and drops every open connection) when dropped.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        shared.body_cap.store(MAX_RECORDED_BODY, Ordering::SeqCst);
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Self { addr, shared, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answer requests for exactly this target (path and query) with `reply`.
    pub fn route(&self, target: &str, reply: Reply) {
        self.handle(target, move |_| reply.clone());
    }

    /// Answer requests for exactly this target with whatever `handler` returns.
    pub fn handle(&self, target: &str, handler: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static) {
        self.shared.routes.lock().unwrap().exact.insert(target.to_string(), Arc::new(handler));
    }

    /// Answer requests for this target with the replies in turn; the last one repeats.
    pub fn sequence(&self, target: &str, replies: impl IntoIterator<Item = Reply>) {
        let replies: Vec<Reply> = replies.into_iter().collect();
        assert!(!replies.is_empty(), "a sequence needs a reply");
        let next = AtomicUsize::new(0);
        self.handle(target, move |_| replies[next.fetch_add(1, Ordering::SeqCst).min(replies.len() - 1)].clone());
    }

    /// Answer every target starting with `prefix` (the longest registered prefix wins).
    pub fn handle_prefix(&self, prefix: &str, handler: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static) {
        let mut routes = self.shared.routes.lock().unwrap();
        routes.prefix.push((prefix.to_string(), Arc::new(handler)));
        routes.prefix.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    }

    /// Serve the files under `dir` at `prefix` (`/static/` + `a/b.jpg` → `dir/a/b.jpg`), with an `ETag` and a
    /// `Last-Modified`, so conditional requests get 304s.
    pub fn serve_dir(&self, prefix: &str, dir: impl Into<PathBuf>) {
        let (dir, strip) = (dir.into(), prefix.to_string());
        self.handle_prefix(prefix, move |req| {
            let rel = req.path()[strip.len()..].trim_start_matches('/');
            if rel.split('/').any(|part| part == "..") {
                return Reply::status(403);
            }
            let path = dir.join(rel);
            let (Ok(bytes), Ok(meta)) = (std::fs::read(&path), std::fs::metadata(&path)) else {
                return Reply::status(404);
            };
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let nanos = modified.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            Reply::ok(bytes)
                .etag(format!("\"{:x}-{nanos:x}\"", meta.len()))
                .last_modified(httpdate::fmt_http_date(modified))
        });
    }

    /// Stops (or starts again) keeping requests for [`TestServer::requests`]: a benchmark's server
    /// would otherwise hold every request it ever answered.
    pub fn keep_requests(&self, on: bool) {
        self.shared.quiet.store(!on, Ordering::SeqCst);
    }

    /// Keeps request bodies up to `bytes` instead of [`MAX_RECORDED_BODY`] (a stub that reads
    /// whole requests of many megabytes, as the vision judges send).
    pub fn keep_bodies_up_to(&self, bytes: u64) {
        self.shared.body_cap.store(bytes, Ordering::SeqCst);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The requests whose path (without query) is `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.path() == path).collect()
    }

    /// TCP connections accepted so far (0 proves nothing ever connected).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // Connection tasks live in this set, so aborting the accept task drops them all.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let n = shared.connections.fetch_add(1, Ordering::SeqCst);
                connections.spawn(serve_connection(stream, n, shared.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, connection: usize, shared: Arc<Shared>) {
    let mut reader = BufReader::new(stream);
    loop {
        let cap = shared.body_cap.load(Ordering::SeqCst);
        let Some((request, close)) = read_request(&mut reader, connection, cap).await else { return };
        if !shared.quiet.load(Ordering::SeqCst) {
            shared.log.lock().unwrap().push(request.clone());
        }
        let handler = {
            let routes = shared.routes.lock().unwrap();
            routes.exact.get(&request.target).cloned().or_else(|| {
                routes.prefix.iter().find(|(p, _)| request.target.starts_with(p.as_str())).map(|(_, h)| h.clone())
            })
        };
        let reply = handler.map(|h| h(&request)).unwrap_or_else(|| Reply::status(404));
        if let Some(delay) = reply.delay {
            tokio::time::sleep(delay).await;
        }
        match reply.action {
            Action::Drop => return,
            Action::Stall => {
                // Hold the socket until the client hangs up (or the server is dropped).
                let mut sink = [0u8; 512];
                while matches!(reader.read(&mut sink).await, Ok(n) if n > 0) {}
                return;
            }
            Action::Respond => {}
        }
        let close = close || !reply.content_length;
        let bytes = render(&reply, &request, close);
        let sent = match reply.trickle {
            None => reader.get_mut().write_all(&bytes).await,
            Some((piece, every)) => {
                let mut sent = Ok(());
                for part in bytes.chunks(piece) {
                    sent = reader.get_mut().write_all(part).await;
                    if sent.is_err() {
                        break;
                    }
                    let _ = reader.get_mut().flush().await;
                    tokio::time::sleep(every).await;
                }
                sent
            }
        };
        if sent.is_err() || close {
            let _ = reader.get_mut().shutdown().await;
            return;
        }
    }
}

/// Reads one request (line, headers, and any `Content-Length` body, kept up to `cap` bytes).
/// `None` at EOF or on garbage.
async fn read_request(
    reader: &mut BufReader<TcpStream>,
    connection: usize,
    cap: u64,
) -> Option<(RecordedRequest, bool)> {
    let mut line = String::new();
    reader.read_line(&mut line).await.ok().filter(|&n| n > 0)?;
    let at = Instant::now();
    let mut parts = line.split_whitespace();
    let (method, target, version) = (parts.next()?.to_string(), parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok().filter(|&n| n > 0)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        if headers.len() > 200 {
            return None;
        }
    }
    let mut request = RecordedRequest { method, target, headers, at, connection, body: Bytes::new() };
    if let Some(len) = request.header("content-length").and_then(|v| v.parse::<u64>().ok()) {
        let mut kept = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut (&mut *reader).take(len.min(cap)), &mut kept).await.ok()?;
        if len > cap {
            tokio::io::copy(&mut (&mut *reader).take(len - cap), &mut tokio::io::sink()).await.ok()?;
        }
        request.body = Bytes::from(kept);
    }
    let close = request.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) || version == "HTTP/1.0";
    Some((request, close))
}

fn render(reply: &Reply, request: &RecordedRequest, close: bool) -> Vec<u8> {
    let etag_matches = match (reply.get("etag"), request.header("if-none-match")) {
        (Some(etag), Some(wanted)) => wanted.split(',').any(|w| w.trim() == etag || w.trim() == "*"),
        _ => false,
    };
    let date_matches = request.header("if-none-match").is_none()
        && matches!((reply.get("last-modified"), request.header("if-modified-since")), (Some(a), Some(b)) if a == b);
    let not_modified = (200..300).contains(&reply.status) && (etag_matches || date_matches);
    let (status, body) = if not_modified { (304, &Bytes::new()) } else { (reply.status, &reply.body) };
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if reply.content_length && status != 304 {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if request.method != "HEAD" {
        bytes.extend_from_slice(body);
    }
    bytes
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
