use super::*;

fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
}

fn problem(vars: &[(&str, &str)], flags: &[(&str, String)]) -> String {
    Config::load(&env(vars), flags).unwrap_err().to_string()
}

#[test]
fn the_defaults_are_accepted_and_read_every_setting() {
    let c = Config::default();
    assert_eq!(c.entries().len(), DEFS.len());
    assert!(c.entries().iter().all(|e| e.source == Source::Default));
    assert_eq!((c.settings.width, c.settings.height, c.settings.fps), (1080, 1920, 30));
    assert_eq!(c.fetch, FetchPolicy::default());
    assert_eq!(c.media, Media::default());
    assert_eq!(c.backend, Backend::Embedded);
    assert_eq!(c.runner.concurrency[&Stage::Crawl], 4);
    assert_eq!(c.runner.visibility, Duration::from_secs(600));
    assert_eq!(c.settings.budget, crate::Budget::default());
    assert_eq!(
        (c.aws.bucket.as_str(), c.aws.table.as_str(), c.aws.queue_prefix.as_str()),
        ("truereel-reels", "truereel", "truereel")
    );
    let mut vars: Vec<_> = DEFS.iter().map(|d| d.var).collect();
    vars.sort();
    vars.dedup();
    assert_eq!(vars.len(), DEFS.len(), "a variable is defined twice");
}

#[test]
fn flags_override_the_environment_which_overrides_defaults() {
    let vars = [
        ("TRUEREEL_RESOLUTION", "540x960"),
        ("TRUEREEL_CRF", "23"),
        ("TRUEREEL_BUDGET_USD", "2.5"),
        ("TRUEREEL_FPS", " "),
    ];
    let c = Config::load(&env(&vars), &[("TRUEREEL_RESOLUTION", "720x1280".into())]).unwrap();
    assert_eq!((c.settings.width, c.settings.height), (720, 1280));
    assert_eq!(c.source("TRUEREEL_RESOLUTION"), Source::Flag);
    assert_eq!((c.media.crf, c.source("TRUEREEL_CRF")), (23, Source::Env));
    assert_eq!(c.settings.budget.per_run, Some(Usd(2_500_000)));
    assert_eq!((c.settings.fps, c.source("TRUEREEL_FPS")), (30, Source::Default), "blank is unset");
}

