//! People signing in to the dashboard: passwords, sessions and the signed-in user.
//!
//! Devices keep their bearer tokens; people get a password (Argon2id, salted, stored only as
//! its PHC string) and, once signed in, a session: a random 256-bit token in an `HttpOnly`,
//! `SameSite=Strict` cookie (also `Secure` behind `serve --tls-proxy`), stored only as its
//! SHA-256 hash, expiring after 12 hours. Every form also carries the session's CSRF token,
//! checked on every POST (signing out included).

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;

use super::error::{InLang, PageError, Refusal};
use super::i18n::Lang;
use crate::auth::Role;
use crate::db::SessionStore;
use crate::db::sessions::NewSession;
use crate::error::ServerError;
use crate::http::AppState;

pub use crate::passwords::{
    MIN_PASSWORD_CHARS, check_new_password, credentials, hash_demo_password, hash_password,
    set_password_hash, verify_password,
};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "kam_session";
/// The language cookie's name.
pub const LANG_COOKIE: &str = "kam_lang";
/// How long a session lasts.
pub const SESSION_TTL_S: i64 = 12 * 3600;

/// A signed-in person, as every dashboard handler sees them.
#[derive(Clone, Debug)]
pub struct WebUser {
    /// The user.
    pub user_id: String,
    /// Their role.
    pub role: Role,
    /// The session's CSRF token, to put in forms.
    pub csrf: String,
    /// The language they chose.
    pub lang: Lang,
    /// The business clock the pages show times on.
    pub clock: super::layout::Clock,
}

impl WebUser {
    /// Whether the user may open headquarters' pages (everything that has synced).
    pub fn is_hq(&self) -> bool {
        self.role.sees_everything()
    }

    /// Whether the user may decide re-grades and settle conflicts and violations.
    pub fn may_decide(&self) -> bool {
        crate::hq::decisions::may_decide(self.role)
    }

    /// The user as the author of a headquarters decision.
    pub fn decider(&self) -> crate::hq::decisions::Decider<'_> {
        crate::hq::decisions::Decider { user_id: &self.user_id, role: self.role }
    }

    /// Runs `work` on headquarters' read-only connections for a headquarters page: the
    /// forbidden page unless the user may open headquarters' pages, and any failure as an
    /// error page in their language.
    pub async fn hq_read<T, F>(&self, state: &AppState, work: F) -> Result<T, PageError>
    where
        T: Send + 'static,
        F: FnOnce(&crate::services::ReadView<'_>) -> Result<T, ServerError> + Send + 'static,
    {
        self.require_hq()?;
        state.hq_read(work).await.in_lang(self.lang)
    }

    /// Fails with the forbidden page unless the user may open headquarters' pages.
    pub fn require_hq(&self) -> Result<(), PageError> {
        if self.is_hq() { Ok(()) } else { Err(self.forbidden(Refusal::Role)) }
    }

    /// Checks a submitted form's CSRF token. An empty token never matches (a device's
    /// `WebUser` has none).
    pub fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        if !self.csrf.is_empty() && constant_time_eq(self.csrf.as_bytes(), submitted.as_bytes()) {
            Ok(())
        } else {
            Err(self.forbidden(Refusal::StaleForm))
        }
    }

    /// The forbidden page for this user, saying `why`.
    pub fn refuse(&self, why: Refusal) -> PageError {
        self.forbidden(why)
    }

    /// The forbidden page for this user: its sign-out form carries their CSRF token.
    fn forbidden(&self, why: Refusal) -> PageError {
        let csrf = Some(self.csrf.clone()).filter(|c| !c.is_empty());
        PageError::Forbidden { lang: self.lang, csrf, why }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn token_hash(token: &str) -> Vec<u8> {
    crate::auth::hash_token(token)
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Opens a session for `user_id`; returns the cookie token (shown once, stored hashed).
pub fn create_session(
    db: &dyn SessionStore,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<String, ServerError> {
    let token = random_hex();
    db.open_session(&NewSession {
        session_hash: &token_hash(&token),
        user_id,
        csrf_token: &random_hex(),
        created_at: now,
        expires_at: now.checked_add_signed(Duration::seconds(SESSION_TTL_S)).unwrap_or(now),
    })?;
    Ok(token)
}

/// The user, role and CSRF token of a live session.
pub fn session_user(
    db: &dyn SessionStore,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(String, Role, String)>, ServerError> {
    Ok(db
        .live_session(&token_hash(token), now)?
        .map(|live| (live.user_id, live.role, live.csrf_token)))
}

/// Ends a session.
pub fn end_session(db: &dyn SessionStore, token: &str) -> Result<(), ServerError> {
    Ok(db.end_session(&token_hash(token))?)
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The language of a request: its cookie, Chinese by default.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_code(cookie(headers, LANG_COOKIE).as_deref())
}

/// The signed-in user of a request, if its session cookie is live.
pub async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<WebUser>, ServerError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let lang = lang_of(headers);
    let id = crate::http::edge::caller::credential_id(&token);
    let found = state.readers().read(move |c| session_user(c.db(), &token, Utc::now())).await?;
    let Some((user_id, role, csrf)) = found else { return Ok(None) };
    state.edge().rates.authenticated(id, &user_id)?;
    let clock = super::layout::Clock::of(state.policy());
    Ok(Some(WebUser { user_id, role, csrf, lang, clock }))
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let lang = lang_of(&parts.headers);
        match signed_in(state, &parts.headers).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => {
                // The page with its query (filters), so signing in comes back to it as it was.
                let uri = &parts.uri;
                let next =
                    uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.to_string());
                Err(PageError::SignIn { next })
            }
            Err(error) => Err(PageError::Server(error, lang)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let hash = hash_password("demo-hq-01").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("demo-hq-01"));
        assert!(verify_password(&hash, "demo-hq-01"));
        assert!(!verify_password(&hash, "demo-hq-02"));
        assert!(!verify_password("not a hash", "demo-hq-01"));
        assert_ne!(hash, hash_password("demo-hq-01").unwrap(), "salted");
        let demo = hash_demo_password("demo-hq-01").unwrap();
        assert!(demo.starts_with("$argon2id$") && demo.contains("m=8,t=1,p=1"), "{demo}");
        assert!(verify_password(&demo, "demo-hq-01") && !verify_password(&demo, "demo-hq-02"));
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "kam_lang=en; kam_session_x=1; kam_session=abc".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(lang_of(&headers), Lang::En);
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new_password("1234567").is_err());
        assert!(check_new_password("12345678").is_ok());
    }
}
