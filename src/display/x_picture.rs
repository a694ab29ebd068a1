//! The window's picture on the X side: a connection of papan's own, a shared-memory image holding the whole picture (BGRX), and puts of its rectangles.

use std::ffi::{CString, c_char, c_int, c_uint};

use bevy::math::{URect, UVec2};
use x11_dl::xlib::{self, Xlib};
use x11_dl::xshm::{XShmSegmentInfo, Xext};

/// The X side: a connection of its own, the window, its graphics context and what the server
/// can take.
pub(super) struct XConnection {
    xlib: Xlib,
    display: *mut xlib::Display,
    window: xlib::Window,
    gc: xlib::GC,
    visual: *mut xlib::Visual,
    depth: c_uint,
    /// libXext's MIT-SHM calls, when the server is local and has the extension.
    shm: Option<Xext>,
    /// The window's size when the connection was opened.
    size: UVec2,
}

// SAFETY: the connection is used by one thread at a time (made in the main world, then moved into
// the render world and used only by its systems, which run one after another on one thread).
unsafe impl Send for XConnection {}
unsafe impl Sync for XConnection {}

impl Drop for XConnection {
    fn drop(&mut self) {
        // SAFETY: both came from this connection and are freed once, here.
        unsafe {
            (self.xlib.XFreeGC)(self.display, self.gc);
            (self.xlib.XCloseDisplay)(self.display);
        }
    }
}

impl XConnection {
    pub(super) fn open(window: xlib::Window) -> Result<XConnection, String> {
        let xlib = Xlib::open().map_err(|e| format!("libX11 is missing ({e})"))?;
        let name = std::env::var("DISPLAY").unwrap_or_default();
        let c_name = CString::new(name.clone()).map_err(|_| "DISPLAY holds a NUL byte".to_string())?;
        // SAFETY: plain Xlib calls on a connection opened here; every pointer passed is valid.
        unsafe {
            let display = (xlib.XOpenDisplay)(c_name.as_ptr());
            if display.is_null() {
                return Err(format!("cannot open the X display {name:?} a second time"));
            }
            let mut attributes: xlib::XWindowAttributes = std::mem::zeroed();
            if (xlib.XGetWindowAttributes)(display, window, &mut attributes) == 0 {
                (xlib.XCloseDisplay)(display);
                return Err(format!("the X window {window:#x} is not there"));
            }
            let visual = attributes.visual;
            let bgrx = (*visual).class == xlib::TrueColor
                && (*visual).red_mask == 0xff_0000
                && (*visual).green_mask == 0xff00
                && (*visual).blue_mask == 0xff
                && matches!(attributes.depth, 24 | 32);
            if !bgrx {
                (xlib.XCloseDisplay)(display);
                return Err(format!(
                    "the window's visual is not 24-bit TrueColor (depth {})",
                    attributes.depth
                ));
            }
            (xlib.XSelectInput)(display, window, xlib::ExposureMask);
            let gc = (xlib.XCreateGC)(display, window, 0, std::ptr::null_mut());
            // Shared memory only with a server on this machine (a remote one cannot attach it).
            let local = name.starts_with(':') || name.starts_with("unix:");
            let shm = Xext::open().ok().filter(|xext| local && (xext.XShmQueryExtension)(display) != 0);
            let size = UVec2::new(attributes.width.max(1) as u32, attributes.height.max(1) as u32);
            Ok(XConnection {
                xlib,
                display,
                window,
                gc,
                visual,
                depth: attributes.depth as c_uint,
                shm,
                size,
            })
        }
    }

    /// Whether the window was exposed (uncovered, mapped) since last asked: the X server then
    /// shows nothing there until the picture is put again.
    pub(super) fn take_exposures(&mut self) -> bool {
        let mut exposed = false;
        // SAFETY: reads this connection's queued events into a local XEvent.
        unsafe {
            while (self.xlib.XPending)(self.display) > 0 {
                let mut event: xlib::XEvent = std::mem::zeroed();
                (self.xlib.XNextEvent)(self.display, &mut event);
                exposed |= event.get_type() == xlib::Expose;
            }
        }
        exposed
    }

    /// Waits until the server has done everything asked (it reads the shared image when it gets
    /// to the put; the next frame must not write it before).
    pub(super) fn sync(&self) {
        // SAFETY: a round trip on this connection.
        unsafe { (self.xlib.XSync)(self.display, xlib::False) };
    }
}

