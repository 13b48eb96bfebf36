import DaxPinCore

/// The logs `daxpin explain` reads: a file, a pipe or FIFO, or standard input (`-`), read whole
/// through `BoundedRead` (at most 64 MiB, so `/dev/zero` or an endless pipe cannot grow daxpin
/// without bound); `ExplainSession` splits them into lines (at most 64 KiB each for matching).
public enum LogInput {
  /// The most bytes read from one input; `journalctl --since …` narrows a bigger log.
  public static let byteLimit = 64 << 20

  /// Every byte of `path` (`-`: standard input), or why it could not be read.
  public static func read(_ path: String) -> Result<[UInt8], BoundedRead.Failure> {
    BoundedRead.read(path, limit: byteLimit)
  }
}
