import CVFIO
import DaxPinCore
import Glibc
import SystemPackage

// The syscalls the output writers use. Names are looked up relative to a directory descriptor
// daxpin opened (openat, fstatat, readlinkat, renameat, unlinkat), so a directory that is
// renamed or replaced by another user between two calls cannot redirect the second one.
// Names are `RawPath` strings: each reaches the kernel as the bytes the user gave.
// `onInterrupt` is valueOrErrno's: the writers pass `Signals.endProcessIfCaught`.

/// openat(2). An open of a FIFO blocks until a reader comes; a signal then ends that wait (EINTR).
func system_openat(_ dir: CInt, _ name: String, _ flags: CInt, _ mode: mode_t = 0, onInterrupt: () -> Void = {}) -> Result<CInt, Errno> {
  RawPath.withCString(name) { n in valueOrErrno({ Glibc.openat(dir, n, flags, mode) }, onInterrupt: onInterrupt) }
}

/// What fstat(2) / fstatat(2) say about one inode.
struct FileStat: Equatable {
  var mode: mode_t
  var uid: uid_t
  var gid: gid_t
  var device: UInt64
  var inode: UInt64

  init(_ st: stat) {
    mode = st.st_mode
    uid = st.st_uid
    gid = st.st_gid
    device = UInt64(st.st_dev)
    inode = UInt64(st.st_ino)
  }

  var type: mode_t { mode & S_IFMT }
  var isRegular: Bool { type == S_IFREG }
  var isDirectory: Bool { type == S_IFDIR }
  var isSymbolicLink: Bool { type == S_IFLNK }
  var isBlockDevice: Bool { type == S_IFBLK }
  /// A character device, FIFO or socket: written through, never replaced.
  var isStream: Bool { type == S_IFCHR || type == S_IFIFO || type == S_IFSOCK }
  /// The same inode as `other` (the file opened is the file looked at).
  func isSameFile(as other: FileStat) -> Bool { device == other.device && inode == other.inode }
}

/// fstatat(2) of `name` in `dir`; `followLinks: false` is AT_SYMLINK_NOFOLLOW (lstat).
func system_fstatat(_ dir: CInt, _ name: String, followLinks: Bool) -> Result<FileStat, Errno> {
  var st = stat()
  return RawPath.withCString(name) { n in nothingOrErrno { Glibc.fstatat(dir, n, &st, followLinks ? 0 : AT_SYMLINK_NOFOLLOW) } }.map { FileStat(st) }
}

/// fstat(2); works on O_PATH descriptors too.
func system_fstat(_ fd: CInt) -> Result<FileStat, Errno> {
  var st = stat()
  return nothingOrErrno { Glibc.fstat(fd, &st) }.map { FileStat(st) }
}

/// readlinkat(2) of the symbolic link `fd` itself (an O_PATH|O_NOFOLLOW descriptor, empty name):
/// the text read is the text of the link whose owner was checked, its bytes kept (`RawPath`).
func system_readlink(_ fd: CInt) -> Result<String, Errno> {
  var size = 256
  while true {
    var buf = [CChar](repeating: 0, count: size)
    switch valueOrErrno({ Glibc.readlinkat(fd, "", &buf, size) }) {
    case .failure(let e): return .failure(e)
    case .success(let n) where n < size:
      return .success(RawPath.string(fromBytes: buf[..<n].map { UInt8(bitPattern: $0) }))
    case .success:
      guard size < 1 << 16 else { return .failure(.fileNameTooLong) }
      size *= 4
    }
  }
}

/// mkdirat(2) of `name` in `dir` with `mode` (less the umask).
func system_mkdirat(_ dir: CInt, _ name: String, _ mode: mode_t) -> Result<Void, Errno> {
  RawPath.withCString(name) { n in nothingOrErrno { Glibc.mkdirat(dir, n, mode) } }
}

/// renameat(2) within one directory: atomically replaces `to` with `from`.
func system_renameat(_ dir: CInt, _ from: String, _ to: String) -> Result<Void, Errno> {
  RawPath.withCString(from) { f in RawPath.withCString(to) { t in nothingOrErrno { Glibc.renameat(dir, f, dir, t) } } }
}

/// unlinkat(2) of a file (not a directory).
func system_unlinkat(_ dir: CInt, _ name: String) -> Result<Void, Errno> {
  RawPath.withCString(name) { n in nothingOrErrno { Glibc.unlinkat(dir, n, 0) } }
}

/// fchown(2).
func system_fchown(_ fd: CInt, _ uid: uid_t, _ gid: gid_t) -> Result<Void, Errno> {
  nothingOrErrno { Glibc.fchown(fd, uid, gid) }
}

/// fchmod(2).
func system_fchmod(_ fd: CInt, _ mode: mode_t) -> Result<Void, Errno> {
  nothingOrErrno { Glibc.fchmod(fd, mode) }
}

/// fsync(2): the data is on the disk before the rename makes it visible.
func system_fsync(_ fd: CInt, onInterrupt: () -> Void = {}) -> Result<Void, Errno> {
  valueOrErrno({ Glibc.fsync(fd) }, onInterrupt: onInterrupt).map { _ in () }
}

/// fstatfs(2)'s f_type of an open descriptor (PROC_SUPER_MAGIC for /proc).
func system_fstatfsType(_ fd: CInt) -> Result<Int64, Errno> {
  var t: Int64 = 0
  return nothingOrErrno { cvfio_fstatfs_type(fd, &t) }.map { t }
}

/// poll(2) for one descriptor until it is writable (a non-blocking stdout answered EAGAIN).
func system_pollWritable(_ fd: CInt, onInterrupt: () -> Void = {}) -> Result<Void, Errno> {
  var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
  return valueOrErrno({ Glibc.poll(&p, 1, -1) }, onInterrupt: onInterrupt).map { _ in () }
}

/// fcntl(2) F_GETFD: EBADF when `fd` is not open.
func system_isOpen(_ fd: CInt) -> Bool {
  Glibc.fcntl(fd, F_GETFD) != -1 || Glibc.errno != EBADF
}

/// dup2(2) `from` onto `to`; `from` is closed afterwards.
func system_moveDescriptor(_ from: CInt, to: CInt) -> Result<Void, Errno> {
  guard from != to else { return .success(()) }
  defer { system_close(from) }
  return nothingOrErrno { Glibc.dup2(from, to) }
}

/// fcntl(2) F_DUPFD_CLOEXEC: a second descriptor for the open file `fd`, sharing its offset.
func system_duplicate(_ fd: CInt) -> Result<CInt, Errno> {
  valueOrErrno { Glibc.fcntl(fd, F_DUPFD_CLOEXEC, 3) }
}

/// isatty(3) (an ioctl TCGETS).
func system_isatty(_ fd: CInt) -> Bool { Glibc.isatty(fd) == 1 }
