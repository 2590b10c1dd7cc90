//! Buyers contesting units at the desk, as the desk's end-to-end tests drive them: each of
//! `buyers` is one tablet sending up to four holds for random units until one holds, every
//! request sent twice (its first answer "lost") — to another server when several serve the
//! event — and both answers must agree; then every key once more, all at once.

// A test harness: a broken expectation (or a server that does not answer) panics the test,
// naming its seed.
#![allow(clippy::unwrap_used)]

use std::sync::Barrier;

use serde_json::{Value, json};

use crate::crash::SplitMix;
use crate::{DeskClient, demo_token};

/// What one buyer's tablet sent: (key, request, answer) per attempt.
pub type Sent = Vec<(String, Value, Value)>;

/// Runs one tablet per buyer against the servers at `urls` (a request to a random one, its
/// retry to the next), all starting together; returns each tablet's requests and answers.
/// Panics (naming `seed`) when a retry gets another answer or an answer is neither accepted
/// nor refused.
pub fn contest(
    seed: u64,
    urls: &[String],
    event: &str,
    units: &[String],
    buyers: &[String],
) -> Vec<Sent> {
    let barrier = Barrier::new(buyers.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = buyers
            .iter()
            .enumerate()
            .map(|(client, buyer)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let desks: Vec<DeskClient> =
                        urls.iter().map(|u| DeskClient::new(u, &demo_token("staff-01"))).collect();
                    let mut rng = SplitMix(seed ^ (client as u64 + 1).wrapping_mul(0x9E37_79B9));
                    let mut sent = Vec::new();
                    barrier.wait();
                    for attempt in 0..4 {
                        let unit = &units[rng.below(units.len() as u64) as usize];
                        let key = format!("{seed}-c{client}-a{attempt}");
                        let hold = json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer });
                        let first = rng.below(desks.len() as u64) as usize;
                        let (s1, answer) = desks[first].send(&key, event, &hold).unwrap();
                        let retry_on = (first + 1) % desks.len();
                        let (s2, retry) = desks[retry_on].send(&key, event, &hold).unwrap();
                        assert_eq!(
                            (s1, &answer),
                            (s2, &retry),
                            "seed {seed}: a retry of {key} got another answer"
                        );
                        assert!(s1 == 200 || s1 == 409, "seed {seed}: {key} -> {s1} {answer}");
                        sent.push((key, hold, answer));
                        if s1 == 200 {
                            break;
                        }
                    }
                    sent
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Sends every key of `answers` once more through `url`, all tablets at once from fresh
/// connections: each must get its stored answer.
pub fn replay(seed: u64, url: &str, event: &str, answers: &[Sent]) {
    std::thread::scope(|scope| {
        for client_answers in answers {
            scope.spawn(move || {
                let desk = DeskClient::new(url, &demo_token("staff-01"));
                for (key, hold, answer) in client_answers {
                    let (_, again) = desk.send(key, event, hold).unwrap();
                    assert_eq!(&again, answer, "seed {seed}: {key} replayed differently");
                }
            });
        }
    });
}
