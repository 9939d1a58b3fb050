//! Scanner input parsing against real-world labels, malformed input with the exact error
//! and position, and property tests that arbitrary input never panics.
//!
//! Every check digit in these tables was computed by the GS1 mod-10 algorithm in a
//! scratch script, not copied from memory; the "bad check digit" rows change only the
//! last digit of a valid code.

use aisle_core::event::{Date, Lot};
use aisle_core::scan::{
    gs1_check_digit, parse_scan, Gs1Elements, Gs1Syntax, GtinSymbology, Scan, ScanConfig,
    ScanError, ScanErrorKind,
};
use proptest::prelude::*;
use rstest::rstest;

/// The day the tests pretend it is; the GS1 century rule reads two-digit years against it.
fn today() -> Date {
    date(2024, 6, 15)
}

fn date(year: u16, month: u8, day: u8) -> Date {
    Date::new(year, month, day).expect("test dates are valid")
}

fn parse(raw: &str) -> Result<Scan, ScanError> {
    parse_scan(raw, &ScanConfig::default(), today())
}

fn gs1(raw: &str) -> Gs1Elements {
    match parse(raw) {
        Ok(Scan::Gs1(elements)) => elements,
        other => panic!("{raw:?} should be a GS1 scan, got {other:?}"),
    }
}

fn error(raw: &str) -> ScanError {
    match parse(raw) {
        Err(error) => error,
        Ok(scan) => panic!("{raw:?} should be refused, got {scan:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Plain retail codes
// ---------------------------------------------------------------------------------------

#[rstest]
#[case::ean13("4006381333931", GtinSymbology::Ean13, "04006381333931")]
#[case::ean13_poland("5901234123457", GtinSymbology::Ean13, "05901234123457")]
#[case::ean13_isbn("9780201379624", GtinSymbology::Ean13, "09780201379624")]
#[case::ean8("96385074", GtinSymbology::Ean8, "00000096385074")]
#[case::ean8_second("73513537", GtinSymbology::Ean8, "00000073513537")]
#[case::ean8_leading_one("12345670", GtinSymbology::Ean8, "00000012345670")]
#[case::upc_a("036000291452", GtinSymbology::UpcA, "00036000291452")]
#[case::upc_a_second("042100005264", GtinSymbology::UpcA, "00042100005264")]
#[case::upc_e_last_digit_0_to_2("04252614", GtinSymbology::UpcE, "00042100005264")]
#[case::upc_e_last_digit_3("01234531", GtinSymbology::UpcE, "00012300000451")]
#[case::upc_e_last_digit_4("01234543", GtinSymbology::UpcE, "00012340000053")]
#[case::upc_e_last_digit_5_to_9("01234565", GtinSymbology::UpcE, "00012345000065")]
#[case::upc_e_six_digits("425261", GtinSymbology::UpcE, "00042100005264")]
#[case::upc_e_by_identifier_number_system_1("]E012345670", GtinSymbology::UpcE, "00123456000070")]
#[case::upc_e_by_identifier("]E004252614", GtinSymbology::UpcE, "00042100005264")]
#[case::ean8_by_identifier("]E401234565", GtinSymbology::Ean8, "00000001234565")]
#[case::ean13_by_identifier("]E04006381333931", GtinSymbology::Ean13, "04006381333931")]
#[case::gtin14("10012345678902", GtinSymbology::Gtin14, "10012345678902")]
#[case::gtin14_leading_zero("09506000134352", GtinSymbology::Gtin14, "09506000134352")]
#[case::wedge_crlf("4006381333931\r\n", GtinSymbology::Ean13, "04006381333931")]
#[case::wedge_tab_and_spaces("  036000291452\t", GtinSymbology::UpcA, "00036000291452")]
fn plain_retail_codes(#[case] raw: &str, #[case] symbology: GtinSymbology, #[case] gtin: &str) {
    let Ok(Scan::Gtin(scan)) = parse(raw) else {
        panic!("{raw:?} should be a plain GTIN scan, got {:?}", parse(raw));
    };
    assert_eq!(scan.symbology, symbology, "symbology of {raw:?}");
    assert_eq!(scan.gtin.as_str(), gtin, "normalised GTIN of {raw:?}");
}

/// Regression: `]E3` (a retail code with its add-on) was not recognised, so the content
/// decided and eighteen digits were read as a GS1 element string starting with AI 97.
#[rstest]
#[case::isbn_with_price(
    "]E3978030640615751299",
    GtinSymbology::Ean13,
    "09780306406157",
    Some("51299")
)]
#[case::ean13_with_issue_number(
    "]E3400638133393112",
    GtinSymbology::Ean13,
    "04006381333931",
    Some("12")
)]
#[case::upc_a_with_five_digits(
    "]E303600029145212345",
    GtinSymbology::UpcA,
    "00036000291452",
    Some("12345")
)]
#[case::upc_e_with_two_digits("]E30425261407", GtinSymbology::UpcE, "00042100005264", Some("07"))]
#[case::no_add_on_without_e3("]E04006381333931", GtinSymbology::Ean13, "04006381333931", None)]
fn retail_codes_with_an_add_on(
    #[case] raw: &str,
    #[case] symbology: GtinSymbology,
    #[case] gtin: &str,
    #[case] add_on: Option<&str>,
) {
    let Ok(Scan::Gtin(scan)) = parse(raw) else {
        panic!("{raw:?} should be a plain GTIN scan, got {:?}", parse(raw));
    };
    assert_eq!(scan.symbology, symbology, "symbology of {raw:?}");
    assert_eq!(
        scan.gtin.as_str(),
        gtin,
        "the GTIN comes from the main code of {raw:?}"
    );
    assert_eq!(
        scan.add_on.as_deref(),
        add_on,
        "the add-on of {raw:?} is kept apart"
    );
}

