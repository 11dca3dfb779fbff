//! Pseudo-terminals for tests that need a child's output to go to a terminal (prompts,
//! colours shown only on a TTY).

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};

/// A pseudo-terminal pair: the master side for the test, the slave side for the child.
pub fn open_pty() -> (File, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two descriptors it opened; null name/termios/winsize are allowed.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty failed: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nobody else.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}
