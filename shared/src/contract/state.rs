//! The [`StateStore`] contract: conditional transitions, history, job slots, insert-if-absent records, sums.

use super::{
    must, sample_clip, sample_issue, sample_ledger_entry, sample_product, sample_reel, sample_reference,
    sample_verdict, unique,
};
use crate::ports::{Charge, JobSlot, StateError, StateStore};
use crate::{Budget, Handle, IdempotencyKey, JobId, LedgerEntry, PhotoKind, ReelId, ReelStatus, Usd, now_ms};

/// Runs every check against `store`. Records use unique ids, so a shared backend is fine.
pub async fn state_store_contract(store: &dyn StateStore) {
    products(store).await;
    references(store).await;
    reels_and_history(store).await;
    transitions_are_conditional(store).await;
    racing_transitions_have_one_winner(store).await;
    job_slots(store).await;
    provider_slots(store).await;
    clips(store).await;
    verdicts(store).await;
    pass_rates(store).await;
    ledger(store).await;
    charges_stay_within_budget(store).await;
    issues(store).await;
}

/// `charge` refuses what would overrun a budget, counts a key once, and holds under a race.
async fn charges_stay_within_budget(store: &dyn StateStore) {
    let reel = sample_reel(&sample_product()).id;
    let budget = Budget { per_reel: Usd::from_dollars(2.0), ..Budget::default() };
    let one = sample_ledger_entry(&reel, Usd::from_dollars(1.5), crate::now_ms());
    assert_eq!(must(store.charge(&one, &budget, 0).await, "charge"), Charge::Charged, "within the reel budget");
    assert_eq!(
        must(store.charge(&one, &budget, 0).await, "charge again"),
        Charge::AlreadyCharged,
        "a key is charged once"
    );
    let two = sample_ledger_entry(&reel, Usd::from_dollars(1.0), crate::now_ms());
    match must(store.charge(&two, &budget, 0).await, "charge over") {
        Charge::OverBudget(why) => assert!(why.contains("reel"), "the refusal names the reel budget: {why}"),
        other => panic!("1.5 + 1.0 over a 2.0 reel budget was {other:?}"),
    }
    assert_eq!(
        must(store.spent(Some(&reel), 0).await, "spent"),
        Usd::from_dollars(1.5),
        "a refused charge is not written"
    );

    // A run budget counts everything since the run started: from 0 it sees the $1.50 above;
    // from a far-future start it sees nothing.
    let run = Budget { per_reel: Usd::from_dollars(100.0), per_run: Some(Usd::from_dollars(1.0)), provider_run: None };
    let reel2 = sample_reel(&sample_product()).id;
    let big = sample_ledger_entry(&reel2, Usd::from_dollars(0.6), crate::now_ms());
    assert!(
        matches!(must(store.charge(&big, &run, 0).await, "run charge"), Charge::OverBudget(w) if w.contains("run"))
    );
    assert_eq!(must(store.charge(&big, &run, i64::MAX).await, "fresh run"), Charge::Charged);

    // Ten workers race to charge $1 each on a $5 reel budget: exactly five win.
    let reel3 = sample_reel(&sample_product()).id;
    let five = Budget { per_reel: Usd::from_dollars(5.0), ..Budget::default() };
    let entries: Vec<_> =
        (0..10).map(|_| sample_ledger_entry(&reel3, Usd::from_dollars(1.0), crate::now_ms())).collect();
    let results = crate::stages::support::join_all(entries.iter().map(|e| store.charge(e, &five, 0)).collect()).await;
    let won = results.into_iter().filter(|r| matches!(r, Ok(Charge::Charged))).count();
    assert_eq!(won, 5, "a raced budget admits exactly what fits");
    assert_eq!(must(store.spent(Some(&reel3), 0).await, "spent"), Usd::from_dollars(5.0));

    // A provider's budget line counts only that provider's charges in the run.
    let since = crate::now_ms() - 1;
    let (p, q) = (crate::contract::unique("prov"), crate::contract::unique("prov"));
    let line = Budget { per_reel: Usd::from_dollars(100.0), per_run: None, provider_run: Some(Usd::from_dollars(1.0)) };
    let charge_to = |provider: &str| LedgerEntry {
        provider: provider.to_string(),
        ..sample_ledger_entry(&sample_reel(&sample_product()).id, Usd::from_dollars(0.6), crate::now_ms())
    };
    assert_eq!(must(store.charge(&charge_to(&p), &line, since).await, "a line's first charge"), Charge::Charged);
    match must(store.charge(&charge_to(&p), &line, since).await, "over the line") {
        Charge::ProviderOverBudget(why) => assert!(why.contains(&p), "the refusal names the provider: {why}"),
        other => panic!("0.6 + 0.6 over {p}'s 1.0 line was {other:?}"),
    }
    assert_eq!(
        must(store.charge(&charge_to(&q), &line, since).await, "another provider's line"),
        Charge::Charged,
        "each provider has its own line"
    );
}

