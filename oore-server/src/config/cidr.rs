//! IP ranges in CIDR notation (`192.168.1.0/24`, `2001:db8::/32`), for
//! `OORE_GITLAB_ALLOWED_CIDRS`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A validated IP range: the address has no bits set past the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True when `ip` is inside the range (an IPv4 range never contains an IPv6
    /// address, except IPv4-mapped ones).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask32(u32::from(ip), self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask128(u128::from(ip), self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }

    /// True for ranges so wide they are probably a mistake: IPv4 /8 or broader, IPv6
    /// /32 (a whole provider allocation) or broader.
    pub fn is_broad(&self) -> bool {
        match self.addr {
            IpAddr::V4(_) => self.prefix <= 8,
            IpAddr::V6(_) => self.prefix <= 32,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Keeps the first `prefix` bits (`prefix` is at most 32).
fn mask32(bits: u32, prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        bits & (u32::MAX << (32 - u32::from(prefix)))
    }
}

/// Keeps the first `prefix` bits (`prefix` is at most 128).
fn mask128(bits: u128, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(prefix)))
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr_text, prefix_text) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| {
            format!("'{s}' is not an IP range: write it like 192.168.1.0/24 or 2001:db8::/48")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{s}' has an invalid prefix: use /0 to /{max}"))?,
        };
        let network = match addr {
            IpAddr::V4(v4) => IpAddr::V4(mask32(u32::from(v4), prefix).into()),
            IpAddr::V6(v6) => IpAddr::V6(mask128(u128::from(v6), prefix).into()),
        };
        if network != addr {
            return Err(format!(
                "'{s}' has bits set past the /{prefix} prefix: write {network}/{prefix}"
            ));
        }
        Ok(Self { addr, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_and_single_addresses() {
        let cases = [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("192.168.1.0/24", "192.168.1.0/24"),
            (" 34.74.90.64/28 ", "34.74.90.64/28"),
            ("1.2.3.4", "1.2.3.4/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("::1", "::1/128"),
        ];
        for (input, shown) in cases {
            assert_eq!(input.parse::<Cidr>().unwrap().to_string(), shown, "{input}");
        }
    }

    #[test]
    fn rejects_malformed_ranges_with_the_fix() {
        let cases = [
            ("10.0.0.0/33", "use /0 to /32"),
            ("10.0.0.0/x", "invalid prefix"),
            ("2001:db8::/129", "use /0 to /128"),
            ("gitlab.com", "is not an IP range"),
            ("10.1.2.3/8", "write 10.0.0.0/8"),
            ("192.168.1.7/24", "write 192.168.1.0/24"),
            ("", "is not an IP range"),
        ];
        for (input, expected) in cases {
            let err = input.parse::<Cidr>().unwrap_err();
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    #[test]
    fn contains_checks_the_prefix_only() {
        let net: Cidr = "192.168.1.0/24".parse().unwrap();
        assert!(net.contains("192.168.1.200".parse().unwrap()));
        assert!(!net.contains("192.168.2.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.168.1.9".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn broadness() {
        for (input, broad) in [
            ("10.0.0.0/8", true),
            ("0.0.0.0/0", true),
            ("10.0.0.0/9", false),
            ("2001:db8::/32", true),
            ("2001:db8::/48", false),
        ] {
            assert_eq!(input.parse::<Cidr>().unwrap().is_broad(), broad, "{input}");
        }
    }
}
