//! The OpenAPI description of what serde cannot tell utoipa: [`Event`], whose shape comes
//! from `aisle-core`, which stays free of any HTTP concern, so it is written here by hand (a
//! `oneOf` per body kind, discriminated by `type`). The server's OpenAPI test holds it to
//! serialised events of every kind.

/// `aisle_core::Event`, described by hand: the core stays free of `utoipa`, so its shape is
/// written here and the server's `openapi::tests::every_event_kind_is_described` checks it
/// against serialised events of every kind. Only described, never built.
#[derive(Debug)]
pub struct Event;

impl utoipa::PartialSchema for Event {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        serde_json::from_value(event_schema()).expect("the event schema is a schema")
    }
}

impl utoipa::ToSchema for Event {}

/// A body field: its name, its JSON schema and whether it is required.
type BodyField = (&'static str, serde_json::Value, bool);

/// The fields of each event body kind beyond `type`.
fn body_kinds() -> Vec<(&'static str, Vec<BodyField>)> {
    use serde_json::json;
    let uuid = || json!({"type": "string", "format": "uuid"});
    let optional_uuid = || json!({"type": ["string", "null"], "format": "uuid"});
    let lot = || json!({"type": ["string", "null"], "maxLength": 20});
    let int = || json!({"type": "integer", "format": "int64"});
    let pick_line = || {
        json!({"type": "object", "required": ["pick_list", "line", "line_qty"], "properties": {
            "pick_list": {"type": "string", "format": "uuid"},
            "line": {"type": "integer", "minimum": 0},
            "line_qty": {"type": "integer", "format": "int64"}}})
    };
    let string = || json!({"type": "string"});
    vec![
        (
            "received",
            vec![
                ("location", uuid(), true),
                ("item", uuid(), true),
                ("lot", lot(), false),
                (
                    "expiry",
                    json!({"type": ["string", "null"], "format": "date"}),
                    false,
                ),
                ("qty", int(), true),
                (
                    "receipt",
                    json!({"type": "string", "minLength": 1, "maxLength": 64}),
                    false,
                ),
            ],
        ),
        (
            "picked",
            vec![
                (
                    "pick_line",
                    json!({"oneOf": [{"type": "null"}, pick_line()]}),
                    false,
                ),
                ("location", uuid(), true),
                ("item", uuid(), true),
                ("lot", lot(), false),
                ("qty", int(), true),
            ],
        ),
        (
            "moved",
            vec![
                ("from", uuid(), true),
                ("to", uuid(), true),
                ("item", uuid(), true),
                ("lot", lot(), false),
                ("qty", int(), true),
                ("over_source_confirmed", json!({"type": "boolean"}), false),
            ],
        ),
        (
            "adjusted",
            vec![
                ("location", uuid(), true),
                ("item", uuid(), true),
                ("lot", lot(), false),
                ("delta", int(), true),
                ("reason", string(), true),
                ("note", string(), true),
            ],
        ),
        (
            "counted",
            vec![
                ("count_task", optional_uuid(), false),
                ("location", uuid(), true),
                ("item", uuid(), true),
                ("lot", lot(), false),
                ("counted_qty", int(), true),
                ("system_qty", int(), true),
                ("blind", json!({"type": "boolean"}), true),
                (
                    "decision",
                    json!({"type": "string", "enum": ["self_approved", "needs_review"]}),
                    true,
                ),
            ],
        ),
        (
            "count_reviewed",
            vec![
                ("counted", uuid(), true),
                (
                    "decision",
                    json!({"type": "string", "enum": ["approved", "rejected"]}),
                    true,
                ),
            ],
        ),
        (
            "short_picked",
            vec![
                ("pick_line", pick_line(), true),
                ("location", uuid(), true),
                ("item", uuid(), true),
                ("lot", lot(), false),
                ("qty_short", int(), true),
                (
                    "reason",
                    json!({"type": "string", "enum": ["not_found", "damaged", "wrong_item"]}),
                    true,
                ),
            ],
        ),
        ("pick_list_claimed", vec![("pick_list", uuid(), true)]),
        ("pick_list_cancelled", vec![("pick_list", uuid(), true)]),
        (
            "put_back",
            vec![
                ("pick_list", uuid(), true),
                ("line", int(), true),
                ("location", uuid(), true),
                ("item", uuid(), true),
                ("lot", lot(), false),
                ("qty", int(), true),
            ],
        ),
        (
            "count_requested",
            vec![
                ("location", uuid(), true),
                ("item", uuid(), true),
                ("lot", lot(), false),
                ("note", string(), true),
            ],
        ),
        (
            "badge_locked",
            vec![
                ("badge", string(), true),
                ("failures", int(), true),
                ("locked_until_ms", int(), true),
            ],
        ),
    ]
}

/// The `resolved` body (recorded by the server only) by its `rule`: one `oneOf` branch per
/// rule, each with `type` = `resolved`, the `rule` and that rule's fields
/// (`aisle_core::event::Resolution`).
fn resolution_rules() -> Vec<(&'static str, Vec<BodyField>)> {
    use serde_json::json;
    let uuid = || json!({"type": "string", "format": "uuid"});
    let lot = || json!({"type": ["string", "null"], "maxLength": 20});
    let int = || json!({"type": "integer", "format": "int64"});
    let claim = || {
        json!({"type": "object", "required": ["event", "device", "user"], "properties": {
            "event": {"type": "string", "format": "uuid"},
            "device": {"type": "string", "format": "uuid"},
            "user": {"type": "string", "format": "uuid"}}})
    };
    let key = |mut rest: Vec<BodyField>| {
        let mut fields = vec![
            ("location", uuid(), true),
            ("item", uuid(), true),
            ("lot", lot(), true),
        ];
        fields.append(&mut rest);
        fields
    };
    vec![
        (
            "claim_conflict",
            vec![
                ("pick_list", uuid(), true),
                ("winner", claim(), true),
                ("loser", claim(), true),
            ],
        ),
        (
            "negative_stock",
            key(vec![
                ("on_hand", int(), true),
                ("task", uuid(), true),
                ("cause", uuid(), true),
            ]),
        ),
        (
            "over_pick",
            key(vec![
                ("pick_list", uuid(), true),
                ("line", json!({"type": "integer", "minimum": 0}), true),
                ("picked", int(), true),
                ("line_qty", int(), true),
                ("cause", uuid(), true),
            ]),
        ),
        (
            "short_pick",
            key(vec![
                ("task", uuid(), true),
                ("short_pick", uuid(), true),
                (
                    "reason",
                    json!({"type": "string", "enum": ["not_found", "damaged", "wrong_item"]}),
                    true,
                ),
                ("cause", uuid(), true),
            ]),
        ),
        (
            "count_variance",
            key(vec![
                ("counted", uuid(), true),
                ("counted_qty", int(), true),
                ("system_qty", int(), true),
            ]),
        ),
        (
            "recount",
            key(vec![
                ("task", uuid(), true),
                ("counted", uuid(), true),
                ("cause", uuid(), true),
            ]),
        ),
    ]
}

fn event_schema() -> serde_json::Value {
    use serde_json::json;
    let resolved = resolution_rules().into_iter().map(|(rule, mut fields)| {
        fields.insert(0, ("rule", json!({"type": "string", "enum": [rule]}), true));
        ("resolved", Some(rule), fields)
    });
    let bodies: Vec<serde_json::Value> = body_kinds()
        .into_iter()
        .map(|(kind, fields)| (kind, None, fields))
        .chain(resolved)
        .map(|(kind, rule, fields)| {
            let title = rule.map_or_else(|| kind.to_string(), |rule| format!("{kind} ({rule})"));
            let mut properties = serde_json::Map::new();
            properties.insert("type".into(), json!({"type": "string", "enum": [kind]}));
            let mut required = vec![json!("type")];
            for (name, schema, is_required) in fields {
                properties.insert(name.into(), schema);
                if is_required {
                    required.push(json!(name));
                }
            }
            json!({"type": "object", "title": title, "required": required, "properties": properties})
        })
        .collect();
    json!({
        "type": "object",
        "required": ["v", "id", "tenant", "warehouse", "device", "user", "hlc", "clock_correction_ms", "body"],
        "properties": {
            "v": {"type": "integer", "enum": [1]},
            "id": {"type": "string", "format": "uuid"},
            "tenant": {"type": "string", "format": "uuid"},
            "warehouse": {"type": "string", "format": "uuid"},
            "device": {"type": "string", "format": "uuid"},
            "user": {"type": "string", "format": "uuid"},
            "hlc": {"type": "object", "required": ["wall_ms", "counter"], "properties": {
                "wall_ms": {"type": "integer", "minimum": 0},
                "counter": {"type": "integer", "minimum": 0, "maximum": 65535}}},
            "clock_correction_ms": {"type": "integer", "format": "int64"},
            "replaces": {"type": "string", "format": "uuid"},
            "body": {"oneOf": bodies, "discriminator": {"propertyName": "type"}}
        }
    })
}
