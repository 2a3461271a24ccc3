//! The SAM template (`infra/template.yaml`): linted by cfn-lint and `sam validate --lint`, a broken
//! copy proven to fail the lint, and its structure checked (dead-letter queues, visibility
//! timeouts, partial batch failures, origin access control, the brand domain, least privilege).
//!
//! The tools live in `.tools/` (`scripts/aws-tools.sh` installs them). When one is missing the
//! test fails if `CI` is set, and otherwise prints "skipped: run scripts/aws-tools.sh" and passes.

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const STAGES: [&str; 5] = ["crawl", "plan", "generate", "mirror", "evaluate"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repo root").to_path_buf()
}

fn template_path() -> PathBuf {
    repo_root().join("infra/template.yaml")
}

/// The tool at `.tools/<rel>`, or `None` (after saying so) when it is not installed outside CI.
fn tool(rel: &str) -> Option<PathBuf> {
    let path = repo_root().join(".tools").join(rel);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{} is missing (CI is set, so this fails): run scripts/aws-tools.sh", path.display());
    }
    eprintln!("skipped: run scripts/aws-tools.sh ({} is missing)", path.display());
    None
}

fn run(mut cmd: Command) -> Output {
    let shown = format!("{cmd:?}");
    cmd.current_dir(repo_root()).output().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn cfn_lint(cfn_lint: &Path, template: &Path) -> Output {
    let mut cmd = Command::new(cfn_lint);
    cmd.arg(template);
    run(cmd)
}

#[test]
fn cfn_lint_passes_the_template_with_no_errors_or_warnings() {
    let Some(lint) = tool("venv/bin/cfn-lint") else { return };
    let out = cfn_lint(&lint, &template_path());
    assert!(out.status.success(), "cfn-lint found problems:\n{}", text(&out));
    assert_eq!(text(&out).trim(), "", "cfn-lint printed findings");
}

/// Proves the lint can fail: a string where an integer goes and an unknown property.
#[test]
fn cfn_lint_fails_a_broken_copy_of_the_template() {
    let Some(lint) = tool("venv/bin/cfn-lint") else { return };
    let good = std::fs::read_to_string(template_path()).unwrap();
    let broken = good
        .replacen("VisibilityTimeout: 1800 # 6 x the 300 s function timeout", "VisibilityTimeout: half-an-hour", 1)
        .replacen("      BillingMode: PAY_PER_REQUEST\n", "      BillingMode: PAY_PER_REQUEST\n      Bogus: true\n", 1);
    assert_eq!(broken.matches("half-an-hour").count(), 1, "the crawl queue's timeout line moved; update this test");
    assert_eq!(broken.matches("Bogus: true").count(), 1, "the table's BillingMode line moved; update this test");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("template.yaml");
    std::fs::write(&copy, broken).unwrap();

    let out = cfn_lint(&lint, &copy);
    let said = text(&out);
    assert!(!out.status.success(), "cfn-lint accepted a broken template:\n{said}");
    assert!(said.contains("E3012") && said.contains("half-an-hour"), "no type error reported:\n{said}");
    assert!(said.contains("E3002") && said.contains("Bogus"), "no unknown-property error reported:\n{said}");
}

#[test]
fn sam_validate_lint_passes_offline() {
    let Some(sam) = tool("sam-venv/bin/sam") else { return };
    let mut cmd = Command::new(sam);
    cmd.args(["validate", "--lint", "--template", "infra/template.yaml"])
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/truereel/aws-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/truereel/aws-credentials")
        .env("SAM_CLI_TELEMETRY", "0")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN");
    let out = run(cmd);
    let said = text(&out);
    assert!(out.status.success(), "sam validate --lint failed:\n{said}");
    assert!(said.contains("is a valid SAM Template"), "{said}");
}

/// The template as JSON, decoded by cfn-lint's own decoder (it understands `!Ref`, `!Sub`...).
pub(crate) fn template() -> Option<Value> {
    let python = tool("venv/bin/python")?;
    let mut cmd = Command::new(python);
    cmd.args([
        "-c",
        "from cfnlint.decode import decode; import json,sys; t,m=decode(sys.argv[1]); \
         assert not m, m; print(json.dumps(t, default=str))",
    ])
    .arg(template_path());
    let out = run(cmd);
    assert!(out.status.success(), "cfn-lint's decoder failed:\n{}", text(&out));
    Some(serde_json::from_slice(&out.stdout).expect("the decoder prints JSON"))
}

fn resources(t: &Value) -> &serde_json::Map<String, Value> {
    t["Resources"].as_object().expect("Resources is a mapping")
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    resources(t).iter().filter(|(_, r)| r["Type"] == ty).map(|(k, r)| (k.as_str(), r)).collect()
}

fn get_att(resource: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [resource, attribute] })
}

