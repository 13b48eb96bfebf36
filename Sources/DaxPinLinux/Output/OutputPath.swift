import CVFIO
import Glibc
import SystemPackage

/// Where a document for `--output PATH` goes.
enum OutputTarget {
  /// Nothing is at `name` in `directory` (an O_PATH descriptor the caller now owns): create it.
  case absent(directory: CInt, name: String)
  /// A regular file is at `name`: replace it, keeping `existing`'s owner, group and mode.
  case regular(directory: CInt, name: String, existing: FileStat)
  /// An open descriptor to write through, never to replace: a character device, a FIFO, or a
  /// regular file reached through /proc/self/fd (/dev/stdout, /dev/fd/N), opened O_APPEND.
  case stream(CInt)
}

/// Walks PATH one component at a time from an O_PATH descriptor of `/` or the working directory
/// (openat(2) with O_PATH|O_NOFOLLOW, fstat(2), readlinkat(2)), so that every symbolic link on
/// the way — the last component or a directory before it — is seen and its owner checked before
/// it is followed:
/// - a link owned by root or by the caller (euid) is followed; any other is refused
///   (`foreignSymbolicLink`), as the link's owner could point it at any file on the machine;
/// - a link in /proc (/proc/self/fd/1, reached from /dev/stdout or /dev/fd/1) is followed by the
///   kernel, which knows the file it stands for (readlink shows only `pipe:[1234]`);
/// - anything else is followed by reading the link's text, at most 40 times (then ELOOP).
enum OutputPath {
  static let maxLinks = 40

  /// Resolves `path`. `checkSignal` runs on EINTR (an open of a FIFO waits for a reader).
  static func resolve(_ path: String, checkSignal: () -> Void) throws(OutputFileError) -> OutputTarget {
    func fail(_ e: Errno, _ detail: String? = nil) -> OutputFileError {
      OutputFileError(path: path, reason: .system(e, detail: detail))
    }
    func openDirectory(_ at: CInt, _ name: String) throws(OutputFileError) -> CInt {
      switch system_openat(at, name, CVFIO_O_PATH | O_DIRECTORY | O_CLOEXEC) {
      case .success(let fd): return fd
      case .failure(let e): throw fail(e)
      }
    }

    guard !path.isEmpty else { throw fail(.noSuchFileOrDirectory) }
    let caller = geteuid()
    var dir = try openDirectory(AT_FDCWD, path.hasPrefix("/") ? "/" : ".")
    var handedOver = false
    defer { if !handedOver { system_close(dir) } }
    /// The text of the directory `dir` stands for, for naming a refused link.
    var shown = path.hasPrefix("/") ? "/" : ""
    var pending = Self.components(path)
    var mustBeDirectory = path.hasSuffix("/")
    var links = 0

    func enter(_ newDirectory: CInt, _ name: String) {
      system_close(dir)
      dir = newDirectory
      shown += name + "/"
    }

    while !pending.isEmpty {
      let name = pending.removeFirst()
      let last = pending.isEmpty
      if name == "." || name == ".." {
        if name == ".." { enter(try openDirectory(dir, ".."), "..") }
        if last { throw fail(.isDirectory) }
        continue
      }
      if last && !mustBeDirectory {
        let st: FileStat
        switch system_fstatat(dir, name, followLinks: false) {
        case .failure(.noSuchFileOrDirectory):
          handedOver = true
          return .absent(directory: dir, name: name)
        case .failure(let e): throw fail(e)
        case .success(let s): st = s
        }
        if st.isRegular || st.type == S_IFIFO, st.uid != caller, case .success(let d) = system_fstat(dir),
          d.mode & S_ISVTX != 0, d.mode & S_IWOTH != 0, st.uid != d.uid
        {
          throw OutputFileError(path: path, reason: .foreignFileInStickyDirectory(owner: st.uid))
        }
        if st.isRegular {
          handedOver = true
          return .regular(directory: dir, name: name, existing: st)
        }
        if st.isDirectory { throw fail(.isDirectory) }
        if st.isBlockDevice { throw OutputFileError(path: path, reason: .blockDevice) }
        if st.isStream {
          let fd: CInt
          switch system_openat(dir, name, O_WRONLY | O_NOCTTY | CVFIO_O_NOFOLLOW | O_CLOEXEC, onInterrupt: checkSignal) {
          case .success(let f): fd = f
          case .failure(.noSuchAddressOrDevice) where st.type == S_IFSOCK:
            throw fail(.noSuchAddressOrDevice, "a socket, which cannot be opened by its path")
          case .failure(let e): throw fail(e)
          }
          if case .success(let opened) = system_fstat(fd), opened.isSameFile(as: st) { return .stream(fd) }
          // Replaced between the look and the open: look again.
          system_close(fd)
          links += 1
          guard links <= Self.maxLinks else { throw fail(.tooManySymbolicLinkLevels) }
          pending = [name]
          continue
        }
        // A symbolic link: checked and followed below, like one before the last component.
      }

      let link: CInt
      switch system_openat(dir, name, CVFIO_O_PATH | CVFIO_O_NOFOLLOW | O_CLOEXEC) {
      case .success(let fd): link = fd
      case .failure(let e): throw fail(e)
      }
      let st: FileStat
      switch system_fstat(link) {
      case .success(let s): st = s
      case .failure(let e):
        system_close(link)
        throw fail(e)
      }
      if st.isDirectory {
        enter(link, name)
        if last { throw fail(.isDirectory) }
        continue
      }
      guard st.isSymbolicLink else {
        system_close(link)
        if last && !mustBeDirectory {  // it was a link a moment ago: look again
          links += 1
          guard links <= Self.maxLinks else { throw fail(.tooManySymbolicLinkLevels) }
          pending = [name]
          continue
        }
        throw fail(.notDirectory)
      }
      guard st.uid == 0 || st.uid == caller else {
        system_close(link)
        let isPathItself = links == 0 && last
        throw OutputFileError(
          path: path, reason: .foreignSymbolicLink(link: isPathItself ? nil : shown + name, owner: st.uid, caller: caller))
      }
      links += 1
      guard links <= Self.maxLinks else {
        system_close(link)
        throw fail(.tooManySymbolicLinkLevels)
      }
      if case .success(let magic) = system_fstatfsType(link), magic == CVFIO_PROC_SUPER_MAGIC {
        system_close(link)
        if last && !mustBeDirectory { return .stream(try openProcLink(dir, name, path: path, checkSignal: checkSignal)) }
        enter(try openDirectory(dir, name), name)
        if last { throw fail(.isDirectory) }
        continue
      }
      let target: String
      switch system_readlink(link) {
      case .success(let t): target = t
      case .failure(let e):
        system_close(link)
        throw fail(e)
      }
      system_close(link)
      guard !target.isEmpty else { throw fail(.noSuchFileOrDirectory) }
      if target.hasPrefix("/") {
        system_close(dir)
        dir = try openDirectory(AT_FDCWD, "/")
        shown = "/"
      }
      if last { mustBeDirectory = target.hasSuffix("/") }
      pending = Self.components(target) + pending
    }
    // The path ended at a directory: "/", "dir/", "..", or a link to one of them.
    throw fail(.isDirectory)
  }