#[test]
fn a_bad_value_names_itself_the_value_and_what_is_accepted() {
    let e = problem(&[("TRUEREEL_CRF", "abc")], &[]);
    assert_eq!(e, r#"TRUEREEL_CRF "abc" is not accepted: expected a whole number from 0 to 51"#);
    let e = problem(&[("TRUEREEL_CONCURRENCY_GENERATE", "zero")], &[]);
    assert!(e.contains("TRUEREEL_CONCURRENCY_GENERATE \"zero\"") && e.contains("from 1 to 64"), "{e}");
    let e = problem(&[("TRUEREEL_VISIBILITY_SECONDS", "-5")], &[]);
    assert!(e.contains("TRUEREEL_VISIBILITY_SECONDS \"-5\"") && e.contains("from 1 to 43200"), "{e}");
    let e = problem(&[("TRUEREEL_RESOLUTION", "4x4")], &[("TRUEREEL_RESOLUTION", "0x0".into())]);
    assert!(e.starts_with(r#"--resolution "0x0" is not accepted: expected WIDTHxHEIGHT"#), "{e}");
    let e = problem(&[], &[("TRUEREEL_BUDGET_USD", "-1".into())]);
    assert!(e.contains("--budget-usd \"-1\"") && e.contains("US dollars"), "{e}");
    let e = problem(&[], &[("TRUEREEL_ONLY", "".into())]);
    assert!(e.contains("--only \"\"") && e.contains("no handle given"), "{e}");
    let e = problem(&[("TRUEREEL_MIN_REEL_MS", "40000"), ("TRUEREEL_MAX_REEL_MS", "30000")], &[]);
    assert!(e.contains("TRUEREEL_MIN_REEL_MS") && e.contains("at most TRUEREEL_MAX_REEL_MS (30000)"), "{e}");
    let e = problem(&[("TRUEREEL_MAX_REEL_MS", "90000")], &[("TRUEREEL_LENGTH", "61".into())]);
    assert!(e.contains("TRUEREEL_MAX_REEL_MS") && e.contains("--length \"61\""), "{e}");
    let e = problem(&[("TRUEREEL_MIN_SUITABILITY", "1.5")], &[]);
    assert!(e.contains("a number from 0 to 1"), "{e}");
}

#[test]
fn every_bad_value_is_named_at_once() {
    let e =
        problem(&[("TRUEREEL_CRF", "abc"), ("TRUEREEL_ESPEAK_WPM", "9000"), ("TRUEREEL_IGNORE_ROBOTS", "maybe")], &[]);
    assert!(e.starts_with("3 settings are not accepted:"), "{e}");
    for name in ["TRUEREEL_CRF", "TRUEREEL_ESPEAK_WPM", "TRUEREEL_IGNORE_ROBOTS"] {
        assert!(e.contains(name), "{name} in {e}");
    }
}

#[test]
fn booleans_and_aws_settings() {
    for v in ["1", "yes", "true", "on"] {
        let c = Config::load(&env(&[("TRUEREEL_ALLOW_PRIVATE_NETWORK", v)]), &[]).unwrap();
        assert!(c.fetch.allow_private_network, "{v}");
    }
    let vars = [
        ("TRUEREEL_BUCKET", "my-reels"),
        ("TRUEREEL_QUEUE_URL_PLAN", "http://127.0.0.1:5000/123/p-plan"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ("TRUEREEL_BACKEND", "AWS"),
        ("TRUEREEL_TRUSTED_HOSTS", "127.0.0.1:8080, shop.lan:443"),
    ];
    let c = Config::load(&env(&vars), &[]).unwrap();
    assert_eq!(c.backend, Backend::Aws);
    assert_eq!(c.aws.bucket, "my-reels");
    assert_eq!(c.aws.queue_urls.len(), 1);
    assert_eq!(c.aws.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
    assert_eq!(c.fetch.trusted_hosts, ["127.0.0.1:8080", "shop.lan:443"]);
    assert!(problem(&[("TRUEREEL_BUCKET", "My_Bucket")], &[]).contains("S3 bucket name"));
}

#[test]
fn unknown_truereel_variables_are_found() {
    let vars = ["TRUEREEL_CFR", "TRUEREEL_CRF", "HOME", "TRUEREEL_TEST_AWS_ENDPOINT"].map(String::from);
    assert_eq!(Config::unknown_vars(vars), ["TRUEREEL_CFR"]);
}

#[test]
fn shown_as_text_json_and_markdown() {
    let c = Config::load(&env(&[("TRUEREEL_CRF", "23")]), &[("TRUEREEL_DATA_DIR", "/tmp/d".into())]).unwrap();
    let text = show::text(&c);
    assert_eq!(text.lines().count(), DEFS.len());
    assert!(text.lines().any(|l| l.starts_with("TRUEREEL_CRF ") && l.ends_with("23  [environment]")), "{text}");
    assert!(text.lines().any(|l| l.contains("/tmp/d  [flag --data-dir]")), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("TRUEREEL_BUDGET_USD ") && l.contains("(unlimited)  [default]")),
        "{text}"
    );
    let json = show::json(&c);
    assert_eq!(json.as_array().unwrap().len(), DEFS.len());
    let md = show::markdown();
    assert_eq!(md.lines().count(), DEFS.len() + 2);
}

#[test]
fn voice_settings_and_secrets_never_shown() {
    let c = Config::default();
    assert_eq!((c.voice.engine, c.voice.tools_dir.as_path()), (VoiceEngine::Auto, std::path::Path::new(".tools")));
    assert_eq!(c.voice.openai.api_key, None);
    assert_eq!(c.voice.elevenlabs.usd_per_million_chars, Usd::from_dollars(300.0));
    assert_eq!(c.voice.polly.usd_per_million_chars, None);
    let vars = [
        ("TRUEREEL_VOICE", "ElevenLabs"),
        ("TRUEREEL_ELEVENLABS_API_KEY", "xi-very-secret"),
        ("TRUEREEL_OPENAI_TTS_MODEL", "tts-1"),
        ("TRUEREEL_POLLY_ENGINE", "standard"),
    ];
    let c = Config::load(&env(&vars), &[]).unwrap();
    assert_eq!(c.voice.engine, VoiceEngine::ElevenLabs);
    assert_eq!(c.voice.elevenlabs.api_key.as_ref().map(Secret::expose), Some("xi-very-secret"));
    assert_eq!((c.voice.openai.model.as_str(), c.voice.polly.engine.as_str()), ("tts-1", "standard"));
    for shown in [show::text(&c), show::json(&c).to_string(), format!("{c:?}")] {
        assert!(!shown.contains("xi-very-secret"), "{shown}");
        assert!(shown.contains(show::SET_SECRET), "{shown}");
    }
    let e = problem(&[("TRUEREEL_OPENAI_API_KEY", "sk-\u{7}bell")], &[]);
    assert!(e.contains("TRUEREEL_OPENAI_API_KEY") && !e.contains("bell"), "{e}");
    assert!(problem(&[("TRUEREEL_VOICE", "festival")], &[]).contains("one of auto, piper, espeak"));
}

#[test]
fn the_tools_folder_is_found_when_it_is_there() {
    let mut v = Config::default().voice;
    v.tools_dir = "surely-no-such-tools-folder".into();
    assert_eq!(v.tools_dir(), None);
    let dir = tempfile::tempdir().unwrap();
    v.tools_dir = dir.path().to_path_buf();
    assert_eq!(v.tools_dir().as_deref(), Some(dir.path()));
    // Relative: in the current folder (a test runs in its package's), made absolute.
    v.tools_dir = "src".into();
    assert_eq!(v.tools_dir(), Some(std::env::current_dir().unwrap().join("src")));
}

#[test]
fn the_writer_is_chosen_and_an_llm_needs_its_key() {
    let c = Config::default();
    assert_eq!(c.writer.kind, WriterKind::Template);
    assert_eq!(c.writer.openai.base_url, "https://api.openai.com/v1");
    assert!(c.writer.chosen().is_none());
    let e = problem(&[("TRUEREEL_WRITER", "anthropic")], &[]);
    assert!(e.starts_with("TRUEREEL_ANTHROPIC_API_KEY") && e.contains("TRUEREEL_WRITER is anthropic"), "{e}");
    // On Lambda the key may come from the provider secret: the wiring checks it after reading that.
    let lambda = [("TRUEREEL_WRITER", "anthropic"), ("TRUEREEL_PROVIDER_SECRET_ARN", "arn:aws:secretsmanager:x")];
    assert_eq!(Config::load(&env(&lambda), &[]).unwrap().writer.anthropic.key, None);
    let vars = [
        ("TRUEREEL_WRITER", "Gemini"),
        ("TRUEREEL_GEMINI_API_KEY", "g-secret-1"),
        ("TRUEREEL_GEMINI_BASE_URL", "http://127.0.0.1:9/"),
    ];
    let c = Config::load(&env(&vars), &[]).unwrap();
    assert_eq!(c.writer.kind, WriterKind::Gemini);
    let (endpoint, var) = c.writer.chosen().unwrap();
    assert_eq!(var, "TRUEREEL_GEMINI_API_KEY");
    assert_eq!(endpoint.key.as_ref().map(Secret::expose), Some("g-secret-1"));
    assert_eq!(endpoint.base_url, "http://127.0.0.1:9/v1beta");
    assert!(problem(&[("TRUEREEL_WRITER", "gpt")], &[]).contains("one of template, openai, anthropic, gemini"));
}

#[test]
fn keys_are_never_shown() {
    let vars = [("TRUEREEL_WRITER", "openai"), ("TRUEREEL_OPENAI_API_KEY", "sk-live-123")];
    let c = Config::load(&env(&vars), &[]).unwrap();
    let text = show::text(&c);
    let json = show::json(&c).to_string();
    let debug = format!("{c:?}");
    for shown in [&text, &json, &debug] {
        assert!(!shown.contains("sk-live-123"), "{shown}");
    }
    assert!(text.lines().any(|l| l.starts_with("TRUEREEL_OPENAI_API_KEY ") && l.contains(show::SET_SECRET)), "{text}");
    let e = problem(&[("TRUEREEL_OPENAI_API_KEY", "sk-\u{7}bad")], &[]);
    assert!(!e.contains("sk-") && e.contains(show::SET_SECRET), "{e}");
}
