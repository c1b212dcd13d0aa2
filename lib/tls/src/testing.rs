//! Certificate authorities and certificates made on the fly and written as PEM files, for tests
//! (feature `test-support`).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// A certificate and key written to `<name>.pem` and `<name>.key`.
#[derive(Debug, Clone)]
pub struct Identity {
    pub crt_file: PathBuf,
    pub key_file: PathBuf,
}

/// A certificate authority whose certificate is in `<name>-ca.pem`.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pub ca_file: PathBuf,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("ca_file", &self.ca_file).finish_non_exhaustive()
    }
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
}

impl Authority {
    /// A new self-signed authority, written to `dir/<name>-ca.pem`.
    pub fn new(dir: &Path, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names to check");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, format!("{name} test authority"));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("a key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("a self-signed authority");
        let ca_file = dir.join(format!("{name}-ca.pem"));
        write(&ca_file, &issuer.pem());
        Self { issuer, ca_file }
    }

    /// A server certificate for `localhost` and `127.0.0.1`.
    pub fn server(&self, dir: &Path, name: &str) -> Identity {
        self.server_for(dir, name, &["localhost", "127.0.0.1"])
    }

    /// A server certificate for `names` (DNS names or IP addresses) only.
    pub fn server_for(&self, dir: &Path, name: &str, names: &[&str]) -> Identity {
        self.issue(dir, name, names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate whose common name is `name`.
    pub fn client(&self, dir: &Path, name: &str) -> Identity {
        self.issue(dir, name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    /// A certificate for `names` (DNS names or IP addresses), for `usage`.
    fn issue(&self, dir: &Path, name: &str, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Identity {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("valid names");
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("a key");
        let certificate = params.signed_by(&key, &self.issuer).expect("a signed certificate");
        let identity =
            Identity { crt_file: dir.join(format!("{name}.pem")), key_file: dir.join(format!("{name}.key")) };
        write(&identity.crt_file, &certificate.pem());
        write(&identity.key_file, &key.serialize_pem());
        identity
    }
}
