//! `strata-tls` tests: certificates made with rcgen into a temporary directory, configs built from
//! them, real handshakes over in-memory pipes, and every bad file named in its error.

use std::path::Path;
use std::time::Duration;

use rustls::NamedGroup;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::testing::{Authority, Identity};
use crate::{ClientTlsConfig, HandshakeError, ServerTlsConfig, TlsError};

const WAIT: Duration = Duration::from_secs(5);

struct Pki {
    dir: tempfile::TempDir,
    ca: Authority,
    server: Identity,
    client: Identity,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new(dir.path(), "test");
    let server = ca.server(dir.path(), "server");
    let client = ca.client(dir.path(), "client");
    Pki { dir, ca, server, client }
}

fn server_options(pki: &Pki, verify_certificate: bool) -> ServerTlsConfig {
    ServerTlsConfig {
        enabled: Some(true),
        crt_file: Some(pki.server.crt_file.clone()),
        key_file: Some(pki.server.key_file.clone()),
        ca_file: Some(pki.ca.ca_file.clone()),
        verify_certificate,
        alpn_protocols: Vec::new(),
    }
}

fn client_options(pki: &Pki, identity: Option<&Identity>) -> ClientTlsConfig {
    ClientTlsConfig {
        enabled: Some(true),
        ca_file: Some(pki.ca.ca_file.clone()),
        crt_file: identity.map(|identity| identity.crt_file.clone()),
        key_file: identity.map(|identity| identity.key_file.clone()),
        ..ClientTlsConfig::default()
    }
}

/// One handshake over an in-memory pipe, then one message each way (the client waits for the
/// server's, so neither end closes early). Returns the client's result
/// (with the key exchange group it negotiated) and the server's.
async fn handshake(
    server: &ServerTlsConfig,
    client: &ClientTlsConfig,
    host: &str,
) -> (Result<NamedGroup, HandshakeError>, Result<(), HandshakeError>) {
    let acceptor = server.acceptor().expect("server config builds").expect("enabled");
    let connector = client.connector(host).expect("client config builds");
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let serve = async move {
        let mut stream = acceptor.accept(server_io, WAIT).await?;
        let mut line = [0u8; 5];
        stream.read_exact(&mut line).await.map_err(HandshakeError::Failed)?;
        assert_eq!(&line, b"hello");
        stream.write_all(b"world").await.map_err(HandshakeError::Failed)?;
        stream.flush().await.map_err(HandshakeError::Failed)?;
        Ok(())
    };
    let connect = async move {
        let mut stream = connector.connect(client_io, WAIT).await?;
        // TLS 1.3 lets the client finish before the server has checked its certificate: the
        // server's verdict arrives with the first read.
        stream.write_all(b"hello").await.map_err(HandshakeError::Failed)?;
        stream.flush().await.map_err(HandshakeError::Failed)?;
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).await.map_err(HandshakeError::Failed)?;
        assert_eq!(&reply, b"world");
        let group = stream.get_ref().1.negotiated_key_exchange_group().expect("a group").name();
        Ok(group)
    };
    tokio::join!(connect, serve)
}

#[tokio::test]
async fn server_and_client_configs_build_and_shake_hands_with_the_hybrid_post_quantum_group() {
    let pki = pki();
    let (client, server) =
        handshake(&server_options(&pki, false), &client_options(&pki, None), "localhost").await;
    server.expect("the server accepts");
    assert_eq!(client.expect("the client connects"), NamedGroup::X25519MLKEM768);
}

#[tokio::test]
async fn client_certificates_are_required_and_checked_when_verify_certificate_is_on() {
    let pki = pki();
    let server = server_options(&pki, true);
    let (client, accepted) = handshake(&server, &client_options(&pki, Some(&pki.client)), "127.0.0.1").await;
    client.expect("a client with a certificate from the authority connects");
    accepted.expect("and is accepted");

    let (_, refused) = handshake(&server, &client_options(&pki, None), "127.0.0.1").await;
    let error = refused.expect_err("a client without a certificate is refused");
    assert!(error.to_string().contains("certificate"), "{error}");

    let other = Authority::new(pki.dir.path(), "other");
    let stranger = other.client(pki.dir.path(), "stranger");
    let (_, refused) = handshake(&server, &client_options(&pki, Some(&stranger)), "127.0.0.1").await;
    let error = refused.expect_err("a client certificate from another authority is refused");
    assert_eq!(error.error_type(), "tls_handshake_failed");
}

