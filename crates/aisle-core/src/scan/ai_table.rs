//! The GS1 application identifier table: which AIs exist and what their data looks like.
//!
//! Transcribed from the GS1 Barcode Syntax Dictionary (the machine-readable form of the
//! GS1 General Specifications' AI table, section 3). Each entry gives the AI, its data as
//! a sequence of [`Part`]s (character set and length, and whether the part ends in a
//! mod-10 check digit) and its short title. The dictionary's finer "linters" (country
//! codes, currency codes, IBAN checks and the like) and its pairing rules (`req=`/`ex=`)
//! are deliberately not transcribed: a warehouse must be able to read a label that breaks
//! them, and nothing here acts on them.
//!
//! The table follows the dictionary release of 2026-01-27 (GS1 General Specifications
//! v25 and the GSCNs approved after it, such as AIs 717 and 8040-8043). The test module
//! `dictionary_tests` holds every entry of that release, with its format and its
//! "predefined length" flag, and checks this table against it AI by AI, both ways; a new
//! release is brought in by updating both.
//!
//! AIs are prefix-free, and the first two digits of an AI fix its length (2, 3 or 4
//! digits); the unit tests check both properties of this table, because the element
//! string parser relies on them to tell "unknown AI" from "input ends inside an AI".

/// The characters a part of a field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// Digits 0-9.
    Numeric,
    /// GS1 AI encodable character set 82: the printable ASCII characters that are safe in
    /// every GS1 carrier.
    Cs82,
    /// GS1 AI encodable character set 39: digits, capitals, `#`, `-` and `/`.
    Cs39,
    /// The URL-safe base64 alphabet and `=`, used by the digital signature AI 8030.
    Cs64,
}

impl Charset {
    pub fn allows(self, ch: char) -> bool {
        match self {
            Self::Numeric => ch.is_ascii_digit(),
            Self::Cs82 => ch.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(ch),
            Self::Cs39 => ch.is_ascii_digit() || ch.is_ascii_uppercase() || "#-/".contains(ch),
            Self::Cs64 => ch.is_ascii_alphanumeric() || "-_=".contains(ch),
        }
    }
}

/// One component of a field, e.g. the `N13` and `[X..17]` of AI 253.
///
/// A part takes the next `max` characters of the value, or what is left. An optional part
/// (written `[...]` in the dictionary) is skipped only when nothing is left; once started
/// it must be complete, so AI 8008 (`N6 N2 [N2] [N2]`) takes 8, 10 or 12 digits, never 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    pub charset: Charset,
    /// The fewest characters when the part is present.
    pub min: usize,
    pub max: usize,
    /// The part's last digit is a GS1 mod-10 check digit over the digits before it.
    pub check_digit: bool,
    /// The part may be left out when the value ends before it.
    pub optional: bool,
}

const fn part(charset: Charset, min: usize, max: usize, check_digit: bool) -> Part {
    Part {
        charset,
        min,
        max,
        check_digit,
        optional: false,
    }
}

use Charset::{Cs39, Cs64, Cs82, Numeric};