async fn products(store: &dyn StateStore) {
    let mut product = sample_product();
    assert_eq!(must(store.get_product(&product.handle).await, "get a missing product"), None, "unknown product");
    must(store.put_product(&product).await, "put a product");
    assert_eq!(
        must(store.get_product(&product.handle).await, "get a product").as_ref(),
        Some(&product),
        "a product reads back as written"
    );
    product.title = "Renamed".into();
    must(store.put_product(&product).await, "replace a product");
    assert_eq!(
        must(store.get_product(&product.handle).await, "get a replaced product").map(|p| p.title),
        Some("Renamed".to_string()),
        "put_product replaces"
    );
    let listed = must(store.list_products().await, "list products");
    assert_eq!(
        listed.iter().filter(|p| p.handle == product.handle).collect::<Vec<_>>(),
        vec![&product],
        "list_products holds the product once, replaced"
    );
}

async fn references(store: &dyn StateStore) {
    let product = sample_product();
    let other = sample_product();
    let refs: Vec<_> = [3, 1, 2].into_iter().map(|pos| sample_reference(&product.handle, pos)).collect();
    for r in &refs {
        must(store.put_reference(r).await, "put a reference");
    }
    must(store.put_reference(&sample_reference(&other.handle, 1)).await, "put another product's reference");
    let mut replaced = refs[1].clone();
    replaced.kind = PhotoKind::Detail;
    must(store.put_reference(&replaced).await, "replace a reference");

    let got = must(store.references(&product.handle).await, "list references");
    let positions: Vec<u32> = got.iter().map(|r| r.position).collect();
    assert_eq!(positions, vec![1, 2, 3], "references come in gallery order, one per (product, sha256)");
    assert!(got.iter().all(|r| r.product == product.handle), "references of one product only");
    assert_eq!(got[0], replaced, "put_reference replaces the reference with the same sha256");
    assert_eq!(got[2], refs[0], "references read back as written");
    assert!(must(store.references(&sample_product().handle).await, "list no references").is_empty());
}

async fn reels_and_history(store: &dyn StateStore) {
    let product = sample_product();
    let reel = sample_reel(&product);
    assert_eq!(must(store.get_reel(&reel.id).await, "get a missing reel"), None, "unknown reel");
    let before = now_ms();
    assert!(must(store.create_reel(&reel).await, "create a reel"), "create_reel of a new reel returns true");
    let mut again = reel.clone();
    again.round = 7;
    assert!(!must(store.create_reel(&again).await, "create a reel twice"), "create_reel of an existing reel is false");
    assert_eq!(
        must(store.get_reel(&reel.id).await, "get a reel").as_ref(),
        Some(&reel),
        "a second create_reel does not overwrite"
    );
    assert!(
        must(store.list_reels().await, "list reels").iter().any(|r| r.id == reel.id),
        "list_reels includes a created reel"
    );
    let history = must(store.history(&reel.id).await, "read history");
    assert_eq!(history.len(), 1, "a new reel has one history entry, got {history:?}");
    assert_eq!(history[0].0, ReelStatus::Planned, "history starts at planned");
    assert!(history[0].1 >= before - 1_000, "history time is a recent ms timestamp, got {}", history[0].1);
    assert!(must(store.history(&sample_reel(&sample_product()).id).await, "history of no reel").is_empty());
}

