//! TLS for the client-facing listeners and the upstream. rustls with the
//! ring provider, TLS 1.2 and 1.3 only, ALPN h2 + http/1.1. The server
//! certificate lives behind an `ArcSwap`, so SIGHUP can replace it without
//! touching established connections.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context};
use arc_swap::ArcSwap;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};

/// The crypto provider used everywhere (ring: no cmake/aws-lc needed).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads all certificates from a PEM file.
pub fn load_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(f))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: invalid PEM", path.display()))?;
    if certs.is_empty() {
        return Err(anyhow!("{}: no certificates found", path.display()));
    }
    Ok(certs)
}

/// Reads the first private key from a PEM file.
pub fn load_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    rustls_pemfile::private_key(&mut BufReader::new(f))
        .with_context(|| format!("{}: invalid PEM", path.display()))?
        .ok_or_else(|| anyhow!("{}: no private key found", path.display()))
}

/// A root store from a PEM bundle.
pub fn root_store(path: &Path) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in load_certs(path)? {
        roots
            .add(c)
            .with_context(|| format!("{}: unusable CA certificate", path.display()))?;
    }
    Ok(roots)
}

/// The server certificate, swappable at run time.
#[derive(Debug)]
pub struct CertStore {
    current: ArcSwap<CertifiedKey>,
    cert_path: PathBuf,
    key_path: PathBuf,
}

impl CertStore {
    /// Loads the certificate chain and key.
    pub fn load(cert_path: &Path, key_path: &Path) -> anyhow::Result<Arc<CertStore>> {
        let ck = Self::read(cert_path, key_path)?;
        Ok(Arc::new(CertStore {
            current: ArcSwap::from_pointee(ck),
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
        }))
    }

    fn read(cert_path: &Path, key_path: &Path) -> anyhow::Result<CertifiedKey> {
        let certs = load_certs(cert_path)?;
        let key = load_key(key_path)?;
        let signer = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| anyhow!("{}: unsupported key: {e}", key_path.display()))?;
        Ok(CertifiedKey::new(certs, signer))
    }

    /// Unix time of the serving (leaf) certificate's notAfter.
    pub fn not_after(&self) -> Option<i64> {
        let ck = self.current.load();
        ck.cert
            .first()
            .and_then(|c| crate::proxy::cert_expiry::not_after_unix(c.as_ref()))
    }

    /// Re-reads the files; on error the current certificate stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let ck = Self::read(&self.cert_path, &self.key_path)?;
        self.current.store(Arc::new(ck));
        Ok(())
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// A server config: TLS 1.2/1.3, ALPN h2 + http/1.1, optional mTLS.
pub fn server_config(
    store: Arc<CertStore>,
    client_ca: Option<&Path>,
) -> anyhow::Result<Arc<ServerConfig>> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS versions")?;
    let builder = match client_ca {
        Some(ca) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(root_store(ca)?), provider())
                    .build()
                    .with_context(|| format!("{}: client CA", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_cert_resolver(store);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A client config for the upstream: the given CA bundle, or the webpki roots.
pub fn client_config(ca_bundle: Option<&Path>) -> anyhow::Result<rustls::ClientConfig> {
    let roots = match ca_bundle {
        Some(p) => root_store(p)?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
