//! Shared input generators for the benchmarks and the throughput harness.

/// A small deterministic generator, so every run measures the same bytes.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }
}

const PATHS: &[&str] =
    &["/", "/index.html", "/api/v1/users", "/api/v1/orders/42", "/login", "/static/app.js"];
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE"];
const USERS: &[&str] = &["-", "alice", "bob", "carol"];

/// One Apache common log line, about 90 bytes.
pub fn apache_line(rng: &mut Lcg, out: &mut String) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "{}.{}.{}.{} - {} [25/Nov/2026:09:{:02}:{:02} +0000] \"{} {} HTTP/1.1\" {} {}",
        rng.below(223) + 1,
        rng.below(256),
        rng.below(256),
        rng.below(254) + 1,
        USERS[rng.below(USERS.len() as u32) as usize],
        rng.below(60),
        rng.below(60),
        METHODS[rng.below(METHODS.len() as u32) as usize],
        PATHS[rng.below(PATHS.len() as u32) as usize],
        [200, 200, 201, 304, 404, 500][rng.below(6) as usize],
        rng.below(50_000)
    );
}

/// One JSON log line, about 200 bytes, with a field the W2 program deletes.
pub fn json_line(rng: &mut Lcg, out: &mut String) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        r#"{{"timestamp":"2026-11-25T09:{:02}:{:02}.{:03}Z","level":"{}","service":"checkout","trace_id":"{:08x}{:08x}","user":"{}","path":"{}","status":{},"duration_ms":{},"remove_me":"secret-{}"}}"#,
        rng.below(60),
        rng.below(60),
        rng.below(1000),
        ["info", "warn", "error", "debug"][rng.below(4) as usize],
        rng.next_u32(),
        rng.next_u32(),
        USERS[rng.below(USERS.len() as u32) as usize],
        PATHS[rng.below(PATHS.len() as u32) as usize],
        [200, 201, 404, 500][rng.below(4) as usize],
        rng.below(5000),
        rng.below(1000)
    );
}

/// `count` lines from `line`, as one string.
pub fn lines(count: usize, seed: u64, line: fn(&mut Lcg, &mut String)) -> String {
    let mut rng = Lcg::new(seed);
    let mut out = String::with_capacity(count * 200);
    for _ in 0..count {
        line(&mut rng, &mut out);
    }
    out
}
