//! Updater keys as `tauri signer generate` makes them (minisign), a signer that writes what
//! `tauri signer sign` writes, and the check the Tauri updater runs (`minisign-verify`).
//! Shared with the desktop's end-to-end test (tests/e2e/updates.rs includes this file).

use base64::Engine as _;

/// Updater keys: the public half as the app is configured with it (base64 of minisign's
/// public key file), and a signer for the `.sig` the operator adds with a release.
pub struct UpdaterKeys {
    pub public: String,
    pair: minisign::KeyPair,
}

impl std::fmt::Debug for UpdaterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdaterKeys").finish_non_exhaustive()
    }
}

impl UpdaterKeys {
    pub fn generate() -> UpdaterKeys {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().expect("updater keys");
        let public_box = pair.pk.to_box().expect("public key box").to_string();
        UpdaterKeys {
            public: base64::engine::general_purpose::STANDARD.encode(public_box),
            pair,
        }
    }

    /// What `tauri signer sign` writes for `artifact`: base64 of the minisign signature file.
    pub fn sign(&self, artifact: &[u8]) -> String {
        let signature = minisign::sign(
            Some(&self.pair.pk),
            &self.pair.sk,
            std::io::Cursor::new(artifact),
            Some("aisle release"),
            None,
        )
        .expect("signed");
        base64::engine::general_purpose::STANDARD.encode(signature.to_string())
    }
}
