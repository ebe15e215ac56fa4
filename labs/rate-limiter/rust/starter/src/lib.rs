//! A rate-limited authentication service: the library behind the `main` binary.
//!
//! `app::create_app` wires everything together; every module that decides
//! something based on time takes a [`clock::Clock`], so tests can drive time
//! explicitly instead of sleeping. Work through the stages by searching for
//! `TODO(lab:` markers.

pub mod app;
pub mod auth;
pub mod clock;
pub mod distributed;
pub mod health;
pub mod http_limits;
pub mod observability;
pub mod passwords;
pub mod problems;
pub mod ratelimit;
pub mod settings;
pub mod store;
pub mod tokens;

pub use app::{AppState, StartupError, create_app};
pub use clock::{Clock, ManualClock, SystemClock};
pub use settings::Settings;
