//! CSV import of master data, for the admin CLI: `aisle-server import items|locations|users|
//! picklists TENANT FILE.csv`.
//!
//! A file is read whole into [`crate::master`]'s domain types and then written in one
//! transaction through [`Storage`], so a bad row, whether it fails to parse or is refused by
//! the database (an unknown SKU, a barcode of another item), imports nothing of the file.
//! Every error names the row's line and the column, e.g.
//! `line 17, column 3 (qty): "abc" is not a whole number`.
//!
//! Columns are found by their header, in any order; unknown columns are refused so a typo
//! cannot silently drop data. The users file has a plain `pin` column: each PIN is checked
//! against the tenant's PIN policy, hashed with argon2id here and never stored, logged or
//! echoed in an error; its `warehouses` column names the user's warehouses, `;`-separated.

use crate::auth::{IntegrationContext, MasterWrite};
use crate::error::ServerError;
use crate::master::{
    self, NewItem, NewLocation, NewPickLine, NewPickList, NewUser, PickStatus, RecordError,
    Upserted,
};
use crate::storage::Storage;
use aisle_core::barcode::Barcode;
use aisle_core::ids::WarehouseId;
use aisle_pin::PinHash;
use std::collections::HashMap;
use std::fmt;

/// Which master data a file holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Items,
    Locations,
    Users,
    PickLists,
}

/// A column of a file: its header name and whether every file must have it.
struct ColumnSpec {
    name: &'static str,
    required: bool,
}

const fn required(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: true,
    }
}

const fn optional(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: false,
    }
}

const ITEM_COLUMNS: &[ColumnSpec] = &[
    required("sku"),
    required("name"),
    optional("base_unit"),
    optional("lot_tracked"),
    optional("barcodes"),
];
const LOCATION_COLUMNS: &[ColumnSpec] = &[
    required("warehouse"),
    required("code"),
    optional("name"),
    optional("walk_order"),
];
const USER_COLUMNS: &[ColumnSpec] = &[
    required("badge"),
    required("name"),
    required("role"),
    required("pin"),
    optional("active"),
    required("warehouses"),
];
const PICK_LIST_COLUMNS: &[ColumnSpec] = &[
    required("warehouse"),
    required("reference"),
    optional("line"),
    required("sku"),
    required("location"),
    required("qty"),
    optional("lot"),
    optional("status"),
];

impl Kind {
    fn columns(self) -> &'static [ColumnSpec] {
        match self {
            Self::Items => ITEM_COLUMNS,
            Self::Locations => LOCATION_COLUMNS,
            Self::Users => USER_COLUMNS,
            Self::PickLists => PICK_LIST_COLUMNS,
        }
    }

    /// What the rows are called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Items => "items",
            Self::Locations => "locations",
            Self::Users => "users",
            Self::PickLists => "pick lists",
        }
    }
}

/// Where in the file a row went wrong, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    /// 1-based line in the file.
    pub line: u64,
    /// 1-based column number and header name, when one column is at fault.
    pub column: Option<(usize, String)>,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some((number, name)) => write!(
                f,
                "line {}, column {number} ({name}): {}",
                self.line, self.message
            ),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

impl std::error::Error for ImportError {}

/// What an import came to: written whole, or refused at one row.
pub type Imported = Result<Upserted, ImportError>;