#[rstest]
#[case::ean13("4006381333932", 12, 1, 2)]
#[case::ean13_second("5901234123450", 12, 7, 0)]
#[case::ean8("96385075", 7, 4, 5)]
#[case::upc_a("036000291453", 11, 2, 3)]
#[case::upc_e_reports_the_upc_e_digit("04252615", 7, 4, 5)]
#[case::gtin14("10012345678903", 13, 2, 3)]
#[case::after_identifier("]E04006381333930", 15, 1, 0)]
#[case::after_leading_spaces("  4006381333932", 14, 1, 2)]
fn retail_codes_with_a_bad_check_digit(
    #[case] raw: &str,
    #[case] position: usize,
    #[case] expected: u8,
    #[case] found: u8,
) {
    assert_eq!(
        error(raw),
        ScanError {
            position,
            kind: ScanErrorKind::BadCheckDigit { expected, found }
        },
        "the check digit is the last digit of {raw:?}"
    );
}

#[test]
fn the_check_digit_helper_agrees_with_the_tables() {
    assert_eq!(gs1_check_digit("400638133393"), Some(1));
    assert_eq!(gs1_check_digit("1001234567890"), Some(2));
    assert_eq!(
        gs1_check_digit("00614141123456789"),
        Some(0),
        "an SSCC body"
    );
    assert_eq!(gs1_check_digit("12O"), None, "letters have no check digit");
}

// ---------------------------------------------------------------------------------------
// GS1 element strings
// ---------------------------------------------------------------------------------------

#[rstest]
#[case::real_gs("\u{1D}")]
#[case::angle_gs("<GS>")]
#[case::brace_gs("{GS}")]
#[case::caret_bracket("^]")]
#[case::tilde("~")]
fn gs1_128_with_each_separator_substitute(#[case] separator: &str) {
    let raw = format!("]C1010950600013435210ABC123{separator}17251231");
    let elements = gs1(&raw);
    assert_eq!(elements.syntax(), Gs1Syntax::ElementString);
    assert_eq!(
        elements.gtin().map(|gtin| gtin.as_str()),
        Some("09506000134352")
    );
    assert_eq!(elements.lot(), Some("ABC123"), "the separator ends the lot");
    assert_eq!(elements.expiry(), Some(date(2025, 12, 31)));
}

#[test]
fn fixed_length_fields_need_no_separator() {
    let elements = gs1("]C101095060001343521725123110ABC123");
    assert_eq!(
        elements.gtin().map(|gtin| gtin.as_str()),
        Some("09506000134352")
    );
    assert_eq!(elements.expiry(), Some(date(2025, 12, 31)));
    assert_eq!(elements.lot(), Some("ABC123"));
}

#[test]
fn gs1_datamatrix_with_real_separators() {
    let raw = "]d2010950600013435221SN12345\u{1D}10LOT-7\u{1D}17260300";
    let elements = gs1(raw);
    assert_eq!(elements.serial(), Some("SN12345"));
    assert_eq!(elements.lot(), Some("LOT-7"));
    assert_eq!(
        elements.expiry(),
        Some(date(2026, 3, 31)),
        "day 00 is the last day of the month"
    );
}

#[rstest]
#[case::leap_february("240200", date(2024, 2, 29))]
#[case::plain_february("250200", date(2025, 2, 28))]
#[case::thirty_days("240400", date(2024, 4, 30))]
#[case::ordinary_day("241115", date(2024, 11, 15))]
fn expiry_dates_including_day_00(#[case] yymmdd: &str, #[case] expected: Date) {
    let elements = gs1(&format!("]C1010950600013435217{yymmdd}"));
    assert_eq!(elements.expiry(), Some(expected));
}

