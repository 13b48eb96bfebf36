import Glibc

/// Where the lab finds what it puts into a guest besides the kernel: daxpin itself (the running
/// binary) and the guest's init script (`scripts/lab/init` of the checkout the binary was built
/// in).
public enum LabInstallation {
  /// The running binary (`/proc/self/exe`). Rebuilt while running, the kernel appends
  /// " (deleted)"; the path then holds the new build.
  public static func selfPath() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return CommandLine.arguments[0] }
    let path = String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
  }

  /// scripts/lab/init in the checkout the binary was built from (walks up from the binary).
  public static func initScript() -> String? {
    var dir = selfPath()
    for _ in 0..<8 {
      guard let slash = dir.lastIndex(of: "/") else { break }
      dir = String(dir[..<slash])
      let candidate = dir + "/scripts/lab/init"
      if access(candidate, R_OK) == 0 { return candidate }
    }
    return nil
  }

  /// `$XDG_CACHE_HOME/daxpin`, else `$HOME/.cache/daxpin` (`/root` when HOME is unset).
  public static func defaultCacheDirectory() -> String {
    if let xdg = getenv("XDG_CACHE_HOME") { return String(cString: xdg) + "/daxpin" }
    return (getenv("HOME").map { String(cString: $0) } ?? "/root") + "/.cache/daxpin"
  }
}
