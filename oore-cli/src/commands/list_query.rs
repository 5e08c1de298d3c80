//! The query string of the paginated `list` commands (`build list`, `webhook list`).

use oore_core::api::paths;

/// Query parameters, in the order they were put.
#[derive(Debug, Default)]
pub(crate) struct ListQuery(Vec<String>);

impl ListQuery {
    /// Adds `key=value` (trimmed, URL-encoded) when `value` is set.
    pub(crate) fn put(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.0
                .push(format!("{key}={}", paths::query_component(value.trim())));
        }
    }

    /// Adds `limit=N` when set.
    pub(crate) fn limit(&mut self, limit: Option<u32>) {
        if let Some(limit) = limit {
            self.0.push(format!("limit={limit}"));
        }
    }

    /// True when anything but the page size narrows the list.
    pub(crate) fn is_filtered(&self) -> bool {
        self.0.iter().any(|q| !q.starts_with("limit="))
    }

    /// The parameters, `key=value` each.
    #[cfg(test)]
    pub(crate) fn parts(&self) -> &[String] {
        &self.0
    }

    /// `base` (a [`paths`] builder's path), with the query string when there is one.
    pub(crate) fn path(&self, base: String) -> String {
        if self.0.is_empty() {
            base
        } else {
            format!("{base}?{}", self.0.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_paths_and_knows_filters_from_limits() {
        let mut q = ListQuery::default();
        assert_eq!(q.path(paths::builds()), "/api/builds");
        q.limit(Some(5));
        assert!(!q.is_filtered());
        q.put("branch", Some(" feature/x "));
        q.put("status", None);
        assert!(q.is_filtered());
        assert_eq!(
            q.path(paths::builds()),
            "/api/builds?limit=5&branch=feature%2Fx"
        );
    }
}
