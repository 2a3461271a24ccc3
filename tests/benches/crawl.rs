//! Benchmark: crawl a generated Shopify-shaped store served on loopback (4 photos per product) through
//! the embedded crawl stage, twice, and download the same URLs with the same fetcher and nothing else
//! as the baseline, in the same run. Reports products/s, the ratio to the baseline, the bytes the
//! second (unchanged) crawl fetched again, and peak memory at two catalog sizes.
//!
//! `cargo bench -p truereel-tests --bench crawl [-- PRODUCTS...]` (default 500 and 2000).
//! Each size runs in a child process of its own (so peak memory is that size's), and the store is
//! served by another child (so serving costs are not counted as the crawler's memory).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use truereel::adapters::http::{FetchPolicy, SafeFetcher};
use truereel::config::Config;
use truereel::homes::embedded::Embedded;
use truereel::ports::{FetchRequest, Fetched, Fetcher};
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::testing::{RecordedRequest, Reply, TestServer};

const PHOTOS_PER_PRODUCT: u32 = 4;
const PAGE: u32 = 250;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(args[1].parse().unwrap()),
        Some("crawl") => crawl_child(args[1].parse().unwrap()),
        _ => {
            let sizes: Vec<u32> =
                if args.is_empty() { vec![500, 2000] } else { args.iter().map(|a| a.parse().unwrap()).collect() };
            println!("crawl benchmark: a generated Shopify store on loopback, {PHOTOS_PER_PRODUCT} photos per product");
            for n in sizes {
                let out =
                    Command::new(std::env::current_exe().unwrap()).arg("crawl").arg(n.to_string()).output().unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                print!("{}", String::from_utf8_lossy(&out.stdout));
            }
        }
    }
}

