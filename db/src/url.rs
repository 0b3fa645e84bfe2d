//! Database URLs: `sqlite:PATH` (the default when no scheme is given),
//! `postgres://...` / `postgresql://...` and `mysql://...` / `mariadb://...`.
//! The password may be in the URL, or come from the environment or a file
//! ([`DbUrl::with_password`]); it is never shown ([`DbUrl::redacted`]).
//! The TLS parameters of the query string (`sslmode`, `sslrootcert`,
//! `sslcert`, `sslkey`, the names libpq uses) are taken out for
//! [`crate::tls`], for both server engines.

use crate::error::{Error, Result};
use crate::tls::{TlsMode, TlsSettings};
use std::fmt;
use zeroize::Zeroizing;

/// The database engine behind a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// SQLite, embedded (rusqlite).
    Sqlite,
    /// PostgreSQL (rust-postgres).
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl EngineKind {
    /// `sqlite`, `postgres` or `mysql`.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Sqlite => "sqlite",
            EngineKind::Postgres => "postgres",
            EngineKind::Mysql => "mysql",
        }
    }
}

/// A parsed database URL. Debug and Display show it redacted.
#[derive(Clone)]
pub struct DbUrl {
    kind: EngineKind,
    /// The URL as given, without a password if one came separately.
    url: Zeroizing<String>,
    /// The password, from the URL or given separately.
    password: Option<Zeroizing<String>>,
    /// The URL's TLS parameters.
    tls: TlsSettings,
    /// Cleartext to another machine allowed explicitly.
    allow_cleartext: bool,
}

