//! The built-in task: dates written many ways → ISO 8601.
//!
//! `s2s train` with no data needs a task that is small, learnable in
//! minutes on a CPU, and shows attention at work: to write "2021-03-03" the
//! decoder must look at the year, then the month, then the day, wherever
//! the source put them. Every example is a date rendered in one of
//! fourteen [`DateFormat`]s:
//!
//! | format                   | 2021-03-03 rendered as        |
//! |--------------------------|-------------------------------|
//! | `WordsOf`                | the third of march 2021       |
//! | `SlashShortYear`         | 3/3/21                        |
//! | `MonthOrdinalComma`      | March 3rd, 2021               |
//! | `Dotted`                 | 03.03.2021                    |
//! | `WeekdayDayMonth`        | wednesday 3 march 2021        |
//! | `DayAbbrevMonth`         | 3 mar 2021                    |
//! | `SlashPadded`            | 03/03/2021                    |
//! | `Dashed`                 | 3-3-2021                      |
//! | `AbbrevWeekdayComma`     | Wed, 3 Mar 2021               |
//! | `OrdinalOfComma`         | 3rd of march, 2021            |
//! | `MonthDayYear`           | march 3 2021                  |
//! | `YearFirstSlash`         | 2021/03/03                    |
//! | `TheOrdinalOfMonth`      | the 3rd of March 2021         |
//! | `PaddedDayMonth`         | 03 March 2021                 |
//!
//! Ambiguity is resolved once for all: **numeric day/month formats are
//! always day first** (as in most of Europe), so "4/3/21" is the 4th of
//! March. Year-first numbers are year/month/day. A two-digit year `yy`
//! means 19yy when yy ≥ 50 and 20yy otherwise, so short-year formats are
//! used only for years 1950–2049. Weekdays are the true ones.
//!
//! Generation (all from one seeded `tensor::Rng`, so the same config gives
//! the same data on any machine): the dates of `first_year..=last_year`
//! (default 1950–2049) are shuffled; the first `test` dates are the test
//! set, the next `valid` the validation set, the rest the training pool.
//! Each date then gets a random format. A date belongs to one split only,
//! so test sentences are about dates never seen in training; the training
//! set may use a date several times in different formats if it asks for
//! more examples than it has dates, but never repeats a sentence.

use super::calendar::{capitalize, ordinal_suffix, ordinal_word, Date, MONTHS, WEEKDAYS};
use super::error::{DataError, Result};
use super::reader::Pair;
use super::split::Splits;
use std::collections::HashSet;
use tensor::Rng;

/// The ways a date is written (see the module docs for examples).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateFormat {
    WordsOf,
    SlashShortYear,
    MonthOrdinalComma,
    Dotted,
    WeekdayDayMonth,
    DayAbbrevMonth,
    SlashPadded,
    Dashed,
    AbbrevWeekdayComma,
    OrdinalOfComma,
    MonthDayYear,
    YearFirstSlash,
    TheOrdinalOfMonth,
    PaddedDayMonth,
}

impl DateFormat {
    pub const ALL: [DateFormat; 14] = [
        DateFormat::WordsOf,
        DateFormat::SlashShortYear,
        DateFormat::MonthOrdinalComma,
        DateFormat::Dotted,
        DateFormat::WeekdayDayMonth,
        DateFormat::DayAbbrevMonth,
        DateFormat::SlashPadded,
        DateFormat::Dashed,
        DateFormat::AbbrevWeekdayComma,
        DateFormat::OrdinalOfComma,
        DateFormat::MonthDayYear,
        DateFormat::YearFirstSlash,
        DateFormat::TheOrdinalOfMonth,
        DateFormat::PaddedDayMonth,
    ];

