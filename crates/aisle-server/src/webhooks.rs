//! ERP webhooks (issue 16, "Webhooks per the Standard Webhooks specification"): the parts
//! that decide, apart from where messages and endpoints are stored.
//!
//! - [`sign`]: the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, signed
//!   with the Standard Webhooks reference implementation (`standardwebhooks`), with every
//!   secret still in its rotation overlap;
//! - [`target`]: which URLs a tenant may point a webhook at, and which addresses a
//!   delivery may connect to (checked again at connect time, so a DNS answer that changes
//!   after the URL was added cannot reach a private or metadata address);
//! - [`schedule`]: the retry schedule and what an attempt's outcome leads to, as a pure
//!   function of the endpoint's state, so the delivery worker only executes it.
//!
//! Nothing here reads a database or the clock: times and randomness are passed in.

pub mod schedule;
pub mod sign;
pub mod target;
pub mod worker;

/// The business message types an endpoint may subscribe to (docs/protocol.md, "ERP
/// integration"). An endpoint with none takes every type.
pub const MESSAGE_TYPES: &[&str] = &[
    "goods.received",
    "pick_list.completed",
    "pick_list.cancelled",
    "stock.adjusted",
    "discrepancy.opened",
    "discrepancy.closed",
];

/// `types` checked against [`MESSAGE_TYPES`]; the error names the unknown one and the
/// known ones.
pub fn check_types(types: &[String]) -> Result<(), String> {
    match types
        .iter()
        .find(|name| !MESSAGE_TYPES.contains(&name.as_str()))
    {
        Some(unknown) => Err(format!(
            "unknown message type {unknown:?}; the types are: {}",
            MESSAGE_TYPES.join(", ")
        )),
        None => Ok(()),
    }
}