/// The whole picture on the window, as X takes it (BGRX, 4 bytes a pixel).
struct XFrame {
    image: *mut xlib::XImage,
    /// Set when the picture is in shared memory; boxed, since the image points at it.
    segment: Option<Box<XShmSegmentInfo>>,
    /// The pixels, when not in shared memory (owned here, not by Xlib).
    heap: Vec<u32>,
    size: UVec2,
}

// SAFETY: see `XConnection`; the image's pointers belong to that connection.
unsafe impl Send for XFrame {}
unsafe impl Sync for XFrame {}

/// The whole picture on the window, in the X server's format, and the connection to put it with.
pub(super) struct XPicture {
    pub(super) x: XConnection,
    frame: Option<XFrame>,
}

impl XPicture {
    /// Opens the connection and makes the picture at the window's size now, so that a server
    /// whose images papan cannot write is found before the camera stops writing the window.
    pub(super) fn open(window: xlib::Window) -> Result<XPicture, String> {
        let x = XConnection::open(window)?;
        let size = x.size;
        let mut picture = XPicture { x, frame: None };
        picture.ensure_size(size)?;
        Ok(picture)
    }

    /// Whether puts go through shared memory (not the X socket).
    pub(super) fn shared(&self) -> bool {
        self.x.shm.is_some()
    }

    /// The picture's size, once it has one.
    pub(super) fn size(&self) -> Option<UVec2> {
        self.frame.as_ref().map(|f| f.size)
    }

    /// A picture of the window's size, made anew when the size changed.
    pub(super) fn ensure_size(&mut self, size: UVec2) -> Result<(), String> {
        if self.size() == Some(size) {
            return Ok(());
        }
        self.drop_image();
        let x = &self.x;
        let (width, height) = (size.x as c_uint, size.y as c_uint);
        // SAFETY: Xlib and SysV shared-memory calls on pointers made here; the segment is attached
        // to the X server before any put that reads it, and removed once both sides detach.
        let frame = unsafe {
            match &x.shm {
                Some(xext) => {
                    // Xlib keeps a pointer to the segment's info in the image: it must not move.
                    let mut segment: Box<XShmSegmentInfo> = Box::new(std::mem::zeroed());
                    let image = (xext.XShmCreateImage)(
                        x.display,
                        x.visual,
                        x.depth,
                        xlib::ZPixmap,
                        std::ptr::null_mut(),
                        &mut *segment,
                        width,
                        height,
                    );
                    if image.is_null() {
                        return Err("XShmCreateImage failed".into());
                    }
                    let bytes = (*image).bytes_per_line as usize * (*image).height as usize;
                    segment.shmid = libc::shmget(libc::IPC_PRIVATE, bytes, libc::IPC_CREAT | 0o600);
                    if segment.shmid < 0 {
                        (x.xlib.XFree)(image.cast());
                        return Err(format!("shmget of {bytes} bytes: {}", std::io::Error::last_os_error()));
                    }
                    let address = libc::shmat(segment.shmid, std::ptr::null(), 0);
                    libc::shmctl(segment.shmid, libc::IPC_RMID, std::ptr::null_mut());
                    if address as isize == -1 {
                        (x.xlib.XFree)(image.cast());
                        return Err(format!("shmat: {}", std::io::Error::last_os_error()));
                    }
                    segment.shmaddr = address.cast::<c_char>();
                    segment.readOnly = xlib::False;
                    (*image).data = segment.shmaddr;
                    (xext.XShmAttach)(x.display, &mut *segment);
                    (x.xlib.XSync)(x.display, xlib::False);
                    XFrame { image, segment: Some(segment), heap: Vec::new(), size }
                }
                None => {
                    let mut heap = vec![0u32; size.x as usize * size.y as usize];
                    let image = (x.xlib.XCreateImage)(
                        x.display,
                        x.visual,
                        x.depth,
                        xlib::ZPixmap,
                        0,
                        heap.as_mut_ptr().cast::<c_char>(),
                        width,
                        height,
                        32,
                        (width * 4) as c_int,
                    );
                    if image.is_null() {
                        return Err("XCreateImage failed".into());
                    }
                    XFrame { image, segment: None, heap, size }
                }
            }
        };
        // SAFETY: the image was just made and is valid.
        let (bits, order, stride) = unsafe {
            ((*frame.image).bits_per_pixel, (*frame.image).byte_order, (*frame.image).bytes_per_line)
        };
        self.frame = Some(frame);
        if bits != 32 || order != xlib::LSBFirst || stride != (size.x * 4) as c_int {
            self.drop_image();
            return Err(format!(
                "the X image is {bits} bits a pixel, byte order {order}, {stride} bytes a row"
            ));
        }
        Ok(())
    }