#[rstest]
#[case::fifty_ahead_stays_in_this_century(2024, "741231", 2074)]
#[case::fifty_one_ahead_is_last_century(2024, "751231", 1975)]
#[case::far_past(2024, "991231", 1999)]
#[case::this_year(2024, "241231", 2024)]
#[case::fifty_behind_is_next_century(2080, "301231", 2130)]
#[case::forty_nine_behind_stays(2080, "311231", 2031)]
#[case::turn_of_the_century(2099, "010101", 2101)]
fn century_rule(#[case] current_year: u16, #[case] yymmdd: &str, #[case] expected_year: u16) {
    let raw = format!("]C1010950600013435217{yymmdd}");
    let Ok(Scan::Gs1(elements)) =
        parse_scan(&raw, &ScanConfig::default(), date(current_year, 1, 1))
    else {
        panic!("{raw:?} should parse");
    };
    assert_eq!(
        elements.expiry().map(|expiry| expiry.year),
        Some(expected_year),
        "{yymmdd} read in {current_year}"
    );
}

#[test]
fn all_four_warehouse_dates() {
    let elements = gs1("]C1010950600013435211240101132401021524070017250615");
    assert_eq!(elements.production_date(), Some(date(2024, 1, 1)));
    assert_eq!(elements.packaging_date(), Some(date(2024, 1, 2)));
    assert_eq!(elements.best_before(), Some(date(2024, 7, 31)));
    assert_eq!(elements.expiry(), Some(date(2025, 6, 15)));
}

#[rstest]
#[case::sscc_bracketed("(00)106141411234567897", "106141411234567897")]
#[case::sscc_raw("]C100006141411234567890", "006141411234567890")]
fn sscc(#[case] raw: &str, #[case] expected: &str) {
    let elements = gs1(raw);
    assert_eq!(elements.sscc().map(|sscc| sscc.as_str()), Some(expected));
}

#[test]
fn bracketed_human_readable_form() {
    let elements = gs1("(01)09506000134352(17)201225(10)ABC123");
    assert_eq!(elements.syntax(), Gs1Syntax::Bracketed);
    assert_eq!(
        elements.gtin().map(|gtin| gtin.as_str()),
        Some("09506000134352")
    );
    assert_eq!(elements.expiry(), Some(date(2020, 12, 25)));
    assert_eq!(elements.lot(), Some("ABC123"));
}

#[test]
fn bracketed_lot_may_contain_parentheses_that_are_not_ais() {
    let elements = gs1("(01)09506000134352(10)AB(C)1");
    assert_eq!(elements.lot(), Some("AB(C)1"));
}

/// Regression: a bracketed AI the parser did not know was swallowed into the value before
/// it, so `(10)ABC(717)XYZ` gave the lot `ABC(717)XYZ` and no error.
#[rstest]
#[case::ai_717_after_a_lot("(01)09506000134352(10)ABC(717)XYZ", "ABC", Some("XYZ"))]
#[case::escaped_parenthesis_is_data("(01)09506000134352(10)AB\\(12)C", "AB(12)C", None)]
#[case::escaped_before_a_real_ai("(01)09506000134352(10)\\(9)(717)XYZ", "(9)", Some("XYZ"))]
fn bracketed_values_end_at_the_next_ai(
    #[case] raw: &str,
    #[case] lot: &str,
    #[case] nhrn_srn: Option<&str>,
) {
    let elements = gs1(raw);
    assert_eq!(elements.lot(), Some(lot), "the lot of {raw:?}");
    assert_eq!(elements.value("717"), nhrn_srn, "AI 717 of {raw:?}");
}

#[test]
fn pallet_label_with_sscc_content_and_count() {
    let raw = "]C10010614141123456789702095060001343523740";
    let scan = parse(raw).expect("a valid pallet label");
    let elements = scan.gs1().expect("GS1");
    assert_eq!(
        elements.content_gtin().map(|gtin| gtin.as_str()),
        Some("09506000134352")
    );
    assert_eq!(elements.content_count(), Some(40));
    assert_eq!(
        scan.gtin().map(|gtin| gtin.as_str()),
        Some("09506000134352"),
        "receiving from a pallet label uses the content GTIN"
    );
    assert_eq!(scan.count(), Some(40));
    assert_eq!(
        scan.sscc().map(|sscc| sscc.as_str()),
        Some("106141411234567897")
    );
}

#[test]
fn net_weight_measure() {
    let elements = gs1("]C10109506000134352310300052510L1");
    let [measure] = elements.measures() else {
        panic!("one measure expected: {:?}", elements.measures());
    };
    assert_eq!(measure.ai, "3103");
    assert_eq!((measure.mantissa, measure.decimals), (525, 3));
    assert_eq!(measure.to_string(), "0.525");
    assert_eq!(measure.title(), "NET WEIGHT (kg)");
}

#[test]
fn variable_count_and_prices_kept_raw() {
    let elements = gs1("]C101095060001343523012\u{1D}3922129\u{1D}39329781299");
    assert_eq!(elements.count(), Some(12));
    let other: Vec<(&str, &str)> = elements
        .other()
        .iter()
        .map(|element| (element.ai.as_str(), element.value.as_str()))
        .collect();
    assert_eq!(
        other,
        vec![("3922", "129"), ("3932", "9781299")],
        "price (3922, two decimals) and price with ISO currency (3932) are kept with their AI"
    );
}

