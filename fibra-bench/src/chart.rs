//! The SVG chart of `docs/PERFORMANCE.md`: ns per task (median) for every
//! timed workload and runtime, as horizontal bars on a log scale. Drawn with
//! `plotters`' SVG backend only (no font files or system libraries: text is
//! written as SVG `<text>` and laid out by the viewer).

use crate::report::Table;
use plotters::prelude::*;

/// Bar colours, one per runtime column (fibra first).
const COLORS: [RGBColor; 6] = [
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0x7f, 0x7f, 0x7f),
];

/// Pixels per workload block.
const BLOCK_PX: u32 = 26;
/// Fraction of a block above its bars, where the workload's label goes.
const LABEL_SHARE: f64 = 0.25;
/// Fraction of a block below its bars, left empty.
const GAP_SHARE: f64 = 0.08;

/// One chart entry: a workload's label and each runtime's ns per task.
struct Group {
    label: String,
    values: Vec<Option<f64>>,
}

fn groups(table: &Table) -> Vec<Group> {
    table
        .rows
        .iter()
        .filter_map(|row| {
            let values: Vec<Option<f64>> = row
                .cells
                .iter()
                .map(|c| {
                    c.stats()
                        .and_then(|s| row.metric.ns_per_task(row.workload, s.median))
                })
                .collect();
            values.iter().any(Option::is_some).then(|| Group {
                label: row.workload.label(),
                values,
            })
        })
        .collect()
}

/// The chart as an SVG document; an error if there is nothing to draw.
pub fn svg(table: &Table) -> Result<String, String> {
    let groups = groups(table);
    let all: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.values.iter().flatten().copied())
        .collect();
    let (lo, hi) = all
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if all.is_empty() {
        return Err("no timed results to chart".to_string());
    }
    let runtimes = table.peers.len();
    let height = 120 + groups.len() as u32 * BLOCK_PX * (runtimes as u32 + 2) / 2;
    let mut svg = String::new();
    draw(&mut svg, table, &groups, (lo / 2.0, hi * 4.0), (1000, height))?;
    Ok(svg)
}

fn draw(
    out: &mut String,
    table: &Table,
    groups: &[Group],
    (x_lo, x_hi): (f64, f64),
    size: (u32, u32),
) -> Result<(), String> {
    let root = SVGBackend::with_string(out, size).into_drawing_area();
    root.fill(&WHITE).map_err(text)?;
    let n = groups.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "ns per task, median, {} workers (lower is better)",
                table.meta.workers
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), 0.0..n)
        .map_err(text)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc("ns per task (log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .map_err(text)?;
    let bar = (1.0 - LABEL_SHARE - GAP_SHARE) / table.peers.len() as f64;
    // Block i spans [n - i - 1, n - i): the label at its top, bars below.
    for (i, group) in groups.iter().enumerate() {
        let top = n - i as f64;
        chart
            .draw_series(std::iter::once(Text::new(
                group.label.clone(),
                (x_lo, top - 0.02),
                ("sans-serif", 13).into_font(),
            )))
            .map_err(text)?;
    }
    for (r, name) in table.peers.iter().enumerate() {
        let color = COLORS[r % COLORS.len()];
        let bars = groups.iter().enumerate().filter_map(|(i, g)| {
            let value = g.values[r]?;
            let y1 = n - i as f64 - LABEL_SHARE - r as f64 * bar;
            Some(Rectangle::new(
                [(x_lo, y1), (value, y1 - bar * 0.85)],
                color.filled(),
            ))
        });
        chart
            .draw_series(bars)
            .map_err(text)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        let numbers = groups.iter().enumerate().filter_map(|(i, g)| {
            let value = g.values[r]?;
            let y = n - i as f64 - LABEL_SHARE - r as f64 * bar;
            Some(Text::new(
                format!(" {value:.0}"),
                (value, y),
                ("sans-serif", 10).into_font(),
            ))
        });
        chart.draw_series(numbers).map_err(text)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(text)?;
    root.present().map_err(text)?;
    Ok(())
}

/// A plotters error as text.
fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn draws_bars_labels_and_legend() {
        let svg = svg(&sample()).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("spawn-burst inside, n=10"), "{svg}");
        assert!(!svg.contains("ping-pong"), "pending rows have no bars");
        assert!(svg.contains("\nfibra\n") && svg.contains("\ngo\n"), "legend");
        assert!(svg.matches("<rect").count() >= 4, "bars");
    }
}
