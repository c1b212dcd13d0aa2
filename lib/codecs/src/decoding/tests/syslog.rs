//! Syslog deserializer tests: RFC 5424, RFC 3164 and input that is neither.

use chrono::{DateTime, Datelike, Local, TimeZone, Timelike, Utc};

use super::*;

fn syslog(line: &str) -> ObjectMap {
    decode_one(DeserializerConfig::Syslog, line.as_bytes())
}

fn syslog_error(line: &[u8]) -> String {
    match decode(DeserializerConfig::Syslog, line) {
        Err(DecodeError::Syslog { reason }) => reason,
        other => panic!("expected a syslog error for {:?}, got {other:?}", String::from_utf8_lossy(line)),
    }
}

fn timestamp(fields: &ObjectMap) -> DateTime<Utc> {
    match fields.get("timestamp") {
        Some(Value::Timestamp(at)) => *at,
        other => panic!("expected a timestamp, got {other:?}"),
    }
}

#[test]
fn rfc5424_with_structured_data() {
    let fields = syslog(
        r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] BOMAn application event log entry"#,
    );
    let at = Utc.with_ymd_and_hms(2003, 10, 11, 22, 14, 15).unwrap() + chrono::Duration::milliseconds(3);
    assert_eq!(
        fields,
        object(&[
            ("message", Value::from("BOMAn application event log entry")),
            ("hostname", Value::from("mymachine.example.com")),
            ("appname", Value::from("evntslog")),
            ("procid", Value::from(8710)),
            ("msgid", Value::from("ID47")),
            ("facility", Value::from("local4")),
            ("severity", Value::from("notice")),
            ("version", Value::from(1)),
            ("timestamp", Value::Timestamp(at)),
            (
                "exampleSDID@32473",
                Value::Object(object(&[
                    ("iut", Value::from("3")),
                    ("eventSource", Value::from("Application")),
                    ("eventID", Value::from("1011")),
                ])),
            ),
            ("examplePriority@32473", Value::Object(object(&[("class", Value::from("high"))]))),
        ])
    );
}

#[test]
fn rfc5424_structured_data_escapes_are_undone() {
    let fields = syslog(
        r#"<13>1 2003-10-11T22:14:15+02:00 h app - - [meta@1 q="say \"hi\"" b="a\]b" s="back\\slash" e=""] body"#,
    );
    assert_eq!(
        fields.get("meta@1"),
        Some(&Value::Object(object(&[
            ("q", Value::from("say \"hi\"")),
            ("b", Value::from("a]b")),
            ("s", Value::from("back\\slash")),
            ("e", Value::from("")),
        ])))
    );
    // The offset is applied: 22:14 at +02:00 is 20:14 UTC.
    assert_eq!(timestamp(&fields), Utc.with_ymd_and_hms(2003, 10, 11, 20, 14, 15).unwrap());
}

#[test]
fn rfc5424_nil_values_are_left_out() {
    let fields = syslog("<14>1 2003-10-11T22:14:15Z - - - - - just the message");
    assert_eq!(
        fields,
        object(&[
            ("timestamp", Value::Timestamp(Utc.with_ymd_and_hms(2003, 10, 11, 22, 14, 15).unwrap())),
            ("message", Value::from("just the message")),
            ("facility", Value::from("user")),
            ("severity", Value::from("info")),
            ("version", Value::from(1)),
        ])
    );
}