#[test]
fn order_number_and_location_gln() {
    let elements = gs1("]C1400PO-4711\u{1D}4140614141000036254A1");
    assert_eq!(elements.order_number(), Some("PO-4711"));
    assert_eq!(
        elements.location_gln().map(|gln| gln.as_str()),
        Some("0614141000036")
    );
    assert_eq!(elements.value("254"), Some("A1"));
}

#[test]
fn unknown_but_valid_ai_is_kept_raw() {
    let elements = gs1("]C10109506000134352240ADD-ID-9");
    let [element] = elements.other() else {
        panic!("one raw element expected: {:?}", elements.other());
    };
    assert_eq!(
        (element.ai.as_str(), element.value.as_str()),
        ("240", "ADD-ID-9")
    );
    assert_eq!(element.title(), "ADDITIONAL ID");
}

/// AIs added to GS1 since the table was first transcribed; the old table refused each
/// as an unknown AI (regression: the AI table lacked 03, 7041, 717, 7250-7259, 8014 and
/// 8040-8043).
#[rstest]
#[case::mto_gtin_03("]C10309506000134352", "03", "09506000134352")]
#[case::ufrgt_unit_type_7041("]C1004006141411234567897041BOX", "7041", "BOX")]
#[case::nhrn_srn_717("]C10109506000134352717SRN-42", "717", "SRN-42")]
#[case::date_of_birth_7250("]C18018095060001343520000725020240615", "7250", "20240615")]
#[case::birth_sequence_7258("]C1801809506000134352000072581/2", "7258", "1/2")]
#[case::mudi_8014("]C1010950600013435280142A5B", "8014", "2A5B")]
#[case::imei_8040(
    "]C10109506000134352215\u{1D}8040490154203237518",
    "8040",
    "490154203237518"
)]
#[case::psim_8043_with_its_optional_digits(
    "]C10109506000134352215\u{1D}804312345678901234567812",
    "8043",
    "12345678901234567812"
)]
fn ais_added_to_gs1_lately(#[case] raw: &str, #[case] ai: &str, #[case] value: &str) {
    let elements = gs1(raw);
    assert_eq!(elements.value(ai), Some(value), "AI {ai} in {raw:?}");
}

#[rstest]
#[case::all_digits_without_identifier("010950600013435217251231")]
#[case::mixed_without_identifier("010950600013435210ABC123")]
#[case::leading_fnc1_as_gs("\u{1D}010950600013435210ABC123")]
#[case::trailing_gs("]C1010950600013435210ABC123\u{1D}")]
#[case::same_value_twice("(01)09506000134352(01)09506000134352(10)ABC123")]
fn element_strings_read_leniently(#[case] raw: &str) {
    let elements = gs1(raw);
    assert_eq!(
        elements.gtin().map(|gtin| gtin.as_str()),
        Some("09506000134352"),
        "{raw:?}"
    );
}

/// Regression: all-digit element strings without a symbology identifier were refused as
/// retail codes of the wrong length (`wrong_length`), although the parser's rules say to
/// read them as element strings.
#[rstest]
#[case::net_weight("3103001250", "3103", "001250")]
#[case::content_count("37120", "37", "120")]
#[case::variable_count("3012", "30", "12")]
#[case::behind_plain_code128_identifier("]C03103001250", "3103", "001250")]
fn all_digit_element_strings_without_identifier(
    #[case] raw: &str,
    #[case] ai: &str,
    #[case] value: &str,
) {
    let elements = gs1(raw);
    assert_eq!(elements.value(ai), Some(value), "AI {ai} of {raw:?}");
}

#[test]
fn all_digit_element_string_reads_its_measure() {
    let scan = parse("3103001250").expect("a net weight element string");
    let measures = scan.gs1().map(Gs1Elements::measures).unwrap_or_default();
    let rendered: Vec<String> = measures.iter().map(ToString::to_string).collect();
    assert_eq!(rendered, ["1.250"], "AI 3103 has three decimals");
}

/// At a retail length the retail reading wins, even over a valid element string, and a
/// wrong check digit is a retail error: `17251231` is AI 17 (expiry) but also eight
/// digits, and a mistyped EAN-8 must not turn into an expiry date.
#[rstest]
#[case::eight_digits_with_a_bad_ean8_check_digit("17251231", 7, 5, 1)]
#[case::gtin14_starting_like_a_lot("10012345678903", 13, 2, 3)]
fn all_digit_retail_lengths_stay_retail_codes(
    #[case] raw: &str,
    #[case] position: usize,
    #[case] expected: u8,
    #[case] found: u8,
) {
    assert_eq!(
        error(raw),
        ScanError {
            position,
            kind: ScanErrorKind::BadCheckDigit { expected, found }
        },
        "{raw:?} is read as a retail code with a wrong check digit"
    );
}

