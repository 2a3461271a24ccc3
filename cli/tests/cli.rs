//! The `truereel` binary as a user runs it: a run killed with SIGKILL mid-way, then run again.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_truereel")
}

fn sample_store() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store")
}

fn truereel(data: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("--data-dir").arg(data).env("TRUEREEL_RESOLUTION", "360x640").env("TRUEREEL_LOG", "info");
    c
}

/// The job of every render the still-motion renderer did (one record each: `<job>.<started>.<nonce>.json`).
fn renders(data: &Path) -> Vec<String> {
    let dir = data.join("blobs/provider/still-motion/renders");
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten().map(|e| e.file_name().to_string_lossy().split('.').next().unwrap_or("").to_string()).collect()
        })
        .unwrap_or_default()
}

/// Clip files stored so far, with their modification times.
fn stored_clips(data: &Path) -> Vec<(PathBuf, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![data.join("blobs/reels")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("attempt-")) {
                out.push((p.clone(), e.metadata().unwrap().modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_run_killed_mid_way_completes_when_run_again_without_rendering_or_publishing_twice() {
    let data = tempfile::tempdir().unwrap();
    let only = "pullover-hoodie,blue-slip-on-sneakers,light-wash-ripped-jeans";
    let mut child = truereel(data.path())
        .args(["run", "--store"])
        .arg(sample_store())
        .args(["--only", only])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some, but not all, shots are stored.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        if stored_clips(data.path()).len() >= 3 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        assert!(Instant::now() < deadline, "no clips stored in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = stored_clips(data.path());
    let published_before = std::fs::read_dir(data.path().join("blobs/public/reels"))
        .map(|d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "mp4")).count())
        .unwrap_or(0);
    assert!(published_before < 3, "the kill came too late to test anything");

    let out =
        truereel(data.path()).args(["run", "--store"]).arg(sample_store()).args(["--only", only]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "second run failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3 of 3 reels published"), "{stdout}");

    // No clip stored before the kill was rendered or stored again.
    let after = stored_clips(data.path());
    for (path, modified) in &before {
        let now = after.iter().find(|(p, _)| p == path).expect("a stored clip vanished");
        assert_eq!(&now.1, modified, "{} was written again", path.display());
    }
    let jobs = renders(data.path());
    let mut unique = jobs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), jobs.len(), "a shot was rendered twice: {jobs:#?}");
    assert_eq!(jobs.len(), after.len(), "one render per stored clip");

    // Each reel published exactly once.
    let status = truereel(data.path()).arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.lines().filter(|l| l.contains(" published ")).count(), 3, "{status}");
    assert_eq!(published_transitions(data.path()), 3, "published transitions in the history");

    // Every evaluation exported once, and every judged clip counted once, through the kill.
    let out = truereel(data.path()).args(["evals", "--format", "jsonl"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let db = rusqlite::Connection::open(data.path().join("state.sqlite")).unwrap();
    let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as usize;
    assert_eq!(lines.len(), count("SELECT COUNT(*) FROM verdicts"), "one line per stored evaluation");
    assert!(lines.iter().all(|l| l["shots"].as_array().is_some_and(|s| !s.is_empty())), "{lines:#?}");
    let out = truereel(data.path()).args(["evals", "--summary", "--format", "json"]).output().unwrap();
    let brands: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tallies = brands.as_object().unwrap().values().next().unwrap().as_array().unwrap();
    let by_provider: u64 = (tallies.iter())
        .filter(|t| t["facet"] == "provider")
        .map(|t| t["passed"].as_u64().unwrap() + t["failed"].as_u64().unwrap())
        .sum();
    assert_eq!(by_provider as usize, count("SELECT COUNT(*) FROM outcomes"), "{brands}");
    assert_eq!(by_provider as usize, after.len(), "each stored clip judged and counted once");
}

/// Counts `published` rows in the reel history through the library (the CLI has no such view).
fn published_transitions(data: &Path) -> usize {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let e = truereel::homes::embedded::Embedded::open(data, &truereel::config::Config::default()).unwrap();
        let mut n = 0;
        for r in e.ports.state.list_reels().await.unwrap() {
            n += e
                .ports
                .state
                .history(&r.id)
                .await
                .unwrap()
                .iter()
                .filter(|(s, _)| *s == truereel::ReelStatus::Published)
                .count();
        }
        n
    })
}

