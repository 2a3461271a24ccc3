//! A store URL with a password in it is refused, and the password is never shown: not in the crawl's
//! table, its logs, `status` (the issues table), nor anywhere in the data folder's state.

use std::process::Command;

fn truereel(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_truereel"));
    c.arg("--data-dir").arg(data).env("TRUEREEL_LOG", "debug");
    c
}

#[test]
fn a_password_in_a_store_url_appears_nowhere() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for store in ["http://alice:s3cr3t-pw@127.0.0.1:9/", "HTTPS://alice:s3cr3t-pw@shop.example/products/tee"] {
        let crawl = truereel(&data).args(["crawl", "--store", store]).output().unwrap();
        let text = String::from_utf8_lossy(&crawl.stdout).into_owned() + &String::from_utf8_lossy(&crawl.stderr);
        assert!(!crawl.status.success(), "{text}");
        assert!(!text.contains("s3cr3t-pw"), "the password is shown: {text}");
        assert!(text.contains("alice") || text.contains("credentials"), "the refusal says why: {text}");
    }
    let status = truereel(&data).arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout).into_owned() + &String::from_utf8_lossy(&status.stderr);
    assert!(!text.contains("s3cr3t-pw"), "{text}");
    let state = std::fs::read(data.join("state.sqlite")).unwrap_or_default();
    assert!(!state.windows(9).any(|w| w == b"s3cr3t-pw"), "the password is stored in the state");
}
