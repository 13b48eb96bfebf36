import DaxPinBuildInfo
import Foundation
import Glibc
import Testing

@testable import DaxPinLab

/// What an installed `daxpin lab` needs without a source checkout: the guest's init compiled in,
/// written into the cache for the initramfs, and the cache's default place.
@Suite struct LabInstallationTests {
  static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

  @Test func embeddedScriptsAreScriptsLabByteForByte() throws {
    let initScript = try Data(contentsOf: URL(fileURLWithPath: Self.checkout + "/scripts/lab/init"))
    #expect(Array(BuildInfo.guestInit.utf8) == Array(initScript))
    #expect(BuildInfo.guestInit.hasPrefix("#!/bin/busybox sh\n"))
    let exec = try Data(contentsOf: URL(fileURLWithPath: Self.checkout + "/scripts/lab/exec"))
    #expect(Array(BuildInfo.guestExec.utf8) == Array(exec))
    #expect(BuildInfo.guestExec.hasPrefix("#!/bin/busybox sh\n"))
  }

  func scratch() throws -> String {
    let dir = NSTemporaryDirectory() + "daxpin-install-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  func identity(_ path: String) -> (ino_t, Int, Int) {
    var st = stat()
    _ = stat(path, &st)
    return (st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
  }

  @Test func initScriptIsWrittenIntoTheCacheOnceAndReplacedWhenItChanges() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cache = dir + "/a/b/daxpin"  // created with its parents
    let path = try LabInstallation.guestScript("init", contents: BuildInfo.guestInit, cacheDirectory: cache)
    #expect(path == cache + "/guest/init")
    // The exec runner beside it, where LabExec looks.
    let exec = try LabInstallation.guestScript("exec", contents: BuildInfo.guestExec, cacheDirectory: cache)
    #expect(exec == LabExec.runner(besideInit: path))
    #expect(try String(contentsOfFile: exec, encoding: .utf8) == BuildInfo.guestExec)
    #expect(try String(contentsOfFile: path, encoding: .utf8) == BuildInfo.guestInit)
    let first = identity(path)
    // The same contents: the file (and so the memoised content hash) is left as it is.
    _ = try LabInstallation.guestScript("init", contents: BuildInfo.guestInit, cacheDirectory: cache)
    #expect(identity(path) == first)
    // Other contents (a newer daxpin): replaced, nothing else left in the cache.
    _ = try LabInstallation.guestScript("init", contents: "#!/bin/busybox sh\necho other\n", cacheDirectory: cache)
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "#!/bin/busybox sh\necho other\n")
    #expect(try FileManager.default.contentsOfDirectory(atPath: cache) == ["guest"])
    #expect(try FileManager.default.contentsOfDirectory(atPath: cache + "/guest").sorted() == ["exec", "init"])
  }

  @Test func unwritableCacheIsOneLineNamingTheFix() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "not a directory".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
    #expect {
      _ = try LabInstallation.guestScript("init", contents: BuildInfo.guestInit, cacheDirectory: dir + "/file/daxpin")
    } throws: { error in
      guard case .setup(let message) = error as? LabError else { return false }
      return message.contains(dir + "/file/daxpin/guest/init") && message.contains("--cache") && !message.contains("\n")
    }
  }

  @Test func defaultCacheFollowsXDGThenRootThenHome() {
    func cache(_ env: [String: String], uid: uid_t) -> String {
      LabInstallation.defaultCacheDirectory(environment: { env[$0] }, uid: uid)
    }
    #expect(cache(["XDG_CACHE_HOME": "/srv/c", "HOME": "/root"], uid: 0) == "/srv/c/daxpin")
    #expect(cache(["XDG_CACHE_HOME": "/home/u/.c"], uid: 1000) == "/home/u/.c/daxpin")
    #expect(cache(["HOME": "/root"], uid: 0) == "/var/cache/daxpin")
    #expect(cache(["HOME": "/home/u"], uid: 1000) == "/home/u/.cache/daxpin")
    // The XDG specification: an empty or relative XDG_CACHE_HOME is ignored.
    #expect(cache(["XDG_CACHE_HOME": "", "HOME": "/home/u"], uid: 1000) == "/home/u/.cache/daxpin")
    #expect(cache(["XDG_CACHE_HOME": "rel", "HOME": "/root"], uid: 0) == "/var/cache/daxpin")
    // No HOME: the password database's home of that uid.
    let nobody = getpwnam("nobody")
    if let nobody {
      #expect(cache([:], uid: nobody.pointee.pw_uid) == String(cString: nobody.pointee.pw_dir) + "/.cache/daxpin")
    }
  }
}
