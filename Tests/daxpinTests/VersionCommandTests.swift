import DaxPinBuildInfo
import Foundation
import Testing

/// `daxpin --version` names the version and the commit the binary was built from; `daxpin lab`
/// needs no source checkout (its guest init is compiled in) and says what to do when its cache
/// cannot be written.
@Suite struct VersionCommandTests {
  static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

  @Test func versionNamesTheCommitHEADNames() throws {
    let run = try Run.daxpin(["--version"])
    #expect(run.status == 0)
    let line = run.stdout.trimmingCharacters(in: .newlines)
    #expect(line.hasPrefix("\(BuildInfo.version) ("))
    guard let git = External.find("git"), FileManager.default.fileExists(atPath: Self.checkout + "/.git") else {
      #expect(line == "\(BuildInfo.version) (unknown commit)")
      return
    }
    let head = try External.run(git, ["-C", Self.checkout, "rev-parse", "HEAD"])
    try #require(head.status == 0)
    // Built by this test run's `swift build`, so from the commit HEAD names now.
    #expect(line == "\(BuildInfo.version) (commit \(head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))")
  }

  @Test(.enabled(if: getuid() == 0, "lab needs root"))
  func labWithAnUnwritableCacheIsOneLineAndExit2() throws {
    let dir = NSTemporaryDirectory() + "daxpin-version-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
    let run = try Run.daxpin(["lab", "--cache", dir + "/file/cache", "--out", dir + "/out"])
    #expect(run.status == 2)
    let lines = run.stderr.split(separator: "\n")
    #expect(lines.count == 1)
    #expect(run.stderr == "daxpin: --cache \(dir)/file/cache: \(dir)/file is not a directory (ENOTDIR)\n")
    #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
  }

  /// `--out` in a directory other users can write (`TrustedDirectory`): one line naming it,
  /// exit 2, and nothing created — not the output directory, not the cache's guest scripts.
  @Test(.enabled(if: getuid() == 0, "lab needs root"))
  func labRefusesAnOutputDirectoryOthersCanWrite() throws {
    let dir = NSTemporaryDirectory() + "daxpin-labdirs-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir + "/shared", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    #expect(chmod(dir + "/shared", 0o777) == 0)
    let run = try Run.daxpin(["lab", "--kernel", "debian-6.1", "--cache", dir + "/cache", "--out", dir + "/shared/out"])
    #expect(run.status == 2)
    #expect(run.stderr == "daxpin: --out \(dir)/shared/out: \(dir)/shared is writable by other users (mode 0777): another user could swap a name in it for a link to any file; choose a directory only root can write, or chmod go-w \(dir)/shared\n")
    #expect(!FileManager.default.fileExists(atPath: dir + "/shared/out"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/cache/guest"), "the guest scripts were written before the refusal")
    let cache = try Run.daxpin(["lab", "--kernel", "debian-6.1", "--cache", dir + "/shared/cache", "--out", dir + "/out"])
    #expect(cache.status == 2)
    #expect(cache.stderr.hasPrefix("daxpin: --cache \(dir)/shared/cache: \(dir)/shared is writable by other users"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
  }
}
