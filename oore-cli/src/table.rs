//! Aligned plain-text tables and `key: value` blocks for human output.
//!
//! Widths are terminal columns, not bytes or chars: CJK and emoji count as two columns
//! (`unicode-width`). Cells are sanitised so a control character in server data (a newline
//! in a repository name, an escape sequence) cannot break the layout or the terminal.

use unicode_width::UnicodeWidthStr;

/// Spaces between columns.
const GAP: &str = "  ";

/// A table: an optional header row and data rows, rendered with left-aligned columns.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    header: Option<Vec<String>>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose first line is `header`.
    pub(crate) fn with_header<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            header: Some(header.into_iter().map(Into::into).collect()),
            rows: Vec::new(),
        }
    }

    /// A table without a header, e.g. a `key: value` block.
    pub(crate) fn plain() -> Self {
        Self::default()
    }

    /// Append a row. Rows shorter than the widest row are padded with empty cells.
    pub(crate) fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows
            .push(cells.into_iter().map(|c| sanitize(&c.into())).collect());
        self
    }

    /// The table as lines joined by `\n`, with a trailing newline; no line has trailing
    /// spaces.
    pub(crate) fn render(&self) -> String {
        self.render_fitted(None)
    }

    /// Like [`Table::render`], but when the rows are wider than `max` columns the widest
    /// columns are narrowed (never below their header, or [`MIN_CUT`]) and the cells that
    /// no longer fit end in `…`, so each row fits on one terminal line.
    pub(crate) fn render_fitted(&self, max: Option<usize>) -> String {
        let lines: Vec<&Vec<String>> = self.header.iter().chain(self.rows.iter()).collect();
        let columns = lines.iter().map(|l| l.len()).max().unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for line in &lines {
            for (i, cell) in line.iter().enumerate() {
                widths[i] = widths[i].max(display_width(cell));
            }
        }
        if let Some(max) = max {
            let floors: Vec<usize> = (0..columns)
                .map(|i| {
                    let header = self
                        .header
                        .as_ref()
                        .and_then(|h| h.get(i))
                        .map_or(0, |h| display_width(h));
                    widths[i].min(header.max(MIN_CUT))
                })
                .collect();
            fit(&mut widths, &floors, max);
        }
        let mut out = String::new();
        for line in lines {
            let mut text = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = line.get(i).map(String::as_str).unwrap_or("");
                if i > 0 {
                    text.push_str(GAP);
                }
                let cell = cut(cell, *width);
                text.push_str(&cell);
                text.extend(std::iter::repeat_n(
                    ' ',
                    width.saturating_sub(display_width(&cell)),
                ));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// The narrowest a column is cut to (unless its header is wider).
const MIN_CUT: usize = 8;

/// Narrows the widest columns, one column at a time, until the row fits in `max` (or
/// every column is at its floor).
fn fit(widths: &mut [usize], floors: &[usize], max: usize) {
    let gaps = GAP.len() * widths.len().saturating_sub(1);
    let mut total: usize = widths.iter().sum::<usize>() + gaps;
    while total > max {
        let Some(widest) = (0..widths.len())
            .filter(|&i| widths[i] > floors[i])
            .max_by_key(|&i| (widths[i], std::cmp::Reverse(i)))
        else {
            return;
        };
        widths[widest] -= 1;
        total -= 1;
    }
}

/// `cell` in at most `width` columns: cut with `…` when it is wider.
fn cut(cell: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if display_width(cell) <= width {
        return std::borrow::Cow::Borrowed(cell);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in cell.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    std::borrow::Cow::Owned(out)
}

/// A `key: value` block with the values aligned; keys get the colon appended.
pub(crate) fn key_values<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a str, String)>,
{
    let mut table = Table::plain();
    for (key, value) in pairs {
        table.row([format!("{key}:"), value]);
    }
    table.render()
}

/// Columns the text takes in a terminal.
pub(crate) fn display_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Replace control characters with their escaped form so a cell stays on one line and
/// cannot carry terminal escape sequences.
pub(crate) fn sanitize(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_display_width() {
        let mut table = Table::with_header(["ID", "NAME", "STATE"]);
        table.row(["01", "acme/app", "active"]);
        table.row(["02", "東京/アプリ", "pending_setup"]);
        table.row(["03", "café/🚀rocket", "inactive"]);
        insta::assert_snapshot!(table.render(), @r"
        ID  NAME           STATE
        01  acme/app       active
        02  東京/アプリ    pending_setup
        03  café/🚀rocket  inactive
        ");
    }

    #[test]
    fn no_trailing_spaces_and_short_rows_are_padded() {
        let mut table = Table::with_header(["A", "LONG HEADER", "C"]);
        table.row(["x"]);
        table.row(["yy", "", ""]);
        let rendered = table.render();
        assert!(rendered.lines().all(|l| !l.ends_with(' ')), "{rendered:?}");
        insta::assert_snapshot!(rendered, @r"
        A   LONG HEADER  C
        x
        yy
        ");
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut table = Table::plain();
        table.row(["evil\nname", "\u{1b}[31mred"]);
        assert_eq!(table.render(), "evil\\nname  \\u{1b}[31mred\n");
    }

    #[test]
    fn key_value_block_aligns_values() {
        insta::assert_snapshot!(key_values([
            ("status", "healthy".to_owned()),
            ("uptime", "3d 14h 22m".to_owned()),
            ("名前", "x".to_owned()),
        ]), @r"
        status:  healthy
        uptime:  3d 14h 22m
        名前:    x
        ");
    }

    #[test]
    fn long_cells_are_cut_with_an_ellipsis_to_fit_the_width() {
        let mut table = Table::with_header(["#", "ID", "BRANCH", "STATUS"]);
        table.row(["1", "7K3M9Q2A", &"feature/".repeat(25), "success"]);
        table.row(["2", "7K3M9Q2B", "main", "failure"]);
        let fitted = table.render_fitted(Some(50));
        for line in fitted.lines() {
            assert!(
                display_width(line) <= 50,
                "{line:?} is {} wide",
                display_width(line)
            );
        }
        insta::assert_snapshot!(fitted, @r"
        #  ID        BRANCH                        STATUS
        1  7K3M9Q2A  feature/feature/feature/fea…  success
        2  7K3M9Q2B  main                          failure
        ");
        // Whole when there is room, or when no width is given (--wide, not a terminal).
        assert!(
            table
                .render_fitted(Some(1000))
                .contains(&"feature/".repeat(25))
        );
        assert_eq!(table.render_fitted(None), table.render());
        // Wide characters are cut on a character boundary.
        assert_eq!(cut("東京東京", 5), "東京…");
        assert_eq!(cut("abc", 3), "abc");
    }

    #[test]
    fn empty_table_renders_only_the_header() {
        let table = Table::with_header(["ID", "NAME"]);
        assert_eq!(table.render(), "ID  NAME\n");
    }
}
