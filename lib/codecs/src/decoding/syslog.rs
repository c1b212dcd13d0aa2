//! The `syslog` deserializer: RFC 5424 first, then RFC 3164 and its dialects, via `syslog_loose`.
//!
//! Field names are Vector's: `message`, `hostname`, `appname`, `procid`, `msgid`, `facility`,
//! `severity`, `version` (RFC 5424 only), `timestamp`, and one object per structured-data element,
//! keyed by its SD-ID (`"exampleSDID@32473": {"iut": "3"}`). Absent parts (`-` in RFC 5424) are
//! left out rather than stored as nulls.

use chrono::{Datelike, Local, Utc};
use strata_event::{KeyString, ObjectMap, Value};
use syslog_loose::{IncompleteDate, Message, ProcId, Variant};

use super::DecodeError;

/// Parses one syslog message into fields.
pub(super) fn parse(text: &str) -> Result<ObjectMap, DecodeError> {
    // Some senders end each message with a newline or NUL even inside octet-counted frames.
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    if text.trim().is_empty() {
        return Err(DecodeError::Syslog { reason: "empty frame".into() });
    }
    // RFC 5424 allows a nil timestamp (`<14>1 - host ...`), which `syslog_loose` refuses. Parse
    // the message with a placeholder in its place and leave the timestamp out, as any other nil
    // part is; the source then stamps the time the message arrived.
    if let Some(at) = nil_timestamp_at(text) {
        let patched = format!("{}{PLACEHOLDER}{}", &text[..at], &text[at + 1..]);
        let message = syslog_loose::parse_message_with_year_exact(&patched, resolve_year, Variant::RFC5424)
            .map_err(|reason| DecodeError::Syslog { reason })?;
        let mut map = fields(message);
        map.remove("timestamp");
        return Ok(map);
    }
    let message = syslog_loose::parse_message_with_year_exact(text, resolve_year, Variant::Either)
        .map_err(|reason| DecodeError::Syslog { reason })?;
    Ok(fields(message))
}

const PLACEHOLDER: &str = "1970-01-01T00:00:00Z";

/// Where the `-` of an RFC 5424 header's nil timestamp is: after `<PRI>VERSION `.
fn nil_timestamp_at(text: &str) -> Option<usize> {
    let rest = text.strip_prefix('<')?;
    let pri_len = rest.find('>')?;
    if pri_len == 0 || pri_len > 3 || !rest[..pri_len].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let after_pri = &rest[pri_len + 1..];
    let version_len = after_pri.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&version_len) || !after_pri[version_len..].starts_with(" - ") {
        return None;
    }
    Some(1 + pri_len + 1 + version_len + 1)
}

/// RFC 3164 timestamps have no year. Take the current one, except that a December message read in
/// January is from last year (a log replayed or delayed over new year).
fn resolve_year((month, ..): IncompleteDate) -> i32 {
    let now = Local::now();
    if month == 12 && now.month() == 1 { now.year() - 1 } else { now.year() }
}

fn fields(message: Message<&str>) -> ObjectMap {
    let mut map = ObjectMap::new();
    let mut put = |key: &str, value: Value| {
        map.insert(KeyString::from(key), value);
    };
    put("message", Value::from(message.msg));
    if let Some(hostname) = message.hostname {
        put("hostname", Value::from(hostname));
    }
    if let Some(appname) = message.appname {
        put("appname", Value::from(appname));
    }
    match message.procid {
        Some(ProcId::PID(pid)) => put("procid", Value::from(i64::from(pid))),
        Some(ProcId::Name(name)) => put("procid", Value::from(name)),
        None => {}
    }
    if let Some(msgid) = message.msgid {
        put("msgid", Value::from(msgid));
    }
    if let Some(facility) = message.facility {
        put("facility", Value::from(facility.as_str()));
    }
    if let Some(severity) = message.severity {
        put("severity", Value::from(severity.as_str()));
    }
    if let syslog_loose::Protocol::RFC5424(version) = message.protocol {
        put("version", Value::from(i64::from(version)));
    }
    if let Some(timestamp) = message.timestamp {
        put("timestamp", Value::Timestamp(timestamp.with_timezone(&Utc)));
    }
    for element in &message.structured_data {
        // `params()` undoes the `\"`, `\\` and `\]` escapes of RFC 5424 parameter values.
        let params = element.params().map(|(name, value)| (KeyString::from(*name), Value::from(value)));
        // A repeated SD-ID is not allowed by RFC 5424, but merging keeps every parameter a sender
        // wrote instead of silently losing the first element.
        match map.get_mut(element.id) {
            Some(Value::Object(existing)) => existing.extend(params),
            _ => {
                map.insert(KeyString::from(element.id), Value::Object(params.collect()));
            }
        }
    }
    map
}
