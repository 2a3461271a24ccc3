//! `truereel serve` and `truereel embed`: thin commands over the origin crate (`truereel_origin`).

use anyhow::{Context, Result};
use std::process::ExitCode;
use std::sync::Arc;
use truereel::config::Config;
use truereel::printable;

/// Serves the data folder until the process is stopped, or with `sign`, prints a signed link and exits.
pub async fn run(config: &Config, sign: Option<&str>) -> Result<ExitCode> {
    let home = crate::existing_home(config)?;
    let data = home.data_dir.display().to_string();
    let api = truereel_origin::api_open_on(&config.serve.bind);
    if let Some(key) = sign {
        let key = truereel::BlobKey::parse(key).with_context(|| format!("--sign {}", printable(key)))?;
        let origin = truereel_origin::Origin::new(home, config.clone(), config.serve.bind, api)?;
        println!("{}", origin.signed_link(&key));
        return Ok(ExitCode::SUCCESS);
    }
    let listener = tokio::net::TcpListener::bind(config.serve.bind)
        .await
        .with_context(|| format!("listening on {}", config.serve.bind))?;
    let bound = listener.local_addr()?;
    let review_line = match api {
        true => format!("http://{bound}/"),
        false => {
            truereel_origin::review::login_token(&home.data_dir)?;
            format!(
                "http://{bound}/?token=<the token in {}>",
                printable(&home.data_dir.join(truereel_origin::review::TOKEN_FILE).display().to_string())
            )
        }
    };
    // With port 0 the base is the port actually bound.
    let origin = truereel_origin::Origin::new(home, config.clone(), bound, api)?;
    let base = origin.urls().base().to_string();
    let api_line = match api {
        true => format!("http://{bound}/api/ (read only)"),
        false => format!("http://{bound}/api/ (read only; a review session or Authorization: Bearer <token>)"),
    };
    // One write, so a reader that takes the first line and goes away has the rest already (the
    // server writes nothing to standard output after it).
    let banner = format!(
        "serving {} on http://{bound}\n  reels: {base}/reels/<handle>.mp4 (the current version), \
         {base}/reels/<handle>/v<n>.mp4 (each version), posters as .jpg\n  API:   {api_line}\n  review: {review_line}\n",
        printable(&data)
    );
    print!("{banner}");
    tracing::info!(%bound, base, api, "Serving.");
    truereel_origin::serve(listener, truereel_origin::router(Arc::new(origin))).await?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the embed snippet of a product's published reel.
pub async fn embed(config: &Config, name: &str) -> Result<ExitCode> {
    let home = crate::existing_home(config)?;
    let urls = truereel_origin::PublicUrls::new(&config.serve.public_base_url());
    let embed = truereel_origin::embed(&home, &urls, name).await?;
    println!("{}", embed.html());
    Ok(ExitCode::SUCCESS)
}
