//! TLS to PostgreSQL and MySQL/MariaDB, through rustls: libpq's `sslmode`
//! names and parameters, written in the URL's query string for both
//! engines (`?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem`).
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `prefer` | when the server offers it, else cleartext | not checked |
//! | `require` | always | not checked; with `sslrootcert`, as `verify-ca` (libpq's rule) |
//! | `verify-ca` | always | signed by a trusted CA |
//! | `verify-full` | always | signed by a trusted CA, for the host name (or IP) of the URL |
//!
//! Trusted CAs are those of `sslrootcert` (a PEM file) when given, else the
//! system's (rustls-native-certs; the MySQL driver uses the Mozilla root
//! set it bundles, next to `sslrootcert`). `sslcert` and `sslkey` (PEM
//! files) give a client certificate.
//!
//! Without `sslmode`, a server on this machine (`localhost`, `127.0.0.0/8`,
//! `::1`, a socket path) gets `prefer`, any other `verify-full`. A
//! connection to another machine that may carry values in cleartext
//! (`disable`, `prefer`) is refused unless the caller allows cleartext
//! explicitly ([`crate::DbUrl::allow_cleartext`], `--db-allow-cleartext`):
//! every plaintext value of the column, and possibly the password, would
//! cross the network readable.

use crate::error::{Error, Result};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, certificate not checked.
    Prefer,
    /// TLS, certificate not checked.
    Require,
    /// TLS, certificate signed by a trusted CA.
    VerifyCa,
    /// TLS, certificate signed by a trusted CA for the server's name.
    VerifyFull,
}

impl TlsMode {
    /// Every mode, from the weakest.
    pub const ALL: [TlsMode; 5] = [
        TlsMode::Disable,
        TlsMode::Prefer,
        TlsMode::Require,
        TlsMode::VerifyCa,
        TlsMode::VerifyFull,
    ];

    /// libpq's name: `disable`, `prefer`, `require`, `verify-ca`, `verify-full`.
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    /// The mode of a libpq name (`allow` is read as `prefer`).
    pub fn from_name(name: &str) -> Option<TlsMode> {
        match name {
            "allow" => Some(TlsMode::Prefer),
            _ => TlsMode::ALL.into_iter().find(|m| m.name() == name),
        }
    }

    /// Whether the connection may end up without TLS.
    pub fn allows_cleartext(self) -> bool {
        matches!(self, TlsMode::Disable | TlsMode::Prefer)
    }
}

/// The TLS parameters of a URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// `sslmode`, when given.
    pub mode: Option<TlsMode>,
    /// `sslrootcert`: the CA certificates to trust (PEM).
    pub root_cert: Option<PathBuf>,
    /// `sslcert`: a client certificate chain (PEM).
    pub client_cert: Option<PathBuf>,
    /// `sslkey`: the client certificate's private key (PEM).
    pub client_key: Option<PathBuf>,
}

