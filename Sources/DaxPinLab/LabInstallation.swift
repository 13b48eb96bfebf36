import FoundationEssentials
import Glibc

/// Where the lab finds what it puts into a guest besides the kernel: daxpin itself (the running
/// binary) and the guest's scripts (scripts/lab/init and scripts/lab/exec, compiled into the binary
/// by the EmbedBuildInfo plugin) in the cache; and where that cache is.
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

  /// A script of the guest built into the binary (`BuildInfo.guestInit` as `init`,
  /// `BuildInfo.guestExec` as `exec`, passed by the CLI: this module does not depend on
  /// DaxPinBuildInfo, so a new commit recompiles only the CLI), written to
  /// `<cacheDirectory>/guest/<name>` for the initramfs — only when that file says something else,
  /// so its identity (and the initramfs cache key's memoised hash) stays put between runs. The
  /// file is replaced atomically: lab runs side by side write the same bytes. `init` and `exec`
  /// sit side by side, where `LabExec.runner(besideInit:)` looks.
  public static func guestScript(_ name: String, contents: String, cacheDirectory: String) throws(LabError) -> String {
    let dir = cacheDirectory + "/guest"
    let path = dir + "/" + name
    if HostProcess.readFile(path) == contents { return path }
    do {
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      try Data(contents.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw .setup("cannot write the guest's \(name) script to \(path): \(error) (give --cache a writable directory)")
    }
    return path
  }

  /// The kernel cache when `--cache` is not given: `$XDG_CACHE_HOME/daxpin` when XDG_CACHE_HOME is
  /// an absolute path, else `/var/cache/daxpin` for root, else `$HOME/.cache/daxpin` (the
  /// password database's home when HOME is unset; `/var/cache/daxpin` when there is none).
  public static func defaultCacheDirectory(
    environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }, uid: uid_t = getuid()
  ) -> String {
    // The XDG Base Directory specification: an empty or relative value is to be ignored.
    if let xdg = environment("XDG_CACHE_HOME"), xdg.hasPrefix("/") { return xdg + "/daxpin" }
    if uid == 0 { return "/var/cache/daxpin" }
    if let home = environment("HOME"), !home.isEmpty { return home + "/.cache/daxpin" }
    if let pw = getpwuid(uid), let dir = pw.pointee.pw_dir { return String(cString: dir) + "/.cache/daxpin" }
    return "/var/cache/daxpin"
  }
}
