//! The SSRF guard: which URLs and addresses a request may reach, checked on the URL (scheme, userinfo, IP
//! literals, metadata names), again on every DNS answer (the resolver hands the connector only vetted
//! addresses, so nothing can change between check and connect), and on every redirect hop.
//!
//! Three classes of address:
//! - *public*: reachable;
//! - *private* (loopback, RFC 1918, CGNAT, unique-local and site-local IPv6, local-use NAT64): reachable only
//!   with `allow_private_network` or for a trusted `host:port`;
//! - *forbidden* whatever the policy says: cloud metadata (169.254.169.254, 169.254.170.2, 169.254.170.23,
//!   fd00:ec2::254, fd00:ec2::23, 100.100.100.200, 192.0.0.192), all link-local (169.254/16, fe80::/10),
//!   "this network" 0/8 and `::`, multicast, broadcast, reserved (240/4), documentation and benchmarking
//!   ranges, IETF protocol assignments (192.0.0/24, 2001::/23 including Teredo), discard-only `100::/64`, and
//!   IPv6 outside global unicast `2000::/3`. IPv4 embedded in IPv6 (mapped, compatible, NAT64 `64:ff9b::/96`,
//!   6to4 `2002::/16`) is judged as the IPv4 address it carries.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use url::{Host, Url};

/// Host names that only ever mean a cloud metadata service (after lower-casing and dropping trailing dots).
const METADATA_NAMES: &[&str] =
    &["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"];

/// Why an address may not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Public,
    /// Reachable with `allow_private_network` (or for a trusted host).
    Private(&'static str),
    /// Never reachable.
    Forbidden(&'static str),
}

/// A refusal by the guard (also travels inside reqwest's connect error, from the resolver).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refusal(pub String);

pub(crate) fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    use Class::*;
    let o = ip.octets();
    let in_net =
        |net: [u8; 4], bits: u32| u32::from(ip) >> (32 - bits) == u32::from(Ipv4Addr::from(net)) >> (32 - bits);
    if [[169, 254, 169, 254], [169, 254, 170, 2], [169, 254, 170, 23], [100, 100, 100, 200], [192, 0, 0, 192]]
        .contains(&o)
    {
        return Forbidden("cloud metadata address");
    }
    match () {
        _ if in_net([0, 0, 0, 0], 8) => Forbidden("unspecified (\"this network\") address"),
        _ if in_net([169, 254, 0, 0], 16) => Forbidden("link-local address"),
        _ if ip.is_broadcast() => Forbidden("broadcast address"),
        _ if in_net([224, 0, 0, 0], 4) => Forbidden("multicast address"),
        _ if in_net([240, 0, 0, 0], 4) => Forbidden("reserved address"),
        _ if in_net([192, 0, 2, 0], 24) || in_net([198, 51, 100, 0], 24) || in_net([203, 0, 113, 0], 24) => {
            Forbidden("documentation address")
        }
        _ if in_net([198, 18, 0, 0], 15) => Forbidden("benchmarking address"),
        _ if in_net([192, 0, 0, 0], 24) || in_net([192, 88, 99, 0], 24) => Forbidden("IETF special-purpose address"),
        _ if in_net([127, 0, 0, 0], 8) => Private("loopback address"),
        _ if in_net([10, 0, 0, 0], 8) || in_net([172, 16, 0, 0], 12) || in_net([192, 168, 0, 0], 16) => {
            Private("private network address")
        }
        _ if in_net([100, 64, 0, 0], 10) => Private("carrier-grade NAT address"),
        _ => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    use Class::*;
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if ip.is_unspecified() {
        return Forbidden("unspecified address");
    }
    if ip.is_loopback() {
        return Private("loopback address");
    }
    // IPv4-mapped ::ffff:0:0/96 and IPv4-compatible ::/96 (deprecated, still routed by some stacks).
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return classify_v4(embedded(s[6], s[7]));
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7]));
    }
    // 6to4 2002::/16 carries the IPv4 address in the next 32 bits.
    if s[0] == 0x2002 {
        return match classify_v4(embedded(s[1], s[2])) {
            Public => Public,
            _ => Forbidden("6to4 address embedding a non-public IPv4 address"),
        };
    }
    if [[0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23]].contains(&s) {
        return Forbidden("cloud metadata address");
    }
    match s[0] {
        0xff00..=0xffff => Forbidden("multicast address"),
        0xfe80..=0xfebf => Forbidden("link-local address"),
        0xfec0..=0xfeff => Private("site-local address"),
        0xfc00..=0xfdff => Private("unique-local address"),
        0x64 if s[1] == 0xff9b && s[2] == 1 => Private("local-use NAT64 address"),
        0x2001 if s[1] < 0x200 => Forbidden("IETF protocol assignment (Teredo, benchmarking, ORCHID) address"),
        0x2001 if s[1] == 0xdb8 => Forbidden("documentation address"),
        0x3fff if s[1] < 0x1000 => Forbidden("documentation address"),
        0x2000..=0x3fff => Public,
        _ => Forbidden("address outside global unicast"),
    }
}

