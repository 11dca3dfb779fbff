//! PDF: the report as an A4 document, made in-process with no external program (the
//! reference needs pandoc and a LaTeX distribution for this).
//!
//! What it does, and why:
//!
//! - **Fonts embedded and subset** (`font.rs`): DejaVu Sans and Sans Mono are compiled in,
//!   and each PDF carries only the glyphs it uses, with a `ToUnicode` map so the text can
//!   be searched, copied and read back by `pdftotext`.
//! - **Our own small layout**, a single pass over the [`Document`] tree: text is measured
//!   with the fonts' advances and wrapped at spaces (a word wider than the line is broken
//!   between characters), tables share the page width among their columns (a column
//!   gets what its content needs when everything fits, else the wide columns share what
//!   the narrow ones leave) and wrap their cells, rows that do not fit continue on the
//!   next page under a repeated header. Outputs, JSON and tracebacks are set in the
//!   monospace font and *always* wrapped at the right margin (a PDF cannot scroll); a
//!   wrapped line is marked by a bar in the margin, and nothing is ever cut off. A
//!   typesetting engine (typst) would do all of this, for a far larger dependency tree;
//!   these documents are simple enough (docs/report.md, "Dependencies and cost").
//! - **Charts as vectors** (`chart.rs`): the SVG the HTML report embeds, converted to PDF
//!   paths; a chart taller than a page (a timeline of 400 activities) continues on the
//!   next pages, cut between rows, never through a label.
//! - **Navigation**: a table of contents on the first pages with page numbers and link
//!   annotations, the same sections as the PDF outline (bookmarks), a named destination
//!   per section (in-text links such as "What Deviated" → the activity use them), page
//!   numbers in every footer, and the title, creator and subject in the document info.
//!
//! Everything from a journal is text drawn with a font (no markup is interpreted), so a
//! journal cannot inject anything; secrets are masked before the tree is built.
//! The work is linear in the document's size: every page's content is written once.

mod chart;
mod font;

use crate::document::{Block, Chart, CodeBlock, Document, Section, Span, Table, Text, Tone};
use font::{FontId, Fonts};
use pdf_writer::types::{ActionType, AnnotationType, CidFontType, FontFlags, TextRenderingMode};
use pdf_writer::{Content, Date, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::{BTreeSet, HashMap};

/// Why a PDF could not be made (only the embedded fonts can fail, and they are tested).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// An embedded font could not be read or subset.
    #[error("the embedded font {font} cannot be used: {reason}")]
    Font {
        /// The font.
        font: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// An RGB colour, 0..=1 each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub f32, pub f32, pub f32);

const INK: Rgb = Rgb(0.059, 0.090, 0.165);
const MUTED: Rgb = Rgb(0.278, 0.333, 0.412);
const LINE: Rgb = Rgb(0.886, 0.910, 0.941);
const SOFT: Rgb = Rgb(0.973, 0.980, 0.988);
const ACCENT: Rgb = Rgb(0.145, 0.388, 0.922);

fn tone_colours(t: Tone) -> (Rgb, Rgb) {
    match t {
        Tone::Good => (Rgb(0.086, 0.639, 0.290), Rgb(0.863, 0.988, 0.906)),
        Tone::Bad => (Rgb(0.863, 0.149, 0.149), Rgb(0.996, 0.886, 0.886)),
        Tone::Warn => (Rgb(0.706, 0.325, 0.035), Rgb(0.996, 0.953, 0.780)),
        Tone::Neutral => (MUTED, Rgb(0.945, 0.961, 0.976)),
    }
}

// A4 in points, and the text area.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;
const WIDTH: f32 = RIGHT - LEFT;
const TOP: f32 = PAGE_H - 50.0;
const BOTTOM: f32 = 56.0;

const BODY: f32 = 10.0;
const BODY_LEAD: f32 = 14.0;
const CELL: f32 = 8.5;
const CELL_LEAD: f32 = 11.5;
const MONO: f32 = 7.5;
const MONO_LEAD: f32 = 9.6;

/// What draws on one page's content stream.
pub struct Painter<'a> {
    content: &'a mut Content,
    fonts: &'a mut Fonts,
    alphas: &'a mut BTreeSet<(bool, u8)>,
}

impl Painter<'_> {
    /// Sets a fill (or stroke) opacity through an ExtGState (`/Af50`, `/As60`).
    fn alpha(&mut self, opacity: f32, fill: bool) {
        if opacity >= 0.995 {
            return;
        }
        let pct = (opacity * 100.0).round().clamp(0.0, 100.0) as u8;
        self.alphas.insert((fill, pct));
        self.content
            .set_parameters(Name(alpha_name(fill, pct).as_bytes()));
    }

    /// Shows `text` with the text matrix `m`, moved `dx` along the baseline.
    #[allow(clippy::too_many_arguments)]
    fn text_matrix(
        &mut self,
        font: FontId,
        size: f32,
        bold: bool,
        c: Rgb,
        m: [f32; 6],
        dx: f32,
        text: &str,
    ) {
        let f = self.fonts.get_mut(font);
        let glyphs = f.encode(text);
        let name = f.name;
        self.content.save_state();
        self.content.begin_text();
        self.content.set_font(Name(name), size);
        self.content.set_fill_rgb(c.0, c.1, c.2);
        if bold {
            self.content
                .set_text_rendering_mode(TextRenderingMode::FillStroke);
            self.content.set_stroke_rgb(c.0, c.1, c.2);
            self.content.set_line_width(size * 0.035);
        }
        self.content.set_text_matrix(m);
        if dx != 0.0 {
            self.content.next_line(dx, 0.0);
        }
        self.content.show(Str(&glyphs));
        self.content.end_text();
        self.content.restore_state();
    }

    fn text(&mut self, s: Style, x: f32, y: f32, t: &str) {
        let m = [1.0, 0.0, 0.0, 1.0, x, y];
        self.text_matrix(s.font, s.size, s.bold, s.colour, m, 0.0, t);
    }

    fn fill_rect(&mut self, c: Rgb, x: f32, y: f32, w: f32, h: f32) {
        self.content.set_fill_rgb(c.0, c.1, c.2);
        self.content.rect(x, y, w, h).fill_nonzero();
    }

    fn hline(&mut self, c: Rgb, x0: f32, x1: f32, y: f32, width: f32) {
        self.content
            .set_stroke_rgb(c.0, c.1, c.2)
            .set_line_width(width);
        self.content.move_to(x0, y).line_to(x1, y).stroke();
    }
}

