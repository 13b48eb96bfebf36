import CVFIO
import DaxPinCore
import Glibc
import SystemPackage

/// A directory that root's daxpin writes into by path — `lab --out` (reports, consoles QEMU
/// opens by name, exec output, bench files, the matrix) and `lab --cache` (kernels, initramfs
/// images, guest scripts) — checked before anything is written in it.
///
/// The path is walked from `/` one component at a time (openat(2) with O_PATH|O_NOFOLLOW,
/// fstat(2) of what was opened, readlinkat(2); a relative path is taken from getcwd(3), so the
/// working directory's own ancestors are walked too), and every directory on the way, the last
/// one included, must be owned by a trusted user — root, the caller (euid), or the user who
/// became root through sudo (`SUDO_UID`: they could write anything as root already) — and must
/// not be writable by group or others; a sticky directory on the way (`/tmp`, `/var/tmp`) is
/// allowed, since its other users cannot rename or remove what a trusted user put in it, but not
/// as the last component (anyone could create the names daxpin is about to write there). A
/// symbolic link is followed only when a trusted user owns it. Missing components are created
/// 0755 (less the umask) relative to their parent's descriptor when asked (`Missing`).
///
/// Once checked, no other user can rename, replace or add anything on the way to a file daxpin
/// names in the directory, so the lab's writers (and QEMU's `-chardev file`) may use plain paths
/// there. Another user could still do so through a directory root later makes writable, which
/// is root's own doing.
public enum TrustedDirectory {
  /// Why a directory was refused: one line, `PATH: why`, with what to do.
  public struct Refusal: Error, Equatable, CustomStringConvertible {
    /// The path as given.
    public var path: String
    public var message: String
    public var description: String { "\(RawPath.display(path)): \(message)" }
  }

  /// The users whose directories and links are trusted: root, the effective user, and
  /// `sudoUID` (the `SUDO_UID` of the environment, when it is a number).
  static func trustedUsers(sudoUID: String?) -> Set<uid_t> {
    var users: Set<uid_t> = [0, geteuid()]
    if let s = sudoUID, let uid = uid_t(s) { users.insert(uid) }
    return users
  }

  /// What to do about components of the path that do not exist yet.
  public enum Missing: Sendable {
    /// Make them (mkdirat 0755) and check them like the rest.
    case create
    /// Stop at the first: what exists is checked, the rest would be made in a checked
    /// directory. For checking several directories before creating any.
    case allowed
    /// A missing component is an error (ENOENT).
    case refused
  }

  /// Checks the directory `path` (making what is missing when asked); throws a `Refusal`
  /// naming the first component that is not safe, or the errno of the step that failed.
  public static func check(_ path: String, missing: Missing) throws(Refusal) {
    let env = getenv("SUDO_UID").map { String(cString: $0) }
    try check(path, missing: missing, trusted: trustedUsers(sudoUID: env))
  }

  static func check(_ path: String, missing: Missing, trusted: Set<uid_t>) throws(Refusal) {
    func refuse(_ message: String) -> Refusal { Refusal(path: path, message: message) }
    guard !path.isEmpty else { throw refuse("an empty path") }
    var absolute = path
    if !path.hasPrefix("/") {
      guard let cwd = getcwd(nil, 0) else { throw refuse("cannot read the working directory: \(Errno(rawValue: errno).name)") }
      absolute = RawPath.string(fromBytes: UnsafeBufferPointer(start: cwd, count: strlen(cwd)).map { UInt8(bitPattern: $0) }) + "/" + path
      free(cwd)
    }
    /// The directory being walked, as text for messages (its trailing "/" kept).
    var shown = "/"
    func open(_ at: CInt, _ name: String) throws(Refusal) -> CInt {
      switch system_openat(at, name, CVFIO_O_PATH | CVFIO_O_NOFOLLOW | O_CLOEXEC) {
      case .success(let fd): return fd
      case .failure(let e): throw refuse("cannot open \(name == "/" ? "/" : RawPath.display(shown + name)): \(e.name)")
      }
    }
    func describe(_ mode: mode_t) -> String { "mode 0" + String(mode & 0o7777, radix: 8) }

    var dir = try open(AT_FDCWD, "/")
    defer { system_close(dir) }
    /// `dir` (shown as `shown`) as a directory on the way, or the last one.
    func vet(_ st: FileStat, last: Bool) throws(Refusal) {
      let here = RawPath.display(shown == "/" ? "/" : String(shown.dropLast()))
      guard trusted.contains(st.uid) else {
        throw refuse("\(here) is owned by uid \(st.uid), not by root or by you: that user could replace what daxpin writes there; choose a directory root owns")
      }
      guard st.mode & 0o022 != 0 else { return }
      let who = st.mode & 0o002 != 0 ? "other users" : "its group"
      if st.mode & S_ISVTX != 0 {
        // Sticky: nobody else can rename or remove a name in it, but anyone can create one.
        guard last else { return }
        throw refuse("\(here) is writable by \(who) (\(describe(st.mode)), sticky): anyone could create the names daxpin is about to write, as links to any file; use a directory of your own inside it (mkdir -m 0755 \(here == "/" ? "" : here)/daxpin-lab)")
      }
      throw refuse("\(here) is writable by \(who) (\(describe(st.mode))): another user could swap a name in it for a link to any file; choose a directory only root can write, or chmod go-w \(here)")
    }
    guard case .success(let rootStat) = system_fstat(dir) else { throw refuse("cannot look at /") }
    try vet(rootStat, last: OutputPath.components(absolute).allSatisfy { $0 == "." })

    // "." changes nothing; without it the last component is the last in the list.
    func parts(_ p: String) -> [String] { OutputPath.components(p).filter { $0 != "." } }
    var pending = parts(absolute)
    var links = 0
    while !pending.isEmpty {
      let name = pending.removeFirst()
      let next: CInt
      if name == ".." {
        next = try open(dir, "..")
      } else {
        if missing != .refused, case .failure(.noSuchFileOrDirectory) = system_fstatat(dir, name, followLinks: false) {
          guard missing == .create else { return }
          switch system_mkdirat(dir, name, 0o755) {
          case .success, .failure(.fileExists): break  // made here, or by someone just now: vetted below
          case .failure(let e): throw refuse("cannot create \(RawPath.display(shown + name)): \(e.name)")
          }
        }
        next = try open(dir, name)
      }
      let st: FileStat
      switch system_fstat(next) {
      case .success(let s): st = s
      case .failure(let e):
        system_close(next)
        throw refuse("cannot look at \(RawPath.display(shown + name)): \(e.name)")
      }
      if st.isSymbolicLink {
        defer { system_close(next) }
        guard trusted.contains(st.uid) else {
          throw refuse("\(RawPath.display(shown + name)) is a symbolic link owned by uid \(st.uid), not by root or by you; refusing to follow it")
        }
        links += 1
        guard links <= OutputPath.maxLinks else { throw refuse("too many symbolic links (ELOOP)") }
        let target: String
        switch system_readlink(next) {
        case .success(let t): target = t
        case .failure(let e): throw refuse("cannot read the link \(RawPath.display(shown + name)): \(e.name)")
        }
        if target.hasPrefix("/") {
          let top = try open(AT_FDCWD, "/")
          system_close(dir)
          dir = top
          shown = "/"
        }
        pending = parts(target) + pending
        continue
      }
      guard st.isDirectory else {
        system_close(next)
        throw refuse("\(RawPath.display(shown + name)) is not a directory (ENOTDIR)")
      }
      system_close(dir)
      dir = next
      shown += name + "/"
      try vet(st, last: pending.isEmpty)
    }
  }
}
