//! `truereel judge`: the local judge on any clip against any photos, the verdict as one JSON object.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use truereel::adapters::providers::judge::clip::judge_clip;
use truereel::config::Config;
use truereel::printable;

/// Arguments of `truereel judge`.
#[derive(clap::Args)]
pub struct JudgeArgs {
    /// A photo the clip must show (repeat for several; the clip is judged against the one it
    /// matches best).
    #[arg(long = "reference", required = true)]
    references: Vec<PathBuf>,
    /// Judge it as a finished reel: its size, length, codecs and loudness too.
    #[arg(long)]
    reel: bool,
    /// The clip (any size, aspect and length; audio optional unless --reel).
    clip: PathBuf,
}

/// Prints the verdict; exit status 0 pass, 1 fail, 2 input that cannot be judged.
pub async fn run(args: &JudgeArgs, config: &Config) -> ExitCode {
    let media = Arc::new(config.media.clone());
    match judge_clip(media, &config.settings, &args.clip, &args.references, args.reel).await {
        Ok(v) => {
            println!("{}", v.to_json());
            if v.passed { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(e) => {
            eprintln!("error: {}", printable(&e.to_string()));
            ExitCode::from(2)
        }
    }
}
