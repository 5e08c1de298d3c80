//! `OORE_WEBHOOK_RATE_LIMIT`: a token bucket per source address, `limit` requests per
//! minute, refilled continuously (a burst of `limit` is allowed after a quiet minute).
//! IPv6 addresses count per /64, the block one host usually has; IPv4-mapped IPv6
//! addresses count as their IPv4 address. Buckets that are full again are dropped once
//! many addresses are tracked, so memory stays bounded.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked addresses, full buckets are dropped.
const PRUNE_ABOVE: usize = 4096;

/// Per-address request allowance.
pub(crate) struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `per_minute` requests per minute per address (at least 1).
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `ip`'s allowance at `now`; `Err` with how long until the
    /// next request is allowed.
    pub(crate) fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let refill = |b: &Bucket| {
            (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second)
                .min(capacity)
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= PRUNE_ABOVE {
            buckets.retain(|_, b| refill(b) < capacity);
        }
        let bucket = buckets.entry(key(ip)).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let tokens = refill(bucket);
        bucket.at = now;
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            Ok(())
        } else {
            bucket.tokens = tokens;
            Err(Duration::from_secs_f64((1.0 - tokens) / per_second))
        }
    }
}

/// The address a bucket is kept for.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_of_the_limit_then_one_per_interval() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip("192.0.2.1"), t0), Ok(()));
        }
        let wait = limiter.check(ip("192.0.2.1"), t0).unwrap_err();
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Another address has its own allowance.
        assert_eq!(limiter.check(ip("192.0.2.2"), t0), Ok(()));
        // One request's worth is back after 20 s (3 per minute).
        assert_eq!(
            limiter.check(ip("192.0.2.1"), t0 + Duration::from_secs(20)),
            Ok(())
        );
        assert!(
            limiter
                .check(ip("192.0.2.1"), t0 + Duration::from_secs(21))
                .is_err()
        );
        // A quiet minute restores the whole burst, never more.
        let later = t0 + Duration::from_secs(600);
        for _ in 0..3 {
            assert_eq!(limiter.check(ip("192.0.2.1"), later), Ok(()));
        }
        assert!(limiter.check(ip("192.0.2.1"), later).is_err());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let limiter = RateLimiter::new(1);
        let t0 = Instant::now();
        assert_eq!(limiter.check(ip("2001:db8:1:2::1"), t0), Ok(()));
        assert!(limiter.check(ip("2001:db8:1:2::ffff"), t0).is_err());
        assert_eq!(limiter.check(ip("2001:db8:1:3::1"), t0), Ok(()));
        assert_eq!(limiter.check(ip("198.51.100.7"), t0), Ok(()));
        assert!(limiter.check(ip("::ffff:198.51.100.7"), t0).is_err());
    }

    #[test]
    fn full_buckets_are_dropped_when_many_addresses_are_tracked() {
        let limiter = RateLimiter::new(60);
        let t0 = Instant::now();
        for i in 0..PRUNE_ABOVE as u32 {
            let addr = IpAddr::V4((0x0a00_0000 + i).into());
            assert_eq!(limiter.check(addr, t0), Ok(()));
        }
        let a_minute_later = t0 + Duration::from_secs(60);
        assert_eq!(limiter.check(ip("192.0.2.9"), a_minute_later), Ok(()));
        let tracked = limiter.buckets.lock().unwrap().len();
        assert_eq!(tracked, 1, "only the new address is left");
    }
}
