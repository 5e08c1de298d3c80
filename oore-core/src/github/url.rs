//! Whether GitHub can reach this server: `OORE_BASE_URL` must name a public host, or
//! GitHub's deliveries and the browser's redirects to it fail.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The host of an `http(s)://host[:port]/...` URL, without brackets or port.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn private_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64 // 100.64/10, carrier NAT
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || ip.to_ipv4_mapped().is_some_and(private_v4)
}

/// A warning when `base_url` names a host GitHub cannot reach (loopback, a private
/// address, `localhost`, a single-label or `.local` name); `None` when it looks public.
pub fn base_url_warning(base_url: &str) -> Option<String> {
    let Some(host) = host_of(base_url) else {
        return Some(format!(
            "OORE_BASE_URL ({base_url}) has no host GitHub could reach; set it to this server's public URL and restart oored"
        ));
    };
    let why = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_loopback() => Some("a loopback address"),
        Ok(IpAddr::V6(ip)) if ip.is_loopback() => Some("a loopback address"),
        Ok(IpAddr::V4(ip)) if private_v4(ip) => Some("a private address"),
        Ok(IpAddr::V6(ip)) if private_v6(ip) => Some("a private address"),
        Ok(_) => None,
        Err(_) if host == "localhost" || host.ends_with(".localhost") => Some("a loopback address"),
        Err(_) if host.ends_with(".local") || host.ends_with(".internal") => {
            Some("a local network name")
        }
        Err(_) if !host.contains('.') => Some("a single-label name only this network knows"),
        Err(_) => None,
    }?;
    Some(format!(
        "OORE_BASE_URL ({base_url}) is {why}: GitHub cannot deliver webhooks to it, and a browser elsewhere cannot follow its redirects; set OORE_BASE_URL to a public URL of this server (or of a tunnel to it) and restart oored"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_private_hosts_are_warned_about() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
            "http://10.1.2.3",
            "http://192.168.1.10:8080/",
            "http://172.20.0.1",
            "http://build-box",
            "http://mac.local",
            "http://[fd00::1]",
        ] {
            assert!(base_url_warning(url).is_some(), "{url}");
        }
        for url in [
            "https://ci.example.com",
            "https://203.0.113.7:8443",
            "https://abc.trycloudflare.com/",
        ] {
            assert_eq!(base_url_warning(url), None, "{url}");
        }
        let w = base_url_warning("http://127.0.0.1:1").unwrap();
        assert!(w.contains("loopback") && w.contains("tunnel"), "{w}");
    }

    #[test]
    fn hosts_are_read_from_urls() {
        assert_eq!(
            host_of("https://u@Host.Example:8443/x").as_deref(),
            Some("host.example")
        );
        assert_eq!(host_of("http://[::1]:80").as_deref(), Some("::1"));
        assert_eq!(host_of("nope"), None);
    }
}
