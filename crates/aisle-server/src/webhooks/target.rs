//! Where a webhook may point (SSRF protection). A tenant's ERP chooses the URL, so the
//! server must not become its way into the server's own network:
//!
//! - the URL is `https`; plain `http` only to a loopback address, and only when the
//!   operator allows it (`serve --webhook-allow-http-loopback`, for an ERP connector on the
//!   same machine and for tests);
//! - no user name or password in the URL (secrets go in the signing secret);
//! - every address the host resolves to must be public: private, loopback, link-local
//!   (with the cloud metadata address 169.254.169.254), carrier-grade NAT, multicast,
//!   reserved and IPv6 unique-local addresses are refused, and so is an IPv4 address
//!   wrapped in IPv6, unless the operator allows its range (`--webhook-allow-range CIDR`).
//!
//! [`TargetPolicy::connect_addrs`] is what a delivery connects to: the addresses of the host
//! resolved *at connect time* and filtered again, so a DNS answer that changed since the
//! URL was added cannot reach a refused address.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Why a webhook URL or address is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("not a URL: {0}")]
    BadUrl(String),
    #[error(
        "a webhook URL must be https (plain http only to loopback, when the server allows it)"
    )]
    NotHttps,
    #[error("a webhook URL must not carry a user name or password; the signing secret authenticates the server")]
    Credentials,
    #[error("{host} resolves to {addr}, a {kind} address, which webhooks may not reach")]
    Refused {
        host: String,
        addr: IpAddr,
        kind: &'static str,
    },
    #[error("{host} does not resolve: {reason}")]
    Unresolved { host: String, reason: String },
}

/// The operator's rules for webhook targets.
#[derive(Clone, Debug, Default)]
pub struct TargetPolicy {
    /// Plain `http` to a loopback address is allowed (and loopback addresses are reachable).
    pub allow_http_loopback: bool,
    /// Ranges the operator allows although they are not public (an ERP on the LAN).
    pub allowed_ranges: Vec<IpNet>,
}

/// What kind of non-public address `addr` is, or `None` for a public one.
pub fn non_public_kind(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_kind(v4).or(Some("IPv4-mapped"));
            }
            let segments = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if segments[0] & 0xfe00 == 0xfc00 {
                Some("unique-local (private)")
            } else if segments[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if segments[0] == 0x0064 && segments[1] == 0xff9b {
                // NAT64 reaches IPv4 space, private ranges included.
                Some("NAT64")
            } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
                Some("documentation")
            } else {
                None
            }
        }
    }
}