async fn transitions_are_conditional(store: &dyn StateStore) {
    let reel = sample_reel(&sample_product());
    must(store.create_reel(&reel).await, "create a reel");

    // The happy step, carrying other changed fields along.
    let mut generating = reel.clone();
    generating.status = ReelStatus::Generating;
    generating.shot_attempts = vec![2; reel.shot_attempts.len()];
    must(store.transition(&generating, ReelStatus::Planned).await, "planned -> generating");
    let stored = must(store.get_reel(&reel.id).await, "get a transitioned reel").expect("the reel still exists");
    assert_eq!(stored.status, ReelStatus::Generating, "transition writes the new status");
    assert_eq!(stored.shot_attempts, generating.shot_attempts, "transition writes the whole reel");
    assert!(stored.updated_ms >= reel.updated_ms, "transition bumps updated_ms");

    // A stale `from` is a conflict naming what was found.
    let mut stale = generating.clone();
    stale.status = ReelStatus::NeedsReview;
    match store.transition(&stale, ReelStatus::Planned).await {
        Err(StateError::Conflict { what, id, expected, found }) => {
            assert_eq!((what, id.as_str()), ("reel", reel.id.as_str()), "conflict names the reel");
            assert_eq!((expected.as_str(), found.as_str()), ("planned", "generating"), "conflict names both statuses");
        }
        other => panic!("contract: a stale transition must be a Conflict, got {other:?}"),
    }

    // A move the machine forbids is refused before touching the store.
    let mut skipping = generating.clone();
    skipping.status = ReelStatus::Published;
    match store.transition(&skipping, ReelStatus::Generating).await {
        Err(StateError::Transition(e)) => {
            assert_eq!(
                (e.from, e.to),
                (ReelStatus::Generating, ReelStatus::Published),
                "transition error names the move"
            )
        }
        other => panic!("contract: generating -> published must be a Transition error, got {other:?}"),
    }
    let stored = must(store.get_reel(&reel.id).await, "get after refused transitions").expect("the reel exists");
    assert_eq!(stored.status, ReelStatus::Generating, "refused transitions change nothing");

    // A reel that does not exist is a conflict too.
    let mut ghost = sample_reel(&sample_product());
    ghost.status = ReelStatus::Generating;
    match store.transition(&ghost, ReelStatus::Planned).await {
        Err(StateError::Conflict { found, .. }) => assert_eq!(found, "missing", "a missing reel is found 'missing'"),
        other => panic!("contract: transitioning a missing reel must be a Conflict, got {other:?}"),
    }

    let statuses: Vec<ReelStatus> =
        must(store.history(&reel.id).await, "read history").into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        statuses,
        vec![ReelStatus::Planned, ReelStatus::Generating],
        "history records each successful transition and only those"
    );
}

async fn racing_transitions_have_one_winner(store: &dyn StateStore) {
    let mut reel = sample_reel(&sample_product());
    must(store.create_reel(&reel).await, "create a reel");
    reel.status = ReelStatus::Generating;
    must(store.transition(&reel, ReelStatus::Planned).await, "planned -> generating");
    let mut assembled = reel.clone();
    assembled.status = ReelStatus::Assembled;
    assembled.round = 1;
    let mut parked = reel.clone();
    parked.status = ReelStatus::NeedsReview;
    parked.reasons = vec!["budget".into()];

    let (a, b) = tokio::join!(
        store.transition(&assembled, ReelStatus::Generating),
        store.transition(&parked, ReelStatus::Generating)
    );
    let winner = match (&a, &b) {
        (Ok(()), Err(StateError::Conflict { .. })) => ReelStatus::Assembled,
        (Err(StateError::Conflict { .. }), Ok(())) => ReelStatus::NeedsReview,
        _ => {
            panic!("contract: of two racing transitions exactly one wins and the other conflicts, got {a:?} and {b:?}")
        }
    };
    let stored = must(store.get_reel(&reel.id).await, "get a raced reel").expect("the reel exists");
    assert_eq!(stored.status, winner, "the stored reel is the winner's");
    let statuses: Vec<ReelStatus> =
        must(store.history(&reel.id).await, "history").into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        statuses,
        vec![ReelStatus::Planned, ReelStatus::Generating, winner],
        "only the winner is in the history"
    );
}

