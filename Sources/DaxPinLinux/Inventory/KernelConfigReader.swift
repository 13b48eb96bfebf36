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
  static func parse(_ text: String, options: [String] = KernelInfo.relevantOptions) -> [String: String] {
    let wanted = Set(options)
    var out: [String: String] = [:]
    for raw in text.split(separator: "\n") {
      let line = raw.trimmingCharacters(in: " \t")
      if line.hasPrefix("# CONFIG_"), line.hasSuffix(" is not set") {
        let name = String(line.dropFirst(2).dropLast(" is not set".count))
        if wanted.contains(name) { out[name] = "n" }
      } else if line.hasPrefix("CONFIG_"), let eq = line.firstIndex(of: "=") {
        let name = String(line[..<eq])
        if wanted.contains(name) {
          out[name] = String(line[line.index(after: eq)...]).trimmingCharacters(in: "\"")
        }
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
