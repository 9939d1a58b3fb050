//! [`Role`]: what a user of a warehouse may do, the one type every crate parses roles into.
//!
//! The device store, the sync engine, the server and the UI contract all name roles by the
//! same lowercase words (`picker`, `manager`, `admin`); this is the only place that spells
//! them. An admin may do everything a manager may.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Picker,
    Manager,
    Admin,
}

impl Role {
    /// Every role, in order of what it may do.
    pub const ALL: [Role; 3] = [Role::Picker, Role::Manager, Role::Admin];

    /// The word for the role on the wire, in the stores and in the UI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Picker => "picker",
            Self::Manager => "manager",
            Self::Admin => "admin",
        }
    }

    /// Whether the role may do what a manager may: managers and admins.
    pub const fn is_manager(self) -> bool {
        matches!(self, Self::Manager | Self::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that names no role.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role: picker, manager or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| UnknownRole(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_word_and_serde() {
        for role in Role::ALL {
            assert_eq!(
                role.as_str().parse::<Role>(),
                Ok(role),
                "{role} parses back"
            );
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::json!(role.as_str()),
                "serde and FromStr spell {role} the same"
            );
        }
    }

    #[test]
    fn unknown_words_are_refused_by_name() {
        let error = "Manager".parse::<Role>().unwrap_err();
        assert_eq!(error, UnknownRole("Manager".into()), "roles are lowercase");
        assert!(error.to_string().contains("\"Manager\""), "{error}");
    }

    #[test]
    fn admins_may_do_what_managers_may() {
        assert_eq!(
            Role::ALL.map(Role::is_manager),
            [false, true, true],
            "an admin never sees less than a manager"
        );
    }
}
