import DaxPinCore
import Glibc
import SystemPackage

/// Small read-only file helpers for /proc, /sys and /dev. A `root` prefix lets tests point the
/// readers at a fixture tree instead of the live system.
struct FileTree: Sendable {
  /// Prefix joined to every absolute path ("" for the live system).
  var root: String

  func path(_ p: String) -> String { root.isEmpty ? p : root + p }

  /// The whole file as text; nil when it cannot be opened or read.
  func read(_ p: String, limit: Int = 4 << 20) -> String? { try? readResult(p, limit: limit).get() }

  /// The whole file (up to `limit` bytes) as text, or the errno of the open or read that failed.
  func readResult(_ p: String, limit: Int = 4 << 20) -> Result<String, Errno> {
    system_open(path(p), O_RDONLY | O_CLOEXEC).flatMap { fd in
      defer { system_close(fd) }
      var bytes: [UInt8] = []
      var chunk = [UInt8](repeating: 0, count: 65536)
      while bytes.count < limit {
        let n = chunk.withUnsafeMutableBytes { system_read(fd, $0) }
        guard case .success(let count) = n else { return n.map { _ in "" } }
        if count == 0 { break }
        bytes.append(contentsOf: chunk[..<count])
      }
      return .success(String(decoding: bytes, as: UTF8.self))
    }
  }

  /// The first line, trimmed.
  func line(_ p: String) -> String? {
    read(p).map { $0.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? "" }
      .map { $0.trimmingCharacters(in: " \t\r\n") }
  }

  func int(_ p: String) -> Int? { line(p).flatMap { Int($0) } }

  /// Directory entries without `.` and `..`, sorted; empty when the directory is absent.
  func list(_ p: String) -> [String] {
    guard let dir = opendir(path(p)) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted { $0.compare(numerically: $1) }
  }

  func exists(_ p: String) -> Bool { access(path(p), F_OK) == 0 }

  /// The last component of a symlink's target (`.../drivers/vfio-pci` → `vfio-pci`).
  func linkBasename(_ p: String) -> String? {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink(path(p), &buf, buf.count - 1)
    guard n > 0 else { return nil }
    let target = String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return target.split(separator: "/").last.map(String.init)
  }
}

extension String {
  /// `2` before `10`: compares runs of digits as numbers.
  func compare(numerically other: String) -> Bool {
    if let a = Int(self), let b = Int(other) { return a < b }
    let a = self.split(separator: "-").last.flatMap { Int($0) }
    let b = other.split(separator: "-").last.flatMap { Int($0) }
    if let a, let b, a != b, self.prefix(while: { !$0.isNumber }) == other.prefix(while: { !$0.isNumber }) {
      return a < b
    }
    return self < other
  }
}
