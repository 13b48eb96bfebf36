import CVFIO
import Glibc
import SystemPackage

/// Writes a document to `--output PATH`, root-safe:
/// - PATH absent: a temporary file is created next to it (openat(2) O_CREAT|O_EXCL|O_NOFOLLOW,
///   mode 0644 minus the umask), written in full, fsync(2)ed and renameat(2)ed over PATH, so a
///   reader sees no file or the whole document.
/// - PATH a regular file: the same, and the new file gets the old one's owner, group and mode
///   (fchown(2), fchmod(2); set-user-ID and set-group-ID dropped) before the rename.
/// - PATH a file or FIFO in a sticky directory others can write (/tmp), owned neither by the
///   caller nor by the directory's owner: refused (`foreignFileInStickyDirectory`).
/// - PATH a character device, FIFO or socket (/dev/null, a named pipe): opened O_WRONLY|O_NOCTTY,
///   without O_CREAT or O_TRUNC, and written through; it is never renamed over. A regular file
///   reached through /proc/self/fd (/dev/stdout, /dev/fd/N) is written through with O_APPEND.
/// - PATH a block device: refused. A directory: EISDIR.
/// - Symbolic links, at PATH or on the way to it, are followed only when owned by root or by the
///   caller; the link itself is never replaced (`OutputPath`).
/// Every name is used relative to a directory descriptor daxpin opened. On any failure, and when
/// a terminating signal arrives (see `Signals`), the temporary file is removed; a signal then
/// ends the process by that signal.
public enum OutputFile {
  /// The first of `inputs` that is the file `output` names (same device and inode, links
  /// followed; `-` is standard input and never matches), so a command can refuse to write its
  /// document over one of the files it read: `report html -o a.json a.json b.json` would replace a
  /// report with the page.
  public static func input(_ inputs: [String], sameAs output: String) -> String? {
    guard output != "-", case .success(let out) = system_fstatat(AT_FDCWD, output, followLinks: true), out.isRegular else { return nil }
    return inputs.first { path in
      guard path != "-", case .success(let st) = system_fstatat(AT_FDCWD, path, followLinks: true) else { return false }
      return st.isSameFile(as: out)
    }
  }

  /// Whether two output paths name one destination: both standard output (`-`), the same
  /// existing file (device and inode, through links), or the same name in the same directory
  /// (a file not yet made, however each path spells the directory). Two options writing one file
  /// would leave only the last write.
  public static func sameDestination(_ a: String, _ b: String) -> Bool {
    if a == "-" || b == "-" { return a == b }
    if case .success(let x) = system_fstatat(AT_FDCWD, a, followLinks: true), case .success(let y) = system_fstatat(AT_FDCWD, b, followLinks: true) {
      return x.isSameFile(as: y)
    }
    func split(_ p: String) -> (directory: String, name: Substring) {
      guard let slash = p.lastIndex(of: "/") else { return (".", p[...]) }
      return (slash == p.startIndex ? "/" : String(p[..<slash]), p[p.index(after: slash)...])
    }
    let (da, na) = split(a), (db, nb) = split(b)
    guard na == nb, !na.isEmpty, case .success(let x) = system_fstatat(AT_FDCWD, da, followLinks: true),
      case .success(let y) = system_fstatat(AT_FDCWD, db, followLinks: true)
    else { return false }
    return x.isSameFile(as: y)
  }

  /// Writes `text` (UTF-8) to `path` by the policy above.
  public static func write(_ text: String, to path: String) throws(OutputFileError) {
    try write(Array(text.utf8), to: path)
  }

