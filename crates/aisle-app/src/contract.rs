//! The UI contract, `ui/src/contract.ts`, generated from the Rust types the UI sees: the
//! [`crate::views`], [`ErrorCode`] and [`CommandError`], and the core's `Role`, decisions and
//! reasons. Test-only: the `ts-rs` derives sit behind `cfg(test)`, so nothing shipped
//! carries them.
//!
//! The test regenerates the file in memory and fails when the checked-in copy differs, so a
//! Rust view cannot change without the UI's types changing with it (and `tsc` then names
//! every screen the change breaks). To regenerate:
//!
//! ```text
//! AISLE_WRITE_CONTRACT=1 cargo test -p aisle-app contract
//! ```

use crate::error::{CommandError, ErrorCode};
use crate::views::*;
use aisle_core::event::{CountDecision, ShortReason};
use aisle_core::Role;
use ts_rs::{Config, TS};

/// The command that rewrites the file, for the failure message.
const REGENERATE: &str = "AISLE_WRITE_CONTRACT=1 cargo test -p aisle-app contract";

/// The checked-in file, relative to this crate.
const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/contract.ts");

/// One `export type` (with its doc comment) per type.
fn declaration<T: TS + 'static>(cfg: &Config) -> String {
    let docs = T::docs().unwrap_or_default();
    format!("{docs}export {}\n", T::decl(cfg))
}

/// A list of words as a TypeScript array, one word a line.
fn words<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let lines: String = words
        .into_iter()
        .map(|word| format!("  {word:?},\n"))
        .collect();
    format!("[\n{lines}]")
}

/// The whole of `ui/src/contract.ts`.
pub fn contract_ts() -> String {
    // Every integer the UI sees (quantities, milliseconds) fits a JavaScript number.
    let cfg = Config::new().with_large_int("number");
    let mut out = format!(
        "// GENERATED from the Rust types by `{REGENERATE}`; do not edit.\n\
         // The shapes of docs/desktop-commands.md: field names are the JSON names, ids are\n\
         // UUID strings, quantities are integers in the item's base unit, dates are\n\
         // `YYYY-MM-DD`, times are milliseconds. Helpers that are not Rust types live in\n\
         // contract-extra.ts.\n\n"
    );
    out += &format!(
        "/** Every `code` a command may reject with (`ErrorCode` in crates/aisle-app). */\n\
         export const ERROR_CODES = {} as const;\n\n\
         export type ErrorCode = (typeof ERROR_CODES)[number];\n\n",
        words(ErrorCode::ALL.iter().map(|code| code.as_str()))
    );
    out += &format!(
        "/** The keys that may end a keyboard-wedge scan. */\n\
         export type Terminator = {};\n\n",
        TERMINATORS.map(|word| format!("{word:?}")).join(" | ")
    );
    let declarations = [
        declaration::<CommandError>(&cfg),
        declaration::<Role>(&cfg),
        declaration::<CountDecision>(&cfg),
        declaration::<ShortReason>(&cfg),
        declaration::<ProfileView>(&cfg),
        declaration::<UserView>(&cfg),
        declaration::<DemoUserView>(&cfg),
        declaration::<AppStatus>(&cfg),
        declaration::<SessionView>(&cfg),
        declaration::<EnrollArgs>(&cfg),
        declaration::<SwitchArgs>(&cfg),
        declaration::<SignInArgs>(&cfg),
        declaration::<SessionArgs>(&cfg),
        declaration::<IdleTimeoutArgs>(&cfg),
        declaration::<RawArgs>(&cfg),
        declaration::<LocationView>(&cfg),
        declaration::<ItemView>(&cfg),
        declaration::<Resolved>(&cfg),
        declaration::<RecordedView>(&cfg),
        declaration::<CountedView>(&cfg),
        declaration::<ReceiveArgs>(&cfg),
        declaration::<MoveArgs>(&cfg),
        declaration::<CountArgs>(&cfg),
        declaration::<PickArgs>(&cfg),
        declaration::<ShortPickArgs>(&cfg),
        declaration::<PutBackArgs>(&cfg),
        declaration::<PutBackView>(&cfg),
        declaration::<ExpectedReceiptArgs>(&cfg),
        declaration::<ExpectedReceiptView>(&cfg),
        declaration::<ExpectedLineView>(&cfg),
        declaration::<OpenPickListArgs>(&cfg),
        declaration::<PickListSummaryView>(&cfg),
        declaration::<PickLineView>(&cfg),
        declaration::<PickListView>(&cfg),
        declaration::<CountTaskView>(&cfg),
        declaration::<RequestCountArgs>(&cfg),
        declaration::<ReviewArgs>(&cfg),
        declaration::<RecordAgainArgs>(&cfg),
        declaration::<HistoryEntry>(&cfg),
        declaration::<StockRowView>(&cfg),
        declaration::<LotStockView>(&cfg),
        declaration::<StockAtArgs>(&cfg),
        declaration::<LookupView>(&cfg),
        declaration::<VarianceView>(&cfg),
        declaration::<DiscrepancyView>(&cfg),
        declaration::<QuarantinedView>(&cfg),
        declaration::<HistoryArgs>(&cfg),
        declaration::<HistoryPageView>(&cfg),
        declaration::<ItemArgs>(&cfg),
        declaration::<StockPoint>(&cfg),
        declaration::<SyncStatusView>(&cfg),
        declaration::<ProgressView>(&cfg),
        declaration::<UpdateView>(&cfg),
        declaration::<ScannerSettings>(&cfg),
    ];
    out += &declarations.join("\n");
    out
}

#[test]
fn the_checked_in_ui_contract_is_generated_from_the_rust_types() {
    let generated = contract_ts();
    if std::env::var_os("AISLE_WRITE_CONTRACT").is_some() {
        std::fs::write(PATH, &generated).expect("write ui/src/contract.ts");
        return;
    }
    let checked_in = std::fs::read_to_string(PATH).expect("ui/src/contract.ts exists");
    assert!(
        checked_in == generated,
        "ui/src/contract.ts is stale: a Rust type the UI sees changed. Regenerate it with\n\n    \
         {REGENERATE}\n\nthen run `cd ui && npm run build && npm test`"
    );
}

#[test]
fn the_contract_lists_every_error_code_and_role() {
    let generated = contract_ts();
    for code in ErrorCode::ALL {
        assert!(
            generated.contains(&format!("{:?}", code.as_str())),
            "{code} is missing from the generated ERROR_CODES"
        );
    }
    assert!(
        generated.contains(r#"export type Role = "picker" | "manager" | "admin";"#),
        "the UI's Role has every role, admin included:\n{generated}"
    );
}
