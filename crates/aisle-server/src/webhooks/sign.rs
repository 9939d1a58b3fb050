//! Signing a delivery per the Standard Webhooks specification: the signature is `v1,` and
//! the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` under the endpoint's
//! secret (`whsec_` and the base64 key). While a rotated-out secret is still in its
//! overlap, the header carries one signature per secret, separated by spaces, so a
//! receiver that has either secret accepts it.

use std::fmt;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// An endpoint's signing secret. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(whsec_…)")
    }
}

/// Why a secret or a signature could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("a webhook secret is `whsec_` and a base64 key of 24 to 64 bytes")]
    BadSecret,
    #[error("a webhook body must be UTF-8 JSON")]
    BodyNotUtf8,
    #[error("a delivery needs at least one secret")]
    NoSecret,
}

impl Secret {
    /// A new secret from 32 random bytes.
    pub fn from_key(key: [u8; 32]) -> Self {
        use base64::Engine as _;
        Self(format!(
            "{SECRET_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        ))
    }

    /// A stored or pasted secret, checked.
    pub fn parse(text: &str) -> Result<Self, SignError> {
        use base64::Engine as _;
        let key = text
            .strip_prefix(SECRET_PREFIX)
            .and_then(|key| base64::engine::general_purpose::STANDARD.decode(key).ok())
            .ok_or(SignError::BadSecret)?;
        if !(24..=64).contains(&key.len()) {
            return Err(SignError::BadSecret);
        }
        Ok(Self(text.to_owned()))
    }

    /// The secret's text, to store or to show the operator once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The three headers of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `webhook-id`: the message's id, the same on every retry, for the receiver to
    /// deduplicate.
    pub id: String,
    /// `webhook-timestamp`: seconds since the Unix epoch, of this attempt.
    pub timestamp: String,
    /// `webhook-signature`: `v1,…`, one per secret, space-separated.
    pub signature: String,
}

/// The headers for sending `body` as message `message_id` at `timestamp_secs`, signed with
/// each of `secrets` (the current one first).
pub fn sign(
    message_id: &str,
    timestamp_secs: i64,
    body: &[u8],
    secrets: &[&Secret],
) -> Result<SignedHeaders, SignError> {
    if secrets.is_empty() {
        return Err(SignError::NoSecret);
    }
    std::str::from_utf8(body).map_err(|_| SignError::BodyNotUtf8)?;
    let signatures = secrets
        .iter()
        .map(|secret| {
            standardwebhooks::Webhook::new(secret.expose())
                .map_err(|_| SignError::BadSecret)?
                .sign(message_id, timestamp_secs, body)
                .map_err(|_| SignError::BodyNotUtf8)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SignedHeaders {
        id: message_id.to_owned(),
        timestamp: timestamp_secs.to_string(),
        signature: signatures.join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use hmac::{Hmac, Mac};

    /// The signature computed with a second HMAC implementation, from the specification's
    /// text, not from the library that signs.
    fn independent(secret: &Secret, id: &str, timestamp: i64, body: &str) -> String {
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.expose().strip_prefix("whsec_").expect("prefix"))
            .expect("base64");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn the_signature_is_the_specifications_hmac_and_matches_its_published_example() {
        // The example in the Standard Webhooks specification (and the reference libraries'
        // tests).
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = r#"{"test": 2432232314}"#;
        let headers = sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body.as_bytes(),
            &[&secret],
        )
        .expect("signed");
        assert_eq!(
            headers.signature,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(
            headers.signature,
            independent(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body)
        );
        assert_eq!(headers.timestamp, "1614265330");
    }

    #[test]
    fn during_a_rotation_both_secrets_sign_and_each_signature_verifies_alone() {
        let (new, old) = (Secret::from_key([7; 32]), Secret::from_key([9; 32]));
        let body = r#"{"type":"goods.received"}"#;
        let headers = sign("msg_1", 1_700_000_000, body.as_bytes(), &[&new, &old]).expect("signed");
        let parts: Vec<&str> = headers.signature.split(' ').collect();
        assert_eq!(
            parts,
            [
                independent(&new, "msg_1", 1_700_000_000, body),
                independent(&old, "msg_1", 1_700_000_000, body)
            ],
            "one `v1,` signature per secret, the current one first"
        );
    }

    #[test]
    fn a_bad_secret_no_secret_and_a_binary_body_are_refused() {
        for bad in [
            "",
            "whsec_",
            "whsec_not base64!",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_AAAA",
        ] {
            assert_eq!(Secret::parse(bad), Err(SignError::BadSecret), "{bad:?}");
        }
        let secret = Secret::from_key([1; 32]);
        assert_eq!(sign("m", 1, b"{}", &[]), Err(SignError::NoSecret));
        assert_eq!(
            sign("m", 1, &[0xff, 0xfe], &[&secret]),
            Err(SignError::BodyNotUtf8)
        );
        assert_eq!(
            format!("{secret:?}"),
            "Secret(whsec_…)",
            "the key never reaches a log"
        );
    }
}
