//! The device store's side of PINs: the tenant's PIN policy as last synced, kept in the
//! store's settings. Hashing, checking and the policy's rules live in `aisle-pin`, which the
//! server uses too; they are re-exported here so the store's callers keep one path.

use crate::StoreError;
pub use aisle_pin::{is_pin_shaped, PinCost, PinError, PinHash, PinPolicy};

impl From<PinError> for StoreError {
    fn from(error: PinError) -> Self {
        StoreError::Invalid(error.to_string())
    }
}

/// The store setting that holds the tenant's PIN policy, as synced with master data.
const POLICY_META_KEY: &str = "pin.policy";

impl crate::Store {
    /// The tenant's PIN policy as last synced; [`PinPolicy::DEFAULT`] until one is.
    pub fn pin_policy(&self) -> Result<PinPolicy, StoreError> {
        Ok(self
            .meta(POLICY_META_KEY)?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(PinPolicy::DEFAULT))
    }

    /// Keeps the tenant's PIN policy, from the server's master data.
    pub fn set_pin_policy(&self, policy: PinPolicy) -> Result<(), StoreError> {
        let text = serde_json::to_string(&policy).map_err(|error| {
            StoreError::Invalid(format!("cannot write the PIN policy: {error}"))
        })?;
        self.set_meta(POLICY_META_KEY, &text)
    }
}
