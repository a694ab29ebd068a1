//! Text fitting measured by parley, the engine bevy draws with: the largest size from a small fixed
//! ladder at which a text fits its box (wrapping to a few lines). Shared by the screens and
//! `papan layout check`, so what the check passes is what the screen draws.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use parley::fontique::{Blob, Collection, CollectionOptions, FontInfoOverride, SourceCache};
use parley::{FontContext, FontFamily, Layout, LayoutContext, LineHeight, StyleProperty};

/// The only font sizes papan uses, in pixels. A short fixed ladder, because bevy keeps one glyph
/// atlas per size forever (bevy#5636): sizes must not vary freely with the data.
pub const SIZES: [f32; 22] = [
    14.0, 16.0, 18.0, 20.0, 24.0, 28.0, 32.0, 36.0, 40.0, 48.0, 56.0, 64.0, 72.0, 88.0, 104.0, 128.0, 160.0,
    200.0, 256.0, 320.0, 400.0, 512.0,
];

/// The fonts shipped in `assets/fonts` (Noto Sans, OFL), built in so fitting needs no files.
pub const REGULAR_TTF: &[u8] = include_bytes!("../assets/fonts/NotoSans-Regular.ttf");
pub const BOLD_TTF: &[u8] = include_bytes!("../assets/fonts/NotoSans-Bold.ttf");

/// The one family a fitter knows: its font registered under this name only, as bevy registers
/// each font asset under an alias of its own, so no fallback or weight matching picks another face.
const FAMILY: &str = "papan-fit";

/// Fits kept per fitter before the cache starts over: a screen fits the same few hundred texts
/// on every redraw, a long-running one must not grow without end.
const CACHE_LIMIT: usize = 4096;

/// Measures text in one font, as bevy_text lays it out (parley: harfrust shaping with the font's
/// GPOS kerning, UAX #14 line breaks, quantized advances).
pub struct Fitter {
    engine: Mutex<Engine>,
    /// (ascent + descent + gap) per pixel of font size: a line's full height, accents included.
    line_height_per_px: f32,
}

struct Engine {
    fonts: FontContext,
    layouts: LayoutContext<()>,
    fits: HashMap<FitKey, Fit>,
}

#[derive(Hash, PartialEq, Eq)]
struct FitKey {
    text: String,
    width: u32,
    height: u32,
    max_lines: usize,
}

/// Where a text landed.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub size: f32,
    pub lines: Vec<String>,
    /// False when even the smallest size does not fit: the text would be cut.
    pub fits: bool,
}

impl Engine {
    /// `text` at `px`, broken into lines no wider than `max_width` where the text allows.
    fn layout(&mut self, text: &str, px: f32, max_width: Option<f32>, line_height: LineHeight) -> Layout<()> {
        let mut builder = self.layouts.ranged_builder(&mut self.fonts, text, 1.0, true);
        builder.push_default(StyleProperty::FontFamily(FontFamily::named(FAMILY)));
        builder.push_default(StyleProperty::FontSize(px));
        builder.push_default(StyleProperty::LineHeight(line_height));
        let mut layout = builder.build(text);
        layout.break_all_lines(max_width);
        layout
    }

