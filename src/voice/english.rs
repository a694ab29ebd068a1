//! English number words as clip tokens, 0–999,999 ("one hundred twenty three"), and digit-by-digit.

use super::terbilang::{MAX, OutOfRange};
use crate::hall::NumberStyle;

/// The clips any English number needs; each word is its own clip, as in Indonesian.
pub const NUMBER_CLIPS: [&str; 30] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
];

const TENS: [&str; 10] =
    ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/// Clip tokens for `n` in the given style (digits: "one zero seven").
pub fn speak(n: u64, style: NumberStyle) -> Result<Vec<&'static str>, OutOfRange> {
    if n > u64::from(MAX) {
        return Err(OutOfRange(n));
    }
    Ok(match style {
        NumberStyle::Terbilang => words(n as u32),
        NumberStyle::Digits => n.to_string().bytes().map(|b| NUMBER_CLIPS[usize::from(b - b'0')]).collect(),
    })
}

/// `n` in words, American style (no "and", no hyphen: "twenty three" is two clips): 1000 → `one
/// thousand`, 0 → `zero`.
fn words(n: u32) -> Vec<&'static str> {
    if n == 0 {
        return vec!["zero"];
    }
    let mut words = Vec::new();
    let (thousands, rest) = (n / 1000, n % 1000);
    if thousands > 0 {
        below_thousand(thousands, &mut words);
        words.push("thousand");
    }
    below_thousand(rest, &mut words);
    words
}

/// Words for 1–999 (nothing for 0: zero is only ever said alone).
fn below_thousand(n: u32, words: &mut Vec<&'static str>) {
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        words.extend([NUMBER_CLIPS[hundreds as usize], "hundred"]);
    }
    match rest {
        0 => {}
        1..=19 => words.push(NUMBER_CLIPS[rest as usize]),
        _ => {
            words.push(TENS[(rest / 10) as usize]);
            if rest % 10 != 0 {
                words.push(NUMBER_CLIPS[(rest % 10) as usize]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(n: u64) -> String {
        speak(n, NumberStyle::Terbilang).unwrap().join(" ")
    }

    /// Reads English number words back into a number, the way a listener adds them up; written
    /// apart from the speaker so the two can check each other.
    fn heard(words: &[&str]) -> u64 {
        let (mut total, mut group) = (0u64, 0u64);
        for word in words {
            let value = |w: &str| {
                let units = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
                let teens = [
                    "ten",
                    "eleven",
                    "twelve",
                    "thirteen",
                    "fourteen",
                    "fifteen",
                    "sixteen",
                    "seventeen",
                    "eighteen",
                    "nineteen",
                ];
                let tens = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
                (units.iter().position(|u| *u == w).map(|i| i as u64))
                    .or(teens.iter().position(|t| *t == w).map(|i| 10 + i as u64))
                    .or(tens.iter().position(|t| *t == w).map(|i| 20 + 10 * i as u64))
            };
            match *word {
                "hundred" => group *= 100,
                "thousand" => {
                    total += group * 1000;
                    group = 0;
                }
                w => group += value(w).unwrap_or_else(|| panic!("{w:?} is no number word")),
            }
        }
        total + group
    }

    #[test]
    fn the_usual_readings() {
        let table = [
            (0, "zero"),
            (7, "seven"),
            (10, "ten"),
            (12, "twelve"),
            (19, "nineteen"),
            (20, "twenty"),
            (21, "twenty one"),
            (99, "ninety nine"),
            (100, "one hundred"),
            (101, "one hundred one"),
            (110, "one hundred ten"),
            (115, "one hundred fifteen"),
            (123, "one hundred twenty three"),
            (1000, "one thousand"),
            (1001, "one thousand one"),
            (1010, "one thousand ten"),
            (1100, "one thousand one hundred"),
            (2020, "two thousand twenty"),
            (9999, "nine thousand nine hundred ninety nine"),
            (12345, "twelve thousand three hundred forty five"),
            (999999, "nine hundred ninety nine thousand nine hundred ninety nine"),
        ];
        for (n, expected) in table {
            assert_eq!(said(n), expected, "{n}");
        }
        assert_eq!(speak(107, NumberStyle::Digits).unwrap().join(" "), "one zero seven");
    }

    #[test]
    fn every_ticket_number_is_said_in_known_clips_and_heard_as_itself() {
        for n in 0..=9_999u64 {
            let tokens = speak(n, NumberStyle::Terbilang).unwrap();
            assert!(tokens.iter().all(|t| NUMBER_CLIPS.contains(t)), "{n}: {tokens:?}");
            assert!(n == 0 || !tokens.contains(&"zero"), "{n}: zero only alone");
            assert_eq!(heard(&tokens), n, "{n}: {tokens:?}");
            let digits = speak(n, NumberStyle::Digits).unwrap();
            let digits: String = digits.iter().map(|d| char::from(b'0' + heard(&[d]) as u8)).collect();
            assert_eq!(digits, n.to_string());
        }
        assert_eq!(speak(1_000_000, NumberStyle::Terbilang), Err(OutOfRange(1_000_000)));
    }
}
