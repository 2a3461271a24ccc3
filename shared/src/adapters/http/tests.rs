//! The safe fetcher against real servers on loopback (no internet): the guard, caps, retries, `robots.txt`,
//! conditional requests and per-host politeness, each observed at the server.

use super::{FetchPolicy, SafeFetcher};
use crate::ports::{FetchError, FetchRequest, Fetched, FetchedBody, Fetcher, Validators};
use crate::testing::{Reply, TestServer};
use std::time::{Duration, Instant};

/// Loopback servers reachable, no robots, no waiting: each test turns on what it checks.
fn open() -> FetchPolicy {
    FetchPolicy {
        allow_private_network: true,
        respect_robots: false,
        per_host_interval: Duration::ZERO,
        backoff_base: Duration::from_millis(10),
        ..FetchPolicy::default()
    }
}

/// The default guard, with `trusted` (`host:port`) treated as public.
fn guarded(trusted: &[&TestServer]) -> FetchPolicy {
    FetchPolicy {
        allow_private_network: false,
        trusted_hosts: trusted.iter().map(|s| s.host_port()).collect(),
        ..open()
    }
}

async fn get(policy: FetchPolicy, url: &str) -> Result<Fetched, FetchError> {
    SafeFetcher::new(policy).unwrap().fetch(FetchRequest::new(url, "*/*", 1 << 20)).await
}

async fn at(fetcher: &SafeFetcher, url: String) -> Result<Fetched, FetchError> {
    fetcher.fetch(FetchRequest::new(&url, "*/*", 1024)).await
}

fn body(fetched: Fetched) -> FetchedBody {
    match fetched {
        Fetched::Body(body) => body,
        other => panic!("expected a body, got {other:?}"),
    }
}

fn assert_refused(result: Result<Fetched, FetchError>, needle: &str) {
    match result {
        Err(FetchError::Refused { reason, .. }) => assert!(reason.contains(needle), "{reason:?} should say {needle:?}"),
        other => panic!("expected a refusal ({needle}), got {other:?}"),
    }
}

#[tokio::test]
async fn private_and_metadata_literals_are_refused_without_connecting() {
    let server = TestServer::start().await;
    server.route("/", Reply::ok("secret"));
    let port = server.addr().port();
    let cases = [
        ("http://169.254.169.254/latest/meta-data/".to_string(), "metadata"),
        (format!("http://127.0.0.1:{port}/"), "loopback"),
        (format!("http://[::1]:{port}/"), "loopback"),
        ("http://10.0.0.1/".to_string(), "private network"),
        (format!("http://0.0.0.0:{port}/"), "unspecified"),
        (format!("http://2130706433:{port}/"), "loopback"),
        (format!("http://0x7f.1:{port}/"), "loopback"),
        (format!("http://0177.0.0.1:{port}/"), "loopback"),
        (format!("http://[::ffff:127.0.0.1]:{port}/"), "loopback"),
        ("http://[fd00:ec2::254]/".to_string(), "metadata"),
        ("http://100.100.100.200/".to_string(), "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/".to_string(), "metadata"),
    ];
    // Robots on: a refused URL must not even fetch robots.txt.
    let fetcher = SafeFetcher::new(FetchPolicy { respect_robots: true, ..guarded(&[]) }).unwrap();
    for (url, why) in &cases {
        assert_refused(fetcher.fetch(FetchRequest::new(url, "*/*", 1024)).await, why);
    }
    assert_eq!(server.connections(), 0, "nothing may connect");
}

