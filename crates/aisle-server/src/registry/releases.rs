//! Desktop releases the server offers its PCs, and each tenant's update policy (registry
//! schema 8; docs/protocol.md, "Updates").
//!
//! The operator adds a release (`aisle-server release add`): an artifact, the Tauri
//! updater's signature of it (made with the updater keys, which never reach the server), a
//! version, a target (`linux-x86_64`) and a channel. A tenant follows a channel, may pin a
//! version, and may roll a release out to a share of its devices ([`UpdatePolicy`]). Which
//! release a device is offered is [`offer`], one pure function of the releases, the policy,
//! the device and its current version, so both registry backends answer alike. On SQLite
//! the artifact is a file in the data directory (`releases/<target>/<version>/<file>`); on
//! PostgreSQL it is in the database, in chunks (`crate::pg::registry::releases`).

use super::SqliteRegistry;
use crate::error::ServerError;
use aisle_core::ids::{DeviceId, TenantId};
use rusqlite::OptionalExtension;
use sha2::{Digest as _, Sha256};
use std::io::Write as _;
use std::path::PathBuf;

/// The largest artifact a release may have: a desktop installer is tens of megabytes.
pub const MAX_ARTIFACT_BYTES: u64 = 1024 * 1024 * 1024;

/// A stored release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub target: String,
    pub version: semver::Version,
    pub channel: String,
    pub file_name: String,
    pub size: u64,
    /// SHA-256 of the artifact, hex.
    pub sha256: String,
    /// The Tauri updater's signature of the artifact (base64 of a minisign signature).
    pub signature: String,
    pub notes: String,
    pub created_ms: i64,
}

/// What the operator gives for a new release.
#[derive(Clone, Debug)]
pub struct NewRelease {
    pub target: String,
    pub version: String,
    pub channel: String,
    pub file_name: String,
    pub signature: String,
    pub notes: String,
}

/// A tenant's update policy. The default: the stable channel, no pin, every device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdatePolicy {
    pub channel: String,
    /// Offer this version (when newer than the device's) and nothing newer.
    pub pin: Option<semver::Version>,
    /// The share of the tenant's devices offered the newest release, 0 to 100; which
    /// devices is fixed per device and release ([`in_rollout`]).
    pub rollout_pct: u8,
}

impl Default for UpdatePolicy {
    fn default() -> Self {
        Self {
            channel: "stable".to_owned(),
            pin: None,
            rollout_pct: 100,
        }
    }
}

/// Where a release's artifact is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Artifact {
    /// A file in the SQLite server's data directory.
    File(PathBuf),
    /// `n` chunks in the PostgreSQL registry, read one by one with `release_chunk`.
    Chunks { n: u32 },
}

/// Whether `value` is a plain name: 1-64 letters, digits, '-', '_' or '.', not starting with
/// '.' (it becomes part of a path on SQLite).
fn plain_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !value.starts_with('.')
}

fn check_name(what: &str, value: &str, example: &str) -> Result<(), ServerError> {
    if plain_name(value) {
        Ok(())
    } else {
        Err(ServerError::Invalid(format!(
            "{what} {value:?} must be 1-64 letters, digits, '-', '_' or '.'{example}"
        )))
    }
}

/// Checks a new release's fields and makes the row to store: its version parsed, the
/// artifact's size and SHA-256. Both backends store what this returns.
pub(crate) fn new_release(
    release: &NewRelease,
    artifact: &[u8],
    now_ms: i64,
) -> Result<Release, ServerError> {
    check_name("target", &release.target, " (linux-x86_64)")?;
    check_name("channel", &release.channel, " (stable)")?;
    check_name("the artifact's file name", &release.file_name, "")?;
    let version = semver::Version::parse(&release.version).map_err(|error| {
        ServerError::Invalid(format!(
            "version {:?} is not a semantic version (0.3.0): {error}",
            release.version
        ))
    })?;
    let size = artifact.len() as u64;
    if size == 0 || size > MAX_ARTIFACT_BYTES {
        return Err(ServerError::Invalid(format!(
            "the artifact must be 1 byte to {MAX_ARTIFACT_BYTES} bytes, got {size}"
        )));
    }
    if release.signature.trim().is_empty() || release.signature.len() > 4096 {
        return Err(ServerError::Invalid(
            "the signature must be the Tauri updater's .sig file (tauri signer sign)".to_owned(),
        ));
    }
    Ok(Release {
        target: release.target.clone(),
        version,
        channel: release.channel.clone(),
        file_name: release.file_name.clone(),
        size,
        sha256: hex::encode(Sha256::digest(artifact)),
        signature: release.signature.trim().to_owned(),
        notes: release.notes.clone(),
        created_ms: now_ms,
    })
}