/// Reads a CSV file of `kind` and writes it for the context's tenant in one transaction.
/// `warehouses` are the tenant's, for the `warehouse` column (a name or an id).
/// `progress` is told how many bytes have been read, after each row.
pub fn import_csv(
    storage: &dyn Storage,
    context: &IntegrationContext<MasterWrite>,
    warehouses: &[(WarehouseId, String)],
    kind: Kind,
    input: impl std::io::Read,
    progress: &mut dyn FnMut(u64),
    now_ms: i64,
) -> Result<Imported, ServerError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let header = match Header::read(&mut reader, kind) {
        Ok(header) => header,
        Err(refused) => return Ok(Err(refused)),
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => return Ok(Err(csv_error(&error))),
        };
        progress(record.position().map_or(0, |position| position.byte()));
        rows.push(record);
    }
    let pin_policy = match kind {
        Kind::Users => storage.pin_policy(context)?,
        _ => aisle_pin::PinPolicy::DEFAULT,
    };
    let parsed = Rows {
        header: &header,
        rows: &rows,
        warehouses,
        pin_policy,
    };
    let written = match kind {
        Kind::Items => parsed
            .items()
            .map(|items| storage.upsert_items(context, &items, now_ms)),
        Kind::Locations => parsed
            .locations()
            .map(|locations| storage.upsert_locations(context, &locations, now_ms)),
        Kind::Users => parsed
            .users(progress)
            .map(|users| storage.upsert_users(context, &users, now_ms)),
        Kind::PickLists => match parsed.pick_lists() {
            Ok((lists, lines_of)) => {
                let outcome = storage.upsert_pick_lists(context, &lists, now_ms)?;
                return Ok(outcome.map_err(|refused| {
                    let line_idx = refused.line.unwrap_or(0);
                    let row_idx = lines_of[refused.record][line_idx];
                    parsed.refusal(row_idx, &refused)
                }));
            }
            Err(refused) => Err(refused),
        },
    };
    match written {
        Err(refused) => Ok(Err(refused)),
        Ok(outcome) => {
            let outcome = outcome?;
            Ok(outcome.map_err(|refused| parsed.refusal(refused.record, &refused)))
        }
    }
}

fn csv_error(error: &csv::Error) -> ImportError {
    let line = error.position().map_or(0, |position| position.line());
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} fields, the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_owned(),
        _ => error.to_string(),
    };
    ImportError {
        line,
        column: None,
        message,
    }
}

/// The columns a file has, by name.
struct Header {
    names: Vec<String>,
    index: HashMap<&'static str, usize>,
}

impl Header {
    fn read<R: std::io::Read>(
        reader: &mut csv::Reader<R>,
        kind: Kind,
    ) -> Result<Header, ImportError> {
        let at_line = |message: String, column: Option<(usize, String)>| ImportError {
            line: 1,
            column,
            message,
        };
        let record = reader.headers().map_err(|error| csv_error(&error))?.clone();
        let names: Vec<String> = record
            .iter()
            .map(|name| name.trim().to_ascii_lowercase())
            .collect();
        let specs = kind.columns();
        let mut index = HashMap::new();
        for (column_idx, name) in names.iter().enumerate() {
            let Some(spec) = specs.iter().find(|spec| spec.name == name) else {
                let known: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
                let message = format!(
                    "unknown column {name:?}; {} files have {}",
                    kind.noun(),
                    known.join(", ")
                );
                return Err(at_line(message, Some((column_idx + 1, name.clone()))));
            };
            if index.insert(spec.name, column_idx).is_some() {
                let message = format!("column {name:?} appears twice");
                return Err(at_line(message, Some((column_idx + 1, name.clone()))));
            }
        }
        if let Some(missing) = specs
            .iter()
            .find(|spec| spec.required && !index.contains_key(spec.name))
        {
            let message = format!(
                "the header has no {:?} column, which {} files need",
                missing.name,
                kind.noun()
            );
            return Err(at_line(message, None));
        }
        Ok(Header { names, index })
    }
}

/// One data row, for reading its fields with errors that name the line and column.
struct Row<'a> {
    header: &'a Header,
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    fn line(&self) -> u64 {
        self.record.position().map_or(0, |position| position.line())
    }

    fn error(&self, column: &str, message: String) -> ImportError {
        let column = self
            .header
            .index
            .get(column)
            .map(|&column_idx| (column_idx + 1, self.header.names[column_idx].clone()));
        ImportError {
            line: self.line(),
            column,
            message,
        }
    }

    /// The field, or "" when the file has no such column.
    fn get(&self, column: &str) -> &str {
        self.header
            .index
            .get(column)
            .and_then(|&column_idx| self.record.get(column_idx))
            .unwrap_or("")
    }

    fn text(&self, column: &str) -> Result<String, ImportError> {
        let value = self.get(column);
        if value.is_empty() {
            return Err(self.error(column, "is empty".to_owned()));
        }
        Ok(value.to_owned())
    }

    fn whole_number(&self, column: &str, default: i64) -> Result<i64, ImportError> {
        let value = self.get(column);
        if value.is_empty() {
            return Ok(default);
        }
        value
            .parse()
            .map_err(|_| self.error(column, format!("{value:?} is not a whole number")))
    }

    fn required_number(&self, column: &str) -> Result<i64, ImportError> {
        if self.get(column).is_empty() {
            return Err(self.error(column, "is empty".to_owned()));
        }
        self.whole_number(column, 0)
    }

    fn flag(&self, column: &str, default: bool) -> Result<bool, ImportError> {
        match self.get(column).to_ascii_lowercase().as_str() {
            "" => Ok(default),
            "1" | "true" | "yes" | "y" => Ok(true),
            "0" | "false" | "no" | "n" => Ok(false),
            other => Err(self.error(column, format!("{other:?} is not true or false"))),
        }
    }

    fn warehouse(&self, warehouses: &[(WarehouseId, String)]) -> Result<WarehouseId, ImportError> {
        let value = self.text("warehouse")?;
        master::resolve_warehouse(warehouses, &value).ok_or_else(|| {
            self.error(
                "warehouse",
                format!("no warehouse {value:?} in this tenant"),
            )
        })
    }
}

