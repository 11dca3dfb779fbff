//! The two fonts a PDF report embeds: DejaVu Sans (text) and DejaVu Sans Mono (code,
//! outputs, tracebacks), compiled into the binary so a report needs nothing installed.
//!
//! Why these: free (the Bitstream Vera licence with DejaVu's public-domain changes, see
//! `crates/report/fonts/LICENSE`), embeddable and subsettable, wide Unicode coverage
//! (Latin, Greek, Cyrillic, arrows, box drawing), and in Debian's `fonts-dejavu-core`.
//! Bold is drawn by stroking the regular outlines (text render mode "fill and stroke")
//! rather than by a third font: it saves 0.7 MB of binary for headings and table heads.
//!
//! Text is measured with `ttf-parser` (advances from `hmtx`), shown as two-byte glyph
//! ids (Identity-H) through a [`subsetter::GlyphRemapper`], so the embedded font holds
//! only the glyphs used; a `ToUnicode` map keeps the text extractable (`pdftotext`,
//! search, copy). Characters the font lacks are shown as `?`.

use super::PdfError;
use std::collections::BTreeMap;

/// DejaVu Sans 2.37 (Debian `fonts-dejavu-core`).
static SANS: &[u8] = include_bytes!("../../../fonts/DejaVuSans.ttf");
/// DejaVu Sans Mono 2.37 (Debian `fonts-dejavu-core`).
static MONO: &[u8] = include_bytes!("../../../fonts/DejaVuSansMono.ttf");

/// Which embedded font.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FontId {
    /// DejaVu Sans.
    Sans,
    /// DejaVu Sans Mono.
    Mono,
}

/// One embedded font: its parsed face, the glyphs used so far and their text.
pub struct Font {
    /// The resource name in content streams (`F1`, `F2`).
    pub name: &'static [u8],
    /// The PostScript name the PDF gives it (with a subset tag).
    pub base_name: &'static str,
    data: &'static [u8],
    face: ttf_parser::Face<'static>,
    units: f32,
    remapper: subsetter::GlyphRemapper,
    /// New glyph id → (the character it shows, its advance in 1/1000 em).
    used: BTreeMap<u16, (char, f32)>,
    fallback: u16,
}

impl Font {
    fn load(
        data: &'static [u8],
        name: &'static [u8],
        base_name: &'static str,
    ) -> Result<Self, PdfError> {
        let face = ttf_parser::Face::parse(data, 0).map_err(|e| PdfError::Font {
            font: base_name,
            reason: e.to_string(),
        })?;
        let units = f32::from(face.units_per_em());
        let fallback = face.glyph_index('?').map(|g| g.0).unwrap_or(0);
        Ok(Font {
            name,
            base_name,
            data,
            face,
            units,
            remapper: subsetter::GlyphRemapper::new(),
            used: BTreeMap::new(),
            fallback,
        })
    }

    fn glyph(&self, c: char) -> u16 {
        self.face
            .glyph_index(c)
            .map(|g| g.0)
            .unwrap_or(self.fallback)
    }

    fn advance_units(&self, gid: u16) -> f32 {
        f32::from(
            self.face
                .glyph_hor_advance(ttf_parser::GlyphId(gid))
                .unwrap_or(0),
        )
    }

    /// The width of `s` at `size` points.
    pub fn width(&self, s: &str, size: f32) -> f32 {
        let units: f32 = s
            .chars()
            .map(|c| self.advance_units(self.glyph(display_char(c))))
            .sum();
        units / self.units * size
    }

    /// The width of one character at `size` points.
    pub fn char_width(&self, c: char, size: f32) -> f32 {
        self.advance_units(self.glyph(display_char(c))) / self.units * size
    }

