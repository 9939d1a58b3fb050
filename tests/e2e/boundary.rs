//! The desktop's own boundary, checked on the running app: a script in the page can call
//! only what `capabilities/main.json` grants, and the CSP keeps inline scripts from running
//! (docs/ARCHITECTURE.md).

use crate::driver::Ui;
use serde_json::{json, Value};

pub async fn only_granted_commands_and_no_inline_scripts(ui: &Ui) {
    let status = ui.invoke_raw("app_status", Value::Null).await;
    assert!(
        status.is_ok(),
        "app_status is granted to the main window, so the page may call it: {status:?}"
    );

    // A plugin command the app never uses and so never grants: closing the window.
    let close = ui
        .invoke_raw("plugin:window|close", json!({ "label": "main" }))
        .await;
    let refusal =
        close.expect_err("plugin:window|close is not in the capability, so it must be refused");
    assert!(
        refusal.contains("not allowed"),
        "the refusal comes from the ACL, not from the command failing: {refusal}"
    );
    // A command that exists but is not exposed this way at all: window-state's own commands.
    let save = ui
        .invoke_raw(
            "plugin:window-state|save_window_state",
            json!({ "flags": 0 }),
        )
        .await;
    let refusal =
        save.expect_err("window-state's commands are not granted, so they must be refused");
    assert!(
        refusal.contains("not allowed"),
        "the refusal comes from the ACL, not from the command failing: {refusal}"
    );

    // The CSP has no 'unsafe-inline' for scripts: an inline script added to the page does not run.
    let inline_ran = ui
        .eval(
            r#"
            const script = document.createElement("script");
            script.textContent = "window.__inline_ran = true";
            document.body.appendChild(script);
            return window.__inline_ran === undefined ? null : window.__inline_ran;
            "#,
            vec![],
        )
        .await;
    assert_eq!(
        inline_ran,
        Value::Null,
        "an inline script must not run under the app's CSP"
    );
    let global_tauri = ui.eval("return typeof window.__TAURI__;", vec![]).await;
    assert_eq!(
        global_tauri,
        json!("undefined"),
        "withGlobalTauri is off, so the page has no window.__TAURI__"
    );
}
