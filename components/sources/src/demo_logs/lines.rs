//! Generators of realistic-looking log lines.

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;

use super::DemoFormat;

const HOSTS: &[&str] = &["web-01", "web-02", "api-gw", "db-primary", "cache-3", "edge-eu-1"];
const USERS: &[&str] = &["-", "alice", "bob", "carol", "dave", "erin", "frank"];
const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"];
const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/api/v1/users",
    "/api/v1/orders/42",
    "/login",
    "/static/app.js",
    "/health",
    "/search?q=observability",
    "/cart/checkout",
    "/images/logo.png",
];
const STATUSES: &[u16] = &[200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503];
const APPS: &[&str] = &["nginx", "sshd", "kernel", "systemd", "postgres", "cron", "dockerd"];
const LEVELS: &[&str] = &["error", "warn", "notice", "info", "debug", "crit"];
const MESSAGES: &[&str] = &[
    "connection reset by peer",
    "accepted publickey for deploy from 10.1.2.3 port 52311 ssh2",
    "client sent invalid request while reading client request line",
    "upstream timed out (110: Connection timed out) while reading response header",
    "started session 1043 of user root",
    "checkpoint complete: wrote 312 buffers (1.9%)",
    "out of memory: killed process 4242 (java)",
    "File does not exist: /var/www/html/favicon.ico",
];

fn ip(rng: &mut SmallRng) -> String {
    format!(
        "{}.{}.{}.{}",
        rng.random_range(1..=223),
        rng.random::<u8>(),
        rng.random::<u8>(),
        rng.random_range(1..=254)
    )
}

fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T]) -> &'a T {
    // The lists above are constant and non-empty.
    items.choose(rng).unwrap_or(&items[0])
}

/// One line in `format`, stamped `now`; `sequence` numbers shuffle lines when asked.
pub fn line(
    format: DemoFormat,
    rng: &mut SmallRng,
    now: DateTime<Utc>,
    lines: &[String],
    sequence: Option<u64>,
) -> String {
    match format {
        DemoFormat::ApacheCommon => format!(
            "{} - {} [{}] \"{} {} HTTP/1.1\" {} {}",
            ip(rng),
            pick(rng, USERS),
            now.format("%d/%b/%Y:%H:%M:%S %z"),
            pick(rng, METHODS),
            pick(rng, PATHS),
            pick(rng, STATUSES),
            rng.random_range(0..50_000)
        ),
        DemoFormat::ApacheError => format!(
            "[{}] [core:{}] [pid {}] [client {}:{}] {}",
            now.format("%a %b %d %H:%M:%S%.6f %Y"),
            pick(rng, LEVELS),
            rng.random_range(100..65_000),
            ip(rng),
            rng.random_range(1024..65_535),
            pick(rng, MESSAGES)
        ),
        DemoFormat::Syslog => format!(
            "<{}>1 {} {} {} {} ID{} - {}",
            rng.random_range(0..192),
            now.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            pick(rng, HOSTS),
            pick(rng, APPS),
            rng.random_range(100..65_000),
            rng.random_range(1..1000),
            pick(rng, MESSAGES)
        ),
        DemoFormat::BsdSyslog => format!(
            "<{}>{} {} {}[{}]: {}",
            rng.random_range(0..192),
            now.format("%b %e %H:%M:%S"),
            pick(rng, HOSTS),
            pick(rng, APPS),
            rng.random_range(100..65_000),
            pick(rng, MESSAGES)
        ),
        DemoFormat::Json => serde_json::json!({
            "host": ip(rng),
            "user-identifier": pick(rng, USERS),
            "datetime": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "method": pick(rng, METHODS),
            "request": pick(rng, PATHS),
            "protocol": "HTTP/1.1",
            "status": pick(rng, STATUSES).to_string(),
            "bytes": rng.random_range(0..50_000),
            "referer": format!("https://{}.example.com/", pick(rng, HOSTS)),
        })
        .to_string(),
        DemoFormat::Shuffle => {
            let chosen = lines.choose(rng).map(String::as_str).unwrap_or_default();
            match sequence {
                Some(n) => format!("{n} {chosen}"),
                None => chosen.to_owned(),
            }
        }
    }
}