async fn job_slots(store: &dyn StateStore) {
    let key = IdempotencyKey::for_reel(&sample_reel(&sample_product()).id, &unique("submit"));
    assert_eq!(must(store.begin_job(&key, "runway").await, "begin a job"), JobSlot::New, "first claim is New");
    match must(store.begin_job(&key, "runway").await, "begin a job again") {
        JobSlot::Unknown { provider, at_ms } => {
            assert_eq!(provider, "runway", "contract: Unknown names the provider");
            assert!((crate::now_ms() - at_ms).abs() < 60_000, "contract: Unknown says when the intent was made");
        }
        other => panic!("contract: a claim without a recorded job id is Unknown, got {other:?}"),
    }
    let job = JobId::new(unique("job"));
    must(store.record_job(&key, &job).await, "record a job id");
    must(store.record_job(&key, &job).await, "record the same job id again");
    assert_eq!(
        must(store.begin_job(&key, "runway").await, "begin a submitted job"),
        JobSlot::Submitted { job: job.clone(), provider: "runway".into() },
        "a recorded job is Submitted"
    );
    match store.record_job(&key, &JobId::new(unique("other"))).await {
        Err(StateError::Conflict { what, found, .. }) => {
            assert_eq!((what, found.as_str()), ("job", job.as_str()), "job conflict names the recorded id")
        }
        other => panic!("contract: recording a different job id must be a Conflict, got {other:?}"),
    }
    assert_eq!(
        must(store.begin_job(&key, "runway").await, "begin after a conflict"),
        JobSlot::Submitted { job: job.clone(), provider: "runway".into() },
        "a conflicting record_job changes nothing"
    );
    let unclaimed = IdempotencyKey::for_reel(&sample_reel(&sample_product()).id, &unique("never-begun"));
    assert!(
        matches!(store.record_job(&unclaimed, &JobId::new("x")).await, Err(StateError::NotFound { what: "job", .. })),
        "record_job without begin_job is NotFound"
    );
    assert!(!must(store.forget_job(&key).await, "forget a submitted job"), "a job with an id is never forgotten");
    let refused = IdempotencyKey::for_reel(&sample_reel(&sample_product()).id, &unique("quota"));
    assert_eq!(must(store.begin_job(&refused, "runway").await, "claim"), JobSlot::New);
    assert!(must(store.forget_job(&refused).await, "forget an intent"), "an intent without an id is forgotten");
    assert_eq!(
        must(store.begin_job(&refused, "still-motion").await, "claim again"),
        JobSlot::New,
        "a forgotten intent may be claimed again, for another provider"
    );
}

async fn provider_slots(store: &dyn StateStore) {
    let provider = unique("provider");
    let later = crate::now_ms() + 60_000;
    assert!(must(store.acquire_slot(&provider, 2, "a", later).await, "slot a"), "first of two slots");
    assert!(must(store.acquire_slot(&provider, 2, "b", later).await, "slot b"), "second of two slots");
    assert!(!must(store.acquire_slot(&provider, 2, "c", later).await, "slot c"), "no third slot");
    assert!(must(store.acquire_slot(&provider, 2, "a", later + 1).await, "renew a"), "a holder renews its slot");
    must(store.release_slot(&provider, 2, "b").await, "give back b");
    must(store.release_slot(&provider, 2, "nobody").await, "give back what is not held");
    assert!(must(store.acquire_slot(&provider, 2, "c", later).await, "slot c again"), "a freed slot is taken");
    assert!(!must(store.acquire_slot(&provider, 2, "d", later).await, "slot d"), "full again");
    // A lapsed lease comes back.
    let lapsed = unique("provider");
    assert!(must(store.acquire_slot(&lapsed, 1, "crashed", crate::now_ms() - 1).await, "lapsed"), "taken");
    assert!(must(store.acquire_slot(&lapsed, 1, "next", later).await, "after lapse"), "a lapsed slot is taken");
    // Racers for the last slot: exactly one wins.
    let last = unique("provider");
    let wins = tokio::join!(
        store.acquire_slot(&last, 1, "racer-0", later),
        store.acquire_slot(&last, 1, "racer-1", later),
        store.acquire_slot(&last, 1, "racer-2", later),
        store.acquire_slot(&last, 1, "racer-3", later),
    );
    let won = [wins.0, wins.1, wins.2, wins.3].into_iter().filter(|w| matches!(w, Ok(true))).count();
    assert_eq!(won, 1, "contract: racing for the last slot has one winner");

    let run = crate::now_ms();
    assert_eq!(must(store.provider_hold(&provider, run).await, "no hold"), None);
    let hold = crate::ports::ProviderHold { provider: provider.clone(), run, why: "daily quota".into() };
    must(store.hold_provider(&hold).await, "hold");
    must(store.hold_provider(&crate::ports::ProviderHold { why: "again".into(), ..hold.clone() }).await, "hold again");
    assert_eq!(must(store.provider_hold(&provider, run).await, "held"), Some(hold), "the first words are kept");
    assert_eq!(must(store.provider_hold(&provider, run + 1).await, "next run"), None, "a hold is for its run");
}

