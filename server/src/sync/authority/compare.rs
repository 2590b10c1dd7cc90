//! Comparing what a merge left with what was authorised, one part of a document at a time,
//! and gathering what undoes the refused writes into one commit per part.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use kam_core::rules::{Write, WriteRule};
use serde::Serialize;

use super::{Violation, violation};
use crate::error::ServerError;

/// What checking one part of a document found: a violation per refused write, and the edits
/// that undo them all, committed together.
pub(super) struct Findings<E> {
    found: Vec<Violation>,
    edits: Vec<E>,
}

impl<E> Findings<E> {
    /// Nothing found yet.
    pub(super) fn new() -> Self {
        Findings { found: Vec::new(), edits: Vec::new() }
    }

    /// Records that the write of `new` over `old` at `field` broke `rule`.
    pub(super) fn refuse<T: Serialize + ?Sized>(
        &mut self,
        field: String,
        rule: WriteRule,
        old: &T,
        new: &T,
    ) {
        self.found.push(violation(&field, rule.code(), old, new));
    }

    /// Adds an edit to the compensating commit.
    pub(super) fn undo(&mut self, edit: E) {
        self.edits.push(edit);
    }

    /// Commits the undoing edits (if any) through `write` and moves the violations to `out`.
    pub(super) fn settle(
        self,
        out: &mut Vec<Violation>,
        write: impl FnOnce(&[E]) -> Result<(), ServerError>,
    ) -> Result<(), ServerError> {
        if !self.edits.is_empty() {
            write(&self.edits)?;
        }
        out.extend(self.found);
        Ok(())
    }
}

/// Judges every entry of a collection that differs between `before` and `after` (each holding
/// the entries the merge touched): an entry added, changed or removed that `judge` refuses is
/// recorded under `path/<id>` and undone by `undo(id, authorised entry or None)`.
pub(super) fn check_entries<K, V, E>(
    path: &str,
    before: &BTreeMap<K, V>,
    after: &BTreeMap<K, V>,
    judge: impl Fn(Write) -> Result<(), WriteRule>,
    undo: impl Fn(&K, Option<&V>) -> E,
) -> Findings<E>
where
    K: Ord + Display,
    V: PartialEq + Serialize,
{
    let mut findings = Findings::new();
    let ids: BTreeSet<&K> = before.keys().chain(after.keys()).collect();
    for id in ids {
        let (old, new) = (before.get(id), after.get(id));
        let Some(write) = Write::between(old, new) else { continue };
        if let Err(rule) = judge(write) {
            findings.refuse(format!("{path}/{id}"), rule, &old, &new);
            findings.undo(undo(id, old));
        }
    }
    findings
}
