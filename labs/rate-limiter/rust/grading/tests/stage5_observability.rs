//! Stage `observability`: Prometheus exposition and bounded labels (the log
//! test lives in `stage5_logs.rs`).

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Client, FakeClock, app, down_store, settings, unique};

/// One sample line of the text exposition format.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// One metric family: its TYPE, HELP and samples.
#[derive(Debug, Clone, Default)]
struct Family {
    kind: String,
    help: String,
    samples: Vec<Sample>,
}

/// The family a sample belongs to, given the declared families.
fn family_of<'a>(sample: &str, families: &'a HashMap<String, Family>) -> Option<&'a str> {
    if families.contains_key(sample) {
        return families.get_key_value(sample).map(|(k, _)| k.as_str());
    }
    ["_bucket", "_sum", "_count", "_total", "_created"]
        .iter()
        .find_map(|suffix| {
            let base = sample.strip_suffix(suffix)?;
            families.get_key_value(base).map(|(k, _)| k.as_str())
        })
}

fn parse_labels(raw: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = raw;
    while let Some((name, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(if escaped == 'n' { '\n' } else { escaped });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                other => value.push(other),
            }
        }
        labels.insert(name.trim_start_matches(',').trim().to_owned(), value);
        rest = &after[end..];
    }
    labels
}

/// A small parser for the Prometheus text format (version 0.0.4).
fn parse_exposition(text: &str) -> HashMap<String, Family> {
    let mut families: HashMap<String, Family> = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            families.entry(name.to_owned()).or_default().help = help.to_owned();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            families.entry(name.to_owned()).or_default().kind = kind.trim().to_owned();
        } else if !line.starts_with('#') {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("malformed sample line {line:?}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, parse_labels(labels.trim_end_matches('}'))),
                None => (series, BTreeMap::new()),
            };
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("malformed sample value in {line:?}")),
            };
            let family = family_of(name, &families)
                .unwrap_or_else(|| panic!("sample {name:?} has no # TYPE line before it"))
                .to_owned();
            let sample = Sample {
                name: name.to_owned(),
                labels,
                value,
            };
            families
                .get_mut(&family)
                .expect("known family")
                .samples
                .push(sample);
        }
    }
    families
}

async fn scrape(client: &Client) -> HashMap<String, Family> {
    let response = client.get("/metrics").await;
    assert_eq!(response.status, StatusCode::OK);
    parse_exposition(&response.text())
}

fn samples<'a>(
    families: &'a HashMap<String, Family>,
    family: &str,
    sample: &str,
) -> Vec<&'a Sample> {
    let mut names: Vec<_> = families.keys().collect();
    names.sort();
    let found = families
        .get(family)
        .unwrap_or_else(|| panic!("metric family {family:?} missing; have {names:?}"));
    found.samples.iter().filter(|s| s.name == sample).collect()
}

fn matches(sample: &Sample, labels: &[(&str, &str)]) -> bool {
    labels
        .iter()
        .all(|(k, v)| sample.labels.get(*k).map(String::as_str) == Some(*v))
}