fn v4_kind(v4: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = v4.octets();
    if v4.is_loopback() {
        Some("loopback")
    } else if v4.is_private() {
        Some("private")
    } else if v4.is_link_local() {
        Some("link-local (cloud metadata)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("carrier-grade NAT")
    } else if a == 0 || v4.is_unspecified() {
        Some("unspecified")
    } else if v4.is_multicast() {
        Some("multicast")
    } else if v4.is_broadcast() || a >= 240 {
        Some("reserved")
    } else if a == 198 && (18..20).contains(&b) {
        Some("benchmarking")
    } else if a == 192 && b == 0 && v4.octets()[2] == 0 {
        Some("IETF protocol")
    } else {
        None
    }
}

impl TargetPolicy {
    /// Whether a delivery may connect to `addr`; the refusal names its kind.
    pub fn check_addr(&self, host: &str, addr: IpAddr) -> Result<(), TargetError> {
        let Some(kind) = non_public_kind(addr) else {
            return Ok(());
        };
        if self
            .allowed_ranges
            .iter()
            .any(|range| range.contains(&addr))
        {
            return Ok(());
        }
        if kind == "loopback" && self.allow_http_loopback {
            return Ok(());
        }
        Err(TargetError::Refused {
            host: host.to_owned(),
            addr,
            kind,
        })
    }

    /// `text` as a webhook URL, if its form is allowed (its addresses are checked by
    /// [`TargetPolicy::connect_addrs`], when it is added and at every delivery).
    pub fn check_url(&self, text: &str) -> Result<url::Url, TargetError> {
        let url =
            url::Url::parse(text.trim()).map_err(|error| TargetError::BadUrl(error.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::Credentials);
        }
        let host = url
            .host()
            .ok_or_else(|| TargetError::BadUrl("the URL has no host".to_owned()))?;
        match url.scheme() {
            "https" => Ok(url),
            "http" if self.allow_http_loopback => {
                let loopback = match host {
                    url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
                    url::Host::Ipv4(v4) => v4.is_loopback(),
                    url::Host::Ipv6(v6) => v6.is_loopback(),
                };
                if loopback {
                    Ok(url)
                } else {
                    Err(TargetError::NotHttps)
                }
            }
            _ => Err(TargetError::NotHttps),
        }
    }

    /// The addresses a delivery to `url` may connect to: its host resolved now, each
    /// address checked. Any refused address refuses the URL (a host that mixes public and
    /// private answers is a rebinding attempt, not a misconfiguration to work around).
    pub async fn connect_addrs(&self, url: &url::Url) -> Result<Vec<SocketAddr>, TargetError> {
        let host = url
            .host_str()
            .ok_or_else(|| TargetError::BadUrl("the URL has no host".to_owned()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|error| TargetError::Unresolved {
                host: host.clone(),
                reason: error.to_string(),
            })?
            .collect();
        if addrs.is_empty() {
            return Err(TargetError::Unresolved {
                host,
                reason: "no address".to_owned(),
            });
        }
        for addr in &addrs {
            self.check_addr(&host, addr.ip())?;
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> TargetPolicy {
        TargetPolicy::default()
    }

    #[test]
    fn only_https_without_credentials_passes_and_http_only_to_loopback_when_allowed() {
        assert!(policy()
            .check_url("https://erp.example.com/hooks/aisle")
            .is_ok());
        assert_eq!(
            policy().check_url("http://erp.example.com/h"),
            Err(TargetError::NotHttps)
        );
        assert_eq!(
            policy().check_url("http://127.0.0.1:9000/h"),
            Err(TargetError::NotHttps)
        );
        assert_eq!(
            policy().check_url("ftp://erp.example.com/h"),
            Err(TargetError::NotHttps)
        );
        assert_eq!(
            policy().check_url("https://user:pw@erp.example.com/h"),
            Err(TargetError::Credentials)
        );
        assert!(matches!(
            policy().check_url("not a url"),
            Err(TargetError::BadUrl(_))
        ));
        let loopback = TargetPolicy {
            allow_http_loopback: true,
            ..TargetPolicy::default()
        };
        assert!(loopback.check_url("http://127.0.0.1:9000/h").is_ok());
        assert!(loopback.check_url("http://[::1]:9000/h").is_ok());
        assert!(loopback.check_url("http://localhost:9000/h").is_ok());
        assert_eq!(
            loopback.check_url("http://10.0.0.5/h"),
            Err(TargetError::NotHttps)
        );
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused_by_kind() {
        let cases: &[(&str, Option<&str>)] = &[
            ("169.254.169.254", Some("link-local (cloud metadata)")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("192.168.1.10", Some("private")),
            ("127.0.0.1", Some("loopback")),
            ("100.64.0.1", Some("carrier-grade NAT")),
            ("0.0.0.0", Some("unspecified")),
            ("224.0.0.1", Some("multicast")),
            ("255.255.255.255", Some("reserved")),
            ("::1", Some("loopback")),
            ("fd00:ec2::254", Some("unique-local (private)")),
            ("fe80::1", Some("link-local")),
            ("::ffff:10.0.0.1", Some("private")),
            ("::ffff:8.8.8.8", Some("IPv4-mapped")),
            ("64:ff9b::a00:1", Some("NAT64")),
            ("8.8.8.8", None),
            ("2606:4700:4700::1111", None),
        ];
        for (text, kind) in cases {
            let addr: IpAddr = text.parse().expect("address");
            assert_eq!(non_public_kind(addr), *kind, "{text}");
            assert_eq!(
                policy().check_addr("h", addr).is_ok(),
                kind.is_none(),
                "{text}"
            );
        }
    }

    #[test]
    fn the_operator_may_allow_a_range_and_loopback_with_the_http_flag() {
        let lan = TargetPolicy {
            allow_http_loopback: false,
            allowed_ranges: vec!["10.20.0.0/16".parse().expect("cidr")],
        };
        assert!(lan
            .check_addr("erp", "10.20.3.4".parse().expect("ip"))
            .is_ok());
        assert!(lan
            .check_addr("erp", "10.21.3.4".parse().expect("ip"))
            .is_err());
        assert!(lan
            .check_addr("erp", "127.0.0.1".parse().expect("ip"))
            .is_err());
        let loopback = TargetPolicy {
            allow_http_loopback: true,
            ..TargetPolicy::default()
        };
        assert!(loopback
            .check_addr("h", "127.0.0.1".parse().expect("ip"))
            .is_ok());
        assert!(loopback
            .check_addr("h", "192.168.0.1".parse().expect("ip"))
            .is_err());
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_at_connect_time() {
        // `localhost` passes the URL's form check over https, and is refused only when
        // resolved, as a DNS name rebound to an internal address would be.
        let url = policy()
            .check_url("https://localhost:9443/hook")
            .expect("the form is fine");
        match policy().connect_addrs(&url).await {
            Err(TargetError::Refused { kind, .. }) => assert_eq!(kind, "loopback"),
            other => panic!("localhost must be refused at connect time: {other:?}"),
        }
        let allowed = TargetPolicy {
            allow_http_loopback: true,
            ..TargetPolicy::default()
        };
        assert!(!allowed
            .connect_addrs(&url)
            .await
            .expect("allowed")
            .is_empty());
    }
}