#[tokio::test]
async fn the_server_name_is_checked_unless_verify_hostname_is_off() {
    let pki = pki();
    let server = server_options(&pki, false);
    let wrong_name =
        ClientTlsConfig { server_name: Some("example.com".into()), ..client_options(&pki, None) };
    let (client, _) = handshake(&server, &wrong_name, "localhost").await;
    let error = client.expect_err("a certificate for another name is refused");
    assert!(error.to_string().contains("not valid for name"), "{error}");

    let lenient = ClientTlsConfig { verify_hostname: false, ..wrong_name };
    let (client, server_result) = handshake(&server, &lenient, "localhost").await;
    client.expect("the name is not checked");
    server_result.expect("accepted");

    // Without `ca_file` only the built-in public roots are trusted: the test authority is not.
    let public_roots = ClientTlsConfig { ca_file: None, ..client_options(&pki, None) };
    let (client, _) = handshake(&server, &public_roots, "localhost").await;
    assert!(client.is_err(), "a private authority is not trusted without `ca_file`");
    let trust_all = ClientTlsConfig { verify_certificate: false, ..public_roots };
    let (client, _) = handshake(&server, &trust_all, "localhost").await;
    client.expect("verify_certificate = false trusts any server");
}

#[tokio::test]
async fn a_silent_client_times_out() {
    let pki = pki();
    let acceptor = server_options(&pki, false).acceptor().unwrap().unwrap();
    let (_client_io, server_io) = tokio::io::duplex(1024);
    let started = std::time::Instant::now();
    let error = acceptor.accept(server_io, Duration::from_millis(200)).await.expect_err("times out");
    assert!(matches!(error, HandshakeError::TimedOut(_)), "{error}");
    assert_eq!(error.error_type(), "tls_handshake_timed_out");
    assert!(started.elapsed() < WAIT);
}

#[tokio::test]
async fn plaintext_is_not_a_handshake() {
    let pki = pki();
    let acceptor = server_options(&pki, false).acceptor().unwrap().unwrap();
    let (mut client_io, server_io) = tokio::io::duplex(1024);
    client_io.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let error = acceptor.accept(server_io, WAIT).await.expect_err("refused");
    assert_eq!(error.error_type(), "tls_handshake_failed");
}

fn server_error(options: &ServerTlsConfig) -> String {
    options.acceptor().expect_err("the build fails").to_string()
}

