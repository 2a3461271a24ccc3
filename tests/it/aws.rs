//! The AWS home on a real-protocol emulator (moto on loopback): the same stages as the embedded
//! home, the Lambda handlers with the sample events, and crawl's triggers.

use bytes::Bytes;
use lambda_runtime::{Context, LambdaEvent};
use std::sync::Arc;
use std::time::Duration;
use truereel::adapters::aws::meter::Meter;
use truereel::config::Config;
use truereel::costs::{MeasuredRun, PriceList, estimate};
use truereel::homes::aws::measured_run;
use truereel::lambda::{crawl_event, run_stage, sqs_batch};
use truereel::messages::PlanOptions;
use truereel::ports::Stage;
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::stages::Ports;
use truereel::{BlobKey, ReelStatus};
use truereel_tests::{aws_ports, aws_ports_metered, init_logs, sample_store, small_config};

fn event(name: &str) -> serde_json::Value {
    let path = truereel_tests::repo_root().join("events").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

async fn drain(ports: &Ports, store: &str, only: &[&str]) -> runner::DrainReport {
    drain_with(ports, store, only, Default::default()).await
}

/// [`drain`] planning with `plan`.
async fn drain_with(ports: &Ports, store: &str, only: &[&str], plan: PlanOptions) -> runner::DrainReport {
    let only = Some(only.iter().map(|s| s.to_string()).collect());
    let options = RunOptions { visibility: Duration::from_secs(120), ..RunOptions::default() };
    let run = runner::run_store(ports, store, only, Some(plan), &options, Arc::new(LogProgress::default()));
    tokio::time::timeout(Duration::from_secs(300), run).await.expect("the queues drain within 5 minutes").unwrap()
}

/// The sample store through SQS, DynamoDB and S3 publishes the same reels as the embedded home,
/// and the run's AWS calls, counted, price one reel under the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_backend_publishes_the_same_reels_as_the_embedded_one() {
    init_logs();
    let meter = Meter::new();
    let Some((aws, config)) = aws_ports_metered(small_config(), Some(&meter)).await else { return };
    meter.reset();
    let only = ["grey-graphic-tee", "green-chunky-knit-beanie"];
    let store = sample_store().to_string_lossy().to_string();
    let report = drain(&aws, &store, &only).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let unmetered = config.sdk_config().await;
    let run = measured_run("two sample products", &meter, &unmetered, &config, &aws, &report).await.unwrap();
    check_measurement(&run, &report);

    let dir = tempfile::tempdir().unwrap();
    let (local, _) = truereel_tests::run_store(dir.path(), &sample_store(), Some(&only), small_config()).await;
    let mut on_aws = aws.state.list_reels().await.unwrap();
    let mut embedded = local.ports.state.list_reels().await.unwrap();
    on_aws.sort_by(|a, b| a.id.cmp(&b.id));
    embedded.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(on_aws.len(), 2);
    for (a, e) in on_aws.iter().zip(&embedded) {
        assert_eq!(a.id, e.id, "the same gallery makes the same reel");
        assert_eq!(a.plan, e.plan, "the same shots, lines and durations");
        assert_eq!(a.status, ReelStatus::Published, "{:?}", a.reasons);
        let key = a.published.clone().unwrap();
        let meta = aws.blobs.head(&key).await.unwrap().expect("the published reel is in S3");
        assert!(meta.bytes > 10_000);
        let history = aws.state.history(&a.id).await.unwrap();
        assert_eq!(history.iter().filter(|(s, _)| *s == ReelStatus::Published).count(), 1);
    }
}

/// What the meter counted agrees with what the runner did, and one reel costs under $0.002.
fn check_measurement(run: &MeasuredRun, report: &runner::DrainReport) {
    let c = &run.counts;
    let handled: u64 = report.handled.values().sum();
    let calls = |op: &str| c.calls.get(op).copied().unwrap_or(0);
    assert_eq!(run.reels, 2, "{run:?}");
    // Every handled message was sent once and deleted once (the first crawl message by the test).
    assert_eq!(calls("SQS.SendMessage"), handled, "{c:?}");
    assert_eq!(calls("SQS.DeleteMessage"), handled, "{c:?}");
    assert!(c.sqs_requests >= 2.0 * handled as f64 + 1.0, "sends, deletes and non-empty receives: {c:?}");
    // Each reel: 4 transitions, each a transaction; references, voice-over, clips and reels in S3.
    assert!(calls("DynamoDB.TransactWriteItems") >= 8, "{c:?}");
    assert!(c.dynamodb_write_units > calls("DynamoDB.PutItem") as f64, "{c:?}");
    assert!(c.dynamodb_read_units > 0.0 && c.s3_get_class > 0, "{c:?}");
    assert_eq!(
        calls("S3.CopyObject"),
        8,
        "per reel, its version's own copy and the stable one, of the video and of the poster: {c:?}"
    );
    assert!(run.stored_bytes > 2 * run.reel_bytes && run.expiring_bytes > 0, "{run:?}");
    for stage in Stage::ALL {
        assert!(run.handler_seconds[stage.as_str()] > 0.0, "{stage} took no time? {run:?}");
    }
    let cost = estimate(&run.per_reel(), &PriceList::US_EAST_1);
    println!("{cost}");
    assert!(cost.total() < 0.002, "measured per reel: {cost}");
}

