//! Access tokens: RS256 JWTs signed with our private key.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, encode};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::settings::Settings;

/// The one algorithm access tokens are signed and verified with.
pub const ALGORITHM: Algorithm = Algorithm::RS256;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Subject: the username.
    pub sub: String,
    /// Session ("refresh family") the token belongs to, when we issued it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Unique token id, the handle for the logout denylist.
    pub jti: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
}

/// The token is not acceptable; the message is for logs, never for clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError(pub String);

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TokenError {}

impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        Self(error.to_string())
    }
}

/// `bytes` random bytes from the OS, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system has no randomness to give");
    hex(&buffer)
}

/// Lower-case hexadecimal, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut out, byte| {
            // Writing to a String cannot fail.
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// Issues and verifies access tokens.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    audience: String,
    leeway_seconds: u64,
    ttl_seconds: u64,
    clock: Arc<dyn Clock>,
}

impl TokenService {
    /// Load the signing key from the settings and derive its public half.
    pub fn new(settings: &Settings, clock: Arc<dyn Clock>) -> Result<Self, TokenError> {
        if settings.jwt_private_key_pem.trim().is_empty() {
            return Err(TokenError(
                "no JWT signing key: set APP_JWT_PRIVATE_KEY_PEM or APP_JWT_PRIVATE_KEY_FILE"
                    .into(),
            ));
        }
        let encoding = EncodingKey::from_rsa_pem(settings.jwt_private_key_pem.as_bytes())?;
        let decoding = DecodingKey::from_jwk(&Jwk::from_encoding_key(&encoding, ALGORITHM)?)?;
        Ok(Self {
            encoding,
            decoding,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            leeway_seconds: settings.jwt_leeway_seconds,
            ttl_seconds: settings.access_token_ttl_seconds,
            clock,
        })
    }

    /// Sign a new access token for `subject` in session `session_id`.
    pub fn issue_access(
        &self,
        subject: &str,
        session_id: &str,
    ) -> Result<(String, AccessClaims), TokenError> {
        let now = self.clock.now().floor() as i64;
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.to_owned(),
            sid: Some(session_id.to_owned()),
            jti: random_hex(16),
            iat: now,
            nbf: Some(now),
            exp: now + self.ttl_seconds as i64,
        };
        let token = encode(&Header::new(ALGORITHM), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Return the verified claims or an error.
    ///
    /// Must: accept only RS256 with our public key (never the header's `alg`),
    /// require exp/iat/iss/aud/sub/jti, check iss and aud, and check exp/nbf/iat
    /// against the injected clock with `jwt_leeway_seconds` (at most 60) of leeway.
    pub fn decode_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        // TODO(lab:auth): verify the token with jsonwebtoken::decode and a pinned
        // Validation. Note that jsonwebtoken's own exp/nbf checks read the wall
        // clock, not the injected one.
        let _ = (token, &self.decoding, self.leeway_seconds);
        Err(TokenError(
            "TODO(lab:auth): TokenService::decode_access".into(),
        ))
    }
}
