//! The shared rustls client configuration (ring provider, webpki roots, ALPN http/1.1).

use std::sync::{Arc, Mutex, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use super::error::UpstreamError;

/// One config per distinct set of extra roots, shared by every core.
type ConfigCache = Mutex<Vec<(Option<Vec<u8>>, Arc<ClientConfig>)>>;

/// The client config for these extra root certificates (PEM), built once per process.
pub(crate) fn client_config(
    extra_roots_pem: Option<&[u8]>,
) -> Result<Arc<ClientConfig>, UpstreamError> {
    static CACHE: OnceLock<ConfigCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, cfg)) = cache
        .iter()
        .find(|(pem, _)| pem.as_deref() == extra_roots_pem)
    {
        return Ok(cfg.clone());
    }
    let cfg = Arc::new(build(extra_roots_pem)?);
    cache.push((extra_roots_pem.map(<[u8]>::to_vec), cfg.clone()));
    Ok(cfg)
}

/// Builds a config trusting the webpki roots plus `extra_roots_pem`.
fn build(extra_roots_pem: Option<&[u8]>) -> Result<ClientConfig, UpstreamError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_roots_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| UpstreamError::Tls(format!("extra root certs: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| UpstreamError::Tls(format!("extra root certs: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(UpstreamError::Tls(
                "extra root certs: no certificate in PEM".into(),
            ));
        }
    }
    // rustls is built without aws-lc: name the ring provider explicitly.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| UpstreamError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_shared() {
        let a = client_config(None).expect("config");
        let b = client_config(None).expect("config");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn bad_extra_pem_is_rejected() {
        assert!(client_config(Some(b"not a pem")).is_err());
        let broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(client_config(Some(broken)).is_err());
    }
}
