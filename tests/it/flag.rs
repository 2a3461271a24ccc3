//! Platform flags reopen a published reel: the flagged shots are made again with the voice-over
//! kept byte for byte, the new cut is judged and published as the next version, the stable file
//! moves to it and the old version is retired but kept; each pass is in the ledger, a redelivered
//! flag is one pass, and the passes are bounded. Served by `truereel serve`'s origin all along: the
//! stable URL moves to the new version, the old version's own URL still answers, and so do posters.

use truereel::homes::embedded::Embedded;
use truereel::messages::{FlagDetail, FlagMsg, Message};
use truereel::ports::Stage;
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::{BlobKey, Reel, ReelStatus};
use truereel_tests::{
    audio_packets, drain_store, init_logs, only_reel, raw_request, sample_store, serve_origin, small_config,
    stored_file,
};

const PRODUCT: &str = "pullover-hoodie";

fn bytes(e: &Embedded, key: &BlobKey) -> Vec<u8> {
    std::fs::read(stored_file(e, key)).unwrap()
}

async fn flag(e: &Embedded, reel: &Reel, event: &str, shots: Vec<u32>) {
    let detail = FlagDetail { reel: reel.id.clone(), reason: "Meta: the print looks altered".into(), shots };
    let body = Message::from(FlagMsg { flag: detail, event: event.into() }).to_json();
    e.ports.queue.send(Stage::Evaluate, &body, std::time::Duration::ZERO).await.unwrap();
    runner::drain(&e.ports, &RunOptions::default(), std::sync::Arc::new(LogProgress::default())).await.unwrap();
}

