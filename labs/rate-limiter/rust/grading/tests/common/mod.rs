//! Shared helpers of the rate-limiter grading suite (Rust track).
//!
//! The suite is self-contained: time is always a [`FakeClock`], HTTP requests
//! go straight into the router with `tower::ServiceExt::oneshot` (no sockets).
//! The distributed stage's Redis is chosen in `backend/mod.rs`.
#![allow(dead_code)]

pub mod keys;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use service::distributed::{RedisWindowStore, WindowStore};
use service::{Clock, Settings};
use tower::ServiceExt;

/// A fixed instant in 2039, far from today's wall clock, so code that reads
/// the real clock instead of the injected one behaves visibly differently.
/// It is 40 s into a 60 s window (2_200_000_060 % 60 == 40).
pub const START: f64 = 2_200_000_060.0;

/// The app's issuer and audience defaults.
pub const ISSUER: &str = "http://localhost:8000";
pub const AUDIENCE: &str = "lab-api";

/// A clock that moves only when the test says so.
#[derive(Debug)]
pub struct FakeClock(AtomicU64);

impl FakeClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(START.to_bits())))
    }
    pub fn set(&self, now: f64) {
        self.0.store(now.to_bits(), Ordering::SeqCst);
    }
    pub fn advance(&self, seconds: f64) {
        self.set(self.now() + seconds);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::SeqCst))
    }
}

/// `a == b` up to float noise.
pub fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!(
        "{prefix}{:x}{:x}{n}",
        std::process::id(),
        nanos % 0xffff_ffff
    )
}

/// Settings with the grading signing key and the given tweaks.
pub fn settings(tweak: impl FnOnce(&mut Settings)) -> Settings {
    let mut settings = Settings {
        jwt_private_key_pem: keys::signing_key_pem().to_owned(),
        database_path: ":memory:".to_owned(),
        ..Settings::default()
    };
    tweak(&mut settings);
    settings
}

/// An answer, fully read.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON body, got {:?}: {e}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn media_type(&self) -> String {
        let raw = self.header("content-type").unwrap_or_default();
        raw.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
}

/// One app instance seen from one client address.
#[derive(Clone)]
pub struct Client {
    pub router: Router,
    pub addr: SocketAddr,
}

impl Client {
    pub fn new(router: Router) -> Self {
        Self {
            router,
            addr: "203.0.113.10:40000".parse().expect("valid address"),
        }
    }

    /// The same app, seen from another address.
    pub fn from_addr(&self, addr: &str) -> Self {
        Self {
            router: self.router.clone(),
            addr: addr.parse().expect("valid address"),
        }
    }

    pub async fn send(&self, mut request: Request<Body>) -> Answer {
        request.extensions_mut().insert(ConnectInfo(self.addr));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router never errors");
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .expect("readable body")
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send(request(Method::GET, path, headers, Body::empty()))
            .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.post_json_with(path, body, &[]).await
    }

    pub async fn post_json_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.send(request(
            Method::POST,
            path,
            &all,
            Body::from(body.to_string()),
        ))
        .await
    }

    pub async fn post_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send(request(Method::POST, path, headers, Body::empty()))
            .await
    }
}

fn request(method: Method, path: &str, headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).expect("valid request")
}

/// Build the learner's app.
pub fn app(
    settings: Settings,
    clock: &Arc<FakeClock>,
    store: Option<Arc<dyn WindowStore>>,
) -> Client {
    let clock: Arc<dyn Clock> = clock.clone();
    let router = service::create_app(settings, clock, store)
        .unwrap_or_else(|e| panic!("create_app failed: {e}"));
    Client::new(router)
}

pub const PASSWORD: &str = "correct horse battery staple 42";

/// Register a fresh user; returns its name.
pub async fn register(client: &Client) -> String {
    let username = unique("user");
    let answer = client
        .post_json(
            "/auth/register",
            &serde_json::json!({"username": username, "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "registration failed: {} {}",
        answer.status,
        answer.text()
    );
    username
}

pub async fn login(client: &Client, username: &str, password: &str) -> Answer {
    client
        .post_json(
            "/auth/login",
            &serde_json::json!({"username": username, "password": password}),
        )
        .await
}

/// `GET /api/me` with a bearer token; returns the status.
pub async fn me(client: &Client, token: &str) -> StatusCode {
    client
        .get_with("/api/me", &[("authorization", &format!("Bearer {token}"))])
        .await
        .status
}

// ---------------------------------------------------------------- Structured Fields

/// One member of a Structured Field list: its name and integer parameters.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub params: HashMap<String, sfv::BareItem>,
}

impl Member {
    /// An integer parameter, `None` if absent or not an integer.
    pub fn int(&self, key: &str) -> Option<i64> {
        self.params
            .get(key)
            .and_then(|v| v.as_integer())
            .map(i64::from)
    }
}

/// Parse a header as an RFC 9651 list whose members are items named by a
/// String (draft -10) or a Token (tolerated).
pub fn parse_list(answer: &Answer, field: &str) -> Vec<Member> {
    let raw = answer.header(field).unwrap_or_else(|| {
        panic!("{field} header missing (draft-10 defines RateLimit-Policy and RateLimit)")
    });
    let list: sfv::List = sfv::Parser::new(&raw)
        .parse()
        .unwrap_or_else(|e| panic!("{field}: {raw:?} is not a Structured Field list: {e}"));
    assert!(!list.is_empty(), "{field} must not be empty");
    list.into_iter()
        .map(|entry| match entry {
            sfv::ListEntry::Item(item) => Member {
                name: name_of(&item.bare_item, field),
                params: item
                    .params
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                    .collect(),
            },
            sfv::ListEntry::InnerList(_) => {
                panic!("{field}: members must be items, not inner lists")
            }
        })
        .collect()
}

fn name_of(item: &sfv::BareItem, field: &str) -> String {
    if let Some(s) = item.as_string() {
        return s.as_str().to_owned();
    }
    if let Some(t) = item.as_token() {
        return t.as_str().to_owned();
    }
    panic!("{field}: a policy name must be an sf-string or token, got {item:?}")
}

// ---------------------------------------------------------------- Redis

/// A Redis store pointed at a loopback port nobody listens on.
pub fn down_store() -> Arc<dyn WindowStore> {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("address")
        .port();
    Arc::new(RedisWindowStore::open(&format!("redis://127.0.0.1:{port}/")).expect("a valid URL"))
}

/// A `WindowStore` that counts the calls it forwards.
pub struct Counting {
    pub inner: Arc<dyn WindowStore>,
    pub hits: AtomicUsize,
    pub pings: AtomicUsize,
}

#[async_trait::async_trait]
impl WindowStore for Counting {
    async fn hit_window(
        &self,
        key: &str,
        limit: u64,
        cost: u64,
        ttl_ms: u64,
    ) -> Result<service::distributed::WindowHit, service::distributed::LimiterUnavailable> {
        self.hits.fetch_add(1, Ordering::SeqCst);
        self.inner.hit_window(key, limit, cost, ttl_ms).await
    }

    async fn ping(&self) -> Result<(), service::distributed::LimiterUnavailable> {
        self.pings.fetch_add(1, Ordering::SeqCst);
        self.inner.ping().await
    }
}

// ---------------------------------------------------------------- logs

/// A `MakeWriter` target the log test reads back.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}
