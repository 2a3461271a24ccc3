//! Benchmark: mirroring a clip from a provider's link, next to `curl` of the same file in the same
//! run, and the memory it takes as the clip grows.
//!
//! `cargo bench -p truereel-tests --bench mirror [-- MB...]` (default: 50 and 500). The file is served
//! from loopback by a separate process (`python3 -m http.server`), so this process holds only what
//! the download holds. Each size: best of 3 for the Runway client's streaming download (capped,
//! hashed as it goes) and for `curl -o`, and this process's peak memory after each size.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use truereel::adapters::providers::video::RunwayVideo;
use truereel::config::Secret;
use truereel::ports::{ClipOutput, VideoModel};
use truereel_tests::self_peak_rss_kb;

fn main() {
    let sizes: Vec<u64> = {
        let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
        if args.is_empty() { vec![50, 500] } else { args }
    };
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 serves the clip");
    std::thread::sleep(Duration::from_millis(800));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut config = truereel::config::Config::default().video.runway;
    config.api_key = Some(Secret::new("bench"));
    config.base_url = "http://127.0.0.1:9".into();
    config.allow_private_network = true;
    let runway = RunwayVideo::new(&config, Duration::from_secs(600)).unwrap();
    println!("mirror benchmark: a clip from loopback, the Runway client's download next to curl (best of 3)");
    println!("| clip | client | curl | ratio | peak memory after |");
    println!("|---|---|---|---|---|");
    for mb in sizes {
        let name = format!("clip-{mb}.mp4");
        // Written a megabyte at a time, so this process never holds the clip.
        let mut file = std::io::BufWriter::new(std::fs::File::create(dir.path().join(&name)).unwrap());
        for m in 0..mb {
            let chunk: Vec<u8> =
                (0..1024 * 1024u64).map(|i| ((m * 1048576 + i).wrapping_mul(2654435761) >> 13) as u8).collect();
            std::io::Write::write_all(&mut file, &chunk).unwrap();
        }
        drop(file);
        let url = format!("http://127.0.0.1:{port}/{name}");
        let dest = dir.path().join("out.mp4");
        let (mut ours, mut theirs) = (f64::MAX, f64::MAX);
        for _ in 0..3 {
            let started = Instant::now();
            let output = ClipOutput { url: url.clone(), content_type: None };
            let got = rt.block_on(runway.download(&output, &dest, 4096 * 1024 * 1024)).unwrap();
            assert_eq!(got.bytes, mb * 1024 * 1024);
            ours = ours.min(started.elapsed().as_secs_f64());
            let started = Instant::now();
            let ok = Command::new("curl").args(["-sf", "-o"]).arg(&dest).arg(&url).status().unwrap().success();
            assert!(ok, "curl fetched the clip");
            theirs = theirs.min(started.elapsed().as_secs_f64());
        }
        println!(
            "| {mb} MB | {ours:.3} s | {theirs:.3} s | {:.2}x | {} MB |",
            ours / theirs,
            self_peak_rss_kb() / 1024
        );
        std::fs::remove_file(dir.path().join(&name)).unwrap();
    }
    let _ = server.kill();
    let _ = server.wait();
}
