//! Environment interpolation in config text: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?message}`, `${VAR?message}`, `$VAR`, and `$$` for a literal dollar.
//!
//! It runs on the raw text before parsing, as Vector does, so any value can be interpolated.
//! Values that contain a newline are refused: they could inject config lines. Every value
//! substituted is remembered so that error messages can be scrubbed of it.

/// The result of interpolating one file.
#[derive(Debug, Default)]
pub struct Interpolated {
    pub text: String,
    /// Values substituted from the environment, for scrubbing error messages.
    pub secrets: Vec<String>,
    pub errors: Vec<String>,
}

pub fn interpolate(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Interpolated {
    let mut out = Interpolated { text: String::with_capacity(input.len()), ..Default::default() };
    let mut rest = input;
    while let Some(position) = rest.find('$') {
        out.text.push_str(&rest[..position]);
        rest = &rest[position + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.text.push('$');
            rest = after;
        } else if let Some(after) = rest.strip_prefix('{') {
            let Some(end) = after.find('}') else {
                out.errors.push("unclosed `${` in environment interpolation".to_owned());
                out.text.push_str("${");
                rest = after;
                continue;
            };
            substitute(&after[..end], lookup, &mut out);
            rest = &after[end + 1..];
        } else {
            let length = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if length == 0 || rest.starts_with(|c: char| c.is_ascii_digit()) {
                // A lone `$` (as in a regex `foo$`) stays as written.
                out.text.push('$');
            } else {
                substitute(&rest[..length], lookup, &mut out);
                rest = &rest[length..];
            }
        }
    }
    out.text.push_str(rest);
    out
}

fn substitute(expression: &str, lookup: &dyn Fn(&str) -> Option<String>, out: &mut Interpolated) {
    let (name, operator, argument) = match expression.find([':', '-', '?']) {
        Some(index) => {
            let (name, tail) = expression.split_at(index);
            if let Some(argument) = tail.strip_prefix(":-") {
                (name, "default-if-empty", argument)
            } else if let Some(argument) = tail.strip_prefix(":?") {
                (name, "required-non-empty", argument)
            } else if let Some(argument) = tail.strip_prefix('-') {
                (name, "default-if-unset", argument)
            } else if let Some(argument) = tail.strip_prefix('?') {
                (name, "required", argument)
            } else {
                out.errors.push(format!("invalid environment interpolation `${{{expression}}}`"));
                return;
            }
        }
        None => (expression, "plain", ""),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        out.errors.push(format!("invalid environment variable name `{name}`"));
        return;
    }
    let value = lookup(name);
    // `from_env` tells a value taken from the environment (scrubbed from errors) from a default
    // written in the file (not secret).
    let (resolved, from_env) = match (operator, value) {
        ("default-if-empty", Some(value)) if !value.is_empty() => (value, true),
        ("default-if-empty", _) | ("default-if-unset", None) => (argument.to_owned(), false),
        ("required-non-empty", Some(value)) if !value.is_empty() => (value, true),
        ("required-non-empty", _) | ("required", None) => {
            let message = if argument.is_empty() { "is required" } else { argument };
            out.errors.push(format!("environment variable `{name}`: {message}"));
            return;
        }
        (_, Some(value)) => (value, true),
        (_, None) => {
            out.errors.push(format!(
                "environment variable `{name}` is not set (use `${{{name}:-default}}` to give a default)"
            ));
            return;
        }
    };
    if resolved.contains(['\n', '\r']) {
        out.errors.push(format!("environment variable `{name}` contains a newline, which is not allowed"));
        return;
    }
    if from_env && !resolved.is_empty() {
        out.secrets.push(resolved.clone());
    }
    out.text.push_str(&resolved);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("example.com".into()),
            "EMPTY" => Some(String::new()),
            "MULTI" => Some("a\nb".into()),
            _ => None,
        }
    }

    #[test]
    fn every_form() {
        let out = interpolate("a=${HOST} b=$HOST c=${NOPE:-d} d=${EMPTY:-e} f=${EMPTY-g} h=$$x i=re$", &env);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.text, "a=example.com b=example.com c=d d=e f= h=$x i=re$");
        assert_eq!(out.secrets, vec!["example.com".to_owned(), "example.com".to_owned()]);
    }

    #[test]
    fn errors_never_carry_values() {
        let out = interpolate("${NOPE} ${EMPTY:?must be set} ${MULTI} ${HOST", &env);
        assert_eq!(out.errors.len(), 4, "{:?}", out.errors);
        assert!(out.errors[1].contains("must be set"));
        assert!(out.errors.iter().all(|error| !error.contains("a\nb")));
    }
}