/// Whether `device` is among the `rollout_pct` percent of devices offered `version`: a
/// hash of the device and the version, so a device's answer never flips between checks,
/// and each release picks its own devices.
pub fn in_rollout(device: DeviceId, version: &semver::Version, rollout_pct: u8) -> bool {
    let digest = Sha256::new()
        .chain_update(b"aisle-rollout-v1\n")
        .chain_update(device.as_bytes())
        .chain_update(version.to_string().as_bytes())
        .finalize();
    let bucket = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % 100;
    bucket < u64::from(rollout_pct.min(100))
}

/// The release to offer a device at `current` on `target`, if any: the newest of the
/// policy's channel for the target (or the pinned version), when newer than `current` and
/// the device is in the rollout. Never an older version: a pin below `current` offers
/// nothing.
pub fn offer<'r>(
    releases: &'r [Release],
    policy: &UpdatePolicy,
    target: &str,
    current: &semver::Version,
    device: DeviceId,
) -> Option<&'r Release> {
    let candidate = match &policy.pin {
        Some(pin) => releases
            .iter()
            .find(|release| release.target == target && &release.version == pin)?,
        None => releases
            .iter()
            .filter(|release| release.target == target && release.channel == policy.channel)
            .max_by(|a, b| a.version.cmp(&b.version))?,
    };
    (candidate.version > *current && in_rollout(device, &candidate.version, policy.rollout_pct))
        .then_some(candidate)
}

/// A stored row's version; a row that does not parse (written by hand) is an error.
pub(crate) fn parse_stored_version(version: &str) -> Result<semver::Version, ServerError> {
    semver::Version::parse(version).map_err(|error| {
        ServerError::Invalid(format!("stored release version {version:?}: {error}"))
    })
}

/// A policy's checks: a channel name and a percentage.
pub(crate) fn check_policy(policy: &UpdatePolicy) -> Result<(), ServerError> {
    check_name("channel", &policy.channel, "")?;
    if policy.rollout_pct > 100 {
        return Err(ServerError::Invalid(format!(
            "a rollout is 0 to 100 percent, got {}",
            policy.rollout_pct
        )));
    }
    Ok(())
}

impl SqliteRegistry {
    /// Stores a release: the artifact written to its file (synced, then renamed into place)
    /// before its row, so a row never names a missing or partial file.
    pub(super) fn add_release(
        &self,
        release: &NewRelease,
        artifact: &[u8],
        now_ms: i64,
    ) -> Result<Release, ServerError> {
        let stored = new_release(release, artifact, now_ms)?;
        let version = stored.version.to_string();
        if self.release(&stored.target, &version)?.is_some() {
            return Err(ServerError::Invalid(format!(
                "release {version} for {} exists; a release is never replaced, add a new version",
                stored.target
            )));
        }
        let dir = self.releases_dir.join(&stored.target).join(&version);
        std::fs::create_dir_all(&dir).map_err(ServerError::Io)?;
        let path = dir.join(&release.file_name);
        let partial = dir.join(format!(".{}.partial", release.file_name));
        let mut file = std::fs::File::create(&partial).map_err(ServerError::Io)?;
        file.write_all(artifact).map_err(ServerError::Io)?;
        file.sync_all().map_err(ServerError::Io)?;
        std::fs::rename(&partial, &path).map_err(ServerError::Io)?;
        self.conn().execute(
            "INSERT INTO releases (target, version, channel, file_name, size, sha256, signature,
                                   notes, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                stored.target,
                stored.version.to_string(),
                stored.channel,
                stored.file_name,
                stored.size as i64,
                stored.sha256,
                stored.signature,
                stored.notes,
                now_ms
            ],
        )?;
        Ok(stored)
    }

    /// Every release, newest version first within a target.
    pub(super) fn releases(&self) -> Result<Vec<Release>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT target, version, channel, file_name, size, sha256, signature, notes,
                    created_ms FROM releases",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, String>(6)?,
                row.get::<_, String>(7)?,
                row.get::<_, i64>(8)?,
            ))
        })?;
        let mut releases = Vec::new();
        for row in rows {
            let (target, version, channel, file_name, size, sha256, signature, notes, created_ms) =
                row?;
            releases.push(Release {
                target,
                version: parse_stored_version(&version)?,
                channel,
                file_name,
                size: size.max(0) as u64,
                sha256,
                signature,
                notes,
                created_ms,
            });
        }
        sort_releases(&mut releases);
        Ok(releases)
    }

    /// One release, by target and version.
    pub(super) fn release(
        &self,
        target: &str,
        version: &str,
    ) -> Result<Option<Release>, ServerError> {
        Ok(self
            .releases()?
            .into_iter()
            .find(|release| release.target == target && release.version.to_string() == version))
    }

    /// Where a release's artifact is: its file.
    pub(super) fn release_artifact(&self, release: &Release) -> Artifact {
        Artifact::File(
            self.releases_dir
                .join(&release.target)
                .join(release.version.to_string())
                .join(&release.file_name),
        )
    }

    /// `tenant`'s update policy (the default when none was set).
    pub(super) fn update_policy(&self, tenant: TenantId) -> Result<UpdatePolicy, ServerError> {
        let row = self
            .conn()
            .query_row(
                "SELECT channel, pin, rollout_pct FROM tenant_updates WHERE tenant = ?1",
                [tenant.as_bytes()],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, Option<String>>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()?;
        let Some((channel, pin, rollout_pct)) = row else {
            return Ok(UpdatePolicy::default());
        };
        Ok(UpdatePolicy {
            channel,
            pin: pin.as_deref().map(parse_stored_version).transpose()?,
            rollout_pct: rollout_pct.clamp(0, 100) as u8,
        })
    }

    /// Replaces `tenant`'s update policy.
    pub(super) fn set_update_policy(
        &self,
        tenant: TenantId,
        policy: &UpdatePolicy,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        check_policy(policy)?;
        if super::Registry::tenant(self, tenant)?.is_none() {
            return Err(ServerError::NotFound(format!("tenant {tenant}")));
        }
        self.conn().execute(
            "INSERT INTO tenant_updates (tenant, channel, pin, rollout_pct, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant) DO UPDATE SET channel = excluded.channel, pin = excluded.pin,
                 rollout_pct = excluded.rollout_pct, updated_ms = excluded.updated_ms",
            rusqlite::params![
                tenant.as_bytes(),
                policy.channel,
                policy.pin.as_ref().map(ToString::to_string),
                i64::from(policy.rollout_pct),
                now_ms
            ],
        )?;
        Ok(())
    }
}

