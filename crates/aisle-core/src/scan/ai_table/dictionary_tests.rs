//! The AI table checked against the GS1 Barcode Syntax Dictionary, entry by entry.
//!
//! [`DICTIONARY`] lists every entry of the dictionary release of 2026-01-27 as the
//! dictionary writes it: the AI or AI range, the format specification with only the
//! `csum` linter kept (the one linter the table models), whether the AI has a predefined
//! length (the dictionary's `*` flag: no separator after it) and the title. The tests
//! read each specification into parts and compare them with the table, so a format typed
//! wrong in either place, an AI missing from the table, or a table AI the dictionary does
//! not have, fails here.

use super::{lookup, Charset, Part, AI_TABLE};
use crate::scan::digital_link::PRIMARY_KEYS;

/// (AI or range, format specification, predefined length, title).
const DICTIONARY: &[(&str, &str, bool, &str)] = &[
    ("00", "N18,csum", true, "SSCC"),
    ("01", "N14,csum", true, "GTIN"),
    ("02", "N14,csum", true, "CONTENT"),
    ("03", "N14,csum", true, "MTO GTIN"),
    ("10", "X..20", false, "BATCH/LOT"),
    ("11", "N6", true, "PROD DATE"),
    ("12", "N6", true, "DUE DATE"),
    ("13", "N6", true, "PACK DATE"),
    ("15", "N6", true, "BEST BEFORE or BEST BY"),
    ("16", "N6", true, "SELL BY"),
    ("17", "N6", true, "USE BY or EXPIRY"),
    ("20", "N2", true, "VARIANT"),
    ("21", "X..20", false, "SERIAL"),
    ("22", "X..20", false, "CPV"),
    ("235", "X..28", false, "TPX"),
    ("240", "X..30", false, "ADDITIONAL ID"),
    ("241", "X..30", false, "CUST. PART No."),
    ("242", "N..6", false, "MTO VARIANT"),
    ("243", "X..20", false, "PCN"),
    ("250", "X..30", false, "SECONDARY SERIAL"),
    ("251", "X..30", false, "REF. TO SOURCE"),
    ("253", "N13,csum [X..17]", false, "GDTI"),
    ("254", "X..20", false, "GLN EXTENSION COMPONENT"),
    ("255", "N13,csum [N..12]", false, "GCN"),
    ("30", "N..8", false, "VAR. COUNT"),
    ("3100-3105", "N6", true, "NET WEIGHT (kg)"),
    ("3110-3115", "N6", true, "LENGTH (m)"),
    ("3120-3125", "N6", true, "WIDTH (m)"),
    ("3130-3135", "N6", true, "HEIGHT (m)"),
    ("3140-3145", "N6", true, "AREA (m²)"),
    ("3150-3155", "N6", true, "NET VOLUME (l)"),
    ("3160-3165", "N6", true, "NET VOLUME (m³)"),
    ("3200-3205", "N6", true, "NET WEIGHT (lb)"),
    ("3210-3215", "N6", true, "LENGTH (in)"),
    ("3220-3225", "N6", true, "LENGTH (ft)"),
    ("3230-3235", "N6", true, "LENGTH (yd)"),
    ("3240-3245", "N6", true, "WIDTH (in)"),
    ("3250-3255", "N6", true, "WIDTH (ft)"),
    ("3260-3265", "N6", true, "WIDTH (yd)"),
    ("3270-3275", "N6", true, "HEIGHT (in)"),
    ("3280-3285", "N6", true, "HEIGHT (ft)"),
    ("3290-3295", "N6", true, "HEIGHT (yd)"),
    ("3300-3305", "N6", true, "GROSS WEIGHT (kg)"),
    ("3310-3315", "N6", true, "LENGTH (m), log"),
    ("3320-3325", "N6", true, "WIDTH (m), log"),
    ("3330-3335", "N6", true, "HEIGHT (m), log"),
    ("3340-3345", "N6", true, "AREA (m²), log"),
    ("3350-3355", "N6", true, "VOLUME (l), log"),
    ("3360-3365", "N6", true, "VOLUME (m³), log"),
    ("3370-3375", "N6", true, "KG PER m²"),
    ("3400-3405", "N6", true, "GROSS WEIGHT (lb)"),
    ("3410-3415", "N6", true, "LENGTH (in), log"),
    ("3420-3425", "N6", true, "LENGTH (ft), log"),
    ("3430-3435", "N6", true, "LENGTH (yd), log"),
    ("3440-3445", "N6", true, "WIDTH (in), log"),
    ("3450-3455", "N6", true, "WIDTH (ft), log"),
    ("3460-3465", "N6", true, "WIDTH (yd), log"),
    ("3470-3475", "N6", true, "HEIGHT (in), log"),
    ("3480-3485", "N6", true, "HEIGHT (ft), log"),
    ("3490-3495", "N6", true, "HEIGHT (yd), log"),
    ("3500-3505", "N6", true, "AREA (in²)"),
    ("3510-3515", "N6", true, "AREA (ft²)"),
    ("3520-3525", "N6", true, "AREA (yd²)"),
    ("3530-3535", "N6", true, "AREA (in²), log"),
    ("3540-3545", "N6", true, "AREA (ft²), log"),
    ("3550-3555", "N6", true, "AREA (yd²), log"),
    ("3560-3565", "N6", true, "NET WEIGHT (tr oz)"),
    ("3570-3575", "N6", true, "NET VOLUME (oz)"),
    ("3600-3605", "N6", true, "NET VOLUME (qt (US))"),
    ("3610-3615", "N6", true, "NET VOLUME (gal.)"),
    ("3620-3625", "N6", true, "VOLUME (qt (US)), log"),
    ("3630-3635", "N6", true, "VOLUME (gal (US)), log"),
    ("3640-3645", "N6", true, "NET VOLUME (in³)"),
    ("3650-3655", "N6", true, "NET VOLUME (ft³)"),
    ("3660-3665", "N6", true, "NET VOLUME (yd³)"),
    ("3670-3675", "N6", true, "VOLUME (in³), log"),
    ("3680-3685", "N6", true, "VOLUME (ft³), log"),
    ("3690-3695", "N6", true, "VOLUME (yd³), log"),
    ("37", "N..8", false, "COUNT"),
    ("3900-3909", "N..15", false, "AMOUNT"),
    ("3910-3919", "N3 N..15", false, "AMOUNT"),
    ("3920-3929", "N..15", false, "PRICE"),
    ("3930-3939", "N3 N..15", false, "PRICE"),
    ("3940-3943", "N4", false, "PRCNT OFF"),
    ("3950-3955", "N6", false, "PRICE/UoM"),
    ("400", "X..30", false, "ORDER NUMBER"),
    ("401", "X..30", false, "GINC"),
    ("402", "N17,csum", false, "GSIN"),
    ("403", "X..30", false, "ROUTE"),
    ("410", "N13,csum", true, "SHIP TO LOC"),
    ("411", "N13,csum", true, "BILL TO"),
    ("412", "N13,csum", true, "PURCHASE FROM"),
    ("413", "N13,csum", true, "SHIP FOR LOC"),
    ("414", "N13,csum", true, "LOC No."),
    ("415", "N13,csum", true, "PAY TO"),
    ("416", "N13,csum", true, "PROD/SERV LOC"),
    ("417", "N13,csum", true, "PARTY"),
    ("420", "X..20", false, "SHIP TO POST"),
    ("421", "N3 X..9", false, "SHIP TO POST"),
    ("422", "N3", false, "ORIGIN"),
    (
        "423",
        "N3 [N3] [N3] [N3] [N3]",
        false,
        "COUNTRY - INITIAL PROCESS",
    ),
    ("424", "N3", false, "COUNTRY - PROCESS"),
    (
        "425",
        "N3 [N3] [N3] [N3] [N3]",
        false,
        "COUNTRY - DISASSEMBLY",
    ),
    ("426", "N3", false, "COUNTRY - FULL PROCESS"),
    ("427", "X..3", false, "ORIGIN SUBDIVISION"),
    ("4300", "X..35", false, "SHIP TO COMP"),
    ("4301", "X..35", false, "SHIP TO NAME"),
    ("4302", "X..70", false, "SHIP TO ADD1"),
    ("4303", "X..70", false, "SHIP TO ADD2"),
    ("4304", "X..70", false, "SHIP TO SUB"),
    ("4305", "X..70", false, "SHIP TO LOC"),
    ("4306", "X..70", false, "SHIP TO REG"),
    ("4307", "X2", false, "SHIP TO COUNTRY"),
    ("4308", "X..30", false, "SHIP TO PHONE"),
    ("4309", "N10 N10", false, "SHIP TO GEO"),
    ("4310", "X..35", false, "RTN TO COMP"),
    ("4311", "X..35", false, "RTN TO NAME"),
    ("4312", "X..70", false, "RTN TO ADD1"),
    ("4313", "X..70", false, "RTN TO ADD2"),
    ("4314", "X..70", false, "RTN TO SUB"),
    ("4315", "X..70", false, "RTN TO LOC"),
    ("4316", "X..70", false, "RTN TO REG"),
    ("4317", "X2", false, "RTN TO COUNTRY"),
    ("4318", "X..20", false, "RTN TO POST"),
    ("4319", "X..30", false, "RTN TO PHONE"),
    ("4320", "X..35", false, "SRV DESCRIPTION"),
    ("4321", "N1", false, "DANGEROUS GOODS"),
    ("4322", "N1", false, "AUTH TO LEAVE"),
    ("4323", "N1", false, "SIG REQUIRED"),
    ("4324", "N6 N4", false, "NOT BEF DEL DT"),
    ("4325", "N6 N4", false, "NOT AFT DEL DT"),
    ("4326", "N6", false, "REL DATE"),
    ("4330", "N6 [X1]", false, "MAX TEMP F."),
    ("4331", "N6 [X1]", false, "MAX TEMP C."),
    ("4332", "N6 [X1]", false, "MIN TEMP F."),
    ("4333", "N6 [X1]", false, "MIN TEMP C."),
    ("7001", "N13", false, "NSN"),
    ("7002", "X..30", false, "MEAT CUT"),
    ("7003", "N6 N4", false, "EXPIRY TIME"),
    ("7004", "N..4", false, "ACTIVE POTENCY"),
    ("7005", "X..12", false, "CATCH AREA"),
    ("7006", "N6", false, "FIRST FREEZE DATE"),
    ("7007", "N6 [N6]", false, "HARVEST DATE"),
    ("7008", "X..3", false, "AQUATIC SPECIES"),
    ("7009", "X..10", false, "FISHING GEAR TYPE"),
    ("7010", "X..2", false, "PROD METHOD"),
    ("7011", "N6 [N4]", false, "TEST BY DATE"),
    ("7020", "X..20", false, "REFURB LOT"),
    ("7021", "X..20", false, "FUNC STAT"),
    ("7022", "X..20", false, "REV STAT"),
    ("7023", "X..30", false, "GIAI - ASSEMBLY"),
    ("7030", "N3 X..27", false, "PROCESSOR # 0"),
    ("7031", "N3 X..27", false, "PROCESSOR # 1"),
    ("7032", "N3 X..27", false, "PROCESSOR # 2"),
    ("7033", "N3 X..27", false, "PROCESSOR # 3"),
    ("7034", "N3 X..27", false, "PROCESSOR # 4"),
    ("7035", "N3 X..27", false, "PROCESSOR # 5"),
    ("7036", "N3 X..27", false, "PROCESSOR # 6"),
    ("7037", "N3 X..27", false, "PROCESSOR # 7"),
    ("7038", "N3 X..27", false, "PROCESSOR # 8"),
    ("7039", "N3 X..27", false, "PROCESSOR # 9"),
    ("7040", "N1 X1 X1 X1", false, "UIC+EXT"),
    ("7041", "X..4", false, "UFRGT UNIT TYPE"),
    ("710", "X..20", false, "NHRN PZN"),
    ("711", "X..20", false, "NHRN CIP"),
    ("712", "X..20", false, "NHRN CN"),
    ("713", "X..20", false, "NHRN DRN"),
    ("714", "X..20", false, "NHRN AIM"),
    ("715", "X..20", false, "NHRN NDC"),
    ("716", "X..20", false, "NHRN AIC"),
    ("717", "X..20", false, "NHRN SRN"),
    ("7230", "X2 X..28", false, "CERT # 1"),
    ("7231", "X2 X..28", false, "CERT # 2"),
    ("7232", "X2 X..28", false, "CERT # 3"),
    ("7233", "X2 X..28", false, "CERT # 4"),
    ("7234", "X2 X..28", false, "CERT # 5"),
    ("7235", "X2 X..28", false, "CERT # 6"),
    ("7236", "X2 X..28", false, "CERT # 7"),
    ("7237", "X2 X..28", false, "CERT # 8"),
    ("7238", "X2 X..28", false, "CERT # 9"),
    ("7239", "X2 X..28", false, "CERT # 10"),
    ("7240", "X..20", false, "PROTOCOL"),
    ("7241", "N2", false, "AIDC MEDIA TYPE"),
    ("7242", "X..25", false, "VCN"),
    ("7250", "N8", false, "DOB"),
    ("7251", "N8 N4", false, "DOB TIME"),
    ("7252", "N1", false, "BIO SEX"),
    ("7253", "X..40", false, "FAMILY NAME"),
    ("7254", "X..40", false, "GIVEN NAME"),
    ("7255", "X..10", false, "SUFFIX"),
    ("7256", "X..90", false, "FULL NAME"),
    ("7257", "X..70", false, "PERSON ADDR"),
    ("7258", "X3", false, "BIRTH SEQUENCE"),
    ("7259", "X..40", false, "BABY"),
    ("8001", "N4 N5 N3 N1 N1", false, "DIMENSIONS"),
    ("8002", "X..20", false, "CMT No."),
    ("8003", "N1 N13,csum [X..16]", false, "GRAI"),
    ("8004", "X..30", false, "GIAI"),
    ("8005", "N6", false, "PRICE PER UNIT"),
    ("8006", "N14,csum N4", false, "ITIP"),
    ("8007", "X..34", false, "IBAN"),
    ("8008", "N6 N2 [N2] [N2]", false, "PROD TIME"),
    ("8009", "X..50", false, "OPTSEN"),
    ("8010", "Y..30", false, "CPID"),
    ("8011", "N..12", false, "CPID SERIAL"),
    ("8012", "X..20", false, "VERSION"),
    ("8013", "X..25", false, "GMN"),
    ("8014", "X..25", false, "MUDI"),
    ("8017", "N18,csum", false, "GSRN - PROVIDER"),
    ("8018", "N18,csum", false, "GSRN - RECIPIENT"),
    ("8019", "N..10", false, "SRIN"),
    ("8020", "X..25", false, "REF No."),
    ("8026", "N14,csum N4", false, "ITIP CONTENT"),
    ("8030", "Z..90", false, "DIGSIG"),
    ("8040", "N15", false, "IMEI"),
    ("8041", "N15", false, "IMEI2"),
    ("8042", "N32", false, "ESIM"),
    ("8043", "N18 [N..2]", false, "PSIM"),
    ("8110", "X..70", false, ""),
    ("8111", "N4", false, "POINTS"),
    ("8112", "X..70", false, ""),
    ("8200", "X..70", false, "PRODUCT URL"),
    ("90", "X..30", false, "INTERNAL"),
    ("91-99", "X..90", false, "INTERNAL"),
];

