//! The review page's sessions: an HttpOnly `SameSite=Strict` cookie signed with the origin's key,
//! the login token that opens one when the server is not on loopback, the per-session CSRF token
//! every form carries, and the same-origin check every POST passes.

use crate::server::Origin;
use crate::signing::SigningKey;
use axum::http::{HeaderMap, HeaderValue, header};
use std::path::{Path, PathBuf};

/// The session cookie's name.
pub const COOKIE: &str = "truereel_review";

/// The login token's file in the data folder (created on first use, readable by its owner only).
pub const TOKEN_FILE: &str = "review-token";

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("review login token {path}: {source}")]
    Token {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no randomness for a review session: {0}")]
    Random(String),
}

/// One browser's session: its random id (the CSRF token is derived from it) and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    /// Unix seconds; signed into the cookie with the id.
    expires: u64,
}

/// How long a review session lasts.
const SESSION_SECS: u64 = 12 * 3600;

fn random_hex(bytes: usize) -> Result<String, SessionError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| SessionError::Random(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Equal in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Session {
    /// A new session.
    pub fn new() -> Result<Self, SessionError> {
        Ok(Self { id: random_hex(16)?, expires: crate::signing::unix_now() + SESSION_SECS })
    }

    fn mac(key: &SigningKey, id: &str, expires: u64) -> String {
        key.sign(&format!("review-session:{id}"), expires)
    }

    /// The session the request's cookie names, when its signature holds.
    pub fn from_headers(key: &SigningKey, headers: &HeaderMap) -> Option<Self> {
        let cookies = headers.get_all(header::COOKIE);
        let value = cookies.iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_string())
        })?;
        let mut parts = value.splitn(3, '.');
        let (id, expires, mac) = (parts.next()?, parts.next()?.parse::<u64>().ok()?, parts.next()?);
        let valid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && expires > crate::signing::unix_now();
        (valid && same(mac, &Self::mac(key, id, expires))).then(|| Self { id: id.to_string(), expires })
    }

    /// The `Set-Cookie` value that keeps this session (until it ends: signed and said to the browser).
    pub fn cookie(&self, key: &SigningKey) -> HeaderValue {
        let max_age = self.expires.saturating_sub(crate::signing::unix_now());
        let value = format!(
            "{COOKIE}={}.{}.{}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}",
            self.id,
            self.expires,
            Self::mac(key, &self.id, self.expires)
        );
        HeaderValue::from_str(&value).expect("hex and ASCII")
    }

    /// The CSRF token the session's forms carry.
    pub fn csrf(&self, key: &SigningKey) -> String {
        key.sign(&format!("review-csrf:{}", self.id), 0)
    }

    /// Whether `token` is this session's CSRF token.
    pub fn csrf_ok(&self, key: &SigningKey, token: &str) -> bool {
        same(token, &self.csrf(key))
    }
}

/// The login token, created in `data_dir` on first use.
pub fn login_token(data_dir: &Path) -> Result<String, SessionError> {
    let path = data_dir.join(TOKEN_FILE);
    let err = |source| SessionError::Token { path: path.clone(), source };
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => return Ok(t.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let token = random_hex(24)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(err)?;
    std::io::Write::write_all(&mut file, token.as_bytes()).map_err(err)?;
    tracing::info!(path = %path.display(), "Created the review page's login token.");
    Ok(token)
}

/// Whether `token` is the login token.
pub fn login_ok(origin: &Origin, token: &str) -> bool {
    match login_token(&origin.home.data_dir) {
        Ok(t) => same(token, &t),
        Err(e) => {
            tracing::error!(error = %e, "Cannot read the review login token.");
            false
        }
    }
}

/// Whether a POST comes from this origin's own pages: `Sec-Fetch-Site`, when sent, is `same-origin`,
/// and `Origin`, when sent, is the public base URL or `http(s)://` one of the origin's own host names
/// (the `Host` was checked before: [`Origin::own_host`]).
pub fn same_origin(origin: &Origin, headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").is_some_and(|site| site.as_bytes() != b"same-origin") {
        return false;
    }
    let Some(from) = headers.get(header::ORIGIN) else { return true };
    let Ok(from) = from.to_str() else { return false };
    if from == origin.urls.base() {
        return true;
    }
    from.strip_prefix("http://").or_else(|| from.strip_prefix("https://")).is_some_and(|host| origin.own_host(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(cookie: &HeaderValue) -> HeaderMap {
        let pair = cookie.to_str().unwrap().split(';').next().unwrap().to_string();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    #[test]
    fn a_session_cookie_holds_until_it_ends_and_only_as_signed() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::load_or_create(dir.path()).unwrap();
        let session = Session::new().unwrap();
        let cookie = session.cookie(&key);
        assert!(cookie.to_str().unwrap().contains("Max-Age=43"), "{cookie:?}");
        assert_eq!(Session::from_headers(&key, &sent(&cookie)), Some(session.clone()));
        // Its end moved later by hand: the signature no longer holds.
        let stretched = cookie.to_str().unwrap().replacen(&format!(".{}.", session.expires), ".99999999999.", 1);
        assert_eq!(Session::from_headers(&key, &sent(&HeaderValue::from_str(&stretched).unwrap())), None);
        // Ended: refused, though signed.
        let ended = Session { expires: crate::signing::unix_now() - 1, ..session };
        assert_eq!(Session::from_headers(&key, &sent(&ended.cookie(&key))), None);
    }
}
