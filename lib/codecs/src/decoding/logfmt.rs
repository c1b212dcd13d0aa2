//! The `logfmt` deserializer: `key=value key2="quoted value" flag` into top-level fields.
//!
//! Values stay strings: logfmt has no types, and guessing them would turn `version=1.10` into a
//! float. A bare key with no `=` is a flag and becomes `true`, as Vector's `parse_logfmt` does.
//! Keys are kept whole (`http.status` is one key, not a path); a repeated key keeps its last value.

use std::iter::Peekable;
use std::str::CharIndices;

use strata_event::{KeyString, ObjectMap, Value};

use super::DecodeError;

pub(super) fn parse(text: &str) -> Result<ObjectMap, DecodeError> {
    let mut fields = ObjectMap::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, first)) = chars.peek() else {
            return Ok(fields);
        };
        if first == '=' || first == '"' {
            return Err(error(format!("expected a key at byte {start}, found `{first}`")));
        }
        let key = take_until(text, &mut chars, |c| c.is_whitespace() || c == '=' || c == '"');
        let value = match chars.peek() {
            Some(&(_, '=')) => {
                chars.next();
                match chars.peek() {
                    Some(&(open, '"')) => {
                        chars.next();
                        let value = quoted(&mut chars).ok_or_else(|| {
                            error(format!("unterminated quoted value of `{key}` starting at byte {open}"))
                        })?;
                        if let Some(&(at, c)) = chars.peek().filter(|(_, c)| !c.is_whitespace()) {
                            return Err(error(format!(
                                "unexpected `{c}` at byte {at} after the quoted value of `{key}`"
                            )));
                        }
                        Value::from(value)
                    }
                    _ => Value::from(take_until(text, &mut chars, char::is_whitespace)),
                }
            }
            Some(&(at, '"')) => return Err(error(format!("unexpected `\"` at byte {at} in key `{key}`"))),
            _ => Value::Boolean(true),
        };
        fields.insert(KeyString::from(key), value);
    }
}

fn error(reason: String) -> DecodeError {
    DecodeError::Logfmt { reason }
}

/// The text from the current position up to (not including) the first char matching `end`.
fn take_until<'a>(
    text: &'a str,
    chars: &mut Peekable<CharIndices<'_>>,
    end: impl Fn(char) -> bool,
) -> &'a str {
    let start = chars.peek().map_or(text.len(), |&(at, _)| at);
    while chars.next_if(|&(_, c)| !end(c)).is_some() {}
    let stop = chars.peek().map_or(text.len(), |&(at, _)| at);
    &text[start..stop]
}

/// A quoted value after its opening quote, unescaped; `None` if the closing quote is missing.
fn quoted(chars: &mut Peekable<CharIndices<'_>>) -> Option<String> {
    let mut value = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                escaped @ ('"' | '\\') => value.push(escaped),
                // An unknown escape is kept as written: the sender probably meant a backslash.
                other => {
                    value.push('\\');
                    value.push(other);
                }
            },
            other => value.push(other),
        }
    }
    None
}
