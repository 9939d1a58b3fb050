//! What the app allows around updates (docs/protocol.md, "Updates"): only a manager looks
//! for and installs one, from Settings, so the app never restarts in a picker's pick or
//! count; and an update is installed only when the outbox is empty, so no queued event
//! waits for a version that might not send it.

use crate::{AppError, Floor};

impl Floor {
    /// A manager may look for an update and download it.
    pub fn may_check_update(&mut self, now_ms: u64) -> Result<(), AppError> {
        self.require_manager(now_ms).map(|_| ())
    }

    /// A manager may install a downloaded update when nothing waits to be sent.
    pub fn may_install_update(&mut self, now_ms: u64) -> Result<(), AppError> {
        self.require_manager(now_ms)?;
        let pending = self.store().pending_outbox_count()?;
        if pending > 0 {
            return Err(AppError::UpdateBlocked { pending });
        }
        Ok(())
    }
}
