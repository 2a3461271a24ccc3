//! `GET /products/<handle>`: each of a product's reels with its player (the published stable URL,
//! else a signed link to the latest draft round), the shot list with each reference photo beside its
//! clip, the judge's scores and reasons, the contact sheet, the script and voice-over, the ledger, the
//! embed snippet of a published reel, and the forms a person acts with.

use super::catalogue::status_text;
use super::html::{csrf_field, escape, page};
use super::{Refused, ReviewError, Shared, Visitor, admit, answer, take_message};
use crate::links::url_path;
use crate::server::Origin;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use truereel::{BlobKey, Handle, Reel, ReelStatus};

pub(crate) async fn view(
    State(origin): Shared,
    Path(handle): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Refused> {
    let visitor = admit(&origin, &headers, &uri)?;
    let Ok(handle) = Handle::parse(&handle) else { return Err(StatusCode::NOT_FOUND.into_response().into()) };
    let Some(product) = origin.home.ports.state.get_product(&handle).await.map_err(ReviewError::from)? else {
        return Err(StatusCode::NOT_FOUND.into_response().into());
    };
    let said = take_message(&visitor.session);
    let body = reels(&origin, &visitor, &product).await?;
    Ok(answer(&origin, &visitor, page(&product.title, said.as_deref(), &body)))
}

/// A signed page-relative link to `key` when it is stored.
async fn link(origin: &Origin, key: &BlobKey) -> Result<Option<String>, ReviewError> {
    Ok(origin.stored_link(key).await?)
}

async fn reels(origin: &Origin, visitor: &Visitor, product: &truereel::Product) -> Result<String, ReviewError> {
    let state = &origin.home.ports.state;
    let mut mine: Vec<Reel> =
        state.scan_reels().await?.records.into_iter().filter(|r| r.product == product.handle).collect();
    mine.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut out = String::new();
    if let Some(photo) = super::catalogue::first_photo(origin, product).await? {
        out += &format!(
            "<img class=\"hero\" src=\"{}\" alt=\"{}\" width=\"160\">",
            escape(&photo),
            escape(&product.title)
        );
    }
    if mine.is_empty() {
        out += "<p>No reel yet.</p>";
    }
    let csrf = visitor.session.csrf(&origin.key);
    for reel in &mine {
        out += &one(origin, reel, &csrf).await?;
    }
    Ok(out)
}

async fn one(origin: &Origin, reel: &Reel, csrf: &str) -> Result<String, ReviewError> {
    let state = &origin.home.ports.state;
    let id = escape(reel.id.as_str());
    let name = match reel.id.variant() {
        Some(v) => format!("Reel ({})", escape(&v.to_string())),
        None => "Reel".to_string(),
    };
    let cost = state.spent(Some(&reel.id), 0).await?;
    let mut out = format!(
        "<section aria-labelledby=\"r-{id}\" data-reel=\"{id}\"><h2 id=\"r-{id}\">{name}</h2>\
         <p>Status: <span class=\"status\" id=\"status-{id}\">{status}</span> · round {round} · plan revision {rev} · \
         cost so far {cost}</p>",
        status = escape(&status_text(reel)),
        round = reel.round,
        rev = reel.revision,
        cost = escape(&cost.to_string()),
    );
    if !reel.reasons.is_empty() {
        out += "<ul>";
        for r in &reel.reasons {
            out += &format!("<li>{}</li>", escape(r));
        }
        out += "</ul>";
    }
    // The player: a parked cut is what a person decides on; otherwise the published reel.
    let published = reel.current_version().is_some();
    let parked_cut = reel.status == ReelStatus::NeedsReview && reel.video.is_some();
    let (src, what) = if published && !parked_cut {
        (url_path(&BlobKey::published_reel(&reel.id)), "the published reel (its stable URL)")
    } else {
        (
            match &reel.video {
                Some(k) => link(origin, k).await?,
                None => None,
            },
            if parked_cut { "the parked cut (not published)" } else { "the latest draft" },
        )
    };
    let poster = link(origin, &BlobKey::reel_poster(&reel.id, reel.round)).await?;
    if let Some(src) = src {
        out += &format!(
            "<h3>Player</h3><p>Playing {what}.</p><video class=\"player\" id=\"player-{id}\" src=\"{src}\"{poster} \
             controls playsinline muted preload=\"metadata\" aria-label=\"{label}\"></video>",
            src = escape(&src),
            poster = poster.map(|p| format!(" poster=\"{}\"", escape(&p))).unwrap_or_default(),
            label = escape(&format!("Reel of {}", reel.product.as_str())),
        );
    }
    if published {
        match crate::embed::embed_of(&origin.home, &origin.urls, reel).await {
            Ok(embed) => {
                out += &format!(
                    "<h3>Embed</h3><label for=\"embed-{id}\">Embed snippet (paste it into the product page)</label>\
                     <textarea id=\"embed-{id}\" rows=\"3\" readonly>{}</textarea>\
                     <button type=\"button\" data-copy=\"embed-{id}\">Copy the snippet</button>",
                    escape(&embed.html())
                );
            }
            Err(e) => out += &format!("<p>No embed snippet: {}</p>", escape(&e.to_string())),
        }
    }
    out += &actions(reel, csrf);
    out += &shots(origin, reel, csrf).await?;
    out += &verdicts(origin, reel).await?;
    // Contact sheet, voice-over.
    let sheet = truereel::stages::sheet::latest_contact_sheet(origin.home.ports.blobs.as_ref(), reel).await?;
    let sheet = match sheet {
        Some((round, key)) => link(origin, &key).await?.map(|l| (round, l)),
        None => None,
    };
    if let Some((round, l)) = sheet {
        out += &format!(
            "<h3>Contact sheet</h3><img src=\"{}\" alt=\"Contact sheet of round {round}: a frame of every shot\" \
             style=\"max-width:100%\">",
            escape(&l)
        );
    }
    out += "<h3>Script and voice-over</h3><ol>";
    for s in &reel.plan.shots {
        out += &format!("<li>{}</li>", escape(&s.line));
    }
    out += "</ol>";
    if let Some(l) = link(origin, &reel.voice_over.audio).await? {
        out += &format!(
            "<audio controls preload=\"none\" src=\"{}\" aria-label=\"Voice-over ({})\"></audio>",
            escape(&l),
            escape(&reel.voice_over.voice)
        );
    }
    out += &ledger(origin, reel).await?;
    if !reel.flags.is_empty() {
        out += "<h3>Flags</h3><ul class=\"flags\">";
        for f in &reel.flags {
            let shots: Vec<String> = f.shots.iter().map(u32::to_string).collect();
            out += &format!("<li>{} (shots {})</li>", escape(&f.reason), escape(&shots.join(", ")));
        }
        out += "</ul>";
    }
    out += &versions(reel);
    out += "</section>";
    Ok(out)
}

/// The forms a person can use on `reel` in its state.
fn actions(reel: &Reel, csrf: &str) -> String {
    let id = escape(reel.id.as_str());
    let hidden = format!("{}<input type=\"hidden\" name=\"reel\" value=\"{id}\">", csrf_field(csrf));
    let mut out = String::from("<h3>Actions</h3>");
    match reel.status {
        ReelStatus::AwaitingApproval => {
            out += &format!(
                "<form method=\"post\" action=\"/actions/approve\">{hidden}\
                 <button type=\"submit\" id=\"approve-{id}\">Approve the plan</button></form>\
                 <form method=\"post\" action=\"/actions/reject\">{hidden}\
                 <label for=\"reject-reason-{id}\">Why reject the plan</label>\
                 <textarea id=\"reject-reason-{id}\" name=\"reason\" rows=\"2\" required></textarea>\
                 <button type=\"submit\">Reject the plan</button></form>"
            );
        }
        ReelStatus::Published => {
            out += &format!(
                "<form method=\"post\" action=\"/actions/flag\">{hidden}\
                 <label for=\"flag-reason-{id}\">Why flag the reel (a platform's or your reason)</label>\
                 <textarea id=\"flag-reason-{id}\" name=\"reason\" rows=\"2\" required></textarea>\
                 <label for=\"flag-shots-{id}\">Shots to make again (numbers from 1, comma-separated; empty: every \
                 shot)</label><input id=\"flag-shots-{id}\" name=\"shots\" inputmode=\"numeric\" \
                 pattern=\"[0-9, ]*\">\
                 <button type=\"submit\" id=\"flag-{id}\">Flag the reel</button></form>"
            );
        }
        ReelStatus::NeedsReview => {
            if reel.video.is_some() {
                out += &format!(
                    "<form method=\"post\" action=\"/actions/publish\">{hidden}\
                     <label for=\"publish-reason-{id}\">Why publish the parked cut over the judge</label>\
                     <textarea id=\"publish-reason-{id}\" name=\"reason\" rows=\"2\" required></textarea>\
                     <button type=\"submit\" id=\"publish-{id}\">Publish this cut</button></form>"
                );
            }
            out += &format!(
                "<form method=\"post\" action=\"/actions/regenerate\">{hidden}\
                 <label for=\"regenerate-shots-{id}\">Shots to make again (numbers from 1, comma-separated; empty: \
                 every shot)</label><input id=\"regenerate-shots-{id}\" name=\"shots\" inputmode=\"numeric\" \
                 pattern=\"[0-9, ]*\"><label for=\"regenerate-reason-{id}\">Why (optional)</label>\
                 <input id=\"regenerate-reason-{id}\" name=\"reason\">\
                 <button type=\"submit\" id=\"regenerate-{id}\">Send the shots back to video</button></form>"
            );
        }
        _ => out += "<p>Nothing to do while it is in this state.</p>",
    }
    out
}

/// Every version published: the one served, the retired ones, and why a person published one over
/// the judge.
fn versions(reel: &Reel) -> String {
    if reel.versions.is_empty() {
        return String::new();
    }
    let current = reel.current_version().map(|v| v.version);
    let mut out = String::from("<h3>Versions</h3><ul class=\"versions\">");
    for v in &reel.versions {
        let state = if Some(v.version) == current { "served at the stable URL" } else { "retired (kept, not linked)" };
        let url = url_path(&v.file).unwrap_or_default();
        out += &format!(
            "<li><a href=\"{}\">version {}</a> (round {}): {state}{}{}</li>",
            escape(&url),
            v.version,
            v.round,
            v.flag.as_ref().map(|f| format!("; answers flag {}", escape(f))).unwrap_or_default(),
            v.overruled
                .as_ref()
                .map(|r| format!("; published by a person over the judge: {}", escape(r)))
                .unwrap_or_default(),
        );
    }
    out + "</ul>"
}

async fn shots(origin: &Origin, reel: &Reel, csrf: &str) -> Result<String, ReviewError> {
    let state = &origin.home.ports.state;
    let clips = state.clips(&reel.id).await?;
    let references = state.references(&reel.product).await?;
    let id = escape(reel.id.as_str());
    let can_redo = matches!(reel.status, ReelStatus::Published | ReelStatus::NeedsReview);
    let starts = reel.plan.starts_ms();
    let mut out = String::from(
        "<h3>Shots</h3><table class=\"shots\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Reference \
         photo</th><th scope=\"col\">Clip</th><th scope=\"col\">Line</th></tr></thead><tbody>",
    );
    for shot in &reel.plan.shots {
        let n = shot.index + 1;
        let photo = match references.iter().find(|r| r.sha256 == shot.reference) {
            Some(r) => match link(origin, &r.blob).await? {
                Some(l) => format!("<img src=\"{}\" alt=\"Reference photo of shot {n}\">", escape(&l)),
                None => "(photo missing)".into(),
            },
            None => "(no reference)".into(),
        };
        let attempt = reel.shot_attempts.get(shot.index as usize).copied().unwrap_or(1);
        let clip = clips.iter().filter(|c| c.shot == shot.index).max_by_key(|c| (c.attempt == attempt, c.attempt));
        let assembled = !matches!(reel.status, ReelStatus::Generating | ReelStatus::Planned) && reel.video.is_some();
        let clip = match clip {
            // A still-motion shot is a recipe rendered into the reel: its part of the reel is shown.
            Some(c) if c.recipe => match (&reel.video, assembled && c.attempt == attempt) {
                (Some(video), true) => match link(origin, video).await? {
                    Some(l) => {
                        let from = starts.get(shot.index as usize).copied().unwrap_or(0);
                        let to = from + shot.duration_ms;
                        format!(
                            "<video src=\"{}#t={:.2},{:.2}\" controls muted preload=\"none\" aria-label=\"Shot {n} \
                             in the reel, a camera move over its photo (attempt {})\"></video>",
                            escape(&l),
                            from as f64 / 1000.0,
                            to as f64 / 1000.0,
                            c.attempt
                        )
                    }
                    None => "(reel missing)".into(),
                },
                _ => "(a camera move over the photo, rendered when the reel is assembled)".into(),
            },
            Some(c) => match link(origin, &c.blob).await? {
                Some(l) => format!(
                    "<video src=\"{}\" controls muted preload=\"none\" aria-label=\"Clip of shot {n}, attempt {}\"></video>",
                    escape(&l),
                    c.attempt
                ),
                None => "(clip missing)".into(),
            },
            None => "(no clip yet)".into(),
        };
        let regenerate = if can_redo {
            format!(
                "<form method=\"post\" action=\"/actions/regenerate\">{}<input type=\"hidden\" name=\"reel\" \
                 value=\"{id}\"><input type=\"hidden\" name=\"shots\" value=\"{n}\">\
                 <button type=\"submit\" aria-label=\"Regenerate shot {n}\">Regenerate</button></form>",
                csrf_field(csrf)
            )
        } else {
            String::new()
        };
        out += &format!(
            "<tr class=\"shot\"><th scope=\"row\">{n}</th><td>{photo}</td><td>{clip}</td><td>{}{regenerate}</td></tr>",
            escape(&shot.line)
        );
    }
    out += "</tbody></table>";
    Ok(out)
}

async fn verdicts(origin: &Origin, reel: &Reel) -> Result<String, ReviewError> {
    let mut all = origin.home.ports.state.verdicts(&reel.id).await?;
    if all.is_empty() {
        return Ok(String::new());
    }
    all.sort_by_key(|v| (v.round, v.at_ms));
    let latest = all.last().map(|v| v.round).unwrap_or_default();
    let mut out = format!("<h3>Judge's verdicts (round {latest})</h3>");
    for v in all.iter().filter(|v| v.round == latest) {
        out += &format!(
            "<table><caption>{} — {}</caption><thead><tr><th scope=\"col\">Check</th><th scope=\"col\">Passed</th>\
             <th scope=\"col\">Score</th><th scope=\"col\">Why</th></tr></thead><tbody>",
            escape(&v.judge),
            if v.passed { "passed" } else { "failed" }
        );
        for c in &v.checks {
            let name = match c.shot {
                Some(s) => format!("{} (shot {})", c.name, s + 1),
                None => c.name.clone(),
            };
            out += &format!(
                "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
                escape(&name),
                if c.passed { "yes" } else { "no" },
                c.score,
                escape(&c.detail)
            );
        }
        out += "</tbody></table>";
    }
    Ok(out)
}

async fn ledger(origin: &Origin, reel: &Reel) -> Result<String, ReviewError> {
    let entries = origin.home.ports.state.ledger(Some(&reel.id)).await?;
    if entries.is_empty() {
        return Ok("<h3>Ledger</h3><p>Nothing spent.</p>".into());
    }
    let mut out = String::from(
        "<h3>Ledger</h3><table><thead><tr><th scope=\"col\">Provider</th><th scope=\"col\">Operation</th>\
         <th scope=\"col\">Units</th><th scope=\"col\">Cost</th></tr></thead><tbody>",
    );
    for e in &entries {
        out += &format!(
            "<tr><td>{}</td><td>{}</td><td>{:.1} {}</td><td>{}</td></tr>",
            escape(&e.provider),
            escape(&e.operation),
            e.units,
            escape(&e.unit),
            escape(&e.usd.to_string())
        );
    }
    out += "</tbody></table>";
    Ok(out)
}