#[test]
fn scan_conveniences_fill_a_receive_form() {
    let scan = parse("]C10109506000134352172512311012A\u{1D}3012").expect("valid");
    assert_eq!(
        scan.gtin().map(|gtin| gtin.as_str()),
        Some("09506000134352")
    );
    assert_eq!(scan.lot(), Some(Lot::new("12A")));
    assert_eq!(scan.expiry(), Some(date(2025, 12, 31)));
    assert_eq!(scan.count(), Some(12));
    assert_eq!(scan.serial(), None);
}

// ---------------------------------------------------------------------------------------
// GS1 Digital Link
// ---------------------------------------------------------------------------------------

#[test]
fn digital_link_with_lot_and_expiry() {
    let elements = gs1("https://id.gs1.org/01/09506000134352/10/ABC123?17=201225");
    assert_eq!(elements.syntax(), Gs1Syntax::DigitalLink);
    assert_eq!(
        elements.gtin().map(|gtin| gtin.as_str()),
        Some("09506000134352")
    );
    assert_eq!(elements.lot(), Some("ABC123"));
    assert_eq!(elements.expiry(), Some(date(2020, 12, 25)));
}

#[rstest]
#[case::bare("https://example.com/01/09506000134352")]
#[case::uppercase_qr_alphanumeric("HTTPS://ID.GS1.ORG/01/09506000134352")]
#[case::gtin13_padded("https://example.com/01/9506000134352")]
#[case::path_prefix("https://brand.example/products/01/x/01/09506000134352")]
#[case::non_ai_query_ignored("https://example.com/01/09506000134352?linkType=all#top")]
#[case::trailing_slash("http://example.com/01/09506000134352/")]
#[case::qr_identifier("]Q1https://example.com/01/09506000134352")]
fn digital_link_gtin(#[case] raw: &str) {
    let elements = gs1(raw);
    assert_eq!(
        elements.gtin().map(|gtin| gtin.as_str()),
        Some("09506000134352"),
        "{raw:?}"
    );
}

#[test]
fn digital_link_percent_decoding_and_query_measures() {
    let elements = gs1("https://example.com/01/09506000134352/21/SN%2F7?3103=000525&foo=bar");
    assert_eq!(elements.serial(), Some("SN/7"));
    assert_eq!(
        elements
            .measures()
            .first()
            .map(|measure| measure.to_string()),
        Some("0.525".to_string())
    );
}

#[test]
fn digital_link_short_names() {
    let elements = gs1("https://example.com/gtin/9506000134352/lot/L1?exp=251231");
    assert_eq!(
        elements.gtin().map(|gtin| gtin.as_str()),
        Some("09506000134352")
    );
    assert_eq!(elements.lot(), Some("L1"));
    assert_eq!(elements.expiry(), Some(date(2025, 12, 31)));
}

#[test]
fn digital_link_other_primary_keys() {
    let sscc = gs1("https://example.com/00/106141411234567897");
    assert_eq!(
        sscc.sscc().map(|sscc| sscc.as_str()),
        Some("106141411234567897")
    );
    let location = gs1("https://example.com/414/0614141000036/254/A1");
    assert_eq!(
        location.location_gln().map(|gln| gln.as_str()),
        Some("0614141000036")
    );
    assert_eq!(location.value("254"), Some("A1"));
}

/// Regression: the primary key search was quadratic, and a crafted URI near the input
/// limit (thousands of `01` segments ending in a pair whose key is no AI) took about 0.2 s
/// a scan. The search is linear now (a unit test next to it counts its steps); this runs
/// the crafted URI end to end and checks the answer, with no timing.
#[test]
fn crafted_long_digital_link_path_is_refused_with_the_right_error() {
    let prefix = "https://example.com";
    let pairs_that_fit = (aisle_core::scan::MAX_INPUT_CHARS - prefix.len() - 4) / 3;
    let raw = format!("{prefix}{}/x/y", "/01".repeat(pairs_that_fit));
    assert!(raw.chars().count() <= aisle_core::scan::MAX_INPUT_CHARS);
    assert!(raw.len() > 8000, "the crafted URI is about 8k characters");
    assert_eq!(
        error(&raw),
        ScanError {
            position: prefix.len(),
            kind: ScanErrorKind::InvalidDigitalLink {
                reason: "no gs1 primary key and value at the end of the path"
            }
        },
        "the last pair's key x is no AI, so no primary key ends the path"
    );
}

// ---------------------------------------------------------------------------------------
// Internal codes
// ---------------------------------------------------------------------------------------

#[rstest]
#[case::location("L:A-01-03", Scan::Location("A-01-03".into()))]
#[case::badge("U:0042", Scan::Badge("0042".into()))]
#[case::sku("S:BOLT-M6", Scan::Sku("BOLT-M6".into()))]
#[case::behind_code128_identifier("]C0L:A-01-03", Scan::Location("A-01-03".into()))]
#[case::with_wedge_newline("S:BOLT-M6\r\n", Scan::Sku("BOLT-M6".into()))]
fn internal_codes_with_default_prefixes(#[case] raw: &str, #[case] expected: Scan) {
    assert_eq!(parse(raw), Ok(expected), "{raw:?}");
}