/// The checks on one resolved address: `Err` names why it is refused.
pub(crate) fn check_ip(ip: IpAddr, allow_private: bool) -> Result<(), Refusal> {
    match classify(ip) {
        Class::Public => Ok(()),
        Class::Private(_) if allow_private => Ok(()),
        Class::Private(why) | Class::Forbidden(why) => Err(Refusal(format!("{ip} is a {why}"))),
    }
}

/// `host` lower-cased without trailing dots (`Metadata.Google.Internal.` → `metadata.google.internal`).
fn normal_name(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// `host:port` as written in the trusted list (`[::1]:8080` for IPv6).
pub(crate) fn host_port(url: &Url) -> Option<String> {
    let port = url.port_or_known_default()?;
    match url.host()? {
        Host::Domain(d) => Some(format!("{}:{port}", normal_name(d))),
        Host::Ipv4(ip) => Some(format!("{ip}:{port}")),
        Host::Ipv6(ip) => Some(format!("[{ip}]:{port}")),
    }
}

/// Which URLs may be requested at all (before any DNS): everything the guard can tell from the URL itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct UrlGuard {
    pub allow_private: bool,
    /// Exact `host:port` entries whose private addresses are reachable.
    pub trusted: HashSet<String>,
    /// The names among them: their DNS answers may be private, so no other port of theirs is allowed.
    pub trusted_names: HashSet<String>,
}

impl UrlGuard {
    pub fn new(allow_private: bool, trusted_hosts: &[String]) -> Self {
        let trusted: HashSet<String> = trusted_hosts.iter().map(|h| normal_name(h.trim())).collect();
        let trusted_names = trusted
            .iter()
            .filter_map(|h| h.rsplit_once(':').map(|(name, _)| name.to_string()))
            .filter(|name| !name.starts_with('[') && name.parse::<Ipv4Addr>().is_err())
            .collect();
        Self { allow_private, trusted, trusted_names }
    }

    pub fn check(&self, url: &Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal(format!("scheme {}: is not http or https", url.scheme())));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal("credentials in the URL are not allowed".into()));
        }
        let host = url.host().ok_or_else(|| Refusal("no host".into()))?;
        let trusted = host_port(url).is_some_and(|hp| self.trusted.contains(&hp));
        let allow_private = self.allow_private || trusted;
        match host {
            Host::Ipv4(ip) => check_ip(IpAddr::V4(ip), allow_private),
            Host::Ipv6(ip) => check_ip(IpAddr::V6(ip), allow_private),
            Host::Domain(name) => {
                let name = normal_name(name);
                if METADATA_NAMES.contains(&name.as_str()) {
                    return Err(Refusal(format!("{name} is a cloud metadata host name")));
                }
                if !trusted && !self.allow_private && self.trusted_names.contains(&name) {
                    return Err(Refusal(format!("{name} is trusted on its listed ports only")));
                }
                Ok(())
            }
        }
    }
}

/// The DNS resolver behind every connection: answers only with addresses the guard allows, so the connector
/// never sees (and never connects to) anything else. `overrides` answer for names before DNS (tests, or an
/// operator's hosts file) and are vetted the same way.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    pub allow_private: bool,
    pub trusted_names: Arc<HashSet<String>>,
    pub overrides: Arc<HashMap<String, Vec<IpAddr>>>,
}