fn alpha_name(fill: bool, pct: u8) -> String {
    format!("{}{pct}", if fill { "Af" } else { "As" })
}

/// One laid-out page.
struct Page {
    content: Content,
    /// Link rectangles and the section id they go to.
    links: Vec<(Rect, String)>,
}

impl Page {
    fn new() -> Self {
        Page {
            content: Content::new(),
            links: Vec::new(),
        }
    }
}

/// A run of text in one style, placed on a line.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Style {
    font: FontId,
    size: f32,
    bold: bool,
    colour: Rgb,
    /// A background pill (inline code, status words).
    bg: Option<Rgb>,
}

#[derive(Debug, Clone)]
struct Piece {
    text: String,
    style: Style,
    link: Option<String>,
    x: f32,
    width: f32,
}

type Line = Vec<Piece>;

impl Style {
    fn new(font: FontId, size: f32, bold: bool, colour: Rgb) -> Self {
        Style {
            font,
            size,
            bold,
            colour,
            bg: None,
        }
    }
}

/// An outline (bookmark) entry.
struct Mark {
    title: String,
    page: usize,
    y: f32,
    children: Vec<Mark>,
}

/// A table of contents entry.
struct TocEntry {
    depth: usize,
    title: String,
    badge: Option<(Tone, String)>,
    id: String,
}

struct Layout {
    fonts: Fonts,
    alphas: BTreeSet<(bool, u8)>,
    pages: Vec<Page>,
    /// The top of the free space on the last page.
    y: f32,
    /// Section id → (page, y of its heading's top).
    dests: HashMap<String, (usize, f32)>,
}

