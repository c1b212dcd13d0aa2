//! SIGHUP and --watch-config reloads: add, change and remove components while events flow, with
//! nothing lost; an invalid config is refused and the old pipeline keeps running.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::harness::{Agent, Options, wait_for};

const TIMEOUT: Duration = Duration::from_secs(30);

fn config(middle: &str, extra: &str) -> String {
    let sink_input = if middle.is_empty() { "demo" } else { "tag" };
    format!(
        r#"
[sources.demo]
type = "demo_logs"
format = "shuffle"
lines = ["line"]
sequence = true
interval = 0.002

{middle}

[sinks.out]
type = "console"
inputs = ["{sink_input}"]
encoding.codec = "json"

{extra}
"#
    )
}

fn tag(version: u32) -> String {
    format!("[transforms.tag]\ntype = \"remap\"\ninputs = [\"demo\"]\nsource = '.v = {version}'\n")
}

const SECOND_SINK: &str =
    "[sinks.extra]\ntype = \"blackhole\"\ninputs = [\"demo\"]\nprint_interval_secs = 0\n";

fn count_with(agent: &Agent, needle: &str) -> usize {
    agent.stdout_lines().iter().filter(|l| l.contains(needle)).count()
}

fn reload_and_wait(agent: &Agent, config: &str, needle: &str, how: &str) {
    agent.rewrite_config(config);
    if how == "HUP" {
        agent.signal("HUP");
    }
    let seen = wait_for(TIMEOUT, || (count_with(agent, needle) >= 20).then_some(()));
    assert!(seen.is_some(), "after reload, events with {needle} flow; stderr:\n{}", agent.stderr_text());
}

fn sequence_numbers(agent: &Agent) -> Vec<u64> {
    agent
        .stdout_lines()
        .iter()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("json lines");
            let message = event["message"].as_str().expect("a message");
            message.split(' ').next().and_then(|n| n.parse().ok()).expect("a sequence number")
        })
        .collect()
}

fn assert_no_loss(agent: &Agent) {
    let numbers = sequence_numbers(agent);
    let unique: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(unique.len(), numbers.len(), "no event delivered twice");
    let max = *unique.last().expect("some events");
    assert_eq!(unique.len() as u64, max + 1, "no gap in 0..={max}: nothing lost across reloads");
}

#[test]
fn sighup_adds_changes_and_removes_components_without_losing_events() {
    let mut agent = Agent::start(&config("", ""));
    agent.wait_for_lines(20, TIMEOUT);

    // Add a transform in the middle and a second sink.
    reload_and_wait(&agent, &config(&tag(2), SECOND_SINK), "\"v\":2", "HUP");
    // An invalid config is refused, and the running pipeline carries on.
    let before = agent.stdout_lines().len();
    agent.rewrite_config(&config(&tag(2), "[sinks.broken]\ntype = \"no_such_sink\"\ninputs = [\"demo\"]\n"));
    agent.signal("HUP");
    assert!(agent.wait_for_stderr("no_such_sink", TIMEOUT), "the errors are logged");
    assert!(agent.wait_for_stderr("keeping the running pipeline", TIMEOUT));
    agent.wait_for_lines(before + 50, TIMEOUT);
    assert!(agent.stdout_lines().len() >= before + 50, "events keep flowing after a rejected reload");
    // Change the transform and remove the second sink.
    reload_and_wait(&agent, &config(&tag(3), ""), "\"v\":3", "HUP");
    // Remove the transform again.
    let plain_before = agent.stdout_lines().iter().filter(|l| !l.contains("\"v\":")).count();
    agent.rewrite_config(&config("", ""));
    agent.signal("HUP");
    let plain = wait_for(TIMEOUT, || {
        let now = agent.stdout_lines().iter().filter(|l| !l.contains("\"v\":")).count();
        (now >= plain_before + 20).then_some(())
    });
    assert!(plain.is_some(), "events flow straight to the sink again");

    agent.signal("TERM");
    assert!(agent.wait_exit(TIMEOUT).success(), "stderr:\n{}", agent.stderr_text());
    assert!(agent.stderr_text().contains("reloaded: added [extra, tag]"), "{}", agent.stderr_text());
    assert_no_loss(&agent);
}

#[test]
fn watch_config_reloads_on_file_change() {
    let options = Options { args: vec!["--watch-config".into()], ..Default::default() };
    let mut agent = Agent::start_with(&config("", ""), options);
    agent.wait_for_lines(20, TIMEOUT);
    reload_and_wait(&agent, &config(&tag(7), ""), "\"v\":7", "watch");
    agent.signal("TERM");
    assert!(agent.wait_exit(TIMEOUT).success());
    assert_no_loss(&agent);
}
