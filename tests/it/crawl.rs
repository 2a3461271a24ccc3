//! Crawling real storefront responses over HTTP on loopback: Shopify, WooCommerce and sitemap stores
//! through the safe fetcher and the crawl stage, bad input per product, re-crawls with conditional
//! requests only, and addresses the crawler must never reach.

use std::sync::Arc;
use std::time::Duration;
use truereel::config::Config;
use truereel::homes::embedded::Embedded;
use truereel::messages::CrawlMsg;
use truereel::ports::Stage;
use truereel::report::{self, CrawlRow};
use truereel::runner::{self, DrainReport, LogProgress, RunOptions};
use truereel::stages::Outcome;
use truereel::testing::{RecordedRequest, Reply, TestServer};
use truereel::{Handle, Reference};
use truereel_tests::{init_logs, repo_root, sample_store};

/// The storefront captures the web source's tests use (see their SOURCES.md).
fn capture(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("shared/tests/data/storefronts").join(name)).unwrap()
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(sample_store().join("photos").join(name)).unwrap()
}

/// A configuration whose fetcher trusts exactly the test server's `host:port` (as an operator allowlist
/// would): every other loopback or private address stays refused.
fn trusting(server: &TestServer) -> Config {
    let mut s = truereel_tests::small_config();
    s.fetch.trusted_hosts = vec![server.host_port()];
    s.fetch.per_host_interval = Duration::ZERO;
    s.fetch.backoff_base = Duration::from_millis(10);
    s
}

/// Crawls `store` (photos in, nothing planned) and returns the drain report and the crawl rows.
async fn crawl(e: &Embedded, store: &str) -> (DrainReport, Vec<CrawlRow>) {
    let started = truereel::now_ms();
    let options = RunOptions { retry_base: Duration::from_millis(50), ..RunOptions::default() };
    let run = runner::run_store(&e.ports, store, None, None, &options, Arc::new(LogProgress::default()));
    let report = tokio::time::timeout(Duration::from_secs(120), run).await.expect("the crawl ends").unwrap();
    let rows = report::crawl_summary(&e.ports, store, None, started).await.unwrap();
    (report, rows)
}

fn row<'a>(rows: &'a [CrawlRow], product: &str) -> &'a CrawlRow {
    rows.iter().find(|r| r.product == product).unwrap_or_else(|| panic!("no row for {product}: {rows:#?}"))
}

fn photos(r: &CrawlRow) -> usize {
    r.kinds.iter().sum()
}

/// Serves every `*.jpg` under `/img/` as a sample photo chosen by its name, with an ETag.
fn serve_photos(server: &TestServer) {
    let names = ["hoodie-red-front-flat.jpg", "hoodie-red-worn.jpg", "tee-grey-front-flat.jpg", "slipon-blue-side.jpg"];
    let photos: Vec<Vec<u8>> = names.iter().map(|n| photo(n)).collect();
    server.handle_prefix("/img/", move |req: &RecordedRequest| {
        let pick = req.path().bytes().map(usize::from).sum::<usize>() % photos.len();
        Reply::ok(photos[pick].clone()).header("content-type", "image/jpeg").etag(format!("\"photo-{pick}\""))
    });
}

/// A Shopify-shaped product whose images live on the test server.
fn shopify_product(server: &TestServer, id: u32, handle: &str, images: &[&str]) -> serde_json::Value {
    let images: Vec<_> = images
        .iter()
        .enumerate()
        .map(|(i, path)| {
            serde_json::json!({"id": id * 10 + i as u32, "position": i + 1, "src": server.url(path),
                                             "width": 1200, "height": 1500, "variant_ids": []})
        })
        .collect();
    serde_json::json!({"id": id, "handle": handle, "title": format!("Product {id}"),
                       "body_html": "<p>Soft cotton.</p>", "vendor": "Loopback", "product_type": "Tee",
                       "variants": [{"id": id * 100, "price": "25.00"}], "images": images})
}