impl Layout {
    fn painter(&mut self) -> Painter<'_> {
        if self.pages.is_empty() {
            self.pages.push(Page::new());
            self.y = TOP;
        }
        let last = self.pages.len() - 1;
        Painter {
            content: &mut self.pages[last].content,
            fonts: &mut self.fonts,
            alphas: &mut self.alphas,
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Page::new());
        self.y = TOP;
    }

    /// Starts a new page unless `h` points fit above the bottom margin.
    fn ensure(&mut self, h: f32) {
        if self.pages.is_empty() || self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn at_top(&self) -> bool {
        self.y >= TOP - 0.01
    }

    fn width(&self, s: &Style, t: &str) -> f32 {
        self.fonts.get(s.font).width(t, s.size)
    }

    /// Wraps styled text into lines at most `width` wide: at spaces, and inside a word
    /// only when the word alone is wider than the line.
    fn wrap(&self, spans: &[(String, Style, Option<String>)], width: f32) -> Vec<Line> {
        let mut lines: Vec<Line> = vec![Vec::new()];
        let mut x = 0.0f32;
        for (text, style, link) in spans {
            let space = self.width(style, " ");
            let flat: String = text
                .chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
                .collect();
            let mut first = true;
            for word in flat.split(' ') {
                if !first {
                    // The space between words, unless the line is empty.
                    if x > 0.0 {
                        push_piece(&mut lines, " ", *style, link, x, space);
                        x += space;
                    }
                }
                first = false;
                if word.is_empty() {
                    continue;
                }
                let w = self.width(style, word);
                if x + w <= width + 0.01 {
                    push_piece(&mut lines, word, *style, link, x, w);
                    x += w;
                    continue;
                }
                if x > 0.0 && w <= width {
                    trim_line(&self.fonts, lines.last_mut());
                    lines.push(Vec::new());
                    push_piece(&mut lines, word, *style, link, 0.0, w);
                    x = w;
                    continue;
                }
                // Wider than a line: break between characters.
                let font = self.fonts.get(style.font);
                let mut chunk = String::new();
                let mut cw = 0.0;
                for c in word.chars() {
                    let w = font.char_width(c, style.size);
                    if x + cw + w > width + 0.01 && (x > 0.0 || !chunk.is_empty()) {
                        if !chunk.is_empty() {
                            push_piece(&mut lines, &chunk, *style, link, x, cw);
                        }
                        trim_line(&self.fonts, lines.last_mut());
                        lines.push(Vec::new());
                        x = 0.0;
                        chunk.clear();
                        cw = 0.0;
                    }
                    chunk.push(c);
                    cw += w;
                }
                if !chunk.is_empty() {
                    push_piece(&mut lines, &chunk, *style, link, x, cw);
                    x += cw;
                }
            }
        }
        trim_line(&self.fonts, lines.last_mut());
        lines
    }

    fn draw_line(&mut self, line: &Line, left: f32, baseline: f32) {
        let last = self.pages.len().saturating_sub(1);
        let mut links = Vec::new();
        {
            let mut p = self.painter();
            for piece in line {
                let s = piece.style;
                if let Some(bg) = s.bg {
                    if !piece.text.trim().is_empty() {
                        p.fill_rect(
                            bg,
                            left + piece.x - 1.5,
                            baseline - s.size * 0.25,
                            piece.width + 3.0,
                            s.size * 1.15,
                        );
                    }
                }
                p.text(
                    Style::new(s.font, s.size, s.bold, s.colour),
                    left + piece.x,
                    baseline,
                    &piece.text,
                );
                if let Some(target) = &piece.link {
                    links.push((
                        Rect::new(
                            left + piece.x,
                            baseline - s.size * 0.3,
                            left + piece.x + piece.width,
                            baseline + s.size,
                        ),
                        target.clone(),
                    ));
                }
            }
        }
        if let Some(page) = self.pages.get_mut(last) {
            page.links.extend(links);
        }
    }

    /// Lays out wrapped lines from the cursor, breaking pages between lines; `bg`
    /// paints each line's band (callouts), `bar` a coloured bar at the left.
    fn flow(&mut self, lines: &[Line], left: f32, lead: f32, bg: Option<(Rgb, Rgb, f32)>) {
        for line in lines {
            self.ensure(lead);
            let size = line.first().map(|p| p.style.size).unwrap_or(BODY);
            let top = self.y;
            if let Some((band, bar, w)) = bg {
                let mut p = self.painter();
                p.fill_rect(band, LEFT, top - lead, w, lead);
                p.fill_rect(bar, LEFT, top - lead, 3.5, lead);
            }
            let baseline = top - lead + (lead - size) / 2.0 + size * 0.22;
            self.draw_line(line, left, baseline);
            self.y -= lead;
        }
    }

    fn spans(&self, t: &Text, size: f32, colour: Rgb) -> Vec<(String, Style, Option<String>)> {
        let base = Style {
            font: FontId::Sans,
            size,
            bold: false,
            colour,
            bg: None,
        };
        t.iter()
            .map(|s| match s {
                Span::Text(x) => (x.clone(), base, None),
                Span::Strong(x) => (x.clone(), Style { bold: true, ..base }, None),
                Span::Code(x) => (
                    x.clone(),
                    Style {
                        font: FontId::Mono,
                        size: size * 0.9,
                        bg: Some(tone_colours(Tone::Neutral).1),
                        ..base
                    },
                    None,
                ),
                Span::Status(tone, x) => {
                    let (fg, bg) = tone_colours(*tone);
                    (
                        x.clone(),
                        Style {
                            bold: true,
                            colour: fg,
                            bg: Some(bg),
                            size: size * 0.92,
                            ..base
                        },
                        None,
                    )
                }
                Span::Link { target, text } => (
                    text.clone(),
                    Style {
                        colour: ACCENT,
                        ..base
                    },
                    Some(target.clone()),
                ),
            })
            .collect()
    }

    fn paragraph(&mut self, t: &Text, size: f32, lead: f32, colour: Rgb) {
        let spans = self.spans(t, size, colour);
        let lines = self.wrap(&spans, WIDTH);
        self.flow(&lines, LEFT, lead, None);
        self.y -= 5.0;
    }

    fn section(&mut self, s: &Section, depth: usize, parent: &str, index: usize) {
        let breaks = (depth == 1 && !self.at_top() && index > 0)
            || (depth == 2 && parent == "experiments" && index > 0);
        if breaks && !self.at_top() {
            self.new_page();
        }
        let size = match depth {
            1 => 18.0,
            2 => 15.0,
            3 => 12.5,
            4 => 11.0,
            _ => 10.0,
        };
        let before = if self.at_top() { 0.0 } else { size * 0.9 };
        // Keep the heading with what follows: its introduction and, when a chart comes
        // next, the chart (if they fit on one page); else a few lines.
        self.ensure(before + size * 1.6 + self.lead_height(s));
        if !self.at_top() {
            self.y -= before;
        }
        self.dests
            .insert(s.id.clone(), (self.pages.len() - 1, self.y + 4.0));
        let style = Style {
            font: FontId::Sans,
            size,
            bold: true,
            colour: INK,
            bg: None,
        };
        let mut spans = vec![(s.title.clone(), style, None)];
        if let Some((tone, word)) = &s.badge {
            let (fg, bg) = tone_colours(*tone);
            spans.push(("  ".into(), style, None));
            spans.push((
                word.to_uppercase(),
                Style {
                    size: size * 0.6,
                    colour: fg,
                    bg: Some(bg),
                    ..style
                },
                None,
            ));
        }
        let lines = self.wrap(&spans, WIDTH);
        self.flow(&lines, LEFT, size * 1.3, None);
        if depth <= 2 {
            let y = self.y - 2.0;
            self.painter().hline(
                if depth == 2 && parent == "experiments" {
                    ACCENT
                } else {
                    LINE
                },
                LEFT,
                RIGHT,
                y,
                if depth == 1 { 1.2 } else { 0.8 },
            );
            self.y -= 6.0;
        }
        self.y -= 4.0;
        let mut sub = 0;
        for b in &s.blocks {
            match b {
                Block::Section(c) => {
                    self.section(c, depth + 1, &s.id, sub);
                    sub += 1;
                }
                other => self.block(other),
            }
        }
    }

    /// The height of a section's opening: its first paragraphs and the chart after them
    /// when they fit on a page together, else three lines.
    fn lead_height(&self, s: &Section) -> f32 {
        let mut h = 0.0;
        for b in &s.blocks {
            match b {
                Block::Paragraph(t) => {
                    let lines = self.wrap(&self.spans(t, BODY, INK), WIDTH);
                    h += lines.len() as f32 * BODY_LEAD + 5.0;
                }
                Block::Chart(c) => {
                    let svg = chart::parse(&crate::svg::chart(c));
                    let k = (WIDTH / svg.width.max(1.0)).min(0.85);
                    let with_chart = h + svg.height * k + 40.0;
                    if with_chart <= TOP - BOTTOM - 60.0 {
                        return with_chart;
                    }
                    break;
                }
                _ => break,
            }
        }
        BODY_LEAD * 3.0
    }

    fn block(&mut self, b: &Block) {
        match b {
            Block::Section(_) => {}
            Block::Paragraph(t) => self.paragraph(t, BODY, BODY_LEAD, INK),
            Block::Callout(tone, t) => {
                let (fg, bg) = tone_colours(*tone);
                let mut spans = self.spans(t, BODY, INK);
                for s in &mut spans {
                    s.1.bold = true;
                }
                let lines = self.wrap(&spans, WIDTH - 20.0);
                self.ensure(BODY_LEAD * 2.0 + 8.0);
                self.y -= 2.0;
                let y = self.y;
                self.painter().fill_rect(bg, LEFT, y - 5.0, WIDTH, 5.0);
                self.painter().fill_rect(fg, LEFT, y - 5.0, 3.5, 5.0);
                self.y -= 5.0;
                self.flow(&lines, LEFT + 12.0, BODY_LEAD, Some((bg, fg, WIDTH)));
                let y = self.y;
                self.painter().fill_rect(bg, LEFT, y - 5.0, WIDTH, 5.0);
                self.painter().fill_rect(fg, LEFT, y - 5.0, 3.5, 5.0);
                self.y -= 13.0;
            }
            Block::Table(t) => self.table(t),
            Block::KeyValue(kv) => {
                let table = Table {
                    headers: Vec::new(),
                    rows: kv
                        .iter()
                        .map(|(k, v)| vec![vec![Span::Strong(k.clone())], v.clone()])
                        .collect(),
                };
                self.grid(&table, Some(150.0));
            }
            Block::Code(c) => self.code(c),
            Block::Chart(c) => self.chart(c),
            Block::List(items) => {
                for item in items {
                    let spans = self.spans(item, BODY, INK);
                    let lines = self.wrap(&spans, WIDTH - 14.0);
                    self.ensure(BODY_LEAD);
                    let baseline = self.y - BODY_LEAD + (BODY_LEAD - BODY) / 2.0 + BODY * 0.22;
                    self.painter().text(
                        Style::new(FontId::Sans, BODY, false, MUTED),
                        LEFT + 3.0,
                        baseline,
                        "•",
                    );
                    self.flow(&lines, LEFT + 14.0, BODY_LEAD, None);
                }
                self.y -= 6.0;
            }
        }
    }

    fn table(&mut self, t: &Table) {
        self.grid(t, None);
    }

    /// A table (with a header row when `headers` is not empty) or a key/value list
    /// (`key_width`: the first column's fixed width).
    fn grid(&mut self, t: &Table, key_width: Option<f32>) {
        let cols = t
            .headers
            .len()
            .max(t.rows.iter().map(Vec::len).max().unwrap_or(0));
        if cols == 0 {
            return;
        }
        let pad = 4.0;
        let header_style = Style {
            font: FontId::Sans,
            size: CELL * 0.95,
            bold: true,
            colour: MUTED,
            bg: None,
        };
        let widths = match key_width {
            Some(k) => {
                let mut w = vec![k];
                w.extend(std::iter::repeat_n(
                    (WIDTH - k) / (cols - 1).max(1) as f32,
                    cols - 1,
                ));
                w
            }
            None => self.column_widths(t, cols, pad, &header_style),
        };
        let wrap_cell = |l: &Layout, spans: &[(String, Style, Option<String>)], w: f32| {
            l.wrap(spans, (w - 2.0 * pad).max(8.0))
        };
        let header: Vec<Vec<Line>> = t
            .headers
            .iter()
            .zip(&widths)
            .map(|(h, w)| wrap_cell(self, &[(h.clone(), header_style, None)], *w))
            .collect();
        let draw_header = |l: &mut Layout| {
            if header.is_empty() {
                return;
            }
            let n = header.iter().map(Vec::len).max().unwrap_or(1);
            let h = n as f32 * CELL_LEAD + 2.0 * pad;
            let top = l.y;
            l.painter().fill_rect(SOFT, LEFT, top - h, WIDTH, h);
            let mut x = LEFT;
            for (lines, w) in header.iter().zip(&widths) {
                for (i, line) in lines.iter().enumerate() {
                    let baseline = top - pad - (i as f32 + 1.0) * CELL_LEAD + 3.0;
                    l.draw_line(line, x + pad, baseline);
                }
                x += w;
            }
            l.painter().hline(LINE, LEFT, RIGHT, top - h, 0.8);
            l.y -= h;
        };
        self.ensure(CELL_LEAD * 3.0 + 2.0 * pad);
        draw_header(self);
        for row in &t.rows {
            let cells: Vec<Vec<Line>> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| {
                    let spans = self.spans(c, CELL, INK);
                    wrap_cell(self, &spans, *w)
                })
                .collect();
            let n = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            // A row taller than the room left starts on the next page (under the header)
            // when it fits there; a row taller than a page continues line by line.
            let h = n as f32 * CELL_LEAD + 2.0 * pad;
            if self.y - h < BOTTOM && h <= TOP - BOTTOM - 40.0 {
                self.new_page();
                draw_header(self);
            }
            self.y -= pad;
            for i in 0..n {
                if self.y - CELL_LEAD < BOTTOM {
                    self.new_page();
                    draw_header(self);
                }
                let baseline = self.y - CELL_LEAD + 3.0;
                let mut x = LEFT;
                for (lines, w) in cells.iter().zip(&widths) {
                    if let Some(line) = lines.get(i) {
                        self.draw_line(line, x + pad, baseline);
                    }
                    x += w;
                }
                self.y -= CELL_LEAD;
            }
            self.y -= pad;
            let y = self.y;
            self.painter().hline(LINE, LEFT, RIGHT, y, 0.6);
        }
        self.y -= 10.0;
    }

    /// Column widths: what each column's content needs when all fit; otherwise columns
    /// needing less than an even share keep it and the wider ones share the rest in
    /// proportion to their needs (never below a minimum).
    fn column_widths(&self, t: &Table, cols: usize, pad: f32, header: &Style) -> Vec<f32> {
        let mut need = vec![0.0f32; cols];
        for (i, h) in t.headers.iter().enumerate() {
            need[i] = need[i].max(self.width(header, h) + 2.0 * pad);
        }
        for row in t.rows.iter().take(200) {
            for (i, c) in row.iter().enumerate().take(cols) {
                let w: f32 = self
                    .spans(c, CELL, INK)
                    .iter()
                    .map(|(s, st, _)| self.width(st, s))
                    .sum();
                need[i] = need[i].max(w.min(WIDTH) + 2.0 * pad + 2.0);
            }
        }
        let total: f32 = need.iter().sum();
        if total <= WIDTH {
            let extra = (WIDTH - total) / cols as f32;
            return need.iter().map(|n| n + extra).collect();
        }
        let min = (WIDTH / cols as f32).min(40.0);
        let mut fixed = vec![false; cols];
        loop {
            let free: f32 = WIDTH
                - need
                    .iter()
                    .zip(&fixed)
                    .filter(|(_, f)| **f)
                    .map(|(n, _)| *n)
                    .sum::<f32>();
            let open: Vec<usize> = (0..cols).filter(|i| !fixed[*i]).collect();
            let share = free / open.len().max(1) as f32;
            let newly: Vec<usize> = open.iter().copied().filter(|i| need[*i] <= share).collect();
            if newly.is_empty() || newly.len() == open.len() {
                let sum: f32 = open.iter().map(|i| need[*i]).sum::<f32>().max(1.0);
                let mut out = need.clone();
                for i in &open {
                    out[*i] = (free * need[*i] / sum).max(min);
                }
                // Minimums may overshoot: scale everything back to the width.
                let total: f32 = out.iter().sum();
                if total > WIDTH {
                    for w in &mut out {
                        *w *= WIDTH / total;
                    }
                }
                return out;
            }
            for i in newly {
                fixed[i] = true;
            }
        }
    }

    fn code(&mut self, c: &CodeBlock) {
        let style = Style {
            font: FontId::Mono,
            size: MONO,
            bold: false,
            colour: INK,
            bg: None,
        };
        let pad = 6.0;
        let cw = self.fonts.mono.char_width('x', MONO);
        let per_line = (((WIDTH - 2.0 * pad) / cw).floor() as usize).max(10);
        self.ensure(MONO_LEAD * 2.0 + 2.0 * pad);
        let top = self.y;
        self.painter().fill_rect(SOFT, LEFT, top - pad, WIDTH, pad);
        self.y -= pad;
        let text = c.text.strip_suffix('\n').unwrap_or(&c.text);
        for line in text.split('\n') {
            let chars: Vec<char> = line.trim_end_matches('\r').chars().collect();
            let mut start = 0;
            loop {
                let end = (start + per_line).min(chars.len());
                let piece: String = chars[start..end].iter().collect();
                if self.y - MONO_LEAD < BOTTOM {
                    self.new_page();
                }
                let top = self.y;
                let mut p = self.painter();
                p.fill_rect(SOFT, LEFT, top - MONO_LEAD, WIDTH, MONO_LEAD);
                p.fill_rect(LINE, LEFT, top - MONO_LEAD, 1.5, MONO_LEAD);
                if start > 0 {
                    // A continuation of a wrapped line: a bar in the margin.
                    p.fill_rect(
                        ACCENT,
                        LEFT + 2.5,
                        top - MONO_LEAD + 1.0,
                        1.2,
                        MONO_LEAD - 2.0,
                    );
                }
                if !piece.is_empty() {
                    p.text(
                        Style::new(style.font, style.size, false, style.colour),
                        LEFT + pad,
                        top - MONO_LEAD + 2.6,
                        &piece,
                    );
                }
                self.y -= MONO_LEAD;
                start = end;
                if start >= chars.len() {
                    break;
                }
            }
        }
        let top = self.y;
        self.painter().fill_rect(SOFT, LEFT, top - pad, WIDTH, pad);
        self.y -= pad + 6.0;
        if let Some(n) = &c.note {
            self.paragraph(&vec![Span::Text(n.clone())], CELL, CELL_LEAD, MUTED);
        }
    }

    fn chart(&mut self, c: &Chart) {
        let svg = chart::parse(&crate::svg::chart(c));
        if svg.width <= 0.0 || svg.height <= 0.0 {
            return;
        }
        let k = (WIDTH / svg.width).min(0.85);
        let left = LEFT + (WIDTH - svg.width * k) / 2.0;
        let full = (TOP - BOTTOM - 20.0) / k;
        // A chart that fits on a page is never split: it starts on a fresh page when it
        // does not fit here. A taller one starts here if 200 points of it fit.
        let need = if svg.height <= full {
            svg.height * k
        } else {
            200.0
        };
        self.ensure(need + 20.0);
        let room = (self.y - BOTTOM - 20.0) / k;
        let cuts = chart::cuts(&svg, room, full);
        let mut from = 0.0;
        for (i, to) in cuts.iter().enumerate() {
            if i > 0 {
                self.new_page();
            }
            let top = self.y;
            {
                let mut p = self.painter();
                chart::draw(&svg, from, *to, left, top, k, &mut p);
            }
            self.y -= (to - from) * k;
            from = *to;
        }
        let caption = match &c.note {
            Some(n) => format!("{} — {n}", c.title),
            None => c.title.clone(),
        };
        self.y -= 4.0;
        self.paragraph(&vec![Span::Text(caption)], CELL, CELL_LEAD, MUTED);
        self.y -= 4.0;
    }
}