/// Every function's sample batch with one poison record reports exactly that record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_lambda_reports_exactly_its_poison_record() {
    init_logs();
    let Some((ports, config)) = aws_ports(small_config()).await else { return };
    for stage in Stage::ALL {
        let payload = event(&format!("{stage}-poison.json"));
        let poison: Vec<String> = payload["Records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["messageId"].as_str().unwrap().starts_with("c0ffee00"))
            .map(|r| r["messageId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(poison.len(), 1, "{stage}: the sample has one poison record");
        let failed: Vec<String> = if stage == Stage::Crawl {
            let out =
                crawl_event(&ports, &config.bucket, &Default::default(), LambdaEvent::new(payload, Context::default()))
                    .await
                    .unwrap();
            out["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
                .collect()
        } else {
            let sqs = serde_json::from_value(payload).unwrap();
            let out = sqs_batch(LambdaEvent::new(sqs, Context::default()), stage, |m, r| run_stage(&ports, m, r))
                .await
                .unwrap();
            out.batch_item_failures.into_iter().map(|f| f.item_identifier).collect()
        };
        assert_eq!(failed, poison, "{stage}");
    }
}

/// A catalog export dropped in the bucket (the EventBridge S3 event) is listed and fanned out:
/// one intake message per product on the crawl queue; a direct invocation does the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_drop_and_a_direct_invocation_fan_out_per_product() {
    init_logs();
    let Some((ports, config)) = aws_ports(small_config()).await else { return };
    let catalog = std::fs::read(sample_store().join("products.json")).unwrap();
    let key = BlobKey::parse("catalog-drops/demo/products.json").unwrap();
    ports.blobs.put(&key, Bytes::from(catalog), "application/json").await.unwrap();

    let mut drop = event("crawl-s3-drop.json");
    drop["detail"]["bucket"]["name"] = config.bucket.clone().into();
    let out = crawl_event(&ports, &config.bucket, &Default::default(), LambdaEvent::new(drop, Context::default()))
        .await
        .unwrap();
    assert!(out["outcome"].as_str().unwrap().contains("6 products listed"), "{out}");
    let depth = ports.queue.depth(Stage::Crawl).await.unwrap();
    assert_eq!(depth.visible + depth.delayed, 6, "{depth:?}");

    let out = crawl_event(
        &ports,
        &config.bucket,
        &Default::default(),
        LambdaEvent::new(event("crawl-direct.json"), Context::default()),
    )
    .await
    .unwrap();
    assert!(out["outcome"].as_str().unwrap().contains("1 products listed"), "{out}");

    let mut foreign = event("crawl-s3-drop.json");
    foreign["detail"]["bucket"]["name"] = "someone-elses-bucket".into();
    let err = crawl_event(&ports, &config.bucket, &Default::default(), LambdaEvent::new(foreign, Context::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("someone-elses-bucket"), "{err}");
}

/// Provider keys come from Secrets Manager at cold start, and never show in a log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_keys_are_read_from_secrets_manager_and_never_printed() {
    let Some((_, config)) = aws_ports(small_config()).await else { return };
    let sdk = config.sdk_config().await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = format!("{}-keys", config.bucket);
    let created = sm
        .create_secret()
        .name(&name)
        .secret_string(r#"{"runway": "key_abc123secret", "elevenlabs": "sk_zzz"}"#)
        .send()
        .await
        .unwrap();
    let keys = truereel::homes::aws::provider_keys(&sdk, created.arn().unwrap()).await.unwrap();
    assert_eq!(keys.get("runway"), Some("key_abc123secret"));
    let shown = format!("{keys:?}");
    assert!(shown.contains("runway") && !shown.contains("abc123") && !shown.contains("sk_zzz"), "{shown}");

    let bad = sm.create_secret().name(format!("{name}-bad")).secret_string("not json sk_leak").send().await.unwrap();
    let err = truereel::homes::aws::provider_keys(&sdk, bad.arn().unwrap()).await.unwrap_err().to_string();
    assert!(err.contains("not a JSON object") && !err.contains("sk_leak"), "{err}");
    let err = truereel::homes::aws::provider_keys(&sdk, "no-such-secret").await.unwrap_err().to_string();
    assert!(err.contains("no-such-secret"), "{err}");
}

/// The crawl function on a storefront URL: a direct invocation lists the store and fans out, the
/// SQS batches it then receives take each product's photos into S3 and DynamoDB; invoked again over
/// the unchanged store, every page and photo is asked for conditionally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crawl_function_reads_a_storefront_url_and_recrawls_conditionally() {
    use truereel::testing::{Reply, TestServer};
    init_logs();
    let server = TestServer::start().await;
    let photo = std::fs::read(sample_store().join("photos/tee-grey-front-flat.jpg")).unwrap();
    server
        .handle_prefix("/img/", move |_| Reply::ok(photo.clone()).header("content-type", "image/jpeg").etag("\"tee\""));
    let products: Vec<_> = ["tee-one", "tee-two"]
        .iter()
        .enumerate()
        .map(|(i, h)| serde_json::json!({"id": i, "handle": h, "title": h, "images": [{"src": server.url(&format!("/img/{h}.jpg"))}]}))
        .collect();
    server.route(
        "/products.json?limit=250&page=1",
        Reply::ok(serde_json::json!({"products": products}).to_string()).etag("\"p1\""),
    );
    server.route("/products.json?limit=250&page=2", Reply::ok(r#"{"products": []}"#).etag("\"p2\""));
    let mut config = small_config();
    config.fetch.trusted_hosts = vec![server.host_port()];
    config.fetch.per_host_interval = Duration::ZERO;
    let Some((ports, config)) = aws_ports(config).await else { return };

    for round in 0..2 {
        let before = server.requests().len();
        let direct = serde_json::json!({ "store": server.url("/") });
        let out =
            crawl_event(&ports, &config.bucket, &Default::default(), LambdaEvent::new(direct, Context::default()))
                .await
                .unwrap();
        assert!(out["outcome"].as_str().unwrap().contains("2 products listed"), "{out}");
        // What the event source mapping would do: receive the fan-out, invoke with it, delete on success.
        let deliveries = ports.queue.receive(Stage::Crawl, 10, Duration::from_secs(60)).await.unwrap();
        assert_eq!(deliveries.len(), 2, "one intake message per product");
        let records: Vec<_> = deliveries
            .iter()
            .map(|d| serde_json::json!({"messageId": d.id, "receiptHandle": d.receipt, "body": d.body,
                "attributes": {"ApproximateReceiveCount": d.receive_count.to_string()}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:crawl", "awsRegion": "us-east-1"}))
            .collect();
        let batch = serde_json::json!({ "Records": records });
        let out = crawl_event(&ports, &config.bucket, &Default::default(), LambdaEvent::new(batch, Context::default()))
            .await
            .unwrap();
        assert_eq!(out["batchItemFailures"], serde_json::json!([]), "{out}");
        for d in &deliveries {
            ports.queue.ack(Stage::Crawl, &d.receipt).await.unwrap();
        }
        let products = ports.state.list_products().await.unwrap();
        assert_eq!(products.len(), 2);
        for p in &products {
            let refs = ports.state.references(&p.handle).await.unwrap();
            assert_eq!(refs.len(), 1);
            assert!(ports.blobs.head(&refs[0].blob).await.unwrap().is_some(), "the photo is in S3");
            assert_eq!(refs[0].validators.etag.as_deref(), Some("\"tee\""));
        }
        let sent: Vec<_> = server.requests().into_iter().skip(before).filter(|r| r.path() != "/robots.txt").collect();
        assert_eq!(sent.len(), 2 + 2, "two pages, two photos: {sent:?}");
        if round == 1 {
            assert!(sent.iter().all(|r| r.header("if-none-match").is_some()), "{sent:#?}");
        }
    }
}

/// On AWS the plan, voiced by Polly (a loopback stand-in replaying its shapes), stops at
/// `awaiting_approval` in DynamoDB, and approval (what `truereel approve --backend aws` calls) moves it
/// on through SQS to a published reel in S3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_waits_for_approval_in_dynamodb_and_approval_moves_it_on() {
    init_logs();
    let Some((mut aws, config)) = aws_ports(small_config()).await else { return };
    let polly = truereel_tests::polly_stub().await;
    let at_stub = truereel::adapters::aws::AwsConfig { endpoint_url: Some(polly.url("")), ..config.clone() };
    let voice = truereel::adapters::providers::voice::PollyVoice::lazy(at_stub, Config::default().voice.polly);
    aws.voice = Arc::new(voice);
    let store = sample_store().to_string_lossy().to_string();
    let options = RunOptions { visibility: Duration::from_secs(120), ..RunOptions::default() };
    let plan = truereel::PlanOptions { approve: true, ..Default::default() };
    let only = Some(vec!["grey-graphic-tee".to_string()]);
    let quiet = || Arc::new(LogProgress::default());
    runner::run_store(&aws, &store, only, Some(plan), &options, quiet()).await.unwrap();
    let reels = aws.state.list_reels().await.unwrap();
    assert_eq!(reels.len(), 1);
    assert_eq!(reels[0].status, ReelStatus::AwaitingApproval);
    assert!(aws.blobs.head(&reels[0].voice_over.audio).await.unwrap().is_some(), "the voice-over is in S3");
    assert_eq!(reels[0].voice_over.voice, "polly:Joanna");
    let loud = reels[0].voice_over.loudness.unwrap();
    assert!((loud.integrated + 14.0).abs() <= 1.0 && loud.true_peak <= -1.0, "{loud:?}");
    let asked = polly.requests_to("/v1/speech");
    assert_eq!(asked.len(), 2 * reels[0].voice_over.lines.len(), "audio and word marks for every line");
    let words: Vec<&str> = reels[0].plan.shots[0].line.split_whitespace().collect();
    let first: Vec<&str> = reels[0].voice_over.words.iter().take(words.len()).map(|w| w.word.as_str()).collect();
    assert_eq!(first, words, "word timings from Polly's marks");
    assert!(aws.state.clips(&reels[0].id).await.unwrap().is_empty());

    truereel::stages::plan::reject(&aws, &reels[0].id, "shorter lines, please").await.unwrap();
    runner::drain(&aws, &options, quiet()).await.unwrap();
    let again = aws.state.get_reel(&reels[0].id).await.unwrap().unwrap();
    assert_eq!((again.status, again.revision, again.rejections.len()), (ReelStatus::AwaitingApproval, 2, 1));

    truereel::stages::plan::approve(&aws, &reels[0].id).await.unwrap();
    runner::drain(&aws, &options, quiet()).await.unwrap();
    let done = aws.state.get_reel(&reels[0].id).await.unwrap().unwrap();
    assert_eq!(done.status, ReelStatus::Published, "{:?}", done.reasons);
    let history: Vec<ReelStatus> = aws.state.history(&done.id).await.unwrap().into_iter().map(|(s, _)| s).collect();
    // Created, rejected, planned again: all awaiting approval; then approved.
    assert_eq!(
        &history[..4],
        [ReelStatus::AwaitingApproval; 3].iter().chain([&ReelStatus::Planned]).copied().collect::<Vec<_>>()
    );
}

/// A whole reel on the AWS home: one product-ad task from every photo of the colour, its clip in
/// S3, one DynamoDB ledger line; the assembly's thumbnails in S3 beside the reel, read by the judge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_reel_is_one_product_ad_on_the_aws_home() {
    init_logs();
    let stub = truereel::testing::RunwayStub::animating().await;
    stub.always(truereel::testing::Script::Succeed { polls: 1 });
    let mut config = small_config();
    config.video.chain = vec!["runway".into()];
    config.video.runway = stub.config();
    config.video.runway.poll_interval = Duration::from_millis(200);
    config.plan.whole_reel = true;
    // As the crawl function plans a run from its settings (TRUEREEL_WHOLE_REEL).
    let plan = config.plan_options("").unwrap();
    let Some((aws, _)) = aws_ports(config).await else { return };
    let store = sample_store().to_string_lossy().to_string();
    let report = drain_with(&aws, &store, &["pullover-hoodie"], plan).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let reel = aws.state.list_reels().await.unwrap().remove(0);
    assert!(reel.plan.whole_reel && reel.plan.shots.len() == 1, "{:#?}", reel.plan);
    assert_eq!((stub.submissions(), stub.server().requests_to("/v1/recipes/product_ad").len()), (1, 1));
    let photos = stub.bodies()[0]["productImages"].as_array().unwrap().len();
    assert_eq!(photos, 1 + reel.plan.shots[0].extra_references.len());
    let clips = aws.state.clips(&reel.id).await.unwrap();
    assert_eq!(clips.len(), 1, "{:?} {:?}", reel.status, reel.reasons);
    assert_eq!(
        aws.blobs.get(&clips[0].blob).await.unwrap(),
        stub.output_of(clips[0].job.as_str()),
        "the clip is in S3, byte for byte"
    );
    let ledger = aws.state.ledger(Some(&reel.id)).await.unwrap();
    assert_eq!(ledger.iter().filter(|l| l.provider == "runway" && l.usd > truereel::Usd::ZERO).count(), 1);
    let thumbnails = BlobKey::reel_thumbnails(&reel.id, reel.round);
    assert!(aws.blobs.head(&thumbnails).await.unwrap().is_some(), "the judge's thumbnails are in S3");
    let verdicts = aws.state.verdicts(&reel.id).await.unwrap();
    assert!(verdicts.iter().any(|v| v.checks.iter().any(|c| c.name == "structure" && c.passed)), "{verdicts:#?}");
}

/// Runway on the AWS home: jobs submitted once per shot with the concurrency slots held in
/// DynamoDB, polled by delayed SQS messages, every clip mirrored into S3 and charged in DynamoDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runway_clips_are_made_polled_and_mirrored_on_the_aws_home() {
    init_logs();
    let stub = truereel::testing::RunwayStub::animating().await;
    stub.always(truereel::testing::Script::Throttled { polls: 1 });
    let mut config = small_config();
    config.video.chain = vec!["runway".into()];
    config.video.runway = stub.config();
    config.video.runway.poll_interval = Duration::from_millis(200);
    config.video.runway.concurrency = 1;
    let Some((aws, _)) = aws_ports(config).await else { return };
    assert_eq!(aws.video.first().name(), "runway");
    let store = sample_store().to_string_lossy().to_string();
    let report = drain(&aws, &store, &["green-chunky-knit-beanie"]).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let reel = aws.state.list_reels().await.unwrap().remove(0);
    let shots = reel.plan.shots.len();
    assert_eq!(stub.submissions(), shots, "one job per shot");
    let clips = aws.state.clips(&reel.id).await.unwrap();
    assert_eq!(clips.len(), shots, "{:?} {:?}", reel.status, reel.reasons);
    for c in &clips {
        assert_eq!((c.provider.as_str(), c.model.as_deref()), ("runway", Some("gen4_turbo")));
        assert_eq!(
            aws.blobs.get(&c.blob).await.unwrap(),
            stub.output_of(c.job.as_str()),
            "the clip is in S3, byte for byte"
        );
    }
    let ledger = aws.state.ledger(Some(&reel.id)).await.unwrap();
    assert_eq!(ledger.iter().filter(|l| l.provider == "runway" && l.usd > truereel::Usd::ZERO).count(), shots);
    // Every slot was given back: a fresh holder takes the only one at once.
    let later = truereel::now_ms() + 60_000;
    assert!(aws.state.acquire_slot("runway", 1, "after-the-run", later).await.unwrap(), "the slot was released");
}

/// Judge and retry on the AWS home: the evaluate Lambda's stage refuses a shot that shows another
/// product and sends it back to generate through SQS; the next attempt passes and the reel is
/// published from S3 with the voice-over's audio packet for packet; DynamoDB keeps both verdicts and
/// both charges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_shot_is_made_again_on_the_aws_home_with_the_voice_over_kept() {
    init_logs();
    let Some((mut aws, _)) = aws_ports(small_config()).await else { return };
    truereel_tests::Misrepresenting::install(&mut aws, 1, 1, "slipon-blue-side.jpg");
    let store = sample_store().to_string_lossy().to_string();
    let report = drain(&aws, &store, &["pullover-hoodie"]).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let reel = aws.state.list_reels().await.unwrap().remove(0);
    assert_eq!(reel.status, ReelStatus::Published, "{:?}", reel.reasons);
    assert_eq!(reel.shot_attempts[1], 2);
    assert!(reel.shot_attempts.iter().enumerate().all(|(i, a)| i == 1 || *a == 1), "{:?}", reel.shot_attempts);
    let verdicts = aws.state.verdicts(&reel.id).await.unwrap();
    let rounds: Vec<_> = verdicts.iter().map(|v| (v.round, v.passed)).collect();
    assert_eq!(rounds, [(1, false), (1, false), (2, true), (2, true)], "two judges a round");
    let charges: Vec<_> = aws
        .state
        .ledger(Some(&reel.id))
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.operation == "image_to_video" && l.shot == Some(1))
        .collect();
    assert_eq!(charges.len(), 2, "{charges:#?}");
    let dir = tempfile::tempdir().unwrap();
    let local = |key: BlobKey, name: &str| {
        let path = dir.path().join(name);
        let blobs = aws.blobs.clone();
        async move {
            blobs.get_to_file(&key, &path).await.unwrap();
            truereel_tests::audio_packets(&path)
        }
    };
    let voice = local(BlobKey::voice_over_aac(&reel.voice_over.audio), "voice.m4a").await;
    assert_eq!(local(BlobKey::published_reel(&reel.id), "published.mp4").await, voice);
    assert_eq!(local(BlobKey::reel_video(&reel.id, 1), "round-1.mp4").await, voice);
}

/// One EventBridge API call on the emulator (JSON 1.1; the emulator does not check signatures).
async fn eventbridge(endpoint: &str, action: &str, body: serde_json::Value) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(endpoint)
        .header("X-Amz-Target", format!("AWSEvents.{action}"))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("Authorization", "AWS4-HMAC-SHA256 Credential=test/20261202/us-east-1/events/aws4_request")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{action}: {status} {text}");
    serde_json::from_str(&text).unwrap_or_default()
}

/// A platform flag put on the bus (`events/flag-event.json`, naming the published reel) goes
/// through the template's own rule and input transformer (on the emulator's EventBridge) to the
/// evaluate queue; the safety pass publishes version 2 in S3 behind the stable key, keeps version
/// 1, and the audio is the voice-over's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_event_on_the_bus_publishes_a_new_version_on_the_aws_home() {
    init_logs();
    let Some(template) = crate::infra::template() else { return };
    let Some((aws, config)) = aws_ports(small_config()).await else { return };
    let store = sample_store().to_string_lossy().to_string();
    drain(&aws, &store, &["pullover-hoodie"]).await;
    let first = aws.state.list_reels().await.unwrap().remove(0);
    assert_eq!(first.status, ReelStatus::Published, "{:?}", first.reasons);

    let rule = &template["Resources"]["FlagRule"]["Properties"];
    let target = &rule["Targets"][0];
    let endpoint = config.endpoint_url.clone().unwrap();
    let name = format!("{}-flag", config.queue_prefix);
    let queue = format!("arn:aws:sqs:us-east-1:123456789012:{}-evaluate", config.queue_prefix);
    eventbridge(
        &endpoint,
        "PutRule",
        serde_json::json!({"Name": name, "EventPattern": rule["EventPattern"].to_string()}),
    )
    .await;
    let targets = [serde_json::json!({"Id": "evaluate", "Arn": queue, "InputTransformer": target["InputTransformer"]})];
    eventbridge(&endpoint, "PutTargets", serde_json::json!({"Rule": name, "Targets": targets})).await;
    let mut flagged = event("flag-event.json");
    flagged["detail"]["reel"] = first.id.as_str().into();
    let entry = serde_json::json!({
        "Source": flagged["source"],
        "DetailType": flagged["detail-type"],
        "Detail": flagged["detail"].to_string(),
    });
    let put = eventbridge(&endpoint, "PutEvents", serde_json::json!({"Entries": [entry]})).await;
    assert_eq!(put["FailedEntryCount"], 0, "{put}");
    eventbridge(&endpoint, "RemoveTargets", serde_json::json!({"Rule": name, "Ids": ["evaluate"]})).await;
    eventbridge(&endpoint, "DeleteRule", serde_json::json!({"Name": name})).await;

    let options = RunOptions { visibility: Duration::from_secs(120), ..RunOptions::default() };
    let run = runner::drain(&aws, &options, Arc::new(LogProgress::default()));
    tokio::time::timeout(Duration::from_secs(300), run).await.expect("the queues drain").unwrap();
    let second = aws.state.get_reel(&first.id).await.unwrap().unwrap();
    assert_eq!(second.status, ReelStatus::Published, "{:?}", second.reasons);
    assert_eq!(second.flags.len(), 1);
    assert_eq!(second.flags[0].shots, [1]);
    assert_eq!(second.shot_attempts[0], 2);
    let versions: Vec<_> = second.versions.iter().map(|v| (v.version, v.retired_ms.is_some())).collect();
    assert_eq!(versions, [(1, true), (2, false)]);
    let get = |key: BlobKey| {
        let blobs = aws.blobs.clone();
        async move { blobs.get(&key).await.unwrap() }
    };
    let stable = get(BlobKey::published_reel(&first.id)).await;
    assert_eq!(stable, get(BlobKey::published_version(&first.id, 2, None)).await);
    assert_eq!(get(BlobKey::published_version(&first.id, 1, None)).await, get(BlobKey::reel_video(&first.id, 1)).await);
    assert_ne!(stable, get(BlobKey::reel_video(&first.id, 1)).await);
    // Posters likewise: each version's own, the stable one a copy of the current one's.
    let poster_2 = get(BlobKey::published_poster(&first.id, Some(2))).await;
    assert_eq!(get(BlobKey::published_poster(&first.id, None)).await, poster_2);
    assert_eq!(poster_2, get(BlobKey::reel_poster(&first.id, second.round)).await);
    assert!(!get(BlobKey::published_poster(&first.id, Some(1))).await.is_empty());
    // A draft is not public: a person gets a short-lived presigned link to it (what the review page uses).
    let draft = BlobKey::reel_video(&first.id, 1);
    let link = aws.blobs.presign_get(&draft, Duration::from_secs(300)).await.unwrap();
    let fetched = reqwest::get(&link).await.unwrap();
    assert_eq!(fetched.status(), 200, "{link}");
    assert_eq!(fetched.bytes().await.unwrap(), get(draft).await);
    let dir = tempfile::tempdir().unwrap();
    let packets = |key: BlobKey, name: &str| {
        let (blobs, path) = (aws.blobs.clone(), dir.path().join(name));
        async move {
            blobs.get_to_file(&key, &path).await.unwrap();
            truereel_tests::audio_packets(&path)
        }
    };
    let voice = packets(BlobKey::voice_over_aac(&second.voice_over.audio), "voice.m4a").await;
    assert_eq!(packets(BlobKey::published_reel(&first.id), "stable.mp4").await, voice);

    // A second flag whose new shot the judge refuses (it shows another product) at the last attempt
    // parks the reel, version 2 still served; a person publishes the parked cut over the judge, in S3.
    let mut judged = aws.clone();
    judged.settings.max_attempts = 3;
    truereel_tests::Misrepresenting::install(&mut judged, 0, u32::MAX, "slipon-blue-side.jpg");
    let detail =
        truereel::messages::FlagDetail { reel: first.id.clone(), reason: "Meta: altered".into(), shots: vec![1] };
    truereel::stages::flag::request(&judged, detail).await.unwrap();
    let run = runner::drain(&judged, &options, Arc::new(LogProgress::default()));
    tokio::time::timeout(Duration::from_secs(300), run).await.expect("the queues drain").unwrap();
    let parked = aws.state.get_reel(&first.id).await.unwrap().unwrap();
    assert_eq!(parked.status, ReelStatus::NeedsReview, "{:?}", parked.reasons);
    assert!(parked.reasons.iter().any(|r| r == "shot 1 failed all 3 attempts"), "{:?}", parked.reasons);
    assert_eq!(get(BlobKey::published_reel(&first.id)).await, stable, "version 2 stays served");
    let said = truereel::stages::review::publish_parked(&aws, &first.id, "a person checked the colour").await.unwrap();
    assert!(said.contains("published version 3 by a person over the judge (version 2 retired)"), "{said}");
    let third = aws.state.get_reel(&first.id).await.unwrap().unwrap();
    assert_eq!(third.current_version().and_then(|v| v.overruled.as_deref()), Some("a person checked the colour"));
    assert_eq!(get(BlobKey::published_reel(&first.id)).await, get(BlobKey::reel_video(&first.id, third.round)).await);
    assert_eq!(packets(BlobKey::published_reel(&first.id), "third.mp4").await, voice);
}

