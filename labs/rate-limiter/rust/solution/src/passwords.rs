//! Password hashing with argon2id (the `argon2` crate, PHC string format).
//!
//! Parameters follow the OWASP Password Storage Cheat Sheet's first argon2id
//! row: m = 19 MiB, t = 2, p = 1.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Why a password could not be hashed.
pub type PasswordError = argon2::password_hash::Error;

const ALGORITHM: Algorithm = Algorithm::Argon2id;
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)?;
    Ok(Argon2::new(ALGORITHM, Version::V0x13, params))
}

/// Hash a password with a fresh random salt; returns the PHC string.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(hasher()?
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A real hash of nothing in particular, verified against when the user does
/// not exist, so "no such user" costs as much time as "wrong password".
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("a password nobody has").unwrap_or_default())
}

/// Whether `password` matches `password_hash`. `None` (no such user) never
/// matches, but takes as long as a real verification.
pub fn verify_password(password_hash: Option<&str>, password: &str) -> bool {
    let known = password_hash.is_some();
    let encoded = password_hash.unwrap_or(dummy_hash());
    let Ok(parsed) = PasswordHash::new(encoded) else {
        return false;
    };
    let Ok(hasher) = hasher() else {
        return false;
    };
    let matches = hasher.verify_password(password.as_bytes(), &parsed).is_ok();
    known && matches
}

/// Whether a stored hash was made with weaker settings than today's.
pub fn needs_rehash(password_hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(password_hash) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm != ALGORITHM.ident()
        || params.m_cost() < MEMORY_KIB
        || params.t_cost() < ITERATIONS
}