/// Exactly `len` digits (`N6`).
const fn n(len: usize) -> Part {
    part(Numeric, len, len, false)
}
/// Exactly `len` digits, the last a check digit (`N14,csum`).
const fn n_check(len: usize) -> Part {
    part(Numeric, len, len, true)
}
/// One to `max` digits (`N..8`).
const fn n_upto(max: usize) -> Part {
    part(Numeric, 1, max, false)
}
/// Exactly `len` CS82 characters (`X2`).
const fn x(len: usize) -> Part {
    part(Cs82, len, len, false)
}
/// One to `max` CS82 characters (`X..20`).
const fn x_upto(max: usize) -> Part {
    part(Cs82, 1, max, false)
}
/// One to `max` CS39 characters (`Y..30`).
const fn y_upto(max: usize) -> Part {
    part(Cs39, 1, max, false)
}
/// One to `max` base64url characters (`Z..90`).
const fn z_upto(max: usize) -> Part {
    part(Cs64, 1, max, false)
}
/// The same part, optional (`[N6]`).
const fn opt(part: Part) -> Part {
    Part {
        optional: true,
        ..part
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AiEntry {
    /// The AI's digits, or for a family such as `310n` the digits before `n`.
    pub ai: &'static str,
    /// For a family, the largest allowed last digit (the smallest is always 0); for
    /// measures it is the number of decimal places.
    pub last_digit_max: Option<u8>,
    pub parts: &'static [Part],
    pub title: &'static str,
}

impl AiEntry {
    /// Number of digits in the AI itself.
    pub fn ai_len(&self) -> usize {
        self.ai.len() + usize::from(self.last_digit_max.is_some())
    }

    /// The fewest characters a value can have: every required part at its shortest.
    pub fn min_value_len(&self) -> usize {
        self.parts
            .iter()
            .filter(|part| !part.optional)
            .map(|part| part.min)
            .sum()
    }

    pub fn max_value_len(&self) -> usize {
        self.parts.iter().map(|part| part.max).sum()
    }

    /// Fixed-length fields need no separator after them in this parser: their length is
    /// known from the table, whether or not GS1 lists them as "predefined length".
    pub fn is_fixed_length(&self) -> bool {
        self.min_value_len() == self.max_value_len()
    }
}

const fn entry(ai: &'static str, parts: &'static [Part], title: &'static str) -> AiEntry {
    AiEntry {
        ai,
        last_digit_max: None,
        parts,
        title,
    }
}

const fn family(
    ai: &'static str,
    last_digit_max: u8,
    parts: &'static [Part],
    title: &'static str,
) -> AiEntry {
    AiEntry {
        ai,
        last_digit_max: Some(last_digit_max),
        parts,
        title,
    }
}

const MEASURE: &[Part] = &[n(6)];
const DATE: &[Part] = &[n(6)];
const GLN: &[Part] = &[n_check(13)];

/// The table, in AI order.
pub(crate) const AI_TABLE: &[AiEntry] = &[
    entry("00", &[n_check(18)], "SSCC"),
    entry("01", &[n_check(14)], "GTIN"),
    entry("02", &[n_check(14)], "CONTENT"),
    entry("03", &[n_check(14)], "MTO GTIN"),
    entry("10", &[x_upto(20)], "BATCH/LOT"),
    entry("11", DATE, "PROD DATE"),
    entry("12", DATE, "DUE DATE"),
    entry("13", DATE, "PACK DATE"),
    entry("15", DATE, "BEST BEFORE or BEST BY"),
    entry("16", DATE, "SELL BY"),
    entry("17", DATE, "USE BY or EXPIRY"),
    entry("20", &[n(2)], "VARIANT"),
    entry("21", &[x_upto(20)], "SERIAL"),
    entry("22", &[x_upto(20)], "CPV"),
    entry("235", &[x_upto(28)], "TPX"),
    entry("240", &[x_upto(30)], "ADDITIONAL ID"),
    entry("241", &[x_upto(30)], "CUST. PART No."),
    entry("242", &[n_upto(6)], "MTO VARIANT"),
    entry("243", &[x_upto(20)], "PCN"),
    entry("250", &[x_upto(30)], "SECONDARY SERIAL"),
    entry("251", &[x_upto(30)], "REF. TO SOURCE"),
    entry("253", &[n_check(13), opt(x_upto(17))], "GDTI"),
    entry("254", &[x_upto(20)], "GLN EXTENSION COMPONENT"),
    entry("255", &[n_check(13), opt(n_upto(12))], "GCN"),
    entry("30", &[n_upto(8)], "VAR. COUNT"),
    family("310", 5, MEASURE, "NET WEIGHT (kg)"),
    family("311", 5, MEASURE, "LENGTH (m)"),
    family("312", 5, MEASURE, "WIDTH (m)"),
    family("313", 5, MEASURE, "HEIGHT (m)"),
    family("314", 5, MEASURE, "AREA (m²)"),
    family("315", 5, MEASURE, "NET VOLUME (l)"),
    family("316", 5, MEASURE, "NET VOLUME (m³)"),
    family("320", 5, MEASURE, "NET WEIGHT (lb)"),
    family("321", 5, MEASURE, "LENGTH (in)"),
    family("322", 5, MEASURE, "LENGTH (ft)"),
    family("323", 5, MEASURE, "LENGTH (yd)"),
    family("324", 5, MEASURE, "WIDTH (in)"),
    family("325", 5, MEASURE, "WIDTH (ft)"),
    family("326", 5, MEASURE, "WIDTH (yd)"),
    family("327", 5, MEASURE, "HEIGHT (in)"),
    family("328", 5, MEASURE, "HEIGHT (ft)"),
    family("329", 5, MEASURE, "HEIGHT (yd)"),
    family("330", 5, MEASURE, "GROSS WEIGHT (kg)"),
    family("331", 5, MEASURE, "LENGTH (m), log"),
    family("332", 5, MEASURE, "WIDTH (m), log"),
    family("333", 5, MEASURE, "HEIGHT (m), log"),
    family("334", 5, MEASURE, "AREA (m²), log"),
    family("335", 5, MEASURE, "VOLUME (l), log"),
    family("336", 5, MEASURE, "VOLUME (m³), log"),
    family("337", 5, MEASURE, "KG PER m²"),
    family("340", 5, MEASURE, "GROSS WEIGHT (lb)"),
    family("341", 5, MEASURE, "LENGTH (in), log"),
    family("342", 5, MEASURE, "LENGTH (ft), log"),
    family("343", 5, MEASURE, "LENGTH (yd), log"),
    family("344", 5, MEASURE, "WIDTH (in), log"),
    family("345", 5, MEASURE, "WIDTH (ft), log"),
    family("346", 5, MEASURE, "WIDTH (yd), log"),
    family("347", 5, MEASURE, "HEIGHT (in), log"),
    family("348", 5, MEASURE, "HEIGHT (ft), log"),
    family("349", 5, MEASURE, "HEIGHT (yd), log"),
    family("350", 5, MEASURE, "AREA (in²)"),
    family("351", 5, MEASURE, "AREA (ft²)"),
    family("352", 5, MEASURE, "AREA (yd²)"),
    family("353", 5, MEASURE, "AREA (in²), log"),
    family("354", 5, MEASURE, "AREA (ft²), log"),
    family("355", 5, MEASURE, "AREA (yd²), log"),
    family("356", 5, MEASURE, "NET WEIGHT (tr oz)"),
    family("357", 5, MEASURE, "NET VOLUME (oz)"),
    family("360", 5, MEASURE, "NET VOLUME (qt (US))"),
    family("361", 5, MEASURE, "NET VOLUME (gal.)"),
    family("362", 5, MEASURE, "VOLUME (qt (US)), log"),
    family("363", 5, MEASURE, "VOLUME (gal (US)), log"),
    family("364", 5, MEASURE, "NET VOLUME (in³)"),
    family("365", 5, MEASURE, "NET VOLUME (ft³)"),
    family("366", 5, MEASURE, "NET VOLUME (yd³)"),
    family("367", 5, MEASURE, "VOLUME (in³), log"),
    family("368", 5, MEASURE, "VOLUME (ft³), log"),
    family("369", 5, MEASURE, "VOLUME (yd³), log"),
    entry("37", &[n_upto(8)], "COUNT"),
    family("390", 9, &[n_upto(15)], "AMOUNT"),
    family("391", 9, &[n(3), n_upto(15)], "AMOUNT"),
    family("392", 9, &[n_upto(15)], "PRICE"),
    family("393", 9, &[n(3), n_upto(15)], "PRICE"),
    family("394", 3, &[n(4)], "PRCNT OFF"),
    family("395", 5, &[n(6)], "PRICE/UoM"),
    entry("400", &[x_upto(30)], "ORDER NUMBER"),
    entry("401", &[x_upto(30)], "GINC"),
    entry("402", &[n_check(17)], "GSIN"),
    entry("403", &[x_upto(30)], "ROUTE"),
    entry("410", GLN, "SHIP TO LOC"),
    entry("411", GLN, "BILL TO"),
    entry("412", GLN, "PURCHASE FROM"),
    entry("413", GLN, "SHIP FOR LOC"),
    entry("414", GLN, "LOC No."),
    entry("415", GLN, "PAY TO"),
    entry("416", GLN, "PROD/SERV LOC"),
    entry("417", GLN, "PARTY"),
    entry("420", &[x_upto(20)], "SHIP TO POST"),
    entry("421", &[n(3), x_upto(9)], "SHIP TO POST"),
    entry("422", &[n(3)], "ORIGIN"),
    entry(
        "423",
        &[n(3), opt(n(3)), opt(n(3)), opt(n(3)), opt(n(3))],
        "COUNTRY - INITIAL PROCESS",
    ),
    entry("424", &[n(3)], "COUNTRY - PROCESS"),
    entry(
        "425",
        &[n(3), opt(n(3)), opt(n(3)), opt(n(3)), opt(n(3))],
        "COUNTRY - DISASSEMBLY",
    ),
    entry("426", &[n(3)], "COUNTRY - FULL PROCESS"),
    entry("427", &[x_upto(3)], "ORIGIN SUBDIVISION"),
    entry("4300", &[x_upto(35)], "SHIP TO COMP"),
    entry("4301", &[x_upto(35)], "SHIP TO NAME"),
    entry("4302", &[x_upto(70)], "SHIP TO ADD1"),
    entry("4303", &[x_upto(70)], "SHIP TO ADD2"),
    entry("4304", &[x_upto(70)], "SHIP TO SUB"),
    entry("4305", &[x_upto(70)], "SHIP TO LOC"),
    entry("4306", &[x_upto(70)], "SHIP TO REG"),
    entry("4307", &[x(2)], "SHIP TO COUNTRY"),
    entry("4308", &[x_upto(30)], "SHIP TO PHONE"),
    entry("4309", &[n(10), n(10)], "SHIP TO GEO"),
    entry("4310", &[x_upto(35)], "RTN TO COMP"),
    entry("4311", &[x_upto(35)], "RTN TO NAME"),
    entry("4312", &[x_upto(70)], "RTN TO ADD1"),
    entry("4313", &[x_upto(70)], "RTN TO ADD2"),
    entry("4314", &[x_upto(70)], "RTN TO SUB"),
    entry("4315", &[x_upto(70)], "RTN TO LOC"),
    entry("4316", &[x_upto(70)], "RTN TO REG"),
    entry("4317", &[x(2)], "RTN TO COUNTRY"),
    entry("4318", &[x_upto(20)], "RTN TO POST"),
    entry("4319", &[x_upto(30)], "RTN TO PHONE"),
    entry("4320", &[x_upto(35)], "SRV DESCRIPTION"),
    entry("4321", &[n(1)], "DANGEROUS GOODS"),
    entry("4322", &[n(1)], "AUTH TO LEAVE"),
    entry("4323", &[n(1)], "SIG REQUIRED"),
    entry("4324", &[n(6), n(4)], "NOT BEF DEL DT"),
    entry("4325", &[n(6), n(4)], "NOT AFT DEL DT"),
    entry("4326", &[n(6)], "REL DATE"),
    entry("4330", &[n(6), opt(x(1))], "MAX TEMP F."),
    entry("4331", &[n(6), opt(x(1))], "MAX TEMP C."),
    entry("4332", &[n(6), opt(x(1))], "MIN TEMP F."),
    entry("4333", &[n(6), opt(x(1))], "MIN TEMP C."),
    entry("7001", &[n(13)], "NSN"),
    entry("7002", &[x_upto(30)], "MEAT CUT"),
    entry("7003", &[n(6), n(4)], "EXPIRY TIME"),
    entry("7004", &[n_upto(4)], "ACTIVE POTENCY"),
    entry("7005", &[x_upto(12)], "CATCH AREA"),
    entry("7006", &[n(6)], "FIRST FREEZE DATE"),
    entry("7007", &[n(6), opt(n(6))], "HARVEST DATE"),
    entry("7008", &[x_upto(3)], "AQUATIC SPECIES"),
    entry("7009", &[x_upto(10)], "FISHING GEAR TYPE"),
    entry("7010", &[x_upto(2)], "PROD METHOD"),
    entry("7011", &[n(6), opt(n(4))], "TEST BY DATE"),
    entry("7020", &[x_upto(20)], "REFURB LOT"),
    entry("7021", &[x_upto(20)], "FUNC STAT"),
    entry("7022", &[x_upto(20)], "REV STAT"),
    entry("7023", &[x_upto(30)], "GIAI - ASSEMBLY"),
    entry("7030", &[n(3), x_upto(27)], "PROCESSOR # 0"),
    entry("7031", &[n(3), x_upto(27)], "PROCESSOR # 1"),
    entry("7032", &[n(3), x_upto(27)], "PROCESSOR # 2"),
    entry("7033", &[n(3), x_upto(27)], "PROCESSOR # 3"),
    entry("7034", &[n(3), x_upto(27)], "PROCESSOR # 4"),
    entry("7035", &[n(3), x_upto(27)], "PROCESSOR # 5"),
    entry("7036", &[n(3), x_upto(27)], "PROCESSOR # 6"),
    entry("7037", &[n(3), x_upto(27)], "PROCESSOR # 7"),
    entry("7038", &[n(3), x_upto(27)], "PROCESSOR # 8"),
    entry("7039", &[n(3), x_upto(27)], "PROCESSOR # 9"),
    entry("7040", &[n(1), x(1), x(1), x(1)], "UIC+EXT"),
    entry("7041", &[x_upto(4)], "UFRGT UNIT TYPE"),
    entry("710", &[x_upto(20)], "NHRN PZN"),
    entry("711", &[x_upto(20)], "NHRN CIP"),
    entry("712", &[x_upto(20)], "NHRN CN"),
    entry("713", &[x_upto(20)], "NHRN DRN"),
    entry("714", &[x_upto(20)], "NHRN AIM"),
    entry("715", &[x_upto(20)], "NHRN NDC"),
    entry("716", &[x_upto(20)], "NHRN AIC"),
    entry("717", &[x_upto(20)], "NHRN SRN"),
    entry("7230", &[x(2), x_upto(28)], "CERT # 1"),
    entry("7231", &[x(2), x_upto(28)], "CERT # 2"),
    entry("7232", &[x(2), x_upto(28)], "CERT # 3"),
    entry("7233", &[x(2), x_upto(28)], "CERT # 4"),
    entry("7234", &[x(2), x_upto(28)], "CERT # 5"),
    entry("7235", &[x(2), x_upto(28)], "CERT # 6"),
    entry("7236", &[x(2), x_upto(28)], "CERT # 7"),
    entry("7237", &[x(2), x_upto(28)], "CERT # 8"),
    entry("7238", &[x(2), x_upto(28)], "CERT # 9"),
    entry("7239", &[x(2), x_upto(28)], "CERT # 10"),
    entry("7240", &[x_upto(20)], "PROTOCOL"),
    entry("7241", &[n(2)], "AIDC MEDIA TYPE"),
    entry("7242", &[x_upto(25)], "VCN"),
    entry("7250", &[n(8)], "DOB"),
    entry("7251", &[n(8), n(4)], "DOB TIME"),
    entry("7252", &[n(1)], "BIO SEX"),
    entry("7253", &[x_upto(40)], "FAMILY NAME"),
    entry("7254", &[x_upto(40)], "GIVEN NAME"),
    entry("7255", &[x_upto(10)], "SUFFIX"),
    entry("7256", &[x_upto(90)], "FULL NAME"),
    entry("7257", &[x_upto(70)], "PERSON ADDR"),
    entry("7258", &[x(3)], "BIRTH SEQUENCE"),
    entry("7259", &[x_upto(40)], "BABY"),
    entry("8001", &[n(4), n(5), n(3), n(1), n(1)], "DIMENSIONS"),
    entry("8002", &[x_upto(20)], "CMT No."),
    entry("8003", &[n(1), n_check(13), opt(x_upto(16))], "GRAI"),
    entry("8004", &[x_upto(30)], "GIAI"),
    entry("8005", &[n(6)], "PRICE PER UNIT"),
    entry("8006", &[n_check(14), n(4)], "ITIP"),
    entry("8007", &[x_upto(34)], "IBAN"),
    entry("8008", &[n(6), n(2), opt(n(2)), opt(n(2))], "PROD TIME"),
    entry("8009", &[x_upto(50)], "OPTSEN"),
    entry("8010", &[y_upto(30)], "CPID"),
    entry("8011", &[n_upto(12)], "CPID SERIAL"),
    entry("8012", &[x_upto(20)], "VERSION"),
    entry("8013", &[x_upto(25)], "GMN"),
    entry("8014", &[x_upto(25)], "MUDI"),
    entry("8017", &[n_check(18)], "GSRN - PROVIDER"),
    entry("8018", &[n_check(18)], "GSRN - RECIPIENT"),
    entry("8019", &[n_upto(10)], "SRIN"),
    entry("8020", &[x_upto(25)], "REF No."),
    entry("8026", &[n_check(14), n(4)], "ITIP CONTENT"),
    entry("8030", &[z_upto(90)], "DIGSIG"),
    entry("8040", &[n(15)], "IMEI"),
    entry("8041", &[n(15)], "IMEI2"),
    entry("8042", &[n(32)], "ESIM"),
    entry("8043", &[n(18), opt(n_upto(2))], "PSIM"),
    entry("8110", &[x_upto(70)], "COUPON CODE"),
    entry("8111", &[n(4)], "POINTS"),
    entry("8112", &[x_upto(70)], "PAPERLESS COUPON"),
    entry("8200", &[x_upto(70)], "PRODUCT URL"),
    entry("90", &[x_upto(30)], "INTERNAL"),
    entry("91", &[x_upto(90)], "INTERNAL"),
    entry("92", &[x_upto(90)], "INTERNAL"),
    entry("93", &[x_upto(90)], "INTERNAL"),
    entry("94", &[x_upto(90)], "INTERNAL"),
    entry("95", &[x_upto(90)], "INTERNAL"),
    entry("96", &[x_upto(90)], "INTERNAL"),
    entry("97", &[x_upto(90)], "INTERNAL"),
    entry("98", &[x_upto(90)], "INTERNAL"),
    entry("99", &[x_upto(90)], "INTERNAL"),
];

/// The entry for exactly these AI digits (`"17"`, `"3103"`), if GS1 defines it.
pub(crate) fn lookup(ai_digits: &str) -> Option<&'static AiEntry> {
    AI_TABLE.iter().find(|entry| {
        let Some(rest) = ai_digits.strip_prefix(entry.ai) else {
            return false;
        };
        match entry.last_digit_max {
            None => rest.is_empty(),
            Some(max) => {
                rest.len() == 1
                    && rest
                        .bytes()
                        .next()
                        .is_some_and(|digit| digit.is_ascii_digit() && digit - b'0' <= max)
            }
        }
    })
}

/// How many digits an AI starting with these two digits has, or `None` when no AI starts
/// with them. Relies on the table property that the first two digits fix the length.
pub(crate) fn ai_len_for_prefix(first_two_digits: &str) -> Option<usize> {
    AI_TABLE
        .iter()
        .find(|entry| entry.ai.starts_with(first_two_digits))
        .map(AiEntry::ai_len)
}

#[cfg(test)]
mod dictionary_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_two_digits_fix_the_ai_length() {
        for entry in AI_TABLE {
            let prefix = &entry.ai[..2];
            assert_eq!(
                ai_len_for_prefix(prefix),
                Some(entry.ai_len()),
                "every AI starting {prefix} must have the length of {}",
                entry.ai
            );
        }
    }

    #[test]
    fn no_ai_is_a_prefix_of_another() {
        for (outer_idx, outer) in AI_TABLE.iter().enumerate() {
            for (inner_idx, inner) in AI_TABLE.iter().enumerate() {
                if outer_idx != inner_idx {
                    assert!(
                        !inner.ai.starts_with(outer.ai),
                        "{} is a prefix of {}, so the parser could not tell them apart",
                        outer.ai,
                        inner.ai
                    );
                    assert_ne!(outer.ai, inner.ai, "duplicate table row");
                }
            }
        }
    }

    #[test]
    fn families_cover_only_their_listed_digits() {
        assert!(lookup("3105").is_some());
        assert!(lookup("3106").is_none(), "310n has at most 5 decimals");
        assert!(lookup("3170").is_none(), "317n is not a GS1 measure");
        assert!(lookup("3943").is_some());
        assert!(lookup("3944").is_none());
        assert!(lookup("23").is_none(), "23 is not an AI; 235 is");
    }

    #[test]
    fn only_the_last_part_of_a_field_varies() {
        for entry in AI_TABLE {
            let (last, leading) = entry.parts.split_last().expect("every AI has data");
            assert!(
                leading.iter().all(|part| part.min == part.max),
                "{}: only the last part may vary, the parser splits fields on that",
                entry.ai
            );
            assert!(last.max >= 1, "{}: a field holds something", entry.ai);
            let first_optional = entry
                .parts
                .iter()
                .position(|part| part.optional)
                .unwrap_or(entry.parts.len());
            assert!(
                entry
                    .parts
                    .iter()
                    .skip(first_optional)
                    .all(|part| part.optional),
                "{}: no required part may follow an optional one",
                entry.ai
            );
        }
    }
}
