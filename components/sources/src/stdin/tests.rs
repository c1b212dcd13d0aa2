//! `stdin` tests. Reading the real standard input is covered through the binary in the agent's
//! tests; here, the options, and the source reading bytes in place of standard input.

use async_trait::async_trait;
use strata_core::{BuildError, Output, SourceConfig, SourceContext};

use super::*;

/// The `stdin` source reading these bytes instead of the process's standard input.
#[derive(Debug)]
struct FromBytes(StdinConfig, &'static [u8]);

#[async_trait]
impl SourceConfig for FromBytes {
    async fn build(&self, cx: SourceContext) -> Result<strata_core::source::Source, BuildError> {
        let bytes = self.1;
        Ok(Box::pin(super::source::run_with_input(self.0.clone(), cx, move || bytes)))
    }

    fn outputs(&self) -> Vec<Output> {
        self.0.outputs()
    }
}

/// The standard metrics and labels, through the compliance helper; raw lines keep their text.
#[test]
fn stdin_passes_the_compliance_helper() {
    let config: StdinConfig = strata_core::parse_options(serde_json::json!({})).unwrap();
    let input = FromBytes(config, b"one\ntwo\nthree without a newline");
    let events = strata_core::compliance::assert_source_compliance("stdin", &input, 3);
    let messages: Vec<String> = events
        .iter()
        .map(|event| event.as_log().unwrap().message().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(messages, ["one", "two", "three without a newline"]);
}

#[test]
fn vector_options_parse() {
    let config: StdinConfig =
        strata_core::parse_options(serde_json::json!({"max_length": 10, "decoding": {"codec": "json"}}))
            .unwrap();
    assert_eq!(config.max_length, 10);
    assert_eq!(config.framing().newline_delimited.max_length, Some(10));
}

#[test]
fn typo_is_refused_with_a_suggestion() {
    let error = strata_core::parse_options::<StdinConfig>(serde_json::json!({"max_lenght": 10})).unwrap_err();
    assert_eq!(error.suggestion.as_deref(), Some("max_length"));
}
