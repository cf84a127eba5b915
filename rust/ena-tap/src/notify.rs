//! systemd's service notification (`sd_notify(3)`): one datagram of
//! `KEY=VALUE` lines to the socket `$NOTIFY_SOCKET` names. As a
//! `Type=notify` service, ena-tap says READY once its TAP is up with the
//! ENI's MAC, MTU and flags, so nothing (the lab's attach hook moving the
//! TAP into a namespace) races its own setup of the TAP by name.
//! Without `$NOTIFY_SOCKET` (not run by systemd) it says nothing.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;

/// READY=1 with a status line `systemctl status` shows.
pub fn ready(status: &str) {
    send_env(&format!("READY=1\nSTATUS={status}\n"));
}

/// STOPPING=1: the device is being reset and given back.
pub fn stopping() {
    send_env("STOPPING=1\n");
}

fn send_env(msg: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send(&socket, msg) {
        crate::log(format!(
            "cannot notify systemd at {}: {e}",
            socket.to_string_lossy()
        ));
    }
}

/// One message to a notification socket: a path, or `@name` for the
/// abstract namespace (how systemd may name it in a container).
pub fn send(socket: &OsStr, msg: &str) -> io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    if let Some(name) = socket.as_bytes().strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(msg.as_bytes(), &addr)?;
    } else {
        sock.send_to(msg.as_bytes(), socket)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reaches_a_socket_named_by_its_path() {
        let dir = std::env::temp_dir().join(format!("ena-tap-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        send(path.as_os_str(), "READY=1\nSTATUS=up\n").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=up\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_message_reaches_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("ena-tap-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&addr).unwrap();
        send(OsStr::new(&format!("@{name}")), "STOPPING=1\n").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1\n");
    }

    #[test]
    fn no_socket_is_an_error_naming_it() {
        let e = send(OsStr::new("/nonexistent/ena-tap/notify"), "READY=1\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
