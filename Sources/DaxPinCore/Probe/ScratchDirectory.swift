import SystemPackage

/// The run's private directory under a directory the probe writes in (`/var/tmp`, `/dev/shm`, a
/// DAX mount): made with `mkdirat` (mode 0700) under a directory fd, opened with
/// `O_DIRECTORY | O_NOFOLLOW`, and trusted only when it is ours (owner, no group or other
/// access). Every file is then created and removed relative to its fd, so another user who can
/// write the parent can rename or replace the path but never redirect root's writes.
///
/// Its name records its owner, `.daxpin-<pid>-<start time>-<random>`, from the moment it exists,
/// so a later run can tell a dead run's leftovers (SIGKILL at any instant) from a live run's
/// directory (`LeftoverSweep`).
final class ScratchDirectory {
  let kernel: any Kernel
  let parent: String
  let name: String
  let fd: FileDescriptor
  /// The answer to `FS_IOC_FSSETXATTR(FS_XFLAG_DAX)` when it was asked (DAX mounts only).
  let daxFlag: Result<Void, Errno>?
  private var counter = 0

  static let prefix = ".daxpin-"

  /// `.daxpin-<pid>-<start time>-<random>`.
  static func name(for me: ProcessIdentity, suffix: String) -> String { "\(prefix)\(me.pid)-\(me.startTime)-\(suffix)" }

  /// The owner recorded in a name, nil for a name not of that form (an empty field included:
  /// `.daxpin--5-1-x` records no run).
  static func owner(of name: String) -> (pid: Int32, startTime: UInt64)? {
    guard name.hasPrefix(prefix) else { return nil }
    let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 3, let pid = Int32(parts[0]), pid > 0, let start = UInt64(parts[1]) else { return nil }
    return (pid, start)
  }

  /// A directory daxpin may trust as its own: a real directory owned by `me`'s user, with no
  /// group or other access. The run checks the directory it made; the sweep, one it may remove.
  static func isPrivate(_ st: FileStatus, to me: ProcessIdentity) -> Bool {
    st.type == .directory && st.owner == me.effectiveUID && st.permissions & 0o077 == 0
  }

  /// For reports and messages (`RawPath.display`: `\xNN`, control characters made visible).
  var path: String { "\(RawPath.display(parent))/\(name)" }

  private init(kernel: any Kernel, parent: String, name: String, fd: FileDescriptor, daxFlag: Result<Void, Errno>?) {
    self.kernel = kernel
    self.parent = parent
    self.name = name
    self.fd = fd
    self.daxFlag = daxFlag
  }

  /// Makes the directory; every step is undone by `cleanup` (newest first).
  static func make(kernel: any Kernel, in parent: String, dax: Bool, cleanup: Cleanup) throws(Unavailable) -> ScratchDirectory {
    func fail(_ what: String, _ e: Errno) -> Unavailable {
      Unavailable(outcome: .setupFailed, reason: "cannot create a private directory in \(RawPath.display(parent)): \(what): \(e.name)", errno: e)
    }
    let parentFD: FileDescriptor
    switch kernel.openDirectory(parent, in: nil) {
    case .success(let fd): parentFD = fd
    case .failure(let e): throw fail("open", e)
    }
    cleanup.add("close \(parent)") { kernel.close(parentFD) }

    let me = kernel.currentProcess()
    var name = ""
    var made: Result<Void, Errno> = .failure(.fileExists)
    for _ in 0..<8 {
      name = Self.name(for: me, suffix: randomSuffix())
      made = kernel.makeDirectory(name, in: parentFD)
      if case .failure(.fileExists) = made { continue }
      break
    }
    if case .failure(let e) = made { throw fail("mkdirat", e) }
    let madeName = name
    let removeOurs = { _ = kernel.unlink(madeName, in: parentFD, directory: true) }

    // Once the name no longer holds the directory daxpin made (another user renamed it and put a
    // directory of theirs in its place), it is not daxpin's to remove. When the open fails,
    // rmdir is still safe: it removes only an empty directory, and leaves a symlink or file
    // (ENOTDIR) alone.
    let fd: FileDescriptor
    switch kernel.openDirectory(name, in: parentFD) {
    case .success(let d): fd = d
    case .failure(let e):
      removeOurs()
      throw fail(e == .notDirectory || e == .tooManySymbolicLinkLevels ? "open \(name) with O_NOFOLLOW (replaced by another user?)" : "open \(name)", e)
    }
    switch kernel.status(of: fd) {
    case .success(let st) where isPrivate(st, to: me): break
    case .success(let st):
      kernel.close(fd)
      throw Unavailable(
        outcome: .setupFailed,
        reason: "\(RawPath.display(parent))/\(name) is not the directory daxpin made (owner uid \(st.owner), mode \(String(st.permissions, radix: 8))): refusing to create files in it")
    case .failure(let e):
      kernel.close(fd)
      removeOurs()
      throw fail("statx", e)
    }
    cleanup.add("rmdir \(parent)/\(name)") { removeOurs() }
    cleanup.add("close \(parent)/\(name)") { kernel.close(fd) }
    // Held until that close: a sweep in another pid namespace, where the pid in the name means
    // nothing, leaves a locked directory alone. Best effort: without it (ENOLCK) the name still
    // protects the directory from sweeps in this pid namespace.
    _ = kernel.lock(fd)

    let daxFlag = dax ? kernel.setDAXFlag(fd) : nil
    return ScratchDirectory(kernel: kernel, parent: parent, name: name, fd: fd, daxFlag: daxFlag)
  }

  /// A new file `<kind>-<n>` in the directory (`O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600),
  /// closed and unlinked by `cleanup`.
  func create(_ base: String, cleanup: Cleanup) -> Result<(fd: FileDescriptor, path: String), Errno> {
    counter += 1
    let file = "\(base)-\(counter)"
    let kernel = self.kernel
    let dir = fd
    return kernel.open(file, in: dir, writable: true, create: true).map { f in
      // LIFO: close first, then unlink, so the file goes with its last use.
      cleanup.add("unlink \(file)") { _ = kernel.unlink(file, in: dir, directory: false) }
      cleanup.add("close \(file)") { kernel.close(f) }
      return (f, "\(path)/\(file)")
    }
  }

  private static func randomSuffix() -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    var g = SystemRandomNumberGenerator()
    return String((0..<8).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] })
  }
}