/// One catalog size: start the store, crawl it twice, download its URLs raw, report.
fn crawl_child(products: u32) {
    let mut server = Command::new(std::env::current_exe().unwrap())
        .arg("serve")
        .arg(products.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let host = line.trim().to_string();
    let base = format!("http://{host}");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let data = tempfile::tempdir().unwrap();
    let fetch =
        FetchPolicy { trusted_hosts: vec![host.clone()], per_host_interval: Duration::ZERO, ..Default::default() };
    let mut config = Config::default();
    config.fetch = fetch;
    let store = format!("{base}/");

    let (first, second, stats_first, stats_second) = rt.block_on(async {
        let e = Embedded::open_for_runner(data.path(), &config).await.unwrap();
        let started = Instant::now();
        crawl(&e, &store).await;
        let first = started.elapsed().as_secs_f64();
        let stats_first = stats(&base).await;
        let started = Instant::now();
        crawl(&e, &store).await;
        let second = started.elapsed().as_secs_f64();
        let stats_second = stats(&base).await;
        let found = e.ports.state.list_products().await.unwrap().len() as u32;
        assert_eq!(found, products, "every product was taken in");
        (first, second, stats_first, stats_second)
    });
    let crawl_rss = truereel_tests::self_peak_rss_kb();

    // Baseline: the same URLs through the same fetcher, 4 at a time (the crawl stage's concurrency), bodies dropped.
    let raw = rt.block_on(async {
        let fetcher = Arc::new(SafeFetcher::new(config.fetch.clone()).unwrap());
        let mut urls: Vec<String> =
            (1..=products.div_ceil(PAGE) + 1).map(|p| format!("{base}/products.json?limit=250&page={p}")).collect();
        for id in 0..products {
            urls.extend((0..PHOTOS_PER_PRODUCT).map(|k| format!("{base}/img/{id}-{k}.jpg")));
        }
        let urls = Arc::new(std::sync::Mutex::new(urls));
        let started = Instant::now();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (fetcher, urls) = (fetcher.clone(), urls.clone());
                tokio::spawn(async move {
                    while let Some(url) = next_url(&urls) {
                        let got = fetcher.fetch(FetchRequest::new(&url, "*/*", 64 << 20)).await.unwrap();
                        assert!(matches!(got, Fetched::Body(_)));
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        started.elapsed().as_secs_f64()
    });
    drop(server.stdin.take());
    let _ = server.wait();

    let resent = stats_second.0 - stats_first.0;
    let not_modified = stats_second.1 - stats_first.1;
    println!(
        "  {products} products ({} photos, {:.1} MB of photos):",
        products * PHOTOS_PER_PRODUCT,
        stats_first.0 as f64 / 1e6
    );
    println!("    first crawl:   {first:.1} s = {:.0} products/s", f64::from(products) / first);
    println!(
        "    raw download of the same URLs (same fetcher, 4 at a time): {raw:.1} s; crawl / download = {:.2}x",
        first / raw
    );
    println!(
        "    second crawl (unchanged): {second:.1} s = {:.0} products/s; {resent} body bytes re-fetched, {not_modified} answers were 304",
        f64::from(products) / second
    );
    println!("    peak memory of the crawling process: {} MB", crawl_rss / 1024);
}

/// The next URL to download (the lock is released before the download).
fn next_url(urls: &std::sync::Mutex<Vec<String>>) -> Option<String> {
    urls.lock().unwrap().pop()
}

async fn crawl(e: &Embedded, store: &str) {
    let options = RunOptions::default();
    let report =
        runner::run_store(&e.ports, store, None, None, &options, Arc::new(LogProgress::default())).await.unwrap();
    assert_eq!(report.dead_lettered, 0);
}

/// (body bytes sent, 304 answers) so far, from the store's own counters.
async fn stats(base: &str) -> (u64, u64) {
    let policy = FetchPolicy { allow_private_network: true, respect_robots: false, ..Default::default() };
    let fetcher = SafeFetcher::new(policy).unwrap();
    let Fetched::Body(body) =
        fetcher.fetch(FetchRequest::new(&format!("{base}/__stats"), "*/*", 1 << 20)).await.unwrap()
    else {
        panic!("stats")
    };
    let v: serde_json::Value = serde_json::from_slice(&body.bytes).unwrap();
    (v["body_bytes"].as_u64().unwrap(), v["not_modified"].as_u64().unwrap())
}

/// Serves `products` products on a loopback port (printed on stdout) until stdin closes.
fn serve(products: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let server = TestServer::start().await;
        let body_bytes = Arc::new(AtomicU64::new(0));
        let not_modified = Arc::new(AtomicU64::new(0));
        let base = server.url("");
        let conditional = {
            let (body_bytes, not_modified) = (body_bytes.clone(), not_modified.clone());
            move |req: &RecordedRequest, etag: String, body: &dyn Fn() -> Vec<u8>, mime: &str| {
                if req.header("if-none-match") == Some(etag.as_str()) {
                    not_modified.fetch_add(1, Ordering::Relaxed);
                    return Reply::status(304).header("etag", etag);
                }
                let body = body();
                body_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                Reply::ok(body).header("content-type", mime).header("etag", etag)
            }
        };
        let pages = conditional.clone();
        server.handle_prefix("/products.json", move |req| {
            let page: u32 = req.target.rsplit("page=").next().and_then(|p| p.parse().ok()).unwrap_or(1);
            let first = (page - 1) * PAGE;
            let list: Vec<_> = (first..(first + PAGE).min(products)).map(|id| product(&base, id)).collect();
            let body = || serde_json::json!({ "products": list }).to_string().into_bytes();
            pages(req, format!("\"page-{page}\""), &body, "application/json")
        });
        let photos = conditional;
        server.handle_prefix("/img/", move |req| {
            let name = req.path().trim_start_matches("/img/").trim_end_matches(".jpg");
            let (id, k) = name.split_once('-').unwrap();
            let (id, k): (u32, u32) = (id.parse().unwrap(), k.parse().unwrap());
            photos(req, format!("\"{id}-{k}\""), &|| jpeg(id, k), "image/jpeg")
        });
        let (bb, nm) = (body_bytes.clone(), not_modified.clone());
        server.handle("/__stats", move |_| {
            Reply::ok(format!(
                r#"{{"body_bytes": {}, "not_modified": {}}}"#,
                bb.load(Ordering::Relaxed),
                nm.load(Ordering::Relaxed)
            ))
        });
        println!("{}", server.host_port());
        std::io::stdout().flush().unwrap();
        // Until the crawler closes our stdin.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {}
        })
        .await
        .unwrap();
    });
}

fn product(base: &str, id: u32) -> serde_json::Value {
    let images: Vec<_> = (0..PHOTOS_PER_PRODUCT)
        .map(|k| {
            serde_json::json!({"id": id * 10 + k, "position": k + 1, "src": format!("{base}/img/{id}-{k}.jpg"),
                                     "width": 480, "height": 600, "variant_ids": []})
        })
        .collect();
    serde_json::json!({"id": id, "handle": format!("product-{id}"), "title": format!("Product {id}"),
                       "body_html": "<p>Soft cotton, relaxed fit.</p>", "vendor": "Bench", "product_type": "Tee",
                       "variants": [{"id": id, "price": "25.00"}], "images": images})
}

/// A distinct 480x600 photo per product and position: a garment-like block on a light backdrop,
/// its colour and size from the ids (so no two are renditions of each other).
fn jpeg(id: u32, k: u32) -> Vec<u8> {
    let colour = [(id * 37 % 200) as u8 + 20, (id * 91 % 200) as u8 + 20, ((id + k) * 53 % 200) as u8 + 20];
    let inset = 40 + k * 30;
    let img = image::RgbImage::from_fn(480, 600, |x, y| {
        let inside = x > inset && x < 480 - inset && y > inset + k * 10 && y < 600 - inset;
        let stripe = (x / (4 + k) + y / (6 + id % 5)).is_multiple_of(2);
        if inside {
            image::Rgb(if stripe { colour } else { [colour[0] / 2, colour[1] / 2, colour[2] / 2] })
        } else {
            image::Rgb([240, 238, 235])
        }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
    out
}