#[tokio::test]
async fn names_resolving_privately_are_refused_after_dns() {
    let server = TestServer::start().await;
    let port = server.addr().port();
    let policy = FetchPolicy {
        host_overrides: vec![
            ("shop.example".into(), vec!["10.0.0.1".parse().unwrap()]),
            ("rebind.example".into(), vec!["127.0.0.1".parse().unwrap()]),
            ("meta.example".into(), vec!["169.254.169.254".parse().unwrap()]),
            ("mixed.example".into(), vec!["10.0.0.1".parse().unwrap(), "127.0.0.1".parse().unwrap()]),
            ("nowhere.example".into(), vec![]),
        ],
        ..guarded(&[])
    };
    let fetcher = SafeFetcher::new(policy.clone()).unwrap();
    for (url, why) in [
        (format!("http://localhost:{port}/"), "loopback"),
        (format!("http://rebind.example:{port}/"), "loopback"),
        ("http://shop.example/".to_string(), "private network"),
        (format!("http://mixed.example:{port}/"), "resolves only to refused addresses"),
    ] {
        assert_refused(fetcher.fetch(FetchRequest::new(&url, "*/*", 1024)).await, why);
    }
    assert_eq!(server.connections(), 0);
    // A name DNS cannot answer is not a refusal but a failure worth retrying.
    let nowhere = fetcher.fetch(FetchRequest::new("http://nowhere.example/", "*/*", 1024)).await.unwrap_err();
    assert!(nowhere.is_transient() && nowhere.reason().contains("no addresses"), "{nowhere}");
    // Even with private networks allowed, a name for a metadata address stays refused.
    let meta = get(FetchPolicy { allow_private_network: true, ..policy }, "http://meta.example/").await;
    assert_refused(meta, "metadata");
}

#[tokio::test]
async fn other_schemes_and_credentials_are_refused() {
    for (url, why) in [
        ("file:///etc/passwd", "scheme file"),
        ("gopher://shop.example:70/_GET", "scheme gopher"),
        ("ftp://shop.example/a.jpg", "scheme ftp"),
        ("data:text/plain,hi", "scheme data"),
        ("http://user:secret@shop.example/", "credentials"),
    ] {
        assert_refused(get(open(), url).await, why);
    }
    assert!(matches!(get(open(), "/relative").await, Err(FetchError::Invalid { .. })));
}

#[tokio::test]
async fn redirects_to_private_addresses_are_refused() {
    let (public, private) = (TestServer::start().await, TestServer::start().await);
    private.route("/secret", Reply::ok("secret"));
    public.route("/to-private", Reply::redirect(302, private.url("/secret")));
    public.route("/to-metadata", Reply::redirect(301, "http://169.254.169.254/latest/meta-data/"));
    public.route("/to-file", Reply::redirect(307, "file:///etc/passwd"));
    public.route("/to-localhost", Reply::redirect(308, format!("http://localhost:{}/secret", private.addr().port())));
    public.route("/fine", Reply::redirect(302, "/landing"));
    public.route("/landing", Reply::ok("landed").header("Content-Type", "text/plain"));
    let fetcher = SafeFetcher::new(guarded(&[&public])).unwrap();
    let fetch = |path: &str| at(&fetcher, public.url(path));
    assert_refused(fetch("/to-private").await, "loopback");
    assert_refused(fetch("/to-metadata").await, "metadata");
    assert_refused(fetch("/to-file").await, "scheme file");
    assert_refused(fetch("/to-localhost").await, "loopback");
    assert_eq!(private.connections(), 0, "the private server was never reached");
    let landed = body(fetch("/fine").await.unwrap());
    assert_eq!((landed.url.as_str(), &landed.bytes[..]), (public.url("/landing").as_str(), &b"landed"[..]));
    assert_eq!(landed.content_type.as_deref(), Some("text/plain"));
}

#[tokio::test]
async fn private_networks_when_allowed_but_never_metadata() {
    let server = TestServer::start().await;
    server.route("/", Reply::ok("intranet"));
    let fetched = body(get(open(), &server.url("/")).await.unwrap());
    assert_eq!(&fetched.bytes[..], b"intranet");
    assert!(server.requests()[0].header("user-agent").unwrap().starts_with("truereel/"));
    assert_refused(get(open(), "http://169.254.169.254/latest/meta-data/").await, "metadata");
    assert_refused(get(open(), "http://169.254.170.2/v2/credentials").await, "metadata");
    assert_refused(get(open(), "http://metadata/").await, "metadata");
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let server = TestServer::start().await;
    server.route("/big", Reply::ok(vec![b'x'; 5000]));
    server.route("/big-unannounced", Reply::ok(vec![b'x'; 5000]).without_content_length());
    server.route("/small", Reply::ok(vec![b'x'; 1000]).without_content_length());
    let fetcher = SafeFetcher::new(open()).unwrap();
    for path in ["/big", "/big-unannounced"] {
        match fetcher.fetch(FetchRequest::new(&server.url(path), "*/*", 4096)).await {
            Err(FetchError::Invalid { reason, .. }) => assert!(reason.contains("cap of 4096 bytes"), "{reason}"),
            other => panic!("{path}: expected over the cap, got {other:?}"),
        }
    }
    let small = body(fetcher.fetch(FetchRequest::new(&server.url("/small"), "*/*", 4096)).await.unwrap());
    assert_eq!(small.bytes.len(), 1000);
}

