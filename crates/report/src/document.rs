//! A small, format-neutral document tree: what the report says, without how it looks.
//!
//! [`crate::build`] turns the [`crate::analysis`] of the journals into one [`Document`];
//! each renderer (Markdown, HTML, and later PDF) walks the same tree. Keeping the tree
//! free of any format's syntax is what lets a renderer be added without touching what the
//! report contains: headings carry an `id` (an anchor for a table of contents and links),
//! code blocks say whether long lines may wrap, charts are data ([`Chart`]) that a
//! renderer draws (HTML through [`crate::svg`]) or summarises (Markdown).

/// The whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The report's title (`--title`).
    pub title: String,
    /// A line under the title (the date the report was made).
    pub subtitle: Option<String>,
    /// The top-level sections, in order.
    pub sections: Vec<Section>,
}

/// A section: a heading and what follows it. Its level is its depth in the tree (a
/// top-level section is level 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// A unique anchor (`[a-z0-9-]`), for links and the table of contents.
    pub id: String,
    /// The heading text.
    pub title: String,
    /// Shown next to the heading (an experiment's verdict), when any.
    pub badge: Option<(Tone, String)>,
    /// The section's content, in order.
    pub blocks: Vec<Block>,
    /// Whether the table of contents lists it.
    pub in_toc: bool,
}

impl Section {
    /// A section listed in the table of contents.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Section {
            id: id.into(),
            title: title.into(),
            badge: None,
            blocks: Vec::new(),
            in_toc: true,
        }
    }

    /// Adds a block.
    pub fn push(&mut self, block: Block) -> &mut Self {
        self.blocks.push(block);
        self
    }
}

/// How good or bad something is: renderers colour by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tone {
    /// It held / succeeded.
    Good,
    /// It deviated / failed.
    Bad,
    /// Worth a look (interrupted, aborted, unknown).
    Warn,
    /// Nothing to judge.
    Neutral,
}

impl Tone {
    /// A short name (`good`, `bad`, `warn`, `neutral`), e.g. a CSS class.
    pub fn as_str(&self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Bad => "bad",
            Tone::Warn => "warn",
            Tone::Neutral => "neutral",
        }
    }
}

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    /// Plain text.
    Text(String),
    /// Strong emphasis.
    Strong(String),
    /// Inline code (a name, a value).
    Code(String),
    /// A status word, coloured by its tone.
    Status(Tone, String),
    /// A link to a section of the same document, by its id.
    Link {
        /// The section's id.
        target: String,
        /// The text shown.
        text: String,
    },
}

/// Text made of spans.
pub type Text = Vec<Span>;

/// Plain text as [`Text`].
pub fn text(s: impl Into<String>) -> Text {
    vec![Span::Text(s.into())]
}

/// Inline code as [`Text`].
pub fn code(s: impl Into<String>) -> Text {
    vec![Span::Code(s.into())]
}

/// A status word as [`Text`].
pub fn status(tone: Tone, s: impl Into<String>) -> Text {
    vec![Span::Status(tone, s.into())]
}

/// The plain characters of a [`Text`], styles dropped.
pub fn plain(text: &Text) -> String {
    text.iter()
        .map(|s| match s {
            Span::Text(t) | Span::Strong(t) | Span::Code(t) | Span::Status(_, t) => t.as_str(),
            Span::Link { text, .. } => text.as_str(),
        })
        .collect()
}

/// One piece of content.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A sub-section.
    Section(Section),
    /// A paragraph.
    Paragraph(Text),
    /// A highlighted one-line judgement (a verdict).
    Callout(Tone, Text),
    /// A table.
    Table(Table),
    /// Key/value pairs (a summary, a provider).
    KeyValue(Vec<(String, Text)>),
    /// Preformatted text.
    Code(CodeBlock),
    /// A chart.
    Chart(Chart),
    /// A bulleted list.
    List(Vec<Text>),
}

/// A table with a header row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The column headings.
    pub headers: Vec<String>,
    /// The rows; each has as many cells as there are headings.
    pub rows: Vec<Vec<Text>>,
}

/// Preformatted text: an output, an exception, arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeBlock {
    /// A language hint (`json`, `python`, `text`).
    pub language: &'static str,
    /// The text.
    pub text: String,
    /// Whether long lines may be wrapped (a traceback, JSON) rather than scrolled.
    pub wrap: bool,
    /// A note shown with it (for instance that the text was truncated).
    pub note: Option<String>,
}

/// A chart: data and how to read it; renderers draw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// A unique id.
    pub id: String,
    /// The chart's title.
    pub title: String,
    /// What kind of chart, with its data.
    pub kind: ChartKind,
    /// What the chart omits (too many points, rows), when anything.
    pub note: Option<String>,
}

/// The chart kinds and their data.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartKind {
    /// Vertical bars: one bar per category (per series).
    Bar {
        /// The categories (x axis).
        categories: Vec<String>,
        /// The series; each has one value per category.
        series: Vec<(String, Vec<f64>)>,
        /// The y axis label.
        y_label: String,
    },
    /// Lines over x (usually time).
    Line {
        /// The series, points sorted by x.
        series: Vec<LineSeries>,
        /// Whether x is a Unix time in seconds.
        x_is_time: bool,
        /// The y axis label.
        y_label: String,
        /// Whether y is drawn on a log scale.
        log_y: bool,
    },
    /// Horizontal bars over time: a timeline of activities.
    Timeline {
        /// The rows, in order.
        rows: Vec<TimelineRow>,
    },
    /// A radar: one polygon per series over the axes; values in 0..=1.
    Radar {
        /// The axes.
        axes: Vec<String>,
        /// The series; `None` where there is no data.
        series: Vec<(String, Vec<Option<f64>>)>,
    },
    /// A dot matrix: a row per series, a column per category, dot size by value (0..=1);
    /// a negative value is an empty dot ("explicitly none").
    Dot {
        /// The columns.
        columns: Vec<String>,
        /// The rows; `None` where there is no data.
        rows: Vec<(String, Vec<Option<f64>>)>,
    },
}

/// One line of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct LineSeries {
    /// The legend.
    pub name: String,
    /// The points (x, y).
    pub points: Vec<(f64, f64)>,
}

/// One bar of a timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    /// The label (`method · action restart`).
    pub label: String,
    /// Seconds from the start of the run.
    pub start: f64,
    /// Seconds from the start of the run (at least `start`).
    pub end: f64,
    /// The colour.
    pub tone: Tone,
    /// Drawn hatched: a background activity.
    pub background: bool,
}

/// Makes a string an anchor id: lower-case ASCII letters, digits and dashes.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            dash = false;
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push('s');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_anchor_safe() {
        assert_eq!(
            slug("Rollout a slower service 2!"),
            "rollout-a-slower-service-2"
        );
        assert_eq!(slug("  ~~ "), "s");
        assert_eq!(slug("Café—Ünïcode"), "caf-n-code");
    }

    #[test]
    fn plain_drops_styles() {
        let t = vec![
            Span::Strong("a".into()),
            Span::Code("b".into()),
            Span::Link {
                target: "x".into(),
                text: "c".into(),
            },
        ];
        assert_eq!(plain(&t), "abc");
    }
}