  /// Writes `bytes` to `path` by the policy above. `catchingSignals: false` leaves the
  /// process's signal handlers as they are — for the lab's worker threads, whose Ctrl-C belongs
  /// to `LabInterrupts` — and a signal then does not end the write (the temporary file is still
  /// removed on every failure).
  public static func write(_ bytes: [UInt8], to path: String, catchingSignals: Bool = true) throws(OutputFileError) {
    if catchingSignals { Signals.catchInterrupts() }
    Signals.endProcessIfCaught()
    switch try OutputPath.resolve(path, checkSignal: { Signals.endProcessIfCaught() }) {
    case .stream(let fd):
      defer { system_close(fd) }
      if case .failure(let e) = writeAll(fd, bytes) {
        throw OutputFileError(path: path, reason: .system(e, detail: nil))
      }
    case .absent(let directory, let name):
      defer { system_close(directory) }
      try replace(name, in: directory, keeping: nil, with: bytes, path: path)
    case .regular(let directory, let name, let existing):
      defer { system_close(directory) }
      try replace(name, in: directory, keeping: existing, with: bytes, path: path)
    }
  }

  /// Prefix of the temporary file, `.daxpin-output-<random>`, in PATH's directory.
  public static let temporaryPrefix = ".daxpin-output-"

  /// Temporary file, write, fsync, rename: `name` in `directory` is the old file or the new one,
  /// never a part. With `existing`, the new file takes its owner, group and permission bits.
  static func replace(_ name: String, in directory: CInt, keeping existing: FileStat?, with bytes: [UInt8], path: String) throws(OutputFileError) {
    func fail(_ e: Errno, _ detail: String? = nil) -> OutputFileError {
      OutputFileError(path: path, reason: .system(e, detail: detail))
    }
    // Created 0600 when it will take an existing file's mode, so it is never more open than that.
    let mode: mode_t = existing == nil ? 0o644 : 0o600
    var temporary = ""
    var fd: CInt = -1
    for _ in 0..<16 where fd < 0 {
      temporary = temporaryPrefix + String(UInt64.random(in: 0...UInt64.max), radix: 36)
      switch system_openat(
        directory, temporary, O_WRONLY | O_CREAT | O_EXCL | CVFIO_O_NOFOLLOW | O_CLOEXEC, mode,
        onInterrupt: { Signals.endProcessIfCaught() })
      {
      case .success(let f): fd = f
      case .failure(.fileExists): continue
      case .failure(let e): throw fail(e, "cannot create a temporary file in its directory")
      }
    }
    guard fd >= 0 else { throw fail(.fileExists, "cannot create a temporary file in its directory") }

    var isOpen = true
    func discard() {
      if isOpen { system_close(fd) }
      isOpen = false
      _ = system_unlinkat(directory, temporary)
    }
    func check(_ result: Result<Void, Errno>, _ detail: String? = nil) throws(OutputFileError) {
      if case .failure(let e) = result {
        discard()
        throw fail(e, detail)
      }
    }

    if let existing {
      if case .success(let created) = system_fstat(fd), created.uid != existing.uid || created.gid != existing.gid {
        try check(
          system_fchown(fd, existing.uid, existing.gid),
          "cannot give the new file the owner of the one it replaces (uid \(existing.uid), gid \(existing.gid))")
      }
      // Not set-user-ID or set-group-ID: a report is no program to run as its owner.
      try check(system_fchmod(fd, existing.mode & 0o1777))
    }
    try check(writeAll(fd, bytes, cleanup: discard))
    try check(system_fsync(fd, onInterrupt: { Signals.endProcessIfCaught(cleanup: discard) }))
    system_close(fd)
    isOpen = false
    Signals.endProcessIfCaught(cleanup: discard)
    try check(system_renameat(directory, temporary, name))
    syncDirectory(directory)
  }

  /// fsync(2) of the directory, so the rename survives a crash. Best effort: the document is
  /// already complete under its name, and a directory opened O_PATH cannot be synced, so it is
  /// opened again for reading (which a caller without read permission on it cannot do).
  static func syncDirectory(_ directory: CInt) {
    guard case .success(let fd) = system_openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) else { return }
    _ = system_fsync(fd)
    system_close(fd)
  }
}
