//! Credentials kept out of sight: every `scheme://user:password@host` in a text shown as
//! `scheme://user:***@host` (a bare `scheme://token@host` as `scheme://***@host`), for issues, log lines
//! and errors that name a store locator or URL.

/// `text` with the credentials of every URL in it hidden.
pub fn redact(text: &str) -> String {
    if !text.contains('@') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace()).unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let hidden = match authority[..at].split_once(':') {
                    Some((user, _)) => format!("{user}:***"),
                    None => "***".to_string(),
                };
                out.push_str(&hidden);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_and_tokens_are_hidden_wherever_the_url_is() {
        assert_eq!(redact("http://alice:pw@127.0.0.1:9/"), "http://alice:***@127.0.0.1:9/");
        assert_eq!(redact("HTTPS://tok3n@shop.example/p?a=b@c"), "HTTPS://***@shop.example/p?a=b@c");
        assert_eq!(
            redact("store http://a:p@x/: http://a:p@x/: refused; then https://b:q@y"),
            "store http://a:***@x/: http://a:***@x/: refused; then https://b:***@y"
        );
        assert_eq!(
            redact("mailto user@example.com, https://shop.example/"),
            "mailto user@example.com, https://shop.example/"
        );
        assert_eq!(redact("/srv/shop@2024/products.json"), "/srv/shop@2024/products.json");
    }
}