/// The other providers' clients in the AWS home: Kling out of its resource pack on the first submit
/// is held for the run (in DynamoDB) and fal makes every shot, each clip in S3; then a Veo shot
/// carries its product's photos as asset references. Slots, holds and charges live in DynamoDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kling_falls_over_to_fal_and_veo_takes_several_photos_on_the_aws_home() {
    use truereel::testing::{FalStub, KlingStub, VeoStub};
    init_logs();
    let (kling, fal, veo) = (KlingStub::start().await, FalStub::start().await, VeoStub::start().await);
    kling.script(truereel::testing::kling::Script::Depleted);
    let mut config = small_config();
    config.settings.max_attempts = 1;
    config.video.chain = vec!["kling".into(), "fal".into()];
    (config.video.kling, config.video.fal, config.video.veo) = (kling.config(), fal.config(), veo.config());
    config.video.kling.api.concurrency = 1;
    let Some((aws, _)) = aws_ports(config.clone()).await else { return };
    let store = sample_store().to_string_lossy().to_string();
    let report = drain(&aws, &store, &["grey-graphic-tee"]).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let reel = aws.state.list_reels().await.unwrap().remove(0);
    assert_eq!(kling.submissions(), 1, "no second Kling submit after its 1102");
    let clips = aws.state.clips(&reel.id).await.unwrap();
    assert_eq!(clips.len(), reel.plan.shots.len(), "{:?} {:?}", reel.status, reel.reasons);
    for c in &clips {
        assert_eq!(c.provider, "fal");
        assert_eq!(aws.blobs.get(&c.blob).await.unwrap(), fal.clip(), "the clip is in S3, byte for byte");
    }
    let held = truereel::report::held_providers(&aws, aws.settings.run_started_ms).await.unwrap();
    assert_eq!(held.iter().map(|h| h.provider.as_str()).collect::<Vec<_>>(), ["kling"]);

    config.video.chain = vec!["veo".into()];
    let Some((aws, _)) = aws_ports(config).await else { return };
    let report = drain(&aws, &store, &["blue-slip-on-sneakers"]).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let reel = aws.state.list_reels().await.unwrap().remove(0);
    let bodies = veo.bodies();
    assert_eq!(bodies.len(), reel.plan.shots.len());
    for body in &bodies {
        let refs = body["instances"][0]["referenceImages"].as_array().map_or(0, Vec::len);
        assert_eq!(refs, 3, "three of the sneakers' four photos as asset references: {}", body["parameters"]);
        assert_eq!(body["parameters"]["durationSeconds"], 8);
    }
    let clips = aws.state.clips(&reel.id).await.unwrap();
    assert_eq!(clips.len(), reel.plan.shots.len(), "{:?} {:?}", reel.status, reel.reasons);
    assert!(clips.iter().all(|c| c.provider == "veo"));
}

