//! Charts in the PDF: the very SVG that [`crate::svg`] draws for the HTML report, read
//! back (only the small subset it emits) and drawn as PDF vector operations.
//!
//! Why convert rather than draw the charts a second time: one chart model, one geometry
//! (scales, ticks, thinning, labels), so the HTML and the PDF always show the same chart
//! and a fix to a chart is made once. The subset is ours and fixed: `rect`, `line`,
//! `path` (`M`/`L` only), `circle`, `polygon`, `text` (with `translate`/`rotate` and
//! `text-anchor`), colours as `#rrggbb`, `fill-opacity`/`stroke-opacity`, and the hatch
//! pattern of background activities; `title` (tooltips) and `defs` are skipped. An
//! element outside the subset is skipped, and the unit tests draw every chart kind and
//! check that none is.

use super::font::FontId;
use super::{Painter, Rgb};

/// A parsed chart: its size in SVG units and what it draws, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Svg {
    /// The width (SVG units).
    pub width: f32,
    /// The height (SVG units).
    pub height: f32,
    /// The drawing.
    pub items: Vec<Item>,
    /// Elements outside the subset (skipped), for the tests.
    pub skipped: Vec<String>,
}

/// How a shape is filled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fill {
    /// A colour.
    Colour(Rgb),
    /// White diagonal stripes (a background activity).
    Hatch,
}

/// How a shape is painted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paint {
    /// The fill, if any.
    pub fill: Option<Fill>,
    /// The stroke colour and width, if any.
    pub stroke: Option<(Rgb, f32)>,
    /// 0..=1.
    pub fill_opacity: f32,
    /// 0..=1.
    pub stroke_opacity: f32,
}

/// A shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A rectangle.
    Rect(f32, f32, f32, f32),
    /// A polyline (`path`, `line`) or polygon (closed).
    Poly(Vec<(f32, f32)>, bool),
    /// A circle: centre and radius.
    Circle(f32, f32, f32),
}

/// One drawn element.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A shape.
    Shape(Shape, Paint),
    /// A line of text.
    Text {
        /// The anchor point.
        x: f32,
        /// The baseline.
        y: f32,
        /// Degrees, clockwise (SVG's sense).
        rotate: f32,
        /// Font size.
        size: f32,
        /// Bold (`font-weight` 600 and more).
        bold: bool,
        /// `start`, `middle` or `end`, as a fraction of the width to shift left.
        anchor: f32,
        /// The colour.
        colour: Rgb,
        /// The text.
        text: String,
    },
}

impl Item {
    /// The vertical band a text occupies (SVG units, y down), so a page break never
    /// cuts through a label; shapes have none.
    pub fn text_band(&self) -> Option<(f32, f32)> {
        match self {
            Item::Text {
                y, size, rotate, ..
            } => {
                if *rotate == 0.0 {
                    Some((y - size, y + size * 0.3))
                } else {
                    // A rotated label hangs below its anchor (axis labels).
                    Some((y - size, y + size * 10.0))
                }
            }
            Item::Shape(..) => None,
        }
    }

    fn top(&self) -> f32 {
        match self {
            Item::Text { y, size, .. } => y - size,
            Item::Shape(Shape::Rect(_, y, _, _), _) => *y,
            Item::Shape(Shape::Circle(_, cy, r), _) => cy - r,
            Item::Shape(Shape::Poly(p, _), _) => p.iter().map(|q| q.1).fold(f32::MAX, f32::min),
        }
    }

    fn bottom(&self) -> f32 {
        match self {
            Item::Text { y, size, .. } => y + size * 0.3,
            Item::Shape(Shape::Rect(_, y, _, h), _) => y + h,
            Item::Shape(Shape::Circle(_, cy, r), _) => cy + r,
            Item::Shape(Shape::Poly(p, _), _) => p.iter().map(|q| q.1).fold(f32::MIN, f32::max),
        }
    }
}