impl DbUrl {
    /// Parses `url`: `sqlite:PATH`, `sqlite://PATH`, a bare path,
    /// `postgres://` or `postgresql://`, `mysql://` or `mariadb://`.
    pub fn parse(url: &str) -> Result<DbUrl> {
        let lower = url.to_ascii_lowercase();
        let kind = if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            EngineKind::Postgres
        } else if lower.starts_with("mysql://") || lower.starts_with("mariadb://") {
            EngineKind::Mysql
        } else if lower.starts_with("sqlite:") || !url.contains("://") {
            EngineKind::Sqlite
        } else {
            return Err(Error::Url {
                url: redact(url),
                reason: "unknown scheme (use sqlite:PATH, postgres://... or mysql://...)".into(),
            });
        };
        let password = match kind {
            EngineKind::Sqlite => None,
            _ => password_of(url).map(|p| Zeroizing::new(percent_decode(p))),
        };
        let mut url = url.to_string();
        if kind == EngineKind::Mysql && lower.starts_with("mariadb://") {
            url.replace_range(..7, "mysql");
        }
        let mut tls = TlsSettings::default();
        if kind != EngineKind::Sqlite
            && let Some(q) = url.find('?')
        {
            let mut kept = Vec::new();
            for kv in url[q + 1..].split('&').filter(|kv| !kv.is_empty()) {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                if TlsSettings::PARAMS.contains(&k) {
                    tls.set(k, &percent_decode(v)).map_err(|reason| Error::Url {
                        url: redact(&url),
                        reason,
                    })?;
                } else {
                    kept.push(kv.to_string());
                }
            }
            url.truncate(q);
            if !kept.is_empty() {
                url.push('?');
                url.push_str(&kept.join("&"));
            }
        }
        let parsed = DbUrl {
            kind,
            url: Zeroizing::new(url),
            password,
            tls,
            allow_cleartext: false,
        };
        if kind == EngineKind::Sqlite && parsed.sqlite_path().is_empty() {
            return Err(Error::Url {
                url: parsed.redacted(),
                reason: "no database file path".into(),
            });
        }
        Ok(parsed)
    }

    /// The engine.
    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// Sets the password (from the environment or a file); it replaces one
    /// in the URL.
    pub fn with_password(mut self, password: Zeroizing<String>) -> DbUrl {
        self.password = Some(password);
        self
    }

    /// Allows a connection to another machine that may carry values in
    /// cleartext (`sslmode=disable` or `prefer`); see [`crate::tls`].
    pub fn allow_cleartext(mut self, allow: bool) -> DbUrl {
        self.allow_cleartext = allow;
        self
    }

    /// Whether cleartext to another machine is allowed.
    pub fn cleartext_allowed(&self) -> bool {
        self.allow_cleartext
    }

    /// The URL's TLS parameters.
    pub fn tls(&self) -> &TlsSettings {
        &self.tls
    }

    /// The server's host as the URL names it (a `host=` parameter wins,
    /// as in libpq; empty for the driver's default, a local socket or
    /// `localhost`).
    pub fn host(&self) -> String {
        let u = self.url.as_str();
        if let Some(q) = u.find('?') {
            for kv in u[q + 1..].split('&') {
                if let Some(h) = kv.strip_prefix("host=") {
                    return percent_decode(h);
                }
            }
        }
        let Some(start) = u.find("://").map(|i| i + 3) else {
            return String::new();
        };
        let end = u[start..].find(['/', '?', '#']).map_or(u.len(), |i| start + i);
        let authority = &u[start..end];
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if let Some(rest) = hostport.strip_prefix('[') {
            rest.split(']').next().unwrap_or("")
        } else {
            hostport.split(':').next().unwrap_or("")
        };
        percent_decode(host)
    }

    /// The TLS mode in effect for this URL's host (see
    /// [`TlsSettings::mode_for`]).
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.mode_for(&self.host())
    }

    /// The URL with the password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.url)
    }

    /// The password, if any.
    pub(crate) fn password(&self) -> Option<&str> {
        self.password.as_deref().map(String::as_str)
    }

    /// The file path of a SQLite URL.
    pub(crate) fn sqlite_path(&self) -> &str {
        let u = self.url.as_str();
        let rest = if u.len() >= 7 && u[..7].eq_ignore_ascii_case("sqlite:") {
            &u[7..]
        } else {
            u
        };
        rest.strip_prefix("//").unwrap_or(rest)
    }

    /// The URL without its password and TLS parameters (the drivers get
    /// those apart).
    pub(crate) fn without_password(&self) -> String {
        strip_password(&self.url)
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The user-info part `user:password@` of `url`: (start, end) of the password.
fn password_span(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    let colon = url[start..at].find(':')? + start;
    Some((colon + 1, at))
}

fn password_of(url: &str) -> Option<&str> {
    password_span(url).map(|(a, b)| &url[a..b])
}

/// `url` with its password replaced by `***`.
pub fn redact(url: &str) -> String {
    let mut s = match password_span(url) {
        Some((a, b)) => format!("{}***{}", &url[..a], &url[b..]),
        None => url.to_string(),
    };
    // A password given as a query parameter.
    if let Some(q) = s.find('?') {
        let (head, query) = s.split_at(q + 1);
        let parts: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        s = format!("{head}{}", parts.join("&"));
    }
    s
}

fn strip_password(url: &str) -> String {
    match password_span(url) {
        Some((a, b)) => format!("{}{}", &url[..a - 1], &url[b..]),
        None => url.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_redacts() {
        let u = DbUrl::parse("postgres://app:s3cr%40t@db.example:5432/prod").unwrap();
        assert_eq!(u.kind(), EngineKind::Postgres);
        assert_eq!(u.password(), Some("s3cr@t"));
        assert_eq!(u.redacted(), "postgres://app:***@db.example:5432/prod");
        assert!(!format!("{u:?}").contains("s3cr"));
        assert_eq!(u.without_password(), "postgres://app@db.example:5432/prod");
        let m = DbUrl::parse("mariadb://root@127.0.0.1/test").unwrap();
        assert_eq!(m.kind(), EngineKind::Mysql);
        assert_eq!(m.password(), None);
        let s = DbUrl::parse("sqlite:/tmp/x.db").unwrap();
        assert_eq!(s.sqlite_path(), "/tmp/x.db");
        assert_eq!(DbUrl::parse("data/app.db").unwrap().sqlite_path(), "data/app.db");
        assert!(matches!(DbUrl::parse("sqlite:"), Err(Error::Url { .. })));
        assert!(matches!(DbUrl::parse("oracle://x"), Err(Error::Url { .. })));
        assert_eq!(
            redact("mysql://h/db?user=a&password=zz"),
            "mysql://h/db?user=a&password=***"
        );
    }

    #[test]
    fn takes_tls_parameters_out_and_finds_the_host() {
        let u = DbUrl::parse(
            "postgres://app@db.example:5433/prod?connect_timeout=5&sslmode=verify-full&sslrootcert=/etc/ca%20x.pem",
        )
        .unwrap();
        assert_eq!(
            u.without_password(),
            "postgres://app@db.example:5433/prod?connect_timeout=5"
        );
        assert_eq!(u.tls().mode, Some(TlsMode::VerifyFull));
        assert_eq!(
            u.tls().root_cert.as_deref(),
            Some(std::path::Path::new("/etc/ca x.pem"))
        );
        assert_eq!(u.host(), "db.example");
        assert_eq!(
            DbUrl::parse("mysql://root@127.0.0.1/test?sslmode=require")
                .unwrap()
                .without_password(),
            "mysql://root@127.0.0.1/test"
        );
        assert_eq!(DbUrl::parse("mysql://root@[::1]:3306/t").unwrap().host(), "::1");
        assert_eq!(
            DbUrl::parse("postgres:///t?host=/run/postgresql").unwrap().host(),
            "/run/postgresql"
        );
        assert_eq!(
            DbUrl::parse("mysql://u:p@h/t").unwrap().tls_mode(),
            TlsMode::VerifyFull
        );
        assert_eq!(
            DbUrl::parse("mysql://u:p@localhost/t").unwrap().tls_mode(),
            TlsMode::Prefer
        );
        assert!(matches!(
            DbUrl::parse("postgres://h/t?sslmode=bogus"),
            Err(Error::Url { .. })
        ));
    }
}
