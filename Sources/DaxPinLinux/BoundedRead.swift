import Glibc
import SystemPackage

/// Reads one whole input with a cap on its size: a regular file, a pipe or FIFO (`<(cat r.json)`
/// is `/dev/fd/N`), or standard input (`-`). Plain open(2) and read(2) until end of file, so
/// anything that streams works, and nothing is ever read past `limit + 1` bytes, so a huge or
/// endless input (`/dev/zero`) cannot grow daxpin without bound.
public enum BoundedRead {
  /// The path that means standard input.
  public static let standardInput = "-"

  public enum Failure: Error, Equatable, Sendable {
    /// open(2) or read(2) said no: `ENOENT`, `EACCES`, `EISDIR` (a directory opens; reading it
    /// fails).
    case errno(Errno)
    /// The input holds more than `limit` bytes.
    case tooLarge(limit: Int)
  }

  /// Every byte of `path` (`-`: standard input, which is read and not closed).
  public static func read(_ path: String, limit: Int) -> Result<[UInt8], Failure> {
    if path == standardInput { return read(fd: 0, limit: limit) }
    switch system_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) {
    case .failure(let e): return .failure(.errno(e))
    case .success(let fd):
      defer { system_close(fd) }
      return read(fd: fd, limit: limit)
    }
  }

  /// Reads `fd` to end of file, at most `limit + 1` bytes (one more tells "too large").
  static func read(fd: CInt, limit: Int) -> Result<[UInt8], Failure> {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let want = min(chunk.count, limit + 1 - bytes.count)
      let n = chunk.withUnsafeMutableBytes { system_read(fd, UnsafeMutableRawBufferPointer(rebasing: $0[..<want])) }
      switch n {
      case .failure(let e): return .failure(.errno(e))
      case .success(0): return .success(bytes)
      case .success(let count):
        bytes.append(contentsOf: chunk[..<count])
        if bytes.count > limit { return .failure(.tooLarge(limit: limit)) }
      }
    }
  }
}
