//! Our own small SVG charts: bar, line (time series), timeline, radar and dot.
//!
//! No chart library and no JavaScript: the reference's charts need pygal and cairo, and a
//! chart library would bring its own dependencies for five simple drawings. Each function
//! returns one `<svg>` element with a `viewBox` (it scales with the page), text escaped,
//! colours from one palette, and ids prefixed by the chart's id (several charts share a
//! page). Lines are thinned to [`MAX_POINTS`] per series so a long Prometheus range stays
//! small; non-finite values never reach the drawing.

use crate::document::{Chart, ChartKind, LineSeries, TimelineRow, Tone};
use std::fmt::Write;

/// The most points drawn per line series.
pub const MAX_POINTS: usize = 1_000;

const PALETTE: [&str; 8] = [
    "#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
];
const FONT: &str = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\"";

/// The colour of a tone.
pub fn tone_colour(t: Tone) -> &'static str {
    match t {
        Tone::Good => "#16a34a",
        Tone::Bad => "#dc2626",
        Tone::Warn => "#d97706",
        Tone::Neutral => "#64748b",
    }
}

/// Escapes text for XML content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The chart as one `<svg>` element.
pub fn chart(c: &Chart) -> String {
    let id = crate::document::slug(&c.id);
    match &c.kind {
        ChartKind::Bar {
            categories,
            series,
            y_label,
        } => bar(&id, &c.title, categories, series, y_label),
        ChartKind::Line {
            series,
            x_is_time,
            y_label,
            log_y,
        } => line(&id, &c.title, series, *x_is_time, y_label, *log_y),
        ChartKind::Timeline { rows } => timeline(&id, &c.title, rows),
        ChartKind::Radar { axes, series } => radar(&id, &c.title, axes, series),
        ChartKind::Dot { columns, rows } => dot(&id, &c.title, columns, rows),
    }
}

fn open(id: &str, title: &str, w: f64, h: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\" class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\" {FONT} font-size=\"12\"><title>{t}</title><rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/><text x=\"{x}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"600\" fill=\"#0f172a\">{t}</text>",
        t = escape(title),
        x = w / 2.0,
    )
}

/// "Nice" tick values covering [lo, hi].
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).abs();
    if !span.is_finite() || span == 0.0 {
        return vec![lo];
    }
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut out = Vec::new();
    let mut v = (lo / step).floor() * step;
    while v <= hi + step * 1e-9 && out.len() < 50 {
        if v >= lo - step * 1e-9 {
            out.push(v);
        }
        v += step;
    }
    out
}

fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        format!("{v:.2e}")
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn fmt_time(t: f64, span: f64) -> String {
    let Ok(d) = time::OffsetDateTime::from_unix_timestamp(t.floor() as i64) else {
        return fmt_num(t);
    };
    if span > 2.0 * 86_400.0 {
        format!(
            "{:02}-{:02} {:02}:{:02}",
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        )
    } else {
        format!("{:02}:{:02}:{:02}", d.hour(), d.minute(), d.second())
    }
}

