//! The binary against what a store or a data folder may hold: handles that look like separators,
//! an unreadable record, escape sequences in store text, and a reader that goes away.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use truereel::contract::{sample_product, sample_reel};

fn sample_store() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store")
}

fn truereel(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_truereel"));
    c.arg("--data-dir").arg(data).env("TRUEREEL_RESOLUTION", "360x640").env("TRUEREEL_LOG", "info");
    c
}

/// Stores `reels` (made from sample products) in a fresh embedded data folder, through the library.
fn data_folder_with(reels: &[truereel::Reel]) -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let e = truereel::homes::embedded::Embedded::open(data.path(), &truereel::config::Config::default()).unwrap();
        for r in reels {
            assert!(e.ports.state.create_reel(r).await.unwrap());
        }
    });
    data
}

fn reels(n: usize, reason: &str) -> Vec<truereel::Reel> {
    (0..n)
        .map(|_| {
            let mut r = sample_reel(&sample_product());
            r.reasons = vec![reason.to_string()];
            r
        })
        .collect()
}

/// A store whose handles hold `--`, end in `-`, or are `-` alone (any storefront may send these)
/// runs to published reels, and `status` then lists them.
#[test]
fn handles_with_double_dashes_or_a_trailing_dash_run_to_published_reels() {
    let store = tempfile::tempdir().unwrap();
    std::fs::create_dir(store.path().join("photos")).unwrap();
    let photo = "photos/hoodie-red-worn.jpg";
    std::fs::copy(sample_store().join(photo), store.path().join(photo)).unwrap();
    let product = |handle: &str| {
        serde_json::json!({"id": 1, "handle": handle, "title": format!("Red hoodie {handle}"),
            "body_html": "<p>A red pullover hoodie with a kangaroo pocket.</p>",
            "images": [{"src": photo, "position": 1, "alt": "Person wearing the red hoodie"}]})
    };
    let handles = ["tee--red", "tee-", "-"];
    let listing = serde_json::json!({"products": handles.iter().map(|h| product(h)).collect::<Vec<_>>()});
    std::fs::write(store.path().join("products.json"), listing.to_string()).unwrap();

    let data = tempfile::tempdir().unwrap();
    let out = truereel(data.path()).args(["run", "--store"]).arg(store.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3 of 3 reels published"), "{stdout}");
    for h in handles {
        assert!(data.path().join(format!("blobs/public/reels/{h}.mp4")).is_file(), "{h} published");
    }
    let out = truereel(data.path()).arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{status}\n{}", String::from_utf8_lossy(&out.stderr));
    for h in handles {
        assert!(
            status.lines().any(|l| l.starts_with(&format!("{h}--")) && l.contains(" published ")),
            "{h}:\n{status}"
        );
    }
}

/// One reel row broken by hand: `status` still lists the others and names the broken one.
#[test]
fn status_lists_every_readable_reel_and_names_an_unreadable_one() {
    let stored = reels(3, "a reason");
    let data = data_folder_with(&stored);
    let db = rusqlite::Connection::open(data.path().join("state.sqlite")).unwrap();
    db.execute("UPDATE reels SET body = '{not json' WHERE id = ?1", [stored[1].id.as_str()]).unwrap();
    drop(db);
    let out = truereel(data.path()).arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for good in [&stored[0], &stored[2]] {
        assert!(text.lines().any(|l| l.starts_with(good.id.as_str())), "{} listed:\n{text}", good.id);
    }
    let bad = text.lines().find(|l| l.contains(stored[1].id.as_str())).unwrap_or_else(|| panic!("{text}"));
    assert!(bad.contains("unreadable") && bad.contains("key must be a string"), "{bad}");
    assert!(text.contains("queue crawl"), "the rest of status is printed:\n{text}");
}

/// Escape sequences in stored text print as visible escapes, never raw.
#[test]
fn status_and_classify_print_store_text_escaped() {
    let data = data_folder_with(&reels(1, "the judge said \x1b[2J\x1b]0;owned\x07"));
    let out = truereel(data.path()).arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(text.contains("the judge said \\x1b[2J\\x1b]0;owned\\x07"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("worn\x1b[2J.jpg");
    std::fs::copy(sample_store().join("photos/hoodie-red-worn.jpg"), &photo).unwrap();
    let missing = dir.path().join("gone\x1b[31m.jpg");
    let out = truereel(data.path()).arg("classify").arg(&photo).arg(&missing).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b'), "{stdout:?}\n{stderr:?}");
    assert!(stdout.contains("worn\\x1b[2J.jpg\t"), "{stdout}");
    assert!(stderr.contains("gone\\x1b[31m.jpg"), "{stderr}");
}

/// Runs `command`, reads one line of its output, closes the pipe and waits: no panic, no error
/// spew, and the exit status a program ended by SIGPIPE reports (documented in `cli/src/output.rs`).
/// The output must be larger than a pipe holds (64 KiB), so the binary is still writing when the
/// reader goes away.
fn read_one_line_then_hang_up(mut command: Command) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(!first.is_empty(), "one line came");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("error"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

#[test]
fn status_and_costs_end_quietly_when_their_reader_goes_away() {
    let data = data_folder_with(&reels(300, &"a long reason for review ".repeat(12)));
    let mut status = truereel(data.path());
    status.arg("status").env("TRUEREEL_LOG", "warn");
    read_one_line_then_hang_up(status);

    // A measurement with many distinct calls makes a long call list.
    let calls: serde_json::Map<String, serde_json::Value> =
        (0..8_000).map(|i| (format!("Service.Operation{i}"), serde_json::json!(1))).collect();
    let run = data.path().join("run.json");
    let measured = serde_json::json!({"what": "a test", "reels": 1, "counts": {"calls": calls}});
    std::fs::write(&run, measured.to_string()).unwrap();
    let mut costs = truereel(data.path());
    costs.args(["costs", "--run"]).arg(&run);
    read_one_line_then_hang_up(costs);
}
