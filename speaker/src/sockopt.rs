//! Socket options no safe crate exposes: TCP-MD5 signatures (RFC 2385) and the GTSM minimum TTL
//! (RFC 5082). This is the only module of the project with `unsafe` code: three `setsockopt`
//! calls on a file descriptor the caller owns, each with a value built here whose size is passed
//! along, so the kernel never reads past it.
#![allow(unsafe_code)]

use std::io;
use std::net::IpAddr;
use std::os::fd::RawFd;

/// Largest TCP-MD5 key Linux accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub(crate) const MAX_MD5_KEY: usize = 80;

/// Linux `struct tcp_md5sig` (include/uapi/linux/tcp.h), which the libc crate does not define.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MAX_MD5_KEY],
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>()).map_err(|_| io::Error::other("option too large"))?;
    // SAFETY: `value` is a live, initialized `T` of exactly `len` bytes for the duration of the
    // call; the kernel copies it and keeps no reference. An invalid `fd` is reported as EBADF.
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast::<libc::c_void>(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets (or with an empty key, removes) the TCP-MD5 key for segments to and from `peer` on the
/// socket `fd` (Linux `TCP_MD5SIG`). On a listening socket it applies to connections from `peer`.
pub(crate) fn set_md5(fd: RawFd, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MAX_MD5_KEY {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "TCP-MD5 key longer than 80 bytes"));
    }
    // SAFETY: all-zero bytes are a valid value of this plain C struct.
    let mut sig: TcpMd5Sig = unsafe { std::mem::zeroed() };
    match peer {
        IpAddr::V4(a) => {
            // SAFETY: zeroed is valid for sockaddr_in.
            let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sin.sin_family = libc::sa_family_t::try_from(libc::AF_INET).unwrap_or(2);
            sin.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(a.octets()) };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and both are plain data; we copy
            // the bytes of `sin` into its beginning.
            unsafe { std::ptr::write((&mut sig.addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>(), sin) };
        }
        IpAddr::V6(a) => {
            // SAFETY: zeroed is valid for sockaddr_in6.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::sa_family_t::try_from(libc::AF_INET6).unwrap_or(10);
            sin6.sin6_addr = libc::in6_addr { s6_addr: a.octets() };
            // SAFETY: as above, for sockaddr_in6.
            unsafe {
                std::ptr::write((&mut sig.addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>(), sin6)
            };
        }
    }
    sig.keylen = u16::try_from(key.len()).unwrap_or(0);
    for (d, s) in sig.key.iter_mut().zip(key) {
        *d = *s;
    }
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// GTSM (RFC 5082): send with TTL / hop limit 255 and drop segments that arrive with less than
/// `min_ttl` (255 minus the number of hops allowed).
pub(crate) fn set_gtsm(fd: RawFd, v6: bool, min_ttl: u8) -> io::Result<()> {
    let ttl: libc::c_int = 255;
    let min: libc::c_int = libc::c_int::from(min_ttl);
    if v6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)?;
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &min)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &ttl)?;
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &min)
    }
}
