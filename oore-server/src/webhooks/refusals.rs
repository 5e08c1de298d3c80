//! Webhook requests refused before anything could be verified (the URL names no usable
//! repository, the source is outside the allowed ranges, the body budget is spent, a
//! failed verification could not be recorded) are counted per source address instead
//! of being stored one row each: a stranger's traffic costs a counter, not disk.
//!
//! IPv6 sources count per /64 and IPv4-mapped addresses as IPv4 (as the rate limiter
//! does). At most [`MAX_SOURCES`] sources are tracked; beyond that the one refused
//! longest ago is dropped (and counted in `dropped_sources`). A source's first refusal
//! is logged, then at most one line per source per [`LOG_EVERY`] summing up the
//! refusals since. `GET /api/webhooks/refusals` shows the counts
//! ([`Refusals::snapshot`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use oore_core::api::{
    WebhookRefusalCountDto, WebhookRefusalDto, WebhookRefusalSourceDto, WebhookRefusalsResponse,
};

/// Sources tracked at most.
pub(crate) const MAX_SOURCES: usize = 4096;
/// A source's refusals are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Longest request path kept.
const MAX_PATH: usize = 120;

/// Why a request was refused without being stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The URL's repository id is not an id.
    InvalidId,
    /// No repository has that id.
    UnknownRepository,
    /// The URL is for another provider than the repository's.
    WrongProvider,
    /// The repository has no webhook secret.
    NoSecret,
    /// The source is outside `OORE_GITLAB_ALLOWED_CIDRS`.
    SourceNotAllowed,
    /// `OORE_WEBHOOK_INFLIGHT_BYTES` was spent: 503.
    Busy,
    /// A failed verification that was not recorded.
    NotRecorded,
}

impl Refusal {
    const ALL: [Refusal; 7] = [
        Self::InvalidId,
        Self::UnknownRepository,
        Self::WrongProvider,
        Self::NoSecret,
        Self::SourceNotAllowed,
        Self::Busy,
        Self::NotRecorded,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn dto(self) -> WebhookRefusalDto {
        match self {
            Self::InvalidId => WebhookRefusalDto::InvalidId,
            Self::UnknownRepository => WebhookRefusalDto::UnknownRepository,
            Self::WrongProvider => WebhookRefusalDto::WrongProvider,
            Self::NoSecret => WebhookRefusalDto::NoSecret,
            Self::SourceNotAllowed => WebhookRefusalDto::SourceNotAllowed,
            Self::Busy => WebhookRefusalDto::Busy,
            Self::NotRecorded => WebhookRefusalDto::NotRecorded,
        }
    }
}

/// A source address as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4(IpAddr),
    V6Block(Ipv6Addr),
    Unknown,
}

impl Source {
    fn of(ip: Option<IpAddr>) -> Self {
        match ip {
            None => Self::Unknown,
            Some(IpAddr::V4(v4)) => Self::V4(IpAddr::V4(v4)),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(IpAddr::V4(v4)),
                None => Self::V6Block(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
            },
        }
    }

    fn label(self) -> String {
        match self {
            Self::V4(ip) => ip.to_string(),
            Self::V6Block(block) => format!("{block}/64"),
            Self::Unknown => "(unknown)".to_owned(),
        }
    }
}

#[derive(Debug)]
struct Counts {
    by_reason: [u64; Refusal::ALL.len()],
    first: Timestamp,
    last: Timestamp,
    last_path: String,
    /// When the source was last logged, and how many refusals came since.
    logged: Option<Instant>,
    since_log: u64,
}

/// The counters (see the module doc).
#[derive(Debug)]
pub(crate) struct Refusals {
    since: Timestamp,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    sources: HashMap<Source, Counts>,
    dropped: u64,
}

