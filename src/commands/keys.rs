//! Keys typed while `lab check --watch` waits: single keys on a terminal (its line editing and
//! echo off while the watch runs, restored after), whole lines from any other standard input.

use std::io::{IsTerminal, Read};
use std::sync::mpsc;

/// What a key asks the watch to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Enter or `r`: grade every stage.
    All,
    /// `h`: the next hint of the stage being watched.
    Hint,
    /// `n`: watch the next stage.
    Next,
    /// `q`: stop watching.
    Quit,
}

impl Key {
    fn from_byte(b: u8) -> Option<Key> {
        match b {
            b'\n' | b'\r' | b'r' | b'R' => Some(Key::All),
            b'h' | b'H' => Some(Key::Hint),
            b'n' | b'N' => Some(Key::Next),
            b'q' | b'Q' => Some(Key::Quit),
            _ => None,
        }
    }

    /// A line from a pipe: its first key, or Enter for an empty line.
    fn from_line(line: &str) -> Option<Key> {
        Key::from_byte(line.trim().bytes().next().unwrap_or(b'\n'))
    }
}

/// Starts reading keys; the terminal's mode is restored when the returned guard is dropped.
pub fn listen() -> (mpsc::Receiver<Key>, Option<RawMode>) {
    let (tx, rx) = mpsc::channel();
    let raw = std::io::stdin().is_terminal().then(RawMode::enter).flatten();
    let single_keys = raw.is_some();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while let Ok(1) = stdin.read(&mut byte) {
            let key = if single_keys {
                Key::from_byte(byte[0])
            } else if byte[0] == b'\n' {
                let key = Key::from_line(&String::from_utf8_lossy(&line));
                line.clear();
                key
            } else {
                line.push(byte[0]);
                continue;
            };
            if let Some(key) = key {
                if tx.send(key).is_err() {
                    return;
                }
            }
        }
    });
    (rx, raw)
}

/// The terminal with line editing and echo off (signals still work: Ctrl-C stays Ctrl-C).
pub struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    #[allow(unsafe_code)] // termios has no safe wrapper in std
    fn enter() -> Option<RawMode> {
        // SAFETY: tcgetattr fills the struct for a file descriptor we hold open (stdin); a
        // zeroed termios is a valid value to pass in.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return None;
        }
        let mut raw = saved;
        raw.c_lflag &= !(libc::ICANON | libc::ECHO);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        // SAFETY: as above, with a struct tcgetattr filled.
        (unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) } == 0).then_some(RawMode { saved })
    }
}

impl Drop for RawMode {
    #[allow(unsafe_code)] // termios has no safe wrapper in std
    fn drop(&mut self) {
        // SAFETY: restores the settings tcgetattr read from the same descriptor.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_lines_map_to_actions() {
        assert_eq!(Key::from_byte(b'\r'), Some(Key::All));
        assert_eq!(Key::from_byte(b'h'), Some(Key::Hint));
        assert_eq!(Key::from_byte(b'x'), None);
        assert_eq!(Key::from_line(""), Some(Key::All));
        assert_eq!(Key::from_line(" q\r"), Some(Key::Quit));
        assert_eq!(Key::from_line("next"), Some(Key::Next));
    }
}
