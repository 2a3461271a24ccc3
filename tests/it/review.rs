//! The review page over a real data folder: a published reel and a plan awaiting approval. Over
//! HTTP, an action without the session's CSRF token (or from another origin) is `403`, a GET of an
//! action changes nothing, and away from loopback the page needs the login token while `/reels/…`
//! stays public. In headless Chromium (driven over chromedriver's WebDriver API): the grid, the
//! published reel playing, a plan approved by clicking its button, and a flag sent through the form
//! that sends the reel back to work; screenshots in `target/test-artifacts/review/`.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use truereel::homes::embedded::Embedded;
use truereel::messages::PlanOptions;
use truereel::{BlobKey, Reel, ReelStatus};
use truereel_tests::{
    Misrepresenting, RawAnswer, drain_store, drain_store_with, init_logs, raw_request, raw_request_with, repo_root,
    sample_store, serve_origin, small_config,
};

const PUBLISHED: &str = "pullover-hoodie";
const PENDING: &str = "grey-graphic-tee";

/// A data folder with `PUBLISHED` published and `PENDING` planned and waiting for approval.
async fn folder(published: bool) -> (tempfile::TempDir, Option<Reel>, Reel) {
    let data = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(data.path(), &small_config()).await.unwrap();
    if published {
        drain_store(&e, &sample_store(), Some(&[PUBLISHED])).await;
    }
    drain_store_with(&e, &sample_store(), Some(&[PENDING]), PlanOptions { approve: true, ..Default::default() }).await;
    let reels = e.ports.state.list_reels().await.unwrap();
    let find = |h: &str| reels.iter().find(|r| r.product.as_str() == h).cloned();
    let pending = find(PENDING).expect("the pending reel");
    assert_eq!(pending.status, ReelStatus::AwaitingApproval);
    let done = find(PUBLISHED);
    if published {
        let done = done.as_ref().expect("the published reel");
        assert_eq!(done.status, ReelStatus::Published, "{:?}", done.reasons);
    }
    (data, done, pending)
}

async fn status_of(data: &std::path::Path, reel: &Reel) -> ReelStatus {
    let e = Embedded::open(data, &small_config()).unwrap();
    e.ports.state.get_reel(&reel.id).await.unwrap().unwrap().status
}

/// The session cookie (`name=value`) an answer sets.
fn cookie(answer: &RawAnswer) -> String {
    let set = answer.header("set-cookie").unwrap_or_else(|| panic!("no cookie: {}", answer.head));
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_string()
}

/// The CSRF token in a page's forms.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

