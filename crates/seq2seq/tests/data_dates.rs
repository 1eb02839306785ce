//! The built-in date task: correct renderings, a seeded generator, and
//! splits that share no date and no sentence.

use seq2seq::data::{generate_dates, Date, DateFormat, DateTaskConfig};
use std::collections::HashSet;

fn small(seed: u64) -> DateTaskConfig {
    DateTaskConfig {
        seed,
        train: 3_000,
        valid: 300,
        test: 300,
        ..Default::default()
    }
}

#[test]
fn every_format_renders_as_documented() {
    let date = Date {
        year: 2021,
        month: 3,
        day: 3,
    };
    let rendered: Vec<String> = DateFormat::ALL
        .iter()
        .map(|f| f.render(date).unwrap())
        .collect();
    assert_eq!(
        rendered,
        [
            "the third of march 2021",
            "3/3/21",
            "March 3rd, 2021",
            "03.03.2021",
            "wednesday 3 march 2021",
            "3 mar 2021",
            "03/03/2021",
            "3-3-2021",
            "Wed, 3 Mar 2021",
            "3rd of march, 2021",
            "march 3 2021",
            "2021/03/03",
            "the 3rd of March 2021",
            "03 March 2021",
        ]
    );
    assert_eq!(date.iso(), "2021-03-03");
}

#[test]
fn numeric_dates_are_day_first_and_ordinals_are_english() {
    let d = Date {
        year: 1999,
        month: 12,
        day: 22,
    };
    assert_eq!(DateFormat::SlashShortYear.render(d).unwrap(), "22/12/99");
    assert_eq!(
        DateFormat::WordsOf.render(d).unwrap(),
        "the twenty-second of december 1999"
    );
    assert_eq!(
        DateFormat::MonthOrdinalComma
            .render(Date {
                year: 2011,
                month: 1,
                day: 11
            })
            .unwrap(),
        "January 11th, 2011"
    );
    assert_eq!(
        DateFormat::OrdinalOfComma
            .render(Date {
                year: 2011,
                month: 5,
                day: 31
            })
            .unwrap(),
        "31st of may, 2011"
    );
    // Two-digit years only where they are unambiguous (1950–2049).
    assert_eq!(
        DateFormat::SlashShortYear.render(Date {
            year: 1949,
            month: 1,
            day: 1
        }),
        None
    );
}

#[test]
fn calendar_round_trips_and_knows_weekdays() {
    let first = Date {
        year: 1900,
        month: 1,
        day: 1,
    }
    .to_days();
    let last = Date {
        year: 2100,
        month: 12,
        day: 31,
    }
    .to_days();
    for days in first..=last {
        assert_eq!(Date::from_days(days).to_days(), days);
    }
    assert_eq!(
        Date {
            year: 1970,
            month: 1,
            day: 1
        }
        .to_days(),
        0
    );
    assert_eq!(
        Date {
            year: 2000,
            month: 2,
            day: 29
        }
        .weekday(),
        1,
        "a Tuesday"
    );
    assert_eq!(
        Date::from_days(
            Date {
                year: 2000,
                month: 2,
                day: 28
            }
            .to_days()
                + 1
        )
        .day,
        29
    );
    assert_eq!(
        Date::from_days(
            Date {
                year: 1900,
                month: 2,
                day: 28
            }
            .to_days()
                + 1
        )
        .month,
        3,
        "1900 is not a leap year"
    );
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let a = generate_dates(&small(1)).unwrap();
    assert_eq!(a, generate_dates(&small(1)).unwrap());
    assert_ne!(a.test, generate_dates(&small(2)).unwrap().test);
    assert_eq!(
        (a.train.len(), a.valid.len(), a.test.len()),
        (3_000, 300, 300)
    );
}

#[test]
fn splits_share_no_date_and_no_sentence() {
    let s = generate_dates(&small(4)).unwrap();
    let dates =
        |part: &[seq2seq::data::Pair]| part.iter().map(|p| p.tgt.clone()).collect::<HashSet<_>>();
    let (train, valid, test) = (dates(&s.train), dates(&s.valid), dates(&s.test));
    assert!(train.is_disjoint(&valid) && train.is_disjoint(&test) && valid.is_disjoint(&test));
    let sources: HashSet<&str> = s
        .train
        .iter()
        .chain(&s.valid)
        .chain(&s.test)
        .map(|p| p.src.as_str())
        .collect();
    assert_eq!(
        sources.len(),
        3_600,
        "no sentence twice, within or across splits"
    );
    for p in s.train.iter().chain(&s.test) {
        let year: i32 = p.tgt[..4].parse().unwrap();
        assert!((1950..=2049).contains(&year) && p.tgt.len() == 10, "{p:?}");
    }
}

#[test]
fn every_format_is_used() {
    let s = generate_dates(&small(5)).unwrap();
    for format in DateFormat::ALL {
        let used = s.train.iter().any(|p| {
            let y: i32 = p.tgt[..4].parse().unwrap();
            let (m, d) = (p.tgt[5..7].parse().unwrap(), p.tgt[8..].parse().unwrap());
            format
                .render(Date {
                    year: y,
                    month: m,
                    day: d,
                })
                .as_deref()
                == Some(p.src.as_str())
        });
        assert!(used, "{format:?} never used");
    }
}

#[test]
fn more_examples_than_dates_reuse_dates_in_new_formats() {
    let cfg = DateTaskConfig {
        seed: 0,
        train: 2_000,
        valid: 10,
        test: 10,
        first_year: 2000,
        last_year: 2000,
    };
    let s = generate_dates(&cfg).unwrap();
    assert_eq!(s.train.len(), 2_000);
    let distinct: HashSet<&str> = s.train.iter().map(|p| p.src.as_str()).collect();
    assert_eq!(distinct.len(), 2_000);
}

#[test]
fn impossible_requests_are_errors() {
    let too_many = DateTaskConfig {
        train: 10,
        valid: 400,
        test: 400,
        first_year: 2000,
        last_year: 2000,
        seed: 0,
    };
    assert!(generate_dates(&too_many).is_err());
    let too_many_train = DateTaskConfig {
        train: 100 * 14,
        valid: 300,
        test: 0,
        first_year: 2000,
        last_year: 2000,
        seed: 0,
    };
    assert!(generate_dates(&too_many_train).is_err());
    let bad_years = DateTaskConfig {
        first_year: 2050,
        last_year: 2049,
        ..Default::default()
    };
    assert!(generate_dates(&bad_years).is_err());
}
