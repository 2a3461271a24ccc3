//! One configuration as a user meets it: a bad value stops every command before any work, naming the
//! variable or flag, the value and what is accepted; `truereel config` shows every setting and where it
//! came from; the README's table is the one the definitions make.

use std::path::Path;
use std::process::{Command, Output};

fn truereel(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_truereel"));
    c.arg("--data-dir").arg(data);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TRUEREEL_") {
            c.env_remove(k);
        }
    }
    c
}

fn sample_store() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `truereel run` on the sample store with one bad setting and checks it stopped before any work.
fn refused(env: Option<(&str, &str)>, args: &[&str], name: &str, accepts: &str) {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("never-made");
    let mut cmd = truereel(&dir);
    cmd.args(["run", "--store"]).arg(sample_store()).args(args);
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(name) && err.contains(accepts), "{name} / {accepts} in {err}");
    assert!(!dir.exists(), "stopped before any work, but the data folder was made: {err}");
}

#[test]
fn a_bad_value_stops_the_run_before_any_work_and_names_itself() {
    refused(Some(("TRUEREEL_CRF", "abc")), &[], r#"TRUEREEL_CRF "abc""#, "a whole number from 0 to 51");
    refused(Some(("TRUEREEL_CONCURRENCY_GENERATE", "zero")), &[], "TRUEREEL_CONCURRENCY_GENERATE", "from 1 to 64");
    refused(Some(("TRUEREEL_VISIBILITY_SECONDS", "-5")), &[], r#"TRUEREEL_VISIBILITY_SECONDS "-5""#, "from 1 to 43200");
    refused(None, &["--resolution", "0x0"], r#"--resolution "0x0""#, "WIDTHxHEIGHT");
    refused(None, &["--resolution", "4096x16"], r#"--resolution "4096x16""#, "4096:16 is no shape a platform takes");
    refused(None, &["--budget-usd", "-1"], r#"--budget-usd "-1""#, "US dollars from 0");
    refused(None, &["--only", ""], r#"--only """#, "no handle given");
    refused(Some(("TRUEREEL_BACKEND", "cloud")), &[], "TRUEREEL_BACKEND", "one of embedded, aws");
}

#[test]
fn config_shows_every_setting_its_value_and_its_source() {
    let data = tempfile::tempdir().unwrap();
    let out = truereel(data.path())
        .env("TRUEREEL_ALLOW_PRIVATE_NETWORK", "1")
        .env("TRUEREEL_CRF", "23")
        .env("TRUEREEL_CFR", "18")
        .arg("config")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line =
        |var: &str| text.lines().find(|l| l.split_whitespace().next() == Some(var)).unwrap_or_default().to_string();
    assert!(line("TRUEREEL_ALLOW_PRIVATE_NETWORK").ends_with("1  [environment]"), "{text}");
    assert!(line("TRUEREEL_CRF").ends_with("23  [environment]"), "{text}");
    assert!(line("TRUEREEL_FPS").ends_with("30  [default]"), "{text}");
    assert!(line("TRUEREEL_DATA_DIR").ends_with("[flag --data-dir]"), "{text}");
    assert!(stderr(&out).contains("TRUEREEL_CFR is not a truereel setting"), "{}", stderr(&out));

    let out = truereel(data.path()).args(["config", "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let settings = json.as_array().unwrap();
    assert_eq!(settings.len(), text.lines().count());
    let crf = settings.iter().find(|s| s["variable"] == "TRUEREEL_CRF").unwrap();
    assert_eq!((crf["value"].as_str(), crf["source"].as_str()), (Some("20"), Some("default")));

    let out = truereel(data.path()).env("TRUEREEL_FPS", "fast").arg("config").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(r#"TRUEREEL_FPS "fast" is not accepted"#), "{}", stderr(&out));
}

#[test]
fn allow_private_network_as_the_readme_spells_it_works() {
    let data = tempfile::tempdir().unwrap();
    let out = truereel(data.path())
        .env("TRUEREEL_ALLOW_PRIVATE_NETWORK", "1")
        .env("TRUEREEL_RESOLUTION", "270x480")
        .args(["crawl", "--store"])
        .arg(sample_store())
        .args(["--only", "grey-graphic-tee"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("grey-graphic-tee"));
}

#[test]
fn the_readme_table_is_the_one_the_definitions_make() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let (begin, end) = ("<!-- config:begin -->\n", "<!-- config:end -->");
    let start = readme.find(begin).expect("the README marks its configuration table") + begin.len();
    let stop = readme[start..].find(end).expect("the table's end marker") + start;
    let table = &readme[start..stop];
    let out = Command::new(env!("CARGO_BIN_EXE_truereel")).args(["config", "--markdown"]).output().unwrap();
    let made = String::from_utf8_lossy(&out.stdout);
    assert!(
        table == made,
        "README.md's configuration table differs from `truereel config --markdown`: regenerate it with\n  \
         cargo run -q -p truereel-cli -- config --markdown\nand paste it between the markers"
    );
}
