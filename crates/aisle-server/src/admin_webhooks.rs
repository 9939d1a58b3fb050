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
    /// The tenant's delivery log, newest first: time, endpoint, feed position, attempt,
    /// outcome (delivered, retry, dead, disabled), HTTP status or error.
    Deliveries {
        /// Tenant name or id.
        tenant: String,
        /// Only attempts that did not deliver.
        #[arg(long)]
        failed: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send an endpoint's messages again, from a feed position on (a dead-lettered message's
    /// position, from `webhook deliveries --failed`).
    Replay {
        /// Tenant name or id.
        tenant: String,
        #[arg(long)]
        endpoint: WebhookId,
        /// The first feed position to send again.
        #[arg(long, default_value_t = 1)]
        from: u64,
    },
}

/// `serve`'s webhook delivery flags; each has its `AISLE_*` variable.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "ERP webhooks")]
pub struct WebhookServeArgs {
    /// Do not run the webhook delivery worker in this process. Several instances on one
    /// registry may all run it: each endpoint is leased to one worker at a time.
    #[arg(long, env = "AISLE_NO_WEBHOOK_WORKER")]
    no_webhook_worker: bool,
    /// Allow webhook URLs with plain http to a loopback address (an ERP connector on this
    /// machine).
    #[arg(long, env = "AISLE_WEBHOOK_ALLOW_HTTP_LOOPBACK")]
    webhook_allow_http_loopback: bool,
    /// Let webhook deliveries reach this non-public range (e.g. 10.20.0.0/16); repeat for
    /// several.
    #[arg(long = "webhook-allow-range", value_name = "CIDR")]
    webhook_allow_ranges: Vec<ipnet::IpNet>,
    /// The retry delays after a failed attempt, e.g. 5s,30s,2m,10m,1h (ms, s, m, h); after the last one a
    /// message is dead-lettered. Default: 5s,30s,2m,10m,30m,1h,2h,4h,8h,8h (about a day).
    #[arg(long, env = "AISLE_WEBHOOK_RETRIES", value_name = "DELAYS")]
    webhook_retries: Option<String>,
    /// Deliveries in flight at once for one tenant, all its endpoints together.
    #[arg(long, env = "AISLE_WEBHOOK_MAX_PER_TENANT", default_value_t = 4)]
    webhook_max_per_tenant: usize,
    /// Seconds one delivery attempt may take, connecting included, before it counts as
    /// failed and is retried.
    #[arg(long, env = "AISLE_WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    webhook_timeout_secs: u64,
}

impl WebhookServeArgs {
    /// The delivery configuration these flags give.
    pub fn config(&self) -> anyhow::Result<aisle_server::webhooks::worker::WebhookConfig> {
        use aisle_server::webhooks::schedule::RetrySchedule;
        let schedule = match &self.webhook_retries {
            Some(text) => RetrySchedule::parse(text)
                .map_err(|error| anyhow::anyhow!("--webhook-retries: {error}"))?,
            None => RetrySchedule::default(),
        };
        anyhow::ensure!(
            self.webhook_max_per_tenant > 0,
            "--webhook-max-per-tenant must be at least 1"
        );
        anyhow::ensure!(
            (1..=300).contains(&self.webhook_timeout_secs),
            "--webhook-timeout-secs must be 1 to 300"
        );
        Ok(aisle_server::webhooks::worker::WebhookConfig {
            enabled: !self.no_webhook_worker,
            policy: TargetPolicy {
                allow_http_loopback: self.webhook_allow_http_loopback,
                allowed_ranges: self.webhook_allow_ranges.clone(),
            },
            schedule,
            max_per_tenant: self.webhook_max_per_tenant,
            timeout: std::time::Duration::from_secs(self.webhook_timeout_secs),
            ..aisle_server::webhooks::worker::WebhookConfig::default()
        })
    }
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
        WebhookCommand::Deliveries {
            tenant,
            failed,
            limit,
        } => {
            let tenant = registry.resolve_tenant(&tenant)?;
            for row in registry.webhook_deliveries(tenant, failed, limit)? {
                let answer = match (row.status, &row.error) {
                    (Some(status), _) => status.to_string(),
                    (None, Some(error)) => error.clone(),
                    (None, None) => String::new(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{answer}",
                    row.at_ms, row.endpoint, row.position, row.attempt, row.outcome
                );
            }
        }
        WebhookCommand::Replay {
            tenant,
            endpoint,
            from,
        } => {
            let tenant = registry.resolve_tenant(&tenant)?;
            match registry.webhook(endpoint)? {
                Some(row) if row.tenant == tenant => {}
                _ => anyhow::bail!("no webhook {endpoint} in this tenant"),
            }
            registry.replay_webhook(endpoint, from, now_ms)?;
            println!("webhook {endpoint}: sending again from position {from}");
        }
    }
    Ok(())
}