#[test]
fn internal_codes_with_configured_prefixes() {
    let config = ScanConfig {
        location_prefix: "L".into(),
        badge_prefix: "BADGE-".into(),
        sku_prefix: "LS".into(),
        ..ScanConfig::default()
    };
    let read = |raw| parse_scan(raw, &config, today());
    assert_eq!(read("L12"), Ok(Scan::Location("12".into())));
    assert_eq!(
        read("LS12"),
        Ok(Scan::Sku("12".into())),
        "the longest matching prefix wins"
    );
    assert_eq!(read("BADGE-7"), Ok(Scan::Badge("7".into())));
}

#[test]
fn an_empty_prefix_turns_a_kind_off() {
    let config = ScanConfig {
        sku_prefix: String::new(),
        ..ScanConfig::default()
    };
    assert!(
        matches!(
            parse_scan("4006381333931", &config, today()),
            Ok(Scan::Gtin(_))
        ),
        "an empty prefix must not swallow every scan as a SKU"
    );
}

// ---------------------------------------------------------------------------------------
// Malformed input: the kind and the position
// ---------------------------------------------------------------------------------------

fn ai(digits: &str) -> String {
    digits.to_string()
}

#[rstest]
#[case::empty("", 0, ScanErrorKind::Empty)]
#[case::only_wedge_noise("\r\n", 0, ScanErrorKind::Empty)]
#[case::only_an_identifier("]C1", 3, ScanErrorKind::Empty)]
#[case::lone_gs_substitute("<GS>", 4, ScanErrorKind::Empty)]
#[case::lone_tilde("~", 1, ScanErrorKind::Empty)]
#[case::letter_in_ean13("590123412345X", 12, ScanErrorKind::NonDigit { found: 'X' })]
#[case::letter_in_ean13_middle("59012341234S7", 11, ScanErrorKind::NonDigit { found: 'S' })]
#[case::letter_after_ean_identifier("]E0400638133393l", 15, ScanErrorKind::NonDigit { found: 'l' })]
#[case::seven_digits_are_an_element_string("1234567", 0, ScanErrorKind::TooShort { ai: ai("12"), expected: 6, found: 5 })]
#[case::ean8_identifier_wrong_length("]E4123", 3, ScanErrorKind::WrongLength { expected: "8", found: 3 })]
#[case::add_on_scan_of_no_valid_length("]E340063813339", 3, ScanErrorKind::WrongLength { expected: "10, 13, 14, 15, 17 or 18", found: 11 })]
#[case::add_on_scan_with_a_bad_check_digit("]E3400638133393212", 15, ScanErrorKind::BadCheckDigit { expected: 1, found: 2 })]
#[case::words("hello", 0, ScanErrorKind::UnrecognisedFormat)]
#[case::non_ascii_junk("é€", 0, ScanErrorKind::UnrecognisedFormat)]
#[case::bad_identifier("]X", 0, ScanErrorKind::InvalidSymbologyIdentifier)]
#[case::truncated_gtin_field("]C10109506000134", 3, ScanErrorKind::TooShort { ai: ai("01"), expected: 14, found: 11 })]
#[case::gs_inside_fixed_field("]C1010950600013\u{1D}4352", 3, ScanErrorKind::TooShort { ai: ai("01"), expected: 14, found: 10 })]
#[case::lot_too_long("]C110ABCDEFGHIJKLMNOPQRSTU", 25, ScanErrorKind::TooLong { ai: ai("10"), max: 20 })]
#[case::empty_lot("]C110\u{1D}17251231", 3, ScanErrorKind::TooShort { ai: ai("10"), expected: 1, found: 0 })]
#[case::bad_month("]C1010950600013435217241301", 23, ScanErrorKind::InvalidMonth { ai: ai("17"), month: 13 })]
#[case::month_zero("]C1010950600013435215240015", 23, ScanErrorKind::InvalidMonth { ai: ai("15"), month: 0 })]
#[case::february_31("]C1010950600013435217250231", 25, ScanErrorKind::InvalidDay { ai: ai("17"), day: 31, days_in_month: 28 })]
#[case::june_31_in_due_date("]C1010950600013435212240631", 25, ScanErrorKind::InvalidDay { ai: ai("12"), day: 31, days_in_month: 30 })]
#[case::letter_in_date("]C101095060001343521725A231", 23, ScanErrorKind::NonDigit { found: 'A' })]
#[case::gtin_ai_bad_check_digit("]C10109506000134353", 18, ScanErrorKind::BadCheckDigit { expected: 2, found: 3 })]
#[case::sscc_bad_check_digit("(00)106141411234567898", 21, ScanErrorKind::BadCheckDigit { expected: 7, found: 8 })]
#[case::gln_bad_check_digit("]C14140614141000037", 18, ScanErrorKind::BadCheckDigit { expected: 6, found: 7 })]
#[case::unknown_three_digit_ai("]C12312345", 3, ScanErrorKind::UnknownAi { ai: ai("231") })]
#[case::unknown_two_digit_ai("]C10412345", 3, ScanErrorKind::UnknownAi { ai: ai("04") })]
#[case::unknown_bracketed_ai("(23)ABC", 1, ScanErrorKind::UnknownAi { ai: ai("23") })]
#[case::unknown_bracketed_ai_after_a_value("(01)09506000134352(10)ABC(999)XYZ", 26, ScanErrorKind::UnknownAi { ai: ai("999") })]
#[case::unassigned_bracketed_ai_after_a_value("(01)09506000134352(10)ABC(718)XYZ", 26, ScanErrorKind::UnknownAi { ai: ai("718") })]
#[case::measure_with_too_many_decimals("]C101095060001343523106000525", 19, ScanErrorKind::UnknownAi { ai: ai("3106") })]
#[case::input_ends_inside_ai("]C101095060001343521", 20, ScanErrorKind::TruncatedAi)]
#[case::input_ends_inside_four_digit_ai("]C10109506000134352310", 22, ScanErrorKind::TruncatedAi)]
#[case::double_separator("]C110ABC\u{1D}\u{1D}17251231", 9, ScanErrorKind::UnexpectedSeparator)]
#[case::letter_where_an_ai_belongs("0109506000134352X", 16, ScanErrorKind::NonDigit { found: 'X' })]
#[case::non_cs82_in_lot("]C110AB\u{e9}C", 7, ScanErrorKind::InvalidCharacter { found: '\u{e9}' })]
#[case::space_in_lot("]C110AB C", 7, ScanErrorKind::InvalidCharacter { found: ' ' })]
#[case::conflicting_lots("(10)A(10)B", 6, ScanErrorKind::ConflictingRepeat { ai: ai("10") })]
#[case::two_net_weights("(3102)000100(3103)000100", 13, ScanErrorKind::ConflictingRepeat { ai: ai("3103") })]
#[case::started_optional_part_unfinished_8008("]C18008202406151", 3, ScanErrorKind::TooShort { ai: ai("8008"), expected: 10, found: 9 })]
#[case::started_optional_part_unfinished_7007("]C1010950600013435270072406151", 19, ScanErrorKind::TooShort { ai: ai("7007"), expected: 12, found: 7 })]
#[case::countries_come_in_threes_423("(423)2501", 1, ScanErrorKind::TooShort { ai: ai("423"), expected: 6, found: 4 })]
#[case::bracketed_value_too_long("(01)095060001343521", 18, ScanErrorKind::TooLong { ai: ai("01"), max: 14 })]
#[case::bracketed_value_too_short("(01)0950600013435", 1, ScanErrorKind::TooShort { ai: ai("01"), expected: 14, found: 13 })]
#[case::unclosed_bracket("(01", 3, ScanErrorKind::MalformedBracketedAi)]
#[case::letters_in_bracket("(A)", 1, ScanErrorKind::MalformedBracketedAi)]
#[case::uri_without_host("https:///01/09506000134352", 8, ScanErrorKind::InvalidDigitalLink { reason: "the uri has no host" })]
#[case::uri_without_key("https://example.com/foo/bar", 19, ScanErrorKind::InvalidDigitalLink { reason: "no gs1 primary key and value at the end of the path" })]
#[case::uri_bad_check_digit("https://example.com/01/09506000134353", 36, ScanErrorKind::BadCheckDigit { expected: 2, found: 3 })]
#[case::uri_positions_count_characters("https://bücher.example/01/09506000134353", 39, ScanErrorKind::BadCheckDigit { expected: 2, found: 3 })]
#[case::uri_broken_escape(
    "https://example.com/01/09506000134352/10/A%2",
    42,
    ScanErrorKind::InvalidPercentEncoding
)]
#[case::uri_non_ascii_escape(
    "https://example.com/01/09506000134352/10/%C3%A9",
    41,
    ScanErrorKind::InvalidPercentEncoding
)]
#[case::location_without_code("L:", 2, ScanErrorKind::EmptyInternalCode)]
#[case::location_with_space("L:A 1", 3, ScanErrorKind::InvalidCharacter { found: ' ' })]
fn malformed_input_says_what_and_where(
    #[case] raw: &str,
    #[case] position: usize,
    #[case] kind: ScanErrorKind,
) {
    assert_eq!(
        error(raw),
        ScanError { position, kind },
        "kind and character position for {raw:?}"
    );
}

