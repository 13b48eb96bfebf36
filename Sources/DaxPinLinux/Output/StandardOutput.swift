import DaxPinCore
import Glibc
import SystemPackage

/// Documents on standard output (fd 1), written with write(2) and checked: a report is either
/// all on fd 1 or the process says why, never exit 0 with output lost.
///
/// `print` buffers in stdio and drops write errors on the floor: `daxpin probe --json > /dev/full`
/// used to exit 0 with nothing written. Here every byte goes out through `writeAll`:
/// - EPIPE (the reader of the pipe has gone: SIGPIPE is ignored, see `Signals`), ENOSPC
///   (/dev/full, a full disk), EFBIG, EBADF (stdout closed) throw `StandardOutputError`;
/// - a terminating signal caught while the write is blocked on a slow pipe ends the process by
///   that signal.
public enum StandardOutput {
  /// Writes all of `text` (UTF-8) to fd 1.
  public static func write(_ text: String) throws(StandardOutputError) {
    try write(Array(text.utf8))
  }

  /// Writes all of `bytes` to fd 1. Installs the signal policy first (`Signals.catchInterrupts`).
  public static func write(_ bytes: [UInt8]) throws(StandardOutputError) {
    Signals.catchInterrupts()
    if case .failure(let e) = writeAll(1, bytes) { throw StandardOutputError(errno: e) }
  }

  /// fd 1 is a terminal (isatty(3)): the text report may use colour.
  public static var isTerminal: Bool { system_isatty(1) }
}

/// A write to standard output failed; `description` is `standard output: ENOSPC`.
public struct StandardOutputError: Error, Equatable, CustomStringConvertible {
  public var errno: Errno
  public init(errno: Errno) { self.errno = errno }
  public var description: String { "standard output: \(errno.name)" }
}
