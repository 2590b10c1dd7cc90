//! Typed field access over Automerge maps.
//!
//! Every document module reads and writes through [`MapWriter`] and [`MapReader`], so the
//! encoding rules live in one place: money as decimal strings, times as RFC 3339 UTC strings,
//! dates as `YYYY-MM-DD`, booleans and integers as Automerge scalars.
//!
//! Writers only write a field whose visible value differs. Rewriting an unchanged field would
//! turn two people's edits of *different* fields into a conflict on *every* field, and would
//! silently settle an existing conflict that headquarters has not reviewed yet.

use std::borrow::Cow;

use automerge::transaction::Transactable;
use automerge::{
    AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ScalarValueRef, Value, ValueRef,
};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;

use super::error::DocError;

/// Writes typed fields into one map object of a document.
pub(crate) struct MapWriter<'a> {
    doc: &'a mut AutoCommit,
    obj: ObjId,
}

impl<'a> MapWriter<'a> {
    /// A writer for the map `obj`.
    pub(crate) fn new(doc: &'a mut AutoCommit, obj: ObjId) -> Self {
        MapWriter { doc, obj }
    }

    /// The document, for nested writers.
    pub(crate) fn doc(&mut self) -> &mut AutoCommit {
        self.doc
    }

    fn put_scalar(&mut self, key: &str, value: ScalarValue) -> Result<(), DocError> {
        let current = self.doc.get(&self.obj, key)?;
        let unchanged = matches!(&current, Some((Value::Scalar(v), _)) if v.as_ref() == &value);
        if !unchanged {
            self.doc.put(&self.obj, key, value)?;
        }
        Ok(())
    }

    /// Writes a string.
    pub(crate) fn str(&mut self, key: &str, value: &str) -> Result<(), DocError> {
        self.put_scalar(key, ScalarValue::Str(value.into()))
    }

    /// Writes an optional string; `None` is stored as null so that clearing is an edit too.
    pub(crate) fn opt_str(&mut self, key: &str, value: Option<&str>) -> Result<(), DocError> {
        match value {
            Some(v) => self.str(key, v),
            None => self.put_scalar(key, ScalarValue::Null),
        }
    }

    /// Writes a boolean.
    pub(crate) fn bool(&mut self, key: &str, value: bool) -> Result<(), DocError> {
        self.put_scalar(key, ScalarValue::Boolean(value))
    }

    /// Writes a signed integer.
    pub(crate) fn int(&mut self, key: &str, value: i64) -> Result<(), DocError> {
        self.put_scalar(key, ScalarValue::Int(value))
    }

    /// Writes an optional signed integer.
    pub(crate) fn opt_int(&mut self, key: &str, value: Option<i64>) -> Result<(), DocError> {
        match value {
            Some(v) => self.int(key, v),
            None => self.put_scalar(key, ScalarValue::Null),
        }
    }

    /// Writes money or another exact decimal as its canonical string.
    pub(crate) fn decimal(&mut self, key: &str, value: Decimal) -> Result<(), DocError> {
        self.str(key, &value.normalize().to_string())
    }

    /// Writes a UTC instant as RFC 3339 with second precision.
    pub(crate) fn time(&mut self, key: &str, value: DateTime<Utc>) -> Result<(), DocError> {
        self.str(key, &format_time(value))
    }

    /// Writes an optional UTC instant.
    pub(crate) fn opt_time(
        &mut self,
        key: &str,
        value: Option<DateTime<Utc>>,
    ) -> Result<(), DocError> {
        match value {
            Some(v) => self.time(key, v),
            None => self.put_scalar(key, ScalarValue::Null),
        }
    }

    /// Writes a calendar date as `YYYY-MM-DD`.
    pub(crate) fn date(&mut self, key: &str, value: NaiveDate) -> Result<(), DocError> {
        self.str(key, &value.format("%Y-%m-%d").to_string())
    }

    /// Writes an optional calendar date.
    pub(crate) fn opt_date(&mut self, key: &str, value: Option<NaiveDate>) -> Result<(), DocError> {
        match value {
            Some(v) => self.date(key, v),
            None => self.put_scalar(key, ScalarValue::Null),
        }
    }

    /// Writes a short list of strings as a whole: the list is one value, replaced when it
    /// differs, because its items are not edited one by one.
    pub(crate) fn str_list(&mut self, key: &str, values: &[String]) -> Result<(), DocError> {
        let current = MapReader::new(self.doc, self.obj.clone()).str_list(key)?;
        if current.as_deref() == Some(values) {
            return Ok(());
        }
        let list = self.doc.put_object(&self.obj, key, ObjType::List)?;
        for (i, v) in values.iter().enumerate() {
            self.doc.insert(&list, i, v.as_str())?;
        }
        Ok(())
    }

    /// Returns the child map at `key`, creating it if it does not exist yet.
    pub(crate) fn child_map(&mut self, key: &str) -> Result<ObjId, DocError> {
        match self.doc.get(&self.obj, key)? {
            Some((Value::Object(ObjType::Map), id)) => Ok(id),
            _ => Ok(self.doc.put_object(&self.obj, key, ObjType::Map)?),
        }
    }

    /// Deletes `key` if present.
    pub(crate) fn delete(&mut self, key: &str) -> Result<(), DocError> {
        if self.doc.get(&self.obj, key)?.is_some() {
            self.doc.delete(&self.obj, key)?;
        }
        Ok(())
    }
}

/// Reads typed fields from one map object of a document.
pub(crate) struct MapReader<'a> {
    doc: &'a AutoCommit,
    obj: ObjId,
    path: Cow<'static, str>,
}