    /// `s` as the two-byte glyph ids of the subset, remembering each glyph's text.
    pub fn encode(&mut self, s: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len() * 2);
        for c in s.chars() {
            let c = display_char(c);
            let old = self.glyph(c);
            let new = self.remapper.remap(old);
            if !self.used.contains_key(&new) {
                let shown = if old == self.fallback && c != '?' {
                    '?'
                } else {
                    c
                };
                let adv = self.advance_units(old) * 1000.0 / self.units;
                self.used.insert(new, (shown, adv));
            }
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }

    /// The subset font program (TrueType) with only the glyphs [`Font::encode`] used.
    pub fn subset(&self) -> Result<Vec<u8>, PdfError> {
        subsetter::subset(self.data, 0, &self.remapper).map_err(|e| PdfError::Font {
            font: self.base_name,
            reason: format!("subsetting failed: {e}"),
        })
    }

    /// The glyphs used: new id → (character, advance in 1/1000 em).
    pub fn used(&self) -> &BTreeMap<u16, (char, f32)> {
        &self.used
    }

    /// Ascent, descent, cap height (1/1000 em) and bounding box for the descriptor.
    pub fn metrics(&self) -> (f32, f32, f32, [f32; 4]) {
        let k = 1000.0 / self.units;
        let bb = self.face.global_bounding_box();
        (
            f32::from(self.face.ascender()) * k,
            f32::from(self.face.descender()) * k,
            f32::from(self.face.capital_height().unwrap_or(self.face.ascender())) * k,
            [
                f32::from(bb.x_min) * k,
                f32::from(bb.y_min) * k,
                f32::from(bb.x_max) * k,
                f32::from(bb.y_max) * k,
            ],
        )
    }
}

/// What a character is drawn as: tabs as a space, other control characters as `?`
/// (they have no glyph and would make text extraction lie).
fn display_char(c: char) -> char {
    match c {
        '\t' => ' ',
        c if c.is_control() => '?',
        c => c,
    }
}

/// Both fonts of a report.
pub struct Fonts {
    /// DejaVu Sans.
    pub sans: Font,
    /// DejaVu Sans Mono.
    pub mono: Font,
}

impl Fonts {
    /// Parses the embedded fonts.
    pub fn load() -> Result<Self, PdfError> {
        Ok(Fonts {
            sans: Font::load(SANS, b"F1", "AAAAAA+DejaVuSans")?,
            mono: Font::load(MONO, b"F2", "AAAAAB+DejaVuSansMono")?,
        })
    }

    /// The font for `id`.
    pub fn get(&self, id: FontId) -> &Font {
        match id {
            FontId::Sans => &self.sans,
            FontId::Mono => &self.mono,
        }
    }

    /// The font for `id`, to encode with.
    pub fn get_mut(&mut self, id: FontId) -> &mut Font {
        match id {
            FontId::Sans => &mut self.sans,
            FontId::Mono => &mut self.mono,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_come_from_the_font_and_mono_is_fixed() {
        let f = Fonts::load().unwrap();
        let i = f.sans.width("iiii", 10.0);
        let m = f.sans.width("MMMM", 10.0);
        assert!(i > 0.0 && m > 2.0 * i, "{i} {m}");
        assert_eq!(f.mono.width("iiii", 10.0), f.mono.width("MMMM", 10.0));
        assert!((f.mono.char_width('x', 10.0) - 6.02).abs() < 0.05);
    }

    #[test]
    fn encoding_remaps_glyphs_and_keeps_their_text() {
        let mut f = Fonts::load().unwrap();
        let a = f.sans.encode("aba");
        assert_eq!(a.len(), 6);
        assert_eq!(a[0..2], a[4..6]);
        assert_ne!(a[0..2], a[2..4]);
        let chars: Vec<char> = f.sans.used().values().map(|(c, _)| *c).collect();
        assert_eq!(chars, vec!['a', 'b']);
        // A character without a glyph is shown (and extracted) as `?`.
        f.sans.encode("\u{10FFFD}");
        assert!(f.sans.used().values().any(|(c, _)| *c == '?'));
        let sub = f.sans.subset().unwrap();
        assert!(sub.len() < 40_000, "{}", sub.len());
    }
}