fn value(
    families: &HashMap<String, Family>,
    family: &str,
    sample: &str,
    labels: &[(&str, &str)],
) -> f64 {
    let found: Vec<_> = samples(families, family, sample)
        .into_iter()
        .filter(|s| matches(s, labels))
        .collect();
    assert!(
        !found.is_empty(),
        "no {sample} sample with labels {labels:?}"
    );
    found.iter().map(|s| s.value).sum()
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[tokio::test]
async fn metrics_exposition_format_and_naming() {
    let clock = FakeClock::new();
    let client = app(settings(|_| {}), &clock, None);
    client.get("/api/ping").await;
    let response = client.get("/metrics").await;
    let content_type = response.header("content-type").unwrap_or_default();
    assert_eq!(
        response.media_type(),
        "text/plain",
        "the Prometheus text format is served as text/plain"
    );
    let version = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("version=").map(str::to_owned));
    assert!(
        version
            .as_deref()
            .is_some_and(|v| v == "0.0.4" || v == "1.0.0"),
        "name the exposition format version (e.g. version=0.0.4), got {content_type:?}"
    );

    let families = parse_exposition(&response.text());
    for required in [
        "http_requests_total",
        "http_request_duration_seconds",
        "rate_limit_rejections_total",
    ] {
        assert!(
            families.contains_key(required),
            "expected metric family {required:?}"
        );
    }
    assert_eq!(families["http_requests_total"].kind, "counter");
    assert_eq!(families["rate_limit_rejections_total"].kind, "counter");
    assert_eq!(
        families["http_request_duration_seconds"].kind, "histogram",
        "durations are a histogram in seconds (base unit, plural suffix)"
    );
    for (name, family) in &families {
        assert!(valid_metric_name(name), "invalid metric name {name:?}");
        assert!(!family.help.trim().is_empty(), "{name} needs HELP text");
        if family.kind == "counter" {
            assert!(
                name.ends_with("_total"),
                "counter {name} must end in _total"
            );
        }
        let units = ["_ms", "_milliseconds", "_secs", "_millis"];
        assert!(
            !units
                .iter()
                .any(|u| name.ends_with(u) || name.contains(&format!("{u}_"))),
            "{name}: use base units (seconds)"
        );
    }
}

#[tokio::test]
async fn request_counter_and_histogram_agree() {
    let clock = FakeClock::new();
    let client = app(settings(|s| s.rate_limit = 100), &clock, None);
    let started = Instant::now();
    for _ in 0..7 {
        assert_eq!(client.get("/api/ping").await.status, StatusCode::OK);
    }
    let outside = started.elapsed().as_secs_f64();
    let families = scrape(&client).await;
    let labels = [("method", "GET"), ("route", "/api/ping")];
    let with_status = [("method", "GET"), ("route", "/api/ping"), ("status", "200")];
    assert_eq!(
        value(
            &families,
            "http_requests_total",
            "http_requests_total",
            &with_status
        ),
        7.0
    );

    let count = value(
        &families,
        "http_request_duration_seconds",
        "http_request_duration_seconds_count",
        &labels,
    );
    let total = value(
        &families,
        "http_request_duration_seconds",
        "http_request_duration_seconds_sum",
        &labels,
    );
    assert_eq!(count, 7.0, "one observation per request");
    assert!(
        total > 0.0 && total <= outside,
        "the 7 requests took {outside:.6} s in all, timed around them, yet \
         http_request_duration_seconds_sum is {total}: observe each duration in seconds, \
         with sub-second precision"
    );
    let mut buckets: Vec<(f64, f64)> = samples(
        &families,
        "http_request_duration_seconds",
        "http_request_duration_seconds_bucket",
    )
    .into_iter()
    .filter(|s| matches(s, &labels))
    .map(|s| {
        let le = s.labels.get("le").expect("buckets carry le");
        let bound = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().expect("numeric le")
        };
        (bound, s.value)
    })
    .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let counts: Vec<f64> = buckets.iter().map(|b| b.1).collect();
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "histogram buckets are cumulative"
    );
    assert!(
        buckets.last().is_some_and(|b| b.0.is_infinite()),
        "the last bucket is le=+Inf"
    );
    assert_eq!(
        counts.last().copied(),
        Some(count),
        "the +Inf bucket equals _count"
    );
}

#[tokio::test]
async fn rate_limit_rejections_are_counted() {
    let clock = FakeClock::new();
    let client = app(settings(|s| s.rate_limit = 2), &clock, None);
    let mut rejected = 0;
    for _ in 0..5 {
        if client.get("/api/ping").await.status == StatusCode::TOO_MANY_REQUESTS {
            rejected += 1;
        }
    }
    assert_eq!(rejected, 3);
    let families = scrape(&client).await;
    assert_eq!(
        value(
            &families,
            "rate_limit_rejections_total",
            "rate_limit_rejections_total",
            &[]
        ),
        3.0
    );
    assert_eq!(
        value(
            &families,
            "http_requests_total",
            "http_requests_total",
            &[("route", "/api/ping"), ("status", "429")]
        ),
        3.0,
        "rejected requests still show up in the request counter"
    );
}