#[test]
fn overlong_input_is_refused_unread() {
    let raw = "1".repeat(9000);
    let refused = error(&raw);
    assert_eq!(refused.code(), "input_too_long");
    assert_eq!(refused.position, aisle_core::scan::MAX_INPUT_CHARS);
}

#[test]
fn internal_code_length_is_capped() {
    let raw = format!("S:{}", "A".repeat(65));
    assert_eq!(
        error(&raw),
        ScanError {
            position: 66,
            kind: ScanErrorKind::InternalCodeTooLong { max_chars: 64 }
        }
    );
}

#[rstest]
#[case("4006381333932", "bad check digit at position 12: expected 1, found 2")]
#[case("", "empty scan at position 0")]
#[case(
    "]C1010950600013435217241301",
    "invalid month at position 23: ai 17 has month 13"
)]
#[case(
    "(23)ABC",
    "unknown application identifier at position 1: no ai 23 in the gs1 table"
)]
fn error_messages_are_lowercase_and_positioned(#[case] raw: &str, #[case] message: &str) {
    assert_eq!(error(raw).to_string(), message);
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/// Fragments that steer random input into the parser's deeper paths.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,8}",
        "[A-Za-z!%&()*+,./:;<=>?_-]{1,4}",
        Just("\u{1D}".to_string()),
        Just("<GS>".to_string()),
        Just("~".to_string()),
        Just("^]".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("]C1".to_string()),
        Just("]d2".to_string()),
        Just("]E0".to_string()),
        Just("]E4".to_string()),
        Just("]E3".to_string()),
        Just("\\(".to_string()),
        Just("(717)".to_string()),
        Just("01".to_string()),
        Just("0109506000134352".to_string()),
        Just("17".to_string()),
        Just("10".to_string()),
        Just("3103".to_string()),
        Just("414".to_string()),
        Just("(01)".to_string()),
        Just("(17)".to_string()),
        Just("https://example.com/".to_string()),
        Just("01/".to_string()),
        Just("/".to_string()),
        Just("?17=".to_string()),
        Just("&".to_string()),
        Just("%".to_string()),
        Just("%2F".to_string()),
        Just("L:".to_string()),
        Just("S:".to_string()),
        Just("é".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
    ]
}

fn assert_never_panics_and_positions_fit(raw: &str) -> Result<(), TestCaseError> {
    let length = raw.chars().count();
    if let Err(error) = parse(raw) {
        prop_assert!(
            error.position <= length,
            "position {} is past the end ({length} chars) of {raw:?}: {error}",
            error.position
        );
        prop_assert!(!error.to_string().is_empty());
    }
    Ok(())
}

/// A CS82 lot of 1-20 characters.
fn lot() -> impl Strategy<Value = String> {
    // No `<`, so a lot can never contain the `<GS>` separator substitute.
    "[A-Za-z0-9!%&*+,./:;=>?_-]{1,20}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(raw in any::<String>()) {
        assert_never_panics_and_positions_fit(&raw)?;
    }

    #[test]
    fn arbitrary_fragment_mixes_never_panic(fragments in proptest::collection::vec(fragment(), 0..12)) {
        assert_never_panics_and_positions_fit(&fragments.concat())?;
    }

    #[test]
    fn any_gtin_with_its_check_digit_round_trips(body in "[0-9]{13}") {
        let check = gs1_check_digit(&body).expect("digits");
        let raw = format!("{body}{check}");
        let Ok(Scan::Gtin(scan)) = parse(&raw) else {
            return Err(TestCaseError::fail(format!("{raw} should be a GTIN-14")));
        };
        prop_assert_eq!(scan.gtin.as_str(), raw.as_str());
        let wrong = format!("{body}{}", (check + 1) % 10);
        prop_assert_eq!(error(&wrong).code(), "bad_check_digit");
    }

    #[test]
    fn generated_element_strings_round_trip(
        body in "[0-9]{13}",
        yy in 0u8..100,
        month in 1u8..=12,
        day in 1u8..=28,
        lot in lot(),
        serial in lot(),
    ) {
        let gtin = format!("{body}{}", gs1_check_digit(&body).expect("digits"));
        let raw = format!("]C101{gtin}17{yy:02}{month:02}{day:02}10{lot}\u{1D}21{serial}");
        let elements = gs1(&raw);
        prop_assert_eq!(elements.gtin().map(|gtin| gtin.as_str().to_string()), Some(gtin.clone()));
        prop_assert_eq!(elements.lot(), Some(lot.as_str()));
        prop_assert_eq!(elements.serial(), Some(serial.as_str()));
        let expiry = elements.expiry().expect("a valid date");
        prop_assert_eq!((expiry.year % 100, expiry.month, expiry.day), (u16::from(yy), month, day));
        prop_assert!((1975..=2074).contains(&expiry.year), "century rule around 2024: {}", expiry.year);

        let bracketed = format!("(01){gtin}(17){yy:02}{month:02}{day:02}(21){serial}");
        let from_brackets = gs1(&bracketed);
        prop_assert_eq!(from_brackets.expiry(), Some(expiry));
    }
}
