//! `aisle-server webhook …`: a tenant's ERP webhook endpoints (docs/protocol.md, "ERP
//! integration"). `add` checks the URL as the delivery worker will (https, no private or
//! metadata address, resolved now) and prints the signing secret once.

use aisle_server::registry::WebhookId;
use aisle_server::webhooks::sign::Secret;
use aisle_server::webhooks::target::TargetPolicy;
use aisle_server::Registry;
use clap::Subcommand;
use std::io::Write;

/// How long a rotated-out secret keeps signing, by default: a day, for the ERP's side to
/// take the new one.
const DEFAULT_OVERLAP_HOURS: u64 = 24;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint; prints its id and its signing secret (`whsec_…`), once.
    #[command(
        after_help = "Example:\n  aisle-server webhook add acme --url https://erp.example.com/aisle --event goods.received --event pick_list.completed\n\nThe URL must be https and resolve to public addresses only; --allow-range lets a LAN range\nthrough, --allow-http-loopback an ERP connector on this machine. Types: goods.received,\npick_list.completed, pick_list.cancelled, stock.adjusted, discrepancy.opened,\ndiscrepancy.closed (none: every type)."
    )]
    Add {
        /// Tenant name or id.
        tenant: String,
        /// Where deliveries are POSTed.
        #[arg(long)]
        url: String,
        /// A message type the endpoint takes; repeat for several; none: every type.
        #[arg(long = "event", value_name = "TYPE")]
        events: Vec<String>,
        /// Allow plain http to a loopback address (an ERP connector on this machine).
        #[arg(long)]
        allow_http_loopback: bool,
        /// Allow addresses in this range although they are not public (e.g. 10.20.0.0/16).
        #[arg(long = "allow-range", value_name = "CIDR")]
        allow_ranges: Vec<ipnet::IpNet>,
    },
    /// List a tenant's endpoints: id, state, types, URL (never the secrets).
    List {
        /// Tenant name or id.
        tenant: String,
    },
    /// Give an endpoint a new secret, printed once; the old one keeps signing too for the
    /// overlap, so the ERP can switch without losing a delivery.
    Rotate {
        id: WebhookId,
        /// Hours the old secret keeps signing.
        #[arg(long, default_value_t = DEFAULT_OVERLAP_HOURS)]
        overlap_hours: u64,
    },
    /// Stop deliveries to an endpoint; messages wait for it in the feed.
    Disable {
        id: WebhookId,
        /// Why, for whoever reads `webhook list`.
        #[arg(long, default_value = "disabled by the operator")]
        reason: String,
    },
    /// Resume deliveries to an endpoint, from the first message it has not taken.
    Enable { id: WebhookId },
}

/// A new secret from the operating system's random source.
fn new_secret() -> Secret {
    Secret::from_key(aisle_server::random_bytes::<32>())
}

pub fn run(registry: &dyn Registry, command: WebhookCommand, now_ms: i64) -> anyhow::Result<()> {
    match command {
        WebhookCommand::Add {
            tenant,
            url,
            events,
            allow_http_loopback,
            allow_ranges,
        } => {
            let tenant_id = registry.resolve_tenant(&tenant)?;
            aisle_server::webhooks::check_types(&events).map_err(anyhow::Error::msg)?;
            let policy = TargetPolicy {
                allow_http_loopback,
                allowed_ranges: allow_ranges,
            };
            let checked = policy.check_url(&url)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(policy.connect_addrs(&checked))?;
            let secret = new_secret();
            let id = registry.add_webhook(tenant_id, checked.as_str(), &events, &secret, now_ms)?;
            let mut stdout = std::io::stdout();
            writeln!(stdout, "{id}\t{}", secret.expose())?;
            stdout.flush()?;
            eprintln!(
                "webhook {id} for {tenant}: give the ERP its secret now, it is not shown again"
            );
        }
        WebhookCommand::List { tenant } => {
            let tenant = registry.resolve_tenant(&tenant)?;
            for hook in registry.list_webhooks(tenant)? {
                let state = match (&hook.enabled, &hook.disabled_reason) {
                    (true, _) => "enabled".to_owned(),
                    (false, Some(reason)) => format!("disabled ({reason})"),
                    (false, None) => "disabled".to_owned(),
                };
                let types = if hook.event_types.is_empty() {
                    "*".to_owned()
                } else {
                    hook.event_types.join(" ")
                };
                println!("{}\t{state}\t{types}\t{}", hook.id, hook.url);
            }
        }
        WebhookCommand::Rotate { id, overlap_hours } => {
            let secret = new_secret();
            let until_ms = now_ms.saturating_add((overlap_hours as i64).saturating_mul(3_600_000));
            if !registry.rotate_webhook(id, &secret, until_ms, now_ms)? {
                anyhow::bail!("no webhook {id}");
            }
            let mut stdout = std::io::stdout();
            writeln!(stdout, "{}", secret.expose())?;
            stdout.flush()?;
            eprintln!(
                "webhook {id}: new secret above, shown once; the old one signs too for {overlap_hours} h"
            );
        }
        WebhookCommand::Disable { id, reason } => {
            if !registry.set_webhook_enabled(id, false, Some(&reason), now_ms)? {
                anyhow::bail!("no webhook {id}");
            }
            println!("disabled {id}");
        }
        WebhookCommand::Enable { id } => {
            if !registry.set_webhook_enabled(id, true, None, now_ms)? {
                anyhow::bail!("no webhook {id}");
            }
            println!("enabled {id}");
        }
    }
    Ok(())
}
