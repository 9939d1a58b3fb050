//! PINs: the argon2id cost they are hashed at, the hash itself, and a tenant's PIN policy
//! (the fewest digits each role's PIN may have). The device store and the server both use
//! this crate, so neither has to link the other to hash or check a PIN.
//!
//! A device needs a verifier to sign people in offline, so whoever steals a device file
//! can try PINs against the hashes in it at leisure. What limits that is the cost of one
//! try, set here once ([`PinCost::PRODUCTION`], measured with `cargo bench -p aisle-store
//! --bench pin` to be about 250 ms per verify on a warehouse PC), and the length of the PINs
//! that matter most (managers and admins, [`PinPolicy`]). A PIN itself is never stored,
//! logged or echoed in an error.
//!
//! This crate is values and arithmetic only: it must never open a database, read or write a
//! file, or touch the OS keyring. Where a hash or a policy is kept is its caller's business.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

/// The argon2id cost settings a PIN is hashed with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PinCost {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl PinCost {
    /// The cost every PIN is hashed at in production: 128 MiB and 3 passes, 254 ms per
    /// verify on this project's 2-core reference machine at a load average of 3.8 (`cargo
    /// bench -p aisle-store --bench pin`), the measured setting closest to the 250 ms a
    /// sign-in can afford; argon2's default (19 MiB, 2 passes) took 22 ms in the same run.
    /// The figures move with the machine's load (up to 2.7x under parallel compiles).
    pub const PRODUCTION: PinCost = PinCost::new(131_072, 3, 1);

    /// A cost low enough that test suites which hash hundreds of PINs stay fast. Only the
    /// `test-pin-cost` feature, which only dev-dependencies turn on, makes it the cost in
    /// force.
    pub const TEST: PinCost = PinCost::new(256, 1, 1);

    pub const fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        Self {
            memory_kib,
            iterations,
            parallelism,
        }
    }

    /// The cost new hashes are made at, and the least a hash made elsewhere (by an ERP) must
    /// have: [`PinCost::PRODUCTION`], or [`PinCost::TEST`] in a build for tests.
    pub const fn in_force() -> PinCost {
        if cfg!(feature = "test-pin-cost") {
            Self::TEST
        } else {
            Self::PRODUCTION
        }
    }

    /// True when a hash of this cost takes at least as much work to check as `minimum`:
    /// each of memory and passes at least the minimum's.
    pub fn at_least(self, minimum: PinCost) -> bool {
        self.memory_kib >= minimum.memory_kib && self.iterations >= minimum.iterations
    }

    fn hasher(self) -> Result<Argon2<'static>, PinError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|error| PinError::BadCost(error.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// An argon2id PIN hash in PHC string form. It can only be made by hashing a PIN or by
/// checking a string that claims to be one.
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash(String);

impl std::fmt::Debug for PinHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinHash(..)")
    }
}

impl PinHash {
    /// Hashes a PIN of 4 to 12 digits with argon2id, a random salt and the cost in force.
    pub fn new(pin: &str) -> Result<Self, PinError> {
        Self::with_cost(pin, PinCost::in_force())
    }

    /// Hashes a PIN at a given cost (the benchmark compares costs with it).
    pub fn with_cost(pin: &str, cost: PinCost) -> Result<Self, PinError> {
        if !is_pin_shaped(pin) {
            return Err(PinError::NotPinShaped);
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = cost
            .hasher()?
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|error| PinError::Hash(error.to_string()))?;
        Ok(Self(hash.to_string()))
    }

    /// Accepts a hash made elsewhere (the server), if it is an argon2id PHC string.
    pub fn from_phc(phc: &str) -> Result<Self, PinError> {
        let parsed = PasswordHash::new(phc).map_err(|error| PinError::NotPhc(error.to_string()))?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(PinError::NotArgon2id(parsed.algorithm.to_string()));
        }
        Ok(Self(phc.to_string()))
    }

    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// The cost this hash was made at, read from its PHC parameters.
    pub fn cost(&self) -> Option<PinCost> {
        let parsed = PasswordHash::new(&self.0).ok()?;
        let params = Params::try_from(&parsed).ok()?;
        Some(PinCost::new(
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
        ))
    }

    /// Checks a typed PIN; the work done is the hash's own cost, whatever is in force now.
    pub fn verify(&self, pin: &str) -> bool {
        PasswordHash::new(&self.0).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &hash)
                .is_ok()
        })
    }
}

/// 4 to 12 ASCII digits.
pub fn is_pin_shaped(pin: &str) -> bool {
    (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// A tenant's PIN policy: the fewest digits a picker's PIN, and a manager's or admin's PIN,
/// may have. The server refuses shorter plain PINs; a device refuses to sign in a manager or
/// admin whose typed PIN is shorter (a hash cannot be measured, but the PIN typed can).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinPolicy {
    pub picker_min_digits: u8,
    pub manager_min_digits: u8,
}

impl Default for PinPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl PinPolicy {
    /// What a tenant starts with: 4 digits for pickers, 6 for managers and admins.
    pub const DEFAULT: PinPolicy = PinPolicy {
        picker_min_digits: 4,
        manager_min_digits: 6,
    };

    /// A policy, if each minimum is 4 to 12 and a manager's is no shorter than a picker's.
    pub fn new(picker_min_digits: u8, manager_min_digits: u8) -> Result<Self, String> {
        if !(4..=12).contains(&picker_min_digits) || !(4..=12).contains(&manager_min_digits) {
            return Err("each PIN minimum is 4 to 12 digits".into());
        }
        if manager_min_digits < picker_min_digits {
            return Err("a manager's PIN minimum cannot be shorter than a picker's".into());
        }
        Ok(Self {
            picker_min_digits,
            manager_min_digits,
        })
    }

    /// The fewest digits for a role named as on the wire (`picker`, `manager`, `admin`).
    pub fn min_digits_for(self, elevated: bool) -> u8 {
        if elevated {
            self.manager_min_digits
        } else {
            self.picker_min_digits
        }
    }
}

/// Why a PIN could not be hashed, or a string is not a PIN hash. The message never holds
/// the PIN itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("a PIN is 4 to 12 digits")]
    NotPinShaped,
    #[error("bad PIN cost: {0}")]
    BadCost(String),
    #[error("cannot hash PIN: {0}")]
    Hash(String),
    #[error("not a PHC hash: {0}")]
    NotPhc(String),
    #[error("PIN hashes must be argon2id, not {0}")]
    NotArgon2id(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_reports_the_cost_it_was_made_at() {
        let hash = PinHash::with_cost("1234", PinCost::TEST).expect("hash");
        assert_eq!(hash.cost(), Some(PinCost::TEST));
        assert!(hash.verify("1234"));
        assert!(!hash.verify("1235"));
        assert!(!PinCost::TEST.at_least(PinCost::PRODUCTION));
        assert!(PinCost::PRODUCTION.at_least(PinCost::PRODUCTION));
    }

    #[test]
    fn policies_keep_managers_at_least_as_long_as_pickers() {
        assert_eq!(PinPolicy::new(4, 6), Ok(PinPolicy::DEFAULT));
        assert!(PinPolicy::new(6, 4).is_err());
        assert!(PinPolicy::new(3, 6).is_err());
        assert!(PinPolicy::new(4, 13).is_err());
    }
}