/// The dictionary's Digital Link primary keys (`dlpkey`).
const DICTIONARY_PRIMARY_KEYS: &[&str] = &[
    "00", "01", "253", "255", "401", "402", "414", "415", "417", "8003", "8004", "8006", "8010",
    "8013", "8017", "8018",
];

/// Every AI of an entry: `"3100-3105"` is six AIs, `"91-99"` nine.
fn ais_of(ai_or_range: &str) -> Vec<String> {
    let Some((first, last)) = ai_or_range.split_once('-') else {
        return vec![ai_or_range.to_string()];
    };
    let width = first.len();
    let first: u32 = first.parse().expect("a range starts with digits");
    let last: u32 = last.parse().expect("a range ends with digits");
    (first..=last).map(|ai| format!("{ai:0width$}")).collect()
}

/// Reads one component such as `N14,csum`, `X..20` or `[N..12]` into a part.
fn part_of(component: &str) -> Part {
    let (optional, component) = match component.strip_prefix('[') {
        Some(inner) => (true, inner.strip_suffix(']').expect("a closing bracket")),
        None => (false, component),
    };
    let (kind, check_digit) = match component.strip_suffix(",csum") {
        Some(kind) => (kind, true),
        None => (component, false),
    };
    let charset = match kind.get(..1) {
        Some("N") => Charset::Numeric,
        Some("X") => Charset::Cs82,
        Some("Y") => Charset::Cs39,
        Some("Z") => Charset::Cs64,
        other => panic!("unknown component type {other:?} in {component}"),
    };
    let length = kind.get(1..).expect("a length");
    let (min, max) = match length.strip_prefix("..") {
        Some(max) => (1, max.parse().expect("a maximum length")),
        None => {
            let len = length.parse().expect("a fixed length");
            (len, len)
        }
    };
    Part {
        charset,
        min,
        max,
        check_digit,
        optional,
    }
}

