//! Benchmark: `truereel serve`'s origin answering range requests against one published reel, next to
//! nginx serving the same file from the same folder, in the same run, with `wrk` on loopback.
//!
//! `cargo bench -p truereel-tests --bench serve [-- SECONDS [MB [ROUNDS]]]` (default 5 s per run, an 8 MB
//! reel, 4 rounds: about 2.5 minutes).
//! Needs `wrk` and `nginx` (`apt-get install -y wrk nginx`); without them it says so and skips. Our
//! server runs in a child process (the origin's router on a multi-threaded runtime, as `truereel serve`
//! runs it, with its default hot set), so its peak memory (`VmHWM`) is its own; nginx runs with a
//! generated configuration in a temporary folder (2 workers, `sendfile`, `open_file_cache`, no access
//! log, keep-alive unlimited; not `tcp_nopush`, which held every 64 KiB answer back ~40 ms here, 1.7k
//! requests/s) on another port, and for reference a second nginx with `sendfile off`, which copies
//! each answer from the page cache through memory (as nginx does behind TLS without kernel TLS).
//! Workloads, each 64 connections over 2 `wrk` threads, nginx and ours in each round, taking turns to
//! go first (the ratio is of the rounds' totals, so a busy moment on the machine weighs on both):
//! - 64 KiB ranges at random offsets of the reel (what a player seeking asks for), by a Lua script;
//! - the first 1 KiB (`Range: bytes=0-1023`, the probe a browser sends first);
//! - the whole reel (`Range: bytes=0-`, what a player that plays straight through reads).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONNECTIONS: u32 = 64;
const RANGE: u64 = 64 * 1024;
const HANDLE: &str = "bench-reel";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if args.first().map(String::as_str) == Some("origin") {
        return origin_child(Path::new(&args[1]), args[2].parse().unwrap());
    }
    let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(5);
    let mb: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8);
    let rounds: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);
    let (Some(wrk), Some(nginx)) = (find("wrk"), find("nginx")) else {
        println!("serve benchmark skipped: it needs wrk and nginx (apt-get install -y wrk nginx)");
        return;
    };

    // The data folder: an embedded home with one reel at its published path. Readable by nginx's
    // workers, which drop root.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let reel = data.join(format!("blobs/public/reels/{HANDLE}.mp4"));
    std::fs::create_dir_all(reel.parent().unwrap()).unwrap();
    let len = mb * 1024 * 1024;
    let bytes: Vec<u8> = (0..len).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&reel, &bytes).unwrap();
    drop(bytes);
    truereel::homes::embedded::Embedded::open(&data, &truereel::config::Config::default()).unwrap();
    open_up(dir.path());

    // Ours as `truereel serve` runs by default (its hot set), and with no hot set (every answer read
    // from the page cache).
    let start_ours = |cache_mb: u64| {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("origin")
            .arg(&data)
            .arg(cache_mb.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        (line.trim().to_string(), child)
    };
    let (ours_addr, mut ours) = start_ours(truereel::config::Config::default().serve.cache_bytes >> 20);
    let (cold_addr, mut cold) = start_ours(0);
    let reels = data.join("blobs/public/reels");
    let (nginx_addr, mut theirs) = start_nginx(&nginx, &dir.path().join("nginx"), &reels, true);
    let (copying_addr, mut copying) = start_nginx(&nginx, &dir.path().join("nginx-copying"), &reels, false);

    let script = dir.path().join("ranges.lua");
    std::fs::write(&script, lua_script(len)).unwrap();
    let path = format!("/reels/{HANDLE}.mp4");
    let check = |addr: &str| {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-r", "0-99"])
            .arg(format!("http://{addr}{path}"))
            .output()
            .expect("curl (apt-get install curl)");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "206", "{addr} answers a range");
    };
    let servers = [
        ("nginx", nginx_addr.as_str()),
        ("truereel", ours_addr.as_str()),
        ("truereel, no hot set", cold_addr.as_str()),
        ("nginx, no sendfile", copying_addr.as_str()),
    ];
    for (_, addr) in servers {
        check(addr);
    }

    println!(
        "serve benchmark: {mb} MB reel, {CONNECTIONS} connections, 2 wrk threads, {seconds} s per run, {} cores, \
         release build",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "(\"nginx, no sendfile\" reads each answer from the page cache into memory and writes it from there: for reference)"
    );
    println!("| workload | round | server | requests/s | p99 latency | transfer/s | vs nginx |");
    println!("|---|---|---|---|---|---|---|");
    let workloads: [(&str, Vec<String>); 3] = [
        ("64 KiB ranges, random offsets", vec!["-s".into(), script.display().to_string()]),
        ("first 1 KiB (bytes=0-1023)", vec!["-H".into(), "Range: bytes=0-1023".into()]),
        ("whole reel (bytes=0-)", vec!["-H".into(), "Range: bytes=0-".into()]),
    ];
    let mut summary = Vec::new();
    for (name, extra) in &workloads {
        // Requests/s summed over the rounds, per server in `servers`' order.
        let mut totals = [0.0; 4];
        for round in 1..=rounds {
            // Who goes first alternates, so a machine getting busier or quieter does not favour one.
            let mut order: Vec<usize> = (0..servers.len()).collect();
            if round % 2 == 0 {
                order.reverse();
            }
            let mut results = Vec::new();
            for i in order {
                let url = format!("http://{}{path}", servers[i].1);
                run_wrk(&wrk, &url, extra, 1); // warm up
                results.push((i, run_wrk(&wrk, &url, extra, seconds)));
            }
            results.sort_by_key(|(i, _)| *i);
            let nginx_rps = results[0].1.rps;
            for (i, r) in &results {
                totals[*i] += r.rps;
                let (server, vs) = (servers[*i].0, r.rps / nginx_rps);
                println!("| {name} | {round} | {server} | {:.0} | {} | {} | {vs:.2}x |", r.rps, r.p99, r.transfer);
                if let Some(errors) = &r.errors {
                    println!("|  |  | {server} errors: {errors} |  |  |  |  |");
                }
            }
        }
        summary.push((name, totals[1] / totals[0], totals[2] / totals[0], totals[1] / totals[3]));
    }
    let (peak, cold_peak) = (peak_kb(ours.id()), peak_kb(cold.id()));
    let nginx_peak: u64 = nginx_workers(theirs.id()).iter().map(|p| peak_kb(*p)).max().unwrap_or(0);
    println!(
        "\npeak memory: truereel serve {} MB (VmHWM, the whole process; {} MB with no hot set); nginx {} MB per worker",
        peak / 1024,
        cold_peak / 1024,
        nginx_peak / 1024
    );
    for (name, ratio, cold, copying) in &summary {
        let verdict = if *ratio >= 0.8 { "met" } else { "not met" };
        println!(
            "{name}: truereel serve at **{ratio:.2}x** nginx's requests/s over {rounds} rounds (target 0.80x: \
             {verdict}); {cold:.2}x with no hot set; {copying:.2}x nginx without sendfile"
        );
    }
    for child in [&mut ours, &mut cold] {
        let _ = child.kill();
        let _ = child.wait();
    }
    for master in [&mut theirs, &mut copying] {
        // SIGTERM to the master: it stops its workers (SIGKILL would leave them running).
        // SAFETY: kill(2) on the pid of a child this process started and has not reaped.
        unsafe { libc::kill(master.id() as i32, libc::SIGTERM) };
        let _ = master.wait();
    }
}