async fn clips(store: &dyn StateStore) {
    let reel = sample_reel(&sample_product());
    let second = sample_clip(&reel.id, 1, 1);
    let first = sample_clip(&reel.id, 0, 1);
    let retry = sample_clip(&reel.id, 0, 2);
    for c in [&second, &first, &retry] {
        assert!(must(store.put_clip(c).await, "put a clip"), "a new clip is inserted");
    }
    let mut dup = first.clone();
    dup.provider = "runway".into();
    assert!(
        !must(store.put_clip(&dup).await, "put a clip twice"),
        "a second clip for (reel, shot, attempt) is refused"
    );
    assert_eq!(
        must(store.clips(&reel.id).await, "list clips"),
        vec![first, retry, second],
        "clips come by shot then attempt, the first write kept"
    );
}

async fn verdicts(store: &dyn StateStore) {
    let reel = sample_reel(&sample_product());
    let round2 = sample_verdict(&reel.id, 2, true);
    let round1 = sample_verdict(&reel.id, 1, false);
    must(store.put_verdict(&round2).await, "put a verdict");
    must(store.put_verdict(&round1).await, "put a verdict");
    assert_eq!(must(store.verdicts(&reel.id).await, "list verdicts"), vec![round1, round2.clone()], "by round");
    let mut rejudged = round2.clone();
    rejudged.passed = false;
    must(store.put_verdict(&rejudged).await, "replace a verdict");
    let got = must(store.verdicts(&reel.id).await, "list verdicts");
    assert_eq!(got.len(), 2, "one verdict per (reel, round, judge)");
    assert_eq!(got[1], rejudged, "put_verdict replaces the verdict of the same round and judge");
}

/// A judged clip counts once towards its brand's tallies, racing workers included; brands apart.
async fn pass_rates(store: &dyn StateStore) {
    use crate::learning::{ClipOutcome, Facet, Tally};
    // Brands of this run alone: a contract may run twice on one store.
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let (brand, other) = (format!("https://shop-{nonce}.example.com"), format!("demo-store-{nonce}"));
    let (brand, other) = (brand.as_str(), other.as_str());
    let outcome = |key: &str, passed: bool, motion: &str| ClipOutcome {
        key: key.into(),
        passed,
        facets: vec![(Facet::Provider, "runway".into()), (Facet::Motion, motion.into())],
    };
    assert!(must(store.pass_rates(brand).await, "read pass rates").is_empty());
    let first = outcome("r1/shot-1/attempt-1", false, "push_in");
    let racing = crate::stages::support::join_all((0..4).map(|_| store.record_outcome(brand, &first)).collect()).await;
    let counted = racing.into_iter().map(|r| must(r, "count an outcome")).filter(|c| *c).count();
    assert_eq!(counted, 1, "a clip counts once however many workers count it");
    assert!(must(store.record_outcome(brand, &outcome("r1/shot-2/attempt-1", true, "pull_out")).await, "count"));
    assert!(must(store.record_outcome(brand, &outcome("r2/shot-1/attempt-1", true, "push_in")).await, "count"));
    assert!(must(store.record_outcome(other, &outcome("r9/shot-1/attempt-1", true, "tilt_up")).await, "count"));
    let read = |brand| async move {
        let mut got = must(store.pass_rates(brand).await, "read pass rates");
        got.sort_by(|a, b| (a.facet, &a.value).cmp(&(b.facet, &b.value)));
        got
    };
    let t = |facet, value: &str, passed, failed| Tally { facet, value: value.into(), passed, failed };
    assert_eq!(
        read(brand).await,
        vec![t(Facet::Provider, "runway", 2, 1), t(Facet::Motion, "pull_out", 1, 0), t(Facet::Motion, "push_in", 1, 1)]
    );
    assert_eq!(read(other).await, vec![t(Facet::Provider, "runway", 1, 0), t(Facet::Motion, "tilt_up", 1, 0)]);
}