    /// `text` wrapped to `width` at `px`: its lines, trimmed (one empty line for a blank text),
    /// and whether each fits the width.
    fn wrap(&mut self, text: &str, px: f32, width: f32) -> (Vec<String>, bool) {
        let layout = self.layout(text, px, Some(width), LineHeight::FontSizeRelative(1.2));
        let mut within = true;
        let mut lines: Vec<String> = layout
            .lines()
            .map(|line| {
                let metrics = line.metrics();
                within &= metrics.advance - metrics.trailing_whitespace <= width;
                // Parley gives an empty text one line past its end; clamp to what there is.
                let range = line.text_range();
                text.get(range.start.min(text.len())..range.end.min(text.len()))
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .filter(|line| !line.is_empty())
            .collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        (lines, within)
    }
}

impl Fitter {
    pub fn new(ttf: &[u8]) -> Result<Fitter, String> {
        // Only our font: no system fonts to fall back on, so a missing glyph shows as missing.
        let options = CollectionOptions { shared: false, system_fonts: false };
        let mut fonts =
            FontContext { collection: Collection::new(options), source_cache: SourceCache::default() };
        let family = FontInfoOverride { family_name: Some(FAMILY), ..Default::default() };
        let registered = fonts.collection.register_fonts(Blob::new(Arc::new(ttf.to_vec())), Some(family));
        if registered.is_empty() {
            return Err("not a font parley can read (TrueType or OpenType expected)".to_string());
        }
        let mut engine = Engine { fonts, layouts: LayoutContext::new(), fits: HashMap::new() };
        let reference = 1000.0;
        let layout = engine.layout("H", reference, None, LineHeight::MetricsRelative(1.0));
        let line_height_per_px = layout.height() / reference;
        if line_height_per_px.is_nan() || line_height_per_px <= 0.5 {
            return Err(format!("the font gives a line height of {line_height_per_px} per pixel"));
        }
        Ok(Fitter { engine: Mutex::new(engine), line_height_per_px })
    }

    pub fn regular() -> Fitter {
        Fitter::new(REGULAR_TTF).expect("the built-in regular font parses")
    }

    pub fn bold() -> Fitter {
        Fitter::new(BOLD_TTF).expect("the built-in bold font parses")
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        // A panic mid-measure leaves nothing half-written that matters: the cache is only a cache.
        self.engine.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Advance width of one line at `px`, shaped (kerning included) as the screen draws it.
    pub fn line_width(&self, text: &str, px: f32) -> f32 {
        self.engine().layout(text, px, None, LineHeight::FontSizeRelative(1.2)).width()
    }

    /// Height of one line (ascent + descent + gap) at `px`.
    pub fn line_height(&self, px: f32) -> f32 {
        self.line_height_per_px * px
    }

    /// Whether the font has a glyph for every character (else the screen would show boxes).
    pub fn covers(&self, text: &str) -> bool {
        let layout = self.engine().layout(text, 32.0, None, LineHeight::FontSizeRelative(1.2));
        layout.lines().all(|line| {
            line.items().all(|item| match item {
                parley::PositionedLayoutItem::GlyphRun(run) => run.glyphs().all(|glyph| glyph.id != 0),
                parley::PositionedLayoutItem::InlineBox(_) => true,
            })
        })
    }

    /// The largest ladder size at which `text` fits `width` × `height` in at most `max_lines`
    /// lines; the smallest size, marked as not fitting, if none does.
    pub fn fit(&self, text: &str, width: f32, height: f32, max_lines: usize) -> Fit {
        let key =
            FitKey { text: text.to_string(), width: width.to_bits(), height: height.to_bits(), max_lines };
        if let Some(fit) = self.engine().fits.get(&key) {
            return fit.clone();
        }
        let fit = self.fit_uncached(text, width, height, max_lines.max(1));
        let mut engine = self.engine();
        if engine.fits.len() >= CACHE_LIMIT {
            engine.fits.clear();
        }
        engine.fits.insert(key, fit.clone());
        fit
    }

    fn fit_uncached(&self, text: &str, width: f32, height: f32, max_lines: usize) -> Fit {
        for &size in SIZES.iter().rev() {
            // Sizes too tall for one line need no shaping.
            if self.line_height(size) > height {
                continue;
            }
            if let Some(lines) = self.wrap(text, size, width, max_lines)
                && lines.len() as f32 * self.line_height(size) <= height
            {
                return Fit { size, lines, fits: true };
            }
        }
        let size = SIZES[0];
        let (lines, _) = self.engine().wrap(text, size, width);
        Fit { size, lines, fits: false }
    }

    /// `text` fitted as a group with others: at most `size`, so that a row of panels shares one size.
    pub fn fit_at_most(&self, text: &str, size: f32, width: f32, height: f32, max_lines: usize) -> Fit {
        let own = self.fit(text, width, height, max_lines);
        if own.size <= size {
            return own;
        }
        let lines = self.wrap(text, size, width, max_lines).unwrap_or(own.lines);
        Fit { size, lines, fits: true }
    }

    /// `text` as one-line pages of at most `width` at `size`, for a ticker that pages rather than
    /// scrolls (steady text is easier to read from afar, and a static page costs no frames). A
    /// word wider than the box gets a page of its own (and is clipped).
    pub fn pages(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        self.engine().wrap(text, size, width).0
    }

    /// The lines of `text` at `size` within `width`; `None` if a word is wider than the box or
    /// more than `max_lines` are needed.
    fn wrap(&self, text: &str, size: f32, width: f32, max_lines: usize) -> Option<Vec<String>> {
        let (lines, within) = self.engine().wrap(text, size, width);
        (within && lines.len() <= max_lines).then_some(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticker_pages_fit_and_keep_every_word_in_order() {
        let f = Fitter::regular();
        let text = "Selamat datang di Mal Pelayanan Publik Kota Palembang. Siapkan KTP dan dokumen \
            Anda sebelum dipanggil. Layanan Samsat buka sampai pukul 15.00 WIB.";
        let pages = f.pages(text, 40.0, 600.0);
        assert!(pages.len() >= 3, "{pages:?}");
        for page in &pages {
            assert!(f.line_width(page, 40.0) <= 600.0, "{page}");
        }
        assert_eq!(pages.join(" "), text.split_whitespace().collect::<Vec<_>>().join(" "));
        assert_eq!(f.pages("Singkat", 40.0, 600.0), vec!["Singkat"]);
        assert_eq!(f.pages("", 40.0, 600.0), vec![""]);
        // A word wider than the box stands alone rather than vanishing.
        assert_eq!(f.pages("a Kependudukanpencatatansipil b", 40.0, 200.0).len(), 3);
        // A long hyphenated word breaks after its hyphens (UAX #14), as the screen would.
        let hyphenated = f.pages("Dinas-Kependudukan-dan-Pencatatan-Sipil", 40.0, 300.0);
        assert!(
            hyphenated.len() > 1 && hyphenated.concat() == "Dinas-Kependudukan-dan-Pencatatan-Sipil",
            "{hyphenated:?}"
        );
    }

    #[test]
    fn widths_grow_with_text_and_size() {
        let f = Fitter::bold();
        assert!(f.line_width("Loket 12", 48.0) > f.line_width("Loket 1", 48.0));
        let (small, big) = (f.line_width("A-123", 40.0), f.line_width("A-123", 80.0));
        assert!((big / small - 2.0).abs() < 0.05, "{small} {big}");
        assert!(f.line_height(100.0) > 100.0);
        assert!(f.covers("Kependudukan dan Pencatatan Sipil · 14.05 WIB — Rabu, 2 Desember"));
        assert!(!f.covers("ア"));
    }

    #[test]
    fn kerning_comes_from_the_fonts_gpos_table() {
        // Noto Sans kerns only in GPOS (it has no `kern` table): "AV" is narrower than "A" + "V",
        // and "Tour" than its letters, as the screen draws them.
        let f = Fitter::bold();
        let apart = |text: &str| text.chars().map(|c| f.line_width(&c.to_string(), 100.0)).sum::<f32>();
        for text in ["AVAV", "Tour", "WA-7"] {
            assert!(
                f.line_width(text, 100.0) < apart(text) - 2.0,
                "{text}: {} vs {}",
                f.line_width(text, 100.0),
                apart(text)
            );
        }
    }

    #[test]
    fn picks_the_largest_size_that_fits_and_wraps_long_names() {
        let f = Fitter::regular();
        let short = f.fit("PLN", 300.0, 100.0, 2);
        assert!(short.fits && short.lines == ["PLN"]);
        // One step up the ladder would not fit.
        let next = SIZES[SIZES.iter().position(|&s| s == short.size).unwrap() + 1];
        assert!(f.line_width("PLN", next) > 300.0 || f.line_height(next) > 100.0);

        let name = "Dinas Kependudukan dan Pencatatan Sipil";
        let fit = f.fit(name, 260.0, 90.0, 2);
        assert!(fit.fits, "{fit:?}");
        assert_eq!(fit.lines.len(), 2);
        assert_eq!(fit.lines.join(" "), name, "nothing dropped");
        assert!(fit.lines.iter().all(|l| f.line_width(l, fit.size) <= 260.0));
        assert!(fit.size >= 24.0, "{fit:?}");
    }

    #[test]
    fn reports_a_cut_when_nothing_fits() {
        let f = Fitter::regular();
        let fit = f.fit("Kementerian Agraria dan Tata Ruang", 40.0, 10.0, 1);
        assert!(!fit.fits);
        assert_eq!(fit.size, SIZES[0]);
    }
}