fn reference(name: &str) -> Value {
    json!({ "Ref": name })
}

/// The logical id a `!GetAtt X.Arn` points at.
fn arn_of(v: &Value) -> Option<&str> {
    let att = v.get("Fn::GetAtt")?.as_array()?;
    (att.get(1)? == "Arn").then_some(att.first()?.as_str()?)
}

/// A function property, falling back to `Globals.Function`.
fn function_prop<'a>(t: &'a Value, function: &'a Value, name: &str) -> &'a Value {
    let own = &function["Properties"][name];
    if own.is_null() { &t["Globals"]["Function"][name] } else { own }
}

/// (function id, event name, event properties) for every SQS event source.
fn sqs_events(t: &Value) -> Vec<(&str, &str, &Value)> {
    let mut found = Vec::new();
    for (id, f) in of_type(t, "AWS::Serverless::Function") {
        for (name, event) in f["Properties"]["Events"].as_object().into_iter().flatten() {
            if event["Type"] == "SQS" {
                found.push((id, name.as_str(), &event["Properties"]));
            }
        }
    }
    found
}

fn int(v: &Value, what: &str) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("{what} is not an integer: {v}"))
}

/// The cost model bills each stage at its function's memory: the same figures as the template.
#[test]
fn the_cost_model_uses_the_template_memory_of_each_function() {
    let Some(t) = template() else { return };
    for (id, f) in of_type(&t, "AWS::Serverless::Function") {
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let stage = truereel::ports::Stage::ALL.into_iter().find(|s| s.as_str() == binary).unwrap();
        let memory = int(function_prop(&t, f, "MemorySize"), "MemorySize");
        assert_eq!(i64::from(truereel::costs::lambda_memory_mb(stage)), memory, "{id}");
    }
}