fn colour(v: &str) -> Option<Rgb> {
    let h = v.strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let n = u32::from_str_radix(h, 16).ok()?;
    Some(Rgb(
        ((n >> 16) & 0xff) as f32 / 255.0,
        ((n >> 8) & 0xff) as f32 / 255.0,
        (n & 0xff) as f32 / 255.0,
    ))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The attributes of a start tag (`name="value"`, values unescaped).
fn attributes(tag: &str) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim();
        let after = &rest[eq + 2..];
        let Some(end) = after.find('"') else { break };
        out.push((name, unescape(&after[..end])));
        rest = &after[end + 1..];
    }
    out
}

fn num(v: Option<&String>) -> f32 {
    v.and_then(|s| s.trim().parse::<f32>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

fn numbers(s: &str) -> Vec<f32> {
    s.split(|c: char| c == ',' || c.is_whitespace() || c == 'M' || c == 'L')
        .filter_map(|t| t.parse::<f32>().ok())
        .filter(|v| v.is_finite())
        .collect()
}

fn pairs(v: &[f32]) -> Vec<(f32, f32)> {
    v.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

/// `translate(x y) rotate(a)`: (dx, dy, degrees).
fn transform(t: &str) -> (f32, f32, f32) {
    let mut out = (0.0, 0.0, 0.0);
    for part in t.split(')') {
        let part = part.trim();
        if let Some(args) = part.strip_prefix("translate(") {
            let v = numbers(args);
            out.0 = v.first().copied().unwrap_or(0.0);
            out.1 = v.get(1).copied().unwrap_or(0.0);
        } else if let Some(args) = part.strip_prefix("rotate(") {
            out.2 = numbers(args).first().copied().unwrap_or(0.0);
        }
    }
    out
}

/// Reads the SVG subset [`crate::svg`] emits.
pub fn parse(svg: &str) -> Svg {
    let mut out = Svg {
        width: 0.0,
        height: 0.0,
        items: Vec::new(),
        skipped: Vec::new(),
    };
    let mut root_size = 12.0;
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('>') else { break };
        let tag = &rest[..close];
        rest = &rest[close + 1..];
        if tag.starts_with('/') {
            continue;
        }
        let tag = tag.strip_suffix('/').unwrap_or(tag);
        let (name, attrs) = match tag.find(char::is_whitespace) {
            Some(i) => (&tag[..i], attributes(&tag[i..])),
            None => (tag, Vec::new()),
        };
        let get = |k: &str| attrs.iter().find(|(n, _)| *n == k).map(|(_, v)| v);
        let paint = || {
            let fill = match get("fill").map(String::as_str) {
                Some("none") => None,
                Some(v) if v.starts_with("url(") => Some(Fill::Hatch),
                Some(v) => colour(v).map(Fill::Colour),
                None => Some(Fill::Colour(Rgb(0.0, 0.0, 0.0))),
            };
            let stroke = get("stroke").and_then(|v| colour(v)).map(|c| {
                let w = get("stroke-width").map(|w| num(Some(w))).unwrap_or(1.0);
                (c, w)
            });
            let op = |k: &str| get(k).map(|v| num(Some(v)).clamp(0.0, 1.0)).unwrap_or(1.0);
            Paint {
                fill,
                stroke,
                fill_opacity: op("fill-opacity"),
                stroke_opacity: op("stroke-opacity"),
            }
        };
        match name {
            "svg" => {
                out.width = num(get("width"));
                out.height = num(get("height"));
                root_size = get("font-size").map(|v| num(Some(v))).unwrap_or(12.0);
            }
            "title" => {
                // A tooltip: skip its text.
                if let Some(end) = rest.find("</title>") {
                    rest = &rest[end..];
                }
            }
            "defs" => {
                if let Some(end) = rest.find("</defs>") {
                    rest = &rest[end..];
                }
            }
            "rect" => {
                let (x, y) = (num(get("x")), num(get("y")));
                let (w, h) = (num(get("width")), num(get("height")));
                out.items
                    .push(Item::Shape(Shape::Rect(x, y, w, h), paint()));
            }
            "line" => {
                let p = paint();
                let pts = vec![
                    (num(get("x1")), num(get("y1"))),
                    (num(get("x2")), num(get("y2"))),
                ];
                out.items.push(Item::Shape(
                    Shape::Poly(pts, false),
                    Paint { fill: None, ..p },
                ));
            }
            "path" => {
                let pts = pairs(&numbers(get("d").map(String::as_str).unwrap_or("")));
                out.items
                    .push(Item::Shape(Shape::Poly(pts, false), paint()));
            }
            "polygon" => {
                let pts = pairs(&numbers(get("points").map(String::as_str).unwrap_or("")));
                out.items.push(Item::Shape(Shape::Poly(pts, true), paint()));
            }
            "circle" => {
                let c = Shape::Circle(num(get("cx")), num(get("cy")), num(get("r")));
                out.items.push(Item::Shape(c, paint()));
            }
            "text" => {
                let end = rest.find("</text>").unwrap_or(rest.len());
                let text = unescape(&rest[..end]);
                rest = &rest[end..];
                let (tx, ty, rotate) = get("transform")
                    .map(|t| transform(t))
                    .unwrap_or((0.0, 0.0, 0.0));
                let colour = get("fill")
                    .and_then(|v| colour(v))
                    .unwrap_or(Rgb(0.0, 0.0, 0.0));
                out.items.push(Item::Text {
                    x: num(get("x")) + tx,
                    y: num(get("y")) + ty,
                    rotate,
                    size: get("font-size").map(|v| num(Some(v))).unwrap_or(root_size),
                    bold: get("font-weight").is_some_and(|w| num(Some(w)) >= 600.0),
                    anchor: match get("text-anchor").map(String::as_str) {
                        Some("middle") => 0.5,
                        Some("end") => 1.0,
                        _ => 0.0,
                    },
                    colour,
                    text,
                });
            }
            other => out.skipped.push(other.to_string()),
        }
    }
    out
}

/// Where to cut a chart `height` units tall into slices of at most `first` units
/// (the room left on the current page) and then `full` units (a fresh page), never
/// through a text: the cut points, ending with the height.
pub fn cuts(svg: &Svg, first: f32, full: f32) -> Vec<f32> {
    let mut bands: Vec<(f32, f32)> = svg.items.iter().filter_map(Item::text_band).collect();
    bands.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = Vec::new();
    let mut start = 0.0f32;
    let mut room = first;
    while svg.height - start > room {
        let mut cut = start + room;
        // Move the cut up above any label it would cross.
        loop {
            let crossing = bands
                .iter()
                .filter(|(top, bottom)| *top < cut && cut < *bottom)
                .map(|(top, _)| *top)
                .fold(f32::MAX, f32::min);
            if crossing == f32::MAX {
                break;
            }
            cut = crossing;
        }
        if cut <= start + 1.0 {
            // No clean cut in this slice: cut where it must.
            cut = start + room;
        }
        out.push(cut);
        start = cut;
        room = full;
    }
    out.push(svg.height);
    out
}

/// Draws the part of the chart between `from` and `to` (SVG y units) with its top-left
/// corner at (`left`, `top`) (PDF points, y up), scaled by `k`.
pub fn draw(svg: &Svg, from: f32, to: f32, left: f32, top: f32, k: f32, p: &mut Painter) {
    p.content.save_state();
    // Clip to the slice, then map SVG units (y down) onto the page.
    p.content
        .rect(left, top - (to - from) * k, svg.width * k, (to - from) * k)
        .clip_nonzero()
        .end_path();
    p.content.transform([k, 0.0, 0.0, -k, left, top + from * k]);
    for item in &svg.items {
        if item.bottom() < from || item.top() > to {
            continue;
        }
        if let Some((t, _)) = item.text_band() {
            if t < from - 0.01 || t >= to {
                continue;
            }
        }
        match item {
            Item::Shape(shape, paint) => shape_ops(shape, paint, p),
            Item::Text {
                x,
                y,
                rotate,
                size,
                bold,
                anchor,
                colour,
                text,
            } => {
                let w = p.fonts.get(FontId::Sans).width(text, *size);
                let a = (-rotate).to_radians();
                let (c, s) = (a.cos(), a.sin());
                // translate(x y) · rotate · flip y (the CTM is y-down).
                let m = [c, -s, -s, -c, *x, *y];
                p.text_matrix(FontId::Sans, *size, *bold, *colour, m, -w * anchor, text);
            }
        }
    }
    p.content.restore_state();
}

fn path(shape: &Shape, p: &mut Painter) {
    match shape {
        Shape::Rect(x, y, w, h) => {
            p.content.rect(*x, *y, *w, *h);
        }
        Shape::Poly(pts, closed) => {
            for (i, (x, y)) in pts.iter().enumerate() {
                if i == 0 {
                    p.content.move_to(*x, *y);
                } else {
                    p.content.line_to(*x, *y);
                }
            }
            if *closed {
                p.content.close_path();
            }
        }
        Shape::Circle(cx, cy, r) => {
            // Four Bézier quarters.
            let k = 0.552_284_8 * r;
            p.content.move_to(cx + r, *cy);
            p.content
                .cubic_to(cx + r, cy + k, cx + k, cy + r, *cx, cy + r);
            p.content
                .cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, *cy);
            p.content
                .cubic_to(cx - r, cy - k, cx - k, cy - r, *cx, cy - r);
            p.content
                .cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, *cy);
            p.content.close_path();
        }
    }
}

