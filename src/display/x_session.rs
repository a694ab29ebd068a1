//! Waiting for the X display before bevy starts: bevy's windowing panics if it cannot connect,
//! and a screen PC may start papan before its X session is up (or while the X server resets).

use std::ffi::CString;
use std::time::{Duration, Instant};

use x11_dl::xlib::{Display, Xlib};

/// An open connection to the X display, held while the display runs: an X server resets when
/// its last client leaves, and a reset just as bevy connects would fail bevy's connection.
pub(super) struct XSession {
    xlib: Xlib,
    display: *mut Display,
}

impl Drop for XSession {
    fn drop(&mut self) {
        // SAFETY: `display` came from XOpenDisplay and is closed exactly once, here.
        unsafe { (self.xlib.XCloseDisplay)(self.display) };
    }
}

/// Why there is no X display to draw on.
#[derive(Debug, thiserror::Error)]
pub enum XSessionError {
    #[error(
        "DISPLAY is not set: papan display draws on an X display; start it inside the screen's X \
         session or name the display (e.g. DISPLAY=:0)"
    )]
    NoDisplayVariable,
    #[error("cannot load libX11 ({0}): install libx11-6")]
    NoXlib(String),
    #[error(
        "cannot open the X display {display} (waited {waited_s} s): is the X session running, and \
         may this user use it (XAUTHORITY)?"
    )]
    Unreachable { display: String, waited_s: u64 },
}

/// Connects to `$DISPLAY`, trying again for up to `patience` while the X server is not there yet.
pub(super) fn wait_for_x_display(patience: Duration) -> Result<XSession, XSessionError> {
    let name =
        std::env::var("DISPLAY").ok().filter(|d| !d.is_empty()).ok_or(XSessionError::NoDisplayVariable)?;
    let c_name = CString::new(name.clone())
        .map_err(|_| XSessionError::Unreachable { display: name.clone(), waited_s: 0 })?;
    let xlib = Xlib::open().map_err(|e| XSessionError::NoXlib(e.to_string()))?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(100);
    let mut warned = false;
    loop {
        // SAFETY: a valid C string; XOpenDisplay returns null or a connection we own.
        let display = unsafe { (xlib.XOpenDisplay)(c_name.as_ptr()) };
        if !display.is_null() {
            if started.elapsed() > Duration::from_millis(500) {
                tracing::info!("X display {name} is there after {:.1} s", started.elapsed().as_secs_f32());
            }
            return Ok(XSession { xlib, display });
        }
        if started.elapsed() >= patience {
            return Err(XSessionError::Unreachable { display: name, waited_s: patience.as_secs() });
        }
        if !warned {
            warned = true;
            tracing::warn!(
                "cannot open the X display {name} yet; trying again for up to {} s",
                patience.as_secs()
            );
        }
        std::thread::sleep(pause.min(patience.saturating_sub(started.elapsed())));
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}
