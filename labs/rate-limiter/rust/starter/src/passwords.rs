//! Password hashing with argon2 (the `argon2` crate, PHC string format).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Why a password could not be hashed.
pub type PasswordError = argon2::password_hash::Error;

// TODO(lab:auth): these parameters are far below OWASP's minimum for argon2id
// (and this is argon2i). Choose a profile from the Password Storage Cheat Sheet.
const ALGORITHM: Algorithm = Algorithm::Argon2i;
const MEMORY_KIB: u32 = 8 * 1024;
const ITERATIONS: u32 = 1;
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

/// Whether `password` matches `password_hash`. `None` (no such user) never matches.
pub fn verify_password(password_hash: Option<&str>, password: &str) -> bool {
    // TODO(lab:auth): an unknown user returns at once here, which makes "no such
    // user" measurably faster than "wrong password".
    let Some(encoded) = password_hash else {
        return false;
    };
    let Ok(parsed) = PasswordHash::new(encoded) else {
        return false;
    };
    let Ok(hasher) = hasher() else {
        return false;
    };
    hasher.verify_password(password.as_bytes(), &parsed).is_ok()
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
