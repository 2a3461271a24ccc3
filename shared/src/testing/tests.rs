//! The test server's own checks, over raw TCP so they do not depend on the fetcher they help test.

use super::{Reply, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn get(server: &TestServer, target: &str, extra: &str) -> String {
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn routes_exact_prefix_and_unknown() {
    let server = TestServer::start().await;
    server.route("/a?x=1", Reply::ok("exact"));
    server.handle_prefix("/p/", |req| Reply::ok(format!("prefix {}", req.target)));
    server.handle_prefix("/p/deeper/", |_| Reply::ok("deeper"));
    assert!(get(&server, "/a?x=1", "").await.ends_with("\r\n\r\nexact"));
    assert!(get(&server, "/a", "").await.starts_with("HTTP/1.1 404"));
    assert!(get(&server, "/p/q?z", "").await.ends_with("prefix /p/q?z"));
    assert!(get(&server, "/p/deeper/1", "").await.ends_with("deeper"));
    assert_eq!(server.connections(), 4);
    let log = server.requests();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].header("host"), Some("x"));
    assert_eq!(server.requests_to("/a").len(), 2);
}

#[tokio::test]
async fn sequences_repeat_the_last_reply() {
    let server = TestServer::start().await;
    server.sequence("/s", [Reply::status(503).header("Retry-After", "1"), Reply::ok("fine")]);
    let first = get(&server, "/s", "").await;
    assert!(first.starts_with("HTTP/1.1 503") && first.contains("Retry-After: 1"));
    assert!(get(&server, "/s", "").await.ends_with("fine"));
    assert!(get(&server, "/s", "").await.ends_with("fine"));
}

#[tokio::test]
async fn conditional_requests_get_304() {
    let server = TestServer::start().await;
    server.route("/e", Reply::ok("body").etag("\"v1\"").last_modified("Wed, 21 Oct 2015 07:28:00 GMT"));
    assert!(get(&server, "/e", "If-None-Match: \"v1\"\r\n").await.starts_with("HTTP/1.1 304"));
    assert!(get(&server, "/e", "If-None-Match: \"v0\"\r\n").await.starts_with("HTTP/1.1 200"));
    let since = "If-Modified-Since: Wed, 21 Oct 2015 07:28:00 GMT\r\n";
    assert!(get(&server, "/e", since).await.starts_with("HTTP/1.1 304"));
}

#[tokio::test]
async fn serves_a_folder_with_validators() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/photo.jpg"), b"jpeg bytes").unwrap();
    let server = TestServer::start().await;
    server.serve_dir("/static/", dir.path());
    let first = get(&server, "/static/sub/photo.jpg", "").await;
    assert!(first.ends_with("jpeg bytes"), "{first}");
    let etag = first.lines().find_map(|l| l.strip_prefix("ETag: ")).unwrap().to_string();
    assert!(get(&server, "/static/sub/photo.jpg", &format!("If-None-Match: {etag}\r\n")).await.contains(" 304 "));
    assert!(get(&server, "/static/missing.jpg", "").await.starts_with("HTTP/1.1 404"));
    assert!(get(&server, "/static/../etc/passwd", "").await.starts_with("HTTP/1.1 403"));
}

#[tokio::test]
async fn drops_and_keeps_alive() {
    let server = TestServer::start().await;
    server.route("/drop", Reply::drop_connection());
    server.route("/one", Reply::ok("1"));
    assert_eq!(get(&server, "/drop", "").await, "");
    // Two requests on one kept-alive connection.
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /one HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    assert_eq!(out.matches("HTTP/1.1 200").count(), 2);
    assert_eq!(server.connections(), 2);
    assert_eq!(server.requests().iter().map(|r| r.connection).collect::<Vec<_>>(), [0, 1, 1]);
}
