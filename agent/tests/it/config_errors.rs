//! Bad configs: every problem reported at once, each naming the file, the component and the key.

use crate::harness::run;

const BROKEN: &str = r#"
[sources.in]
type = "stdn"

[sources.other]
type = "stdin"

[sources.again]
type = "stdin"

[transforms.loop_a]
type = "remap"
inputs = ["loop_b"]
source = ".a = 1"

[transforms.loop_b]
type = "remap"
inputs = ["loop_a"]
source = ".b = 1"

[transforms.bad_vrl]
type = "remap"
inputs = ["other"]
source = ". = parse_json(.message"

[sinks.out]
type = "console"
inputs = ["nope", "bad_vrl"]
encodng.codec = "json"

[sinks.hole]
type = "blackhole"
inputs = ["again"]
print_interval_secs = "often"
"#;

#[test]
fn validate_reports_every_problem_with_file_component_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, BROKEN).unwrap();
    let other = dir.path().join("more.toml");
    std::fs::write(&other, "[sinks.out]\ntype = \"blackhole\"\ninputs = [\"again\"]\n").unwrap();
    let (status, _, stderr) = run(&["validate", path.to_str().unwrap(), other.to_str().unwrap()], dir.path());
    assert_eq!(status.code(), Some(78), "EX_CONFIG; stderr:\n{stderr}");
    let file = path.display().to_string();
    let expectations = [
        // Unknown type, with the nearest valid one.
        (format!("{file}: sources.in: option `type`: unknown source type `stdn`"), "did you mean `stdin`"),
        // A wrong value type, naming the key.
        (format!("{file}: sinks.hole: option `print_interval_secs`: invalid type"), "expected u64"),
        // An unknown option, with the nearest valid one.
        (format!("{file}: sinks.out: option `encodng`"), "did you mean `encoding`"),
        // A cycle.
        ("the transforms form a cycle".to_owned(), "loop_a"),
        // VRL's own diagnostic.
        (format!("{file}: transforms.bad_vrl: option `source`: the VRL program does not compile"), "error[E"),
        // Two components taking stdin.
        ("standard input is also used by sources.".to_owned(), "again"),
        // A duplicate id across files names both.
        (format!("{}: sinks.out: duplicate id", other.display()), &file),
    ];
    for (located, detail) in &expectations {
        let line = stderr.lines().find(|line| line.contains(located.as_str()));
        assert!(line.is_some(), "missing `{located}` in:\n{stderr}");
        let context: String =
            stderr.split(located.as_str()).nth(1).unwrap_or_default().chars().take(400).collect();
        assert!(context.contains(detail), "`{located}` should mention `{detail}`:\n{stderr}");
    }
}

#[test]
fn dangling_input_is_named_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(
        &path,
        "[sources.input]\ntype = \"stdin\"\n[sinks.out]\ntype = \"blackhole\"\ninputs = [\"inptu\"]\n",
    )
    .unwrap();
    let (status, _, stderr) = run(&["validate", path.to_str().unwrap()], dir.path());
    assert_eq!(status.code(), Some(78));
    assert!(
        stderr.contains(
            "sinks.out: option `inputs`: input `inptu` matches no source or transform; did you mean `input`?"
        ),
        "{stderr}"
    );
}

#[test]
fn a_secret_from_the_environment_never_appears_in_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(&path, "[sources.in]\ntype = \"stdin\"\nmax_length = \"${STRATA_TEST_SECRET}\"\n[sinks.out]\ntype = \"blackhole\"\ninputs = [\"in\"]\n").unwrap();
    let output = std::process::Command::new(crate::harness::agent_bin())
        .args(["validate", path.to_str().unwrap()])
        .env("STRATA_TEST_SECRET", "hunter2-very-secret")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("max_length"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the secret leaked:\n{stderr}");
}

#[test]
fn missing_environment_variable_is_an_error_and_no_environment_turns_interpolation_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(&path, "[sources.in]\ntype = \"demo_logs\"\nformat = \"shuffle\"\nlines = [\"cost: $$5 ${STRATA_UNSET_VAR:-ok}\"]\n[sinks.out]\ntype = \"blackhole\"\ninputs = [\"${STRATA_UNSET_VAR}\"]\n").unwrap();
    let (status, _, stderr) = run(&["validate", path.to_str().unwrap()], dir.path());
    assert_eq!(status.code(), Some(78));
    assert!(stderr.contains("environment variable `STRATA_UNSET_VAR` is not set"), "{stderr}");
    let (status, _, stderr) =
        run(&["validate", "--no-environment", "--deny-warnings", path.to_str().unwrap()], dir.path());
    // Without interpolation the input is the literal text: a pattern that matches no component.
    assert!(stderr.contains("`${STRATA_UNSET_VAR}` matches no component"), "{stderr}");
    assert_eq!(status.code(), Some(78));
}