/// Shopify's `/products.json` pages: 2 products, then 1, then none, each page with an ETag.
fn serve_shopify(server: &TestServer, pages: Vec<Vec<serde_json::Value>>) {
    let mut pages = pages;
    pages.push(Vec::new());
    for (i, products) in pages.into_iter().enumerate() {
        let body = serde_json::json!({ "products": products }).to_string();
        let target = format!("/products.json?limit=250&page={}", i + 1);
        server.route(&target, Reply::ok(body).header("content-type", "application/json").etag(format!("\"page-{i}\"")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_store_is_read_page_by_page_and_a_recrawl_sends_only_conditional_requests() {
    init_logs();
    let server = TestServer::start().await;
    serve_photos(&server);
    serve_shopify(
        &server,
        vec![
            vec![
                shopify_product(&server, 1, "red-hoodie", &["/img/red-front.jpg", "/img/red-worn.jpg"]),
                shopify_product(&server, 2, "grey-tee", &["/img/tee.jpg"]),
            ],
            vec![shopify_product(&server, 3, "blue-shoe", &["/img/shoe.jpg"])],
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(dir.path(), &trusting(&server)).await.unwrap();
    let store = server.url("/");
    let (report, rows) = crawl(&e, &store).await;
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows.iter().all(|r| r.note == "ok" && photos(r) >= 1), "{rows:#?}");
    assert_eq!(report.handled[&Stage::Crawl], 4, "one listing and one intake per product");
    assert_eq!(report.handled[&Stage::Plan], 0, "crawl only plans nothing");
    for page in 1..=3 {
        assert_eq!(
            server.requests_to("/products.json").iter().filter(|r| r.target.ends_with(&format!("page={page}"))).count(),
            1
        );
    }
    assert_eq!(server.requests_to("/robots.txt").len(), 1, "robots.txt is read once");

    // Again, with nothing changed: every page and photo is asked for conditionally and answered 304.
    let before = server.requests().len();
    let (_, again) = crawl(&e, &store).await;
    assert_eq!(again.len(), 3);
    let second: Vec<_> = server.requests().into_iter().skip(before).filter(|r| r.path() != "/robots.txt").collect();
    assert_eq!(second.len(), 3 + 4, "three pages and four photos: {second:#?}");
    for r in &second {
        assert!(r.header("if-none-match").is_some(), "{} was fetched unconditionally", r.target);
    }
    assert_eq!(e.ports.state.list_products().await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_woocommerce_store_is_read_by_its_page_count() {
    init_logs();
    let server = TestServer::start().await;
    serve_photos(&server);
    let base = server.url("");
    for (page, name) in [(1, "woo_store_api_page1.json"), (2, "woo_store_api_page2.json")] {
        // The capture's shop and upload URLs, pointed at the test server.
        let body = capture(name)
            .replace(
                "https:\\/\\/woo-demo.example\\/wp-content\\/uploads",
                &format!("{}\\/img", base.replace('/', "\\/")),
            )
            .replace("https:\\/\\/woo-demo.example", &base.replace('/', "\\/"));
        let target = format!("/wp-json/wc/store/v1/products?page={page}&per_page=100");
        server
            .route(&target, Reply::ok(body).header("content-type", "application/json").header("x-wp-totalpages", "2"));
    }
    let dir = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(dir.path(), &trusting(&server)).await.unwrap();
    let store = format!("{}#platform=woocommerce", server.url("/"));
    let (_, rows) = crawl(&e, &store).await;
    let listed: usize = [1, 2]
        .iter()
        .map(|p| {
            serde_json::from_str::<Vec<serde_json::Value>>(&capture(&format!("woo_store_api_page{p}.json")))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(rows.len(), listed, "{rows:#?}");
    let merino = row(&rows, "merino-crew-oatmeal");
    assert!(photos(merino) >= 1 && merino.note == "ok", "{merino:?}");
    assert!(server.requests_to("/wp-json/wc/store/v1/products").len() == 2, "page 3 is never asked for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sitemap_store_reads_each_product_page_and_a_broken_page_fails_alone() {
    init_logs();
    let server = TestServer::start().await;
    serve_photos(&server);
    let base = server.url("");
    let host = server.host_port();
    // The captures' shop, pointed at the test server; its uploads served as sample photos.
    let point = move |text: String| {
        text.replace("https://shop.example", &format!("http://{host}"))
            .replace("//shop.example", &format!("//{host}"))
            .replace("/wp-content/uploads/", "/img/")
    };
    server.route(
        "/sitemap.xml",
        Reply::ok(point(capture("wp_sitemap_index.xml"))).header("content-type", "application/xml"),
    );
    server.route("/product-sitemap.xml", Reply::ok(point(capture("wp_product_sitemap.xml"))));
    for other in ["/post-sitemap.xml", "/page-sitemap.xml"] {
        server
            .route(other, Reply::ok(point(capture("shopify_sitemap_products_1.xml").replace("/products/", "/blog/"))));
    }
    let pages = [
        ("/product/pleated-trousers/", "page_jsonld_graph.html"),
        ("/product/silk-scarf/", "page_broken_trailing_comma.html"),
        ("/product/trench-coat/", "page_comment_in_script.html"),
        ("/product/cotton-tee/", "page_control_chars.html"),
        ("/product/quoted-cardigan/", "page_unescaped_quotes.html"),
        ("/product/gift-card/", "page_not_a_product.html"),
    ];
    for (path, file) in pages {
        server.route(path, Reply::ok(point(capture(file))).header("content-type", "text/html"));
    }
    let _ = base;
    let dir = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(dir.path(), &trusting(&server)).await.unwrap();
    let store = format!("{}#platform=sitemap", server.url("/"));
    let (_, rows) = crawl(&e, &store).await;
    for readable in ["pleated-trousers", "silk-scarf", "trench-coat", "cotton-tee"] {
        let r = row(&rows, readable);
        assert!(photos(r) >= 1 && !r.note.starts_with("failed"), "tolerant parsing reads {readable}: {r:?}");
    }
    for (broken, why) in [("quoted-cardigan", "not valid JSON"), ("gift-card", "no")] {
        let r = row(&rows, broken);
        assert!(photos(r) == 0 && r.note.starts_with("failed") && r.note.contains(why), "{broken}: {r:?}");
    }
    let blog: Vec<_> = server.requests().into_iter().filter(|r| r.path().starts_with("/blog/")).collect();
    assert!(blog.is_empty(), "only the product sitemap is followed: {blog:?}");
}

/// A PNG whose header claims `width` x `height` (with valid CRCs) over a 1x1 image's data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    image::DynamicImage::new_rgb8(1, 1).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_photos_and_entries_are_reported_per_product_and_the_rest_goes_on() {
    init_logs();
    let server = TestServer::start().await;
    serve_photos(&server);
    let jpeg = photo("tee-grey-front-flat.jpg");
    let bad: [(&str, Vec<u8>, &str); 4] = [
        ("/bad/empty.jpg", Vec::new(), "image/jpeg"),
        ("/bad/truncated.jpg", jpeg[..jpeg.len() / 2].to_vec(), "image/jpeg"),
        ("/bad/page.jpg", b"<!doctype html><html><body>Not found</body></html>".to_vec(), "image/jpeg"),
        ("/bad/huge.png", png_claiming(30_000, 30_000), "image/png"),
    ];
    let mut products = vec![shopify_product(&server, 1, "good-tee", &["/img/tee.jpg", "/bad/empty.jpg"])];
    for (i, (path, body, mime)) in bad.iter().enumerate() {
        server.route(path, Reply::ok(body.clone()).header("content-type", *mime));
        let handle = path.trim_start_matches("/bad/").replace('.', "-");
        products.push(shopify_product(&server, 10 + i as u32, &handle, &[path]));
    }
    products.push(serde_json::json!({"id": 99, "handle": "no-title", "images": [{"src": server.url("/img/x.jpg")}]}));
    serve_shopify(&server, vec![products]);
    let dir = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(dir.path(), &trusting(&server)).await.unwrap();
    let (_, rows) = crawl(&e, &server.url("/")).await;
    let good = row(&rows, "good-tee");
    assert_eq!(photos(good), 1, "{good:?}");
    assert!(good.note.contains("empty"), "the skipped photo is named: {good:?}");
    for (handle, reason) in [
        ("empty-jpg", "empty"),
        ("truncated-jpg", "truncated"),
        ("page-jpg", "HTML"),
        ("huge-png", "30000x30000"),
        ("no-title", "title"),
    ] {
        let r = row(&rows, handle);
        assert_eq!(photos(r), 0, "{r:?}");
        assert!(r.note.starts_with("failed") && r.note.contains(reason), "{handle}: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_and_metadata_addresses_are_never_reached() {
    init_logs();
    let server = TestServer::start().await;
    let private = TestServer::start().await; // another loopback server: not trusted, must see no connection
    private.route("/secret.jpg", Reply::ok(photo("tee-grey-front-flat.jpg")));
    server.route("/moved.jpg", Reply::redirect(302, private.url("/secret.jpg")));
    server.route("/meta.jpg", Reply::redirect(302, "http://169.254.169.254/latest/meta-data/"));
    serve_photos(&server);
    serve_shopify(
        &server,
        vec![vec![
            shopify_product(&server, 1, "direct", &["/img/ok.jpg"]),
            serde_json::json!({"id": 2, "handle": "sneaky", "title": "Sneaky",
                "images": [{"src": private.url("/secret.jpg"), "position": 1}, {"src": server.url("/moved.jpg"), "position": 2},
                           {"src": server.url("/meta.jpg"), "position": 3}, {"src": "file:///etc/passwd", "position": 4},
                           {"src": "http://[::1]/x.jpg", "position": 5}, {"src": "http://10.0.0.1/x.jpg", "position": 6}]}),
        ]],
    );
    let dir = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(dir.path(), &trusting(&server)).await.unwrap();
    let (_, rows) = crawl(&e, &server.url("/")).await;
    assert_eq!(photos(row(&rows, "direct")), 1);
    let sneaky = row(&rows, "sneaky");
    assert_eq!(photos(sneaky), 0, "{sneaky:?}");
    assert!(sneaky.note.contains("refused"), "{sneaky:?}");
    assert_eq!(private.connections(), 0, "nothing connected to the private server");

    // A store that is itself a metadata or private address is refused before any connection.
    for store in ["http://169.254.169.254/", &private.url("/"), "http://localhost:9/"] {
        let (_, rows) = crawl(&e, store).await;
        let said_once = |r: &CrawlRow| r.note.contains("refused") && r.note.len() < 200;
        assert!(rows.iter().any(said_once), "said once, not per platform tried: {store}: {rows:#?}");
    }
    assert_eq!(private.connections(), 0);
}

/// A Shopify product whose images are these absolute URLs (any scheme), in order.
fn product_with_srcs(id: u32, handle: &str, srcs: &[String]) -> serde_json::Value {
    let images: Vec<_> = srcs
        .iter()
        .enumerate()
        .map(|(i, src)| serde_json::json!({"id": id * 100_000 + i as u32, "position": i + 1, "src": src}))
        .collect();
    serde_json::json!({"id": id, "handle": handle, "title": format!("Product {id}"), "body_html": "<p>Soft.</p>",
                       "variants": [{"id": id, "price": "25.00"}], "images": images})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_photo_is_skipped_and_the_good_ones_are_kept_and_fetched_once() {
    init_logs();
    let server = TestServer::start().await;
    serve_photos(&server);
    server.handle_prefix("/broken/", |_| Reply::status(500));
    // Each product: two good photos (distinct sample photos) and one that always answers 500.
    let products: Vec<_> = (1..=3)
        .map(|i| {
            let srcs = [format!("/img/a{i}-x.jpg"), format!("/broken/{i}.jpg"), format!("/img/b{i}.jpg")];
            product_with_srcs(i, &format!("product-{i}"), &srcs.map(|p| server.url(&p)))
        })
        .collect();
    serve_shopify(&server, vec![products]);
    let dir = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(dir.path(), &trusting(&server)).await.unwrap();
    let (report, rows) = crawl(&e, &server.url("/")).await;
    for i in 1..=3 {
        let r = row(&rows, &format!("product-{i}"));
        assert!(photos(r) >= 1 && !r.note.starts_with("failed"), "the good photos are kept: {r:?}");
        assert!(r.note.contains("HTTP 500"), "the skipped photo says why: {r:?}");
        for good in [format!("/img/a{i}-x.jpg"), format!("/img/b{i}.jpg")] {
            assert_eq!(server.requests_to(&good).len(), 1, "{good} is fetched once");
        }
        let attempts = trusting(&server).fetch.max_attempts as usize;
        assert_eq!(server.requests_to(&format!("/broken/{i}.jpg")).len(), attempts, "one message, its own retries");
    }
    assert_eq!(report.retries, 0, "no message is tried again: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_with_50000_photos_takes_the_first_30() {
    init_logs();
    let server = TestServer::start().await;
    serve_photos(&server);
    let srcs: Vec<String> = (0..50_000).map(|i| server.url(&format!("/img/p{i}.jpg"))).collect();
    serve_shopify(&server, vec![vec![product_with_srcs(1, "many", &srcs)]]);
    let dir = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(dir.path(), &trusting(&server)).await.unwrap();
    let started = std::time::Instant::now();
    let (_, rows) = tokio::time::timeout(Duration::from_secs(60), crawl(&e, &server.url("/")))
        .await
        .expect("listing and taking in stay quick");
    let fetched: Vec<_> = server.requests().into_iter().filter(|r| r.path().starts_with("/img/")).collect();
    assert_eq!(fetched.len(), 30, "only the first 30 are fetched");
    assert!(
        fetched
            .iter()
            .all(|r| r.path().trim_start_matches("/img/p").trim_end_matches(".jpg").parse::<u32>().unwrap() < 30)
    );
    let r = row(&rows, "many");
    assert!(r.note.contains("took 30 of 50000 photos"), "{r:?}");
    eprintln!("50,000 listed photos: crawled in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_trickling_photos_are_bounded_per_photo_and_per_product() {
    init_logs();
    let server = TestServer::start().await;
    serve_photos(&server);
    server.handle_prefix("/silent/", |_| Reply::stall());
    // Headers and body 100 bytes every 200 ms: 500 B/s, under the 1 KiB/s floor.
    let slow = photo("tee-grey-front-flat.jpg");
    server.handle_prefix("/trickle/", move |_| Reply::ok(slow.clone()).trickle(100, Duration::from_millis(200)));
    let one = [server.url("/img/one.jpg"), server.url("/silent/1.jpg"), server.url("/trickle/1.jpg")];
    let mut many = vec![server.url("/img/two.jpg")];
    many.extend((1..=10).map(|i| server.url(&format!("/silent/m{i}.jpg"))));
    serve_shopify(&server, vec![vec![product_with_srcs(1, "one-slow", &one), product_with_srcs(2, "all-slow", &many)]]);
    let mut config = trusting(&server);
    config.settings.photo_budget = Duration::from_secs(2);
    config.settings.product_budget = Duration::from_secs(5);
    config.fetch.min_rate_window = Duration::from_secs(1);
    let dir = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(dir.path(), &config).await.unwrap();
    let started = std::time::Instant::now();
    let (_, rows) = crawl(&e, &server.url("/")).await;
    let took = started.elapsed();
    let one = row(&rows, "one-slow");
    assert!(photos(one) == 1 && !one.note.starts_with("failed"), "{one:?}");
    assert!(one.note.contains("2 s budget"), "the silent photo is cut at its budget: {one:?}");
    assert!(one.note.contains("stalled"), "the trickle is cut on the minimum rate: {one:?}");
    let all = row(&rows, "all-slow");
    assert!(photos(all) == 1, "{all:?}");
    assert!(
        all.note.contains("product's 5 s budget"),
        "the rest are skipped once the product's budget is spent: {all:?}"
    );
    assert!(took < Duration::from_secs(20), "bounded: {took:?}");
    eprintln!("silent and trickling photos: crawled in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_image_urls_are_named_and_an_upper_case_store_url_is_read() {
    init_logs();
    let server = TestServer::start().await;
    serve_photos(&server);
    serve_shopify(
        &server,
        vec![vec![
            product_with_srcs(1, "passwd", &["file:///etc/passwd".to_string()]),
            product_with_srcs(
                2,
                "ftp-only",
                &["ftp://files.example/x.jpg".to_string(), "javascript:alert(1)".to_string()],
            ),
            product_with_srcs(3, "fine", &[server.url("/img/fine.jpg")]),
        ]],
    );
    let dir = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(dir.path(), &trusting(&server)).await.unwrap();
    // An upper-case scheme and host, as an operator may type them.
    let store = server.url("/").replace("http://", "HTTP://");
    let (_, rows) = crawl(&e, &store).await;
    assert_eq!(photos(row(&rows, "fine")), 1, "{rows:#?}");
    let passwd = row(&rows, "passwd");
    assert!(!passwd.note.contains("lists no images"), "{passwd:?}");
    assert!(passwd.note.contains("refused") && passwd.note.contains("file"), "{passwd:?}");
    let ftp = row(&rows, "ftp-only");
    assert!(ftp.note.contains("ftp") && ftp.note.contains("javascript"), "{ftp:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_a_store_url_is_never_recorded() {
    init_logs();
    let server = TestServer::start().await;
    serve_shopify(&server, vec![vec![shopify_product(&server, 1, "tee", &["/img/tee.jpg"])]]);
    let dir = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(dir.path(), &trusting(&server)).await.unwrap();
    let store = server.url("/").replace("http://", "http://alice:s3cr3t-pw@");
    let (_, rows) = crawl(&e, &store).await;
    assert_eq!(server.connections(), 0, "refused before connecting");
    let shown = format!("{rows:?}");
    assert!(shown.contains("credentials") && !shown.contains("s3cr3t-pw"), "{shown}");
    let issues = e.ports.state.issues_since(0).await.unwrap();
    assert!(!issues.is_empty());
    assert!(!format!("{issues:?}").contains("s3cr3t-pw"), "{issues:?}");
}

/// Takes one listed product in (photos only), as the crawl stage does for each product of a store.
async fn take_in(ports: &truereel::stages::Ports, store: &str, listing: truereel::ProductListing) -> Outcome {
    let msg = CrawlMsg::Product {
        store: store.to_string(),
        listing: Box::new(listing),
        crawl_only: true,
        plan: Default::default(),
    };
    truereel::stages::crawl::run(ports, msg).await.unwrap()
}

/// The sample store's hoodie, taken in: its options and variants reach the product, the store's
/// `variant_ids` reach the references, and every reference has its framing and sharpness.
#[tokio::test]
async fn the_sample_hoodie_keeps_its_variants_and_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let home = Embedded::open(dir.path(), &Config::default()).unwrap();
    let ports = &home.ports;
    let store = sample_store();
    let store = store.to_string_lossy();
    let listing = ports.storefronts.open(&store).unwrap().list().await.unwrap().into_iter().next().unwrap().unwrap();
    assert_eq!(listing.handle.as_str(), "pullover-hoodie");
    let outcome = take_in(ports, &store, listing).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");

    let handle = Handle::parse("pullover-hoodie").unwrap();
    let product = ports.state.get_product(&handle).await.unwrap().unwrap();
    assert_eq!(product.colour_option().map(|(_, o)| o.values.clone()), Some(vec!["Red".into(), "Black".into()]));
    assert_eq!(product.colour_of_variant(1001002), Some("Black"));
    let mut refs = ports.state.references(&handle).await.unwrap();
    refs.sort_by_key(|r| r.position);
    let tagged: Vec<_> = refs.iter().map(|r| (r.position, r.variant_ids.clone())).collect();
    assert_eq!(tagged, [(1, vec![1001001]), (2, vec![]), (3, vec![1001002])]);
    for r in &refs {
        let framing = r.framing.unwrap_or_else(|| panic!("{}: no framing", r.source_url));
        let sharpness = r.sharpness.unwrap_or_else(|| panic!("{}: no sharpness", r.source_url));
        assert!((0.5..0.9).contains(&sharpness), "{}: {sharpness}", r.source_url);
        // All three stand on white; the flats' subject box leaves a margin on every side.
        assert!(framing.uniform_background && framing.background == [255; 3], "{}: {framing:?}", r.source_url);
        if r.source_url.ends_with("front-flat.jpg") {
            let s = framing.subject;
            assert!(s.x0 > 0.0 && s.y0 > 0.0 && s.x1 < 1.0 && s.y1 < 1.0, "{}: {s:?}", r.source_url);
        }
    }

    // A reference stored before intake measured photos is measured from its stored photo when the
    // store says the photo is unchanged, and the store's variants are read again.
    for r in &refs {
        let old = Reference { framing: None, sharpness: None, variant_ids: vec![], ..r.clone() };
        ports.state.put_reference(&old).await.unwrap();
    }
    let listing = ports.storefronts.open(&store).unwrap().list().await.unwrap().into_iter().next().unwrap().unwrap();
    let outcome = take_in(ports, &store, listing).await;
    assert!(matches!(&outcome, Outcome::Done(m) if m.contains("(3 unchanged")), "{outcome:?}");
    let mut again = ports.state.references(&handle).await.unwrap();
    again.sort_by_key(|r| r.position);
    assert_eq!(again, refs);
}

/// One photo listed twice for two variants is one reference naming both.
#[tokio::test]
async fn a_photo_listed_twice_names_the_variants_of_both() {
    let dir = tempfile::tempdir().unwrap();
    let home = Embedded::open(dir.path(), &Config::default()).unwrap();
    let store = sample_store();
    let store = store.to_string_lossy();
    let source = home.ports.storefronts.open(&store).unwrap();
    let mut listing = source.list().await.unwrap().into_iter().next().unwrap().unwrap();
    let mut twice = listing.images[0].clone();
    (twice.position, twice.variant_ids) = (4, vec![1001001, 7]);
    listing.images.push(twice);
    take_in(&home.ports, &store, listing).await;
    let refs = home.ports.state.references(&Handle::parse("pullover-hoodie").unwrap()).await.unwrap();
    assert_eq!(refs.len(), 3);
    let first = refs.iter().find(|r| r.position == 1).unwrap();
    assert_eq!(first.variant_ids, [1001001, 7]);
}