#[tokio::test]
async fn redirect_loops_and_slow_servers_are_capped() {
    let server = TestServer::start().await;
    server.route("/a", Reply::redirect(302, "/b"));
    server.route("/b", Reply::redirect(302, "/a"));
    server.route("/slow", Reply::stall());
    match get(open(), &server.url("/a")).await {
        Err(FetchError::Invalid { reason, .. }) => assert!(reason.contains("more than 5 redirects"), "{reason}"),
        other => panic!("expected the redirect cap, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 6, "the first request and five redirects");
    let started = Instant::now();
    let slow = FetchPolicy { timeout: Duration::from_millis(300), max_attempts: 1, ..open() };
    match get(slow, &server.url("/slow")).await {
        Err(FetchError::Transient { reason, .. }) => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn transient_failures_are_retried_then_given_up() {
    let server = TestServer::start().await;
    server.sequence("/flaky", [Reply::status(503), Reply::status(503), Reply::ok("third time")]);
    server.sequence("/dropped", [Reply::drop_connection(), Reply::ok("after a drop")]);
    server.route("/down", Reply::status(500));
    server.route("/gone", Reply::status(404));
    let fetcher = SafeFetcher::new(open()).unwrap();
    let fetch = |path: &str| at(&fetcher, server.url(path));
    assert_eq!(&body(fetch("/flaky").await.unwrap()).bytes[..], b"third time");
    assert_eq!(server.requests_to("/flaky").len(), 3);
    assert_eq!(&body(fetch("/dropped").await.unwrap()).bytes[..], b"after a drop");
    match fetch("/down").await {
        Err(e @ FetchError::Transient { .. }) => assert!(e.reason().contains("HTTP 500 (3 attempts)"), "{e}"),
        other => panic!("expected transient, got {other:?}"),
    }
    assert_eq!(server.requests_to("/down").len(), 3);
    assert!(matches!(fetch("/gone").await, Err(FetchError::Status { status: 404, .. })));
    assert_eq!(server.requests_to("/gone").len(), 1, "a 404 is not retried");
}

#[tokio::test]
async fn retry_after_is_honoured_or_handed_back() {
    let server = TestServer::start().await;
    server.sequence("/busy", [Reply::status(429).header("Retry-After", "1"), Reply::ok("served")]);
    server.route("/later", Reply::status(503).header("Retry-After", "120"));
    let fetcher = SafeFetcher::new(open()).unwrap();
    let started = Instant::now();
    assert_eq!(
        &body(fetcher.fetch(FetchRequest::new(&server.url("/busy"), "*/*", 1024)).await.unwrap()).bytes[..],
        b"served"
    );
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    let later = fetcher.fetch(FetchRequest::new(&server.url("/later"), "*/*", 1024)).await.unwrap_err();
    assert_eq!(later.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(server.requests_to("/later").len(), 1, "no sleeping past max_retry_wait");
}

#[tokio::test]
async fn robots_txt_is_obeyed_and_fetched_once_per_origin() {
    let server = TestServer::start().await;
    server.route(
        "/robots.txt",
        Reply::ok("User-agent: *\nDisallow: /private\n\nUser-agent: truereel\nDisallow: /cart\n"),
    );
    server.handle_prefix("/products.json", |_| Reply::ok("[]"));
    server.route("/private/a.jpg", Reply::ok("jpeg"));
    let fetcher = SafeFetcher::new(FetchPolicy { respect_robots: true, ..open() }).unwrap();
    let fetch = |path: &str| at(&fetcher, server.url(path));
    assert_refused(fetch("/cart?item=1").await, "disallowed by robots.txt");
    assert!(fetch("/products.json").await.is_ok());
    assert!(fetch("/private/a.jpg").await.is_ok(), "our own group replaces the * group");
    assert!(fetch("/products.json?page=2").await.is_ok());
    assert_eq!(server.requests_to("/robots.txt").len(), 1);
    assert!(server.requests_to("/cart").is_empty(), "a disallowed path is never requested");
}

#[tokio::test]
async fn robots_txt_missing_allows_and_failing_disallows() {
    let (missing, failing) = (TestServer::start().await, TestServer::start().await);
    missing.route("/a", Reply::ok("a"));
    failing.route("/robots.txt", Reply::status(503));
    failing.route("/a", Reply::ok("a"));
    let fetcher = SafeFetcher::new(FetchPolicy { respect_robots: true, ..open() }).unwrap();
    assert!(fetcher.fetch(FetchRequest::new(&missing.url("/a"), "*/*", 64)).await.is_ok());
    let failed = fetcher.fetch(FetchRequest::new(&failing.url("/a"), "*/*", 64)).await.unwrap_err();
    assert!(failed.is_transient() && failed.reason().contains("robots.txt unavailable"), "{failed}");
    assert!(failed.retry_after().is_some_and(|d| d <= Duration::from_secs(60)));
    assert!(fetcher.fetch(FetchRequest::new(&failing.url("/a"), "*/*", 64)).await.is_err());
    assert!(failing.requests_to("/a").is_empty());
    assert_eq!(failing.requests_to("/robots.txt").len(), 3, "asked once (three attempts), then remembered");
}

#[tokio::test]
async fn validators_make_conditional_requests() {
    let server = TestServer::start().await;
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    server.route("/photo.jpg", Reply::ok("jpeg").etag("\"v1\"").last_modified(date));
    let fetcher = SafeFetcher::new(open()).unwrap();
    let url = server.url("/photo.jpg");
    let first = body(fetcher.fetch(FetchRequest::new(&url, "image/*", 1024)).await.unwrap());
    let expected = Validators { etag: Some("\"v1\"".into()), last_modified: Some(date.into()) };
    assert_eq!(first.validators, expected);
    assert_eq!(first.header("ETag"), Some("\"v1\""));
    let again = fetcher.fetch(FetchRequest::new(&url, "image/*", 1024).if_changed(Some(&first.validators))).await;
    assert!(matches!(again, Ok(Fetched::NotModified { url: ref u }) if *u == url), "{again:?}");
    let seen = server.requests_to("/photo.jpg");
    assert_eq!(seen[0].header("if-none-match"), None);
    assert_eq!(seen[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(seen[1].header("if-modified-since"), Some(date));
    assert_eq!(seen[1].header("accept"), Some("image/*"));
}

#[tokio::test]
async fn per_host_concurrency_and_interval_hold_at_the_server() {
    let server = TestServer::start().await;
    server.handle_prefix("/slow/", |_| Reply::ok("ok").delay(Duration::from_millis(200)));
    server.handle_prefix("/quick/", |_| Reply::ok("ok"));
    let fetcher = SafeFetcher::new(FetchPolicy { per_host_concurrency: 2, ..open() }).unwrap();
    all_ok(fetcher, (0..6).map(|i| server.url(&format!("/slow/{i}")))).await;
    let starts = arrivals(&server, "/slow/");
    for w in starts.windows(3) {
        assert!(w[2] - w[0] >= Duration::from_millis(180), "three requests in flight at once: {:?}", w[2] - w[0]);
    }

    let spaced = SafeFetcher::new(FetchPolicy { per_host_interval: Duration::from_millis(100), ..open() }).unwrap();
    all_ok(spaced, (0..4).map(|i| server.url(&format!("/quick/{i}")))).await;
    for w in arrivals(&server, "/quick/").windows(2) {
        assert!(w[1] - w[0] >= Duration::from_millis(60), "starts {:?} apart", w[1] - w[0]);
    }
}

/// Fetches every URL at once, each on its own task, and expects bodies.
async fn all_ok(fetcher: SafeFetcher, urls: impl Iterator<Item = String>) {
    let fetcher = std::sync::Arc::new(fetcher);
    let mut tasks = tokio::task::JoinSet::new();
    for url in urls {
        let fetcher = fetcher.clone();
        tasks.spawn(async move { fetcher.fetch(FetchRequest::new(&url, "*/*", 64)).await });
    }
    while let Some(done) = tasks.join_next().await {
        body(done.unwrap().unwrap());
    }
}

/// When requests under `prefix` arrived, in order.
fn arrivals(server: &TestServer, prefix: &str) -> Vec<Instant> {
    let mut starts: Vec<Instant> =
        server.requests().iter().filter(|r| r.path().starts_with(prefix)).map(|r| r.at).collect();
    starts.sort();
    starts
}

/// `vet` says whether a URL may be fetched, after DNS, without sending anything.
#[tokio::test]
async fn vetting_refuses_what_fetching_would_without_connecting() {
    let server = TestServer::start().await;
    let other = TestServer::start().await;
    let fetcher = SafeFetcher::new(guarded(&[&server])).unwrap();
    fetcher.vet(&server.url("/")).await.expect("a trusted host passes");
    fetcher.vet("http://shop.invalid/").await.expect("a DNS failure is left to the fetch");
    for url in [
        other.url("/"),
        "http://169.254.169.254/".to_string(),
        "http://localhost/".to_string(),
        "http://metadata.google.internal/".to_string(),
        "gopher://shop.example/".to_string(),
    ] {
        match fetcher.vet(&url).await {
            Err(FetchError::Refused { .. }) => {}
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }
    let opened = SafeFetcher::new(open()).unwrap();
    opened.vet(&other.url("/")).await.expect("private networks when allowed");
    assert!(matches!(opened.vet("http://169.254.169.254/").await, Err(FetchError::Refused { .. })));
    assert_eq!((server.connections(), other.connections()), (0, 0), "vetting sends nothing");
}

#[tokio::test]
async fn answers_that_can_never_succeed_are_not_retried() {
    let server = TestServer::start().await;
    let mut huge = Reply::ok("x");
    for i in 0..150 {
        huge = huge.header(format!("x-filler-{i}"), "a header line too many");
    }
    server.route("/huge-head", huge);
    server.route("/forbidden", Reply::status(403));
    server.route("/teapot", Reply::status(418));
    let fetcher = SafeFetcher::new(open()).unwrap();
    for path in ["/huge-head", "/forbidden", "/teapot"] {
        let err = at(&fetcher, server.url(path)).await.unwrap_err();
        assert!(!err.is_transient(), "{path}: {err:?}");
        assert_eq!(server.requests_to(path).len(), 1, "{path} is asked once");
    }
    let err = at(&fetcher, server.url("/huge-head")).await.unwrap_err();
    assert!(err.reason().contains("response head"), "{err}");
}

#[tokio::test]
async fn a_huge_retry_after_is_capped_and_reported_once() {
    let server = TestServer::start().await;
    server.route("/much-later", Reply::status(503).header("Retry-After", "100000"));
    server.route("/down", Reply::status(500));
    let fetcher = SafeFetcher::new(open()).unwrap();
    let err = at(&fetcher, server.url("/much-later")).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(super::MAX_REQUEUE_DELAY), "{err}");
    let text = err.to_string();
    assert!(text.contains("asks to wait 100000 s") && text.contains("900 s"), "{text}");
    let down = at(&fetcher, server.url("/down")).await.unwrap_err().to_string();
    for text in [text, down] {
        assert!(!text.contains("will retry"), "the caller says whether it retries: {text}");
    }
}

#[tokio::test]
async fn a_trickling_body_is_cut_on_the_minimum_rate() {
    let server = TestServer::start().await;
    // 20 bytes every 100 ms: 200 B/s, under a 1 KiB/s floor.
    server.route("/trickle", Reply::ok(vec![b'x'; 50_000]).trickle(20, Duration::from_millis(100)));
    server.route("/steady", Reply::ok(vec![b'y'; 4000]).trickle(2000, Duration::from_millis(300)));
    let policy = FetchPolicy { min_rate: 1024, min_rate_window: Duration::from_secs(1), max_attempts: 1, ..open() };
    let fetcher = SafeFetcher::new(policy).unwrap();
    let started = Instant::now();
    let err = fetcher.fetch(FetchRequest::new(&server.url("/trickle"), "*/*", 1 << 20)).await.unwrap_err();
    assert!(err.reason().contains("under 1024 bytes/s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "cut after the window: {:?}", started.elapsed());
    let steady = fetcher.fetch(FetchRequest::new(&server.url("/steady"), "*/*", 1 << 20)).await.unwrap();
    assert_eq!(body(steady).bytes.len(), 4000, "a transfer above the floor is not cut");
}