fn bar(
    id: &str,
    title: &str,
    cats: &[String],
    series: &[(String, Vec<f64>)],
    y_label: &str,
) -> String {
    let (w, h) = (640.0, 300.0);
    let (l, r, t, b) = (56.0, 16.0, 36.0, 90.0);
    let mut s = open(id, title, w, h);
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1.0);
    let ys = ticks(0.0, max, 5);
    let top = ys.last().copied().unwrap_or(max).max(max);
    let ph = h - t - b;
    let pw = w - l - r;
    let y = |v: f64| t + ph - v / top * ph;
    for v in &ys {
        let _ = write!(
            s,
            "<line x1=\"{l}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e2e8f0\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#475569\">{}</text>",
            w - r,
            l - 6.0,
            y(*v) + 4.0,
            fmt_num(*v),
            yy = y(*v)
        );
    }
    let _ = write!(
        s,
        "<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\" fill=\"#475569\">{}</text>",
        t + ph / 2.0,
        escape(y_label)
    );
    let n = cats.len().max(1) as f64;
    let group = pw / n;
    let k = series.len().max(1) as f64;
    let bw = (group * 0.7 / k).min(48.0);
    for (ci, cat) in cats.iter().enumerate() {
        let gx = l + group * ci as f64 + (group - bw * k) / 2.0;
        for (si, (name, vals)) in series.iter().enumerate() {
            let v = vals
                .get(ci)
                .copied()
                .filter(|v| v.is_finite())
                .unwrap_or(0.0);
            let x = gx + bw * si as f64;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{}\"><title>{}: {} {}</title></rect>",
                y(v),
                t + ph - y(v),
                PALETTE[si % PALETTE.len()],
                escape(cat),
                fmt_num(v),
                escape(name)
            );
        }
        let cx = l + group * (ci as f64 + 0.5);
        let _ = write!(
            s,
            "<text transform=\"translate({cx:.1} {}) rotate(-30)\" text-anchor=\"end\" fill=\"#334155\">{}</text>",
            t + ph + 14.0,
            escape(&shorten(cat, 28))
        );
    }
    s.push_str("</svg>");
    s
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// At most `max` points, evenly picked, first and last kept.
fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if pts.len() <= max || max < 2 {
        return pts;
    }
    let step = (pts.len() - 1) as f64 / (max - 1) as f64;
    (0..max)
        .map(|i| pts[((i as f64 * step).round() as usize).min(pts.len() - 1)])
        .collect()
}

fn line(
    id: &str,
    title: &str,
    series: &[LineSeries],
    x_time: bool,
    y_label: &str,
    log_y: bool,
) -> String {
    let (w, h) = (640.0, 300.0);
    let legend_rows = series.len().min(8) as f64;
    let h = h + legend_rows * 16.0;
    let (l, r, t, b) = (64.0, 20.0, 36.0, 48.0 + legend_rows * 16.0);
    let mut s = open(id, title, w, h);
    let thinned: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|se| {
            thin(&se.points, MAX_POINTS)
                .into_iter()
                .filter(|(_, y)| !log_y || *y > 0.0)
                .map(|(x, y)| (x, if log_y { y.log10() } else { y }))
                .collect()
        })
        .collect();
    let all = || thinned.iter().flatten();
    if all().next().is_none() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#64748b\">no data</text></svg>",
            w / 2.0,
            h / 2.0
        );
        return s;
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in all() {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if !log_y && y0 > 0.0 {
        y0 = 0.0;
    }
    if y1 - y0 < 1e-12 {
        y1 = y0 + 1.0;
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    let yt = ticks(y0, y1, 5);
    y0 = y0.min(yt.first().copied().unwrap_or(y0));
    y1 = y1.max(yt.last().copied().unwrap_or(y1));
    let (pw, ph) = (w - l - r, h - t - b);
    let px = |x: f64| l + (x - x0) / (x1 - x0) * pw;
    let py = |y: f64| t + ph - (y - y0) / (y1 - y0) * ph;
    for v in &yt {
        let label = if log_y {
            fmt_num(10f64.powf(*v))
        } else {
            fmt_num(*v)
        };
        let _ = write!(
            s,
            "<line x1=\"{l}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e2e8f0\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#475569\">{label}</text>",
            w - r,
            l - 6.0,
            py(*v) + 4.0,
            yy = py(*v)
        );
    }
    for v in ticks(x0, x1, 5) {
        let label = if x_time {
            fmt_time(v, x1 - x0)
        } else {
            fmt_num(v)
        };
        let _ = write!(
            s,
            "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{t}\" y2=\"{}\" stroke=\"#f1f5f9\"/><text x=\"{xx:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#475569\">{label}</text>",
            t + ph,
            t + ph + 16.0,
            xx = px(v)
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#94a3b8\"/><text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\" fill=\"#475569\">{}</text>",
        w - r,
        t + ph / 2.0,
        escape(&if log_y { format!("{y_label} (log)") } else { y_label.to_string() }),
        y = t + ph
    );
    for (i, pts) in thinned.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let mut d = String::new();
        for (k, (x, y)) in pts.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if k == 0 { "M" } else { " L" },
                px(*x),
                py(*y)
            );
        }
        let _ = write!(
            s,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>"
        );
        if pts.len() <= 60 {
            for (x, y) in pts {
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{colour}\"/>",
                    px(*x),
                    py(*y)
                );
            }
        }
    }
    for (i, se) in series.iter().take(8).enumerate() {
        let y = t + ph + 34.0 + i as f64 * 16.0;
        let _ = write!(
            s,
            "<rect x=\"{l}\" y=\"{:.1}\" width=\"12\" height=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{y:.1}\" fill=\"#334155\">{}</text>",
            y - 4.0,
            PALETTE[i % PALETTE.len()],
            l + 18.0,
            escape(&shorten(&se.name, 90))
        );
    }
    s.push_str("</svg>");
    s
}