impl GuardedResolver {
    /// The vetted addresses of `name`. A [`Refusal`] when the guard refuses what DNS answered; an
    /// [`std::io::Error`] when DNS itself failed (worth retrying).
    pub async fn resolve_name(&self, name: &str) -> Result<Vec<SocketAddr>, crate::ports::BoxError> {
        let name = normal_name(name);
        if METADATA_NAMES.contains(&name.as_str()) {
            return Err(Refusal(format!("{name} is a cloud metadata host name")).into());
        }
        let found: Vec<IpAddr> = match self.overrides.get(&name) {
            Some(ips) => ips.clone(),
            None => tokio::net::lookup_host((name.as_str(), 0)).await?.map(|a| a.ip()).collect(),
        };
        if found.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("{name} has no addresses")).into());
        }
        let allow_private = self.allow_private || self.trusted_names.contains(&name);
        let mut refused = Vec::new();
        let vetted: Vec<SocketAddr> = found
            .into_iter()
            .filter(|&ip| check_ip(ip, allow_private).map_err(|e| refused.push(e.0)).is_ok())
            .map(|ip| SocketAddr::new(ip, 0))
            .collect();
        if vetted.is_empty() {
            return Err(Refusal(format!("{name} resolves only to refused addresses ({})", refused.join("; "))).into());
        }
        if !refused.is_empty() {
            tracing::warn!(host = %name, refused = %refused.join("; "), "dropped refused addresses from a DNS answer");
        }
        Ok(vetted)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let addrs = this.resolve_name(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Class {
        classify(s.parse().unwrap())
    }

    #[test]
    fn addresses_are_classified() {
        for public in
            ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1", "::ffff:1.1.1.1"]
        {
            assert_eq!(class(public), Class::Public, "{public}");
        }
        for private in
            ["127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "::1"]
        {
            assert!(matches!(class(private), Class::Private(_)), "{private}");
        }
        for private in ["fd12::1", "fc00::1", "::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::a00:1", "64:ff9b:1::1"] {
            assert!(matches!(class(private), Class::Private(_)), "{private}");
        }
        for forbidden in [
            "169.254.169.254",
            "169.254.170.2",
            "169.254.1.1",
            "100.100.100.200",
            "192.0.0.192",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "198.18.0.1",
            "::",
            "fe80::1",
            "ff02::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::1",
            "2001:db8::1",
            "2001::1",
            "100::1",
        ] {
            assert!(matches!(class(forbidden), Class::Forbidden(_)), "{forbidden}");
        }
        assert!(check_ip("10.0.0.1".parse().unwrap(), true).is_ok());
        assert!(check_ip("169.254.169.254".parse().unwrap(), true).is_err());
        assert!(check_ip("fd00:ec2::254".parse().unwrap(), true).is_err());
        assert!(check_ip("100.100.100.200".parse().unwrap(), true).is_err());
    }

    #[test]
    fn urls_are_checked_before_dns() {
        let guard = UrlGuard::new(false, &["127.0.0.1:8080".into(), "intranet.shop:8443".into()]);
        let check = |u: &str| guard.check(&Url::parse(u).unwrap()).map_err(|e| e.0);
        assert!(check("https://shop.example/products.json").is_ok());
        assert!(check("http://127.0.0.1:8080/").is_ok(), "trusted host:port");
        assert!(check("http://127.0.0.1:8081/").unwrap_err().contains("loopback"));
        assert!(check("https://intranet.shop:8443/").is_ok());
        assert!(check("https://intranet.shop/").unwrap_err().contains("listed ports"));
        assert!(check("http://2130706433/").unwrap_err().contains("loopback"));
        assert!(check("http://0x7f.1/").unwrap_err().contains("loopback"));
        assert!(check("http://[::ffff:127.0.0.1]/").unwrap_err().contains("loopback"));
        assert!(check("http://user:pw@shop.example/").unwrap_err().contains("credentials"));
        assert!(check("ftp://shop.example/").unwrap_err().contains("scheme ftp"));
        assert!(check("http://Metadata.Google.Internal./").unwrap_err().contains("metadata"));
        let open = UrlGuard::new(true, &[]);
        assert!(open.check(&Url::parse("http://10.0.0.1/").unwrap()).is_ok());
        assert!(open.check(&Url::parse("http://169.254.169.254/").unwrap()).is_err());
    }
}