#[test]
fn rfc3164_line() {
    let fields = syslog("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(fields.get("message"), Some(&Value::from("'su root' failed for lonvick on /dev/pts/8")));
    assert_eq!(fields.get("hostname"), Some(&Value::from("mymachine")));
    assert_eq!(fields.get("appname"), Some(&Value::from("su")));
    assert_eq!(fields.get("facility"), Some(&Value::from("auth")));
    assert_eq!(fields.get("severity"), Some(&Value::from("crit")));
    assert_eq!(fields.get("version"), None, "RFC 3164 has no version");
    // RFC 3164 has neither year nor zone: the time is local, the year the current one.
    let local = timestamp(&fields).with_timezone(&Local);
    assert_eq!(
        (local.month(), local.day(), local.hour(), local.minute(), local.second()),
        (10, 11, 22, 14, 15)
    );
    assert!(local.year() >= 2025, "the year is resolved to the current one, got {}", local.year());
}

#[test]
fn rfc3164_with_pid_and_no_priority() {
    let fields = syslog("Oct  3 05:06:07 web-1 nginx[4242]: GET /health 200\n");
    assert_eq!(fields.get("procid"), Some(&Value::from(4242)));
    assert_eq!(fields.get("appname"), Some(&Value::from("nginx")));
    assert_eq!(
        fields.get("message"),
        Some(&Value::from("GET /health 200")),
        "the trailing newline is dropped"
    );
    assert_eq!(fields.get("facility"), None);
}

#[test]
fn malformed_syslog_is_an_error() {
    for line in [&b"hello world"[..], b"<34>", b"<abc>x", b"<13>1 bad", b"1 2 3"] {
        assert_eq!(syslog_error(line), "unable to parse input as valid syslog message");
    }
    assert_eq!(syslog_error(b" \r\n"), "empty frame");
}

#[test]
fn syslog_lossy_option() {
    let line = b"<13>1 2003-10-11T22:14:15Z h a - - - caf\xe9";
    let fields = decode_one(DeserializerConfig::Syslog, line);
    assert_eq!(fields.get("message"), Some(&Value::from("caf\u{fffd}")));
    let mut strict = DecodingConfig::new(DeserializerConfig::Syslog);
    strict.syslog.lossy = false;
    assert!(matches!(decode_with(&strict, line), Err(DecodeError::InvalidUtf8 { codec: "syslog", .. })));
}

#[test]
fn octet_counted_syslog_stream_end_to_end() {
    let framing = FramingConfig::method(FramingMethod::OctetCounting);
    let mut decoder = Decoder::new(&framing, &DecodingConfig::new(DeserializerConfig::Syslog));
    let first = "<13>1 2003-10-11T22:14:15Z h app - - - multi\nline";
    let input = format!("{} {first}<14>Oct 11 22:14:15 host app: plain\n", first.len());
    let mut buf = BytesMut::from(input.as_bytes());
    let mut events = Vec::new();
    while let Some(frame) = decoder.framer.next_frame(&mut buf).expect("no oversized frame") {
        decoder.deserialize(frame, &EventMetadata::default(), &mut events).expect("valid syslog");
    }
    let messages: Vec<_> =
        events.iter().map(|event| event.as_log().and_then(|log| log.message()).cloned()).collect();
    assert_eq!(messages, vec![Some(Value::from("multi\nline")), Some(Value::from("plain"))]);
}

#[test]
fn rfc5424_nil_timestamp_is_accepted() {
    let fields = syslog("<14>1 - host app - - - no clock on this sender");
    assert_eq!(fields.get("message"), Some(&Value::from("no clock on this sender")), "{fields:?}");
    assert_eq!(fields.get("hostname"), Some(&Value::from("host")));
    assert_eq!(fields.get("appname"), Some(&Value::from("app")));
    assert_eq!(fields.get("timestamp"), None, "left out like any nil part; the source stamps arrival");
}

#[test]
fn a_dash_message_is_not_taken_for_a_nil_timestamp() {
    // A message text starting with a dash, after a real timestamp, is left alone.
    let fields = syslog("<34>1 2003-10-11T22:14:15Z h a - - - - starts with a dash");
    assert_eq!(fields.get("message"), Some(&Value::from("- starts with a dash")));
    assert_eq!(timestamp(&fields), Utc.with_ymd_and_hms(2003, 10, 11, 22, 14, 15).unwrap());
}
