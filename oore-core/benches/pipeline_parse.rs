//! Parse + validate the largest Codemagic corpus file many times and compare the median to
//! the 1 ms budget: `cargo bench -p oore-core --bench pipeline_parse`.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use oore_core::pipeline::{self, Format};

const TARGET: Duration = Duration::from_millis(1);
const WARMUP: usize = 200;
const RUNS: usize = 2_000;

fn main() {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/codemagic"
    ));
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let (name, content) = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let content = std::fs::read_to_string(e.path()).ok()?;
            pipeline::parse_and_validate(&content, Format::Yaml).ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), content))
        })
        .max_by_key(|(_, content)| content.len())
        .unwrap_or_else(|| panic!("no valid corpus file in {}", dir.display()));

    let (median, p99) = measure(&content, Format::Yaml);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "pipeline parse+validate (largest corpus file, {name}, {} bytes): median {:.3} ms, p99 {:.3} ms, \
         target {} ms -> ratio {:.2}",
        content.len(),
        ms(median),
        ms(p99),
        ms(TARGET),
        median.as_secs_f64() / TARGET.as_secs_f64()
    );

    // the same pipeline written as HUML, for comparison
    let huml = match pipeline::convert(&content, Format::Yaml, Format::Huml) {
        Ok((text, _)) => text,
        Err(report) => panic!("{name} does not convert: {report}"),
    };
    let (median, p99) = measure(&huml, Format::Huml);
    println!(
        "pipeline parse+validate (same file as huml, {} bytes): median {:.3} ms, p99 {:.3} ms, \
         target {} ms -> ratio {:.2}",
        huml.len(),
        ms(median),
        ms(p99),
        ms(TARGET),
        median.as_secs_f64() / TARGET.as_secs_f64()
    );
}

/// Median and 99th percentile of parse + validate over `RUNS` runs, after a warm-up.
fn measure(content: &str, format: Format) -> (Duration, Duration) {
    for _ in 0..WARMUP {
        black_box(pipeline::parse_and_validate(black_box(content), format).is_ok());
    }
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(pipeline::parse_and_validate(black_box(content), format).is_ok());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[RUNS / 2], times[RUNS * 99 / 100])
}