impl<'a> MapReader<'a> {
    /// A reader for the map `obj`.
    pub(crate) fn new(doc: &'a AutoCommit, obj: ObjId) -> Self {
        MapReader { doc, obj, path: Cow::Borrowed("") }
    }

    /// A reader for a child map, or `None` when `key` holds no map.
    pub(crate) fn child(&self, key: &str) -> Result<Option<MapReader<'a>>, DocError> {
        match self.doc.get(&self.obj, key)? {
            Some((Value::Object(ObjType::Map), id)) => Ok(Some(MapReader {
                doc: self.doc,
                obj: id,
                path: Cow::Owned(format!("{}/{}", self.path, key)),
            })),
            _ => Ok(None),
        }
    }

    /// The keys of this map, sorted.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.doc.keys(&self.obj).collect()
    }

    fn scalar(&self, key: &str) -> Result<Option<ScalarValue>, DocError> {
        Ok(match self.doc.get(&self.obj, key)? {
            Some((Value::Scalar(v), _)) => match v.into_owned() {
                ScalarValue::Null => None,
                other => Some(other),
            },
            _ => None,
        })
    }

    fn bad(&self, key: &str, expected: &'static str) -> DocError {
        DocError::InvalidField { path: format!("{}/{}", self.path, key), expected }
    }

    /// Reads an optional string.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<String>, DocError> {
        match self.scalar(key)? {
            None => Ok(None),
            Some(ScalarValue::Str(s)) => Ok(Some(s.to_string())),
            Some(_) => Err(self.bad(key, "string")),
        }
    }

    /// Reads a string, empty when absent (older documents may lack newer fields).
    pub(crate) fn str_or_empty(&self, key: &str) -> Result<String, DocError> {
        Ok(self.opt_str(key)?.unwrap_or_default())
    }

    /// Reads a string that must be present.
    pub(crate) fn str(&self, key: &str) -> Result<String, DocError> {
        self.opt_str(key)?.ok_or_else(|| self.bad(key, "string"))
    }

    /// Reads a boolean, false when absent.
    pub(crate) fn bool(&self, key: &str) -> Result<bool, DocError> {
        match self.scalar(key)? {
            None => Ok(false),
            Some(ScalarValue::Boolean(b)) => Ok(b),
            Some(_) => Err(self.bad(key, "boolean")),
        }
    }

    /// Reads an optional signed integer.
    pub(crate) fn opt_int(&self, key: &str) -> Result<Option<i64>, DocError> {
        match self.scalar(key)? {
            None => Ok(None),
            Some(ScalarValue::Int(i)) => Ok(Some(i)),
            Some(ScalarValue::Uint(u)) => {
                i64::try_from(u).map(Some).map_err(|_| self.bad(key, "integer"))
            }
            Some(_) => Err(self.bad(key, "integer")),
        }
    }

    /// Reads a parsed vocabulary value (tier, status...) that must be present.
    pub(crate) fn code<T: std::str::FromStr>(&self, key: &str) -> Result<T, DocError> {
        self.str(key)?.parse().map_err(|_| self.bad(key, "known code"))
    }

    /// Reads an optional vocabulary value.
    pub(crate) fn opt_code<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, DocError> {
        self.opt_str(key)?.map(|s| s.parse().map_err(|_| self.bad(key, "known code"))).transpose()
    }

    /// Reads an optional decimal.
    pub(crate) fn opt_decimal(&self, key: &str) -> Result<Option<Decimal>, DocError> {
        self.opt_str(key)?
            .map(|s| s.parse::<Decimal>().map_err(|_| self.bad(key, "decimal")))
            .transpose()
    }

    /// Reads a decimal, zero when absent.
    pub(crate) fn decimal_or_zero(&self, key: &str) -> Result<Decimal, DocError> {
        Ok(self.opt_decimal(key)?.unwrap_or(Decimal::ZERO))
    }

    /// Reads an optional UTC instant.
    pub(crate) fn opt_time(&self, key: &str) -> Result<Option<DateTime<Utc>>, DocError> {
        self.opt_str(key)?
            .map(|s| parse_time(&s).ok_or_else(|| self.bad(key, "RFC 3339 time")))
            .transpose()
    }

    /// Reads a UTC instant that must be present.
    pub(crate) fn time(&self, key: &str) -> Result<DateTime<Utc>, DocError> {
        self.opt_time(key)?.ok_or_else(|| self.bad(key, "RFC 3339 time"))
    }

    /// Reads an optional calendar date.
    pub(crate) fn opt_date(&self, key: &str) -> Result<Option<NaiveDate>, DocError> {
        self.opt_str(key)?
            .map(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| self.bad(key, "date")))
            .transpose()
    }

    /// Reads a calendar date that must be present.
    pub(crate) fn date(&self, key: &str) -> Result<NaiveDate, DocError> {
        self.opt_date(key)?.ok_or_else(|| self.bad(key, "date"))
    }

    /// Reads a list of strings; `None` when absent.
    pub(crate) fn str_list(&self, key: &str) -> Result<Option<Vec<String>>, DocError> {
        let list = match self.doc.get(&self.obj, key)? {
            Some((Value::Object(ObjType::List), id)) => id,
            None => return Ok(None),
            Some(_) => return Err(self.bad(key, "list")),
        };
        let mut out = Vec::with_capacity(self.doc.length(&list));
        for item in self.doc.list_range(&list, ..) {
            match item.value {
                ValueRef::Scalar(ScalarValueRef::Str(s)) => out.push(s.into_owned()),
                _ => return Err(self.bad(key, "list of strings")),
            }
        }
        Ok(Some(out))
    }
}

/// Formats a UTC instant the way documents store it.
pub(crate) fn format_time(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an RFC 3339 instant into UTC.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}