fn shape_ops(shape: &Shape, paint: &Paint, p: &mut Painter) {
    if let Shape::Poly(pts, _) = shape {
        if pts.len() < 2 {
            return;
        }
    }
    match paint.fill {
        Some(Fill::Colour(c)) => {
            p.content.save_state();
            p.alpha(paint.fill_opacity, true);
            p.content.set_fill_rgb(c.0, c.1, c.2);
            path(shape, p);
            p.content.fill_nonzero();
            p.content.restore_state();
        }
        Some(Fill::Hatch) => {
            if let Shape::Rect(x, y, w, h) = shape {
                p.content.save_state();
                p.content.rect(*x, *y, *w, *h).clip_nonzero().end_path();
                p.alpha(0.6, false);
                p.content.set_stroke_rgb(1.0, 1.0, 1.0).set_line_width(2.0);
                let mut sx = x - h;
                while sx < x + w {
                    p.content.move_to(sx, y + h).line_to(sx + h, *y);
                    sx += 6.0;
                }
                p.content.stroke();
                p.content.restore_state();
            }
        }
        None => {}
    }
    if let Some((c, width)) = paint.stroke {
        p.content.save_state();
        p.alpha(paint.stroke_opacity, false);
        p.content
            .set_stroke_rgb(c.0, c.1, c.2)
            .set_line_width(width);
        path(shape, p);
        p.content.stroke();
        p.content.restore_state();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Chart, ChartKind, LineSeries, TimelineRow, Tone};

    fn every_kind() -> Vec<Chart> {
        let c = |kind| Chart {
            id: "c".into(),
            title: "T & <t>".into(),
            kind,
            note: None,
        };
        vec![
            c(ChartKind::Bar {
                categories: vec!["a".into(), "b".into()],
                series: vec![("s".into(), vec![1.0, 2.0])],
                y_label: "n".into(),
            }),
            c(ChartKind::Line {
                series: vec![LineSeries {
                    name: "l".into(),
                    points: vec![(0.0, 1.0), (1.0, 2.0)],
                }],
                x_is_time: true,
                y_label: "v".into(),
                log_y: false,
            }),
            c(ChartKind::Timeline {
                rows: vec![TimelineRow {
                    label: "method · action a".into(),
                    start: 0.0,
                    end: 1.0,
                    tone: Tone::Good,
                    background: true,
                }],
            }),
            c(ChartKind::Radar {
                axes: vec!["x".into(), "y".into(), "z".into()],
                series: vec![("e".into(), vec![Some(0.5), None, Some(1.0)])],
            }),
            c(ChartKind::Dot {
                columns: vec!["x".into()],
                rows: vec![
                    ("e".into(), vec![Some(-0.1)]),
                    ("f".into(), vec![Some(0.75)]),
                ],
            }),
        ]
    }

    #[test]
    fn every_chart_kind_is_read_whole() {
        for c in every_kind() {
            let svg = parse(&crate::svg::chart(&c));
            assert!(svg.skipped.is_empty(), "{:?}: {:?}", c.kind, svg.skipped);
            assert!(svg.width > 0.0 && svg.height > 0.0);
            let texts: Vec<&str> = svg
                .items
                .iter()
                .filter_map(|i| match i {
                    Item::Text { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            // The title, unescaped; tooltips (<title>) are not drawn.
            assert_eq!(texts.iter().filter(|t| **t == "T & <t>").count(), 1);
            assert!(svg.items.iter().any(|i| matches!(i, Item::Shape(..))));
        }
    }

    #[test]
    fn rotation_anchor_opacity_and_hatch_are_read() {
        let svg = parse(
            "<svg width=\"100\" height=\"50\" font-size=\"12\"><text transform=\"translate(10 20) rotate(-30)\" text-anchor=\"end\" fill=\"#ff0000\">a&amp;b</text><rect x=\"1\" y=\"2\" width=\"3\" height=\"4\" fill=\"url(#h)\"/><circle cx=\"1\" cy=\"1\" r=\"2\" fill=\"#000000\" fill-opacity=\"0.25\"/></svg>",
        );
        assert_eq!(
            svg.items[0],
            Item::Text {
                x: 10.0,
                y: 20.0,
                rotate: -30.0,
                size: 12.0,
                bold: false,
                anchor: 1.0,
                colour: Rgb(1.0, 0.0, 0.0),
                text: "a&b".into()
            }
        );
        assert!(matches!(
            svg.items[1],
            Item::Shape(
                Shape::Rect(..),
                Paint {
                    fill: Some(Fill::Hatch),
                    ..
                }
            )
        ));
        assert!(matches!(
            svg.items[2],
            Item::Shape(Shape::Circle(..), Paint { fill_opacity, .. }) if fill_opacity == 0.25
        ));
    }

    #[test]
    fn cuts_never_cross_a_label() {
        let rows: Vec<TimelineRow> = (0..300)
            .map(|i| TimelineRow {
                label: format!("row {i}"),
                start: i as f64,
                end: i as f64 + 1.0,
                tone: Tone::Good,
                background: false,
            })
            .collect();
        let svg = parse(&crate::svg::chart(&Chart {
            id: "t".into(),
            title: "t".into(),
            kind: ChartKind::Timeline { rows },
            note: None,
        }));
        let cuts = cuts(&svg, 100.0, 700.0);
        assert!(cuts.len() > 5, "{cuts:?}");
        assert_eq!(*cuts.last().unwrap(), svg.height);
        let mut prev = 0.0;
        for c in &cuts {
            assert!(*c > prev && *c - prev <= 700.0, "{cuts:?}");
            prev = *c;
            for band in svg.items.iter().filter_map(Item::text_band) {
                if band.1 - band.0 < 20.0 {
                    assert!(!(band.0 < *c && *c < band.1), "cut {c} crosses {band:?}");
                }
            }
        }
    }
}
