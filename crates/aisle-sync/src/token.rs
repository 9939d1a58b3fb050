//! The device token and where it is kept.
//!
//! A [`Token`] never prints: its `Debug` is redacted and it has no `Display`, so it cannot
//! reach a log line or an error message by accident. It is kept in the OS keyring
//! ([`KeyringTokenStore`]: Secret Service on Linux, Keychain on macOS, Credential Manager
//! on Windows) under the profile's name, never in SQLite or a config file.
//! [`MemoryTokenStore`] is for unit tests and tools that must not touch the keyring.

use crate::SyncError;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// A bearer token. Read it only to put it in an `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The secret itself, for the `Authorization` header and the keyring only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(redacted)")
    }
}

/// Where device tokens are kept, by profile name.
pub trait TokenStore: Send + Sync {
    fn save(&self, profile: &str, token: &Token) -> Result<(), SyncError>;
    /// The profile's token, or `None` if it has none.
    fn load(&self, profile: &str) -> Result<Option<Token>, SyncError>;
    /// Forgets the profile's token (e.g. when the device is removed); absent is fine.
    fn delete(&self, profile: &str) -> Result<(), SyncError>;
}

/// The OS keyring, with one entry per profile under a service name.
#[derive(Clone, Debug)]
pub struct KeyringTokenStore {
    service: String,
}

impl KeyringTokenStore {
    /// The service name Aisle desktop uses.
    pub const SERVICE: &'static str = "aisle";

    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }
}

impl Default for KeyringTokenStore {
    fn default() -> Self {
        Self::new(Self::SERVICE)
    }
}

/// The keyring's errors carry no secret, only what failed.
fn keyring_error(error: keyring::Error) -> SyncError {
    SyncError::Keyring(error.to_string())
}

/// Whether the Secret Service dropped a call without answering: its daemon went away in the
/// middle of it (restarted, or replaced by the session bus's activation). D-Bus says so in
/// these words; anything else (no entry, a locked keyring, access denied) is not retried.
fn dropped_by_the_service(error: &keyring::Error) -> bool {
    let keyring::Error::PlatformFailure(inner) = error else {
        return false;
    };
    let text = inner.to_string();
    [
        "disconnected from message bus",
        "NoReply",
        "did not receive a reply",
    ]
    .iter()
    .any(|words| text.contains(words))
}

/// Runs one keyring call, and once more after a short pause when the Secret Service dropped
/// it, so a keyring daemon restarting under the app does not fail an enrollment or a start.
fn with_keyring<T>(
    mut call: impl FnMut() -> Result<T, keyring::Error>,
) -> Result<T, keyring::Error> {
    match call() {
        Err(error) if dropped_by_the_service(&error) => {
            tracing::warn!(%error, "the Secret Service dropped a call; trying once more");
            std::thread::sleep(std::time::Duration::from_millis(250));
            call()
        }
        other => other,
    }
}

impl TokenStore for KeyringTokenStore {
    fn save(&self, profile: &str, token: &Token) -> Result<(), SyncError> {
        with_keyring(|| keyring::Entry::new(&self.service, profile)?.set_password(token.expose()))
            .map_err(keyring_error)
    }

    fn load(&self, profile: &str) -> Result<Option<Token>, SyncError> {
        match with_keyring(|| keyring::Entry::new(&self.service, profile)?.get_password()) {
            Ok(secret) => Ok(Some(Token::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(keyring_error(error)),
        }
    }

    fn delete(&self, profile: &str) -> Result<(), SyncError> {
        match with_keyring(|| keyring::Entry::new(&self.service, profile)?.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(keyring_error(error)),
        }
    }
}

/// Tokens in a map: for tests and tools only, never for a real device.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<HashMap<String, Token>>,
}

impl TokenStore for MemoryTokenStore {
    fn save(&self, profile: &str, token: &Token) -> Result<(), SyncError> {
        self.tokens
            .lock()
            .expect("token map lock")
            .insert(profile.to_owned(), token.clone());
        Ok(())
    }

    fn load(&self, profile: &str) -> Result<Option<Token>, SyncError> {
        Ok(self
            .tokens
            .lock()
            .expect("token map lock")
            .get(profile)
            .cloned())
    }

    fn delete(&self, profile: &str) -> Result<(), SyncError> {
        self.tokens.lock().expect("token map lock").remove(profile);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(text: &str) -> keyring::Error {
        keyring::Error::PlatformFailure(text.to_owned().into())
    }

    #[test]
    fn only_a_call_the_secret_service_dropped_is_tried_again() {
        let dropped = platform(
            "DBus error: Message recipient disconnected from message bus without replying",
        );
        assert!(dropped_by_the_service(&dropped));
        assert!(!dropped_by_the_service(&keyring::Error::NoEntry));
        assert!(!dropped_by_the_service(&platform(
            "the collection is locked"
        )));
        let mut calls = 0;
        let answer = with_keyring(|| {
            calls += 1;
            if calls == 1 {
                Err(platform("org.freedesktop.DBus.Error.NoReply"))
            } else {
                Ok("secret")
            }
        });
        assert_eq!((answer.ok(), calls), (Some("secret"), 2));
        let mut calls = 0;
        let refused: Result<(), _> = with_keyring(|| {
            calls += 1;
            Err(platform("access denied"))
        });
        assert!(refused.is_err());
        assert_eq!(calls, 1, "a refusal is not retried");
    }

    #[test]
    fn a_token_never_prints() {
        let token = Token::new("aisle_0123456789abcdef".into());
        let shown = format!("{token:?} {:?}", Some(&token));
        assert!(
            !shown.contains("0123"),
            "debug output must not contain the secret: {shown}"
        );
    }
}