fn parts_of(specification: &str) -> Vec<Part> {
    specification.split_whitespace().map(part_of).collect()
}

#[test]
fn the_table_knows_every_dictionary_ai_with_its_format() {
    for (ai_or_range, specification, predefined_length, title) in DICTIONARY {
        let expected_parts = parts_of(specification);
        for ai in ais_of(ai_or_range) {
            let Some(entry) = lookup(&ai) else {
                panic!("AI {ai} ({title}) is in the dictionary but not in the table");
            };
            assert_eq!(
                entry.parts,
                expected_parts.as_slice(),
                "AI {ai}: the table's format differs from the dictionary's {specification}"
            );
            let fixed_length = expected_parts
                .iter()
                .all(|part| !part.optional && part.min == part.max);
            assert_eq!(
                entry.is_fixed_length(),
                fixed_length,
                "AI {ai}: fixed length by {specification}"
            );
            assert!(
                !predefined_length || entry.is_fixed_length(),
                "AI {ai}: a predefined-length AI must be fixed-length, or the parser would \
                 wait for a separator GS1 says is never sent"
            );
            if !title.is_empty() {
                assert_eq!(entry.title, *title, "AI {ai}: title");
            }
        }
    }
}

#[test]
fn the_table_has_no_ai_the_dictionary_lacks() {
    let dictionary_ais: Vec<String> = DICTIONARY
        .iter()
        .flat_map(|(ai_or_range, ..)| ais_of(ai_or_range))
        .collect();
    for entry in AI_TABLE {
        let last_digits: Vec<String> = match entry.last_digit_max {
            None => vec![String::new()],
            Some(max) => (0..=max).map(|digit| digit.to_string()).collect(),
        };
        for last_digit in last_digits {
            let ai = format!("{}{last_digit}", entry.ai);
            assert!(
                dictionary_ais.contains(&ai),
                "AI {ai} is in the table but not in the dictionary"
            );
        }
    }
}

#[test]
fn digital_link_primary_keys_are_the_dictionarys() {
    let mut ours = PRIMARY_KEYS.to_vec();
    ours.sort_unstable();
    let mut dictionarys = DICTIONARY_PRIMARY_KEYS.to_vec();
    dictionarys.sort_unstable();
    assert_eq!(ours, dictionarys, "the dlpkey AIs of the dictionary");
}