    fn drop_image(&mut self) {
        let Some(mut frame) = self.frame.take() else { return };
        let x = &self.x;
        // SAFETY: the image and segment were made by `ensure_size` and are released once here;
        // the data pointer is cleared first, since Xlib must not free memory it did not allocate.
        unsafe {
            if let (Some(xext), Some(segment)) = (&x.shm, frame.segment.as_mut()) {
                (xext.XShmDetach)(x.display, &mut **segment);
                (x.xlib.XSync)(x.display, xlib::False);
                libc::shmdt(segment.shmaddr.cast());
            }
            (*frame.image).data = std::ptr::null_mut();
            (x.xlib.XFree)(frame.image.cast());
        }
    }

    /// The picture's pixels, BGRX.
    pub(super) fn pixels(&mut self) -> &mut [u32] {
        let Some(frame) = self.frame.as_mut() else { return &mut [] };
        if frame.segment.is_none() {
            return &mut frame.heap;
        }
        let len = frame.size.x as usize * frame.size.y as usize;
        // SAFETY: the shared segment holds `len` pixels (checked stride × height) and lives as
        // long as the frame; the X server only reads it, and only between a put and the sync.
        unsafe { std::slice::from_raw_parts_mut((*frame.image).data.cast::<u32>(), len) }
    }

    /// Puts one rectangle of the picture on the window (shown once the server got to it).
    pub(super) fn put(&self, rect: URect) {
        let Some(frame) = &self.frame else { return };
        let x = &self.x;
        let (px, py) = (rect.min.x as c_int, rect.min.y as c_int);
        let (w, h) = (rect.width(), rect.height());
        // SAFETY: the image covers the rectangle (it is clamped to the frame's size).
        unsafe {
            match (&x.shm, frame.segment.is_some()) {
                (Some(xext), true) => {
                    (xext.XShmPutImage)(
                        x.display,
                        x.window,
                        x.gc,
                        frame.image,
                        px,
                        py,
                        px,
                        py,
                        w,
                        h,
                        xlib::False,
                    );
                }
                _ => {
                    (x.xlib.XPutImage)(x.display, x.window, x.gc, frame.image, px, py, px, py, w, h);
                }
            }
        }
    }
}

impl Drop for XPicture {
    fn drop(&mut self) {
        self.drop_image();
    }
}

/// One row of read-back pixels into the picture: RGBA bytes to BGRX words, or BGRA as they are.
pub(super) fn write_row(source: &[u8], dest: &mut [u32], swizzle: bool) {
    for (pixel, out) in source.chunks_exact(4).zip(dest) {
        let p = u32::from_le_bytes([pixel[0], pixel[1], pixel[2], pixel[3]]);
        *out = if swizzle { (p & 0xff00_ff00) | ((p & 0xff) << 16) | ((p >> 16) & 0xff) } else { p };
    }
}

/// A BGRX word of the X picture as RGBA bytes (opaque).
pub(super) fn bgrx_to_rgba(p: u32) -> [u8; 4] {
    let [b, g, r, _] = p.to_le_bytes();
    [r, g, b, 255]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgba_rows_become_the_bgrx_words_x_takes_and_back() {
        let source = [10, 20, 30, 255, 200, 100, 0, 128];
        let mut dest = [0u32; 2];
        write_row(&source, &mut dest, true);
        // X reads a word's bytes as B, G, R, X (little-endian, 24-bit TrueColor).
        assert_eq!(dest[0].to_le_bytes(), [30, 20, 10, 255]);
        assert_eq!(dest[1].to_le_bytes(), [0, 100, 200, 128]);
        assert_eq!(bgrx_to_rgba(dest[0]), [10, 20, 30, 255]);
        assert_eq!(bgrx_to_rgba(dest[1]), [200, 100, 0, 255]);
        // BGRA read back goes as it is.
        write_row(&source, &mut dest, false);
        assert_eq!(dest[0].to_le_bytes(), [10, 20, 30, 255]);
    }
}