/// A form POSTed as sent (the same raw exchange as `raw_request`).
async fn post(addr: std::net::SocketAddr, target: &str, headers: &[&str], body: &str) -> RawAnswer {
    raw_request_with(addr, "POST", target, headers, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_actions_need_the_session_token_and_a_get_changes_nothing() {
    init_logs();
    let (data, _, pending) = folder(false).await;
    let (addr, _origin) = serve_origin(data.path(), true).await;
    let page = raw_request(addr, "GET", "/", &[]).await;
    assert_eq!(page.status, 200, "{}", page.head);
    let body = String::from_utf8_lossy(&page.body).to_string();
    assert!(body.contains("Grey Graphic Tee") || body.contains(PENDING), "{body}");
    assert!(body.contains("plan awaiting approval"), "{body}");
    let jar = cookie(&page);
    let product = raw_request(addr, "GET", &format!("/products/{PENDING}"), &[&format!("Cookie: {jar}")]).await;
    assert_eq!(product.status, 200, "{}", product.head);
    let token = csrf(&String::from_utf8_lossy(&product.body));
    let reel = pending.id.as_str();
    let cookie_line = format!("Cookie: {jar}");
    let same = format!("Origin: http://{addr}");

    // A GET of an action URL: not an action.
    let got = raw_request(addr, "GET", &format!("/actions/approve?reel={reel}&csrf={token}"), &[&cookie_line]).await;
    assert_eq!(got.status, 405, "{}", got.head);
    // POSTs without the cookie, without the token, with a wrong token, from another site.
    let form = format!("reel={reel}&csrf={token}");
    let no_cookie = post(addr, "/actions/approve", &[&same], &form).await;
    assert_eq!(no_cookie.status, 403, "{}", no_cookie.head);
    let no_token = post(addr, "/actions/approve", &[&cookie_line, &same], &format!("reel={reel}")).await;
    assert_eq!(no_token.status, 403, "{}", no_token.head);
    let wrong = post(addr, "/actions/approve", &[&cookie_line, &same], &format!("reel={reel}&csrf=00{token}")).await;
    assert_eq!(wrong.status, 403, "{}", wrong.head);
    let elsewhere = post(addr, "/actions/approve", &[&cookie_line, "Origin: https://evil.example"], &form).await;
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.head);
    let cross = post(addr, "/actions/approve", &[&cookie_line, "Sec-Fetch-Site: cross-site"], &form).await;
    assert_eq!(cross.status, 403, "{}", cross.head);
    // Another name pointing at this server (DNS rebinding: a page and its form on evil.example, its
    // name resolved to 127.0.0.1) is neither served a page nor let act.
    let rebound = format!("Host: evil.example:{}", addr.port());
    let page = raw_request(addr, "GET", "/", &[&rebound]).await;
    assert_eq!(page.status, 421, "{}", page.head);
    let api = raw_request(addr, "GET", "/api/reels", &[&rebound]).await;
    assert_eq!(api.status, 421, "{}", api.head);
    let evil_origin = format!("Origin: http://evil.example:{}", addr.port());
    let act = post(addr, "/actions/approve", &[&rebound, &cookie_line, &evil_origin], &form).await;
    assert_eq!(act.status, 421, "{}", act.head);
    let localhost = format!("Host: localhost:{}", addr.port());
    assert_eq!(raw_request(addr, "GET", "/", &[&localhost]).await.status, 200, "localhost is this server");
    assert_eq!(status_of(data.path(), &pending).await, ReelStatus::AwaitingApproval, "nothing changed");

    // A rejection without a reason is refused by the same check as `truereel reject`, and said so.
    let headers = [cookie_line.as_str(), same.as_str(), "Sec-Fetch-Site: same-origin"];
    let empty = post(addr, "/actions/reject", &headers, &format!("{form}&reason=+")).await;
    assert_eq!(empty.status, 303, "{}", empty.head);
    let shown = raw_request(addr, "GET", &format!("/products/{PENDING}"), &[&cookie_line]).await;
    let shown = String::from_utf8_lossy(&shown.body).to_string();
    assert!(shown.contains("Not done") && shown.contains("needs a reason"), "{shown}");
    assert_eq!(status_of(data.path(), &pending).await, ReelStatus::AwaitingApproval, "nothing changed");

    // With both: approved, and back to the product with what happened.
    let ok = post(addr, "/actions/approve", &[&cookie_line, &same, "Sec-Fetch-Site: same-origin"], &form).await;
    assert_eq!(ok.status, 303, "{}", ok.head);
    assert_eq!(ok.header("location"), Some(format!("/products/{PENDING}").as_str()));
    assert_ne!(status_of(data.path(), &pending).await, ReelStatus::AwaitingApproval, "approved");
    let after = raw_request(addr, "GET", &format!("/products/{PENDING}"), &[&cookie_line]).await;
    assert!(String::from_utf8_lossy(&after.body).contains("approved"), "the status message is shown");
    // The server drains the queues as `truereel approve` does: the reel is made and settles.
    let deadline = Instant::now() + Duration::from_secs(180);
    while !status_of(data.path(), &pending).await.is_terminal() {
        assert!(Instant::now() < deadline, "the approved reel did not settle");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A reel the judge parked: its page plays the parked cut and offers publishing it over the judge
/// (with a reason) and sending shots back; publishing through the form makes it version 1 with the
/// reason kept, served at its stable URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_publishes_a_parked_reel_over_the_judge_from_its_page() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let mut config = small_config();
    config.settings.max_attempts = 1;
    let mut e = Embedded::open_for_runner(data.path(), &config).await.unwrap();
    Misrepresenting::install(&mut e.ports, 1, u32::MAX, "slipon-blue-side.jpg");
    drain_store(&e, &sample_store(), Some(&[PUBLISHED])).await;
    let parked = e.ports.state.list_reels().await.unwrap().remove(0);
    assert_eq!(parked.status, ReelStatus::NeedsReview, "{:?}", parked.reasons);
    drop(e);

    let (addr, _origin) = serve_origin(data.path(), true).await;
    let page = raw_request(addr, "GET", &format!("/products/{PUBLISHED}"), &[]).await;
    let body = String::from_utf8_lossy(&page.body).to_string();
    for part in ["the parked cut (not published)", "Publish this cut", "Send the shots back to video", "Regenerate"] {
        assert!(body.contains(part), "{part} missing: {body}");
    }
    let (jar, token) = (cookie(&page), csrf(&body));
    let headers = [format!("Cookie: {jar}"), format!("Origin: http://{addr}"), "Sec-Fetch-Site: same-origin".into()];
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let form = format!("reel={}&csrf={token}", parked.id.as_str());
    // Without a reason: refused by the library, said on the page, nothing published.
    let blank = post(addr, "/actions/publish", &headers, &format!("{form}&reason=")).await;
    assert_eq!(blank.status, 303, "{}", blank.head);
    assert_eq!(status_of(data.path(), &parked).await, ReelStatus::NeedsReview);
    assert_eq!(raw_request(addr, "GET", &format!("/reels/{PUBLISHED}.mp4"), &[]).await.status, 404);
    let done =
        post(addr, "/actions/publish", &headers, &format!("{form}&reason=checked+by+eye%3A+the+print+is+right")).await;
    assert_eq!((done.status, done.header("location")), (303, Some(format!("/products/{PUBLISHED}").as_str())));
    assert_eq!(status_of(data.path(), &parked).await, ReelStatus::Published);
    let after = raw_request(addr, "GET", &format!("/products/{PUBLISHED}"), &[headers[0]]).await;
    let after = String::from_utf8_lossy(&after.body).to_string();
    assert!(after.contains("published by a person over the judge: checked by eye: the print is right"), "{after}");
    let served = raw_request(addr, "GET", &format!("/reels/{PUBLISHED}.mp4"), &[]).await;
    assert_eq!(served.status, 200, "{}", served.head);
    let cut = std::fs::read(data.path().join("blobs").join(BlobKey::reel_video(&parked.id, 1).as_str())).unwrap();
    assert!(served.body == cut, "the stable URL serves the parked cut");
}

/// A catalogue of hundreds: the grid shows a page at a time with links to the others, the filter
/// kept; a page past the end shows the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_grid_comes_a_page_at_a_time() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let e = Embedded::open(data.path(), &small_config()).unwrap();
    for i in 0..100 {
        let product: truereel::Product = serde_json::from_value(json!({
            "handle": format!("product-{i:03}"), "title": format!("Product {i}"), "description": "",
            "references": [], "gallery_hash": "0".repeat(64), "store": "test", "updated_ms": 0,
        }))
        .unwrap();
        e.ports.state.put_product(&product).await.unwrap();
    }
    let (addr, _origin) = serve_origin(data.path(), true).await;
    let page = |target: &'static str| async move {
        let answer = raw_request(addr, "GET", target, &[]).await;
        assert_eq!(answer.status, 200, "{target}: {}", answer.head);
        String::from_utf8_lossy(&answer.body).to_string()
    };
    let cards = |body: &str| body.matches("class=\"card\"").count();
    let first = page("/").await;
    assert_eq!(cards(&first), truereel_origin::review::PER_PAGE);
    assert!(first.contains("Page 1 of 3</span> (100 products)") && first.contains("href=\"/?page=2\""), "{first}");
    assert!(!first.contains("Previous page"));
    let last = page("/?page=3").await;
    assert_eq!(cards(&last), 100 - 2 * truereel_origin::review::PER_PAGE);
    assert!(last.contains("href=\"/?page=2\" rel=\"prev\"") && !last.contains("Next page"), "{last}");
    assert_eq!(cards(&page("/?page=99").await), cards(&last), "past the end: the last page");
    assert_eq!(cards(&page("/?page=zero").await), truereel_origin::review::PER_PAGE, "not a number: the first");
    assert!(page("/?needs=person").await.contains("Nothing needs a person."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn away_from_loopback_the_review_page_and_the_api_need_the_login_and_reels_stay_public() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let (addr, _origin) = serve_origin(data.path(), false).await;
    assert_eq!(raw_request(addr, "GET", "/", &[]).await.status, 401);
    assert_eq!(raw_request(addr, "GET", "/?token=nope", &[]).await.status, 403);
    let token = truereel_origin::review::login_token(data.path()).unwrap();
    let login = raw_request(addr, "GET", &format!("/?token={token}"), &[]).await;
    assert_eq!((login.status, login.header("location")), (303, Some("/")), "{}", login.head);
    let jar = cookie(&login);
    let page = raw_request(addr, "GET", "/", &[&format!("Cookie: {jar}")]).await;
    assert_eq!(page.status, 200, "{}", page.head);
    // A forged cookie is no session.
    let forged = raw_request(
        addr,
        "GET",
        "/",
        &[&format!("Cookie: {}=00000000000000000000000000000000.ab", truereel_origin::review::COOKIE)],
    )
    .await;
    assert_eq!(forged.status, 401);
    // The API likewise: 401 without a session, answered with the page's cookie or the token as a
    // bearer (a wrong bearer is no login).
    let api = raw_request(addr, "GET", "/api/reels", &[]).await;
    assert_eq!((api.status, api.header("www-authenticate")), (401, Some("Bearer")), "{}", api.head);
    assert_eq!(raw_request(addr, "GET", "/api/reels", &["Authorization: Bearer nope"]).await.status, 401);
    assert_eq!(raw_request(addr, "GET", "/api/reels", &[&format!("Cookie: {jar}")]).await.status, 200);
    let bearer = raw_request(addr, "GET", "/api/products", &[&format!("Authorization: Bearer {token}")]).await;
    assert_eq!(bearer.status, 200, "{}", bearer.head);
    // The public paths are not behind the login (a reel never published is simply not there).
    assert_eq!(raw_request(addr, "GET", "/reels/none.mp4", &[]).await.status, 404);
}

// ---- The browser test ----

/// A WebDriver session on a chromedriver child, killed on drop.
struct Browser {
    driver: std::process::Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    async fn start() -> Option<Browser> {
        let chromium =
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().map(PathBuf::from).find(|p| p.exists());
        let driver = which("chromedriver");
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let why = "chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver; \
                       scripts/setup.sh installs them)";
            // A test that passes without running is no test: skipping must be asked for.
            if std::env::var_os("TRUEREEL_SKIP_BROWSER").is_none() {
                panic!("the review page's browser test cannot run: {why} (TRUEREEL_SKIP_BROWSER=1 skips it)");
            }
            eprintln!("skipping the browser test (TRUEREEL_SKIP_BROWSER): {why}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut browser = Browser { driver: child, base, session: String::new(), http };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = browser.http.get(format!("{}/status", browser.base)).send().await {
                let v: Value = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or_default();
                if v["value"]["ready"] == json!(true) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
                     "--window-size=1280,1600"]
        }}}});
        let made = browser.call(reqwest::Method::POST, "/session", Some(caps)).await;
        browser.session = made["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {made}")).to_string();
        Some(browser)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            request = request.header("content-type", "application/json").body(b.to_string());
        }
        let answer = request.send().await.expect("chromedriver answers");
        let text = answer.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert!(v["value"]["error"].is_null(), "WebDriver {path}: {v}");
        v["value"].clone()
    }

    async fn session(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body).await
    }

    async fn open(&self, url: &str) {
        self.session(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    async fn run(&self, script: &str) -> Value {
        self.session(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": [] }))).await
    }

    async fn element(&self, css: &str) -> String {
        let v =
            self.session(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string()
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.session(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.session(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let v = self.session(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        let dir = repo_root().join("target/test-artifacts/review");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn text(&self, css: &str) -> String {
        let script = format!("var e = document.querySelector({}); return e ? e.textContent : null;", json!(css));
        self.run(&script).await.as_str().unwrap_or_default().to_string()
    }

    /// The status message of the page a form led to (waiting for the page to be there).
    async fn said(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let said = self.text("#said").await;
            if !said.is_empty() {
                return said;
            }
            if Instant::now() > deadline {
                let page = self.run("return document.body ? document.body.innerText : ''").await;
                panic!("no status message on the page: {page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn close(&self) {
        self.session(reqwest::Method::DELETE, "", None).await;
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|f| f.is_file()))
        .unwrap_or_default()
        .or_else(|| Some(PathBuf::from(format!("/usr/lib/chromium/{name}"))).filter(|p| p.is_file()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_a_person_plays_a_reel_approves_a_plan_and_flags_a_reel() {
    init_logs();
    let Some(browser) = Browser::start().await else { return };
    let (data, done, pending) = folder(true).await;
    let done = done.unwrap();
    let (addr, _origin) = serve_origin(data.path(), true).await;
    let site = format!("http://{addr}");

    // The catalogue: both products, each with its photo and status.
    browser.open(&format!("{site}/")).await;
    let cards = browser.run("return document.querySelectorAll('.grid li.card').length").await;
    assert!(cards.as_u64().unwrap() >= 2, "{cards}");
    let photos = browser
        .run("return Array.from(document.querySelectorAll('.grid img')).filter(i => i.complete && i.naturalWidth > 0).length")
        .await;
    assert!(photos.as_u64().unwrap() >= 2, "the first photos load: {photos}");
    let statuses =
        browser.run("return Array.from(document.querySelectorAll('.grid .status')).map(s => s.textContent)").await;
    let statuses = statuses.to_string();
    assert!(statuses.contains("published") && statuses.contains("plan awaiting approval"), "{statuses}");
    browser.screenshot("1-catalogue").await;
    browser.open(&format!("{site}/?needs=person")).await;
    let needing =
        browser.run("return Array.from(document.querySelectorAll('.grid li.card')).map(c => c.dataset.product)").await;
    assert_eq!(needing, json!([PENDING]), "only the plan awaiting approval needs a person");

    // The published reel plays.
    browser.open(&format!("{site}/products/{PUBLISHED}")).await;
    browser.run("var v = document.querySelector('video.player'); v.muted = true; v.play(); return true").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut first: Option<f64> = None;
    loop {
        let v = browser.run("var v = document.querySelector('video.player'); return [v.readyState, v.currentTime, v.error ? v.error.code : 0]").await;
        let (ready, time) = (v[0].as_u64().unwrap(), v[1].as_f64().unwrap());
        assert_eq!(v[2], json!(0), "the player failed: {v}");
        if ready >= 3 {
            match first {
                None => first = Some(time),
                Some(t) if time > t => break,
                _ => {}
            }
        }
        assert!(Instant::now() < deadline, "the reel did not play: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(browser.text("textarea[id^=embed-]").await.contains("<video"), "the embed snippet is shown");
    browser.screenshot("2-published-playing").await;

    // Approve the pending plan by clicking its button.
    browser.open(&format!("{site}/products/{PENDING}")).await;
    let id = pending.id.as_str();
    assert_eq!(browser.text(&format!("#status-{}", css_id(id))).await, "plan awaiting approval");
    browser.screenshot("3-plan-awaiting-approval").await;
    browser.click(&format!("#approve-{}", css_id(id))).await;
    let said = browser.said().await;
    assert!(said.contains("approved"), "{said}");
    let now = browser.text(&format!("#status-{}", css_id(id))).await;
    assert!(!now.is_empty() && now != "plan awaiting approval", "the page shows the approval: {now:?}");
    browser.screenshot("4-plan-approved").await;

    // Flag the published reel through its form: it goes back to work.
    browser.open(&format!("{site}/products/{PUBLISHED}")).await;
    let did = css_id(done.id.as_str());
    browser.type_into(&format!("#flag-reason-{did}"), "TikTok: the logo looks altered").await;
    browser.type_into(&format!("#flag-shots-{did}"), "1").await;
    browser.click(&format!("#flag-{did}")).await;
    let said = browser.said().await;
    assert!(said.contains("flag") && !said.contains("Not done"), "{said}");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        browser.open(&format!("{site}/products/{PUBLISHED}")).await;
        let flags = browser.text(".flags").await;
        if flags.contains("the logo looks altered") {
            break;
        }
        assert!(Instant::now() < deadline, "the flag was not taken");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    browser.screenshot("5-flagged").await;
    let e = Embedded::open(data.path(), &small_config()).unwrap();
    let history: Vec<ReelStatus> = e.ports.state.history(&done.id).await.unwrap().into_iter().map(|(s, _)| s).collect();
    let published_at = history.iter().position(|s| *s == ReelStatus::Published).unwrap();
    assert!(history[published_at..].contains(&ReelStatus::Generating), "back to work after the flag: {history:?}");
    browser.close().await;
}

/// A reel id as a CSS id selector's part (its `.` and `:` escaped).
fn css_id(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_string() } else { format!("\\{c}") })
        .collect()
}