/// The origin in this (child) process with a hot set of `cache_mb`: prints its address, then serves
/// until killed.
fn origin_child(data: &Path, cache_mb: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut config = truereel::config::Config::default();
        config.serve.cache_bytes = cache_mb << 20;
        let home = truereel::homes::embedded::Embedded::open(data, &config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let origin = truereel_origin::Origin::new(home, config, addr, true).unwrap();
        println!("{addr}");
        truereel_origin::serve(listener, truereel_origin::router(Arc::new(origin))).await.unwrap();
    });
}

/// A program on `PATH` or in `/usr/sbin`.
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Lets other users (nginx's workers) read the folder tree.
fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walk(dir) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// nginx on a free port with its files in `prefix`, serving `/reels/` from `reels` like our origin (the
/// same headers that matter), with or without `sendfile`: its address, once it answers, and its master.
fn start_nginx(nginx: &Path, prefix: &Path, reels: &Path, sendfile: bool) -> (String, Child) {
    std::fs::create_dir_all(prefix).unwrap();
    let port = free_port();
    let sendfile = if sendfile { "on" } else { "off" };
    let conf = format!(
        r#"worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile {sendfile};
  open_file_cache max=1000 inactive=60s;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  types {{ video/mp4 mp4; image/jpeg jpg; }}
  server {{
    listen 127.0.0.1:{port};
    location /reels/ {{
      alias {reels}/;
      add_header Cache-Control "public, max-age=60";
    }}
  }}
}}
"#,
        prefix = prefix.display(),
        reels = reels.display()
    );
    std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
    let master = Command::new(nginx)
        .arg("-p")
        .arg(prefix)
        .args(["-c", "nginx.conf", "-e"])
        .arg(prefix.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx starts");
    let addr = format!("127.0.0.1:{port}");
    wait_for(&addr);
    (addr, master)
}

/// 64 KiB ranges at random offsets of a file of `len` bytes, the same sequence for both servers.
fn lua_script(len: u64) -> String {
    format!(
        r#"math.randomseed(42)
request = function()
  local start = math.random(0, {last})
  return wrk.format(nil, nil, {{["Range"] = "bytes=" .. start .. "-" .. (start + {range} - 1)}})
end
"#,
        last = len - RANGE,
        range = RANGE
    )
}

struct Wrk {
    rps: f64,
    p99: String,
    transfer: String,
    errors: Option<String>,
}

fn run_wrk(wrk: &Path, url: &str, extra: &[String], seconds: u64) -> Wrk {
    let out = Command::new(wrk)
        .args(["-t2", &format!("-c{CONNECTIONS}"), &format!("-d{seconds}s"), "--latency", "--timeout", "10s"])
        .args(extra)
        .arg(url)
        .output()
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let value = |prefix: &str| {
        text.lines().find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_string())).unwrap_or_default()
    };
    let errors: Vec<String> = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(|l| l.trim().to_string())
        .collect();
    Wrk {
        rps: value("Requests/sec:").parse().unwrap_or(0.0),
        p99: value("99%"),
        transfer: value("Transfer/sec:"),
        errors: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}

/// A process's peak resident memory (`VmHWM`), in kB.
fn peak_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:").and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// The worker processes of the nginx master `master`.
fn nginx_workers(master: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.split(' ').nth(1).map(str::to_string)))
                .flatten()
                .is_some_and(|ppid| ppid == master.to_string())
        })
        .collect()
}