/// Target by name, then newest version first.
pub(crate) fn sort_releases(releases: &mut [Release]) {
    releases.sort_by(|a, b| a.target.cmp(&b.target).then(b.version.cmp(&a.version)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(version: &str, channel: &str) -> Release {
        Release {
            target: "linux-x86_64".into(),
            version: semver::Version::parse(version).expect("version"),
            channel: channel.into(),
            file_name: "aisle.deb".into(),
            size: 1,
            sha256: String::new(),
            signature: "sig".into(),
            notes: String::new(),
            created_ms: 0,
        }
    }

    fn device(n: u8) -> DeviceId {
        DeviceId::new_v7(1, [n; 10])
    }

    #[test]
    fn the_newest_of_the_channel_is_offered_and_never_a_downgrade() {
        let releases = [
            release("0.2.0", "stable"),
            release("0.10.0", "stable"),
            release("0.11.0-beta.1", "beta"),
        ];
        let current = semver::Version::new(0, 1, 0);
        let policy = UpdatePolicy::default();
        let offered = offer(&releases, &policy, "linux-x86_64", &current, device(1));
        assert_eq!(
            offered.map(|r| r.version.to_string()).as_deref(),
            Some("0.10.0"),
            "0.10 after 0.2, as numbers"
        );
        assert!(offer(&releases, &policy, "windows-x86_64", &current, device(1)).is_none());
        let newest = semver::Version::new(0, 10, 0);
        assert!(offer(&releases, &policy, "linux-x86_64", &newest, device(1)).is_none());
        let beta = UpdatePolicy {
            channel: "beta".into(),
            ..UpdatePolicy::default()
        };
        assert_eq!(
            offer(&releases, &beta, "linux-x86_64", &current, device(1))
                .map(|r| r.channel.as_str()),
            Some("beta")
        );
        let pinned = UpdatePolicy {
            pin: Some(semver::Version::new(0, 2, 0)),
            ..UpdatePolicy::default()
        };
        assert_eq!(
            offer(&releases, &pinned, "linux-x86_64", &current, device(1))
                .map(|r| r.version.to_string()),
            Some("0.2.0".to_owned())
        );
        assert!(
            offer(&releases, &pinned, "linux-x86_64", &newest, device(1)).is_none(),
            "a pin below the device's version offers nothing"
        );
    }

    #[test]
    fn a_rollout_takes_a_stable_share_of_devices_per_release() {
        let version = semver::Version::new(0, 3, 0);
        let devices: Vec<DeviceId> = (0..200).map(device).collect();
        let chosen = |pct| {
            devices
                .iter()
                .filter(|d| in_rollout(**d, &version, pct))
                .count()
        };
        assert_eq!(chosen(0), 0);
        assert_eq!(chosen(100), 200);
        let half = chosen(50);
        assert!((60..=140).contains(&half), "about half: {half}");
        for d in &devices {
            assert_eq!(in_rollout(*d, &version, 50), in_rollout(*d, &version, 50));
            assert!(
                !in_rollout(*d, &version, 20) || in_rollout(*d, &version, 50),
                "a wider rollout keeps the devices it had"
            );
        }
        let other = semver::Version::new(0, 4, 0);
        assert_ne!(
            devices
                .iter()
                .map(|d| in_rollout(*d, &version, 50))
                .collect::<Vec<_>>(),
            devices
                .iter()
                .map(|d| in_rollout(*d, &other, 50))
                .collect::<Vec<_>>(),
            "each release picks its own devices"
        );
    }
}