impl Refusals {
    /// Counting from `since`.
    pub(crate) fn new(since: Timestamp) -> Self {
        Self {
            since,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Counts one refusal of a request from `ip` to `path` at `now`; `detail` says why
    /// for the log.
    pub(crate) fn record(
        &self,
        ip: Option<IpAddr>,
        refusal: Refusal,
        path: &str,
        detail: &str,
        now: Timestamp,
    ) {
        let source = Source::of(ip);
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !inner.sources.contains_key(&source) && inner.sources.len() >= MAX_SOURCES {
            let oldest = inner
                .sources
                .iter()
                .min_by_key(|(_, c)| c.last)
                .map(|(s, _)| *s);
            if let Some(oldest) = oldest {
                inner.sources.remove(&oldest);
                inner.dropped += 1;
            }
        }
        let counts = inner.sources.entry(source).or_insert_with(|| Counts {
            by_reason: [0; Refusal::ALL.len()],
            first: now,
            last: now,
            last_path: String::new(),
            logged: None,
            since_log: 0,
        });
        counts.by_reason[refusal.index()] += 1;
        counts.last = now;
        counts.last_path = cut(path, MAX_PATH);
        counts.since_log += 1;
        let due = counts.logged.is_none_or(|at| at.elapsed() >= LOG_EVERY);
        if !due {
            return;
        }
        let refused = std::mem::take(&mut counts.since_log);
        let total: u64 = counts.by_reason.iter().sum();
        counts.logged = Some(Instant::now());
        drop(inner);
        tracing::warn!(
            source = %source.label(),
            refused,
            total,
            path = %cut(path, MAX_PATH),
            reason = detail,
            "webhook request(s) refused before reading the body; not stored (counted in GET /api/webhooks/refusals; next summary for this source in a minute at the earliest)"
        );
    }

    /// The counts, the most recently refused source first.
    pub(crate) fn snapshot(&self) -> WebhookRefusalsResponse {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut sources: Vec<(&Source, &Counts)> = inner.sources.iter().collect();
        sources.sort_by(|a, b| b.1.last.cmp(&a.1.last).then(a.0.label().cmp(&b.0.label())));
        WebhookRefusalsResponse {
            since: self.since.to_string(),
            sources: sources
                .into_iter()
                .map(|(source, counts)| {
                    let mut reasons: Vec<WebhookRefusalCountDto> = Refusal::ALL
                        .into_iter()
                        .filter(|r| counts.by_reason[r.index()] > 0)
                        .map(|r| WebhookRefusalCountDto {
                            reason: r.dto(),
                            count: counts.by_reason[r.index()],
                        })
                        .collect();
                    reasons.sort_by_key(|r| std::cmp::Reverse(r.count));
                    WebhookRefusalSourceDto {
                        source: source.label(),
                        total: counts.by_reason.iter().sum(),
                        reasons,
                        first_at: counts.first.to_string(),
                        last_at: counts.last.to_string(),
                        last_path: counts.last_path.clone(),
                    }
                })
                .collect(),
            dropped_sources: inner.dropped,
        }
    }
}

/// At most `max` characters of `s`.
fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + s).unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn refusals_are_counted_per_source_and_reason() {
        let r = Refusals::new(at(0));
        for i in 0..3 {
            r.record(
                ip("192.0.2.1"),
                Refusal::UnknownRepository,
                "/api/webhooks/github/x",
                "no repository",
                at(i),
            );
        }
        r.record(ip("::ffff:192.0.2.1"), Refusal::Busy, "/b", "busy", at(5));
        r.record(
            ip("2001:db8:1:2::7"),
            Refusal::NoSecret,
            "/c",
            "no secret",
            at(4),
        );
        r.record(
            ip("2001:db8:1:2::8"),
            Refusal::NoSecret,
            "/c",
            "no secret",
            at(4),
        );
        r.record(None, Refusal::InvalidId, "/d", "not an id", at(1));
        let s = r.snapshot();
        let summary: Vec<(String, u64, String)> = s
            .sources
            .iter()
            .map(|x| (x.source.clone(), x.total, x.last_path.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("192.0.2.1".to_owned(), 4, "/b".to_owned()),
                ("2001:db8:1:2::/64".to_owned(), 2, "/c".to_owned()),
                ("(unknown)".to_owned(), 1, "/d".to_owned()),
            ]
        );
        let first = &s.sources[0];
        assert_eq!(
            first.reasons[0],
            WebhookRefusalCountDto {
                reason: WebhookRefusalDto::UnknownRepository,
                count: 3
            }
        );
        assert_eq!(
            (first.first_at.as_str(), s.dropped_sources),
            ("2026-01-01T00:00:00Z", 0)
        );
    }

    #[test]
    fn the_sources_tracked_are_bounded() {
        let r = Refusals::new(at(0));
        for i in 0..=MAX_SOURCES as u32 {
            let addr = IpAddr::V4((0x0a00_0000 + i).into());
            r.record(
                Some(addr),
                Refusal::UnknownRepository,
                "/x",
                "x",
                at(i64::from(i)),
            );
        }
        let s = r.snapshot();
        assert_eq!(s.sources.len(), MAX_SOURCES);
        assert_eq!(s.dropped_sources, 1);
        assert!(
            s.sources.iter().all(|x| x.source != "10.0.0.0"),
            "the one refused longest ago goes"
        );
        r.record(
            ip("192.0.2.9"),
            Refusal::Busy,
            &"p".repeat(500),
            "x",
            at(9_999),
        );
        assert_eq!(r.snapshot().sources[0].last_path.len(), MAX_PATH);
    }
}