#[test]
fn status_before_any_run_says_so_and_bad_flags_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let out = truereel(data.path()).arg("status").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no truereel state"));
    let out =
        truereel(data.path()).args(["run", "--store"]).arg(sample_store()).args(["--only", "../etc"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("handle"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = truereel(data.path()).args(["run", "--store", "/nonexistent/store"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/store"));
}

/// The jobs of the render records in the emulator's bucket.
fn s3_renders(endpoint: &str, bucket: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
        let Ok(out) = s3.list_objects_v2().bucket(bucket).prefix("provider/still-motion/renders/").send().await else {
            return Vec::new();
        };
        out.contents()
            .iter()
            .filter_map(|o| o.key())
            .map(|k| k.rsplit('/').next().unwrap().split('.').next().unwrap().to_string())
            .collect()
    })
}

#[test]
fn on_the_aws_backend_a_killed_run_completes_when_run_again_without_paying_twice() {
    let Some(endpoint) = truereel::testing::emulator_endpoint() else { return };
    let name =
        format!("kill-{}-{}", std::process::id(), std::time::UNIX_EPOCH.elapsed().unwrap().as_millis() % 1_000_000);
    let data = tempfile::tempdir().unwrap();
    let run = |data: &Path| {
        let mut c = truereel(data);
        c.args(["run", "--backend", "aws", "--create-resources", "--endpoint-url", &endpoint])
            .args(["--bucket", &name, "--table", &name, "--queue-prefix", &name, "--store"])
            .arg(sample_store())
            .args(["--only", "pullover-hoodie,blue-slip-on-sneakers"])
            // What a killed run held comes back after this long.
            .env("TRUEREEL_VISIBILITY_SECONDS", "4");
        c
    };
    let mut child = run(data.path()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    while s3_renders(&endpoint, &name).len() < 3 {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        assert!(Instant::now() < deadline, "no renders in time");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let out = run(data.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "second run failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("2 of 2 reels published"), "{stdout}");
    assert!(stdout.contains(&format!("s3://{name}/public/")), "{stdout}");
    let jobs = s3_renders(&endpoint, &name);
    let mut unique = jobs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), jobs.len(), "a shot was rendered (paid for) twice: {jobs:#?}");
    assert_eq!(jobs.len(), 8, "4 + 4 shots (15 s reels), each rendered once");
}

/// `costs` prints the committed measurement per reel; `--run` reads another and refuses junk;
/// `--meter` is for the AWS backend only.
#[test]
fn costs_prints_a_measured_run_and_refuses_what_is_not_one() {
    let data = tempfile::tempdir().unwrap();
    let out = truereel(data.path()).arg("costs").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for expected in ["Mean over 6 reels", "Lambda", "DynamoDB", "SQS.SendMessage x", "per month"] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    let run = data.path().join("run.json");
    let measured = r#"{"what": "a test", "reels": 2, "counts": {"sqs_requests": 40.0},
        "messages": {"plan": 2}, "handler_seconds": {"plan": 2.0}}"#;
    std::fs::write(&run, measured).unwrap();
    let out = truereel(data.path()).args(["costs", "--run"]).arg(&run).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("a test") && text.contains("20.0 requests"), "{text}");
    std::fs::write(&run, "not json").unwrap();
    let out = truereel(data.path()).args(["costs", "--run"]).arg(&run).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a measurement"));
    let out = truereel(data.path()).args(["run", "--meter", "x.json", "--store"]).arg(sample_store()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--backend aws"));
}

/// `truereel crawl` on a storefront URL prints photos by kind per product; a loopback store needs
/// the private-network opt-in.
#[test]
fn the_crawl_command_prints_what_it_found_per_product() {
    use truereel::testing::{Reply, TestServer};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(TestServer::start());
    let photo = std::fs::read(sample_store().join("photos/hoodie-red-worn.jpg")).unwrap();
    server.handle_prefix("/img/", move |_| Reply::ok(photo.clone()).header("content-type", "image/jpeg"));
    let product = serde_json::json!({"products": [{"id": 1, "handle": "red-hoodie", "title": "Red Hoodie",
        "images": [{"src": server.url("/img/worn.jpg"), "position": 1, "alt": "Person wearing the red hoodie"}]}]});
    server.route("/products.json?limit=250&page=1", Reply::ok(product.to_string()));
    server.route("/products.json?limit=250&page=2", Reply::ok(r#"{"products": []}"#));
    let data = tempfile::tempdir().unwrap();
    let out = truereel(data.path()).args(["crawl", "--store", &server.url("/")]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused"), "loopback needs the opt-in");
    let out = truereel(data.path())
        .args(["crawl", "--store", &server.url("/"), "--platform", "shopify", "--allow-private-network"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = text.lines().find(|l| l.starts_with("red-hoodie")).unwrap_or_else(|| panic!("{text}"));
    assert_eq!(line.split_whitespace().collect::<Vec<_>>(), ["red-hoodie", "1", "0", "0", "ok"], "{text}");
    assert!(text.contains("1 of 1 products have usable photos (1 photos)"), "{text}");
    let out =
        truereel(data.path()).args(["crawl", "--store", "gopher://x/", "--platform", "shopify"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("http(s) URL or a folder"));
}

/// A reel whose generate message ran out of receives, and one with nothing queued: `status` names
/// both with the command that unsticks each; `redrive --reel` sends back that reel's dead letter only.
#[test]
fn status_names_stuck_reels_and_redrive_sends_their_dead_letters_back() {
    use truereel::messages::{GenerateMsg, Message};
    use truereel::ports::{MAX_RECEIVES, Stage};
    let data = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (dead_reel, idle_reel) = rt.block_on(async {
        let e = truereel::homes::embedded::Embedded::open(data.path(), &truereel::config::Config::default()).unwrap();
        let mut ids = Vec::new();
        for _ in 0..2 {
            let product = truereel::contract::sample_product();
            let mut reel = truereel::contract::sample_reel(&product);
            e.ports.state.put_product(&product).await.unwrap();
            e.ports.state.create_reel(&reel).await.unwrap();
            reel.status = truereel::ReelStatus::Generating;
            e.ports.state.transition(&reel, truereel::ReelStatus::Planned).await.unwrap();
            ids.push(reel.id);
        }
        let body = Message::from(GenerateMsg::new(ids[0].clone(), 0, 1)).to_json();
        let q = &e.ports.queue;
        q.send(Stage::Generate, &body, Duration::ZERO).await.unwrap();
        for _ in 0..MAX_RECEIVES {
            let got = q.receive(Stage::Generate, 1, Duration::from_secs(60)).await.unwrap();
            q.release(Stage::Generate, &got[0].receipt, Duration::ZERO).await.unwrap();
        }
        assert!(q.receive(Stage::Generate, 1, Duration::from_secs(60)).await.unwrap().is_empty(), "dead-lettered");
        (ids[0].to_string(), ids[1].to_string())
    });

    let status = |data: &Path| {
        let out = truereel(data).arg("status").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let text = status(data.path());
    assert!(text.contains("stuck reels"), "{text}");
    assert!(text.contains(&format!("{dead_reel} (generating): 1 message(s) dead-lettered (generate)")), "{text}");
    assert!(text.contains(&format!("to unstick it: truereel redrive --reel {dead_reel}")), "{text}");
    assert!(text.contains(&format!("{idle_reel} (generating): nothing is queued for it")), "{text}");
    assert!(text.contains("to unstick it: truereel run --store tests/fixtures/store --only sample-"), "{text}");

    let out = truereel(data.path()).args(["redrive", "--reel", &idle_reel]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("0 dead letters sent back"), "{said}");
    let out = truereel(data.path()).args(["redrive", "--stage", "generate", "--reel", &dead_reel]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("generate  1 sent back") && said.contains("1 dead letters sent back"), "{said}");

    let text = status(data.path());
    assert!(!text.contains(&format!("{dead_reel} (generating)")), "queued again, no longer stuck:\n{text}");
    assert!(text.contains("dead letters   0"), "{text}");
    let line = text.lines().find(|l| l.starts_with("queue generate")).unwrap();
    assert!(line.contains("visible   1"), "{line}");
    let out = truereel(data.path()).args(["redrive", "--stage", "paint"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a stage"));
}

/// The pids of the processes whose parent is `parent`, with their command lines.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // pid (comm) state ppid …; comm may hold spaces, so read after the last ')'.
        let ppid = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if ppid == Some(parent) {
            out.push((pid, cmdline(pid)));
        }
    }
    out
}

/// A process that still runs (not a zombie): its state, parent and command line.
fn alive(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().take(2).collect();
    let line = cmdline(pid);
    (!line.is_empty() && rest.first() != Some(&"Z")).then(|| format!("{line} (state {}, parent {})", rest[0], rest[1]))
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// SIGKILL in the middle of a render: the ffmpeg child dies with the run, its scratch folder is in
/// the data folder (not /tmp), and the next start clears it and finishes the reel.
#[test]
fn a_run_killed_mid_render_leaves_no_ffmpeg_running_and_its_scratch_is_cleared_at_the_next_start() {
    let data = tempfile::tempdir().unwrap();
    let scratch = data.path().join("scratch");
    let run = || {
        let mut c = truereel(data.path());
        c.args(["run", "--store"]).arg(sample_store()).args(["--only", "pullover-hoodie"]);
        c
    };
    // The slowest preset keeps the render going long after the kill, as a full-size render would.
    let mut child =
        run().env("TRUEREEL_X264_PRESET", "placebo").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    // A still-motion shot renders straight into the assembly: both ffmpegs run at once.
    let renders = loop {
        let found: Vec<(u32, String)> =
            children_of(child.id()).into_iter().filter(|(_, c)| c.contains("ffmpeg")).collect();
        if found.iter().any(|(_, c)| c.contains("zoompan")) && found.iter().any(|(_, c)| c.contains("libx264")) {
            break found;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before a render was seen");
        assert!(Instant::now() < deadline, "no render started in time");
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for (_, line) in renders.iter().filter(|(_, c)| c.contains("libx264")) {
        assert!(line.contains(&scratch.display().to_string()), "the assembly works in the data folder: {line}");
    }
    std::thread::sleep(Duration::from_millis(500));
    let survivors: Vec<_> = renders.iter().filter(|(pid, _)| cmdline(*pid).contains("ffmpeg")).collect();
    assert!(survivors.is_empty(), "ffmpeg outlived the killed run: {survivors:?}");
    let left = std::fs::read_dir(&scratch).map(|d| d.count()).unwrap_or(0);
    assert!(left > 0, "the killed render left its scratch folder");

    let out = run().output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 of 1 reels published"), "{stdout}");
    let left: Vec<_> = std::fs::read_dir(&scratch).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "the next start cleared the scratch folder: {left:?}");
}

/// Kills a run of three sample products with SIGKILL at random moments, eight times, then lets one run
/// to the end: every reel is published or parked with a reason, nothing is stuck or dead-lettered, each
/// (reel, shot, attempt) is charged once and rendered once, each reel published once, and no tool or
/// scratch folder outlives its run. The seed is printed; `KILL_LOOP_SEED` replays one.
#[test]
fn a_run_killed_over_and_over_at_random_points_still_ends_with_every_reel_accounted_for_and_nothing_paid_twice() {
    let data = tempfile::tempdir().unwrap();
    let only = "pullover-hoodie,grey-graphic-tee,white-off-shoulder-dress";
    let run = || {
        let mut c = truereel(data.path());
        c.env("TRUEREEL_RESOLUTION", "270x480").env("TRUEREEL_STILL_MOTION_USD_PER_SECOND", "0.01");
        c.args(["run", "--store"]).arg(sample_store()).args(["--only", only]);
        c
    };
    let mut seed: u64 = std::env::var("KILL_LOOP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos() as u64);
    println!("KILL_LOOP_SEED={seed}");
    let mut next = move || {
        // xorshift64*
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let started = Instant::now();
    let mut killed = 0;
    for _ in 0..8 {
        let mut child = run().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let at = Duration::from_millis(100 + next() % 1500);
        let t = Instant::now();
        while t.elapsed() < at && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let tools: Vec<u32> = children_of(child.id()).into_iter().map(|(pid, _)| pid).collect();
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
        // The kernel delivers the parent-death SIGKILL at once, but on a loaded machine a tool can take
        // a moment to be scheduled and exit; an orphan would still be there (reparented) after 2 s.
        let t = Instant::now();
        let survivors = loop {
            let alive: Vec<String> = tools.iter().filter_map(|p| alive(*p)).collect();
            if alive.is_empty() || t.elapsed() > Duration::from_secs(2) {
                break alive;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(survivors.is_empty(), "tools outlived their run: {survivors:?}");
    }
    println!("{killed} kills in {:?}", started.elapsed());

    let out = run().output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "the last run failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}\nall runs took {:?}", started.elapsed());
    let left: Vec<_> = std::fs::read_dir(data.path().join("scratch"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "scratch left behind: {left:?}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use truereel::ports::Stage;
        use truereel::{IdempotencyKey, ReelStatus};
        let e = truereel::homes::embedded::Embedded::open(data.path(), &truereel::config::Config::default()).unwrap();
        let state = &e.ports.state;
        for stage in Stage::ALL {
            let d = e.ports.queue.depth(stage).await.unwrap();
            assert_eq!((d.pending(), d.dead), (0, 0), "{stage}: nothing left and nothing dead-lettered: {d:?}");
        }
        let stuck = truereel::stuck::stuck_reels(&e.ports, &e.queue.pending().await.unwrap()).await.unwrap();
        assert!(stuck.is_empty(), "{stuck:?}");
        let issues = state.issues_since(0).await.unwrap();
        let products = state.list_products().await.unwrap();
        assert_eq!(products.len(), 3);
        let reels = state.list_reels().await.unwrap();
        let mut rendered_shots = 0;
        for p in &products {
            let reel = reels.iter().find(|r| r.product == p.handle);
            match reel.map(|r| r.status) {
                Some(ReelStatus::Published) => {}
                Some(ReelStatus::NeedsReview) => assert!(!reel.unwrap().reasons.is_empty(), "parked without a reason"),
                other => assert!(
                    issues.iter().any(|i| i.fatal && i.product == p.handle.as_str()),
                    "{} is {other:?} with no word why: {issues:#?}",
                    p.handle
                ),
            }
        }
        for reel in &reels {
            let history = state.history(&reel.id).await.unwrap();
            let published = history.iter().filter(|(s, _)| *s == ReelStatus::Published).count();
            assert!(published <= 1, "{} published {published} times", reel.id);
            // One charge per (reel, shot, attempt), and no shot needed a second attempt.
            let charged: BTreeSet<String> = state
                .ledger(Some(&reel.id))
                .await
                .unwrap()
                .iter()
                .filter(|l| l.operation == "image_to_video")
                .map(|l| l.key.to_string())
                .collect();
            let clips = state.clips(&reel.id).await.unwrap();
            let expected: BTreeSet<String> = clips
                .iter()
                .map(|c| format!("{}@{}", IdempotencyKey::for_shot(&reel.id, c.shot, c.attempt, "video"), c.provider))
                .collect();
            assert_eq!(charged, expected, "{}: one charge per stored clip", reel.id);
            assert!(reel.status != ReelStatus::Published || clips.len() == reel.plan.shots.len());
            assert!(reel.shot_attempts.iter().all(|a| *a == 1), "a kill cost a second attempt: {reel:?}");
            rendered_shots += clips.len();
        }
        let ledger_total = state.ledger(None).await.unwrap().iter().filter(|l| l.operation == "image_to_video").count();
        assert_eq!(ledger_total, rendered_shots, "no charge without its clip");
    });
    let jobs = renders(data.path());
    let unique: BTreeSet<&String> = jobs.iter().collect();
    assert_eq!(unique.len(), jobs.len(), "a shot was rendered twice: {jobs:#?}");
    assert!(started.elapsed() < Duration::from_secs(150), "too slow: {:?}", started.elapsed());
}

/// A run with a budget too small for every product stops submitting at the budget and says so;
/// `truereel ledger` adds up to what the ledger holds.
#[test]
fn a_budget_too_small_stops_submitting_and_the_ledger_command_adds_up() {
    let data = tempfile::tempdir().unwrap();
    let out = truereel(data.path())
        .env("TRUEREEL_STILL_MOTION_USD_PER_SECOND", "0.05")
        .env("TRUEREEL_BUDGET_USD", "0.60")
        .args(["run", "--only", "pullover-hoodie,grey-graphic-tee", "--store"])
        .arg(sample_store())
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("run's budget"), "the run says why it stopped:\n{said}");
    let out = truereel(data.path()).args(["ledger", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = summary["total_usd"].as_f64().unwrap();
    assert!(total > 0.0 && total <= 0.60 + 1e-9, "{summary}");
    let by_product: f64 = summary["by_product"].as_object().unwrap().values().map(|s| s["usd"].as_f64().unwrap()).sum();
    assert!((by_product - total).abs() < 1e-6, "{summary}");
    // The same figures straight from the state file.
    let db = rusqlite::Connection::open(data.path().join("state.sqlite")).unwrap();
    let micros: i64 = db.query_row("SELECT COALESCE(SUM(usd), 0) FROM ledger", [], |r| r.get(0)).unwrap();
    assert!((micros as f64 / 1e6 - total).abs() < 1e-6, "{micros} µ$ in the ledger, {total} printed");
    let text = truereel(data.path()).arg("ledger").output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("provider"), "tables by provider");
}

/// `kill -9` while Runway jobs are being polled, then run again: every job is polled to its end
/// and mirrored, none is submitted again, and each is charged once.
#[test]
fn a_run_killed_while_polling_runway_resumes_the_same_jobs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stub = rt.block_on(truereel::testing::RunwayStub::animating());
    stub.always(truereel::testing::Script::Succeed { polls: 4 });
    let data = tempfile::tempdir().unwrap();
    let run = |data: &Path| {
        let mut c = truereel(data);
        c.env("TRUEREEL_VIDEO_PROVIDER", "runway")
            .env("TRUEREEL_RUNWAY_API_KEY", truereel::testing::runway::KEY)
            .env("TRUEREEL_RUNWAY_BASE_URL", stub.base_url())
            .env("TRUEREEL_RUNWAY_POLL_SECS", "1")
            .env("TRUEREEL_RUNWAY_CONCURRENCY", "2")
            .env("TRUEREEL_ALLOW_PRIVATE_NETWORK", "1")
            .args(["run", "--only", "green-chunky-knit-beanie", "--store"])
            .arg(sample_store());
        c
    };
    let mut child = run(data.path()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    while stub.submissions() == 0 {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        assert!(Instant::now() < deadline, "nothing submitted in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300)); // mid-poll: a job takes 4 polls a second or more apart
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let submitted_before = stub.submissions();

    let out = run(data.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() || out.status.code() == Some(2), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    rt.block_on(async {
        let config = truereel::config::Config::default();
        let e = truereel::homes::embedded::Embedded::open(data.path(), &config).unwrap();
        let reel = e.ports.state.list_reels().await.unwrap().remove(0);
        let shots = reel.plan.shots.len();
        assert!(submitted_before < shots || shots <= 2, "killed after every job was submitted: nothing resumed");
        assert_eq!(stub.submissions(), shots, "each shot's job submitted once, across the kill");
        let clips = e.ports.state.clips(&reel.id).await.unwrap();
        assert_eq!(clips.len(), shots, "every job polled to its end and mirrored: {stdout}");
        let charges = e.ports.state.ledger(Some(&reel.id)).await.unwrap();
        assert_eq!(charges.iter().filter(|l| l.provider == "runway").count(), shots, "{charges:#?}");
    });
}

/// Makes a clip with ffmpeg: a push-in over `photo`, `filter` after it (mirrored, recoloured...).
fn clip_of(photo: &Path, filter: &str, out: &Path, audio: bool) {
    let mut c = Command::new("ffmpeg");
    c.args(["-nostdin", "-loglevel", "error", "-y", "-i"]).arg(photo);
    if audio {
        c.args(["-f", "lavfi", "-i", "sine=frequency=440:duration=3"]);
    }
    let graph = format!(
        "scale=360:640:force_original_aspect_ratio=increase,crop=360:640,\
         zoompan=z='1+0.12*on/72':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=72:s=360x640:fps=24{filter}"
    );
    c.args(["-vf", &graph, "-frames:v", "72", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]);
    if audio {
        c.args(["-c:a", "aac", "-shortest"]);
    }
    let o = c.arg(out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `truereel judge` on clips with and without audio: a faithful one passes (0), a mirrored one fails
/// (1) naming why, bad input is 2; `--reel` adds the reel's spec checks; the verdict is one JSON object.
#[test]
fn judge_prints_one_verdict_and_says_pass_fail_or_bad_input_by_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let photo = sample_store().join("photos/tee-grey-front-flat.jpg");
    let (faithful, mirrored) = (dir.path().join("faithful.mp4"), dir.path().join("mirrored.mp4"));
    clip_of(&photo, "", &faithful, false);
    clip_of(&photo, ",hflip", &mirrored, true);
    let judge = |args: &[&std::ffi::OsStr]| truereel(dir.path()).arg("judge").args(args).output().unwrap();
    let json = |out: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    };

    let out = judge(&["--reference".as_ref(), photo.as_os_str(), faithful.as_os_str()]);
    let v = json(&out);
    assert_eq!((out.status.code(), v["verdict"].as_str()), (Some(0), Some("pass")), "{v:#}");
    let names: Vec<&str> = v["checks"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    for check in ["colour", "structure", "mirrored", "proportions", "frames", "motion", "sharpness"] {
        assert!(names.contains(&check), "{check} missing: {names:?}");
    }
    assert!(!names.contains(&"resolution"), "spec checks only with --reel");

    // Under a brand kit whose structure limit is above what the clip measured, it fails, saying
    // whose limit it failed; a kit with a bad threshold is bad input naming it.
    let structure = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "structure").unwrap();
    let fit = structure["measure"]["value"].as_f64().unwrap_or_else(|| panic!("{structure:#}"));
    assert_eq!(structure["measure"]["limit"].as_f64(), Some(0.85), "{structure:#}");
    assert!(fit < 1.0, "{structure:#}");
    let kit = dir.path().join("brand.toml");
    std::fs::write(&kit, format!("[thresholds]\nstructure = {}\n", (fit + 1.0) / 2.0)).unwrap();
    let under_kit = [OsStr("--brand"), kit.as_os_str(), OsStr("--reference"), photo.as_os_str(), faithful.as_os_str()];
    let out = judge(&under_kit);
    let v = json(&out);
    assert_eq!((out.status.code(), v["verdict"].as_str()), (Some(1), Some("fail")), "{v:#}");
    let reasons = v["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{v:#}");
    assert!(reasons[0].as_str().unwrap().contains("; by the brand's threshold, at least 0.9"), "{v:#}");
    std::fs::write(&kit, "[thresholds]\nstructure = 85\n").unwrap();
    let out = judge(&under_kit);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("thresholds.structure must be a number from 0 to 1, not 85"), "{err}");

    let out = judge(&["--reference".as_ref(), photo.as_os_str(), mirrored.as_os_str()]);
    let v = json(&out);
    assert_eq!((out.status.code(), v["verdict"].as_str()), (Some(1), Some("fail")), "{v:#}");
    let reasons = v["reasons"].to_string();
    assert!(reasons.contains("mirrored"), "{reasons}");

    // As a reel: 360x640 is not the reel's size, 3 s is too short, the tone is not at -14 LUFS.
    let out = judge(&["--reel".as_ref(), "--reference".as_ref(), photo.as_os_str(), faithful.as_os_str()]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1));
    let reasons = v["reasons"].to_string();
    assert!(reasons.contains("duration") && reasons.contains("audio"), "{reasons}");

    for (args, says) in [
        (vec![OsStr("--reference"), photo.as_os_str(), photo.as_os_str()], "not a video"),
        (vec![OsStr("--reference"), faithful.as_os_str(), faithful.as_os_str()], "not a photo"),
        (vec![OsStr("--reference"), photo.as_os_str(), OsStr("/nonexistent.mp4")], "nonexistent"),
    ] {
        let out = judge(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let out = judge(&[faithful.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "a clip with no photo is refused");
}

#[allow(non_snake_case)]
fn OsStr(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// `status` names the contact sheet of each reel's latest judged round, when it is stored.
#[test]
fn status_names_the_contact_sheet_of_the_latest_judged_round() {
    let data = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (with_sheet, without) = rt.block_on(async {
        let e = truereel::homes::embedded::Embedded::open(data.path(), &truereel::config::Config::default()).unwrap();
        let mut ids = Vec::new();
        for _ in 0..2 {
            let product = truereel::contract::sample_product();
            let mut reel = truereel::contract::sample_reel(&product);
            reel.round = 2;
            e.ports.state.put_product(&product).await.unwrap();
            e.ports.state.create_reel(&reel).await.unwrap();
            for round in [1, 2] {
                e.ports.state.put_verdict(&truereel::contract::sample_verdict(&reel.id, round, false)).await.unwrap();
            }
            ids.push(reel.id);
        }
        // The first reel has sheets of both rounds; the second one none.
        for round in [1, 2] {
            let png = data.path().join("sheet.png");
            std::fs::write(&png, b"\x89PNG").unwrap();
            let key = truereel::BlobKey::reel_contact_sheet(&ids[0], round);
            e.ports.blobs.put_file(&key, &png, "image/png").await.unwrap();
        }
        (ids[0].clone(), ids[1].clone())
    });
    let out = truereel(data.path()).arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let sheet = data.path().join(format!("blobs/reels/{with_sheet}/reel-2.sheet.png"));
    assert!(text.contains(&format!("    contact sheet (round 2): {}", sheet.display())), "{text}");
    assert_eq!(text.matches("contact sheet").count(), 1, "{text}");
    assert!(!text.contains(&format!("reels/{without}/")), "{text}");
}

/// `truereel judge --sheet OUT.png` draws the clip's contact sheet beside the verdict, whatever the
/// verdict; a sheet it cannot write is bad input (2).
#[test]
fn judge_draws_a_contact_sheet_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let photo = sample_store().join("photos/tee-grey-front-flat.jpg");
    let clip = dir.path().join("mirrored.mp4");
    clip_of(&photo, ",hflip", &clip, false);
    let sheet = dir.path().join("a 'sheet': 100%.png");
    let judge = |sheet: &Path| {
        let mut c = truereel(dir.path());
        c.arg("judge").arg("--reference").arg(&photo).arg("--sheet").arg(sheet).arg(&clip).output().unwrap()
    };
    let out = judge(&sheet);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&sheet).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let (w, h) =
        (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
    assert!((1000..2000).contains(&w) && (200..400).contains(&h), "{w}x{h}");
    let out = judge(Path::new("/nonexistent/x.png"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.png"));
}

/// `truereel flag` on a published reel: the safety pass runs on one machine and the reel is
/// published as version 2 with its own file; a flag on a reel that is not published, without a
/// reason, or over the bound is refused with the reason and exit status 1.
#[test]
fn flag_reopens_a_published_reel_and_publishes_the_next_version() {
    let data = tempfile::tempdir().unwrap();
    let run = truereel(data.path())
        .args(["run", "--store"])
        .arg(sample_store())
        .args(["--only", "green-chunky-knit-beanie"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let reels = std::fs::read_dir(data.path().join("blobs/reels")).unwrap();
    let reel = reels.flatten().next().unwrap().file_name().to_string_lossy().to_string();

    let no_reason = truereel(data.path()).args(["flag", &reel, "--reason", " "]).output().unwrap();
    assert_eq!(no_reason.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_reason.stderr).contains("needs a reason"));
    let unknown = truereel(data.path()).args(["flag", "no-such--0123456789ab", "--reason", "x"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("there is no reel"));

    let flagged = truereel(data.path())
        .env("TRUEREEL_MAX_FLAG_PASSES", "1")
        .args(["flag", &reel, "--reason", "TikTok: the knit looks altered", "--shots", "1,2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&flagged.stdout);
    assert!(flagged.status.success(), "{text}{}", String::from_utf8_lossy(&flagged.stderr));
    assert!(text.contains("published") && text.contains("version 2 (its own file: "), "{text}");
    let version_2 = data.path().join("blobs/public/reels/green-chunky-knit-beanie/v2.mp4");
    let stable = data.path().join("blobs/public/reels/green-chunky-knit-beanie.mp4");
    assert_eq!(std::fs::read(&version_2).unwrap(), std::fs::read(&stable).unwrap());
    assert!(data.path().join("blobs/public/reels/green-chunky-knit-beanie/v1.mp4").exists(), "version 1 is kept");

    let again = truereel(data.path())
        .env("TRUEREEL_MAX_FLAG_PASSES", "1")
        .args(["flag", &reel, "--reason", "again"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("reopened once already"));
    // Publishing over the judge and sending shots back are for parked reels only.
    let publish = truereel(data.path()).args(["publish", &reel, "--reason", "looks fine"]).output().unwrap();
    assert_eq!(publish.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&publish.stderr).contains("only a reel parked for a person"));
    let regenerate = truereel(data.path()).args(["regenerate", &reel, "--shots", "1"]).output().unwrap();
    assert_eq!(regenerate.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&regenerate.stderr).contains("flag a published reel"));

    // The embed snippet: the stable URL and poster on the brand's domain, the reel's real size.
    let embed = truereel(data.path())
        .args(["embed", "green-chunky-knit-beanie", "--public-base-url", "https://video.brand.com/"])
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&embed.stdout);
    assert!(embed.status.success(), "{html}{}", String::from_utf8_lossy(&embed.stderr));
    assert!(html.starts_with("<video src=\"https://video.brand.com/reels/green-chunky-knit-beanie.mp4\""), "{html}");
    for part in
        ["poster=\"https://video.brand.com/reels/green-chunky-knit-beanie.jpg\"", "width=\"360\" height=\"640\""]
    {
        assert!(html.contains(part), "{part} missing: {html}");
    }
    let none = truereel(data.path()).args(["embed", "no-such-product"]).output().unwrap();
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no product no-such-product"));
    let bad = truereel(data.path()).args(["serve", "--bind", "localhost"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--bind \"localhost\" is not accepted"));

    // `truereel serve` on an ephemeral port: the stable URL is version 2; a signed link from
    // `serve --sign` opens a draft, which is not public otherwise.
    let mut server = truereel(data.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Its standard output stays open to the end (a closed one would stop it, as any truereel command).
    let mut banner = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut banner, &mut first).unwrap();
    let addr = first.trim().rsplit_once("http://").map(|(_, a)| a.to_string()).unwrap_or_else(|| panic!("{first}"));
    let get = |path: &str| {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
        write!(tcp, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).unwrap();
        let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        (String::from_utf8_lossy(&answer[..split]).to_string(), answer[split + 4..].to_vec())
    };
    let (head, body) = get("/reels/green-chunky-knit-beanie.mp4");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, std::fs::read(&version_2).unwrap());
    let draft = format!("reels/{reel}/reel-1.mp4");
    assert!(get(&format!("/files/{draft}")).0.starts_with("HTTP/1.1 404"));
    let signed = truereel(data.path()).args(["serve", "--sign", &draft]).output().unwrap();
    let link = String::from_utf8_lossy(&signed.stdout).trim().to_string();
    assert!(signed.status.success() && link.starts_with("http://127.0.0.1:8080/files/"), "{link}");
    let (head, body) = get(link.trim_start_matches("http://127.0.0.1:8080"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, std::fs::read(data.path().join("blobs").join(&draft)).unwrap());
    server.kill().unwrap();
    server.wait().unwrap();
    drop(banner);
}

/// `truereel judge --gallery --other`: a clip of another product fails `product_match` naming it by
/// its file stem (exit 1); a faithful clip of the listing passes with its product-match check.
#[test]
fn judge_matches_a_clip_against_the_listing_gallery_and_other_products() {
    let dir = tempfile::tempdir().unwrap();
    let photos = sample_store().join("photos");
    let (reference, gallery) = (photos.join("hoodie-red-front-flat.jpg"), photos.join("hoodie-red-worn.jpg"));
    let other = dir.path().join("blue-slip-on-sneakers.jpg");
    std::fs::copy(photos.join("slipon-blue-side.jpg"), &other).unwrap();
    let (faithful, wrong) = (dir.path().join("hoodie.mp4"), dir.path().join("shoes.mp4"));
    clip_of(&reference, "", &faithful, false);
    clip_of(&other, "", &wrong, false);
    let judge = |clip: &Path| {
        let out = truereel(dir.path())
            .arg("judge")
            .args([OsStr("--reference"), reference.as_os_str(), OsStr("--gallery"), gallery.as_os_str()])
            .args([OsStr("--other"), other.as_os_str(), clip.as_os_str()])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), v)
    };
    let (code, v) = judge(&wrong);
    assert_eq!((code, v["verdict"].as_str()), (Some(1), Some("fail")), "{v:#}");
    let reasons = v["reasons"].to_string();
    assert!(reasons.contains("product_match: shot 1: at ") && reasons.contains("`blue-slip-on-sneakers`"), "{reasons}");

    let (code, v) = judge(&faithful);
    assert_eq!((code, v["verdict"].as_str()), (Some(0), Some("pass")), "{v:#}");
    let matched = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "product_match").cloned();
    assert_eq!(matched.as_ref().and_then(|c| c["passed"].as_bool()), Some(true), "{v:#}");
}