#[test]
fn five_rust_functions_one_per_stage_binary() {
    let Some(t) = template() else { return };
    let mut binaries = BTreeSet::new();
    for (id, f) in of_type(&t, "AWS::Serverless::Function") {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or_else(|| panic!("{id}: no Binary"));
        assert!(repo_root().join("functions").join(binary).join("Cargo.toml").is_file(), "{id}: no crate for {binary}");
        assert_eq!(function_prop(&t, f, "Handler"), "bootstrap", "{id}");
        assert_eq!(function_prop(&t, f, "Runtime"), "provided.al2023", "{id}");
        assert_eq!(function_prop(&t, f, "Architectures"), &json!(["x86_64"]), "{id}");
        binaries.insert(binary.to_string());
    }
    assert_eq!(binaries, STAGES.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    let vars = &t["Globals"]["Function"]["Environment"]["Variables"];
    for var in ["TRUEREEL_BUCKET", "TRUEREEL_TABLE", "AWS_LAMBDA_LOG_FORMAT"] {
        assert!(!vars[var].is_null(), "{var} is not set for every function");
    }
    for stage in STAGES {
        let var = format!("TRUEREEL_QUEUE_URL_{}", stage.to_uppercase());
        let queue = vars[&var]["Ref"].as_str().unwrap_or_else(|| panic!("{var} is not a queue's Ref"));
        assert_eq!(resources(&t)[queue]["Type"], "AWS::SQS::Queue", "{var}");
    }
}

#[test]
fn every_stage_queue_has_a_dead_letter_queue_and_a_visibility_timeout_above_its_function_timeout() {
    let Some(t) = template() else { return };
    let events = sqs_events(&t);
    assert_eq!(events.len(), STAGES.len(), "one SQS event source per stage: {events:?}");
    let max_receive = &t["Parameters"]["MaxReceiveCount"];
    for (function_id, event, props) in events {
        let queue_id =
            arn_of(&props["Queue"]).unwrap_or_else(|| panic!("{function_id}/{event}: Queue is not !GetAtt X.Arn"));
        let queue = &resources(&t)[queue_id];
        assert_eq!(queue["Type"], "AWS::SQS::Queue", "{queue_id}");

        let redrive = &queue["Properties"]["RedrivePolicy"];
        let dlq_id =
            arn_of(&redrive["deadLetterTargetArn"]).unwrap_or_else(|| panic!("{queue_id} has no dead-letter queue"));
        assert_ne!(dlq_id, queue_id);
        assert_eq!(resources(&t)[dlq_id]["Type"], "AWS::SQS::Queue", "{queue_id}'s DLQ {dlq_id}");
        let receives = match &redrive["maxReceiveCount"] {
            Value::Object(r) if r.get("Ref") == Some(&json!("MaxReceiveCount")) => &max_receive["Default"],
            v => v,
        };
        assert_eq!(int(receives, "maxReceiveCount"), 5, "{queue_id}");

        let function = &resources(&t)[function_id];
        let timeout = int(function_prop(&t, function, "Timeout"), "Timeout");
        let visibility = int(&queue["Properties"]["VisibilityTimeout"], "VisibilityTimeout");
        assert!(visibility > timeout, "{queue_id}: visibility {visibility} s is not above {function_id}'s {timeout} s");
        assert!(visibility >= 6 * timeout, "{queue_id}: visibility {visibility} s is under 6 x {timeout} s");
        assert!(visibility <= 43_200, "{queue_id}: SQS allows at most 12 hours");
    }
}

#[test]
fn every_sqs_event_source_reports_partial_batch_failures_and_generate_is_bounded_by_the_parameter() {
    let Some(t) = template() else { return };
    for (function_id, event, props) in sqs_events(&t) {
        assert_eq!(props["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]), "{function_id}/{event}");
        let batch = int(&props["BatchSize"], "BatchSize");
        assert!((1..=10).contains(&batch), "{function_id}/{event}: BatchSize {batch}");
        let concurrency = &props["ScalingConfig"]["MaximumConcurrency"];
        if function_id == "GenerateFunction" {
            assert_eq!(concurrency, &reference("GenerateConcurrency"), "generate follows the provider's limit");
        } else {
            assert!(int(concurrency, "MaximumConcurrency") >= 2, "{function_id}: AWS's minimum is 2");
        }
    }
    let p = &t["Parameters"]["GenerateConcurrency"];
    assert_eq!(
        (p["Type"].as_str(), int(&p["Default"], "Default"), int(&p["MinValue"], "MinValue")),
        (Some("Number"), 2, 2)
    );
}

#[test]
fn the_bucket_is_private_and_only_cloudfront_reads_it_through_origin_access_control() {
    let Some(t) = template() else { return };
    let buckets = of_type(&t, "AWS::S3::Bucket");
    assert_eq!(buckets.len(), 1);
    let (bucket_id, bucket) = buckets[0];
    let block = &bucket["Properties"]["PublicAccessBlockConfiguration"];
    for flag in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(block[flag], true, "{flag}");
    }
    assert_eq!(bucket["Properties"]["OwnershipControls"]["Rules"][0]["ObjectOwnership"], "BucketOwnerEnforced");

    let oacs = of_type(&t, "AWS::CloudFront::OriginAccessControl");
    assert_eq!(oacs.len(), 1, "one origin access control");
    let (oac_id, oac) = oacs[0];
    let config = &oac["Properties"]["OriginAccessControlConfig"];
    assert_eq!((&config["SigningProtocol"], &config["OriginAccessControlOriginType"]), (&json!("sigv4"), &json!("s3")));

    let distributions = of_type(&t, "AWS::CloudFront::Distribution");
    assert_eq!(distributions.len(), 1);
    let (distribution_id, distribution) = distributions[0];
    let origins = distribution["Properties"]["DistributionConfig"]["Origins"].as_array().unwrap();
    assert!(!origins.is_empty());
    for origin in origins {
        assert_eq!(origin["OriginAccessControlId"], get_att(oac_id, "Id"), "every origin signs with the OAC");
        assert_eq!(origin["S3OriginConfig"]["OriginAccessIdentity"], "", "no legacy origin access identity");
        assert_eq!(origin["DomainName"], get_att(bucket_id, "RegionalDomainName"));
        assert_eq!(origin["OriginPath"], "/public", "only published reels are reachable");
    }
    let behavior = &distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"];
    assert_eq!(behavior["ViewerProtocolPolicy"], "redirect-to-https");
    assert!(!behavior["ResponseHeadersPolicyId"].is_null(), "security headers");

    let policies: Vec<_> = of_type(&t, "AWS::S3::BucketPolicy")
        .into_iter()
        .filter(|(_, p)| p["Properties"]["Bucket"] == reference(bucket_id))
        .collect();
    assert_eq!(policies.len(), 1);
    let statements = policies[0].1["Properties"]["PolicyDocument"]["Statement"].as_array().unwrap();
    let allows: Vec<_> = statements.iter().filter(|s| s["Effect"] == "Allow").collect();
    assert_eq!(allows.len(), 1, "the bucket policy allows CloudFront and nothing else: {allows:#?}");
    assert_eq!(allows[0]["Principal"], json!({ "Service": "cloudfront.amazonaws.com" }));
    let source = allows[0]["Condition"]["StringEquals"]["AWS:SourceArn"].to_string();
    assert!(source.contains(&format!("distribution/${{{distribution_id}}}")), "scoped to this distribution: {source}");
    assert!(
        statements.iter().any(|s| s["Effect"] == "Deny" && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"),
        "plain HTTP is denied"
    );
}

/// True when `condition` (following `Condition` references) looks at the `parameter`.
fn condition_uses(t: &Value, condition: &Value, parameter: &str) -> bool {
    match condition {
        Value::Object(m) if m.get("Ref") == Some(&json!(parameter)) => true,
        Value::Object(m) if m.len() == 1 && m.get("Condition").is_some_and(Value::is_string) => {
            condition_uses(t, &t["Conditions"][m["Condition"].as_str().unwrap()], parameter)
        }
        Value::Object(m) => m.values().any(|v| condition_uses(t, v, parameter)),
        Value::Array(a) => a.iter().any(|v| condition_uses(t, v, parameter)),
        _ => false,
    }
}

#[test]
fn the_brand_domain_parameter_feeds_the_distribution_aliases_and_certificate() {
    let Some(t) = template() else { return };
    assert_eq!(t["Parameters"]["DomainName"]["Type"], "String");
    assert_eq!(t["Parameters"]["DomainName"]["Default"], "", "the domain may be left empty");
    let config = &of_type(&t, "AWS::CloudFront::Distribution")[0].1["Properties"]["DistributionConfig"];

    let aliases = config["Aliases"]["Fn::If"].as_array().expect("Aliases is conditional");
    let condition = aliases[0].as_str().unwrap();
    assert!(condition_uses(&t, &t["Conditions"][condition], "DomainName"), "{condition} does not look at DomainName");
    assert!(condition_uses(&t, &t["Conditions"][condition], "CertificateArn"), "{condition} ignores the certificate");
    assert_eq!(aliases[1], json!([reference("DomainName")]));
    assert_eq!(aliases[2], reference("AWS::NoValue"));

    let certificate = config["ViewerCertificate"]["Fn::If"].as_array().expect("the certificate is conditional");
    assert_eq!(certificate[0], condition);
    assert_eq!(certificate[1]["AcmCertificateArn"], reference("CertificateArn"));
    assert_eq!(certificate[2]["CloudFrontDefaultCertificate"], true);
    // A domain without a certificate is refused before anything is created.
    let rules = t["Rules"].as_object().expect("a Rules section");
    assert!(rules.values().any(|r| condition_uses(&t, &r["RuleCondition"], "DomainName")
        && condition_uses(&t, &r["Assertions"], "CertificateArn")));
    let url = t["Outputs"]["ReelsBaseUrl"]["Value"].to_string();
    assert!(url.contains("https://${DomainName}/"), "{url}");
}

/// Every statement of a role's inline policies.
fn statements(role: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for policy in role["Properties"]["Policies"].as_array().into_iter().flatten() {
        for s in policy["PolicyDocument"]["Statement"].as_array().into_iter().flatten() {
            match s.get("Fn::If").and_then(Value::as_array) {
                // A conditional statement: check the statement it would add.
                Some(branches) => all.extend(branches[1..].iter().filter(|b| b.get("Ref").is_none())),
                None => all.push(s),
            }
        }
    }
    all
}

fn actions(s: &Value) -> Vec<&str> {
    match &s["Action"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

#[test]
fn each_function_has_its_own_least_privilege_role_and_only_provider_callers_read_the_secret() {
    let Some(t) = template() else { return };
    let mut secret_readers = BTreeSet::new();
    let mut roles = BTreeSet::new();
    for (id, f) in of_type(&t, "AWS::Serverless::Function") {
        let role_id = arn_of(&f["Properties"]["Role"]).unwrap_or_else(|| panic!("{id} has no role of its own"));
        assert!(roles.insert(role_id), "{id} shares {role_id}");
        let role = &resources(&t)[role_id];
        assert!(role["Properties"]["ManagedPolicyArns"].is_null(), "{role_id}: no broad managed policies");
        for s in statements(role) {
            assert_eq!(s["Effect"], "Allow", "{role_id}: {s}");
            let acts = actions(s);
            assert!(acts.iter().all(|a| !a.ends_with(":*") && *a != "*"), "{role_id}: wildcard action {s}");
            if s["Resource"] == "*" {
                assert!(acts.iter().all(|a| a.starts_with("xray:")), "{role_id}: only X-Ray may use Resource *: {s}");
            }
            assert!(!acts.iter().any(|a| ["dynamodb:Scan", "s3:DeleteObject"].contains(a)), "{role_id}: {s}");
            // Deleting items only where a key prefix bounds it: generate's job intents and slots.
            if acts.contains(&"dynamodb:DeleteItem") {
                let leading = &s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
                assert_eq!(*leading, serde_json::json!(["JOB#*", "SLOT#*"]), "{role_id}: an unbounded delete {s}");
                assert_eq!(role_id, "GenerateRole", "only generate deletes");
            }
            if acts.contains(&"secretsmanager:GetSecretValue") {
                assert_eq!(s["Resource"], reference("ProviderSecret"), "{role_id}");
                secret_readers.insert(f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap());
            }
            if acts.contains(&"s3:PutObject") {
                let resource = s["Resource"]["Fn::Sub"].as_str().unwrap_or_else(|| panic!("{role_id}: {s}"));
                assert!(resource.starts_with("${Bucket.Arn}/") && resource.ends_with("/*"), "{role_id}: {resource}");
                if resource == "${Bucket.Arn}/public/*" {
                    assert_eq!(role_id, "EvaluateRole", "only evaluate publishes");
                }
            }
        }
        let has_secret_env = !f["Properties"]["Environment"]["Variables"]["TRUEREEL_PROVIDER_SECRET_ARN"].is_null();
        let reads_secret = statements(role).iter().any(|s| actions(s).contains(&"secretsmanager:GetSecretValue"));
        assert_eq!(
            has_secret_env, reads_secret,
            "{id}: the secret's ARN goes to exactly the functions that may read it"
        );
    }
    // mirror reads it to ask a provider for a fresh link when a clip's link expired.
    assert_eq!(secret_readers, BTreeSet::from(["plan", "generate", "mirror", "evaluate"]));
}

#[test]
fn dead_letter_queues_and_daily_spend_raise_alarms() {
    let Some(t) = template() else { return };
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    let watched: BTreeSet<&str> = alarms
        .iter()
        .filter(|(_, a)| a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible")
        .filter_map(|(_, a)| a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0].as_str())
        .collect();
    let dead_letter_queues: BTreeSet<&str> = of_type(&t, "AWS::SQS::Queue")
        .into_iter()
        .filter_map(|(_, q)| arn_of(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        .collect();
    assert_eq!(dead_letter_queues.len(), STAGES.len());
    assert_eq!(watched, dead_letter_queues, "an alarm on every dead-letter queue");

    let spend: Vec<_> = alarms.iter().filter(|(_, a)| a["Properties"]["MetricName"] == "SpendUsd").collect();
    assert_eq!(spend.len(), 1);
    let p = &spend[0].1["Properties"];
    assert_eq!((&p["Namespace"], &p["Statistic"], &p["Period"]), (&json!("truereel"), &json!("Sum"), &json!(86400)));
    assert_eq!(p["Threshold"], reference("DailySpendAlarmUsd"));
}

/// Every `TRUEREEL_*` variable the template sets is a setting the configuration knows, and every
/// value the template writes literally (or offers as a parameter) is one it accepts: a deployed
/// function cannot start on a typo.
#[test]
fn the_template_sets_only_settings_the_configuration_accepts() {
    let text = std::fs::read_to_string(template_path()).unwrap();
    let mut seen = 0;
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once(':') else { continue };
        if !key.starts_with("TRUEREEL_") {
            continue;
        }
        seen += 1;
        let def = truereel::config::defs::find(key).unwrap_or_else(|| panic!("the template sets {key}, no setting"));
        let value = value.trim();
        if !value.is_empty() && !value.starts_with('!') && !matches!(def.kind, truereel::config::Kind::File) {
            truereel::config::value::parse(&def.kind, value)
                .unwrap_or_else(|e| panic!("the template sets {key}: {value:?}, not accepted ({e})"));
        }
    }
    assert!(seen >= 10, "the template's variables were found ({seen})");
    for level in ["error", "warn", "info", "debug", "trace"] {
        assert!(truereel::config::value::parse(&truereel::config::Kind::LogFilter, level).is_ok(), "{level}");
    }
}

/// A platform flag (`events/flag-event.json`, as an integration puts it on the bus) matches the flag
/// rule, and the rule's input transformer turns it into the flag message the evaluate stage reads;
/// EventBridge may send to the evaluate queue and its dead-letter queue, and nothing else may.
#[test]
fn a_flag_event_becomes_a_flag_message_on_the_evaluate_queue() {
    let Some(t) = template() else { return };
    let rule = &resources(&t)["FlagRule"]["Properties"];
    let event: Value = serde_json::from_str(include_str!("../../events/flag-event.json")).unwrap();
    let pattern = &rule["EventPattern"];
    assert!(pattern["source"].as_array().unwrap().contains(&event["source"]), "{pattern}");
    assert!(pattern["detail-type"].as_array().unwrap().contains(&event["detail-type"]), "{pattern}");
    let target = &rule["Targets"][0];
    assert_eq!(arn_of(&target["Arn"]), Some("EvaluateQueue"));
    assert_eq!(arn_of(&target["DeadLetterConfig"]["Arn"]), Some("EvaluateDeadLetterQueue"));
    // The transformer, applied as EventBridge applies it: each <name> becomes its path's JSON value
    // (a string placeholder inside quotes takes the bare string).
    let transformer = &target["InputTransformer"];
    let mut body = transformer["InputTemplate"].as_str().unwrap().to_string();
    for (name, path) in transformer["InputPathsMap"].as_object().unwrap() {
        let mut value = &event;
        for part in path.as_str().unwrap().trim_start_matches("$.").split('.') {
            value = &value[part];
        }
        let quoted = format!("\"<{name}>\"");
        body = match value.as_str() {
            Some(s) if body.contains(&quoted) => body.replace(&quoted, &Value::from(s).to_string()),
            _ => body.replace(&format!("<{name}>"), &value.to_string()),
        };
    }
    let message = truereel::messages::Message::parse(truereel::ports::Stage::Evaluate, &body).unwrap();
    let truereel::messages::Message::Flag(flag) = message else { panic!("not a flag: {body}") };
    assert_eq!(flag.event, event["id"].as_str().unwrap());
    assert_eq!(flag.flag.reel.as_str(), event["detail"]["reel"].as_str().unwrap());
    assert_eq!(flag.flag.shots, [1]);

    let policy = &resources(&t)["FlagQueuePolicy"]["Properties"];
    assert_eq!(policy["Queues"], json!([reference("EvaluateQueue"), reference("EvaluateDeadLetterQueue")]));
    let statement = &policy["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(statement["Action"], "sqs:SendMessage");
    assert_eq!(statement["Condition"]["ArnEquals"]["aws:SourceArn"], get_att("FlagRule", "Arn"));
}

/// A CloudFront path pattern (`*` any run of characters, `/` included; `?` one character) against a
/// viewer path; a pattern may leave out the leading `/`.
fn path_pattern_matches(pattern: &str, path: &str) -> bool {
    fn matches(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, _) => s.is_empty(),
            (Some(b'*'), _) => matches(&p[1..], s) || (!s.is_empty() && matches(p, &s[1..])),
            (Some(b'?'), Some(_)) => matches(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => matches(&p[1..], &s[1..]),
            _ => false,
        }
    }
    matches(pattern.trim_start_matches('/').as_bytes(), path.trim_start_matches('/').as_bytes())
}

/// The distribution serves the URL layout `truereel serve` serves: a viewer path is the S3 key under
/// the origin path, so `/reels/<handle>.mp4` is `public/reels/<handle>.mp4` in both homes; the cache
/// behaviour a path falls in keeps the stable URLs (reel and poster) a minute and the version URLs a
/// year as immutable, with the very `Cache-Control` the local origin sends; drafts have no public
/// URL, and only `public/` is readable.
#[test]
fn cloudfront_serves_the_local_origins_url_layout_and_cache_rules() {
    use truereel::{BlobKey, Handle, ReelId, Sha256, VariantSlug};
    use truereel_origin::links::{Caching, PUBLIC_PREFIX, url_path};
    let Some(t) = template() else { return };
    let config = &of_type(&t, "AWS::CloudFront::Distribution")[0].1["Properties"]["DistributionConfig"];
    let origin = &config["Origins"][0];
    assert_eq!(origin["OriginPath"], format!("/{PUBLIC_PREFIX}"));
    let resource = |r: &Value| &resources(&t)[r["Ref"].as_str().unwrap_or_else(|| panic!("not a Ref: {r}"))];
    let behaviours: Vec<&Value> = config["CacheBehaviors"].as_array().map(|b| b.iter().collect()).unwrap_or_default();
    let behaviour_of = |path: &str| {
        behaviours
            .iter()
            .find(|b| path_pattern_matches(b["PathPattern"].as_str().unwrap(), path))
            .copied()
            .unwrap_or(&config["DefaultCacheBehavior"])
    };

    let hash = Sha256::of(b"gallery");
    let handle = Handle::parse("pullover-hoodie").unwrap();
    let black = VariantSlug::parse("black").unwrap();
    let mut published = Vec::new();
    for reel in [ReelId::new(&handle, &hash), ReelId::for_variant(&handle, Some(&black), &hash)] {
        published.extend([
            (BlobKey::published_reel(&reel), Caching::Stable),
            (BlobKey::published_poster(&reel, None), Caching::Stable),
            (BlobKey::published_aspect(&reel, "4x5"), Caching::Stable),
            (BlobKey::published_version(&reel, 1, None), Caching::Immutable),
            (BlobKey::published_version(&reel, 12, Some("4x5")), Caching::Immutable),
            (BlobKey::published_poster(&reel, Some(3)), Caching::Immutable),
        ]);
    }
    for (key, caching) in published {
        let path = url_path(&key).unwrap_or_else(|| panic!("{key} has no public URL"));
        assert!(path.starts_with("/reels/"), "{path}");
        // CloudFront asks S3 for <origin path><viewer path>: the blob key itself.
        assert_eq!(format!("{}{path}", origin["OriginPath"].as_str().unwrap()), format!("/{key}"));
        assert_eq!(Caching::of(&path), caching, "{path}: the local origin's class");
        let b = behaviour_of(&path);
        assert_eq!(b["TargetOriginId"], origin["Id"], "{path}");
        assert_eq!(b["AllowedMethods"], json!(["GET", "HEAD"]), "{path}");
        assert_eq!(b["ViewerProtocolPolicy"], "redirect-to-https", "{path}");
        assert_eq!(b["Compress"], false, "{path}: byte offsets are kept");
        let ttl = &resource(&b["CachePolicyId"])["Properties"]["CachePolicyConfig"];
        let (min, max) = (int(&ttl["MinTTL"], "MinTTL"), int(&ttl["MaxTTL"], "MaxTTL"));
        match caching {
            Caching::Stable => assert!(max <= 60, "{path}: the edge keeps a stable URL {max} s"),
            Caching::Immutable => assert_eq!(min, 31_536_000, "{path}: a version is kept a year"),
        }
        let headers = &resource(&b["ResponseHeadersPolicyId"])["Properties"]["ResponseHeadersPolicyConfig"];
        let cache_control: Vec<&Value> = headers["CustomHeadersConfig"]["Items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["Header"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("cache-control")))
            .collect();
        assert_eq!(cache_control.len(), 1, "{path}");
        assert_eq!(cache_control[0]["Value"], caching.header(), "{path}: browsers are told what the local origin says");
        assert_eq!(cache_control[0]["Override"], true);
        for h in ["SecurityHeadersConfig", "CorsConfig"] {
            assert!(!headers[h].is_null(), "{path}: {h}");
        }
    }
    // Drafts, clips, contact sheets and voice-overs have no public URL: they are outside public/, and every
    // viewer path is read under it.
    let reel = ReelId::new(&handle, &hash);
    for private in [
        BlobKey::reel_video(&reel, 1),
        BlobKey::reel_poster(&reel, 1),
        BlobKey::clip(&reel, 0, 1),
        BlobKey::reel_contact_sheet(&reel, 1),
        BlobKey::voice_over(&reel),
    ] {
        assert_eq!(url_path(&private), None, "{private}");
        assert!(!private.as_str().starts_with(&format!("{PUBLIC_PREFIX}/")), "{private}");
    }
    let policy = &of_type(&t, "AWS::S3::BucketPolicy")[0].1["Properties"]["PolicyDocument"]["Statement"];
    let read = policy.as_array().unwrap().iter().find(|s| s["Effect"] == "Allow").unwrap();
    assert_eq!(read["Resource"]["Fn::Sub"], format!("${{Bucket.Arn}}/{PUBLIC_PREFIX}/*"));
    assert!(!path_pattern_matches("reels/*/v*", "/reels/pullover-hoodie.mp4"));
    assert!(path_pattern_matches("reels/*/v*", "/reels/pullover-hoodie.black/v2.jpg"));
}
