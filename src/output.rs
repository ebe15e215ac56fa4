//! The one way commands write to stdout: colour follows `--color`, NO_COLOR and pipes, and a
//! reader that closes the pipe early (`lab list | head -1`) ends the command quietly with exit 0.

use std::io::{self, Write};

use anstream::AutoStream;
use anstyle::{AnsiColor, Style};

pub const GREEN: Style = AnsiColor::Green.on_default();
pub const RED: Style = AnsiColor::Red.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();

/// stdout, with colour stripped when it is not wanted. Every command prints through this, and
/// every write returns its error: a broken pipe travels up to `main` and ends the run there.
pub fn stdout() -> AutoStream<io::Stdout> {
    anstream::stdout()
}

/// A line of progress or advice on stderr. stderr may be a closed pipe too (`2>&1 | head`):
/// that is ignored, never a panic.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// The same without the newline, for prompts and spinner frames.
#[macro_export]
macro_rules! say_inline {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut err = std::io::stderr();
        let _ = write!(err, $($arg)*);
        let _ = err.flush();
    }};
}

/// Writes bytes made elsewhere (a completion script, a man page) to stdout.
pub fn write_all(bytes: &[u8]) -> io::Result<()> {
    let mut o = io::stdout().lock();
    o.write_all(bytes)?;
    o.flush()
}

/// The width a report is laid out for when nothing says otherwise.
const DEFAULT_WIDTH: usize = 80;
/// Narrower than this, wrapping would put a word or two on each line: lay out for this instead.
const MIN_WIDTH: usize = 20;

/// The columns stdout's lines may use: the terminal's width when stdout is a terminal, else
/// `COLUMNS`, else 80.
pub fn terminal_width() -> usize {
    let env = || std::env::var("COLUMNS").ok()?.trim().parse::<usize>().ok().filter(|&c| c > 0);
    tty_width().or_else(env).unwrap_or(DEFAULT_WIDTH).max(MIN_WIDTH)
}

#[allow(unsafe_code)] // TIOCGWINSZ has no safe wrapper in std
fn tty_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() {
        return None;
    }
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ on stdout writes one winsize into `size`, which this function owns and
    // which outlives the call.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// True when the error, or anything in its chain, is a write into a closed pipe: the reader
/// stopped reading, which is a normal way for a command's output to end.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_broken_pipe_is_recognised_through_context_and_nothing_else_is() {
        let pipe: anyhow::Result<()> = Err(io::Error::from(io::ErrorKind::BrokenPipe).into());
        assert!(is_broken_pipe(&pipe.context("cannot print the report").unwrap_err()));
        let other: anyhow::Result<()> = Err(io::Error::from(io::ErrorKind::PermissionDenied).into());
        assert!(!is_broken_pipe(&other.context("cannot print").unwrap_err()));
        assert!(!is_broken_pipe(&anyhow::anyhow!("broken pipe")));
    }
}
