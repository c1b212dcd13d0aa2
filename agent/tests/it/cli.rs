//! The subcommands and config discovery.

use crate::harness::{repo_root, run};

#[test]
fn every_config_example_validates() {
    let examples = repo_root().join("config-examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if !matches!(path.extension().and_then(|e| e.to_str()), Some("toml" | "yaml" | "json")) {
            continue;
        }
        let (status, stdout, stderr) =
            run(&["validate", "--deny-warnings", path.to_str().unwrap()], &examples);
        assert!(status.success(), "{} does not validate:\n{stderr}", path.display());
        assert!(stdout.starts_with("valid:"), "{stdout}");
        checked += 1;
    }
    assert!(checked >= 3, "config-examples/ holds several pipelines, found {checked}");
}

#[test]
fn generate_prints_a_config_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let (status, stdout, stderr) = run(&["generate", "stdin/remap/console"], dir.path());
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.contains("[sources.stdin]")
            && stdout.contains("[transforms.remap]")
            && stdout.contains("[sinks.console]")
    );
    assert!(stdout.contains("inputs = [\"remap\"]"), "{stdout}");
    let path = dir.path().join("generated.toml");
    std::fs::write(&path, &stdout).unwrap();
    let (status, _, stderr) = run(&["validate", path.to_str().unwrap()], dir.path());
    assert!(status.success(), "generated config is valid:\n{stdout}\n{stderr}");
}

#[test]
fn list_names_every_component_with_a_description() {
    let dir = tempfile::tempdir().unwrap();
    let (status, stdout, _) = run(&["list"], dir.path());
    assert!(status.success());
    for name in ["stdin", "demo_logs", "internal_metrics", "remap", "filter", "route", "console", "blackhole"]
    {
        let line = stdout.lines().find(|l| l.trim_start().starts_with(name));
        assert!(
            line.is_some_and(|l| l.len() > name.len() + 10),
            "{name} listed with a description:\n{stdout}"
        );
    }
}

#[test]
fn graph_draws_dot_and_mermaid_from_a_config_dir_in_three_formats() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for sub in ["sources", "transforms", "sinks"] {
        std::fs::create_dir(root.join(sub)).unwrap();
    }
    std::fs::write(root.join("sources/in.yaml"), "type: stdin\n").unwrap();
    std::fs::write(
        root.join("transforms/parse.json"),
        r#"{"type": "remap", "inputs": ["in"], "source": ".x = 1"}"#,
    )
    .unwrap();
    std::fs::write(
        root.join("sinks/out.toml"),
        "type = \"console\"\ninputs = [\"parse\"]\nencoding.codec = \"json\"\n",
    )
    .unwrap();
    let (status, stdout, stderr) = run(&["graph", "--config-dir", root.to_str().unwrap()], root);
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.starts_with("digraph")
            && stdout.contains("\"in\" -> \"parse\"")
            && stdout.contains("\"parse\" -> \"out\""),
        "{stdout}"
    );
    let (status, stdout, _) =
        run(&["graph", "--format", "mermaid", "--config-dir", root.to_str().unwrap()], root);
    assert!(status.success());
    assert!(stdout.contains("in --> parse") && stdout.contains("parse --> out"), "{stdout}");
}

#[test]
fn without_a_config_the_agent_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _, stderr) = run(&[], dir.path());
    assert_eq!(status.code(), Some(78));
    assert!(stderr.contains("log.toml") && stderr.contains("/etc/agent/pipeline.toml"), "{stderr}");
    assert!(stderr.contains(".config/log/config.toml"), "{stderr}");
}

#[test]
fn the_default_config_file_is_found_and_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("log.toml"), "[sources.d]\ntype = \"demo_logs\"\nformat = \"syslog\"\ninterval = 0.0\ncount = 3\n[sinks.o]\ntype = \"console\"\ninputs = [\"d\"]\nencoding.codec = \"text\"\n").unwrap();
    let (status, stdout, stderr) = run(&[], dir.path());
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 3);
}
