//! The bound of every free-text field a writer sends (ERP master data, CSV imports), in
//! characters. A record past one is refused whole (`422 invalid_record`, naming the field)
//! before anything of its batch is written: an ERP name took 1 MB before these.
//!
//! Events carry their own bounds in `aisle_core::event::Event::validate` (lots 20, notes
//! `MAX_NOTE_CHARS`, adjustment reasons `MAX_REASON_CHARS`). docs/protocol.md lists them all.

use crate::master::{NewItem, NewLocation, NewPickLine, NewPickList, NewUser};

/// An item's SKU, a location's code, a user's badge, a barcode.
pub const MAX_CODE_CHARS: usize = 64;
/// An item's, a location's or a user's name.
pub const MAX_NAME_CHARS: usize = 200;
/// An item's base unit ("each", "kg").
pub const MAX_UNIT_CHARS: usize = 16;
/// A pick list's reference.
pub const MAX_REFERENCE_CHARS: usize = 64;
/// A lot, as the event rules bound it.
pub const MAX_LOT_CHARS: usize = 20;
/// Barcodes on one item.
pub const MAX_BARCODES_PER_ITEM: usize = 100;

/// The field at fault and why, for [`crate::master::RecordError`].
pub type TooLong = (&'static str, String);

fn bound(field: &'static str, text: &str, max: usize) -> Result<(), TooLong> {
    if text.chars().count() > max {
        Err((field, format!("is longer than {max} characters")))
    } else if text.chars().any(char::is_control) {
        Err((field, "holds a control character".to_owned()))
    } else {
        Ok(())
    }
}

pub fn item(item: &NewItem) -> Result<(), TooLong> {
    bound("sku", &item.sku, MAX_CODE_CHARS)?;
    bound("name", &item.name, MAX_NAME_CHARS)?;
    bound("base_unit", &item.base_unit, MAX_UNIT_CHARS)?;
    if item.barcodes.len() > MAX_BARCODES_PER_ITEM {
        let message = format!("holds more than {MAX_BARCODES_PER_ITEM} barcodes");
        return Err(("barcodes", message));
    }
    for barcode in &item.barcodes {
        bound("barcodes", &barcode.code, MAX_CODE_CHARS)?;
    }
    Ok(())
}

pub fn location(location: &NewLocation) -> Result<(), TooLong> {
    bound("code", &location.code, MAX_CODE_CHARS)?;
    bound("name", &location.name, MAX_NAME_CHARS)
}

pub fn user(user: &NewUser) -> Result<(), TooLong> {
    bound("badge", &user.badge, MAX_CODE_CHARS)?;
    bound("name", &user.name, MAX_NAME_CHARS)
}

pub fn pick_list(list: &NewPickList) -> Result<(), TooLong> {
    bound("reference", &list.reference, MAX_REFERENCE_CHARS)
}

pub fn pick_line(line: &NewPickLine) -> Result<(), TooLong> {
    bound("sku", &line.sku, MAX_CODE_CHARS)?;
    bound("location", &line.location, MAX_CODE_CHARS)?;
    match &line.lot {
        Some(lot) => bound("lot", lot, MAX_LOT_CHARS),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_counts_characters_and_refuses_control_characters() {
        assert!(bound("name", &"é".repeat(MAX_NAME_CHARS), MAX_NAME_CHARS).is_ok());
        assert_eq!(
            bound("name", &"x".repeat(MAX_NAME_CHARS + 1), MAX_NAME_CHARS)
                .expect_err("too long")
                .0,
            "name"
        );
        assert!(bound("name", "tab\there", MAX_NAME_CHARS).is_err());
    }
}
