import DaxPinCore
import Glibc
import SystemPackage

/// Why a document could not be written to a path; `description` is one line,
/// `PATH: ERRNO_NAME` or `PATH: why`, for `daxpin: --output <description>` (bytes of PATH that are
/// not UTF-8 shown as `\xNN`).
public struct OutputFileError: Error, Equatable, CustomStringConvertible {
  public enum Reason: Equatable, Sendable {
    /// A syscall failed; `detail` says which step when the errno alone would puzzle.
    case system(Errno, detail: String?)
    /// A symbolic link on the way is owned by `owner`, neither root nor the caller: following
    /// it as root would let that user choose which file daxpin writes. `link` is nil when the
    /// link is PATH itself.
    case foreignSymbolicLink(link: String?, owner: UInt32, caller: UInt32)
    /// PATH is a block device: a report written onto a disk would destroy what it holds.
    case blockDevice
    /// PATH is a file or FIFO owned by `owner` in a sticky directory anyone can write (/tmp), and
    /// neither the caller nor the directory's owner owns it: another user made it there first,
    /// to be given root's document (and keep it, writable) or to stall daxpin on a FIFO nobody
    /// reads. The kernel's protected_regular=2 / protected_fifos=2 rule, applied whatever the
    /// sysctls say.
    case foreignFileInStickyDirectory(owner: UInt32)
  }

  /// The path as the user gave it.
  public var path: String
  public var reason: Reason

  public init(path: String, reason: Reason) {
    self.path = path
    self.reason = reason
  }

  /// The errno, when a syscall failed.
  public var errno: Errno? {
    if case .system(let e, _) = reason { return e }
    return nil
  }

  /// The reason alone: `ENOSPC`, `EPERM: ...`, `a symbolic link owned by uid 65534; ...`.
  public var message: String {
    switch reason {
    case .system(let e, nil): return e.name
    case .system(let e, let detail?): return "\(e.name): \(detail)"
    case .foreignSymbolicLink(let link, let owner, let caller):
      let who = caller == 0 ? "as root" : "as uid \(caller)"
      let subject = link.map { "\(RawPath.display($0)) is a symbolic link" } ?? "a symbolic link"
      return "\(subject) owned by uid \(owner), not by root or by you; refusing to follow it \(who)"
    case .blockDevice:
      return "a block device; refusing to write a document over it"
    case .foreignFileInStickyDirectory(let owner):
      return "owned by uid \(owner) in a sticky directory others can write; another user made it there first, so daxpin will not write to it (remove it, or write somewhere only you can)"
    }
  }

  public var description: String { "\(RawPath.display(path)): \(message)" }
}
