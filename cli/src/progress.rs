//! Progress bars on a terminal: one per stage, counting handled messages against what is queued.
//! What the stages say holds store text, so it is shown escaped.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use truereel::ports::Stage;
use truereel::printable;
use truereel::runner::Progress;
use truereel::stages::Outcome;

pub struct Bars {
    _multi: MultiProgress,
    bars: BTreeMap<Stage, ProgressBar>,
}

impl Bars {
    pub fn new() -> Self {
        let multi = MultiProgress::new();
        let style = ProgressStyle::with_template("{prefix:>9} [{bar:30.cyan/blue}] {pos:>3}/{len:<3} {wide_msg}")
            .expect("a valid template")
            .progress_chars("=> ");
        let bars = Stage::ALL
            .into_iter()
            .map(|stage| {
                let bar = multi.add(ProgressBar::new(0).with_style(style.clone()).with_prefix(stage.as_str()));
                (stage, bar)
            })
            .collect();
        Self { _multi: multi, bars }
    }
}

impl Progress for Bars {
    fn handled(&self, stage: Stage, outcome: &Outcome) {
        let bar = &self.bars[&stage];
        // A message that waits comes back and is counted when it is handled.
        if !matches!(outcome, Outcome::Waiting(_)) {
            bar.inc(1);
        }
        match outcome {
            Outcome::Done(s) | Outcome::Waiting(s) | Outcome::Skipped(s) => bar.set_message(printable(s).into_owned()),
            Outcome::Failed(s) => bar.println(format!("{stage}: failed: {}", printable(s))),
        }
    }

    fn retrying(&self, stage: Stage, subject: &str, error: &str) {
        self.bars[&stage].println(format!("{stage}: {}: will retry: {}", printable(subject), printable(error)));
    }

    fn pending(&self, stage: Stage, pending: u64) {
        let bar = &self.bars[&stage];
        bar.set_length(bar.position() + pending);
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        for bar in self.bars.values() {
            bar.finish();
        }
    }
}
