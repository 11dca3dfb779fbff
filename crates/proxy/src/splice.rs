//! The zero-copy fast path: splice(2) through a pipe between two TCP sockets.
//!
//! Why: with no toxic on a link, the copying path reads every chunk into a user-space
//! buffer and writes it out again, and on a machine where the proxy shares its cores with
//! both ends that copy and its syscalls are what keep throughput far below a direct
//! connection. `splice` moves socket pages into a pipe and from the pipe into the other
//! socket without the data ever entering this process.
//!
//! How it fits the link (`crate::link`): the link owns at most one [`Pipe`] and uses it
//! only while no toxic is active on its direction. It fills the pipe only when the pipe is
//! empty, so an `EAGAIN` from the source can only mean "socket empty" and may clear
//! tokio's read readiness (a full pipe would otherwise be mistaken for an empty socket
//! and the link would stall); it empties the pipe through the destination's write
//! readiness. When a toxic arrives the bytes still in the pipe are read out
//! ([`Pipe::drain`]) and enter the toxic chain first, so nothing is lost or reordered.
//!
//! Descriptors: a pipe costs two, which the connection budget (two per connection,
//! `crate::guard`) does not include, so pipes are created lazily (an idle connection never
//! has one), closed when the link leaves the fast path or ends, and capped by a
//! [`PipeBudget`] carved out of the server's descriptor reserve. A link that finds the
//! budget spent, or a platform or descriptor pair where splice is refused (`EINVAL`,
//! `ENOSYS`; anything but Linux), simply copies.
//!
//! Only raw TCP sockets can be spliced: the link takes a pipe only when its source and its
//! destination both expose their socket (`link::Source::tcp`, `link::Sink::tcp`). A TLS
//! session's halves keep the default `None`, so a TLS link copies through the chain even
//! though every link is handed the budget.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::TcpStream;

/// Bytes a pipe is asked to hold (`F_SETPIPE_SZ`; best effort, the default is 64 KiB).
pub const PIPE_SIZE: usize = 256 * 1024;

/// Why a splice could not go on.
#[derive(Debug, thiserror::Error)]
pub enum SpliceError {
    /// This platform or this pair of descriptors cannot splice: copy instead.
    #[error("splice(2) is not available here")]
    Unsupported(#[source] io::Error),
    /// The peer reset the connection (the link passes the RST on).
    #[error("connection reset while splicing")]
    Reset(#[source] io::Error),
    /// Any other failure of the socket or the pipe: the link closes.
    #[error("splice(2) failed")]
    Io(#[source] io::Error),
}

impl SpliceError {
    fn classify(e: io::Error) -> SpliceError {
        match e.raw_os_error() {
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => {
                SpliceError::Unsupported(e)
            }
            _ if e.kind() == io::ErrorKind::ConnectionReset => SpliceError::Reset(e),
            _ if e.kind() == io::ErrorKind::Unsupported => SpliceError::Unsupported(e),
            _ => SpliceError::Io(e),
        }
    }
}

/// What one splice call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// This many bytes moved.
    Moved(usize),
    /// The source reached end of file (only when filling).
    Eof,
    /// Nothing to do until tokio reports readiness again.
    WouldBlock,
}

/// How many pipes the links of one server may hold at once.
#[derive(Debug)]
pub struct PipeBudget {
    left: AtomicUsize,
    capacity: usize,
}

impl PipeBudget {
    pub fn new(pipes: usize) -> PipeBudget {
        PipeBudget {
            left: AtomicUsize::new(pipes),
            capacity: pipes,
        }
    }

    /// Pipes the budget allows in all.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Pipes open right now.
    pub fn in_use(&self) -> usize {
        self.capacity - self.left.load(Ordering::Relaxed)
    }

    /// Whether a pipe could be opened now.
    pub fn has_room(&self) -> bool {
        self.left.load(Ordering::Relaxed) > 0
    }

    fn take(self: &Arc<Self>) -> Option<Slot> {
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .ok()
            .map(|_| Slot(self.clone()))
    }
}

/// One pipe's place in the budget, given back on drop.
#[derive(Debug)]
struct Slot(Arc<PipeBudget>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.left.fetch_add(1, Ordering::AcqRel);
    }
}

/// A non-blocking pipe with the number of bytes it holds.
#[derive(Debug)]
pub struct Pipe {
    #[cfg(target_os = "linux")]
    read: std::os::fd::OwnedFd,
    #[cfg(target_os = "linux")]
    write: std::os::fd::OwnedFd,
    /// Bytes spliced in and not yet out.
    len: usize,
    _slot: Slot,
}

impl Pipe {
    /// A new pipe, `Ok(None)` when the budget is spent.
    pub fn open(budget: &Arc<PipeBudget>) -> Result<Option<Pipe>, SpliceError> {
        let Some(slot) = budget.take() else {
            return Ok(None);
        };
        sys::open(slot).map(Some)
    }

