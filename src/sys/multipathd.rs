//! Is multipathd running? Asked the way multipath does: by connecting to
//! its abstract control socket, never by a pid file that may be stale.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};

/// multipathd's control socket, in the abstract namespace.
const SOCKET: &[u8] = b"/org/kernel/linux/storage/multipathd";

/// True when something accepts connections on multipathd's socket.
pub fn running() -> bool {
    SocketAddr::from_abstract_name(SOCKET)
        .and_then(|addr| UnixStream::connect_addr(&addr))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn a_listener_on_the_socket_counts_as_running() {
        // Only meaningful where no real multipathd runs (build machines).
        if running() {
            return;
        }
        let addr = SocketAddr::from_abstract_name(SOCKET).unwrap();
        let listener = UnixListener::bind_addr(&addr).unwrap();
        assert!(running());
        drop(listener);
        assert!(!running());
    }
}