async fn ledger(store: &dyn StateStore) {
    let reel = sample_reel(&sample_product()).id;
    let other = sample_reel(&sample_product()).id;
    let now = now_ms();
    let old = sample_ledger_entry(&reel, Usd(1_000), now - 3_600_000);
    let recent = sample_ledger_entry(&reel, Usd(20_000), now);
    let elsewhere = sample_ledger_entry(&other, Usd(300_000), now + 1);
    for e in [&old, &recent, &elsewhere] {
        assert!(must(store.append_ledger(e).await, "append a ledger entry"), "a new key is appended");
    }
    let mut dup = recent.clone();
    dup.usd = Usd(999_999);
    assert!(!must(store.append_ledger(&dup).await, "append a key twice"), "a second entry with a key is refused");

    assert_eq!(
        must(store.ledger(Some(&reel)).await, "list a reel's ledger"),
        vec![old.clone(), recent.clone()],
        "a reel's ledger, oldest first, the first write kept"
    );
    let all = must(store.ledger(None).await, "list the whole ledger");
    for e in [&old, &recent, &elsewhere] {
        assert!(all.contains(e), "the whole ledger holds {}", e.key);
    }
    assert_eq!(must(store.spent(Some(&reel), now).await, "spent on a reel"), Usd(21_000), "a reel's whole ledger");
    // Other writers may share the backend, so the run-wide sum is only bounded below here.
    let since = must(store.spent(None, now).await, "spent since");
    assert!(since >= Usd(320_000), "spent(None, since) counts entries at or after since, got {since}");
    assert_eq!(must(store.spent(Some(&sample_reel(&sample_product()).id), 0).await, "spent on nothing"), Usd::ZERO);
}

async fn issues(store: &dyn StateStore) {
    let product = sample_product().handle;
    let now = now_ms();
    let early = sample_issue(&product, now - 60_000);
    let mut late = sample_issue(&product, now);
    late.fatal = true;
    must(store.record_issue(&early).await, "record an issue");
    must(store.record_issue(&late).await, "record an issue");
    let mine = |v: Vec<crate::ports::ProductIssue>| -> Vec<_> {
        v.into_iter().filter(|i| i.product == product.as_str()).collect()
    };
    assert_eq!(
        mine(must(store.issues_since(now).await, "issues since now")),
        vec![late.clone()],
        "issues_since filters by time"
    );
    assert_eq!(mine(must(store.issues_since(now - 60_000).await, "issues since")), vec![early, late], "oldest first");
}

/// A record a test broke by hand, for [`unreadable_records_are_skipped_and_named`].
#[derive(Debug, Clone)]
pub enum Broken {
    Product(Handle),
    Reel(ReelId),
    /// Every issue recorded for this product.
    IssuesOf(Handle),
}

