//! People's passwords: Argon2id hashes (stored only as their PHC string), checking one at
//! sign-in, and the length rule for a new one. Devices have tokens instead (`auth`).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

use crate::auth::Role;
use crate::db::SessionStore;
use crate::error::ServerError;

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Hashes a password with Argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, ServerError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServerError::Corrupt(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Corrupt(e.to_string()))
}

/// Hashes a demo login's password with Argon2id at its smallest cost (8 KiB, one pass).
///
/// Demo passwords are printed for anyone to read, so a slow hash protects nothing there,
/// while every test and benchmark that loads a demo company would pay for it. Verification
/// reads the cost from the stored string, so these sign in like any other password; a
/// password set with `admin set-password` gets the full cost of [`hash_password`].
pub fn hash_demo_password(password: &str) -> Result<String, ServerError> {
    let params = argon2::Params::new(argon2::Params::MIN_M_COST, 1, 1, None)
        .map_err(|e| ServerError::Corrupt(e.to_string()))?;
    let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServerError::Corrupt(e.to_string()))?;
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Corrupt(e.to_string()))
}

/// Whether `password` matches the stored hash.
pub fn verify_password(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Sets a user's password (already hashed with [`hash_password`]).
pub fn set_password_hash(
    db: &dyn SessionStore,
    user_id: &str,
    hash: &str,
) -> Result<(), ServerError> {
    if db.set_password_hash(user_id, hash)? { Ok(()) } else { Err(ServerError::NotFound) }
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), ServerError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServerError::Invalid {
            field: "password",
            reason: format!("at least {MIN_PASSWORD_CHARS} characters"),
        });
    }
    Ok(())
}

/// The stored password hash and role of an active user, for signing in.
pub fn credentials(
    db: &dyn SessionStore,
    user_id: &str,
) -> Result<Option<(String, Role)>, ServerError> {
    Ok(db.credentials(user_id)?)
}
