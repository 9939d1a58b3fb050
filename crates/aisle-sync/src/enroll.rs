//! Enrollment: a server address and a one-time code become a device profile and a token.
//!
//! The token goes straight into the [`TokenStore`] (the OS keyring on a real device), keyed
//! by the profile's name; the [`DeviceProfile`] that is returned and may be saved anywhere
//! holds no secret. Plain `http://` is refused except to a loopback address, unless the
//! profile explicitly allows it (a lab network, say): a token must not cross a network in
//! the clear by accident.

use crate::client::{http_client, send};
use crate::token::{Token, TokenStore};
use crate::{SyncConfig, SyncError};
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use aisle_protocol::{EnrollRequest, EnrollResponse};
use aisle_store::{Profile, Store, StoreError};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// An enrolled device, as saved by the app. It holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceProfile {
    /// The profile's name, which is also the keyring entry of its token.
    pub name: String,
    pub server_url: String,
    /// Whether plain http to a non-loopback host was explicitly allowed.
    pub allow_insecure_http: bool,
    pub tenant: TenantId,
    pub warehouse: WarehouseId,
    pub device: DeviceId,
}

impl DeviceProfile {
    /// The store meta entry that keeps the profile beside the data it syncs.
    pub const META_KEY: &'static str = "sync.profile";

    /// The store profile (tenant and warehouse) this device writes.
    pub fn store_profile(&self) -> Profile {
        Profile {
            tenant: self.tenant,
            warehouse: self.warehouse,
        }
    }

    pub fn save_to(&self, store: &Store) -> Result<(), StoreError> {
        let json =
            serde_json::to_string(self).map_err(|error| StoreError::Invalid(error.to_string()))?;
        store.set_meta(Self::META_KEY, &json)
    }

    pub fn load_from(store: &Store) -> Result<Option<Self>, StoreError> {
        store
            .meta(Self::META_KEY)?
            .map(|json| {
                serde_json::from_str(&json).map_err(|error| StoreError::Corrupt(error.to_string()))
            })
            .transpose()
    }
}

/// Parses a server address and applies the transport policy: https anywhere, http only to
/// loopback unless `allow_insecure_http`. The result ends with `/` so paths join onto it.
pub fn check_server_url(server_url: &str, allow_insecure_http: bool) -> Result<Url, SyncError> {
    let bad = |reason: &str| SyncError::BadUrl {
        url: server_url.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(server_url.trim()).map_err(|error| bad(&error.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the address"));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?.to_owned();
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&host) => {}
        "http" => return Err(SyncError::InsecureUrl { host }),
        other => return Err(bad(&format!("scheme {other} is not http or https"))),
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// What the user typed to enroll this device.
#[derive(Clone, Debug)]
pub struct EnrollForm<'a> {
    pub server_url: &'a str,
    pub code: &'a str,
    pub device_name: &'a str,
    pub profile_name: &'a str,
    pub allow_insecure_http: bool,
}

/// Enrolls this device: `POST /v1/enroll`, then the token into `tokens` under the profile
/// name. The returned profile is for the app to keep (for example with
/// [`DeviceProfile::save_to`]).
pub async fn enroll(
    form: &EnrollForm<'_>,
    tokens: &dyn TokenStore,
    config: &SyncConfig,
) -> Result<DeviceProfile, SyncError> {
    let base = check_server_url(form.server_url, form.allow_insecure_http)?;
    let url = base.join("v1/enroll").expect("a relative path joins");
    let request = http_client(config)?.post(url).json(&EnrollRequest {
        code: form.code.to_owned(),
        device_name: form.device_name.to_owned(),
    });
    let answer = send(request, |_: &EnrollResponse| 0).await?.body;
    let profile = DeviceProfile {
        name: form.profile_name.to_owned(),
        server_url: base.to_string(),
        allow_insecure_http: form.allow_insecure_http,
        tenant: answer.tenant,
        warehouse: answer.warehouse,
        device: answer.device,
    };
    tokens.save(form.profile_name, &Token::new(answer.token))?;
    tracing::info!(tenant = %profile.tenant, warehouse = %profile.warehouse, device = %profile.device, profile = form.profile_name, "device enrolled");
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_is_refused_except_to_loopback_or_when_allowed() {
        for ok in [
            "https://sync.example.com",
            "http://127.0.0.1:8080",
            "http://127.5.0.1",
            "http://localhost:3000/",
            "http://[::1]:9000",
        ] {
            assert!(check_server_url(ok, false).is_ok(), "{ok} is allowed");
        }
        for refused in [
            "http://sync.example.com",
            "http://10.0.0.5:8080",
            "http://localhost.example.com",
        ] {
            assert!(
                matches!(
                    check_server_url(refused, false),
                    Err(SyncError::InsecureUrl { .. })
                ),
                "{refused} must be refused without explicit permission"
            );
            assert!(
                check_server_url(refused, true).is_ok(),
                "{refused} is allowed when the profile says so"
            );
        }
        for bad in ["ftp://x", "not a url", "https://user:secret@example.com"] {
            assert!(
                matches!(check_server_url(bad, true), Err(SyncError::BadUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_base_gets_a_trailing_slash_so_paths_append() {
        let base = check_server_url("https://example.com/aisle", false).expect("valid");
        assert_eq!(
            base.join("v1/enroll").expect("join").as_str(),
            "https://example.com/aisle/v1/enroll"
        );
    }
}
