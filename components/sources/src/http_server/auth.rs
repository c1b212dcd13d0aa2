//! Client authentication: basic or bearer credentials compared in constant time.

use axum::http::{HeaderMap, header};
use base64::Engine;
use subtle::ConstantTimeEq;

use super::AuthConfig;

/// The expected credentials, prepared once. Never logged: no `Debug`.
pub(super) enum Auth {
    /// `username:password`, as a basic credential decodes to.
    Basic(Vec<u8>),
    Bearer(Vec<u8>),
}

impl Auth {
    pub(super) fn new(config: &AuthConfig) -> Self {
        match config {
            AuthConfig::Basic { username, password } => {
                Auth::Basic(format!("{username}:{password}").into_bytes())
            }
            AuthConfig::Bearer { token } => Auth::Bearer(token.clone().into_bytes()),
        }
    }

    /// The `WWW-Authenticate` challenge sent with a 401.
    pub(super) fn challenge(&self) -> &'static str {
        match self {
            Auth::Basic(_) => r#"Basic realm="strata", charset="UTF-8""#,
            Auth::Bearer(_) => r#"Bearer realm="strata""#,
        }
    }

    /// True when the request's `Authorization` header carries the expected credentials. The
    /// comparison takes the same time wherever the first difference is; only a difference in
    /// length shows.
    pub(super) fn allows(&self, headers: &HeaderMap) -> bool {
        let Some((scheme, credentials)) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().split_once(' '))
        else {
            return false;
        };
        let credentials = credentials.trim();
        match self {
            Auth::Basic(expected) if scheme.eq_ignore_ascii_case("basic") => {
                match base64::engine::general_purpose::STANDARD.decode(credentials) {
                    Ok(given) => bool::from(given.as_slice().ct_eq(expected.as_slice())),
                    Err(_) => false,
                }
            }
            Auth::Bearer(expected) if scheme.eq_ignore_ascii_case("bearer") => {
                bool::from(credentials.as_bytes().ct_eq(expected.as_slice()))
            }
            _ => false,
        }
    }
}