fn push_piece(
    lines: &mut [Line],
    text: &str,
    style: Style,
    link: &Option<String>,
    x: f32,
    width: f32,
) {
    if let Some(line) = lines.last_mut() {
        if let Some(last) = line.last_mut() {
            if last.style == style && last.link == *link && (last.x + last.width - x).abs() < 0.01 {
                last.text.push_str(text);
                last.width += width;
                return;
            }
        }
        line.push(Piece {
            text: text.to_string(),
            style,
            link: link.clone(),
            x,
            width,
        });
    }
}

/// Drops the spaces a line ends with (they were put there before the break), with their
/// width.
fn trim_line(fonts: &Fonts, line: Option<&mut Line>) {
    let Some(line) = line else { return };
    while let Some(last) = line.last_mut() {
        let trimmed = last.text.trim_end_matches(' ').len();
        if trimmed == last.text.len() {
            break;
        }
        let spaces = last.text.len() - trimmed;
        let space_w = fonts.get(last.style.font).char_width(' ', last.style.size);
        last.text.truncate(trimmed);
        last.width -= space_w * spaces as f32;
        if last.text.is_empty() {
            line.pop();
        } else {
            break;
        }
    }
}

/// The sections directly inside `s` (by reference: a section holds the whole subtree).
fn subsections(s: &Section) -> Vec<&Section> {
    s.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Section(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn collect_toc(sections: &[&Section], depth: usize, out: &mut Vec<TocEntry>) {
    for s in sections.iter().filter(|s| s.in_toc) {
        out.push(TocEntry {
            depth,
            title: s.title.clone(),
            badge: s.badge.clone(),
            id: s.id.clone(),
        });
        collect_toc(&subsections(s), depth + 1, out);
    }
}

fn collect_marks(sections: &[&Section], dests: &HashMap<String, (usize, f32)>) -> Vec<Mark> {
    sections
        .iter()
        .filter(|s| s.in_toc)
        .filter_map(|s| {
            let (page, y) = dests.get(&s.id)?;
            Some(Mark {
                title: s.title.clone(),
                page: *page,
                y: *y,
                children: collect_marks(&subsections(s), dests),
            })
        })
        .collect()
}

/// Shortens `s` with an ellipsis to fit `width` at `style`.
fn fit(l: &Layout, s: &str, style: &Style, width: f32) -> String {
    if l.width(style, s) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        if l.width(style, &out) + l.width(style, "…") > width {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

impl Layout {
    /// The cover (title, subtitle) and the table of contents, numbering body pages from
    /// `offset` + 1. Returns the pages and the links on them.
    fn front(&mut self, doc: &Document, toc: &[TocEntry], offset: usize) -> Vec<Page> {
        let body = std::mem::take(&mut self.pages);
        let body_y = self.y;
        self.new_page();
        let title_style = Style {
            font: FontId::Sans,
            size: 26.0,
            bold: true,
            colour: INK,
            bg: None,
        };
        let lines = self.wrap(&[(doc.title.clone(), title_style, None)], WIDTH);
        self.y -= 30.0;
        self.flow(&lines, LEFT, 32.0, None);
        if let Some(s) = &doc.subtitle {
            self.y -= 4.0;
            self.paragraph(&vec![Span::Text(s.clone())], 11.0, 15.0, MUTED);
        }
        let y = self.y - 4.0;
        self.painter().hline(INK, LEFT, RIGHT, y, 2.0);
        self.y -= 30.0;
        let h = Style {
            font: FontId::Sans,
            size: 13.0,
            bold: true,
            colour: MUTED,
            bg: None,
        };
        let lines = self.wrap(&[("Contents".into(), h, None)], WIDTH);
        self.flow(&lines, LEFT, 20.0, None);
        self.y -= 6.0;
        for e in toc {
            self.ensure(16.0);
            let indent = 16.0 * e.depth.saturating_sub(1) as f32;
            let style = Style {
                font: FontId::Sans,
                size: if e.depth == 1 { 10.5 } else { 10.0 },
                bold: e.depth == 1,
                colour: INK,
                bg: None,
            };
            let number = self
                .dests
                .get(&e.id)
                .map(|(p, _)| (p + offset + 1).to_string())
                .unwrap_or_default();
            let nw = self.width(&style, &number);
            let badge_style = e.badge.as_ref().map(|(tone, word)| {
                let (fg, bg) = tone_colours(*tone);
                (
                    word.clone(),
                    Style {
                        size: 7.5,
                        bold: true,
                        colour: fg,
                        bg: Some(bg),
                        ..style
                    },
                )
            });
            let bw = badge_style
                .as_ref()
                .map(|(w, s)| self.width(s, w) + 10.0)
                .unwrap_or(0.0);
            let room = WIDTH - indent - nw - bw - 24.0;
            let title = fit(self, &e.title, &style, room);
            let tw = self.width(&style, &title);
            let baseline = self.y - 12.0;
            {
                let mut p = self.painter();
                p.text(
                    Style::new(style.font, style.size, style.bold, INK),
                    LEFT + indent,
                    baseline,
                    &title,
                );
                if let Some((word, s)) = &badge_style {
                    let x = LEFT + indent + tw + 8.0;
                    let w = p.fonts.get(s.font).width(word, s.size);
                    if let Some(bg) = s.bg {
                        p.fill_rect(bg, x - 1.5, baseline - 2.0, w + 3.0, 9.0);
                    }
                    p.text(
                        Style::new(s.font, s.size, true, s.colour),
                        x,
                        baseline,
                        word,
                    );
                }
                // Dot leaders up to the page number.
                let dots_from = LEFT + indent + tw + bw + 8.0;
                let dots_to = RIGHT - nw - 6.0;
                let mut x = dots_from;
                let mut dots = String::new();
                let dw = p.fonts.get(FontId::Sans).width(". ", 8.0);
                while x + dw < dots_to {
                    dots.push_str(". ");
                    x += dw;
                }
                if !dots.is_empty() {
                    p.text(
                        Style::new(FontId::Sans, 8.0, false, LINE_DOTS),
                        dots_from,
                        baseline,
                        &dots,
                    );
                }
                p.text(
                    Style::new(style.font, style.size, style.bold, INK),
                    RIGHT - nw,
                    baseline,
                    &number,
                );
            }
            let last = self.pages.len() - 1;
            self.pages[last].links.push((
                Rect::new(LEFT + indent, baseline - 4.0, RIGHT, baseline + 11.0),
                e.id.clone(),
            ));
            self.y -= 16.0;
        }
        let front = std::mem::replace(&mut self.pages, body);
        self.y = body_y;
        front
    }
}

const LINE_DOTS: Rgb = Rgb(0.58, 0.64, 0.72);

/// The document as a PDF file.
pub fn render(doc: &Document) -> Result<Vec<u8>, PdfError> {
    let mut l = Layout {
        fonts: Fonts::load()?,
        alphas: BTreeSet::new(),
        pages: Vec::new(),
        y: TOP,
        dests: HashMap::new(),
    };
    l.new_page();
    for (i, s) in doc.sections.iter().enumerate() {
        l.section(s, 1, "", i);
    }
    let mut toc = Vec::new();
    let top: Vec<&Section> = doc.sections.iter().collect();
    collect_toc(&top, 1, &mut toc);
    // Lay the front matter out once to count its pages, then with the page numbers.
    let count = l.front(doc, &toc, 0).len();
    let mut front = l.front(doc, &toc, count);
    if front.len() != count {
        front = l.front(doc, &toc, front.len());
    }
    let offset = front.len();
    let marks = collect_marks(&top, &l.dests);
    let mut pages = front;
    pages.append(&mut l.pages);
    let dests: HashMap<String, (usize, f32)> = l
        .dests
        .iter()
        .map(|(k, (p, y))| (k.clone(), (p + offset, *y)))
        .collect();

    // Footers: the title and "page N of M".
    let total = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        let mut p = Painter {
            content: &mut page.content,
            fonts: &mut l.fonts,
            alphas: &mut l.alphas,
        };
        p.hline(LINE, LEFT, RIGHT, 40.0, 0.5);
        let footer = Style {
            font: FontId::Sans,
            size: 7.5,
            bold: false,
            colour: MUTED,
            bg: None,
        };
        let label = format!("Page {} of {total}", i + 1);
        let w = p.fonts.get(FontId::Sans).width(&label, footer.size);
        p.text(
            Style::new(FontId::Sans, footer.size, false, MUTED),
            RIGHT - w,
            28.0,
            &label,
        );
        let title: String = doc.title.chars().take(90).collect();
        p.text(footer, LEFT, 28.0, &title);
    }

    write(doc, pages, &dests, &marks, offset, &l.fonts, &l.alphas)
}

/// A running object number.
struct Refs(i32);

impl Refs {
    fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

fn write(
    doc: &Document,
    pages: Vec<Page>,
    dests: &HashMap<String, (usize, f32)>,
    marks: &[Mark],
    offset: usize,
    fonts: &Fonts,
    alphas: &BTreeSet<(bool, u8)>,
) -> Result<Vec<u8>, PdfError> {
    // The font programs first: subsetting is the one step that can fail.
    let programs = [fonts.sans.subset()?, fonts.mono.subset()?];
    let mut pdf = Pdf::new();
    let mut refs = Refs(0);
    let catalog = refs.next();
    let tree = refs.next();
    let info = refs.next();
    let dests_id = refs.next();
    let outline_id = refs.next();
    let page_ids: Vec<Ref> = pages.iter().map(|_| refs.next()).collect();
    let font_ids: Vec<(Ref, &font::Font)> = [&fonts.sans, &fonts.mono]
        .into_iter()
        .map(|f| (refs.next(), f))
        .collect();
    let alpha_ids: Vec<(Ref, (bool, u8))> = alphas.iter().map(|a| (refs.next(), *a)).collect();

    let mut cat = pdf.catalog(catalog);
    cat.pages(tree).destinations(dests_id);
    if !marks.is_empty() {
        cat.outlines(outline_id)
            .page_mode(pdf_writer::types::PageMode::UseOutlines);
    }
    cat.finish();
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);

    let mut di = pdf.document_info(info);
    di.title(TextStr(&doc.title));
    di.creator(TextStr("Shakedown chaos report"));
    di.producer(TextStr("Shakedown chaos report (pdf-writer)"));
    if let Some(s) = &doc.subtitle {
        di.subject(TextStr(s));
    }
    let now = time::OffsetDateTime::now_utc();
    if let Ok(year) = u16::try_from(now.year()) {
        di.creation_date(
            Date::new(year)
                .month(u8::from(now.month()))
                .day(now.day())
                .hour(now.hour())
                .minute(now.minute())
                .second(now.second())
                .utc_offset_hour(0)
                .utc_offset_minute(0),
        );
    }
    di.finish();

    // Named destinations: every section, by its id (sorted: stable output).
    let mut names: Vec<(&String, &(usize, f32))> = dests.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    {
        let mut d = pdf.destinations(dests_id);
        for (id, (page, y)) in &names {
            if let Some(p) = page_ids.get(*page) {
                d.insert(Name(id.as_bytes()))
                    .page(*p)
                    .xyz(LEFT - 10.0, *y, None);
            }
        }
    }

    // The outline.
    if !marks.is_empty() {
        let mut items = Vec::new();
        let (first, last, count) = outline(&mut refs, marks, outline_id, &mut items);
        pdf.outline(outline_id).first(first).last(last).count(count);
        for it in items {
            let mut o = pdf.outline_item(it.id);
            o.title(TextStr(&it.title)).parent(it.parent);
            if let Some(p) = it.prev {
                o.prev(p);
            }
            if let Some(n) = it.next {
                o.next(n);
            }
            if let Some((f, l, c)) = it.children {
                o.first(f).last(l).count(c);
            }
            if let Some(p) = page_ids.get(it.page + offset) {
                o.dest().page(*p).xyz(LEFT - 10.0, it.y, None);
            }
        }
    }

    // Pages, their content and links.
    for (i, page) in pages.into_iter().enumerate() {
        let content_id = refs.next();
        let annots: Vec<(Ref, Rect, String)> = page
            .links
            .into_iter()
            .filter(|(_, target)| dests.contains_key(target))
            .map(|(r, t)| (refs.next(), r, t))
            .collect();
        let mut pg = pdf.page(page_ids[i]);
        pg.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree)
            .contents(content_id);
        if !annots.is_empty() {
            pg.annotations(annots.iter().map(|(r, _, _)| *r));
        }
        let mut res = pg.resources();
        {
            let mut f = res.fonts();
            for (id, font) in &font_ids {
                f.pair(Name(font.name), *id);
            }
        }
        if !alpha_ids.is_empty() {
            let mut g = res.ext_g_states();
            for (id, (fill, pct)) in &alpha_ids {
                g.pair(Name(alpha_name(*fill, *pct).as_bytes()), *id);
            }
        }
        res.finish();
        pg.finish();
        pdf.stream(content_id, &page.content.finish());
        for (id, rect, target) in annots {
            let mut a = pdf.annotation(id);
            a.subtype(AnnotationType::Link)
                .rect(rect)
                .border(0.0, 0.0, 0.0, None);
            a.action()
                .action_type(ActionType::GoTo)
                .destination_named(Name(target.as_bytes()));
        }
    }

    for (id, (fill, pct)) in &alpha_ids {
        let mut g = pdf.ext_graphics(*id);
        let a = f32::from(*pct) / 100.0;
        if *fill {
            g.non_stroking_alpha(a);
        } else {
            g.stroking_alpha(a);
        }
    }

    for ((id, f), data) in font_ids.into_iter().zip(&programs) {
        write_font(&mut pdf, &mut refs, id, f, data);
    }
    Ok(pdf.finish())
}

struct OutlineOut {
    id: Ref,
    title: String,
    parent: Ref,
    prev: Option<Ref>,
    next: Option<Ref>,
    children: Option<(Ref, Ref, i32)>,
    page: usize,
    y: f32,
}

/// Allocates and links outline items for `marks` under `parent`: (first, last, count).
fn outline(
    refs: &mut Refs,
    marks: &[Mark],
    parent: Ref,
    out: &mut Vec<OutlineOut>,
) -> (Ref, Ref, i32) {
    let ids: Vec<Ref> = marks.iter().map(|_| refs.next()).collect();
    let mut count = 0;
    for (i, m) in marks.iter().enumerate() {
        let children = if m.children.is_empty() {
            None
        } else {
            Some(outline(refs, &m.children, ids[i], out))
        };
        count += 1 + children.map(|c| c.2).unwrap_or(0);
        out.push(OutlineOut {
            id: ids[i],
            title: m.title.clone(),
            parent,
            prev: i.checked_sub(1).map(|p| ids[p]),
            next: ids.get(i + 1).copied(),
            children,
            page: m.page,
            y: m.y,
        });
    }
    (ids[0], ids[ids.len() - 1], count)
}

fn write_font(pdf: &mut Pdf, refs: &mut Refs, type0: Ref, f: &font::Font, data: &[u8]) {
    let cid = refs.next();
    let descriptor = refs.next();
    let file = refs.next();
    let cmap_id = refs.next();
    let info = pdf_writer::types::SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    pdf.type0_font(type0)
        .base_font(Name(f.base_name.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap_id);
    {
        let mut c = pdf.cid_font(cid);
        c.subtype(CidFontType::Type2)
            .base_font(Name(f.base_name.as_bytes()))
            .system_info(info)
            .font_descriptor(descriptor)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        let mut w = c.widths();
        for (gid, (_, adv)) in f.used() {
            w.consecutive(*gid, [*adv]);
        }
    }
    let (ascent, descent, cap, bbox) = f.metrics();
    let mut flags = FontFlags::NON_SYMBOLIC;
    if f.name == b"F2" {
        flags |= FontFlags::FIXED_PITCH;
    }
    pdf.font_descriptor(descriptor)
        .name(Name(f.base_name.as_bytes()))
        .flags(flags)
        .bbox(Rect::new(bbox[0], bbox[1], bbox[2], bbox[3]))
        .italic_angle(0.0)
        .ascent(ascent)
        .descent(descent)
        .cap_height(cap)
        .stem_v(80.0)
        .font_file2(file);
    pdf.stream(file, data)
        .pair(Name(b"Length1"), data.len() as i32);
    let mut cmap = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), info);
    for (gid, (c, _)) in f.used() {
        cmap.pair(*gid, *c);
    }
    pdf.cmap(cmap_id, &cmap.finish());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{code, text};

    fn layout() -> Layout {
        Layout {
            fonts: Fonts::load().unwrap(),
            alphas: BTreeSet::new(),
            pages: Vec::new(),
            y: TOP,
            dests: HashMap::new(),
        }
    }

    fn style() -> Style {
        Style {
            font: FontId::Sans,
            size: BODY,
            bold: false,
            colour: INK,
            bg: None,
        }
    }

    fn line_text(l: &Line) -> String {
        l.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn wrapping_stays_inside_the_width_and_loses_no_character() {
        let l = layout();
        let long_word = "x".repeat(400);
        let input = format!("a few words then {long_word} and the rest of the sentence");
        let lines = l.wrap(&[(input.clone(), style(), None)], 200.0);
        assert!(lines.len() > 5, "{}", lines.len());
        for line in &lines {
            let end = line.last().map(|p| p.x + p.width).unwrap_or(0.0);
            assert!(end <= 200.01, "{end}: {:?}", line_text(line));
            // Measured widths agree with the font.
            let w = l.width(&style(), &line_text(line));
            assert!((w - end).abs() < 0.5, "{w} vs {end}");
        }
        let joined: String = lines.iter().map(line_text).collect::<Vec<_>>().join(" ");
        assert_eq!(
            joined.split_whitespace().collect::<String>(),
            input.split_whitespace().collect::<String>()
        );
    }

    #[test]
    fn columns_share_the_page_width() {
        let l = layout();
        let h = style();
        let narrow = Table {
            headers: vec!["a".into(), "b".into()],
            rows: vec![vec![text("x"), text("y")]],
        };
        let w = l.column_widths(&narrow, 2, 4.0, &h);
        assert!((w.iter().sum::<f32>() - WIDTH).abs() < 0.1, "{w:?}");
        let wide = Table {
            headers: vec!["Status".into(), "Tolerance".into(), "Output".into()],
            rows: vec![vec![
                text("ok"),
                code("{\"type\":\"regex\",\"pattern\":\"^200\"}".repeat(5)),
                text("word ".repeat(200)),
            ]],
        };
        let w = l.column_widths(&wide, 3, 4.0, &h);
        assert!((w.iter().sum::<f32>() - WIDTH).abs() < 0.1, "{w:?}");
        // The short column keeps what it needs; the long ones share the rest.
        assert!(w[0] < 60.0 && w[1] > 100.0 && w[2] > 100.0, "{w:?}");
    }

    #[test]
    fn a_document_becomes_a_pdf_with_outline_destinations_and_links() {
        let mut s = Section::new("first", "First");
        s.push(Block::Paragraph(vec![Span::Link {
            target: "second".into(),
            text: "to the second".into(),
        }]));
        s.push(Block::Code(CodeBlock {
            language: "text",
            text: "y".repeat(50_000),
            wrap: false,
            note: Some("a note".into()),
        }));
        let mut second = Section::new("second", "Second");
        second.in_toc = false;
        s.push(Block::Section(second));
        let doc = Document {
            title: "T".into(),
            subtitle: None,
            sections: vec![s],
        };
        let pdf = render(&doc).unwrap();
        let raw = String::from_utf8_lossy(&pdf);
        assert!(raw.starts_with("%PDF-"));
        assert!(raw.contains("/Outlines") && raw.contains("/UseOutlines"));
        assert!(raw.contains("/first") && raw.contains("/second"));
        assert!(raw.contains("/Subtype /Link") && raw.contains("/D /second"));
        assert!(raw.contains("/FontFile2") && raw.contains("/ToUnicode"));
        // 50,000 characters at about 107 a line, 77 lines a page: 7 pages and the cover.
        let pages = raw.matches("/MediaBox").count();
        assert!(pages >= 7, "{pages} pages");
    }
}