impl TlsSettings {
    /// The parameter names this module takes out of a URL.
    pub const PARAMS: [&'static str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

    /// Sets the parameter `key` (one of [`TlsSettings::PARAMS`]).
    pub(crate) fn set(&mut self, key: &str, value: &str) -> std::result::Result<(), String> {
        match key {
            "sslmode" => {
                self.mode = Some(TlsMode::from_name(value).ok_or_else(|| {
                    format!("sslmode={value} is not one of disable, prefer, require, verify-ca, verify-full")
                })?);
            }
            "sslrootcert" => self.root_cert = Some(PathBuf::from(value)),
            "sslcert" => self.client_cert = Some(PathBuf::from(value)),
            "sslkey" => self.client_key = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown TLS parameter {key}")),
        }
        Ok(())
    }

    /// The mode in effect for `host`: the one given, else `prefer` on this
    /// machine and `verify-full` elsewhere; `require` with a CA file is
    /// `verify-ca`, as in libpq.
    pub fn mode_for(&self, host: &str) -> TlsMode {
        match self.mode {
            Some(TlsMode::Require) if self.root_cert.is_some() => TlsMode::VerifyCa,
            Some(m) => m,
            None if is_local(host) => TlsMode::Prefer,
            None => TlsMode::VerifyFull,
        }
    }
}

/// Whether `host` is this machine: `localhost`, an address of
/// `127.0.0.0/8` or `::1`, or a Unix socket path. Names are not resolved:
/// any other name counts as another machine.
pub fn is_local(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.is_empty()
        || h.starts_with('/')
        || h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses, before any connection, a mode that may carry values in
/// cleartext to another machine, unless cleartext is allowed.
pub(crate) fn check_cleartext(host: &str, mode: TlsMode, allow_cleartext: bool) -> Result<()> {
    if mode.allows_cleartext() && !is_local(host) && !allow_cleartext {
        return Err(Error::CleartextRefused {
            host: host.to_string(),
            reason: format!(
                "sslmode={} may send the column's values and the password in cleartext to another machine",
                mode.name()
            ),
        });
    }
    Ok(())
}

/// The crypto provider of every TLS connection here (ring, as the core's
/// default engine), installed as the process default for drivers that
/// build their own configuration.
///
/// rustls marks ring's provider deprecated because it has no post-quantum
/// key exchange (X25519MLKEM768, which aws-lc-rs has). Kept on purpose:
/// the database servers this talks to (PostgreSQL and MariaDB on OpenSSL
/// 3.0) offer none either, and aws-lc-rs would add a C build to every
/// default build of the command line. docs/DATABASES.md says so.
#[allow(deprecated)]
pub(crate) fn provider() -> Arc<CryptoProvider> {
    let p = Arc::new(rustls::crypto::ring::default_provider());
    // Fails only when a default is already installed: that one stays.
    let _ = CryptoProvider::install_default(rustls::crypto::ring::default_provider());
    p
}

/// The rustls configuration of a connection in `mode` (not `disable`).
pub(crate) fn client_config(s: &TlsSettings, mode: TlsMode) -> std::result::Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => Arc::new(AnyCertificate(provider.clone())),
        TlsMode::VerifyCa | TlsMode::VerifyFull => {
            let roots = Arc::new(roots(s)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| e.to_string())?;
            if mode == TlsMode::VerifyCa {
                Arc::new(AnyName(webpki))
            } else {
                webpki
            }
        }
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    match (&s.client_cert, &s.client_key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read the client certificate {}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("cannot read the client key {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("cannot use the client certificate: {e}"))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err("a client certificate needs both sslcert and sslkey".into()),
    }
}

/// The CAs to trust: `sslrootcert` alone when given (as libpq), else the
/// system's.
fn roots(s: &TlsSettings) -> std::result::Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match &s.root_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "sslrootcert {} holds no usable certificate",
                    path.display()
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err("no system CA certificates found; give sslrootcert=PATH".into());
            }
        }
    }
    Ok(store)
}

/// `require` and `prefer`: encrypts, and checks the handshake's signature
/// with the server's key, but not who the server is.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted CA; the name is not
/// checked.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The rustls error somewhere in `e`'s chain (through `io::Error`s too),
/// if TLS is what failed.
pub(crate) fn rustls_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = rustls_cause(inner)
        {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

/// `e` and its causes, joined by ": " (a driver's top message alone is
/// often "db error" or "error connecting to server").
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_defaults_and_libpq_rules() {
        for m in TlsMode::ALL {
            assert_eq!(TlsMode::from_name(m.name()), Some(m));
        }
        assert_eq!(TlsMode::from_name("verify_full"), None);
        let none = TlsSettings::default();
        assert_eq!(none.mode_for("127.0.0.1"), TlsMode::Prefer);
        assert_eq!(none.mode_for("localhost"), TlsMode::Prefer);
        assert_eq!(none.mode_for("::1"), TlsMode::Prefer);
        assert_eq!(none.mode_for("/run/postgresql"), TlsMode::Prefer);
        assert_eq!(none.mode_for("db.internal"), TlsMode::VerifyFull);
        assert_eq!(none.mode_for("10.0.0.5"), TlsMode::VerifyFull);
        let mut s = TlsSettings::default();
        s.set("sslmode", "require").unwrap();
        assert_eq!(s.mode_for("db.internal"), TlsMode::Require);
        s.set("sslrootcert", "/ca.pem").unwrap();
        assert_eq!(s.mode_for("db.internal"), TlsMode::VerifyCa);
        assert!(s.set("sslmode", "sometimes").is_err());
    }

    #[test]
    fn cleartext_to_another_machine_needs_an_explicit_choice() {
        for mode in [TlsMode::Disable, TlsMode::Prefer] {
            let e = check_cleartext("db.internal", mode, false).unwrap_err();
            assert!(
                matches!(&e, Error::CleartextRefused { host, .. } if host == "db.internal"),
                "{e:?}"
            );
            assert_eq!(e.kind(), strongroom::ErrorKind::Usage);
            assert!(check_cleartext("db.internal", mode, true).is_ok());
            assert!(check_cleartext("127.0.0.1", mode, false).is_ok());
        }
        assert!(check_cleartext("db.internal", TlsMode::Require, false).is_ok());
    }
}
