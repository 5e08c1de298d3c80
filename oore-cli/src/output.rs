//! The one place `oore` writes to the terminal: results to standard output (text, tables
//! or pretty JSON), warnings and errors to standard error. It writes through `io::Write`
//! rather than `print!`, so a closed pipe (`oore repo list | head -1`) is an error value,
//! not a panic.

use std::io::{self, Write};

use serde::Serialize;

use crate::error::CliError;
use crate::table::Table;

/// Where output goes, and whether results are JSON.
pub(crate) struct Output {
    json: bool,
    /// Columns tables must fit in; `None` prints cells whole.
    width: Option<usize>,
    stdout: Box<dyn Write>,
    stderr: Box<dyn Write>,
}

impl Output {
    /// Output to the process's standard output and error; tables fit the terminal
    /// ([`terminal_width`]).
    pub(crate) fn stdio() -> Self {
        let mut out = Self::new(Box::new(io::stdout()), Box::new(io::stderr()));
        out.width = terminal_width(std::env::var("COLUMNS").ok().as_deref());
        out
    }

    /// Print table cells whole (`--wide`), or fit them in `width` columns.
    pub(crate) fn set_width(&mut self, width: Option<usize>) {
        self.width = width;
    }

    /// Output to the given writers.
    pub(crate) fn new(stdout: Box<dyn Write>, stderr: Box<dyn Write>) -> Self {
        Self {
            json: false,
            width: None,
            stdout,
            stderr,
        }
    }

    /// Print results as JSON from now on.
    pub(crate) fn set_json(&mut self, json: bool) {
        self.json = json;
    }

    /// True when results are printed as JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// A value as pretty JSON, e.g. the API's response.
    pub(crate) fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CliError> {
        let mut text = serde_json::to_string_pretty(value).map_err(|e| CliError::Io {
            what: "encode the output as JSON",
            source: io::Error::other(e),
        })?;
        text.push('\n');
        self.stdout(&text)
    }

    /// Lines of text; a newline is added when missing.
    pub(crate) fn text(&mut self, text: &str) -> Result<(), CliError> {
        if text.ends_with('\n') {
            self.stdout(text)
        } else {
            self.stdout(&format!("{text}\n"))
        }
    }

    /// Bytes as they are, without a newline added: log data as it streams in.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        self.stdout
            .write_all(bytes)
            .and_then(|()| self.stdout.flush())
            .map_err(|source| CliError::Io {
                what: "write to standard output",
                source,
            })
    }

    /// A rendered table.
    pub(crate) fn table(&mut self, table: &Table) -> Result<(), CliError> {
        self.stdout(&table.render_fitted(self.width))
    }

    /// `warning: ...` on standard error.
    pub(crate) fn warn(&mut self, message: &str) {
        self.stderr(&format!("warning: {message}\n"));
    }

    /// An error, as [`CliError::render`] formats it, on standard error.
    pub(crate) fn error(&mut self, error: &CliError) {
        self.stderr(&error.render());
    }

    /// Text as is on standard error, e.g. argh's usage message.
    pub(crate) fn raw_stderr(&mut self, text: &str) {
        self.stderr(text);
    }

    fn stdout(&mut self, text: &str) -> Result<(), CliError> {
        self.bytes(text.as_bytes())
    }

    fn stderr(&mut self, text: &str) {
        // Nowhere left to report a failure to write to standard error.
        let _ = self.stderr.write_all(text.as_bytes());
        let _ = self.stderr.flush();
    }
}

/// The columns tables are fitted to: `COLUMNS` when it is a number, else the width of
/// the terminal standard output is, else none (output to a pipe or file is not cut).
pub(crate) fn terminal_width(columns: Option<&str>) -> Option<usize> {
    if let Some(n) = columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    #[cfg(unix)]
    {
        use std::io::IsTerminal as _;
        let stdout = io::stdout();
        if stdout.is_terminal() {
            return rustix::termios::tcgetwinsize(&stdout)
                .ok()
                .map(|size| usize::from(size.ws_col))
                .filter(|n| *n > 0);
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod testing {
    //! An [`Output`] that captures what it writes, for tests.

    use std::cell::RefCell;
    use std::io::{self, Write};
    use std::rc::Rc;

    use super::Output;

    /// A shared buffer.
    #[derive(Clone, Default)]
    pub(crate) struct Buffer(Rc<RefCell<Vec<u8>>>);

    impl Buffer {
        /// What was written, as text.
        pub(crate) fn text(&self) -> String {
            String::from_utf8(self.bytes()).unwrap()
        }

        /// What was written, as bytes.
        pub(crate) fn bytes(&self) -> Vec<u8> {
            self.0.borrow().clone()
        }
    }

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// An output and its stdout and stderr buffers.
    pub(crate) fn capture() -> (Output, Buffer, Buffer) {
        let (out, err) = (Buffer::default(), Buffer::default());
        (
            Output::new(Box::new(out.clone()), Box::new(err.clone())),
            out,
            err,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::testing::capture;

    #[test]
    fn results_go_to_stdout_and_diagnostics_to_stderr() {
        let (mut output, out, err) = capture();
        output.text("hello").unwrap();
        output.json(&serde_json::json!({"a": 1})).unwrap();
        output.warn("careful");
        assert_eq!(out.text(), "hello\n{\n  \"a\": 1\n}\n");
        assert_eq!(err.text(), "warning: careful\n");
    }
}
