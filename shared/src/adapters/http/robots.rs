//! `robots.txt` as RFC 9309 reads it: the groups for our product token (`truereel`), else the `*` groups,
//! merged; the longest matching `Allow`/`Disallow` pattern wins (`Allow` on a tie); `*` matches any run of
//! characters and a final `$` anchors the end. `/robots.txt` itself is always allowed.
//!
//! Patterns and paths are compared as written (no percent-decoding), which is what most sites' rules expect.
//!
//! Kept by hand rather than `texting_robots` (0.2.2, the last release in March 2023): run against the cases below it
//! reads a `User-Agent: TrueReel/1.0` line as not naming `truereel` (it does not cut the product token at `/` as
//! Google's parser does), so our own group does not replace `*` and `/a` comes out disallowed; and it brings 48 crates
//! (5 new to our build, `regex` and `nom` among them; 77 s of CPU to build cold) for these ~100 lines.

/// The rules that apply to us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Robots {
    /// `(allow, pattern)`; empty means everything is allowed.
    rules: Vec<(bool, String)>,
}

impl Robots {
    /// Everything allowed (no file, or 4xx for it).
    pub fn allow_all() -> Self {
        Self::default()
    }

    /// Parses `body` for the user-agent `token` (case-insensitive), falling back to `*`.
    pub fn parse(body: &str, token: &str) -> Self {
        let (mut ours, mut star) = (Vec::new(), Vec::new());
        // The agents of the group being read, and whether its rules have started (a `User-agent` line after
        // a rule opens a new group).
        let (mut agents, mut in_rules): (Vec<String>, bool) = (Vec::new(), false);
        // A group naming us, even with no rules, replaces the `*` groups.
        let mut named = false;
        for line in body.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            let Some((key, value)) = line.split_once(':') else { continue };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            match key.as_str() {
                "user-agent" => {
                    if in_rules {
                        agents.clear();
                        in_rules = false;
                    }
                    // The product token is the part before any `/version` or comment.
                    let agent = value.split(['/', ' ']).next().unwrap_or_default().to_ascii_lowercase();
                    named |= agent.eq_ignore_ascii_case(token);
                    agents.push(agent);
                }
                "allow" | "disallow" => {
                    in_rules = true;
                    if value.is_empty() {
                        continue; // `Disallow:` with nothing means no rule.
                    }
                    let rule = (key == "allow", value.to_string());
                    if agents.iter().any(|a| a.eq_ignore_ascii_case(token)) {
                        ours.push(rule.clone());
                    }
                    if agents.iter().any(|a| a == "*") {
                        star.push(rule);
                    }
                }
                _ => {}
            }
        }
        Self { rules: if named { ours } else { star } }
    }

    /// Whether `path` (path and query, starting with `/`) may be fetched.
    pub fn allows(&self, path: &str) -> bool {
        if path == "/robots.txt" {
            return true;
        }
        let best = self
            .rules
            .iter()
            .filter(|(_, pattern)| matches(pattern, path))
            .max_by_key(|(allow, pattern)| (pattern.len(), *allow));
        best.is_none_or(|(allow, _)| *allow)
    }
}

/// Whether `pattern` matches a prefix of `path` (all of it with a trailing `$`).
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let (p, s) = (pattern.as_bytes(), path.as_bytes());
    // Wildcard matching with backtracking to the last `*` (linear in practice).
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < s.len() {
        if i == p.len() && !anchored {
            return true;
        }
        if i < p.len() && p[i] == b'*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if i < p.len() && p[i] == s[j] {
            i += 1;
            j += 1;
        } else if let Some(at) = star {
            i = at + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_anchors() {
        assert!(matches("/", "/anything"));
        assert!(matches("/fish", "/fish.html"));
        assert!(!matches("/fish", "/Fish"));
        assert!(matches("/*.php", "/folder/index.php?x=1"));
        assert!(matches("/*.php$", "/index.php"));
        assert!(!matches("/*.php$", "/index.php?x=1"));
        assert!(matches("/fish*", "/fish"));
        assert!(matches("/a*b*c", "/axxbyyc/tail"));
        assert!(!matches("/a*b*c", "/axxbyy"));
        assert!(matches("*", "/"));
        assert!(!matches("/exact$", "/exact/more"));
    }

    #[test]
    fn groups_and_precedence() {
        let body = "# shop\nUser-agent: *\nDisallow: /cart\nDisallow: /private\nAllow: /private/ok\n\n\
                    User-agent: otherbot\nDisallow: /\n";
        let robots = Robots::parse(body, "truereel");
        assert!(robots.allows("/products.json"));
        assert!(!robots.allows("/cart?x=1"));
        assert!(!robots.allows("/private/no"));
        assert!(robots.allows("/private/ok/1.jpg"));
        assert!(robots.allows("/robots.txt"));

        let ours = "User-agent: *\nDisallow: /\n\nUser-agent: googlebot\nUser-Agent: TrueReel/1.0\nDisallow: /b\n\
                    Allow: /b$\n";
        let robots = Robots::parse(ours, "truereel");
        assert!(robots.allows("/a"), "our own group replaces *");
        assert!(!robots.allows("/b/1"));
        assert!(robots.allows("/b"), "longest match; allow wins ties");

        let empty_ours = "User-agent: truereel\nDisallow:\n\nUser-agent: *\nDisallow: /\n";
        assert!(Robots::parse(empty_ours, "truereel").allows("/x"));
        // Consecutive agent lines are one group, blank lines or not.
        let shared = "User-agent: truereel\n\nUser-agent: *\nDisallow: /\n";
        assert!(!Robots::parse(shared, "truereel").allows("/x"));
        assert!(Robots::parse("User-agent: *\nDisallow:\n", "truereel").allows("/x"));
        assert!(!Robots::parse("User-agent: *\nDisallow: /\n", "truereel").allows("/x"));
        assert!(Robots::allow_all().allows("/x"));
    }

    #[test]
    fn tie_prefers_allow() {
        let robots = Robots::parse("User-agent: *\nDisallow: /page\nAllow: /page\n", "truereel");
        assert!(robots.allows("/page"));
    }
}