#[tokio::test]
async fn metric_labels_have_bounded_cardinality() {
    let clock = FakeClock::new();
    let client = app(settings(|s| s.rate_limit = 1000), &clock, None);
    let ids: Vec<String> = (0..100).map(|_| unique("item")).collect();
    for id in &ids {
        assert_eq!(
            client.get(&format!("/api/items/{id}")).await.status,
            StatusCode::OK
        );
    }
    let junk: Vec<String> = (0..20).map(|_| unique("junk")).collect();
    for path in &junk {
        client.get(&format!("/no-such-page/{path}")).await;
    }
    // Any token is a valid HTTP method: clients choose them as freely as paths.
    let methods: Vec<String> = (0..20).map(|_| unique("probe")).collect();
    for method in &methods {
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a token is a method"))
            .uri("/api/ping")
            .body(Body::empty())
            .expect("valid request");
        client.send(request).await;
    }

    let families = scrape(&client).await;
    let series = samples(&families, "http_requests_total", "http_requests_total");
    assert!(!series.is_empty(), "http_requests_total has no series");
    let routes: HashSet<&str> = series
        .iter()
        .filter_map(|s| s.labels.get("route").map(String::as_str))
        .collect();
    assert!(
        routes.contains("/api/items/{item_id}"),
        "label routes by template, got {routes:?}"
    );
    let label_values: HashSet<&str> = families
        .values()
        .flat_map(|f| &f.samples)
        .flat_map(|s| s.labels.values())
        .map(String::as_str)
        .collect();
    let leaked: Vec<_> = ids
        .iter()
        .chain(&junk)
        .chain(&methods)
        .filter(|i| label_values.iter().any(|v| v.contains(i.as_str())))
        .collect();
    assert!(
        leaked.is_empty(),
        "raw paths, ids or methods chosen by clients must never become label values: {leaked:?}"
    );
    assert!(
        series.len() <= 10,
        "120 distinct paths and 20 invented methods produced {} series",
        series.len()
    );

    // Rejected clients must not become label values either.
    let limited = app(settings(|s| s.rate_limit = 1), &clock, None);
    for n in 1..=20 {
        let client = limited.from_addr(&format!("198.51.100.{n}:4000"));
        client.get("/api/ping").await;
        assert_eq!(
            client.get("/api/ping").await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    let families = scrape(&limited).await;
    let by_address: Vec<&str> = families
        .values()
        .flat_map(|f| &f.samples)
        .flat_map(|s| s.labels.values())
        .map(String::as_str)
        .filter(|v| v.contains("198.51.100."))
        .collect();
    assert!(
        by_address.is_empty(),
        "client addresses must never become label values, got {by_address:?}"
    );
}

#[tokio::test]
async fn limiter_backend_errors_are_counted() {
    let clock = FakeClock::new();
    let client = app(settings(|_| {}), &clock, Some(down_store()));
    for _ in 0..3 {
        assert_eq!(
            client.get("/api/ping").await.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "with the limiter's Redis down, /api/* fails closed"
        );
    }
    let families = scrape(&client).await;
    assert_eq!(
        value(
            &families,
            "rate_limit_backend_errors_total",
            "rate_limit_backend_errors_total",
            &[]
        ),
        3.0,
        "every request the limiter could not decide counts in rate_limit_backend_errors_total: \
         an outage must show on a dashboard, not only in the logs"
    );
    assert_eq!(
        value(
            &families,
            "http_requests_total",
            "http_requests_total",
            &[("route", "/api/ping"), ("status", "503")]
        ),
        3.0,
        "the 503s show up in the request counter"
    );
}
