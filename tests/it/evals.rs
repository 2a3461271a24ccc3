//! Evaluations as data and the verdicts steering the next plans, on the embedded home: every
//! judged clip counts once towards its brand's pass rates, `truereel evals` exports every
//! evaluation and the table, and a camera move that keeps failing is chosen less next time.

use truereel::homes::embedded::Embedded;
use truereel::learning::{Facet, brand_of};
use truereel::messages::PlanOptions;
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::{Motion, ReelStatus};
use truereel_tests::{Misrepresenting, drain_store_with, init_logs, sample_store, small_config};

/// Another product's photo: blue shoes.
const OTHER: &str = "slipon-blue-side.jpg";

/// How many shots of `plans` push in.
fn push_ins<'a>(plans: impl IntoIterator<Item = &'a truereel::ShotPlan>) -> (usize, usize) {
    let shots: Vec<Motion> = plans.into_iter().flat_map(|p| p.shots.iter().map(|s| s.motion)).collect();
    (shots.iter().filter(|m| **m == Motion::PushIn).count(), shots.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_move_that_keeps_failing_is_chosen_less_in_the_next_plans() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let config = small_config();
    let mut e = Embedded::open_for_runner(data.path(), &config).await.unwrap();
    // A provider that cannot push in: every push-in shows another product, and the judge says so.
    Misrepresenting::install_for_motion(&mut e.ports, Motion::PushIn, OTHER);

    // Every product planned first, with nothing learned yet (plans wait for approval).
    let planning = PlanOptions { approve: true, ..Default::default() };
    drain_store_with(&e, &sample_store(), None, planning).await;
    let reels = e.ports.state.list_reels().await.unwrap();
    assert!(reels.len() >= 4, "{} reels", reels.len());
    let (before, shots_before) = push_ins(reels.iter().map(|r| &r.plan));
    assert!(before >= 4, "the planner's own choice pushes in now and then: {before} of {shots_before}");
    let product = e.ports.state.get_product(&reels[0].product).await.unwrap().unwrap();
    let brand = brand_of(&product.store);
    assert!(e.ports.state.pass_rates(&brand).await.unwrap().is_empty());

    for r in &reels {
        truereel::stages::plan::approve(&e.ports, &r.id).await.unwrap();
    }
    let report =
        runner::drain(&e.ports, &RunOptions::default(), std::sync::Arc::new(LogProgress::default())).await.unwrap();
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    // Each push-in failed the judge and came out right pulling out (the retry reverses the move).
    let rates = truereel::learning::PassRates::new(&e.ports.state.pass_rates(&brand).await.unwrap());
    let (passed, failed) = rates.get(Facet::Motion, "push_in");
    assert!(failed >= before as u64 && passed == 0, "push-in: {passed} passed, {failed} failed");
    assert!(rates.get(Facet::Motion, "pull_out").0 > 0);
    let (p, x) = rates.get(Facet::Provider, "still-motion");
    let judged = p + x;
    let clips: usize = {
        let mut n = 0;
        for r in &reels {
            let reel = e.ports.state.get_reel(&r.id).await.unwrap().unwrap();
            assert_eq!(reel.status, ReelStatus::Published, "{}: {:?}", reel.id, reel.reasons);
            n += reel.shot_attempts.iter().map(|a| *a as usize).sum::<usize>();
        }
        n
    };
    assert_eq!(judged as usize, clips, "every clip made was counted once, by its provider");

    // The next plans of the same products choose pushing in less, and say why.
    let mut next = Vec::new();
    for r in &reels {
        let product = e.ports.state.get_product(&r.product).await.unwrap().unwrap();
        for planned in truereel::stages::plan::preview(&e.ports, &product, &r.options).await.unwrap() {
            next.push(planned.unwrap().plan);
        }
    }
    let (after, shots_after) = push_ins(&next);
    assert!(after * 2 < before, "push-ins: {before} of {shots_before} before, {after} of {shots_after} after");
    let notes: Vec<&String> = next.iter().flat_map(|p| &p.notes).collect();
    assert!(notes.iter().any(|n| n.contains("instead of push_in 0/")), "{notes:#?}");

    // The evaluations as `truereel evals` exports them, and the table it shows.
    let all = truereel::report::evals::evaluations(e.ports.state.as_ref()).await.unwrap();
    let mut stored = 0;
    for r in &reels {
        stored += e.ports.state.verdicts(&r.id).await.unwrap().len();
    }
    let lines: Vec<serde_json::Value> =
        truereel::report::evals::jsonl(&all).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), stored, "one line per stored evaluation");
    let failed_push = lines.iter().find(|l| l["passed"] == false && l["judge"] == "product-match").unwrap();
    for key in ["reel", "product", "brand", "round", "judge", "checks", "reasons", "spent_usd", "at_ms"] {
        assert!(!failed_push[key].is_null(), "{key} in {failed_push}");
    }
    let shot = failed_push["shots"].as_array().unwrap().iter().find(|s| s["passed"] == false).unwrap();
    assert_eq!((shot["motion"].as_str(), shot["provider"].as_str()), (Some("push_in"), Some("still-motion")), "{shot}");
    let rates = truereel::report::evals::pass_rates(e.ports.state.as_ref()).await.unwrap();
    let table = truereel::report::evals::summary_text(&rates);
    assert!(table.contains(&brand), "{table}");
    let row = table.lines().find(|l| l.trim_start().starts_with("motion") && l.contains("push_in")).unwrap();
    assert!(row.split_whitespace().any(|w| w == "0%"), "push-in passes 0% of the time: {row}");
}