  /// A link in /proc: the kernel follows it (openat(2) without O_NOFOLLOW). A regular file is
  /// appended to (O_APPEND: `daxpin ... --output /dev/stdout >> log`), a device or pipe written
  /// through; a directory is EISDIR and a block device refused. It is looked at through O_PATH
  /// first, so a block device is never opened for writing.
  ///
  /// One of daxpin's own descriptors (/proc/self/fd/N: /dev/stdout, /dev/fd/N) is duplicated
  /// instead (fcntl(2) F_DUPFD_CLOEXEC), as a shell's `>&N` would: the document then shares fd N's
  /// offset and access mode, so `--output /dev/stdout > file` puts the document and the text one
  /// after the other (an O_APPEND reopen would have had the text overwrite the document's start),
  /// `--output /dev/stdin < file` is EBADF instead of a write into the input, and a socket on
  /// fd N works, which no open(2) by path can do.
  static func openProcLink(_ dir: CInt, _ name: String, path: String, checkSignal: () -> Void) throws(OutputFileError) -> CInt {
    func fail(_ e: Errno, _ detail: String? = nil) -> OutputFileError {
      OutputFileError(path: path, reason: .system(e, detail: detail))
    }
    if let n = CInt(name), n >= 0, String(n) == name, isOwnDescriptorTable(dir) {
      switch system_fstat(n) {
      case .failure(let e): throw fail(e)
      case .success(let st) where st.isDirectory: throw fail(.isDirectory)
      case .success(let st) where st.isBlockDevice: throw OutputFileError(path: path, reason: .blockDevice)
      case .success: break
      }
      switch system_duplicate(n) {
      case .success(let fd): return fd
      case .failure(let e): throw fail(e)
      }
    }
    let target: FileStat
    switch system_openat(dir, name, CVFIO_O_PATH | O_CLOEXEC).flatMap({ fd in
      defer { system_close(fd) }
      return system_fstat(fd)
    }) {
    case .success(let st): target = st
    case .failure(let e): throw fail(e)
    }
    if target.isDirectory { throw fail(.isDirectory) }
    if target.isBlockDevice { throw OutputFileError(path: path, reason: .blockDevice) }
    let fd: CInt
    switch system_openat(dir, name, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC, onInterrupt: checkSignal) {
    case .success(let f): fd = f
    case .failure(.noSuchAddressOrDevice) where target.type == S_IFSOCK:
      throw fail(.noSuchAddressOrDevice, "a socket, which cannot be opened by its path")
    case .failure(let e): throw fail(e)
    }
    guard case .success(let opened) = system_fstat(fd), opened.isSameFile(as: target) else {
      system_close(fd)
      throw fail(.resourceTemporarilyUnavailable, "the file changed while it was opened")
    }
    return fd
  }

  /// `dir` is this process's /proc/<pid>/fd (or its thread's): the links in it are our own fds.
  static func isOwnDescriptorTable(_ dir: CInt) -> Bool {
    guard case .success(let st) = system_fstat(dir) else { return false }
    return ["/proc/self/fd", "/proc/thread-self/fd"].contains { table in
      if case .success(let own) = system_fstatat(AT_FDCWD, table, followLinks: true) { return own.isSameFile(as: st) }
      return false
    }
  }

  /// `a//b/./c/` → ["a", "b", ".", "c"]: empty components dropped, "." and ".." kept.
  static func components(_ path: String) -> [String] {
    path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
  }
}
