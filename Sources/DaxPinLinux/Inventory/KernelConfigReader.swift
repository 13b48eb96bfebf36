import CZlib
import DaxPinCore
import Glibc

/// Reads the kernel's build configuration: `/proc/config.gz` (CONFIG_IKCONFIG_PROC), else
/// `/boot/config-<release>`, else "unknown".
struct KernelConfigReader {
  var files: FileTree

  /// (source, options) — options restricted to `KernelInfo.relevantOptions`.
  func read(release: String) -> (source: String, config: [String: String]?) {
    if let text = gunzip(files.path("/proc/config.gz")) {
      return ("/proc/config.gz", Self.parse(text))
    }
    let boot = "/boot/config-\(release)"
    if let text = files.read(boot) {
      return (boot, Self.parse(text))
    }
    return ("unknown", nil)
  }

  /// `CONFIG_X=y` → ["CONFIG_X": "y"]; `# CONFIG_X is not set` → "n". Only the relevant options.
  /// Works on the UTF-8 bytes and makes a String only of a name as long as a wanted one: a
  /// distribution config has 10 000 lines, and in a TCG guest splitting and trimming each took a
  /// quarter second of every probe.
  static func parse(_ text: String, options: [String] = KernelInfo.relevantOptions) -> [String: String] {
    let wanted = Set(options)
    let lengths = Set(options.map(\.utf8.count))
    var out: [String: String] = [:]
    var text = text
    text.withUTF8 { b in
      let n = b.count
      func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
      func matches(_ prefix: StaticString, at i: Int, before end: Int) -> Bool {
        let p = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        guard end - i >= p.count else { return false }
        for k in 0..<p.count where b[i + k] != p[k] { return false }
        return true
      }
      var i = 0
      while i < n {
        var end = i
        while end < n && b[end] != 0x0A { end += 1 }
        var s = i, e = end
        while s < e && isBlank(b[s]) { s += 1 }
        while e > s && isBlank(b[e - 1]) { e -= 1 }
        if matches("# CONFIG_", at: s, before: e) {
          let suffix = " is not set".utf8.count
          if e - s >= 2 + suffix, matches(" is not set", at: e - suffix, before: e), lengths.contains(e - suffix - s - 2) {
            let name = String(decoding: UnsafeBufferPointer(rebasing: b[(s + 2)..<(e - suffix)]), as: UTF8.self)
            if wanted.contains(name) { out[name] = "n" }
          }
        } else if matches("CONFIG_", at: s, before: e) {
          var eq = s
          while eq < e && b[eq] != 0x3D { eq += 1 }  // "="
          if eq < e, lengths.contains(eq - s) {
            let name = String(decoding: UnsafeBufferPointer(rebasing: b[s..<eq]), as: UTF8.self)
            if wanted.contains(name) {
              var vs = eq + 1, ve = e
              while vs < ve && b[vs] == 0x22 { vs += 1 }  // quotes, as trimmingCharacters(in: "\"")
              while ve > vs && b[ve - 1] == 0x22 { ve -= 1 }
              out[name] = String(decoding: UnsafeBufferPointer(rebasing: b[vs..<ve]), as: UTF8.self)
            }
          }
        }
        i = end + 1
      }
    }
    return out
  }

  /// The decompressed contents of a gzip file (zlib also passes plain files through).
  private func gunzip(_ path: String) -> String? {
    guard access(path, R_OK) == 0, let gz = gzopen(path, "rb") else { return nil }
    defer { gzclose(gz) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = chunk.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
      if n < 0 { return nil }
      if n == 0 { break }
      bytes.append(contentsOf: chunk[..<Int(n)])
      if bytes.count > 16 << 20 { return nil }
    }
    return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
  }
}