    /// Bytes waiting in the pipe.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Splice what `src` has (up to the pipe's size) into the pipe, which must be empty.
    pub fn fill(&mut self, src: &TcpStream) -> Result<Step, SpliceError> {
        debug_assert!(self.is_empty());
        let r = src.try_io(tokio::io::Interest::READABLE, || sys::fill(self, src));
        match r {
            Ok(0) => Ok(Step::Eof),
            Ok(n) => {
                self.len += n;
                Ok(Step::Moved(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Step::WouldBlock),
            Err(e) => Err(SpliceError::classify(e)),
        }
    }

    /// Splice what the pipe holds into `dst`, as far as `dst` takes it.
    pub fn flush(&mut self, dst: &TcpStream) -> Result<Step, SpliceError> {
        if self.is_empty() {
            return Ok(Step::Moved(0));
        }
        let r = dst.try_io(tokio::io::Interest::WRITABLE, || sys::flush(self, dst));
        match r {
            Ok(n) => {
                self.len -= n.min(self.len);
                Ok(Step::Moved(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Step::WouldBlock),
            Err(e) => Err(SpliceError::classify(e)),
        }
    }

    /// Read every byte still in the pipe (it is in kernel memory, so this never waits).
    pub fn drain(&mut self) -> Result<Vec<u8>, SpliceError> {
        let mut out = vec![0u8; self.len];
        let mut got = 0;
        while got < out.len() {
            match sys::read(self, &mut out[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SpliceError::Io(e)),
            }
        }
        out.truncate(got);
        self.len = 0;
        Ok(out)
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use tokio::net::TcpStream;

    use super::{Pipe, Slot, SpliceError, PIPE_SIZE};

    pub(super) fn open(slot: Slot) -> Result<Pipe, SpliceError> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 writes two descriptors into the array it is given.
        let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if r != 0 {
            return Err(SpliceError::classify(io::Error::last_os_error()));
        }
        // SAFETY: both descriptors were just created and are owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // Best effort: a bigger pipe moves more per syscall; refused past the per-user
        // pipe page limit, where the default size still works.
        // SAFETY: fcntl on a descriptor we own, with an integer argument.
        unsafe {
            libc::fcntl(
                write.as_raw_fd(),
                libc::F_SETPIPE_SZ,
                PIPE_SIZE as libc::c_int,
            )
        };
        Ok(Pipe {
            read,
            write,
            len: 0,
            _slot: slot,
        })
    }

    fn check(n: libc::ssize_t) -> io::Result<usize> {
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    const FLAGS: libc::c_uint = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;

    pub(super) fn fill(p: &Pipe, src: &TcpStream) -> io::Result<usize> {
        // SAFETY: splice between two descriptors that stay open for the call, no offsets.
        check(unsafe {
            libc::splice(
                src.as_raw_fd(),
                std::ptr::null_mut(),
                p.write.as_raw_fd(),
                std::ptr::null_mut(),
                PIPE_SIZE,
                FLAGS,
            )
        })
    }

    pub(super) fn flush(p: &Pipe, dst: &TcpStream) -> io::Result<usize> {
        // SAFETY: as in `fill`.
        check(unsafe {
            libc::splice(
                p.read.as_raw_fd(),
                std::ptr::null_mut(),
                dst.as_raw_fd(),
                std::ptr::null_mut(),
                p.len,
                FLAGS,
            )
        })
    }

    pub(super) fn read(p: &Pipe, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: reads at most buf.len() bytes into buf from a descriptor we own.
        check(unsafe { libc::read(p.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    //! No splice(2): every link copies.
    use std::io;

    use tokio::net::TcpStream;

    use super::{Pipe, Slot, SpliceError};

    fn unsupported() -> io::Error {
        io::Error::new(io::ErrorKind::Unsupported, "splice(2) is Linux only")
    }
    pub(super) fn open(_slot: Slot) -> Result<Pipe, SpliceError> {
        Err(SpliceError::Unsupported(unsupported()))
    }
    pub(super) fn fill(_p: &Pipe, _src: &TcpStream) -> io::Result<usize> {
        Err(unsupported())
    }
    pub(super) fn flush(_p: &Pipe, _dst: &TcpStream) -> io::Result<usize> {
        Err(unsupported())
    }
    pub(super) fn read(_p: &Pipe, _buf: &mut [u8]) -> io::Result<usize> {
        Err(unsupported())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = TcpStream::connect(l.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (b, _) = l.accept().await.expect("accept");
        (a, b)
    }

    #[test]
    fn the_budget_caps_open_pipes_and_takes_them_back() {
        let budget = Arc::new(PipeBudget::new(2));
        let a = Pipe::open(&budget).expect("open").expect("slot");
        let b = Pipe::open(&budget).expect("open").expect("slot");
        assert!(Pipe::open(&budget).expect("open").is_none());
        assert_eq!(budget.in_use(), 2);
        drop(a);
        assert_eq!(budget.in_use(), 1);
        let c = Pipe::open(&budget).expect("open");
        assert!(c.is_some());
        drop((b, c));
        assert_eq!(budget.in_use(), 0);
    }

    /// Bytes go socket → pipe → socket; what is left in the pipe can be read back out.
    #[tokio::test]
    async fn fill_flush_and_drain_keep_every_byte() {
        let (mut src_peer, src) = pair().await;
        let (dst, mut dst_peer) = pair().await;
        let budget = Arc::new(PipeBudget::new(1));
        let mut pipe = Pipe::open(&budget).expect("open").expect("slot");
        src_peer.write_all(b"hello, pipe").await.expect("write");
        let mut moved = 0;
        while moved < 11 {
            src.readable().await.expect("readable");
            if let Step::Moved(n) = pipe.fill(&src).expect("fill") {
                moved += n;
                dst.writable().await.expect("writable");
                while !pipe.is_empty() {
                    pipe.flush(&dst).expect("flush");
                }
            }
        }
        let mut got = [0u8; 11];
        dst_peer.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"hello, pipe");

        src_peer.write_all(b"left behind").await.expect("write");
        let mut held = Vec::new();
        while held.len() < 11 {
            src.readable().await.expect("readable");
            if let Step::Moved(_) = pipe.fill(&src).expect("fill") {
                held.extend(pipe.drain().expect("drain"));
            }
        }
        assert_eq!(held, b"left behind");
        assert!(pipe.is_empty());

        drop(src_peer);
        loop {
            src.readable().await.expect("readable");
            if pipe.fill(&src).expect("fill") == Step::Eof {
                break;
            }
        }
    }
}
