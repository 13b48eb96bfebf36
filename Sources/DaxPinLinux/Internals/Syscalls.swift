import CVFIO
import DaxPinCore
import Glibc
import SystemPackage

// `system_*` is daxpin's wrapper for the syscall `*` (swift-system's convention). Each returns the
// kernel's answer as Result<_, Errno>; the one EINTR-retry loop is `valueOrErrno`.

/// Runs `body` until it returns something other than -1/EINTR; -1 becomes the errno.
/// EBADF and EFAULT are not treated as programmer errors here: for a pin ioctl EFAULT is the
/// kernel's policy answer (6.5+ file-backed rule), and it must reach the report.
/// `onInterrupt` runs on each EINTR before the retry: the output writers pass
/// `Signals.endProcessIfCaught`, so a signal that interrupted a blocked write ends the process
/// instead of being retried into the same block.
@inline(__always)
func valueOrErrno<I: FixedWidthInteger>(_ body: () -> I, onInterrupt: () -> Void = {}) -> Result<I, Errno> {
  while true {
    let r = body()
    if r != -1 { return .success(r) }
    let e = Glibc.errno
    if e == EINTR {
      onInterrupt()
      continue
    }
    return .failure(Errno(rawValue: e))
  }
}

@inline(__always)
func nothingOrErrno<I: FixedWidthInteger>(_ body: () -> I) -> Result<Void, Errno> {
  valueOrErrno(body).map { _ in () }
}

func system_open(_ path: String, _ flags: CInt, _ mode: mode_t = 0) -> Result<CInt, Errno> {
  RawPath.withCString(path) { p in valueOrErrno { Glibc.open(p, flags, mode) } }
}

/// close(2) is never retried (Linux releases the fd even when it reports EINTR); EBADF is a bug.
func system_close(_ fd: CInt) {
  let r = Glibc.close(fd)
  precondition(r == 0 || Glibc.errno != EBADF, "close(\(fd)): EBADF: daxpin closed an fd it did not own")
}

func system_read(_ fd: CInt, _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
  valueOrErrno { Glibc.read(fd, buffer.baseAddress, buffer.count) }
}

func system_write(_ fd: CInt, _ buffer: UnsafeRawBufferPointer, onInterrupt: () -> Void = {}) -> Result<Int, Errno> {
  valueOrErrno({ Glibc.write(fd, buffer.baseAddress, buffer.count) }, onInterrupt: onInterrupt)
}

/// statx(2) of `path` relative to `directory` (AT_FDCWD when nil), or of the fd itself when
/// `path` is empty (AT_EMPTY_PATH).
func system_statx(_ path: String, in directory: CInt = AT_FDCWD, followLinks: Bool = true) -> Result<StatxResult, Errno> {
  var r = cvfio_stat()
  var flags = followLinks ? 0 : AT_SYMLINK_NOFOLLOW
  if path.isEmpty { flags |= CVFIO_AT_EMPTY_PATH }
  return RawPath.withCString(path) { p in nothingOrErrno { cvfio_statx_full(directory, p, flags, &r) } }.map { StatxResult(raw: r) }
}

struct StatxResult {
  var raw: cvfio_stat
  var mode: UInt32 { raw.mode }
  /// STATX_ATTR_DAX is set; nil when the kernel does not report the attribute at all.
  var dax: Bool? {
    raw.attributes_mask & CVFIO_STATX_ATTR_DAX != 0 ? raw.attributes & CVFIO_STATX_ATTR_DAX != 0 : nil
  }
  var isCharacterDevice: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFCHR) }
  var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
  var type: FileStatus.FileType {
    switch mode & UInt32(S_IFMT) {
    case UInt32(S_IFREG): .regular
    case UInt32(S_IFDIR): .directory
    case UInt32(S_IFCHR): .characterDevice
    case UInt32(S_IFBLK): .blockDevice
    case UInt32(S_IFLNK): .symbolicLink
    case UInt32(S_IFIFO): .fifo
    default: .socket
    }
  }
  var status: FileStatus {
    FileStatus(
      type: type, dax: dax, owner: raw.uid, permissions: mode & 0o7777,
      device: DeviceNumber(major: raw.dev_major, minor: raw.dev_minor), modifiedSeconds: raw.mtime_sec)
  }
}

/// statfs(2)'s f_type: the filesystem magic (TMPFS_MAGIC 0x01021994, EXT4 0xEF53, XFS 0x58465342).
func system_statfsType(_ path: String) -> Result<Int64, Errno> {
  var t: Int64 = 0
  return RawPath.withCString(path) { p in nothingOrErrno { cvfio_statfs_type(p, &t) } }.map { t }
}
