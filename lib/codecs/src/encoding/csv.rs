//! The `csv` serializer: one record per event, the values of `encoding.csv.fields` in order.
//!
//! Quoting is left to the `csv` crate, so a value holding the delimiter, a quote or a line break
//! comes out as any CSV reader expects. A missing field is an empty column, so every record has
//! the same number of columns; objects and arrays are written as JSON text.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use strata_event::Value;
use vrl::path::OwnedValuePath;

use super::{EncodeError, parse_paths};
use crate::TimestampFormat;
use crate::json::write_json_value;

/// Options of the `csv` serializer (`encoding.csv.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// The field paths written as columns, in order (`message`, `.http.status`). Required.
    pub fields: Vec<String>,
    /// The column delimiter, one ASCII character. Default: `,`.
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// When values are quoted: `necessary` (only values holding the delimiter, a quote or a line
    /// break), `always`, `non_numeric`, or `never`. Default: `necessary`.
    #[serde(default)]
    pub quote_style: CsvQuoteStyle,
}

impl CsvOptions {
    /// The given columns with the default delimiter and quoting.
    pub fn new(fields: Vec<String>) -> Self {
        Self { fields, delimiter: default_delimiter(), quote_style: CsvQuoteStyle::default() }
    }
}

fn default_delimiter() -> char {
    ','
}

/// When the `csv` serializer quotes a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvQuoteStyle {
    /// Only values that need it: those holding the delimiter, a quote or a line break.
    #[default]
    Necessary,
    /// Every value.
    Always,
    /// Every value that is not a number.
    NonNumeric,
    /// No value; a delimiter inside a value then splits it, which only suits known-clean data.
    Never,
}

/// The parsed `csv` options, built once per sink.
#[derive(Debug, Clone)]
pub(super) struct CsvEncoder {
    fields: Vec<OwnedValuePath>,
    delimiter: u8,
    quote_style: CsvQuoteStyle,
}

impl CsvEncoder {
    pub(super) fn new(options: Option<&CsvOptions>) -> Result<Self, EncodeError> {
        let options = match options {
            Some(options) if !options.fields.is_empty() => options,
            _ => return Err(EncodeError::MissingOption { option: "encoding.csv.fields" }),
        };
        if !options.delimiter.is_ascii() {
            return Err(EncodeError::InvalidOption {
                option: "encoding.csv.delimiter",
                reason: format!("must be one ASCII character, got {:?}", options.delimiter),
            });
        }
        Ok(Self {
            fields: parse_paths("encoding.csv.fields", &options.fields)?,
            // Checked to be ASCII just above, so the cast keeps the character.
            delimiter: options.delimiter as u8,
            quote_style: options.quote_style,
        })
    }

    /// Appends one record, without a line terminator (the sink's framing adds one).
    pub(super) fn write(&self, value: &Value, timestamps: TimestampFormat, out: &mut Vec<u8>) {
        let quote_style = match self.quote_style {
            CsvQuoteStyle::Necessary => csv::QuoteStyle::Necessary,
            CsvQuoteStyle::Always => csv::QuoteStyle::Always,
            CsvQuoteStyle::NonNumeric => csv::QuoteStyle::NonNumeric,
            CsvQuoteStyle::Never => csv::QuoteStyle::Never,
        };
        let start = out.len();
        let mut writer = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .quote_style(quote_style)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(256)
            .from_writer(&mut *out);
        let record = self.fields.iter().map(|path| column(value.get(path), timestamps));
        // Writing into a Vec cannot fail, and the csv crate rejects nothing a record may hold.
        let _ = writer.write_record(record.collect::<Vec<_>>().iter().map(|text| text.as_bytes()));
        let _ = writer.flush();
        drop(writer);
        // The writer always ends a record with its terminator; the framing decides what follows.
        if out.len() > start && out.last() == Some(&b'\n') {
            out.pop();
        }
    }
}

/// A value as column text.
fn column(value: Option<&Value>, timestamps: TimestampFormat) -> Cow<'_, str> {
    match value {
        None | Some(Value::Null) => Cow::Borrowed(""),
        Some(Value::Bytes(bytes)) => String::from_utf8_lossy(bytes),
        Some(Value::String(text)) => Cow::Borrowed(text.as_ref()),
        Some(Value::Regex(regex)) => Cow::Borrowed(regex.as_str()),
        Some(Value::Integer(number)) => Cow::Owned(number.to_string()),
        Some(Value::Float(number)) => Cow::Owned(number.to_string()),
        Some(Value::Boolean(flag)) => Cow::Owned(flag.to_string()),
        Some(other @ (Value::Timestamp(_) | Value::Object(_) | Value::Array(_))) => {
            let mut json = Vec::new();
            write_json_value(&mut json, other, timestamps);
            let text = String::from_utf8_lossy(&json).into_owned();
            // A timestamp in an RFC 3339 format is a JSON string: its quotes are not part of it.
            match other {
                Value::Timestamp(_) => Cow::Owned(text.trim_matches('"').to_owned()),
                _ => Cow::Owned(text),
            }
        }
    }
}