    /// The date in this format, or `None` for a two-digit-year format and a
    /// year outside 1950–2049.
    pub fn render(self, date: Date) -> Option<String> {
        let Date {
            year: y,
            month: m,
            day: d,
        } = date;
        let month = MONTHS[m as usize - 1];
        let mon = &month[..3];
        let weekday = WEEKDAYS[date.weekday()];
        use DateFormat::*;
        Some(match self {
            WordsOf => format!("the {} of {month} {y}", ordinal_word(d)),
            SlashShortYear if (1950..=2049).contains(&y) => format!("{d}/{m}/{:02}", y % 100),
            SlashShortYear => return None,
            MonthOrdinalComma => format!("{} {}, {y}", capitalize(month), ordinal_suffix(d)),
            Dotted => format!("{d:02}.{m:02}.{y}"),
            WeekdayDayMonth => format!("{weekday} {d} {month} {y}"),
            DayAbbrevMonth => format!("{d} {mon} {y}"),
            SlashPadded => format!("{d:02}/{m:02}/{y}"),
            Dashed => format!("{d}-{m}-{y}"),
            AbbrevWeekdayComma => {
                format!("{}, {d} {} {y}", capitalize(&weekday[..3]), capitalize(mon))
            }
            OrdinalOfComma => format!("{} of {month}, {y}", ordinal_suffix(d)),
            MonthDayYear => format!("{month} {d} {y}"),
            YearFirstSlash => format!("{y}/{m:02}/{d:02}"),
            TheOrdinalOfMonth => format!("the {} of {} {y}", ordinal_suffix(d), capitalize(month)),
            PaddedDayMonth => format!("{d:02} {} {y}", capitalize(month)),
        })
    }
}

/// Sizes, seed and year range of the generated task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DateTaskConfig {
    pub seed: u64,
    pub train: usize,
    pub valid: usize,
    pub test: usize,
    pub first_year: i32,
    pub last_year: i32,
}

impl Default for DateTaskConfig {
    fn default() -> Self {
        DateTaskConfig {
            seed: 0,
            train: 20_000,
            valid: 1_000,
            test: 1_000,
            first_year: 1950,
            last_year: 2049,
        }
    }
}

/// One example: a random format of `date` that `used` has not seen yet
/// (trying the formats in turn after a random start), or `None`.
fn example(date: Date, rng: &mut Rng, used: &mut HashSet<String>) -> Option<Pair> {
    let n = DateFormat::ALL.len();
    let start = rng.below(n);
    (0..n).find_map(|k| {
        let text = DateFormat::ALL[(start + k) % n].render(date)?;
        used.insert(text.clone())
            .then(|| Pair::new(text, date.iso()))
    })
}

/// Generates the train / valid / test splits (see the module docs).
pub fn generate_dates(cfg: &DateTaskConfig) -> Result<Splits<Pair>> {
    if !(1000..=9999).contains(&cfg.first_year)
        || cfg.last_year < cfg.first_year
        || cfg.last_year > 9999
    {
        let msg = format!(
            "year range {}..={} must lie within 1000..=9999",
            cfg.first_year, cfg.last_year
        );
        return Err(DataError::Invalid(msg));
    }
    let first = Date {
        year: cfg.first_year,
        month: 1,
        day: 1,
    }
    .to_days();
    let last = Date {
        year: cfg.last_year,
        month: 12,
        day: 31,
    }
    .to_days();
    let mut days: Vec<i64> = (first..=last).collect();
    let held_out = cfg.valid + cfg.test;
    if held_out + (cfg.train > 0) as usize > days.len() {
        let msg = format!(
            "{held_out} validation and test dates do not fit in {} days",
            days.len()
        );
        return Err(DataError::Invalid(msg));
    }
    let mut rng = Rng::new(cfg.seed);
    rng.shuffle(&mut days);
    let pool: Vec<Date> = days[held_out..]
        .iter()
        .map(|&d| Date::from_days(d))
        .collect();
    if cfg.train > pool.len() * DateFormat::ALL.len() {
        let msg = format!(
            "{} training examples exceed the {} date sentences available",
            cfg.train,
            pool.len() * 14
        );
        return Err(DataError::Invalid(msg));
    }

    let mut used = HashSet::new();
    let mut held = |range: std::ops::Range<usize>, rng: &mut Rng| -> Vec<Pair> {
        days[range]
            .iter()
            .filter_map(|&d| example(Date::from_days(d), rng, &mut used))
            .collect()
    };
    let test = held(0..cfg.test, &mut rng);
    let valid = held(cfg.test..held_out, &mut rng);

    // Training: cycle through the pool; a date whose formats are all used
    // yields nothing. After one pass per format every date is used up, which
    // bounds the loop even when some formats do not apply to some years.
    let mut train = Vec::with_capacity(cfg.train);
    let mut i = 0;
    while train.len() < cfg.train {
        if i == pool.len() * (DateFormat::ALL.len() + 1) {
            let msg = format!(
                "only {} distinct training sentences exist for these years",
                train.len()
            );
            return Err(DataError::Invalid(msg));
        }
        if let Some(pair) = example(pool[i % pool.len()], &mut rng, &mut used) {
            train.push(pair);
        }
        i += 1;
    }
    Ok(Splits { train, valid, test })
}
