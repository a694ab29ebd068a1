//! Indonesian number words (terbilang) as clip tokens, 0–999,999, and digit-by-digit reading.

/// The largest number spoken in words.
pub const MAX: u32 = 999_999;

/// The clips any number needs: with these, every number 0–999,999 can be spoken.
pub const NUMBER_CLIPS: [&str; 18] = [
    "nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh",
    "sebelas", "seratus", "seribu", "belas", "puluh", "ratus", "ribu",
];

const DIGITS: [&str; 10] =
    ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"];

use crate::hall::NumberStyle;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is out of range: numbers are spoken from 0 to 999999")]
pub struct OutOfRange(pub u64);

/// Clip tokens for `n` in the given style.
pub fn speak(n: u64, style: NumberStyle) -> Result<Vec<&'static str>, OutOfRange> {
    match style {
        NumberStyle::Terbilang => terbilang(n),
        NumberStyle::Digits => digits(n),
    }
}

/// `n` in words: 123 → `seratus dua puluh tiga`, 1000 → `seribu`, 0 → `nol`.
pub fn terbilang(n: u64) -> Result<Vec<&'static str>, OutOfRange> {
    if n > u64::from(MAX) {
        return Err(OutOfRange(n));
    }
    let n = n as u32;
    if n == 0 {
        return Ok(vec!["nol"]);
    }
    let mut words = Vec::new();
    let (thousands, rest) = (n / 1000, n % 1000);
    match thousands {
        0 => {}
        1 => words.push("seribu"),
        _ => {
            below_thousand(thousands, &mut words);
            words.push("ribu");
        }
    }
    below_thousand(rest, &mut words);
    Ok(words)
}

/// `n` digit by digit: 123 → `satu dua tiga`.
pub fn digits(n: u64) -> Result<Vec<&'static str>, OutOfRange> {
    if n > u64::from(MAX) {
        return Err(OutOfRange(n));
    }
    Ok(n.to_string().bytes().map(|b| DIGITS[usize::from(b - b'0')]).collect())
}

/// Words for 1–999 (nothing for 0: zero is only ever said alone).
fn below_thousand(n: u32, words: &mut Vec<&'static str>) {
    let (hundreds, rest) = (n / 100, n % 100);
    match hundreds {
        0 => {}
        1 => words.push("seratus"),
        h => words.extend([DIGITS[h as usize], "ratus"]),
    }
    match rest {
        0 => {}
        1..=9 => words.push(DIGITS[rest as usize]),
        10 => words.push("sepuluh"),
        11 => words.push("sebelas"),
        12..=19 => words.extend([DIGITS[(rest - 10) as usize], "belas"]),
        _ => {
            words.extend([DIGITS[(rest / 10) as usize], "puluh"]);
            if rest % 10 != 0 {
                words.push(DIGITS[(rest % 10) as usize]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: u64) -> String {
        terbilang(n).unwrap().join(" ")
    }

    #[test]
    fn the_standard_rules() {
        let table = [
            (0, "nol"),
            (1, "satu"),
            (9, "sembilan"),
            (10, "sepuluh"),
            (11, "sebelas"),
            (12, "dua belas"),
            (19, "sembilan belas"),
            (20, "dua puluh"),
            (21, "dua puluh satu"),
            (99, "sembilan puluh sembilan"),
            (100, "seratus"),
            (101, "seratus satu"),
            (110, "seratus sepuluh"),
            (111, "seratus sebelas"),
            (115, "seratus lima belas"),
            (123, "seratus dua puluh tiga"),
            (200, "dua ratus"),
            (999, "sembilan ratus sembilan puluh sembilan"),
            (1000, "seribu"),
            (1001, "seribu satu"),
            (1010, "seribu sepuluh"),
            (1100, "seribu seratus"),
            (1999, "seribu sembilan ratus sembilan puluh sembilan"),
            (2000, "dua ribu"),
            (2020, "dua ribu dua puluh"),
            (10000, "sepuluh ribu"),
            (11000, "sebelas ribu"),
            (12345, "dua belas ribu tiga ratus empat puluh lima"),
            (100000, "seratus ribu"),
            (101000, "seratus satu ribu"),
            (999999, "sembilan ratus sembilan puluh sembilan ribu sembilan ratus sembilan puluh sembilan"),
        ];
        for (n, expected) in table {
            assert_eq!(words(n), expected, "{n}");
        }
    }

    #[test]
    fn nol_only_alone_and_every_token_is_a_known_clip() {
        for n in 1..=MAX as u64 {
            let tokens = terbilang(n).unwrap();
            assert!(!tokens.contains(&"nol"), "{n}: {tokens:?}");
            assert!(tokens.iter().all(|t| NUMBER_CLIPS.contains(t)), "{n}: {tokens:?}");
        }
    }

    #[test]
    fn out_of_range_is_an_error_not_a_panic() {
        assert_eq!(terbilang(1_000_000), Err(OutOfRange(1_000_000)));
        assert_eq!(terbilang(u64::MAX), Err(OutOfRange(u64::MAX)));
        assert_eq!(digits(1_000_000), Err(OutOfRange(1_000_000)));
        assert!(OutOfRange(1_000_000).to_string().contains("0 to 999999"));
    }

    #[test]
    fn digit_by_digit() {
        assert_eq!(digits(123).unwrap().join(" "), "satu dua tiga");
        assert_eq!(digits(0).unwrap(), ["nol"]);
        assert_eq!(digits(1007).unwrap().join(" "), "satu nol nol tujuh");
        assert_eq!(speak(12, NumberStyle::Digits).unwrap(), ["satu", "dua"]);
        assert_eq!(speak(12, NumberStyle::Terbilang).unwrap(), ["dua", "belas"]);
    }
}
