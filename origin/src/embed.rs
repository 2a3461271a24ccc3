//! The embed snippet: the `<video>` a brand pastes into its product page, playing the reel's stable
//! URL on the brand's domain (so a safety pass or a regeneration never breaks it), with its poster
//! and its real size (probed from the published file).

use crate::links::PublicUrls;
use truereel::homes::embedded::Embedded;
use truereel::ports::BlobStore;
use truereel::{BlobKey, Handle, Reel, VariantSlug};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("{0:?} is not a product handle, or a handle and a colour (<handle>.<colour>)")]
    BadName(String),
    #[error("there is no product {0} (`truereel status` lists the reels)")]
    NoProduct(String),
    #[error("product {name} has no published reel{why}")]
    NotPublished { name: String, why: String },
    #[error("reel {reel}: its published file {key} is missing ({why})")]
    Missing { reel: String, key: BlobKey, why: String },
    #[error("reel {reel}: its published file cannot be probed for its size: {reason}")]
    Probe { reel: String, reason: String },
    #[error("reading the state: {0}")]
    State(#[from] truereel::ports::StateError),
}

/// What a snippet shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Embed {
    pub video_url: String,
    pub poster_url: Option<String>,
    pub width: u32,
    pub height: u32,
    /// The product's title, for the player's accessible name.
    pub title: String,
}

impl Embed {
    /// The HTML: `playsinline muted loop autoplay` (browsers autoplay only muted video; iOS needs
    /// `playsinline` to keep it in the page), `preload="metadata"`, the real width and height (the
    /// page reserves the reel's shape before it loads; the style lets it shrink to its column), and
    /// every value escaped.
    pub fn html(&self) -> String {
        let poster = match &self.poster_url {
            Some(p) => format!(" poster=\"{}\"", escape(p)),
            None => String::new(),
        };
        format!(
            "<video src=\"{src}\"{poster} width=\"{w}\" height=\"{h}\" playsinline muted loop autoplay \
             preload=\"metadata\" style=\"max-width:100%;height:auto\" aria-label=\"{label}\"></video>",
            src = escape(&self.video_url),
            w = self.width,
            h = self.height,
            label = escape(&self.title),
        )
    }
}

/// Text escaped for an HTML attribute or element.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The published reel `name` names: a product handle (its own reel), or `<handle>.<colour>` (a
/// per-variant reel). Of several reels of one name (a re-planned gallery), the one published last.
pub async fn published_reel(home: &Embedded, name: &str) -> Result<Reel, EmbedError> {
    let bad = || EmbedError::BadName(name.to_string());
    let (handle, variant) = match name.split_once('.') {
        Some((h, v)) => (Handle::parse(h).map_err(|_| bad())?, Some(VariantSlug::parse(v).map_err(|_| bad())?)),
        None => (Handle::parse(name).map_err(|_| bad())?, None),
    };
    let state = &home.ports.state;
    let reels: Vec<Reel> = state.list_reels().await?.into_iter().filter(|r| r.product == handle).collect();
    if reels.is_empty() && state.get_product(&handle).await?.is_none() {
        return Err(EmbedError::NoProduct(handle.to_string()));
    }
    let named: Vec<&Reel> = reels.iter().filter(|r| r.id.variant() == variant).collect();
    let newest = named
        .iter()
        .filter_map(|r| r.current_version().map(|v| (v.published_ms, *r)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, r)| r.clone());
    if let Some(reel) = newest {
        return Ok(reel);
    }
    let why = if let Some(r) = named.last() {
        format!(
            " (its reel {} is {}{})",
            r.id,
            r.status,
            match r.reasons.first() {
                Some(reason) => format!(": {reason}"),
                None => String::new(),
            }
        )
    } else {
        let colours: Vec<String> = reels
            .iter()
            .filter(|r| r.current_version().is_some())
            .filter_map(|r| r.id.variant().map(|v| format!("{handle}.{v}")))
            .collect();
        if colours.is_empty() {
            " (it has no reel yet)".to_string()
        } else {
            format!(" of its own; its colours' reels are: {}", colours.join(", "))
        }
    };
    Err(EmbedError::NotPublished { name: name.to_string(), why })
}

/// The snippet's contents for the published reel `name` names (see [`published_reel`]), its URLs on `urls`.
pub async fn embed(home: &Embedded, urls: &PublicUrls, name: &str) -> Result<Embed, EmbedError> {
    embed_of(home, urls, &published_reel(home, name).await?).await
}

/// The snippet's contents for `reel` (published), its URLs on `urls`.
pub async fn embed_of(home: &Embedded, urls: &PublicUrls, reel: &Reel) -> Result<Embed, EmbedError> {
    let stable = BlobKey::published_reel(&reel.id);
    let Some(file) = home.blobs.local_path(&stable) else {
        let why = match &reel.published {
            Some(old) if *old != stable => {
                format!("it was published at {old}, before reels moved under public/reels/; a new version goes there")
            }
            _ => "the next `truereel run` publishes it again".to_string(),
        };
        return Err(EmbedError::Missing { reel: reel.id.to_string(), key: stable, why });
    };
    let probe = home
        .ports
        .media
        .probe(&file)
        .await
        .map_err(|e| EmbedError::Probe { reel: reel.id.to_string(), reason: e.to_string() })?;
    let Some(video) = probe.video else {
        return Err(EmbedError::Probe { reel: reel.id.to_string(), reason: "it has no video stream".into() });
    };
    let poster = BlobKey::published_poster(&reel.id, None);
    let title = match home.ports.state.get_product(&reel.product).await? {
        Some(p) => p.title,
        None => reel.product.to_string(),
    };
    Ok(Embed {
        video_url: urls.stable(&reel.id),
        poster_url: home.blobs.local_path(&poster).map(|_| urls.poster(&reel.id, None)),
        width: video.width,
        height: video.height,
        title,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_escapes_what_it_shows() {
        let e = Embed {
            video_url: "https://video.brand.com/reels/tee.mp4?a=1&b=\"2\"".into(),
            poster_url: Some("https://video.brand.com/reels/tee.jpg".into()),
            width: 1080,
            height: 1920,
            title: "Tee <script>alert('x')</script> & co".into(),
        };
        assert_eq!(
            e.html(),
            "<video src=\"https://video.brand.com/reels/tee.mp4?a=1&amp;b=&quot;2&quot;\" \
             poster=\"https://video.brand.com/reels/tee.jpg\" width=\"1080\" height=\"1920\" playsinline muted loop \
             autoplay preload=\"metadata\" style=\"max-width:100%;height:auto\" \
             aria-label=\"Tee &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co\"></video>"
        );
        let bare = Embed { poster_url: None, ..e };
        assert!(!bare.html().contains("poster="));
    }
}