fn assert_names(message: &str, option: &str, path: &Path) {
    assert!(message.contains(&format!("`tls.{option}`")), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn a_missing_file_is_named_with_its_option() {
    let pki = pki();
    let missing = pki.dir.path().join("nowhere.pem");
    for option in ["crt_file", "key_file", "ca_file"] {
        let mut options = server_options(&pki, true);
        match option {
            "crt_file" => options.crt_file = Some(missing.clone()),
            "key_file" => options.key_file = Some(missing.clone()),
            _ => options.ca_file = Some(missing.clone()),
        }
        let message = server_error(&options);
        assert_names(&message, option, &missing);
        assert!(message.contains("No such file"), "{message}");
    }
    let client = ClientTlsConfig { ca_file: Some(missing.clone()), ..ClientTlsConfig::default() };
    assert_names(&client.client_config().unwrap_err().to_string(), "ca_file", &missing);
}

#[test]
fn a_file_without_the_expected_pem_item_is_named() {
    let pki = pki();
    // A key where the certificate belongs, and the other way round.
    let swapped =
        ServerTlsConfig { crt_file: pki.server.key_file.clone().into(), ..server_options(&pki, false) };
    let message = server_error(&swapped);
    assert!(matches!(swapped.acceptor(), Err(TlsError::NoCertificate { .. })), "{message}");
    assert_names(&message, "crt_file", &pki.server.key_file);

    let swapped =
        ServerTlsConfig { key_file: pki.server.crt_file.clone().into(), ..server_options(&pki, false) };
    let message = server_error(&swapped);
    assert!(message.contains("no PEM private key"), "{message}");
    assert_names(&message, "key_file", &pki.server.crt_file);

    let empty_ca = pki.dir.path().join("empty-ca.pem");
    std::fs::write(&empty_ca, "").unwrap();
    let options = ServerTlsConfig { ca_file: Some(empty_ca.clone()), ..server_options(&pki, true) };
    assert_names(&server_error(&options), "ca_file", &empty_ca);
}

#[test]
fn a_key_that_does_not_match_the_certificate_names_both_files() {
    let pki = pki();
    let options =
        ServerTlsConfig { key_file: Some(pki.client.key_file.clone()), ..server_options(&pki, false) };
    let message = server_error(&options);
    assert!(message.contains("does not match"), "{message}");
    assert!(message.contains(&pki.client.key_file.display().to_string()), "{message}");
    assert!(message.contains(&pki.server.crt_file.display().to_string()), "{message}");

    let client = ClientTlsConfig {
        crt_file: Some(pki.client.crt_file.clone()),
        key_file: Some(pki.server.key_file.clone()),
        ..ClientTlsConfig::default()
    };
    assert!(matches!(client.client_config(), Err(TlsError::KeyMismatch { .. })));
}

#[test]
fn a_broken_key_is_not_quoted_in_the_error() {
    let pki = pki();
    let broken = pki.dir.path().join("broken.key");
    std::fs::write(&broken, "-----BEGIN PRIVATE KEY-----\nTOPSECRET!!\n-----END PRIVATE KEY-----\n").unwrap();
    let options = ServerTlsConfig { key_file: Some(broken.clone()), ..server_options(&pki, false) };
    let message = server_error(&options);
    assert_names(&message, "key_file", &broken);
    assert!(!message.contains("TOPSECRET"), "{message}");
    assert!(!format!("{:?}", options.acceptor().unwrap_err()).contains("TOPSECRET"));
}

#[test]
fn options_parse_with_vector_names_and_are_checked_without_reading_files() {
    let server: ServerTlsConfig = serde_json::from_value(serde_json::json!({
        "enabled": true, "crt_file": "/nonexistent/c.pem", "key_file": "/nonexistent/k.pem",
        "ca_file": "/nonexistent/ca.pem", "verify_certificate": true, "alpn_protocols": ["http/1.1"],
    }))
    .unwrap();
    assert_eq!(server.validate(), Vec::<String>::new());

    let typo =
        serde_json::from_value::<ServerTlsConfig>(serde_json::json!({"enabled": true, "crt_fle": "x"}));
    assert!(typo.unwrap_err().to_string().contains("crt_fle"));
    // Hostname options belong to connectors only.
    assert!(
        serde_json::from_value::<ServerTlsConfig>(serde_json::json!({"verify_hostname": false})).is_err()
    );

    let incomplete = ServerTlsConfig { enabled: Some(true), verify_certificate: true, ..Default::default() };
    let errors = incomplete.validate();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|error| error.contains("`tls.crt_file` is required")));
    assert!(errors.iter().any(|error| error.contains("`tls.ca_file`")));

    let forgotten = ServerTlsConfig { crt_file: Some("c.pem".into()), ..Default::default() };
    assert!(forgotten.validate()[0].contains("`tls.enabled` is not set"), "{:?}", forgotten.validate());
    assert!(forgotten.acceptor().unwrap().is_none(), "off unless enabled");
    assert_eq!(ServerTlsConfig::default().validate(), Vec::<String>::new());

    let client: ClientTlsConfig = serde_json::from_value(serde_json::json!({
        "enabled": true, "verify_hostname": false, "server_name": "collector.internal",
    }))
    .unwrap();
    assert!(client.verify_certificate, "verify_certificate defaults to true");
    assert_eq!(client.validate(true), Vec::<String>::new());
    assert_eq!(client.validate(false).len(), 1, "`enabled` does not apply to the http sink");
    let half = ClientTlsConfig { enabled: Some(true), crt_file: Some("c.pem".into()), ..Default::default() };
    assert!(half.validate(true)[0].contains("go together"));
    let bad_name =
        ClientTlsConfig { enabled: Some(true), server_name: Some("not a name".into()), ..Default::default() };
    assert_eq!(bad_name.validate(true).len(), 1);
}

#[test]
fn without_ca_file_the_client_trusts_the_built_in_roots() {
    let config = ClientTlsConfig::default().client_config().expect("builds without any file");
    assert!(config.alpn_protocols.is_empty());
    let named = ClientTlsConfig { server_name: Some("collector.internal".into()), ..Default::default() };
    assert_eq!(named.server_name("ignored").unwrap().to_str(), "collector.internal");
    assert_eq!(ClientTlsConfig::default().server_name("10.0.0.1").unwrap().to_str(), "10.0.0.1");
}