/// The evaluate function on the AWS home asks the vision judge with the key it read from Secrets
/// Manager at cold start (the environment names the secret, not the key): the reel is judged by
/// both, the call priced in DynamoDB's ledger before it was made, the verdicts and the brand's
/// pass rates stored there; the same evaluate message again (an SQS redelivery, through the
/// function's batch handler) asks nobody twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_evaluate_function_asks_the_vision_judge_with_its_key_from_secrets_manager() {
    use truereel::testing::VisionStub;
    use truereel::testing::vision::{Answer, KEY};
    init_logs();
    let stub = VisionStub::start().await;
    stub.always(Answer::PassAll);
    let Some((_, aws)) = aws_ports(small_config()).await else { return };
    let sdk = aws.sdk_config().await;
    let secret = aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(format!("{}-keys", aws.bucket))
        .secret_string(serde_json::json!({ "gemini": KEY }).to_string())
        .send()
        .await
        .unwrap();
    // The function's environment as the template sets it, pointing Gemini at the stub.
    let gemini = stub.base_url(truereel::config::VisionKind::Gemini);
    let env: std::collections::HashMap<&str, String> = [
        ("TRUEREEL_BACKEND", "aws".to_string()),
        ("TRUEREEL_BUCKET", aws.bucket.clone()),
        ("TRUEREEL_TABLE", aws.table.clone()),
        ("TRUEREEL_QUEUE_PREFIX", aws.queue_prefix.clone()),
        ("AWS_ENDPOINT_URL", aws.endpoint_url.clone().unwrap()),
        ("AWS_REGION", "us-east-1".into()),
        ("TRUEREEL_PROVIDER_SECRET_ARN", secret.arn().unwrap().to_string()),
        ("TRUEREEL_JUDGE", "gemini".into()),
        ("TRUEREEL_GEMINI_BASE_URL", gemini.trim_end_matches("/v1beta").to_string()),
        ("TRUEREEL_RESOLUTION", "270x480".into()),
    ]
    .into_iter()
    .collect();
    let config = Config::load(&|k| env.get(k).cloned(), &[]).unwrap();
    assert_eq!(config.judge.gemini.endpoint.key, None, "the key is not in the environment");
    let (ports, keys) = truereel::homes::aws::for_function(&config).await.unwrap();
    assert!(keys.providers().any(|p| p == "gemini"));
    let store = sample_store().to_string_lossy().to_string();
    let report = drain(&ports, &store, &["grey-graphic-tee"]).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");

    let reel = ports.state.list_reels().await.unwrap().remove(0);
    assert_eq!(reel.status, ReelStatus::Published, "{:?}", reel.reasons);
    let sent = stub.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("x-goog-api-key"), Some(KEY), "the key from the secret, in its header");
    let verdicts = ports.state.verdicts(&reel.id).await.unwrap();
    let judges: Vec<&str> = verdicts.iter().map(|v| v.judge.as_str()).collect();
    assert_eq!(judges, ["gemini:gemini-3.5-flash", "product-match", "spec-checks"]);
    let ledger = ports.state.ledger(Some(&reel.id)).await.unwrap();
    let judged: Vec<_> = ledger.iter().filter(|l| l.operation == "judge").collect();
    assert_eq!(judged.len(), 1, "{ledger:#?}");
    assert_eq!((judged[0].provider.as_str(), judged[0].unit.as_str()), ("gemini", "tokens"));
    let product = ports.state.get_product(&reel.product).await.unwrap().unwrap();
    let rates = ports.state.pass_rates(&truereel::learning::brand_of(&product.store)).await.unwrap();
    let counted: u64 = rates.iter().filter(|t| t.facet == truereel::learning::Facet::Provider).map(|t| t.passed).sum();
    assert_eq!(counted as usize, reel.plan.shots.len(), "{rates:?}");

    // SQS delivers the evaluate message again: the function's handler acts on it, asks nobody.
    let body =
        truereel::messages::Message::from(truereel::messages::EvaluateMsg { reel: reel.id.clone(), round: reel.round })
            .to_json();
    let batch = serde_json::json!({"Records": [{"messageId": "again-1", "receiptHandle": "r", "body": body,
        "attributes": {"ApproximateReceiveCount": "2"}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:evaluate", "awsRegion": "us-east-1"}]});
    let sqs = serde_json::from_value(batch).unwrap();
    let out = sqs_batch(LambdaEvent::new(sqs, Context::default()), Stage::Evaluate, |m, r| run_stage(&ports, m, r))
        .await
        .unwrap();
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(stub.calls(), 1, "never asked twice for the same cut");
}