fn timeline(id: &str, title: &str, rows: &[TimelineRow]) -> String {
    let w = 760.0;
    let (l, r, t) = (230.0, 20.0, 36.0);
    let rh = 20.0;
    let h = t + rh * rows.len().max(1) as f64 + 34.0;
    let mut s = open(id, title, w, h);
    let _ = write!(
        s,
        "<defs><pattern id=\"{id}-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#ffffff\" fill-opacity=\"0.0\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#ffffff\" stroke-width=\"3\" stroke-opacity=\"0.6\"/></pattern></defs>"
    );
    let end = rows
        .iter()
        .map(|r| r.end)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-3);
    let start = rows
        .iter()
        .map(|r| r.start)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::min);
    let pw = w - l - r;
    let px = |v: f64| l + (v - start) / (end - start) * pw;
    let axis_y = t + rh * rows.len().max(1) as f64;
    for v in ticks(start, end, 6) {
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{t}\" y2=\"{axis_y}\" stroke=\"#e2e8f0\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#475569\">{}s</text>",
            axis_y + 16.0,
            fmt_num(v),
            x = px(v)
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = t + rh * i as f64;
        if i % 2 == 1 {
            let _ = write!(
                s,
                "<rect x=\"0\" y=\"{y}\" width=\"{w}\" height=\"{rh}\" fill=\"#f8fafc\"/>"
            );
        }
        let x0 = px(row.start.max(start));
        let x1 = px(row.end.min(end)).max(x0 + 2.0);
        let colour = tone_colour(row.tone);
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#334155\">{}</text><rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"{colour}\"><title>{}: {}s → {}s</title></rect>",
            l - 8.0,
            y + 14.0,
            escape(&shorten(&row.label, 34)),
            y + 4.0,
            x1 - x0,
            rh - 8.0,
            escape(&row.label),
            fmt_num(row.start),
            fmt_num(row.end)
        );
        if row.background {
            let _ = write!(
                s,
                "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"url(#{id}-hatch)\"/>",
                y + 4.0,
                x1 - x0,
                rh - 8.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn radar(id: &str, title: &str, axes: &[String], series: &[(String, Vec<Option<f64>>)]) -> String {
    let (w, h) = (640.0, 420.0 + series.len().min(8) as f64 * 16.0);
    let (cx, cy, rad) = (320.0, 220.0, 150.0);
    let mut s = open(id, title, w, h);
    let n = axes.len().max(3);
    let angle =
        |i: usize| -std::f64::consts::FRAC_PI_2 + i as f64 * std::f64::consts::TAU / n as f64;
    let pt = |i: usize, v: f64| (cx + rad * v * angle(i).cos(), cy + rad * v * angle(i).sin());
    for ring in [0.25, 0.5, 0.75, 1.0] {
        let pts: Vec<String> = (0..n)
            .map(|i| {
                let (x, y) = pt(i, ring);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            s,
            "<polygon points=\"{}\" fill=\"none\" stroke=\"#e2e8f0\"/>",
            pts.join(" ")
        );
    }
    for (i, a) in axes.iter().enumerate() {
        let (x, y) = pt(i, 1.0);
        let (lx, ly) = pt(i, 1.12);
        let anchor = if (lx - cx).abs() < 5.0 {
            "middle"
        } else if lx > cx {
            "start"
        } else {
            "end"
        };
        let _ = write!(
            s,
            "<line x1=\"{cx}\" y1=\"{cy}\" x2=\"{x:.1}\" y2=\"{y:.1}\" stroke=\"#cbd5e1\"/><text x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"#334155\">{}</text>",
            ly + 4.0,
            escape(&shorten(a, 24))
        );
    }
    for (si, (name, vals)) in series.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        let pts: Vec<String> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (x, y) = pt(i, v.unwrap_or(0.0).clamp(0.0, 1.0));
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            s,
            "<polygon points=\"{}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"{colour}\" stroke-width=\"2\"><title>{}</title></polygon>",
            pts.join(" "),
            escape(name)
        );
    }
    for (i, (name, _)) in series.iter().take(8).enumerate() {
        let y = 410.0 + i as f64 * 16.0;
        let _ = write!(
            s,
            "<rect x=\"40\" y=\"{:.1}\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\" fill-opacity=\"0.6\"/><text x=\"58\" y=\"{y:.1}\" fill=\"#334155\">{}</text>",
            y - 10.0,
            PALETTE[i % PALETTE.len()],
            escape(&shorten(name, 90))
        );
    }
    s.push_str("</svg>");
    s
}

fn dot(id: &str, title: &str, cols: &[String], rows: &[(String, Vec<Option<f64>>)]) -> String {
    let l = 260.0;
    let cw = 90.0;
    let rh = 30.0;
    let t = 44.0;
    let w = (l + cw * cols.len() as f64 + 20.0).max(480.0);
    let h = t + rh * rows.len() as f64 + 90.0;
    let mut s = open(id, title, w, h);
    for (ri, (name, vals)) in rows.iter().enumerate() {
        let y = t + rh * (ri as f64 + 0.5);
        let colour = PALETTE[ri % PALETTE.len()];
        let _ = write!(
            s,
            "<line x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#f1f5f9\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#334155\">{}</text>",
            l + cw * cols.len() as f64,
            l - 10.0,
            y + 4.0,
            escape(&shorten(name, 40))
        );
        for (ci, v) in vals.iter().enumerate() {
            let Some(v) = v.filter(|v| v.is_finite()) else {
                continue;
            };
            let x = l + cw * (ci as f64 + 0.5);
            if v < 0.0 {
                let _ = write!(
                    s,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"><title>none</title></circle>"
                );
            } else {
                let _ = write!(
                    s,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{:.1}\" fill=\"{colour}\" fill-opacity=\"0.8\"><title>{}</title></circle>",
                    3.0 + v * 14.0,
                    fmt_num(v)
                );
            }
        }
    }
    for (ci, c) in cols.iter().enumerate() {
        let x = l + cw * (ci as f64 + 0.5);
        let _ = write!(
            s,
            "<text transform=\"translate({x:.1} {}) rotate(-30)\" text-anchor=\"end\" fill=\"#334155\">{}</text>",
            t + rh * rows.len() as f64 + 14.0,
            escape(&shorten(c, 24))
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(3.0, 3.0, 5), vec![3.0]);
        let t = ticks(0.0, 0.3, 5);
        assert!(t.first() == Some(&0.0) && *t.last().unwrap() >= 0.3 - 1e-9);
    }

    #[test]
    fn thinning_keeps_the_ends_and_drops_non_finite() {
        let pts: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, i as f64)).collect();
        let t = thin(&pts, 100);
        assert_eq!(t.len(), 100);
        assert_eq!(t[0], (0.0, 0.0));
        assert_eq!(t[99], (9999.0, 9999.0));
        assert_eq!(thin(&[(0.0, f64::NAN), (1.0, 1.0)], 10), vec![(1.0, 1.0)]);
    }

    #[test]
    fn text_is_escaped_and_every_kind_draws() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let c = Chart {
            id: "c".into(),
            title: "<t>".into(),
            kind: ChartKind::Line {
                series: vec![LineSeries {
                    name: "s".into(),
                    points: vec![(0.0, 1.0), (1.0, f64::INFINITY), (2.0, 3.0)],
                }],
                x_is_time: false,
                y_label: "v".into(),
                log_y: true,
            },
            note: None,
        };
        let svg = chart(&c);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;t&gt;") && !svg.contains("<t>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}
