//! `aisle-server release add|list` and `aisle-server tenant set-updates`: the desktop
//! releases this server offers its PCs, and each tenant's channel, pin and rollout
//! (docs/protocol.md, "Updates").

use aisle_server::registry::{NewRelease, UpdatePolicy};
use aisle_server::Registry;
use anyhow::Context as _;
use std::path::PathBuf;

/// `release`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ReleaseCommand {
    /// Store a desktop release: its artifact (kept in the data directory, or in the
    /// PostgreSQL registry) and the Tauri updater's signature of it (`tauri signer sign`,
    /// with the updater keys; the server never holds the private key).
    #[command(
        after_help = "Example:\n  aisle-server release add --file Aisle_0.3.0_amd64.AppImage.tar.gz --signature Aisle_0.3.0_amd64.AppImage.tar.gz.sig --version 0.3.0 --target linux-x86_64 --channel stable\n  release 0.3.0 for linux-x86_64 on stable: 84213376 bytes, sha256 9f2c…"
    )]
    Add(AddArgs),
    /// List the stored releases: target, version, channel, size, sha256.
    #[command(after_help = "Example:\n  aisle-server release list")]
    List,
}

/// `release add`'s flags.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The artifact the updater downloads and installs.
    #[arg(long)]
    file: PathBuf,
    /// The artifact's `.sig` file from `tauri signer sign`.
    #[arg(long)]
    signature: PathBuf,
    /// Its version (semver: 0.3.0, 0.4.0-beta.1).
    #[arg(long)]
    version: String,
    /// Its platform: linux-x86_64, windows-x86_64, darwin-aarch64, darwin-x86_64.
    #[arg(long)]
    target: String,
    /// The channel it is offered on.
    #[arg(long, default_value = "stable")]
    channel: String,
    /// What changed, as the PCs' Settings screen shows it.
    #[arg(long, default_value = "")]
    notes: String,
}

/// `tenant set-updates`'s flags; flags not given keep their value.
#[derive(Debug, clap::Args)]
pub struct SetUpdatesArgs {
    /// Tenant name or id.
    tenant: String,
    /// The channel its PCs follow (stable, beta, …).
    #[arg(long)]
    channel: Option<String>,
    /// Offer this version (to PCs older than it) and nothing newer.
    #[arg(long, conflicts_with = "unpin")]
    pin: Option<String>,
    /// Follow the channel's newest release again.
    #[arg(long)]
    unpin: bool,
    /// The share of its PCs offered a release, 0 to 100; the same PCs at each check.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    rollout: Option<u8>,
}

pub fn run(registry: &dyn Registry, command: ReleaseCommand, now_ms: i64) -> anyhow::Result<()> {
    match command {
        ReleaseCommand::Add(args) => {
            let artifact = std::fs::read(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?;
            let signature = std::fs::read_to_string(&args.signature)
                .with_context(|| format!("reading {}", args.signature.display()))?;
            let file_name = args
                .file
                .file_name()
                .and_then(|name| name.to_str())
                .context("the artifact's path has no file name")?
                .to_owned();
            let release = registry.add_release(
                &NewRelease {
                    target: args.target,
                    version: args.version,
                    channel: args.channel,
                    file_name,
                    signature,
                    notes: args.notes,
                },
                &artifact,
                now_ms,
            )?;
            println!(
                "release {} for {} on {}: {} bytes, sha256 {}",
                release.version, release.target, release.channel, release.size, release.sha256
            );
        }
        ReleaseCommand::List => {
            for release in registry.releases()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    release.target, release.version, release.channel, release.size, release.sha256
                );
            }
        }
    }
    Ok(())
}

/// Sets a tenant's update policy; flags not given keep their value.
pub fn set_updates(
    registry: &dyn Registry,
    args: SetUpdatesArgs,
    now_ms: i64,
) -> anyhow::Result<()> {
    let tenant = registry.resolve_tenant(&args.tenant)?;
    let mut policy = registry.update_policy(tenant)?;
    if let Some(channel) = args.channel {
        policy.channel = channel;
    }
    if let Some(pin) = args.pin {
        policy.pin = Some(
            semver::Version::parse(&pin)
                .with_context(|| format!("--pin {pin:?} is not a semantic version"))?,
        );
    }
    if args.unpin {
        policy.pin = None;
    }
    if let Some(rollout) = args.rollout {
        policy.rollout_pct = rollout;
    }
    registry.set_update_policy(tenant, &policy, now_ms)?;
    let UpdatePolicy {
        channel,
        pin,
        rollout_pct,
    } = policy;
    println!(
        "{tenant}\tchannel: {channel}\tpin: {}\trollout: {rollout_pct}%",
        pin.map_or_else(|| "none".to_owned(), |pin| pin.to_string())
    );
    Ok(())
}
