//! Access tokens: RS256 JWTs signed with our private key.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::settings::Settings;

/// The one algorithm access tokens are signed and verified with.
pub const ALGORITHM: Algorithm = Algorithm::RS256;

/// RFC 8725 asks for a small leeway; more than a minute hides broken clocks.
const MAX_LEEWAY_SECONDS: u64 = 60;

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
    /// Only RS256 with our public key is accepted (the header's `alg` chooses
    /// nothing); exp/iat/iss/aud/sub/jti are required; iss and aud must match;
    /// exp/nbf/iat are judged by the injected clock with a small leeway.
    pub fn decode_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let mut validation = Validation::new(ALGORITHM);
        // jsonwebtoken's own time checks read the wall clock: ours follow below.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let claims = decode::<AccessClaims>(token, &self.decoding, &validation)?.claims;
        self.check_times(&claims)?;
        Ok(claims)
    }

    /// exp, nbf and iat against the injected clock, with at most 60 s of leeway.
    fn check_times(&self, claims: &AccessClaims) -> Result<(), TokenError> {
        let now = self.clock.now();
        let leeway = self.leeway_seconds.min(MAX_LEEWAY_SECONDS) as f64;
        if claims.exp as f64 + leeway <= now {
            return Err(TokenError("token expired".into()));
        }
        if claims.nbf.is_some_and(|nbf| nbf as f64 - leeway > now) {
            return Err(TokenError("token not yet valid".into()));
        }
        if claims.iat as f64 - leeway > now {
            return Err(TokenError("token issued in the future".into()));
        }
        Ok(())
    }
}
