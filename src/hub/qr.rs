//! QR codes as SVG for the ticket kiosk's receipts (`GET /api/qr`): the phone page's address.

use qrcode::QrCode;
use qrcode::render::svg;

/// The longest text a QR code is made of (an address of a phone page is far shorter).
pub const MAX_QR_TEXT: usize = 512;

/// Why no QR code was made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QrError {
    #[error("data must be 1 to {MAX_QR_TEXT} characters")]
    Length,
    #[error("cannot encode this text as a QR code: {0}")]
    Encode(String),
}

/// `text` as a QR code in SVG, black on white with its quiet zone, at least `min_px` wide.
pub fn svg(text: &str, min_px: u32) -> Result<String, QrError> {
    if text.is_empty() || text.chars().count() > MAX_QR_TEXT {
        return Err(QrError::Length);
    }
    let code = QrCode::new(text.as_bytes()).map_err(|e| QrError::Encode(e.to_string()))?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(min_px, min_px)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_an_svg_and_refuses_empty_or_huge_text() {
        let image = svg("http://hub.local:7878/antrean/A-031", 160).unwrap();
        assert!(image.starts_with("<?xml") && image.contains("<svg"), "{}", &image[..80]);
        assert_eq!(svg("", 160), Err(QrError::Length));
        assert_eq!(svg(&"x".repeat(MAX_QR_TEXT + 1), 160), Err(QrError::Length));
    }
}
