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

    fn entry(&self, profile: &str) -> Result<keyring::Entry, SyncError> {
        keyring::Entry::new(&self.service, profile).map_err(keyring_error)
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

impl TokenStore for KeyringTokenStore {
    fn save(&self, profile: &str, token: &Token) -> Result<(), SyncError> {
        self.entry(profile)?
            .set_password(token.expose())
            .map_err(keyring_error)
    }

    fn load(&self, profile: &str) -> Result<Option<Token>, SyncError> {
        match self.entry(profile)?.get_password() {
            Ok(secret) => Ok(Some(Token::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(keyring_error(error)),
        }
    }

    fn delete(&self, profile: &str) -> Result<(), SyncError> {
        match self.entry(profile)?.delete_credential() {
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