/// The issues said so far: the message, marked `fatal: ` when the reel waits for a person.
async fn issues(e: &Embedded) -> Vec<String> {
    let said = e.ports.state.issues_since(0).await.unwrap();
    said.into_iter().map(|i| if i.fatal { format!("fatal: {}", i.message) } else { i.message }).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_publishes_a_new_version_behind_the_stable_file_with_the_voice_over_kept() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let mut config = small_config();
    config.settings.max_flag_passes = 2;
    let e = Embedded::open_for_runner(data.path(), &config).await.unwrap();
    drain_store(&e, &sample_store(), Some(&[PRODUCT])).await;
    let first = only_reel(&e).await;
    assert_eq!(first.status, ReelStatus::Published, "{:?}", first.reasons);
    assert_eq!(first.versions.len(), 1);
    let stable = BlobKey::published_reel(&first.id);
    let v1 = BlobKey::published_version(&first.id, 1, None);
    assert_eq!(bytes(&e, &stable), bytes(&e, &v1), "the stable file is version 1");
    let (addr, origin) = serve_origin(data.path(), true).await;
    let url = |key: &BlobKey| truereel_origin::links::url_path(key).unwrap();
    let served = |key: BlobKey| async move { raw_request(addr, "GET", &url(&key), &[]).await };
    let before = served(stable.clone()).await;
    assert_eq!((before.status, &before.body), (200, &bytes(&e, &v1)), "{}", before.head);
    let poster_1 = BlobKey::published_poster(&first.id, Some(1));
    assert_eq!(
        bytes(&e, &poster_1),
        bytes(&e, &BlobKey::reel_poster(&first.id, first.round)),
        "the poster is published"
    );

    // A flag naming a shot the reel does not have is refused, said with the flag's words; nothing changes.
    flag(&e, &first, "evt-bad-shot", vec![99]).await;
    let same = only_reel(&e).await;
    assert_eq!((same.status, same.round, same.flags.len()), (ReelStatus::Published, first.round, 0));
    let said = issues(&e).await;
    assert!(said.iter().any(|m| m.contains("has no shot 99") && m.contains("the print looks altered")), "{said:#?}");

    // Shot 2 (numbered from 1) flagged; the same event delivered twice is one pass.
    flag(&e, &first, "evt-1", vec![2]).await;
    flag(&e, &first, "evt-1", vec![2]).await;
    let second = only_reel(&e).await;
    assert_eq!(second.status, ReelStatus::Published, "{:?}", second.reasons);
    assert_eq!(second.flags.len(), 1, "{:#?}", second.flags);
    let mut attempts = vec![1; second.plan.shots.len()];
    attempts[1] = 2;
    assert_eq!(second.shot_attempts, attempts, "only the flagged shot was made again");
    assert_eq!(second.round, first.round + 1);
    let versions: Vec<_> = second.versions.iter().map(|v| (v.version, v.round, v.retired_ms.is_some())).collect();
    assert_eq!(versions, [(1, first.round, true), (2, second.round, false)]);
    assert_eq!(second.current_version().unwrap().flag.as_deref(), Some("evt-1"));
    let v2 = BlobKey::published_version(&second.id, 2, None);
    assert_eq!(bytes(&e, &stable), bytes(&e, &v2), "the stable file moved to version 2");
    assert_eq!(bytes(&e, &v2), bytes(&e, &BlobKey::reel_video(&second.id, second.round)));
    assert_eq!(bytes(&e, &v1), bytes(&e, &BlobKey::reel_video(&second.id, first.round)), "version 1 is kept");
    assert_ne!(bytes(&e, &v1), bytes(&e, &v2), "a new cut");
    // Served: the stable URL plays version 2 under a new tag, version 1's own URL still answers (retired,
    // kept), and each version's poster beside it; the stable poster is version 2's.
    let after = served(stable.clone()).await;
    assert_eq!((after.status, &after.body), (200, &bytes(&e, &v2)), "{}", after.head);
    assert_ne!(after.header("etag"), before.header("etag"));
    for (key, want) in [(v1.clone(), bytes(&e, &v1)), (v2.clone(), bytes(&e, &v2))] {
        let answer = served(key.clone()).await;
        assert_eq!(
            (answer.status, answer.header("cache-control")),
            (200, Some(truereel_origin::IMMUTABLE_CACHE_CONTROL))
        );
        assert!(answer.body == want, "{key}");
    }
    let poster_2 = BlobKey::published_poster(&second.id, Some(2));
    assert_eq!(bytes(&e, &poster_2), bytes(&e, &BlobKey::reel_poster(&second.id, second.round)));
    assert_eq!(served(BlobKey::published_poster(&second.id, None)).await.body, bytes(&e, &poster_2));
    assert_eq!(served(poster_1.clone()).await.body, bytes(&e, &poster_1));
    // The embed snippet plays the stable URL, at the reel's real size.
    let embed = truereel_origin::embed(origin.home(), origin.urls(), PRODUCT).await.unwrap();
    assert_eq!(embed.video_url, format!("http://{addr}/reels/{PRODUCT}.mp4"));
    assert_eq!(embed.poster_url, Some(format!("http://{addr}/reels/{PRODUCT}.jpg")));
    assert_eq!((embed.width, embed.height), (small_config().settings.width, small_config().settings.height));
    let voice = audio_packets(&stored_file(&e, &BlobKey::voice_over_aac(&second.voice_over.audio)));
    for key in [&v1, &v2, &stable] {
        assert!(audio_packets(&stored_file(&e, key)) == voice, "{key}: the audio changed");
    }
    let ledger = e.ports.state.ledger(Some(&second.id)).await.unwrap();
    let passes: Vec<_> = ledger.iter().filter(|l| l.operation == "safety_pass").collect();
    assert_eq!(passes.len(), 1, "{passes:#?}");
    let shot_2: Vec<_> =
        ledger.iter().filter(|l| l.operation == "image_to_video" && l.shot == Some(1)).map(|l| l.attempt).collect();
    assert_eq!(shot_2, [Some(1), Some(2)], "both attempts of the flagged shot are charged");

    // A second flag (every shot), then a third that is over the bound: refused and said, version 3 stays.
    flag(&e, &second, "evt-2", vec![]).await;
    let third = only_reel(&e).await;
    assert_eq!(third.status, ReelStatus::Published, "{:?}", third.reasons);
    assert_eq!(third.current_version().unwrap().version, 3);
    assert!(third.shot_attempts.iter().all(|a| *a >= 2), "{:?}", third.shot_attempts);
    flag(&e, &third, "evt-3", vec![1]).await;
    let after = only_reel(&e).await;
    assert_eq!((after.status, after.versions.len(), after.flags.len()), (ReelStatus::Published, 3, 2));
    let said = issues(&e).await;
    assert!(said.iter().any(|m| m.starts_with("fatal: ") && m.contains("reopened twice already")), "{said:#?}");
}

/// A flag on a reel that was never published is refused with the reason, and the reel is left as it was.
#[tokio::test]
async fn a_flag_on_a_reel_that_is_not_published_is_refused_with_the_reason() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let e = Embedded::open_for_runner(data.path(), &small_config()).await.unwrap();
    let product = truereel::contract::sample_product();
    e.ports.state.put_product(&product).await.unwrap();
    let reel = truereel::contract::sample_reel(&product);
    e.ports.state.create_reel(&reel).await.unwrap();
    flag(&e, &reel, "evt-early", vec![]).await;
    let same = only_reel(&e).await;
    assert_eq!((same.status, same.round, same.flags.len()), (reel.status, reel.round, 0));
    let said = issues(&e).await;
    assert!(said.iter().any(|m| m.contains("only a published reel can be flagged")), "{said:#?}");
}
