//! Peak memory of `truereel crawl` on photos built to cost memory: 8 products, each with a 16-bit RGBA PNG
//! of 7745x7745 (inside the pixel limits, 480 MB decoded) and a 16-bit one of 3500x3500 (98 MB decoded),
//! generated here (a few MB each, nothing committed). Measured as the child's own peak RSS (`wait4`).

use std::path::Path;
use std::process::{Command, Stdio};
use truereel::testing::png::flat_rgba;

/// The peak resident set of a child, in bytes, and its exit status.
fn run_measured(mut command: Command) -> (u64, i32, String) {
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start truereel");
    let pid = child.id() as libc::pid_t;
    // Drain the output on threads so the child never blocks on a full pipe.
    let mut child = child;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut out, &mut text).ok();
        let mut more = String::new();
        std::io::Read::read_to_string(&mut err, &mut more).ok();
        text + &more
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    let output = reader.join().unwrap();
    // ru_maxrss is in kilobytes on Linux.
    (usage.ru_maxrss as u64 * 1024, libc::WEXITSTATUS(status), output)
}

fn store(dir: &Path, products: usize) {
    std::fs::create_dir_all(dir.join("photos")).unwrap();
    let mut listed = Vec::new();
    for i in 0..products {
        let bomb = format!("photos/bomb-{i}.png");
        let big = format!("photos/big-{i}.png");
        std::fs::write(dir.join(&bomb), flat_rgba(7745, 7745, 16, &format!("bomb {i}"))).unwrap();
        std::fs::write(dir.join(&big), flat_rgba(3500, 3500, 16, &format!("big {i}"))).unwrap();
        listed.push(serde_json::json!({"handle": format!("product-{i}"), "title": format!("Product {i}"),
            "images": [{"src": bomb, "position": 1}, {"src": big, "position": 2}]}));
    }
    std::fs::write(dir.join("products.json"), serde_json::json!({ "products": listed }).to_string()).unwrap();
}

#[test]
fn crawling_8_products_of_16_bit_png_bombs_stays_under_200_mb() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tmp.path().join("shop");
    store(&shop, 8);
    let mut crawl = Command::new(env!("CARGO_BIN_EXE_truereel"));
    crawl
        .args(["crawl", "--store"])
        .arg(&shop)
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .env("TRUEREEL_LOG", "info")
        .env("TRUEREEL_CONCURRENCY_CRAWL", "8");
    let started = std::time::Instant::now();
    let (peak, code, output) = run_measured(crawl);
    let mb = peak as f64 / 1e6;
    eprintln!("truereel crawl, 8 products of 16-bit PNG bombs: peak RSS {mb:.0} MB in {:?}", started.elapsed());
    assert_eq!(code, 0, "every product keeps its 3500x3500 photo: {output}");
    assert!(output.contains("480 MB decoded (16-bit RGBA), over the 100 MB limit"), "{output}");
    assert!(mb < 200.0, "peak RSS {mb:.0} MB");
}
