//! The spinner on stderr while something long runs (grading, installing): a frame, a label, the
//! seconds so far and, when given, a changing detail; erased when it stops. Plain carriage returns
//! and spaces, no escape codes. Callers start one only when stderr is a terminal.

use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/// A detail is cut to this many characters, so the line stays one line the carriage return redraws.
const DETAIL_MAX: usize = 70;

/// What is drawn, and the widest line drawn so far (what an erase must cover). Held while a frame
/// is drawn, so a pause can erase the line and print cleanly.
struct Line {
    label: String,
    width: usize,
}

pub struct Spinner {
    line: Arc<Mutex<Line>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Spinner {
    /// `detail`, when given, is shown after the time as it changes (an installer's last line).
    pub fn start(label: String, detail: Option<Arc<Mutex<String>>>) -> Spinner {
        let line = Arc::new(Mutex::new(Line { label, width: 0 }));
        let shown = line.clone();
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut frame = 0;
            loop {
                if let Ok(mut line) = shown.lock() {
                    let mut text =
                        format!("{} {}… {}s", FRAMES[frame % FRAMES.len()], line.label, started.elapsed().as_secs());
                    if let Some(more) = detail.as_ref().and_then(|d| d.lock().ok().map(|d| d.clone())) {
                        if !more.is_empty() {
                            text.push_str(" · ");
                            text.extend(more.chars().take(DETAIL_MAX));
                        }
                    }
                    line.width = line.width.max(text.chars().count() + 1);
                    let width = line.width;
                    crate::say_inline!("\r{text:<width$}");
                }
                frame += 1;
                // Wakes at once when the spinner is dropped (the sender goes).
                if !matches!(stopped.recv_timeout(Duration::from_millis(100)), Err(mpsc::RecvTimeoutError::Timeout)) {
                    break;
                }
            }
            if let Ok(line) = shown.lock() {
                erase(line.width);
            }
        });
        Spinner { line, stop: Some(stop), thread: Some(thread) }
    }

    /// Erases the spinner, runs `print`, and goes on with a new label.
    pub fn pause_for(&self, print: impl FnOnce(), label: String) {
        let Ok(mut line) = self.line.lock() else { return print() };
        erase(line.width);
        print();
        let _ = std::io::Write::flush(&mut std::io::stdout());
        line.label = label;
    }
}

fn erase(width: usize) {
    crate::say_inline!("\r{}\r", " ".repeat(width));
}

impl Drop for Spinner {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
