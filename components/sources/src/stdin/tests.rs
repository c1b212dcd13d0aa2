//! `stdin` tests. Reading the real standard input is covered through the binary in the agent's
//! tests; here, the options.

use super::*;

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