/// One unreadable product, reel or issue never hides the rest: the listings return every readable
/// record and name the unreadable ones; `list_*` skip them. `corrupt` overwrites the stored body of
/// the record it is given with something that does not parse (each store knows how).
pub async fn unreadable_records_are_skipped_and_named<F, Fut>(store: &dyn StateStore, corrupt: F)
where
    F: Fn(Broken) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (good, bad) = (sample_product(), sample_product());
    let (good_reel, bad_reel) = (sample_reel(&good), sample_reel(&bad));
    let since = now_ms() - 1;
    for p in [&good, &bad] {
        must(store.put_product(p).await, "put a product");
        must(store.record_issue(&sample_issue(&p.handle, now_ms())).await, "record an issue");
    }
    for r in [&good_reel, &bad_reel] {
        assert!(must(store.create_reel(r).await, "create a reel"));
    }
    corrupt(Broken::Product(bad.handle.clone())).await;
    corrupt(Broken::Reel(bad_reel.id.clone())).await;
    corrupt(Broken::IssuesOf(bad.handle.clone())).await;

    let products = must(store.scan_products().await, "scan products with one unreadable");
    assert!(products.records.contains(&good), "the readable product is listed");
    assert!(!products.records.iter().any(|p| p.handle == bad.handle), "the broken product is not");
    assert!(
        products.unreadable.iter().any(|u| u.what == "product" && u.id == bad.handle.as_str() && !u.reason.is_empty()),
        "the broken product is named with why: {:?}",
        products.unreadable
    );
    let listed = must(store.list_products().await, "list products with one unreadable");
    assert!(listed.contains(&good) && !listed.iter().any(|p| p.handle == bad.handle));

    let reels = must(store.scan_reels().await, "scan reels with one unreadable");
    assert!(reels.records.contains(&good_reel), "the readable reel is listed");
    assert!(!reels.records.iter().any(|r| r.id == bad_reel.id), "the broken reel is not");
    assert!(
        reels.unreadable.iter().any(|u| u.what == "reel" && u.id == bad_reel.id.as_str() && !u.reason.is_empty()),
        "the broken reel is named with why: {:?}",
        reels.unreadable
    );
    let listed = must(store.list_reels().await, "list reels with one unreadable");
    assert!(listed.contains(&good_reel) && !listed.iter().any(|r| r.id == bad_reel.id));
    match store.get_reel(&bad_reel.id).await {
        Err(StateError::Corrupt { what: "reel", id, .. }) => assert_eq!(id, bad_reel.id.as_str()),
        other => panic!("reading the broken reel alone is Corrupt naming it, got {other:?}"),
    }

    let issues = must(store.scan_issues(since).await, "scan issues with one unreadable");
    assert!(issues.records.iter().any(|i| i.product == good.handle.as_str()), "the readable issue is listed");
    assert!(!issues.records.iter().any(|i| i.product == bad.handle.as_str()), "the broken issue is not");
    assert!(issues.unreadable.iter().any(|u| u.what == "issue"), "the broken issue is named");
    let listed = must(store.issues_since(since).await, "issues with one unreadable");
    assert!(listed.iter().any(|i| i.product == good.handle.as_str()));
}

/// Two store instances over one backend (two processes, two Lambdas) race the same transition
/// ten times: exactly one wins, the loser's conflict names the winner's status, and the history
/// has one row per winning transition.
pub async fn racing_transitions_across_instances(a: std::sync::Arc<dyn StateStore>, b: std::sync::Arc<dyn StateStore>) {
    for _ in 0..10 {
        let reel = sample_reel(&sample_product());
        assert!(must(a.create_reel(&reel).await, "create a reel"));
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let racer = |store: std::sync::Arc<dyn StateStore>, to: ReelStatus| {
            let (barrier, mut reel) = (barrier.clone(), reel.clone());
            tokio::spawn(async move {
                reel.status = to;
                barrier.wait().await;
                store.transition(&reel, ReelStatus::Planned).await
            })
        };
        let one = racer(a.clone(), ReelStatus::Generating);
        let two = racer(b.clone(), ReelStatus::NeedsReview);
        let (one, two) = (one.await.expect("racer one"), two.await.expect("racer two"));
        let (winner, found) = match (&one, &two) {
            (Ok(()), Err(StateError::Conflict { found, .. })) => (ReelStatus::Generating, found),
            (Err(StateError::Conflict { found, .. }), Ok(())) => (ReelStatus::NeedsReview, found),
            _ => panic!("contract: expected one winner and one conflict, got {one:?} and {two:?}"),
        };
        assert_eq!(found, winner.as_str(), "contract: the loser's conflict names the winner's status");
        let stored = must(b.get_reel(&reel.id).await, "read the raced reel").expect("the raced reel exists");
        assert_eq!(stored.status, winner, "contract: the winner's write is what is stored");
        let statuses: Vec<_> = must(a.history(&reel.id).await, "history").into_iter().map(|(s, _)| s).collect();
        assert_eq!(statuses, vec![ReelStatus::Planned, winner], "contract: one history row per winning transition");
    }
}