/// `4006381333931` or `4006381333948:12`, separated by `;`.
fn barcodes(row: &Row<'_>) -> Result<Vec<Barcode>, ImportError> {
    let mut barcodes = Vec::new();
    for entry in row
        .get("barcodes")
        .split(';')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let (code, pack_qty) = match entry.split_once(':') {
            None => (entry, 1),
            Some((code, pack)) => {
                let pack_qty = pack.trim().parse::<i64>().map_err(|_| {
                    let message = format!(
                        "pack size {:?} of barcode {code:?} is not a whole number",
                        pack.trim()
                    );
                    row.error("barcodes", message)
                })?;
                (code.trim(), pack_qty)
            }
        };
        barcodes.push(Barcode {
            code: code.to_owned(),
            pack_qty,
        });
    }
    Ok(barcodes)
}

/// A parsed file, for turning its rows into domain records and the storage's refusals
/// back into lines and columns.
struct Rows<'a> {
    header: &'a Header,
    rows: &'a [csv::StringRecord],
    warehouses: &'a [(WarehouseId, String)],
    /// The tenant's PIN policy, for the users file.
    pin_policy: aisle_pin::PinPolicy,
}

impl Rows<'_> {
    fn row(&self, row_idx: usize) -> Row<'_> {
        Row {
            header: self.header,
            record: &self.rows[row_idx],
        }
    }

    /// The storage refused a record: name the row, and the column its field came from.
    fn refusal(&self, row_idx: usize, refused: &RecordError) -> ImportError {
        let column = match refused.field {
            "lines" => "",
            other => other,
        };
        self.row(row_idx).error(column, refused.message.clone())
    }

    fn items(&self) -> Result<Vec<NewItem>, ImportError> {
        (0..self.rows.len())
            .map(|row_idx| {
                let row = self.row(row_idx);
                let base_unit = row.get("base_unit");
                Ok(NewItem {
                    sku: row.text("sku")?,
                    name: row.text("name")?,
                    base_unit: if base_unit.is_empty() {
                        "each"
                    } else {
                        base_unit
                    }
                    .to_owned(),
                    lot_tracked: row.flag("lot_tracked", false)?,
                    barcodes: barcodes(&row)?,
                })
            })
            .collect()
    }

    fn locations(&self) -> Result<Vec<NewLocation>, ImportError> {
        (0..self.rows.len())
            .map(|row_idx| {
                let row = self.row(row_idx);
                Ok(NewLocation {
                    warehouse: row.warehouse(self.warehouses)?,
                    code: row.text("code")?,
                    name: row.get("name").to_owned(),
                    walk_order: row.whole_number("walk_order", 0)?,
                })
            })
            .collect()
    }

    /// Hashing is the slow part of a users file, so progress is reported per user again.
    fn users(&self, progress: &mut dyn FnMut(u64)) -> Result<Vec<NewUser>, ImportError> {
        let mut users = Vec::with_capacity(self.rows.len());
        for row_idx in 0..self.rows.len() {
            let row = self.row(row_idx);
            let role_text = row.text("role")?;
            let role = role_text.parse::<aisle_core::Role>().map_err(|_| {
                row.error(
                    "role",
                    format!("{role_text:?} is not picker, manager or admin"),
                )
            })?;
            // The PIN itself never appears in an error.
            let pin_hash = PinHash::new(row.get("pin"))
                .map_err(|_| row.error("pin", "a PIN is 4 to 12 digits".to_owned()))?;
            let elevated = matches!(role, aisle_core::Role::Manager | aisle_core::Role::Admin);
            let min_digits = self.pin_policy.min_digits_for(elevated);
            if row.get("pin").len() < usize::from(min_digits) {
                return Err(row.error(
                    "pin",
                    format!(
                        "a {role_text}'s PIN needs at least {min_digits} digits in this tenant"
                    ),
                ));
            }
            let mut warehouses = Vec::new();
            for name in row
                .get("warehouses")
                .split(';')
                .map(str::trim)
                .filter(|name| !name.is_empty())
            {
                warehouses.push(master::resolve_warehouse(self.warehouses, name).ok_or_else(
                    || {
                        row.error(
                            "warehouses",
                            format!("no warehouse {name:?} in this tenant"),
                        )
                    },
                )?);
            }
            users.push(NewUser {
                badge: row.text("badge")?,
                name: row.text("name")?,
                role,
                pin_hash,
                active: row.flag("active", true)?,
                warehouses,
            });
            progress(row.record.position().map_or(0, |position| position.byte()));
        }
        Ok(users)
    }

    /// Rows grouped into lists by (warehouse, reference), in order of first appearance,
    /// with the row index of every list's every line.
    fn pick_lists(&self) -> Result<(Vec<NewPickList>, Vec<Vec<usize>>), ImportError> {
        let mut lists: Vec<NewPickList> = Vec::new();
        let mut rows_of: Vec<Vec<usize>> = Vec::new();
        let mut status_row: Vec<Option<usize>> = Vec::new();
        let mut list_of: HashMap<(WarehouseId, String), usize> = HashMap::new();
        for row_idx in 0..self.rows.len() {
            let row = self.row(row_idx);
            let warehouse = row.warehouse(self.warehouses)?;
            let reference = row.text("reference")?;
            let list_idx = *list_of
                .entry((warehouse, reference.clone()))
                .or_insert_with(|| {
                    lists.push(NewPickList {
                        warehouse,
                        reference,
                        status: PickStatus::Open,
                        lines: Vec::new(),
                    });
                    rows_of.push(Vec::new());
                    status_row.push(None);
                    lists.len() - 1
                });
            let status_text = row.get("status");
            if !status_text.is_empty() {
                let status = PickStatus::parse(status_text).ok_or_else(|| {
                    let message = format!("{status_text:?} is not open, done or cancelled");
                    row.error("status", message)
                })?;
                if let Some(earlier) = status_row[list_idx] {
                    if lists[list_idx].status != status {
                        let message = format!(
                            "{status_text:?} differs from the list's status on line {}",
                            self.row(earlier).line()
                        );
                        return Err(row.error("status", message));
                    }
                }
                lists[list_idx].status = status;
                status_row[list_idx] = Some(row_idx);
            }
            let default_line = lists[list_idx].lines.len() as i64 + 1;
            let line = row.whole_number("line", default_line)?;
            let line = u32::try_from(line)
                .ok()
                .filter(|line| *line > 0)
                .ok_or_else(|| {
                    row.error("line", format!("{line} is not a line number (1 or more)"))
                })?;
            let lot = row.get("lot");
            lists[list_idx].lines.push(NewPickLine {
                line,
                sku: row.text("sku")?,
                location: row.text("location")?,
                lot: (!lot.is_empty()).then(|| lot.to_owned()),
                qty: row.required_number("qty")?,
            });
            rows_of[list_idx].push(row_idx);
        }
        Ok((lists, rows_of))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: Kind, text: &str) -> Result<Header, ImportError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        Header::read(&mut reader, kind)
    }

    #[test]
    fn a_header_with_a_typo_or_a_missing_column_is_refused() {
        let typo = header(Kind::Items, "sku,nmae\n").err().expect("refused");
        assert_eq!(
            (typo.line, typo.column.clone()),
            (1, Some((2, "nmae".to_owned()))),
            "{typo}"
        );
        let missing = header(Kind::PickLists, "warehouse,reference,sku,location\n")
            .err()
            .expect("refused");
        assert!(missing.message.contains("\"qty\""), "{missing}");
        assert!(
            header(Kind::Users, "Badge, name ,ROLE,pin, Warehouses\n").is_ok(),
            "case and spaces do not matter"
        );
    }

    #[test]
    fn errors_read_as_line_column_and_name() {
        let error = ImportError {
            line: 17,
            column: Some((3, "qty".to_owned())),
            message: "\"abc\" is not a whole number".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "line 17, column 3 (qty): \"abc\" is not a whole number"
        );
    }
}
