//! Token buckets for event ingest: one per client identity and one for everybody.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::RateLimit;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, rate: f64, burst: f64, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * rate).min(burst);
        self.at = now;
    }
}

/// What a take left, for the `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// The client's burst.
    pub limit: u64,
    /// Events it may still send at once.
    pub remaining: u64,
    /// Seconds until its bucket is full again.
    pub reset_seconds: u64,
}

/// Refused: try again after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limited {
    /// Seconds until the request's cost is available (at least 1).
    pub retry_after_seconds: u64,
    /// Which limit: `client` or `global`.
    pub scope: &'static str,
    /// Headers for the refusal.
    pub quota: Quota,
}

/// The buckets.
#[derive(Debug)]
pub struct Limiter {
    config: RateLimit,
    clients: Mutex<HashMap<String, Bucket>>,
    global: Mutex<Bucket>,
}

impl Limiter {
    /// Full buckets.
    pub fn new(config: RateLimit) -> Limiter {
        let global = Bucket { tokens: config.global_burst, at: Instant::now() };
        Limiter { config, clients: Mutex::new(HashMap::new()), global: Mutex::new(global) }
    }

    /// Takes `cost` events for `client`, or says when to come back. A refusal takes nothing.
    pub fn take(&self, client: &str, cost: u64) -> Result<Quota, Limited> {
        let c = &self.config;
        let now = Instant::now();
        let cost = cost as f64;
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if clients.len() > 10_000 {
            // Forget full buckets of idle clients (they would be full again anyway).
            clients.retain(|_, b| {
                b.refill(c.events_per_second, c.burst, now);
                b.tokens < c.burst
            });
        }
        let b = clients.entry(client.to_string()).or_insert(Bucket { tokens: c.burst, at: now });
        b.refill(c.events_per_second, c.burst, now);
        let quota = |b: &Bucket| Quota {
            limit: c.burst as u64,
            remaining: b.tokens.max(0.0) as u64,
            reset_seconds: ((c.burst - b.tokens) / c.events_per_second).ceil().max(0.0) as u64,
        };
        let wait = |have: f64, rate: f64| (((cost - have) / rate).ceil() as u64).max(1);
        if b.tokens < cost {
            return Err(Limited {
                retry_after_seconds: wait(b.tokens, c.events_per_second),
                scope: "client",
                quota: quota(b),
            });
        }
        let mut g = self.global.lock().unwrap_or_else(|p| p.into_inner());
        g.refill(c.global_events_per_second, c.global_burst, now);
        if g.tokens < cost {
            return Err(Limited {
                retry_after_seconds: wait(g.tokens, c.global_events_per_second),
                scope: "global",
                quota: quota(b),
            });
        }
        g.tokens -= cost;
        b.tokens -= cost;
        Ok(quota(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refused_per_client_and_globally() {
        let l = Limiter::new(RateLimit {
            events_per_second: 1.0,
            burst: 3.0,
            global_events_per_second: 1.0,
            global_burst: 5.0,
        });
        assert_eq!(l.take("a", 2).unwrap().remaining, 1);
        assert_eq!(l.take("a", 1).unwrap().remaining, 0);
        let e = l.take("a", 1).unwrap_err();
        assert_eq!((e.scope, e.retry_after_seconds), ("client", 1));
        // Another client has its own bucket, until the global one is empty.
        l.take("b", 2).unwrap();
        let e = l.take("b", 1).unwrap_err();
        assert_eq!(e.scope, "global");
        // A batch larger than the burst can never pass (the config check forbids such a pair); it
        // is told so by a long wait.
        assert!(l.take("c", 10).unwrap_err().retry_after_seconds >= 7);
    }
}
