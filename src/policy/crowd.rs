//! Tests only: several clients of one app, each with its own
//! [`WindowLimiter`], against one HubSpot window, in a deterministic
//! discrete-event simulation (no clock, no sockets, no threads). It shows
//! what `Remaining` as an upper bound does for uncoordinated workers, and
//! that it costs a client alone nothing.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use super::headers::RateLimitHeaders;
use super::window::{Denied, WindowLimiter};
use hubspot_rate_limit::RateLimit;

const SEC: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// HubSpot's side: at most `max` arrivals in any `window`, as hubspot-fake
/// counts them (a refused request is not counted; Retry-After in whole
/// seconds, at least 1).
struct Server {
    max: u32,
    window: Duration,
    hits: VecDeque<Instant>,
}

/// What the server answered one request.
struct Answer {
    refused: bool,
    headers: RateLimitHeaders,
    retry_after: Duration,
}

impl Server {
    fn arrive(&mut self, now: Instant) -> Answer {
        while self
            .hits
            .front()
            .is_some_and(|&hit| now.saturating_duration_since(hit) >= self.window)
        {
            self.hits.pop_front();
        }
        let refused = self.hits.len() >= self.max as usize;
        let retry_after = match (refused, self.hits.front()) {
            (true, Some(&first)) => {
                let wait = (first + self.window).saturating_duration_since(now);
                Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(SEC)
            }
            _ => Duration::ZERO,
        };
        if !refused {
            self.hits.push_back(now);
        }
        Answer {
            refused,
            headers: RateLimitHeaders {
                max: Some(self.max),
                remaining: Some(self.max - self.hits.len() as u32),
                interval: Some(self.window),
                ..RateLimitHeaders::default()
            },
            retry_after,
        }
    }
}

/// One worker: its limiter, its backlog and what it has in flight.
struct Worker {
    limiter: WindowLimiter,
    left: u32,
    in_flight: usize,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A worker looks whether it may start requests.
    Wake(usize),
    /// A request started at the instant given reaches the server.
    Arrive(usize, Instant),
    /// The server's answer to it reaches the worker.
    Answer(usize, Instant, bool, u32, Duration),
}

/// The result of one simulated run.
#[derive(Debug)]
struct Run {
    refused: u32,
    requests: u32,
    elapsed: Duration,
}

/// `workers` clients sending `each` requests, `concurrency` at a time, to a
/// server allowing `quota`, `one_way` away (plus a small deterministic
/// jitter per leg). Every client starts at once, with the SDK's default
/// limiter (100/10s, adaptive) and the bound by others on or off.
fn simulate(workers: usize, each: u32, quota: RateLimit, bound_by_others: bool) -> Run {
    let (max, window) = match quota {
        RateLimit::Quota { max, window } => (max, window),
        RateLimit::Unlimited => unreachable!("a quota"),
    };
    let concurrency = 8;
    let one_way = ms(5);
    let t0 = Instant::now();
    let mut server = Server {
        max,
        window,
        hits: VecDeque::new(),
    };
    let mut crowd: Vec<Worker> = (0..workers)
        .map(|_| {
            let mut limiter = WindowLimiter::new(100, SEC * 10);
            limiter.set_bound_by_others(bound_by_others);
            Worker {
                limiter,
                left: each,
                in_flight: 0,
            }
        })
        .collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut jitter = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        Duration::from_micros((seed >> 33) % 2_000)
    };
    let mut events = BinaryHeap::new();
    for worker in 0..workers {
        events.push(Reverse((t0, Event::Wake(worker))));
    }
    let (mut refused, mut requests, mut last) = (0, 0, t0);
    while let Some(Reverse((now, event))) = events.pop() {
        match event {
            Event::Wake(id) => {
                let worker = &mut crowd[id];
                while worker.in_flight < concurrency && worker.left as usize > worker.in_flight {
                    match worker.limiter.try_acquire(now) {
                        Ok(()) => {
                            worker.in_flight += 1;
                            requests += 1;
                            let at = now + one_way + jitter();
                            events.push(Reverse((at, Event::Arrive(id, now))));
                        }
                        Err(Denied::Wait(wait)) => {
                            events.push(Reverse((now + wait, Event::Wake(id))));
                            break;
                        }
                        Err(Denied::InFlight) => break,
                    }
                }
            }
            Event::Arrive(id, started) => {
                let answer = server.arrive(now);
                let remaining = answer.headers.remaining.unwrap_or(0);
                let at = now + one_way + jitter();
                events.push(Reverse((
                    at,
                    Event::Answer(id, started, answer.refused, remaining, answer.retry_after),
                )));
            }
            Event::Answer(id, started, was_refused, remaining, retry_after) => {
                let worker = &mut crowd[id];
                worker.limiter.observe(
                    now,
                    &RateLimitHeaders {
                        max: Some(max),
                        remaining: Some(remaining),
                        interval: Some(window),
                        ..RateLimitHeaders::default()
                    },
                );
                if was_refused {
                    worker.limiter.forget(started);
                } else {
                    worker.limiter.release(started, now);
                }
                worker.in_flight -= 1;
                if was_refused {
                    refused += 1;
                    worker.limiter.pause_until(now + retry_after);
                } else {
                    worker.left -= 1;
                    last = last.max(now);
                }
                events.push(Reverse((now, Event::Wake(id))));
            }
        }
    }
    assert!(
        crowd.iter().all(|worker| worker.left == 0),
        "every request done"
    );
    Run {
        refused,
        requests,
        elapsed: last - t0,
    }
}

#[test]
fn four_uncoordinated_workers_stay_under_five_percent_429s() {
    let quota = RateLimit::custom(40, SEC);
    let bounded = simulate(4, 50, quota, true);
    assert!(
        bounded.refused * 20 < bounded.requests,
        "with the bound: {bounded:?}"
    );
    // 200 requests at 40 per second: 5 s if every slot were used.
    assert!(bounded.elapsed < SEC * 8, "{bounded:?}");
    // Without it, the same crowd runs into HubSpot's limit: the bound is
    // what keeps it under 5 %.
    let unbounded = simulate(4, 50, quota, false);
    assert!(
        unbounded.refused * 20 >= unbounded.requests,
        "without the bound: {unbounded:?}"
    );
}

#[test]
fn a_client_alone_loses_nothing_to_the_bound() {
    for quota in [RateLimit::custom(40, SEC), RateLimit::custom(100, SEC)] {
        let bounded = simulate(1, 300, quota, true);
        let unbounded = simulate(1, 300, quota, false);
        assert_eq!(bounded.refused, 0, "{bounded:?}");
        assert_eq!(
            (bounded.requests, bounded.elapsed),
            (unbounded.requests, unbounded.elapsed),
            "{quota}"
        );
    }
}
