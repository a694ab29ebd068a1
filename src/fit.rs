//! Text fitting with fontdue metrics: the largest size from a small fixed ladder at which a text
//! fits its box (wrapping to a few lines). Shared by the screens and `papan layout check`.

/// The only font sizes papan uses, in pixels. A short fixed ladder, because bevy keeps one glyph
/// atlas per size forever (bevy#5636): sizes must not vary freely with the data.
pub const SIZES: [f32; 22] = [
    14.0, 16.0, 18.0, 20.0, 24.0, 28.0, 32.0, 36.0, 40.0, 48.0, 56.0, 64.0, 72.0, 88.0, 104.0, 128.0, 160.0,
    200.0, 256.0, 320.0, 400.0, 512.0,
];

/// The fonts shipped in `assets/fonts` (Noto Sans, OFL), built in so fitting needs no files.
pub const REGULAR_TTF: &[u8] = include_bytes!("../assets/fonts/NotoSans-Regular.ttf");
pub const BOLD_TTF: &[u8] = include_bytes!("../assets/fonts/NotoSans-Bold.ttf");

/// Measures text in one font.
pub struct Fitter {
    font: fontdue::Font,
}

/// Where a text landed.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub size: f32,
    pub lines: Vec<String>,
    /// False when even the smallest size does not fit: the text would be cut.
    pub fits: bool,
}

impl Fitter {
    pub fn new(ttf: &[u8]) -> Result<Fitter, String> {
        fontdue::Font::from_bytes(ttf, fontdue::FontSettings::default())
            .map(|font| Fitter { font })
            .map_err(str::to_string)
    }

    pub fn regular() -> Fitter {
        Fitter::new(REGULAR_TTF).expect("the built-in regular font parses")
    }

    pub fn bold() -> Fitter {
        Fitter::new(BOLD_TTF).expect("the built-in bold font parses")
    }

    /// Advance width of one line at `px`, with kerning.
    pub fn line_width(&self, text: &str, px: f32) -> f32 {
        let mut width = 0.0;
        let mut previous = None;
        for c in text.chars() {
            if let Some(kern) = previous.and_then(|p| self.font.horizontal_kern(p, c, px)) {
                width += kern;
            }
            width += self.font.metrics(c, px).advance_width;
            previous = Some(c);
        }
        width
    }

    /// Height of one line (ascent + descent + gap) at `px`.
    pub fn line_height(&self, px: f32) -> f32 {
        self.font.horizontal_line_metrics(px).map_or(px * 1.2, |m| m.new_line_size)
    }

    /// Whether the font has a glyph for every character (else the screen would show boxes).
    pub fn covers(&self, text: &str) -> bool {
        text.chars().all(|c| c.is_whitespace() || self.font.lookup_glyph_index(c) != 0)
    }

    /// The largest ladder size at which `text` fits `width` × `height` in at most `max_lines`
    /// lines (broken at spaces); the smallest size, marked as not fitting, if none does.
    pub fn fit(&self, text: &str, width: f32, height: f32, max_lines: usize) -> Fit {
        for &size in SIZES.iter().rev() {
            if let Some(lines) = self.wrap(text, size, width, max_lines.max(1))
                && lines.len() as f32 * self.line_height(size) <= height
            {
                return Fit { size, lines, fits: true };
            }
        }
        let size = SIZES[0];
        let lines = self.wrap(text, size, width, usize::MAX).unwrap_or_else(|| vec![text.to_string()]);
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
        let mut pages: Vec<String> = Vec::new();
        let mut current = String::new();
        for word in text.split_whitespace() {
            let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
            if current.is_empty() || self.line_width(&candidate, size) <= width {
                current = candidate;
            } else {
                pages.push(std::mem::replace(&mut current, word.to_string()));
            }
        }
        if !current.is_empty() || pages.is_empty() {
            pages.push(current);
        }
        pages
    }

    /// Greedy word wrap; `None` if a word is wider than the box or more lines are needed.
    fn wrap(&self, text: &str, size: f32, width: f32, max_lines: usize) -> Option<Vec<String>> {
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        for word in text.split_whitespace() {
            if self.line_width(word, size) > width {
                return None;
            }
            let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
            if self.line_width(&candidate, size) <= width {
                current = candidate;
            } else {
                lines.push(std::mem::replace(&mut current, word.to_string()));
                if lines.len() >= max_lines {
                    return None;
                }
            }
        }
        if !current.is_empty() || lines.is_empty() {
            lines.push(current);
        }
        (lines.len() <= max_lines).then_some(lines)
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
        assert_eq!(f.pages("a Dinas-Kependudukan-dan-Pencatatan-Sipil b", 40.0, 200.0).len(), 3);
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
